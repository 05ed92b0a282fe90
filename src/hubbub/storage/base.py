"""The storage interface and the guarantees every implementation gives.

Rooms and users are named by their (normalized) names. Writes are *ordered and committed
before they are visible*:

- A write method enqueues its work when it is called, before it returns its awaitable, and
  writes are applied in the order they were called. A connection that calls
  ``append_message`` twice gets its two messages in that order, whatever it awaits between.
- Each room's ``seq`` is allocated in the same transaction that inserts the event: 1, 2, 3 …
  with no hole, and a failed write takes no number.
- An awaitable resolves only after its transaction is durably committed. Just before the
  awaitables of a commit resolve, ``on_events`` is called once with every event that commit
  created, in commit order. That is the only way events leave storage to be published.
- ``(author, client_msg_id)`` is unique: appending it again to the same room returns the
  stored event and ``duplicate=True``, and creates nothing; to another room it is a
  ``Conflict``.

Methods raise ``NotFound`` for a room or user that does not exist, ``Conflict`` for a taken
name; the service decides what a user may see, except where a method says it checks.

When the storage itself fails (a database that cannot be read or written, a writer that
stopped), methods raise ``Unavailable``: every awaitable resolves, none is left waiting.
"""

from __future__ import annotations

import abc
from collections.abc import Awaitable, Callable
from types import TracebackType
from typing import NamedTuple, Self

from hubbub.core.models import Event, PublicRoom, Room, RoomInfo, RoomKind

EventSink = Callable[[list[Event]], None]


class Appended(NamedTuple):
    event: Event
    duplicate: bool


class Joined(NamedTuple):
    info: RoomInfo
    event: Event | None  # None when the user already was a member


class Page(NamedTuple):
    events: list[Event]
    has_more: bool


class Replay(NamedTuple):
    events: list[Event] | None  # None: more than the bound, nothing replayed
    last_seq: int  # the room's last seq in the same snapshot


class Storage(abc.ABC):
    """One backend. Entered as an async context manager: opened (and migrated) on entry."""

    on_events: EventSink

    def __init__(self) -> None:
        self.on_events = _discard

    async def __aenter__(self) -> Self:
        await self.open()
        return self

    async def __aexit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    @abc.abstractmethod
    async def open(self) -> None:
        """Connect and apply pending migrations."""

    @abc.abstractmethod
    async def close(self) -> None:
        """Commit what is queued, then release everything."""

    @abc.abstractmethod
    async def check(self) -> None:
        """Raise ``Unavailable`` unless storage takes reads and writes now (``/healthz``)."""

    # --- accounts ---------------------------------------------------------------------

    @abc.abstractmethod
    def create_user(self, username: str, password_hash: str, now: int) -> Awaitable[None]:
        """Raises ``Conflict`` if the name is taken."""

    @abc.abstractmethod
    async def password_hash(self, username: str) -> str | None: ...

    @abc.abstractmethod
    def create_token(
        self, token_hash: bytes, username: str, now: int, expires_at: int
    ) -> Awaitable[None]: ...

    @abc.abstractmethod
    async def user_for_token(self, token_hash: bytes, now: int) -> str | None:
        """The owner of an unexpired token, or None."""

    @abc.abstractmethod
    def delete_token(self, token_hash: bytes) -> Awaitable[None]: ...

    # --- rooms and members --------------------------------------------------------------

    @abc.abstractmethod
    def create_room(self, name: str, kind: RoomKind, creator: str, now: int) -> Awaitable[Joined]:
        """A new room with its creator as first member (``member_joined``, seq 1)."""

    @abc.abstractmethod
    def ensure_room(self, name: str, kind: RoomKind, now: int) -> Awaitable[None]:
        """Create a memberless room if it does not exist (the guests' ``lobby``)."""

    @abc.abstractmethod
    def open_dm(
        self, name: str, users: tuple[str, str], opener: str, now: int
    ) -> Awaitable[Joined]:
        """The DM room ``name`` of ``users``, created with both as members on first use."""

    @abc.abstractmethod
    def add_member(self, room: str, user: str, now: int, by: str | None) -> Awaitable[Joined]:
        """Make ``user`` a member (``member_joined``, with ``by`` for an invitation)."""

    @abc.abstractmethod
    def remove_member(self, room: str, user: str, now: int) -> Awaitable[Event | None]:
        """``member_left``, or None if the user was not a member."""

    @abc.abstractmethod
    def append_message(
        self,
        room: str,
        author: str,
        client_msg_id: str | None,
        body: str,
        msg_id: str,
        now: int,
        require_member: bool = True,
    ) -> Awaitable[Appended]:
        """Store a message. With ``require_member`` the membership check is part of the
        write transaction, so a message can never land after its author left."""

    @abc.abstractmethod
    def mark_read(self, room: str, user: str, seq: int) -> Awaitable[int]:
        """Move the user's read marker forward (never back, never past ``last_seq``);
        returns the marker. Raises ``NotFound`` if the user is not a member."""

    # --- reads ---------------------------------------------------------------------------

    @abc.abstractmethod
    async def get_room(self, name: str) -> Room | None: ...

    @abc.abstractmethod
    async def room_info(self, room: str, user: str) -> RoomInfo | None:
        """The room as ``user`` sees it, or None if they are not a member."""

    @abc.abstractmethod
    async def user_rooms(self, user: str) -> list[RoomInfo]: ...

    @abc.abstractmethod
    async def public_rooms(self) -> list[PublicRoom]: ...

    @abc.abstractmethod
    async def members(self, room: str) -> list[str]: ...

    @abc.abstractmethod
    async def history(self, room: str, before: int | None, after: int | None, limit: int) -> Page:
        """Up to ``limit`` events, oldest first: the newest ones below ``before`` (or the
        newest of all), or with ``after`` the oldest ones above it."""

    @abc.abstractmethod
    async def replay_since(self, room: str, since: int, bound: int) -> Replay:
        """Every event with ``seq > since`` in order, or None if there are more than
        ``bound`` of them (resume is all or nothing), with the room's ``last_seq``."""


def _discard(events: list[Event]) -> None:
    del events
