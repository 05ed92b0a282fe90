"""The last ``seq`` the client delivered per room: what ``sync`` resumes from, and how each
room event is delivered once. Pure: no I/O.

A connection gives each room's events in ``seq`` order, each once; across connections a
``sync`` with ``since`` at the last delivered ``seq`` replays exactly what came after it. So
an event at or below the room's mark was delivered already (a replay overlapping what came
live, a repeated resume) and is dropped; anything past it is delivered and moves the mark.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from hubbub.protocol.limits import MAX_SYNC_ROOMS


class SeqTracker:
    def __init__(self, since: Mapping[str, int] | None = None) -> None:
        self._last: dict[str, int] = dict(since or {})
        self._this_connection: dict[str, int] = {}  # the newest seq accepted since begin()
        self.repeats = 0  # events dropped by ``accept``: at or below their room's mark

    def begin(self) -> None:
        """A new connection starts: nothing is delivered on it yet."""
        self._this_connection.clear()

    def since(self) -> dict[str, int]:
        """``since`` for ``sync``: the mark of each room, at most the protocol's bound (the
        rooms past it go live from their newest seq, as after ``complete: false``)."""
        return dict(list(self._last.items())[:MAX_SYNC_ROOMS])

    def last(self, room: str) -> int | None:
        return self._last.get(room)

    def accept(self, room: str, seq: int) -> bool:
        """Whether the event ``seq`` of ``room`` is new; if so it counts as delivered."""
        if seq <= self._last.get(room, 0):
            self.repeats += 1
            return False
        self._last[room] = seq
        self._this_connection[room] = seq
        return True

    def synced(self, room: str, last_seq: int, complete: bool, named: bool = True) -> bool:
        """The server says ``room`` is live on this connection after ``last_seq``;
        ``named``: the ``sync`` named the room in ``since``. Returns whether events of a
        room the client had delivered from were skipped (a gap ``sync`` cannot fill: load
        it with ``history``)."""
        known = self._last.get(room)
        here = self._this_connection.get(room, 0)
        if complete:
            self._last[room] = max(known or 0, last_seq)
            # A room left out of ``since`` went live from its newest seq, skipping the rest.
            return not named and known is not None and known < last_seq
        # Nothing of the gap was sent: the mark is what this connection has delivered, or
        # the room's last_seq (which may be below an old mark, after a restore).
        self._last[room] = max(last_seq, here)
        return known is not None

    def forget(self, room: str) -> None:
        """The user is no longer a member: ``sync`` must not name the room."""
        self._last.pop(room, None)
        self._this_connection.pop(room, None)

    def keep_only(self, rooms: Iterable[str]) -> list[str]:
        """Forget every room but ``rooms`` (the user's rooms now); the rooms forgotten."""
        keep = set(rooms)
        gone = [room for room in self._last if room not in keep]
        for room in gone:
            self.forget(room)
        return gone
