"""The broker contract: every guarantee of ``hubbub/broker/base.py``, tested against each
backend through the public interface only (open, close, ``async with``, publish, subscribe).

A new backend joins by one line in ``BROKERS``. Delivery may be asynchronous, so tests wait
for the events they expect (``until``) instead of assuming a direct call.
"""

from __future__ import annotations

import inspect
from collections.abc import AsyncIterator, Callable

import pytest
from redis_support import BetweenNodes, redis_broker
from support import until

from hubbub.broker.base import Audience, Broker, BrokerClosed, Notice, Payload
from hubbub.broker.memory import MemoryBroker
from hubbub.core.events import Event, Message

BROKERS: dict[str, Callable[[], Broker]] = {
    "memory": MemoryBroker,
    "redis": redis_broker,  # a node's own subscribers: delivered at publish
    "redis-between-nodes": BetweenNodes,  # published on one node, delivered on another
}


@pytest.fixture(params=sorted(BROKERS))
async def broker(request: pytest.FixtureRequest) -> AsyncIterator[Broker]:
    """A new broker of each backend, not open yet; closed after the test."""
    made = BROKERS[request.param]()
    try:
        yield made
    finally:
        await made.close()


def event(room: str, seq: int) -> Event:
    return Message(room=room, seq=seq, ts=0, user="alice", msg_id=f"m{seq}", body="hi")


class Received:
    """A subscriber that keeps every event it is given, in order."""

    def __init__(self) -> None:
        self.events: list[Event] = []
        self.notices: list[Notice] = []

    def __call__(self, payload: Payload) -> None:
        if isinstance(payload, Notice):
            self.notices.append(payload)
        else:
            self.events.extend(payload)

    def seqs(self, room: str) -> list[int]:
        return [e.seq for e in self.events if e.room == room]

    def has(self, room: str, seq: int) -> bool:
        return seq in self.seqs(room)


async def test_publish_is_a_plain_call_that_returns_at_once(broker: Broker) -> None:
    await broker.open()
    assert not inspect.iscoroutinefunction(broker.publish)  # nothing for the caller to await
    received = Received()
    broker.subscribe(received)
    assert broker.publish([event("general", 1)]) is None
    await until(lambda: received.has("general", 1))


async def test_every_subscriber_gets_each_rooms_events_once_in_publish_order(
    broker: Broker,
) -> None:
    subscribers = [Received() for _ in range(3)]
    for subscriber in subscribers:
        broker.subscribe(subscriber)
    await broker.open()
    rooms = ("general", "dm:alice:bob", "random")
    published = {room: list(range(1, 31)) for room in rooms}
    for start in range(1, 31, 5):  # batches of 5 seqs per room, the rooms interleaved
        batch = [event(room, seq) for seq in range(start, start + 5) for room in rooms]
        broker.publish(batch)
    await until(lambda: all(s.has(room, 30) for s in subscribers for room in rooms))
    for subscriber in subscribers:
        assert {room: subscriber.seqs(room) for room in rooms} == published
        assert len(subscriber.events) == 3 * 30  # once each, nothing else


async def test_a_subscriber_gets_only_what_is_published_after_it_subscribed(
    broker: Broker,
) -> None:
    early, late = Received(), Received()
    broker.subscribe(early)
    await broker.open()
    broker.publish([event("general", 1), event("general", 2)])
    await until(lambda: early.has("general", 2))  # delivered before `late` exists
    broker.subscribe(late)
    broker.publish([event("general", 3)])
    await until(lambda: late.has("general", 3))
    assert late.seqs("general") == [3]
    assert early.seqs("general") == [1, 2, 3]


@pytest.mark.parametrize("when", ["before open", "after open"])
async def test_a_subscriber_may_subscribe_before_or_after_open(broker: Broker, when: str) -> None:
    received = Received()
    if when == "before open":
        broker.subscribe(received)
    await broker.open()
    if when == "after open":
        broker.subscribe(received)
    broker.publish([event("general", 1)])
    await until(lambda: received.has("general", 1))
    assert received.seqs("general") == [1]


async def test_publishing_before_open_raises_and_delivers_nothing(broker: Broker) -> None:
    received = Received()
    broker.subscribe(received)
    with pytest.raises(BrokerClosed):
        broker.publish([event("general", 1)])
    await broker.open()
    broker.publish([event("general", 2)])
    await until(lambda: received.has("general", 2))
    assert received.seqs("general") == [2]


async def test_close_stops_delivery(broker: Broker) -> None:
    received = Received()
    broker.subscribe(received)
    await broker.open()
    broker.publish([event("general", 1)])
    await until(lambda: received.has("general", 1))
    await broker.close()
    with pytest.raises(BrokerClosed):
        broker.publish([event("general", 2)])
    assert received.seqs("general") == [1]


async def test_async_with_opens_and_closes(broker: Broker) -> None:
    received = Received()
    broker.subscribe(received)
    async with broker as entered:
        assert entered is broker
        broker.publish([event("general", 1)])
        await until(lambda: received.has("general", 1))
    with pytest.raises(BrokerClosed):
        broker.publish([event("general", 2)])
    assert received.seqs("general") == [1]


async def test_closing_twice_is_harmless(broker: Broker) -> None:
    await broker.open()
    await broker.close()
    await broker.close()
    with pytest.raises(BrokerClosed):
        broker.publish([event("general", 1)])


async def test_every_subscriber_gets_each_notice_once_in_order_with_the_events(
    broker: Broker,
) -> None:
    subscribers = [Received(), Received()]
    for subscriber in subscribers:
        broker.subscribe(subscriber)
    await broker.open()
    typing = Notice(audience=Audience.ROOM, name="general", data=b"{}", origin="n1", exclude=7)
    read = Notice(audience=Audience.USER, name="alice", data=b'{"seq":1}', origin="n1")
    broker.publish(typing)
    broker.publish([event("general", 1)])
    broker.publish(read)
    await until(lambda: all(len(s.notices) == 2 for s in subscribers))
    for subscriber in subscribers:
        assert subscriber.notices == [typing, read]  # every field as published
        assert subscriber.seqs("general") == [1]
