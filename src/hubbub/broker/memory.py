"""The in-process broker of a single node: publishing is a direct call."""

from __future__ import annotations

from hubbub.broker.base import Broker, BrokerClosed, GapListener, Payload, Subscriber


class MemoryBroker(Broker):
    def __init__(self) -> None:
        self._subscribers: list[Subscriber] = []
        self._open = False

    async def open(self) -> None:
        self._open = True

    async def close(self) -> None:
        self._open = False

    def publish(self, payload: Payload) -> None:
        if not self._open:
            raise BrokerClosed("the broker is not open")
        for subscriber in self._subscribers:
            subscriber(payload)  # the same object to each: no copy, no encoding

    def subscribe(self, subscriber: Subscriber, on_gap: GapListener | None = None) -> None:
        self._subscribers.append(subscriber)  # nothing is ever lost here: no gap to tell
