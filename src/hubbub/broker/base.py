"""The broker interface: carry what crosses nodes from the node where it happened to every node.

A payload is either the events of one commit (a ``list[Event]``) or a ``Notice``: something
ephemeral (typing, read markers) for an audience on every node, encoded once at its origin.

A broker is opened before use and closed after, like storage: ``open()`` and ``close()``, or
``async with``. A node opens its broker before its storage can publish, and closes it after.

Guarantees:

- ``publish`` never blocks the caller: it is a plain call that returns at once, and never
  waits for a subscriber, a network or another node. Publishing is allowed only while the
  broker is open; otherwise it raises ``BrokerClosed``.
- Each subscriber of the broker that published gets every payload once, and each room's
  events in the order they were published. A subscriber gets only events published after it
  subscribed; it may subscribe before or after ``open``.
- ``close`` stops delivery: after it returns, no subscriber is called again.
- Delivery between nodes may be at-most-once; the per-room ``seq`` makes a loss visible to
  the receiver. A loss it cannot see (the last events of a room, a lost subscription) the
  broker tells by calling the subscriber's ``on_gap``, if it has one: "you may have missed
  payloads published before now". It is called in order with the payloads, never after
  ``close``; a broker that loses nothing (the in-process one) never calls it.
"""

from __future__ import annotations

import abc
import enum
from collections.abc import Callable

import msgspec

from hubbub.core.events import Event
from hubbub.lifecycle import Opened


class Audience(enum.Enum):
    """Who on each node gets a notice."""

    ROOM = "room"  # the connections following the room ``Notice.name``
    USER = "user"  # the connections of the user ``Notice.name``
    GUESTS = "guests"  # the seed's plain-text guests, all in lobby
    PRESENCE = "presence"  # the nodes themselves: ``service.presence`` (``name`` unused)


class Notice(msgspec.Struct, frozen=True, kw_only=True):
    """Something ephemeral for an audience on every node: not stored, no seq, may be lost.

    ``data`` is what each receiver is sent, encoded once where the notice was made.
    ``exclude`` names a connection of the ``origin`` node that is not sent it (the one the
    notice came from); connection ids mean nothing on other nodes.
    """

    audience: Audience
    name: str  # the room or the user; unused for guests
    data: bytes
    binary: bool = False  # a binary frame (only guests relay those); otherwise JSON text
    origin: str = ""  # the node that published it
    exclude: int | None = None


# The events of one commit, in commit order, or a notice.
Payload = list[Event] | Notice
Subscriber = Callable[[Payload], None]
GapListener = Callable[[], None]


class BrokerClosed(RuntimeError):
    """``publish`` on a broker that is not open: a wiring mistake, not a runtime condition."""


class Broker(Opened):
    @abc.abstractmethod
    async def open(self) -> None:
        """Connect; from now on ``publish`` delivers."""

    @abc.abstractmethod
    async def close(self) -> None:
        """Stop delivering and release everything. Closing twice is harmless."""

    @abc.abstractmethod
    def publish(self, payload: Payload) -> None: ...

    @abc.abstractmethod
    def subscribe(self, subscriber: Subscriber, on_gap: GapListener | None = None) -> None:
        """From now on, ``subscriber`` gets every payload; ``on_gap`` is called when payloads
        may have been lost on their way here."""

    def problem(self) -> str | None:
        """Why this node cannot count on the broker now (``/healthz``), or None. A broker
        that loses nothing (the in-process one) has none."""
        return None
