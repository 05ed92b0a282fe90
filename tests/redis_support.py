"""The Redis the Redis tests use: ``HUBBUB_TEST_REDIS`` (by default redis://127.0.0.1:6379/0).

Outside CI, when it cannot be reached, those tests skip and the reason is printed at the end
of the run; with ``CI=true`` they fail instead, so a CI run cannot pass without them. Each
test gets channels of its own, so tests running against one Redis never see each other.
"""

from __future__ import annotations

import asyncio
import functools
import os
import socket
import uuid
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pg
import pytest
import redis.asyncio as aioredis
from support import RunningServer, config_for, running_server

from hubbub.broker.base import Broker, GapListener, Notice, Payload, Subscriber
from hubbub.broker.redis import RedisBroker

REDIS_URL = os.environ.get("HUBBUB_TEST_REDIS", "redis://127.0.0.1:6379/0")

_skip_reasons: set[str] = set()


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in ("true", "1", "yes")


@functools.cache
def redis_missing() -> str | None:
    """Why the Redis tests cannot run here, or None."""
    parts = urlsplit(REDIS_URL)
    host, port = parts.hostname or "127.0.0.1", parts.port or 6379
    try:
        with socket.create_connection((host, port), timeout=2) as sock:
            sock.sendall(b"PING\r\n")
            reply = sock.recv(64)
    except OSError as exc:
        return f"no Redis at {host}:{port}: {exc.strerror or exc} (apt-get install redis-server)"
    if not reply.startswith(b"+PONG"):
        return f"the Redis at {host}:{port} answered PING with {reply[:40]!r}"
    return None


def require_redis() -> str:
    """The test Redis's URL; skips the test (fails it in CI) when there is none."""
    reason = redis_missing()
    if reason is not None:
        if in_ci():
            pytest.fail(f"Redis tests must run in CI: {reason}", pytrace=False)
        _skip_reasons.add(reason)
        pytest.skip(reason)
    return REDIS_URL


def unique_channel() -> str:
    return f"hubbub-test-{uuid.uuid4().hex}"


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """For the conftests of the directories with Redis tests: say why they skipped, once."""
    for reason in sorted(_skip_reasons):
        terminalreporter.write_line(f"Redis tests skipped: {reason}", yellow=True)
    _skip_reasons.clear()


def redis_broker() -> RedisBroker:
    """A broker on the test Redis, on a channel of its own."""
    return RedisBroker(require_redis(), channel=unique_channel())


class BetweenNodes(Broker):
    """Two Redis brokers on one channel, as on two nodes: payloads are published on one and
    subscribers get them from the other, so every one of them crosses Redis."""

    def __init__(self) -> None:
        channel = unique_channel()
        self.origin = RedisBroker(require_redis(), channel=channel)
        self.target = RedisBroker(require_redis(), channel=channel)

    async def open(self) -> None:
        await self.target.open()  # subscribed before anything is published
        await self.origin.open()

    async def close(self) -> None:
        await self.origin.close()
        await self.target.close()

    def publish(self, payload: Payload) -> None:
        self.origin.publish(payload)

    def subscribe(self, subscriber: Subscriber, on_gap: GapListener | None = None) -> None:
        self.target.subscribe(subscriber, on_gap)


class Log:
    """A subscriber and gap listener in one: what it was given, in order ("gap" for a gap)."""

    def __init__(self) -> None:
        self.items: list[int | str | Notice] = []

    def __call__(self, payload: Payload) -> None:
        if isinstance(payload, Notice):
            self.items.append(payload)
        else:
            self.items.extend(e.seq for e in payload)

    def gap(self) -> None:
        self.items.append("gap")

    @property
    def seqs(self) -> list[int]:
        return [item for item in self.items if isinstance(item, int)]

    @property
    def gaps(self) -> int:
        return self.items.count("gap")


async def kill_subscriptions(client_name: str) -> int:
    """Cut the pub/sub connections of the clients named ``client_name`` from another
    connection (``CLIENT KILL``), as Redis does to a subscriber too slow or on restart."""
    async with aioredis.from_url(require_redis()) as admin:
        killed = 0
        for client in await admin.client_list(_type="pubsub"):
            if client["name"] == client_name:
                killed += await admin.client_kill_filter(_id=client["id"])
        return killed


def named(client_name: str) -> str:
    return f"{require_redis()}?client_name={client_name}"


class Relay:
    """A TCP relay from a port of 127.0.0.1 to Redis: closed until ``start``; ``cut``
    drops every connection through it, as a restarting Redis would; ``freeze`` silently
    stops carrying their bytes, as a network that lost its route would."""

    def __init__(self, target: str) -> None:
        parts = urlsplit(target)
        self.target = (parts.hostname or "127.0.0.1", parts.port or 6379)
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self._server: asyncio.Server | None = None
        self._writers: list[asyncio.StreamWriter] = []
        self._frozen: set[asyncio.StreamWriter] = set()

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._relay, "127.0.0.1", self.port)

    def refuse(self) -> None:
        """Refuse new connections from now on (until ``start``); those open stay open."""
        if self._server is not None:
            self._server.close()

    async def _relay(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection(*self.target)
        self._writers += [writer, up_writer]
        await asyncio.gather(self._pipe(reader, up_writer), self._pipe(up_reader, writer))

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(65536):
                if writer not in self._frozen:
                    writer.write(data)
                    await writer.drain()
        except OSError:
            pass
        finally:
            writer.transport.abort()

    def freeze(self) -> None:
        self._frozen.update(self._writers)

    def cut(self) -> None:
        for writer in self._writers:
            writer.transport.abort()
        self._writers.clear()

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            self.cut()
            await self._server.wait_closed()


@asynccontextmanager
async def two_nodes(
    tmp_path: Path, presence_flush: float | None = None
) -> AsyncIterator[tuple[RunningServer, RunningServer]]:
    """Nodes A and B in this process, on a new PostgreSQL database and a Redis channel of
    their own; ``presence_flush``, if given, is their presence flush interval. The caller
    drops the database (``pg.drop_created``)."""
    database = pg.fresh_database()
    channel = unique_channel()
    async with AsyncExitStack() as stack:
        nodes = []
        for name in ("a", "b"):
            broker = RedisBroker(require_redis(), channel, backoff=(0.01, 0.05))
            config = config_for(tmp_path / name, storage_url=database)
            node = await stack.enter_async_context(running_server(config, broker=broker))
            if presence_flush is not None:
                node.node.hub.presence.flush_interval = presence_flush
            nodes.append(node)
        yield nodes[0], nodes[1]
