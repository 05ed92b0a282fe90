"""``/healthz`` follows the broker: a node whose own probes stop coming back through Redis
(Redis cut off, or a network that silently stopped carrying bytes) answers 503 with the
reason, and 200 again once they come back. Redis is reached through a real TCP relay that
the test opens, cuts and freezes."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import aiohttp
from redis_support import Relay, require_redis, unique_channel
from support import RunningServer, call_api, config_for, running_server, until

from hubbub.broker.redis import RedisBroker

FAST = (0.01, 0.05)  # reconnection backoff: first and longest delay, in seconds
PROBE_EVERY = 0.1  # seconds between probes: late after PROBE_LATE of them
DEADLINE = 20.0  # for /healthz to answer as expected


async def until_health(
    http: aiohttp.ClientSession, server: RunningServer, status: int
) -> dict[str, Any]:
    """Ask /healthz every few milliseconds until it answers ``status``; its body."""
    async with asyncio.timeout(DEADLINE):
        while True:
            reply = await call_api(http, "GET", server.url + "/healthz")
            if reply.status == status:
                return dict(reply.body)
            await asyncio.sleep(0.02)


def broker_through(relay: Relay) -> RedisBroker:
    return RedisBroker(relay.url, channel=unique_channel(), backoff=FAST, probe_every=PROBE_EVERY)


async def test_healthz_is_503_while_redis_is_cut_off_and_200_when_it_is_back(
    tmp_path: Path, http: aiohttp.ClientSession
) -> None:
    relay = Relay(require_redis())
    await relay.start()
    try:
        broker = broker_through(relay)
        async with running_server(config_for(tmp_path / "data"), broker=broker) as server:
            assert await until_health(http, server, 200) == {"status": "ok"}
            heard = broker.probe_heard
            await until(lambda: broker.probe_heard > heard)  # probes go round and come back

            relay.refuse()  # no reconnection succeeds ...
            relay.cut()  # ... after every connection is dropped
            down = await until_health(http, server, 503)
            assert down["status"] == "unavailable"
            assert "broker" in down["reason"] or "Redis" in down["reason"], down

            await relay.start()
            assert await until_health(http, server, 200) == {"status": "ok"}
    finally:
        await relay.stop()


async def test_healthz_is_503_when_the_network_to_redis_silently_stops(
    tmp_path: Path, http: aiohttp.ClientSession
) -> None:
    """No connection error at all: bytes just stop flowing. Only the probe can tell."""
    relay = Relay(require_redis())
    await relay.start()
    try:
        broker = broker_through(relay)
        async with running_server(config_for(tmp_path / "data"), broker=broker) as server:
            await until_health(http, server, 200)
            relay.freeze()
            down = await until_health(http, server, 503)
            assert "no broker traffic came back" in down["reason"], down
    finally:
        await relay.stop()


async def test_a_node_on_the_in_process_broker_is_healthy(
    tmp_path: Path, http: aiohttp.ClientSession
) -> None:
    async with running_server(config_for(tmp_path / "data")) as server:
        assert await until_health(http, server, 200) == {"status": "ok"}
        assert server.node.broker.problem() is None
