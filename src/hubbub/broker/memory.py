"""The in-process broker of a single node: publishing is a direct call."""

from __future__ import annotations

from hubbub.broker.base import Broker, Subscriber
from hubbub.core.models import Event


class MemoryBroker(Broker):
    def __init__(self) -> None:
        self._subscribers: list[Subscriber] = []

    def publish(self, events: list[Event]) -> None:
        for subscriber in self._subscribers:
            subscriber(events)

    def subscribe(self, subscriber: Subscriber) -> None:
        self._subscribers.append(subscriber)
