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
from collections.abc import AsyncIterator, Iterator
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path

import aiohttp
import pg
import pytest
from redis_support import Log, Relay, kill_subscriptions, require_redis, unique_channel
from support import (
    EventLog,
    RunningServer,
    assert_gapless,
    config_for,
    register,
    running_server,
    until,
)

from hubbub.broker.base import Audience, Notice
from hubbub.broker.redis import RedisBroker
from hubbub.client import Client
from hubbub.core.events import Message
from hubbub.protocol.messages import ReadNotice, SentOut, TypingNotice


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


async def sent_together(client: Client, room: str, count: int, tag: str) -> list[SentOut]:
    """``count`` messages written at once (the outbox sends them in order); their ``sent``."""
    sends = [client.send(room, f"{tag} {i}", client_msg_id=f"{tag}-{i}") for i in range(count)]
    return list(await asyncio.gather(*sends))


def steady(client: Client, log: EventLog) -> bool:
    """One connection throughout (a reconnect would resume with ``sync`` and so hide what
    the live path lost), and nothing sent twice on it."""
    return not log.states and client.repeats == 0


async def test_messages_sent_on_both_nodes_reach_both_once_in_seq_order(
    tmp_path: Path, http: aiohttp.ClientSession
) -> None:
    async with two_nodes(tmp_path) as (a, b):
        alice = await register(http, a.url, "alice")
        bob = await register(http, b.url, "bob")
        async with Client(a.url, token=alice) as on_a, Client(b.url, token=bob) as on_b:
            logs = {on_a: EventLog(on_a), on_b: EventLog(on_b)}
            await on_a.create("both")
            await on_b.join("both")
            acks = await asyncio.gather(
                sent_together(on_a, "both", 40, "a"), sent_together(on_b, "both", 40, "b")
            )
            last = max(ack.seq for ack in acks[0] + acks[1])
            sent = {ack.msg_id for ack in acks[0] + acks[1]}
            await until(lambda: all(last in log.seqs("both") for log in logs.values()))
            for client, log in logs.items():
                events = log.events("both")
                assert_gapless(events, start=events[0].seq)  # once each, in order
                assert events[-1].seq == last
                assert {m.msg_id for m in log.messages("both")} == sent
                assert steady(client, log)
            assert logs[on_a].seqs("both")[0] == 1  # the creator from the room's first event
            assert not broker_of(a).dropped and not broker_of(b).dropped


async def test_typing_and_read_notices_cross_nodes(
    tmp_path: Path, http: aiohttp.ClientSession
) -> None:
    async with two_nodes(tmp_path) as (a, b):
        alice = await register(http, a.url, "alice")
        bob = await register(http, a.url, "bob")
        async with (
            Client(a.url, token=alice) as phone,  # alice on A
            Client(b.url, token=alice) as laptop,  # alice on B
            Client(b.url, token=bob) as bob_on_b,
        ):
            phone_log, laptop_log, bob_log = EventLog(phone), EventLog(laptop), EventLog(bob_on_b)
            await phone.create("chat")
            await bob_on_b.join("chat")
            await until(lambda: 2 in laptop_log.seqs("chat"))  # B follows it for alice
            await phone.typing("chat")
            await until(lambda: any(isinstance(i, TypingNotice) for i in bob_log.items))
            typing = next(i for i in bob_log.items if isinstance(i, TypingNotice))
            assert typing == TypingNotice(room="chat", user="alice")
            await phone.read("chat", 2)
            await until(lambda: any(isinstance(i, ReadNotice) for i in laptop_log.items))
            read = next(i for i in laptop_log.items if isinstance(i, ReadNotice))
            assert read == ReadNotice(room="chat", seq=2)
            # Neither comes back to the connection it came from, on its own node.
            assert not [i for i in phone_log.items if isinstance(i, TypingNotice | ReadNotice)]


async def test_a_client_that_leaves_node_a_resumes_on_node_b_with_exactly_what_it_missed(
    tmp_path: Path, http: aiohttp.ClientSession
) -> None:
    async with two_nodes(tmp_path) as (a, b):
        alice = await register(http, a.url, "alice")
        bob = await register(http, b.url, "bob")
        async with Client(b.url, token=bob) as bob_on_b:
            async with Client(a.url, token=alice) as on_a:
                log_a = EventLog(on_a)
                await on_a.create("move")
                await bob_on_b.join("move")
                seen = await on_a.send("move", "before leaving")
                await until(lambda: seen.seq in log_a.seqs("move"))
                since = log_a.seqs("move")[-1]
                resume = on_a.since()
                assert resume == {"move": since}
            missed = [await bob_on_b.send("move", f"missed {i}") for i in range(5)]
            async with Client(b.url, token=alice, since=resume) as on_b:
                log = EventLog(on_b)
                # Resumed (``synced`` came): live from the last missed message, nothing skipped.
                assert on_b.since() == {"move": missed[-1].seq}
                await until(lambda: missed[-1].seq in log.seqs("move"))
                assert [e.msg_id if isinstance(e, Message) else e for e in log.events("move")] == [
                    ack.msg_id for ack in missed
                ]
                assert log.seqs("move") == list(range(since + 1, since + 6))
                live = await bob_on_b.send("move", "live on B")
                await until(lambda: live.seq in log.seqs("move"))
                assert log.seqs("move") == list(range(since + 1, live.seq + 1))
                assert not log.gaps and steady(on_b, log)


async def test_a_node_whose_subscription_is_killed_repairs_what_it_missed_from_storage(
    tmp_path: Path, http: aiohttp.ClientSession
) -> None:
    """B's subscription is killed in Redis (``CLIENT KILL``) and B cannot subscribe again
    until the test lets it (B reaches Redis through a relay that refuses new connections
    meanwhile): what A publishes in between never reaches B through Redis, and nothing
    follows it to show the hole. Once back, B's broker says it may have missed something,
    and B reads every followed room from storage. The client on B keeps its one connection
    throughout: what it gets, B sent it live."""
    relay = Relay(require_redis())
    await relay.start()
    try:
        async with two_nodes(tmp_path, b_via=relay) as (a, b):
            alice = await register(http, a.url, "alice")
            bob = await register(http, b.url, "bob")
            async with Client(a.url, token=alice) as on_a, Client(b.url, token=bob) as on_b:
                log = EventLog(on_b)
                await on_a.create("cut")
                await on_b.join("cut")
                before = await on_a.send("cut", "before the kill")
                await until(lambda: before.seq in log.seqs("cut"))
                through_redis = Log()  # what reaches B from Redis from now on
                broker_of(b).subscribe(through_redis, on_gap=through_redis.gap)

                relay.refuse()
                assert await kill_subscriptions(f"{broker_of(b).channel}-b") == 1
                lost = [await on_a.send("cut", f"while B is away {i}") for i in range(3)]
                assert log.seqs("cut")[-1] == before.seq and broker_of(b).subscriptions == 1

                await relay.start()
                await until(lambda: lost[-1].seq in log.seqs("cut"))
                # None of them came through Redis (presence notices aside: B asks the nodes again).
                assert [i for i in through_redis.items if not presence(i)] == ["gap"]
                assert broker_of(b).subscriptions == 2
                events = log.events("cut")
                assert_gapless(events, start=events[0].seq)
                assert [m.msg_id for m in log.messages("cut")[-3:]] == [ack.msg_id for ack in lost]
                assert [e.seq for e in events[-3:]] == [ack.seq for ack in lost]
                after = await on_a.send("cut", "after")  # and live again
                await until(lambda: after.seq in log.seqs("cut"))
                assert through_redis.seqs == [after.seq]
                assert steady(on_b, log)
    finally:
        await relay.stop()
