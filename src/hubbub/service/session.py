"""One connection's view of the rooms it follows: which seq it has been sent up to, per room.

A ``Feed`` is either *buffering* (a resume is reading history; live events wait in
``buffer``) or *live* (events are sent at once). Sending only ``seq > last_seq`` makes every
event go out once, in order, even where a replay and live delivery overlap.
"""

from __future__ import annotations

from typing import Protocol

import msgspec

from hubbub.core.recovery import merge_resume
from hubbub.protocol.messages import encode
from hubbub.protocol.wsframe import text_frame


class Outlet(Protocol):
    """Where a connection's outgoing frames go. Never blocks; over its bound it disconnects."""

    def send_frame(self, frame: bytes) -> None: ...

    def close(self, code: int, reason: str = "") -> None:
        """Send what is queued, then a close frame; nothing more goes out."""


class Feed:
    __slots__ = ("buffer", "last_seq")

    def __init__(self) -> None:
        self.last_seq = 0
        self.buffer: list[tuple[int, bytes]] | None = []


class Session:
    """An authenticated hubbub.v1 connection, and the hash of the token it showed (revoking
    the token ends the session)."""

    def __init__(self, user: str, outlet: Outlet, token_hash: bytes) -> None:
        self.user = user
        self.outlet = outlet
        self.token_hash = token_hash
        self.feeds: dict[str, Feed] = {}
        self.synced = False  # has asked for room events with `sync`

    def send(self, frame: msgspec.Struct) -> None:
        self.outlet.send_frame(text_frame(encode(frame)))

    def deliver(self, room: str, seq: int, frame: bytes) -> None:
        feed = self.feeds.get(room)
        if feed is None:
            return
        if feed.buffer is not None:
            feed.buffer.append((seq, frame))
        elif seq > feed.last_seq:
            feed.last_seq = seq
            self.outlet.send_frame(frame)

    def buffer(self, room: str) -> None:
        """Start holding the room's live events (again), before history is read."""
        feed = self.feeds.setdefault(room, Feed())
        feed.buffer = []

    def go_live(self, room: str, since: int, replayed: list[tuple[int, bytes]] | None) -> bool:
        """Send the events after ``since`` (replayed and buffered, merged), then go live.

        With ``replayed=None`` nothing is replayed: only buffered events past ``since`` go
        out. Returns False, sending nothing from before the hole, if the merge has one.
        """
        feed = self.feeds[room]
        buffered = feed.buffer or []
        feed.buffer = None
        merged = merge_resume(since, replayed or [], buffered)
        complete = merged is not None
        if merged is None:  # a hole: skip to the newest event we know of
            since = max([since, *(seq for seq, _ in buffered), *(s for s, _ in replayed or [])])
            merged = []
        feed.last_seq = since
        for seq, frame in merged:
            feed.last_seq = seq
            self.outlet.send_frame(frame)
        return complete
