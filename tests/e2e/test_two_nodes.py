"""Two hubbub nodes, one PostgreSQL database, one Redis channel: a client on each node sees
every room event of the other's once, in seq order, with no hole; notices cross nodes; a
client that leaves one node resumes on the other; and a node whose Redis subscription is
cut repairs what it missed from storage.

Both nodes run in this process (each a real server on its own port, with its own
``PostgresStorage`` and ``RedisBroker``): nothing is shared between them but PostgreSQL
and Redis, as between two machines.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Iterator
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path
from typing import Any

import aiohttp
import pg
import pytest
from redis_support import Log, Relay, kill_subscriptions, require_redis, unique_channel
from support import Client, RunningServer, assert_gapless, config_for, register, running_server

from hubbub.broker.base import Audience, Notice
from hubbub.broker.redis import RedisBroker


@pytest.fixture(autouse=True)
def _drop_test_databases() -> Iterator[None]:
    yield
    pg.drop_created()


@asynccontextmanager
async def two_nodes(
    tmp_path: Path, b_via: Relay | None = None
) -> AsyncIterator[tuple[RunningServer, RunningServer]]:
    """Nodes A and B on a new database and Redis channel; B reaches Redis through ``b_via``
    if given. Each node's Redis connections are named ``<channel>-a`` or ``<channel>-b``,
    so that a test can kill them."""
    database = pg.fresh_database()
    channel = unique_channel()
    async with AsyncExitStack() as stack:
        nodes = []
        redis = {"a": require_redis(), "b": b_via.url if b_via else require_redis()}
        for name in ("a", "b"):
            url = f"{redis[name]}?client_name={channel}-{name}"
            broker = RedisBroker(url, channel, backoff=(0.01, 0.05))
            config = config_for(tmp_path / name, storage_url=database)
            nodes.append(await stack.enter_async_context(running_server(config, broker=broker)))
        yield nodes[0], nodes[1]


def presence(item: object) -> bool:
    """A notice of the nodes' presence (a node asks the others again after a gap)."""
    return isinstance(item, Notice) and item.audience is Audience.PRESENCE


def broker_of(node: RunningServer) -> RedisBroker:
    broker = node.node.broker
    assert isinstance(broker, RedisBroker)
    return broker


def seqs(client: Client, room: str) -> list[int]:
    return [e["seq"] for e in client.room_events(room)]


async def pipelined(client: Client, room: str, count: int, tag: str) -> list[dict[str, Any]]:
    sends = [client.send(room, f"{tag} {i}", client_msg_id=f"{tag}-{i}") for i in range(count)]
    return list(await asyncio.gather(*sends))


async def test_messages_sent_on_both_nodes_reach_both_once_in_seq_order(
    tmp_path: Path, http: aiohttp.ClientSession
) -> None:
    async with two_nodes(tmp_path) as (a, b):
        alice = await register(http, a.url, "alice")
        bob = await register(http, b.url, "bob")
        async with (
            Client.connect(http, a.url, alice, sync={}) as on_a,
            Client.connect(http, b.url, bob, sync={}) as on_b,
        ):
            await on_a.ok("create", name="both")
            await on_b.ok("join", room="both")
            acks = await asyncio.gather(
                pipelined(on_a, "both", 40, "a"), pipelined(on_b, "both", 40, "b")
            )
            last = max(ack["seq"] for ack in acks[0] + acks[1])
            sent = {ack["msg_id"] for ack in acks[0] + acks[1]}
            for client in (on_a, on_b):
                await client.wait_for(lambda c: last in seqs(c, "both"))
                events = client.room_events("both")
                assert_gapless(events, start=events[0]["seq"])  # once each, in order
                assert events[-1]["seq"] == last
                assert {e["msg_id"] for e in events if e["type"] == "message"} == sent
            assert seqs(on_a, "both")[0] == 1  # the creator from the room's first event
            assert not broker_of(a).dropped and not broker_of(b).dropped


async def test_typing_and_read_notices_cross_nodes(
    tmp_path: Path, http: aiohttp.ClientSession
) -> None:
    async with two_nodes(tmp_path) as (a, b):
        alice = await register(http, a.url, "alice")
        bob = await register(http, a.url, "bob")
        async with (
            Client.connect(http, a.url, alice, sync={}) as phone,  # alice on A
            Client.connect(http, b.url, alice, sync={}) as laptop,  # alice on B
            Client.connect(http, b.url, bob, sync={}) as bob_on_b,
        ):
            await phone.ok("create", name="chat")
            await bob_on_b.ok("join", room="chat")
            await laptop.wait_for(lambda c: 2 in seqs(c, "chat"))  # B follows it for alice
            await phone.ws.send_str(json.dumps({"type": "typing", "room": "chat"}))
            await bob_on_b.wait_for(lambda c: any(e["type"] == "typing" for e in c.events))
            typing = next(e for e in bob_on_b.events if e["type"] == "typing")
            assert typing == {"type": "typing", "room": "chat", "user": "alice"}
            await phone.ok("read", room="chat", seq=2)
            await laptop.wait_for(lambda c: any(e["type"] == "read" for e in c.events))
            read = next(e for e in laptop.events if e["type"] == "read")
            assert read == {"type": "read", "room": "chat", "seq": 2}
            # Neither comes back to the connection it came from, on its own node.
            assert not [e for e in phone.events if e["type"] in ("typing", "read")]


async def test_a_client_that_leaves_node_a_resumes_on_node_b_with_exactly_what_it_missed(
    tmp_path: Path, http: aiohttp.ClientSession
) -> None:
    async with two_nodes(tmp_path) as (a, b):
        alice = await register(http, a.url, "alice")
        bob = await register(http, b.url, "bob")
        async with Client.connect(http, b.url, bob, sync={}) as bob_on_b:
            async with Client.connect(http, a.url, alice, sync={}) as on_a:
                await on_a.ok("create", name="move")
                await bob_on_b.ok("join", room="move")
                seen = await on_a.send("move", "before leaving")
                await on_a.wait_for(lambda c: seen["seq"] in seqs(c, "move"))
                since = seqs(on_a, "move")[-1]
            missed = [await bob_on_b.send("move", f"missed {i}") for i in range(5)]
            async with Client.connect(http, b.url, alice) as on_b:
                synced = await on_b.request("sync", since={"move": since})
                assert synced["rooms"]["move"] == {"last_seq": missed[-1]["seq"], "complete": True}
                assert [e["msg_id"] for e in on_b.room_events("move")] == [
                    ack["msg_id"] for ack in missed
                ]
                assert seqs(on_b, "move") == list(range(since + 1, since + 6))
                live = await bob_on_b.send("move", "live on B")
                await on_b.wait_for(lambda c: live["seq"] in seqs(c, "move"))
                assert seqs(on_b, "move") == list(range(since + 1, live["seq"] + 1))


async def test_a_node_whose_subscription_is_killed_repairs_what_it_missed_from_storage(
    tmp_path: Path, http: aiohttp.ClientSession
) -> None:
    """B's subscription is killed in Redis (``CLIENT KILL``) and B cannot subscribe again
    until the test lets it (B reaches Redis through a relay that refuses new connections
    meanwhile): what A publishes in between never reaches B through Redis, and nothing
    follows it to show the hole. Once back, B's broker says it may have missed something,
    and B reads every followed room from storage."""
    relay = Relay(require_redis())
    await relay.start()
    try:
        async with two_nodes(tmp_path, b_via=relay) as (a, b):
            alice = await register(http, a.url, "alice")
            bob = await register(http, b.url, "bob")
            async with (
                Client.connect(http, a.url, alice, sync={}) as on_a,
                Client.connect(http, b.url, bob, sync={}) as on_b,
            ):
                await on_a.ok("create", name="cut")
                await on_b.ok("join", room="cut")
                before = await on_a.send("cut", "before the kill")
                await on_b.wait_for(lambda c: before["seq"] in seqs(c, "cut"))
                through_redis = Log()  # what reaches B from Redis from now on
                broker_of(b).subscribe(through_redis, on_gap=through_redis.gap)

                relay.refuse()
                assert await kill_subscriptions(f"{broker_of(b).channel}-b") == 1
                lost = [await on_a.send("cut", f"while B is away {i}") for i in range(3)]
                assert seqs(on_b, "cut")[-1] == before["seq"] and broker_of(b).subscriptions == 1

                await relay.start()
                await on_b.wait_for(lambda c: lost[-1]["seq"] in seqs(c, "cut"))
                # None of them came through Redis (presence notices aside: B asks the nodes again).
                assert [i for i in through_redis.items if not presence(i)] == ["gap"]
                assert broker_of(b).subscriptions == 2
                events = on_b.room_events("cut")
                assert_gapless(events, start=events[0]["seq"])
                assert [e["msg_id"] for e in events[-3:]] == [ack["msg_id"] for ack in lost]
                after = await on_a.send("cut", "after")  # and live again
                await on_b.wait_for(lambda c: after["seq"] in seqs(c, "cut"))
                assert through_redis.seqs == [after["seq"]]
    finally:
        await relay.stop()
