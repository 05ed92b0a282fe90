"""The local connections of this node and the fan-out of events to them.

The hot path: each event is encoded to a WebSocket frame *once* and the same bytes are
handed to every session following its room; an outlet only queues them (see
``transport.outlet``), so there is no coroutine and no syscall per delivery here.
"""

from __future__ import annotations

from collections import OrderedDict

from hubbub.core.models import LOBBY, Event, EventType
from hubbub.protocol.codes import CloseCode
from hubbub.protocol.messages import encode
from hubbub.protocol.wsframe import text_frame
from hubbub.service.session import Outlet, Session

# Revoked tokens remembered for a session whose authentication read raced the revocation.
MAX_REMEMBERED_REVOCATIONS = 10_000


class Hub:
    def __init__(self) -> None:
        self._rooms: dict[str, dict[Session, None]] = {}  # ordered sets
        self._users: dict[str, dict[Session, None]] = {}
        self._revoked: OrderedDict[bytes, None] = OrderedDict()
        self._plain: dict[Outlet, None] = {}  # the seed's plain-text clients, all in lobby
        self.deliveries = 0

    # --- who is here ---------------------------------------------------------------------

    def add(self, session: Session) -> None:
        if session.token_hash in self._revoked:  # revoked while it was being checked
            session.outlet.close(CloseCode.UNAUTHENTICATED, "signed out")
            return
        self._users.setdefault(session.user, {})[session] = None

    def remove(self, session: Session) -> None:
        for room in session.feeds:
            self._drop(self._rooms, room, session)
        session.feeds.clear()
        self._drop(self._users, session.user, session)

    def revoke(self, user: str, token_hash: bytes) -> None:
        """The user's token is revoked: every session that showed it leaves and is closed with
        4401 at once, so it neither receives nor sends anything more. (Found among the
        user's sessions: an index by token would cost every connection memory.)"""
        self._revoked[token_hash] = None
        if len(self._revoked) > MAX_REMEMBERED_REVOCATIONS:
            self._revoked.popitem(last=False)
        showed_it = [s for s in self._users.get(user, ()) if s.token_hash == token_hash]
        for session in showed_it:
            self.remove(session)
            session.outlet.close(CloseCode.UNAUTHENTICATED, "signed out")

    def add_plain(self, outlet: Outlet) -> None:
        self._plain[outlet] = None

    def remove_plain(self, outlet: Outlet) -> None:
        self._plain.pop(outlet, None)

    @property
    def connections(self) -> int:
        return sum(len(s) for s in self._users.values()) + len(self._plain)

    # --- following rooms -------------------------------------------------------------------

    def buffer(self, session: Session, room: str) -> None:
        """Follow ``room``, holding its events until ``session.go_live``."""
        session.buffer(room)
        self._rooms.setdefault(room, {})[session] = None

    def follow_from(self, session: Session, room: str, last_seq: int) -> None:
        """Follow ``room`` live, starting after ``last_seq``, unless already following it."""
        if room not in session.feeds:
            self.buffer(session, room)
            session.go_live(room, last_seq, None)

    def unfollow(self, session: Session, room: str) -> None:
        session.feeds.pop(room, None)
        self._drop(self._rooms, room, session)

    # --- delivery --------------------------------------------------------------------------

    def publish(self, events: list[Event]) -> None:
        """Deliver committed events, in order, to every local follower of their rooms."""
        for event in events:
            room = event.room
            if event.type == EventType.MEMBER_JOINED:
                # A member's synced sessions follow the room from its join on, on every device.
                for session in self._users.get(event.user, ()):
                    if session.synced:
                        self.follow_from(session, room, event.seq - 1)
            frame = text_frame(encode(event))
            followers = self._rooms.get(room)
            if followers:
                for session in followers:
                    session.deliver(room, event.seq, frame)
                self.deliveries += len(followers)
            if room == LOBBY and event.type == EventType.MESSAGE and self._plain:
                assert event.body is not None
                self.to_plain(text_frame(event.body.encode()))
            if event.type == EventType.MEMBER_LEFT:
                for session in list(self._users.get(event.user, ())):
                    self.unfollow(session, room)

    def to_room(self, room: str, frame: bytes, exclude: Session | None = None) -> None:
        """An ephemeral frame (typing) to the live followers of a room."""
        for session in self._rooms.get(room, ()):
            if session is not exclude:
                session.outlet.send_frame(frame)

    def to_user(self, user: str, frame: bytes, exclude: Session | None = None) -> None:
        for session in self._users.get(user, ()):
            if session is not exclude:
                session.outlet.send_frame(frame)

    def to_plain(self, frame: bytes, exclude: Outlet | None = None) -> None:
        for outlet in self._plain:
            if outlet is not exclude:
                outlet.send_frame(frame)
        self.deliveries += len(self._plain)

    @staticmethod
    def _drop(index: dict[str, dict[Session, None]], key: str, session: Session) -> None:
        members = index.get(key)
        if members is not None:
            members.pop(session, None)
            if not members:
                del index[key]
