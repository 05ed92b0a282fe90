"""The Redis broker beyond the contract: what it does when Redis is away or drops a
connection, and how it tells subscribers that they may have missed something. Everything
runs against a real Redis (see ``redis_support``); a lost Redis is a closed port, or a
real TCP relay to Redis that the test opens and cuts."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
from redis_support import Log, Relay, kill_subscriptions, named, require_redis, unique_channel
from support import config_for, until

from hubbub.broker import redis as redis_broker
from hubbub.broker.base import Audience, Notice
from hubbub.broker.factory import build_broker
from hubbub.broker.memory import MemoryBroker
from hubbub.broker.redis import RedisBroker
from hubbub.cli import main
from hubbub.config import ConfigError, load
from hubbub.core.events import Event, Message
from hubbub.service.node import Node

FAST = (0.01, 0.05)  # backoff: first and longest delay, so that tests reconnect at once


def event(seq: int, room: str = "general") -> Event:
    return Message(room=room, seq=seq, ts=0, user="alice", msg_id=f"m{seq}", body="hi")


@asynccontextmanager
async def opened(broker: RedisBroker, log: Log | None = None) -> AsyncIterator[RedisBroker]:
    if log is not None:
        broker.subscribe(log, on_gap=log.gap)
    try:
        await broker.open()
        yield broker
    finally:
        await broker.close()


# --- Redis unreachable -------------------------------------------------------------------


async def test_publish_never_blocks_while_redis_is_away_and_the_broker_recovers() -> None:
    """Redis is a closed port: the node starts, its own subscribers get everything at once,
    the queue holds what it can and drops the rest. Once Redis can be reached, the broker
    publishes what it held, tells the other nodes it lost some, and its subscription tells
    its own subscribers they may have missed some."""
    channel = unique_channel()
    relay = Relay(require_redis())
    local, other_log = Log(), Log()
    away = RedisBroker(relay.url, channel=channel, queue_size=5, backoff=FAST)
    other = RedisBroker(require_redis(), channel=channel, backoff=FAST)
    try:
        async with opened(other, other_log), opened(away, local):
            assert away.subscriptions == 0  # open returned without Redis
            for seq in range(1, 21):
                away.publish([event(seq)])  # returns at once: nothing to await
            assert local.seqs == list(range(1, 21))  # its own: at publish, all of them
            assert away.dropped == 15  # past the queue's 5

            await relay.start()
            await until(lambda: away.subscriptions == 1 and local.gaps == 1)
            await until(lambda: other_log.gaps == 1 and 5 in other_log.seqs)
            away.publish([event(21)])
            await until(lambda: 21 in other_log.seqs)
            # What was held went out in order after the gap; nothing twice.
            assert other_log.items[0] == "gap"
            held = other_log.seqs
            assert held == sorted(set(held)) and set(held) <= {1, 2, 3, 4, 5, 21}
            assert local.seqs == list(range(1, 22))  # its own echoes skipped
    finally:
        await relay.stop()


async def test_a_broker_that_never_reaches_redis_still_opens_serves_and_closes() -> None:
    relay = Relay(require_redis())  # never started: a closed port
    local = Log()
    async with opened(RedisBroker(relay.url, backoff=FAST), local) as broker:
        broker.publish([event(1)])
        broker.publish(Notice(audience=Audience.ROOM, name="general", data=b"{}"))
        assert len(local.items) == 2
    assert broker.subscriptions == 0


# --- Lost subscriptions ------------------------------------------------------------------


async def test_a_killed_subscription_is_made_again_and_its_subscribers_told_of_a_gap() -> None:
    channel, name = unique_channel(), unique_channel()
    log = Log()
    publisher = RedisBroker(require_redis(), channel=channel, backoff=FAST)
    async with (
        opened(RedisBroker(named(name), channel=channel, backoff=FAST), log) as subscriber,
        opened(publisher),
    ):
        publisher.publish([event(1)])
        await until(lambda: log.seqs == [1])
        assert log.gaps == 0  # the subscription made in open lost nothing

        assert await kill_subscriptions(name) == 1
        await until(lambda: subscriber.subscriptions == 2 and log.gaps == 1)
        publisher.publish([event(2)])
        await until(lambda: 2 in log.seqs)
        assert log.items == [1, "gap", 2]  # the gap in order, after the subscription


async def test_a_silently_dead_subscription_is_found_by_ping_and_made_again(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """No RST, no FIN: the subscription's bytes stop. Its PING gets no answer, so it is
    given up, made again, and its subscribers are told they may have missed something."""
    monkeypatch.setattr(redis_broker, "PING_EVERY", 0.1)
    relay = Relay(require_redis())
    await relay.start()
    log = Log()
    try:
        async with opened(RedisBroker(relay.url, backoff=FAST), log) as broker:
            assert broker.subscriptions == 1
            relay.freeze()
            await until(lambda: broker.subscriptions == 2 and log.gaps == 1)
    finally:
        await relay.stop()


async def test_a_cut_connection_mid_stream_loses_nothing_unannounced() -> None:
    """A relay cut while a node publishes: every event either reaches the other node, or a
    gap is told before the next event that does."""
    channel = unique_channel()
    relay = Relay(require_redis())
    await relay.start()
    log = Log()
    publisher = RedisBroker(relay.url, channel=channel, backoff=FAST)
    try:
        async with (
            opened(RedisBroker(require_redis(), channel=channel, backoff=FAST), log),
            opened(publisher),
        ):
            for seq in range(1, 201):
                publisher.publish([event(seq)])
                if seq == 50:
                    await until(lambda: len(log.seqs) >= 10)  # cut while it is sending
                    relay.cut()
                elif seq == 120:
                    relay.cut()
            publisher.publish([event(201)])
            await until(lambda: 201 in log.seqs)  # one channel, in order: the rest is in
            expected = 1
            for item in log.items:  # after each run of lost events, a gap before the next
                if item == "gap":
                    expected = -1
                elif isinstance(item, int):
                    assert expected in (-1, item), log.items
                    expected = item + 1
    finally:
        await relay.stop()


# --- Own echoes, notices, closing ----------------------------------------------------------


async def test_each_node_gets_its_own_payloads_once_and_the_others_in_order() -> None:
    channel = unique_channel()
    a_log, b_log = Log(), Log()
    async with (
        opened(RedisBroker(require_redis(), channel=channel), a_log) as a,
        opened(RedisBroker(require_redis(), channel=channel), b_log) as b,
    ):
        a.publish([event(1)])
        await until(lambda: b_log.seqs == [1])  # on Redis, so A's echo came before 2
        b.publish([event(2)])
        await until(lambda: a_log.seqs == [1, 2])
        a.publish([event(3)])
        await until(lambda: b_log.seqs == [1, 2, 3])
        assert a_log.seqs == [1, 2, 3] and not a_log.gaps and not b_log.gaps


async def test_a_binary_notice_crosses_nodes_byte_for_byte() -> None:
    channel = unique_channel()
    log = Log()
    relayed = Notice(
        audience=Audience.GUESTS,
        name="",
        data=bytes(range(256)) * 4,
        binary=True,
        origin="node-a",
        exclude=42,
    )
    async with (
        opened(RedisBroker(require_redis(), channel=channel), log),
        opened(RedisBroker(require_redis(), channel=channel)) as a,
    ):
        a.publish(relayed)
        await until(lambda: len(log.items) == 1)
    assert log.items == [relayed]


async def test_what_is_published_just_before_close_reaches_the_other_nodes() -> None:
    """A node publishes its last commits while it closes: close sends what is queued."""
    channel = unique_channel()
    log = Log()
    async with opened(RedisBroker(require_redis(), channel=channel), log):
        closing = RedisBroker(require_redis(), channel=channel)
        await closing.open()
        for seq in range(1, 101):
            closing.publish([event(seq)])
        await closing.close()
        await until(lambda: len(log.seqs) == 100)
    assert log.seqs == list(range(1, 101))


# --- Settings ----------------------------------------------------------------------------


def test_the_broker_setting_names_the_broker(tmp_path: Path) -> None:
    assert isinstance(build_broker(""), MemoryBroker)
    built = build_broker("redis://127.0.0.1:6379/2?channel=prod")
    assert isinstance(built, RedisBroker)
    assert (built.url, built.channel) == ("redis://127.0.0.1:6379/2", "prod")
    config = load(env={"HUBBUB_BROKER": "redis://127.0.0.1:6379/0"}, data_dir=tmp_path)
    node = Node(config)
    assert isinstance(node.broker, RedisBroker) and node.broker.channel == "hubbub"
    assert isinstance(Node(config_for(tmp_path)).broker, MemoryBroker)


@pytest.mark.parametrize(
    "url",
    ["postgresql://u:s3cret@h/db", "redis://u:s3cret@h/0?db=x", "s3cret", "redis://h?channel="],
)
def test_an_unusable_broker_url_is_refused_without_repeating_it(url: str) -> None:
    with pytest.raises(ConfigError, match="HUBBUB_BROKER") as refused:
        load(env={"HUBBUB_BROKER": url})
    assert "s3cret" not in str(refused.value)


def test_the_broker_flag_is_checked_at_startup(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["serve", "--data-dir", str(tmp_path), "--broker", "memcached://h"]) == 2
    assert "--broker must be a broker URL" in capsys.readouterr().err  # named as it was given
