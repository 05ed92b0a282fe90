"""Resume and gap repair: how a connection's feed of a room gets every event once, in order.

Everything that brings a connection up to date from storage is here: ``sync`` (resume after
a reconnect) and the repair of a hole on the live path (an event lost between nodes). Both
are the same machine, per session and room, a ``Feed``:

- **live**: the next event (``last_seq + 1``) is sent; an event already sent is dropped; an
  event past a hole is held, and the feed starts buffering while the hole is repaired;
- **buffering**: storage is being read (``replay_since``); live events wait in the buffer,
  which was started *before* the read, so every event is in the replay, the buffer or both.
  The two are merged by seq (``core.recovery.merge``): what follows ``last_seq`` without a
  hole is sent and, if nothing is left held, the feed is live again; what lies past a hole
  stays held and storage is read again from the new ``last_seq``.

A resume is all or nothing: the whole gap since the client's ``since``, or ``complete:
false`` and nothing of it (more than ``replay_bound`` events, or ``since`` ahead of the
room). A repair that meets the same limit tells the client the same way, with ``synced``
(without ``re``) and ``complete: false``. Repairs run as tasks: nobody else waits.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from typing import TYPE_CHECKING, Any

from hubbub.core.events import Event, Membership, membership_change
from hubbub.core.recovery import merge
from hubbub.errors import Unavailable
from hubbub.protocol.codes import CloseCode
from hubbub.protocol.messages import Synced, SyncState, encode
from hubbub.service.session import Encoded, Outlet, Session
from hubbub.storage.base import Storage

if TYPE_CHECKING:
    from hubbub.service.hub import Hub

log = logging.getLogger(__name__)

Held = list[tuple[int, Encoded]]


class Feed:
    """One session's place in one room: the last seq sent, and live or buffering.

    ``buffer`` is None while live. A new feed buffers until a resume or ``follow_from``
    sets it live. The list object itself marks a buffering episode: whoever started it (a
    resume, a repair) ends it only if the feed still holds that list.
    """

    __slots__ = ("buffer", "last_seq")

    def __init__(self) -> None:
        self.last_seq = 0
        self.buffer: Held | None = []

    def hold(self) -> Held:
        """Start buffering (again, dropping what was held: the new read covers it)."""
        self.buffer = []
        return self.buffer

    def go_live(self, last_seq: int) -> None:
        """Live from now on, after ``last_seq``."""
        self.last_seq = last_seq
        self.buffer = None

    def offer(self, seq: int, message: Encoded, outlet: Outlet) -> bool:
        """A live event. False if a hole lies before it: the event is held, the feed now
        buffers, and the caller must start a repair."""
        buffer = self.buffer
        if buffer is not None:
            buffer.append((seq, message))
            return True
        last = self.last_seq
        if seq == last + 1:
            self.last_seq = seq
            outlet.send(message)
            return True
        if seq <= last:
            return True  # sent already: a replay overlapped it, or the broker repeated it
        self.buffer = [(seq, message)]
        return False

    def catch_up(self, since: int, replayed: Held, outlet: Outlet) -> bool:
        """Send the events after ``since``, replayed or held, that follow without a hole,
        and go live. False if a hole remains: what is past it stays held (the same list)."""
        buffer = self.buffer if self.buffer is not None else []
        run, beyond = merge(since, replayed, buffer)
        self.last_seq = since
        for seq, message in run:
            self.last_seq = seq
            outlet.send(message)
        if beyond:
            buffer[:] = beyond
            self.buffer = buffer
            return False
        self.buffer = None
        return True


def encoded(events: list[Event]) -> Held:
    return [(event.seq, Encoded(encode(event))) for event in events]


class Resume:
    """Brings the hub's feeds up to date from storage: ``sync`` and gap repair."""

    def __init__(self, hub: Hub, storage: Storage, replay_bound: int) -> None:
        self._hub = hub
        self._storage = storage
        self._bound = replay_bound
        self._repairs: set[asyncio.Task[None]] = set()
        self._gaps = 0  # gaps the broker told: a read begun before one may miss its events

    # --- sync -------------------------------------------------------------------------

    async def sync(
        self, session: Session, rooms: dict[str, int], since: dict[str, int]
    ) -> dict[str, SyncState]:
        """Replay what the session missed in each of its ``rooms`` (name → ``last_seq``),
        then deliver them live. Rooms not named in ``since`` go live from their
        ``last_seq``; a room already live here and not named stays as it is.

        Every room to resume buffers before any history is read, so the seam between replay
        and live has no hole."""
        resume = {}
        for room, last_seq in rooms.items():
            if room in since:
                resume[room] = since[room]
            elif room not in session.feeds:
                resume[room] = last_seq
        held = {room: self._hub.buffer(session, room) for room in resume}
        states = {}
        try:
            for room in rooms:
                if room in resume:
                    states[room] = await self._resume(session, room, resume[room], held[room])
                    del held[room]
                elif room in session.feeds:
                    states[room] = SyncState(last_seq=session.feeds[room].last_seq, complete=True)
        except BaseException:
            # A failed read (storage unavailable): rooms still waiting would hold their
            # events for ever. Unfollow them; the client's next `sync` resumes them.
            for room, buffer in held.items():
                feed = session.feeds.get(room)
                if feed is not None and feed.buffer is buffer:
                    self._hub.unfollow(session, room)
            raise
        return states

    async def _resume(self, session: Session, room: str, since: int, held: Held) -> SyncState:
        told = self._gaps
        replay = await self._storage.replay_since(room, since, self._bound, session.user)
        feed = session.feeds.get(room)
        if feed is None or feed.buffer is not held:
            return SyncState(last_seq=replay.last_seq, complete=False)  # left meanwhile
        if replay.events is None or since > replay.last_seq:
            # Too far behind, or ahead of the server: nothing of the gap, live from now.
            complete, since, replayed = False, replay.last_seq, []
        else:
            complete, replayed = True, replay.events
        if not self._catch_up(session, room, feed, since, replayed):
            self.repair(session, room, feed)  # an event lost after the read: repaired like live
        else:
            self._recheck_if_told(room, told)
        return SyncState(last_seq=feed.last_seq, complete=complete)

    def _catch_up(
        self, session: Session, room: str, feed: Feed, since: int, replayed: list[Event]
    ) -> bool:
        """``Feed.catch_up`` with events read from storage. A ``member_left`` of the session's
        user among those sent (the broker lost it) ends the following, as it does live."""
        live = feed.catch_up(since, encoded(replayed), session.outlet)
        for event in replayed:
            if event.seq > feed.last_seq:
                break
            if event.user == session.user and membership_change(event) is Membership.LEFT:
                self._hub.unfollow(session, room)
                return True
        return live

    # --- gap repair -------------------------------------------------------------------

    def repair(self, session: Session, room: str, feed: Feed) -> None:
        """The feed holds an event past a hole: fill the hole from storage, on the side."""
        assert feed.buffer  # the event past the hole, in this repair's list
        self._spawn(self._repair(session, room, feed, feed.buffer))

    def missed(self, rooms: list[str]) -> None:
        """The broker may have lost events of these rooms, with no later one to show the
        hole: one read of each room's last seq, then a repair of each live feed behind it.
        A feed buffering meanwhile is left to its resume or repair, which checks the room
        again when it is done if its own read began before this gap was told."""
        self._gaps += 1
        for room in rooms:
            self._spawn(self._recheck(room))

    def _recheck_if_told(self, room: str, told: int) -> None:
        if self._gaps != told:
            self._spawn(self._recheck(room))

    async def _recheck(self, room: str) -> None:
        try:
            found = await self._storage.get_room(room)
        except Exception as exc:  # the room's next live event shows the hole, if any
            log.warning("gap check failed", exc_info=not isinstance(exc, Unavailable))
            return
        if found is None:
            return
        for session, feed in self._hub.followers(room):
            if feed.buffer is None and feed.last_seq < found.last_seq:
                self._spawn(self._repair(session, room, feed, feed.hold()))

    def _spawn(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(work)
        self._repairs.add(task)
        task.add_done_callback(self._repairs.discard)

    async def _repair(self, session: Session, room: str, feed: Feed, held: Held) -> None:
        while True:
            since = feed.last_seq
            told = self._gaps
            try:
                replay = await self._storage.replay_since(room, since, self._bound, session.user)
            except Exception as exc:  # the client's resume fills it once storage is back
                log.warning("gap repair failed", exc_info=not isinstance(exc, Unavailable))
                session.outlet.close(CloseCode.INTERNAL, "storage unavailable")
                return
            if session.feeds.get(room) is not feed or feed.buffer is not held:
                return  # left, closed, or a sync took the feed over
            if replay.events is not None:
                if self._catch_up(session, room, feed, since, replay.events):
                    self._recheck_if_told(room, told)
                    return
                if feed.last_seq > since:
                    continue  # filled; another hole lies further on
            # Too long a hole (or one storage cannot fill): skip it and say so, as sync does.
            skip_to = replay.last_seq if replay.events is None else held[0][0] - 1
            live = feed.catch_up(skip_to, [], session.outlet)
            state = SyncState(last_seq=feed.last_seq, complete=False)
            session.send(Synced(rooms={room: state}))
            if live:
                self._recheck_if_told(room, told)
                return
