"""The broker interface: carry committed events from the node that stored them to every node.

Guarantees: ``publish`` never blocks the caller; each subscriber gets a room's events in the
order they were published. Delivery between nodes may be at-most-once; the per-room ``seq``
makes a loss visible to the receiver.
"""

from __future__ import annotations

import abc
from collections.abc import Callable

from hubbub.core.models import Event

Subscriber = Callable[[list[Event]], None]


class Broker(abc.ABC):
    @abc.abstractmethod
    def publish(self, events: list[Event]) -> None: ...

    @abc.abstractmethod
    def subscribe(self, subscriber: Subscriber) -> None: ...
