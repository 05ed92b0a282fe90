"""The local connections of this node and the fan-out of what the broker brings to them.

The hub subscribes to the broker: committed events go to the sessions following their room,
notices to their audience. The hot path: each event is encoded to JSON *once* and the same
``Encoded`` is handed to every receiver; the transport frames it once, and a connection
writes its first frame of a loop turn at once and queues the ones after it for the turn's end
(one more write for the rest of a commit batch), so there is no coroutine and no copy per
delivery. The hub knows nothing of WebSocket frames, and nothing of what the seed's guests
are shown (their relay subscribes to the broker on the transport side); to it they are one
more audience.
"""

from __future__ import annotations

import asyncio
import secrets
import time
from collections import OrderedDict
from collections.abc import Iterable
from typing import TypeVar

from hubbub.broker.base import Audience, Notice, Payload
from hubbub.core.events import Event, Membership, Message, membership_change
from hubbub.protocol.codes import CloseCode
from hubbub.protocol.messages import MentionNotice, encode
from hubbub.service.presence import Presence
from hubbub.service.resume import Feed, Resume
from hubbub.service.session import Encoded, Outlet, Session, connection_ids
from hubbub.stats import LATENCY_BOUNDS, Histogram
from hubbub.storage.base import Storage

# Revoked tokens remembered for a session whose authentication read raced the revocation.
MAX_REMEMBERED_REVOCATIONS = 10_000

V = TypeVar("V")


class Hub:
    def __init__(self, storage: Storage, replay_bound: int) -> None:
        self.node_id = secrets.token_hex(8)  # names this node in the notices it publishes
        self.resume = Resume(self, storage, replay_bound)
        self.presence = Presence(self, storage)
        self._rooms: dict[str, dict[Session, Feed]] = {}  # ordered
        self._users: dict[str, dict[Session, None]] = {}  # ordered sets
        self._revoked: OrderedDict[bytes, None] = OrderedDict()
        self._guests: dict[int, Outlet] = {}  # the seed's plain-text clients, by id
        self.delivered = 0  # frames of committed events handed to connections
        # Seconds from an event's ts to the write of its frames, once per frame (see written).
        self.delivery_latency = Histogram(LATENCY_BOUNDS)

    # --- who is here ---------------------------------------------------------------------

    def add(self, session: Session) -> None:
        if session.token_hash in self._revoked:  # revoked while it was being checked
            session.outlet.close(CloseCode.UNAUTHENTICATED, "signed out")
            return
        self._users.setdefault(session.user, {})[session] = None
        self.presence.started(session)

    def remove(self, session: Session) -> None:
        for room in session.feeds:
            self._drop(self._rooms, room, session)
        session.feeds.clear()
        self._drop(self._users, session.user, session)
        self.presence.ended(session)

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

    def close_sessions(self, user: str, reason: str) -> None:
        """Every session of ``user`` here leaves and is closed with 4401 and ``reason``: the
        account was deactivated, or given a new password (``service.accounts``)."""
        for session in list(self._users.get(user, ())):
            self.remove(session)
            session.outlet.close(CloseCode.UNAUTHENTICATED, reason)

    def add_guest(self, outlet: Outlet) -> int:
        """A guest of the seed's protocol; returns its id (to leave it out of its relays)."""
        guest_id = next(connection_ids)
        self._guests[guest_id] = outlet
        return guest_id

    def remove_guest(self, guest_id: int) -> None:
        self._guests.pop(guest_id, None)

    @property
    def guests(self) -> int:
        """The plain-text guests connected to this node."""
        return len(self._guests)

    @property
    def connections(self) -> int:
        return sum(len(s) for s in self._users.values()) + len(self._guests)

    # --- following rooms -------------------------------------------------------------------

    def buffer(self, session: Session, room: str) -> list[tuple[int, Encoded]]:
        """Follow ``room``, holding its events until a resume sets the feed live; returns
        the list that holds them."""
        feed = session.feeds.get(room)
        if feed is None:
            feed = session.feeds[room] = Feed()
        self._rooms.setdefault(room, {})[session] = feed
        return feed.hold()

    def follow_from(self, session: Session, room: str, last_seq: int) -> None:
        """Follow ``room`` live, starting after ``last_seq``, unless already following it."""
        if room not in session.feeds:
            feed = session.feeds[room] = Feed()
            feed.go_live(last_seq)
            self._rooms.setdefault(room, {})[session] = feed

    def unfollow(self, session: Session, room: str) -> None:
        session.feeds.pop(room, None)
        self._drop(self._rooms, room, session)

    # --- delivery --------------------------------------------------------------------------

    def receive(self, payload: Payload) -> None:
        """The broker's subscriber: committed events, or a notice."""
        if isinstance(payload, Notice):
            self._notice(payload)
        else:
            self._committed(payload)

    def missed(self) -> None:
        """The broker's gap listener: events may have been lost on their way here, perhaps
        with no later one to show the hole. Each room followed here is checked against
        storage, and its feeds that are behind are repaired."""
        self.resume.missed(list(self._rooms))
        self.presence.ask()  # presence notices may be lost too

    def followers(self, room: str) -> list[tuple[Session, Feed]]:
        """The sessions following ``room`` here, with their feeds."""
        return list(self._rooms.get(room, {}).items())

    def _committed(self, events: list[Event]) -> None:
        """Deliver committed events, in order, to every local follower of their rooms."""
        written: list[tuple[int, int]] = []  # (ts, frames) of each event delivered
        for event in events:
            room = event.room
            change = membership_change(event)
            if change is Membership.JOINED:
                # A member's synced sessions follow the room from its join on, on every device.
                for session in self._users.get(event.user, ()):
                    if session.synced:
                        self.follow_from(session, room, event.seq - 1)
                self.presence.joined(event.user, room)
            elif change is Membership.LEFT:
                self.presence.member_changed(event.user)
            followers = self._rooms.get(room)
            if followers:
                message = Encoded(encode(event))
                seq = event.seq
                for session, feed in followers.items():
                    if not feed.offer(seq, message, session.outlet):
                        self.resume.repair(session, room, feed)  # a hole before it
                written.append((event.ts, len(followers)))
            if isinstance(event, Message) and (event.mentions or event.room_mention):
                self._mentioned(event, followers or {})
            if change is Membership.LEFT:
                for session in list(self._users.get(event.user, ())):
                    self.unfollow(session, room)
        if written:
            self.written(written)

    def written(self, written: list[tuple[int, int]]) -> None:
        """Count the frames of committed events just handed to connections, given as (the
        event's ts, frames), and time them once they are written: connections write what
        they queued in the loop's next turn, before a callback queued after them. One
        callback per fan-out, not one per frame."""
        self.delivered += sum(frames for _, frames in written)
        asyncio.get_running_loop().call_soon(self._observe_latency, written)

    def _observe_latency(self, written: list[tuple[int, int]]) -> None:
        now_ms = time.time() * 1000
        for ts, frames in written:
            # ts is another clock across nodes: a skew that would make it negative counts as 0.
            self.delivery_latency.observe(max(0.0, now_ms - ts) / 1000, frames)

    def _mentioned(self, message: Message, followers: Iterable[Session]) -> None:
        """Tell the sessions on this node of each member ``message`` mentions (with
        ``@room``: every member following the room but its author). Each node tells its
        own, from the committed event every node receives: no notice crosses the broker."""
        notice = Encoded(
            encode(MentionNotice(room=message.room, seq=message.seq, user=message.user))
        )
        if message.room_mention:
            sessions: Iterable[Session] = [s for s in followers if s.user != message.user]
        else:
            sessions = [s for name in message.mentions for s in self._users.get(name, ())]
        for session in sessions:
            session.outlet.send(notice)

    def _notice(self, notice: Notice) -> None:
        message = Encoded(notice.data, notice.binary)
        exclude = notice.exclude if notice.origin == self.node_id else None
        match notice.audience:
            case Audience.ROOM:
                self._to_sessions(self._rooms.get(notice.name, ()), message, exclude)
            case Audience.USER:
                self._to_sessions(self._users.get(notice.name, ()), message, exclude)
            case Audience.GUESTS:
                self.to_guests(message, exclude)
            case Audience.PRESENCE:
                self.presence.receive(notice)

    @staticmethod
    def _to_sessions(sessions: Iterable[Session], message: Encoded, exclude: int | None) -> None:
        for session in sessions:
            if session.id != exclude:
                session.outlet.send(message)

    def to_guests(self, message: Encoded, exclude: int | None = None) -> None:
        """A message to every guest of this node but ``exclude``."""
        if exclude is None:  # a lobby message: the hot path of the seed's fan-out
            for outlet in self._guests.values():
                outlet.send(message)
        else:
            for guest_id, outlet in self._guests.items():
                if guest_id != exclude:
                    outlet.send(message)

    @staticmethod
    def _drop(index: dict[str, dict[Session, V]], key: str, session: Session) -> None:
        members = index.get(key)
        if members is not None:
            members.pop(session, None)
            if not members:
                del index[key]
