"""Messages written but not acknowledged yet, in the order they were written. Pure: no I/O
(``client.store`` keeps them in a file).

Each message has its ``client_msg_id`` from the moment it is written, and keeps it on every
retry, so the server stores it once however often it is sent. A room's messages go out one
at a time, each after the ``sent`` of the one before: a retried message (after a lost
connection, ``rate_limited`` or ``unavailable``) can then never land after a later one.
Rooms do not wait for each other.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import msgspec

from hubbub.client.errors import OutboxFull

DEFAULT_OUTBOX_LIMIT = 1000


class Outgoing(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """One message as the client will ``send`` it (and as the outbox file keeps it)."""

    client_msg_id: str
    room: str
    body: str
    reply_to: int | None = None
    files: tuple[str, ...] = ()


class Outbox:
    def __init__(self, limit: int = DEFAULT_OUTBOX_LIMIT, entries: Iterable[Outgoing] = ()) -> None:
        if limit < 1:
            raise ValueError("an outbox holds at least one message")
        self.limit = limit
        self._entries: dict[str, Outgoing] = {}  # insertion order is the order written
        self._in_flight: set[str] = set()  # sent, no answer yet (or held before a retry)
        for entry in entries:
            self.add(entry)

    def __len__(self) -> int:
        return len(self._entries)

    def __iter__(self) -> Iterator[Outgoing]:
        return iter(list(self._entries.values()))

    def __contains__(self, client_msg_id: object) -> bool:
        return client_msg_id in self._entries

    def add(self, entry: Outgoing) -> None:
        if entry.client_msg_id in self._entries:
            raise ValueError(f"client_msg_id {entry.client_msg_id!r} is in the outbox already")
        if len(self._entries) >= self.limit:
            raise OutboxFull(f"the outbox holds {self.limit} messages not acknowledged yet")
        self._entries[entry.client_msg_id] = entry

    def ready(self) -> list[Outgoing]:
        """What to send now: the oldest message of each room, unless it is in flight."""
        heads: dict[str, Outgoing] = {}
        for entry in self._entries.values():
            heads.setdefault(entry.room, entry)
        return [e for e in heads.values() if e.client_msg_id not in self._in_flight]

    def sending(self, client_msg_id: str) -> None:
        """``client_msg_id`` went out (or waits to be retried): not ready until answered."""
        if client_msg_id in self._entries:
            self._in_flight.add(client_msg_id)

    def release(self, client_msg_id: str) -> None:
        """Send ``client_msg_id`` again: its answer was lost, or said to retry."""
        self._in_flight.discard(client_msg_id)

    def reset(self) -> None:
        """The connection is gone: everything not acknowledged is sent again on the next."""
        self._in_flight.clear()

    def done(self, client_msg_id: str) -> Outgoing | None:
        """``client_msg_id`` was acknowledged, or refused for good: out of the outbox."""
        self._in_flight.discard(client_msg_id)
        return self._entries.pop(client_msg_id, None)


_encoder = msgspec.json.Encoder()
_decoder = msgspec.json.Decoder(Outgoing)


def dump_lines(entries: Iterable[Outgoing]) -> bytes:
    """The outbox as JSON lines, one message a line, oldest first."""
    return b"".join(_encoder.encode(entry) + b"\n" for entry in entries)


def load_lines(data: bytes) -> list[Outgoing]:
    """The messages of ``dump_lines``; a line that is not one (a hand-edited file) raises
    ``ValueError`` naming its number."""
    entries = []
    for number, line in enumerate(data.splitlines(), 1):
        if not line.strip():
            continue
        try:
            entries.append(_decoder.decode(line))
        except msgspec.MsgspecError as exc:
            raise ValueError(f"outbox line {number} is not a message: {exc}") from None
    return entries
