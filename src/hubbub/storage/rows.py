"""An event as one row of ``events``, the same for every SQL backend; no I/O.

The common fields have columns of their own (``user`` in ``author``), and each field of a kind
the column of the same name (``by`` in ``by_user``: BY is an SQL keyword). A new kind whose
fields have no column yet comes with a migration that adds them; appending, reading and
replaying need no change. What differs between engines is only how some fields are held
(booleans, lists): each passes its own converters to ``RowDecoder``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Protocol

import msgspec

from hubbub.core.events import EVENT_CLASSES, Event, Message, Quote, Reaction, own_fields

COLUMN_OF = {"by": "by_user"}
COMMON_COLUMNS = ["seq", "type", "author", "ts"]


def kind_columns(kind: type[Event]) -> list[str]:
    """The columns of the kind's own stored fields, in their order."""
    return [COLUMN_OF.get(f, f) for f in own_fields(kind)]


KIND_COLUMNS = list(dict.fromkeys(c for k in EVENT_CLASSES.values() for c in kind_columns(k)))
EVENT_COLUMNS = ", ".join(COMMON_COLUMNS + KIND_COLUMNS)  # what reads select


class Row(Protocol):
    """A row as a driver gives it (a tuple, an asyncpg ``Record``): read by position."""

    def __getitem__(self, index: Any, /) -> Any: ...


class RowDecoder:
    """Events from rows selected with ``EVENT_COLUMNS``; ``from_column`` turns the fields an
    engine holds in another form back into theirs."""

    def __init__(self, from_column: Mapping[str, Callable[[Any], Any]]) -> None:
        first = len(COMMON_COLUMNS)
        self._kinds = {
            t: (
                kind,
                [
                    (f, first + KIND_COLUMNS.index(c))
                    for f, c in zip(own_fields(kind), kind_columns(kind), strict=True)
                ],
                [(f, from_column[f]) for f in own_fields(kind) if f in from_column],
            )
            for t, kind in EVENT_CLASSES.items()
        }

    def __call__(self, room: str, row: Row) -> Event:
        seq, type_, author, ts = row[:4]
        cls, positions, converted = self._kinds[type_]
        own = {name: row[i] for name, i in positions}
        for name, convert in converted:
            own[name] = convert(own[name])
        return cls(room=room, seq=seq, ts=ts, user=author, **own)


def as_read(
    message: Message, counted: Mapping[int, list[Reaction]], quotes: Mapping[int, Quote]
) -> Message:
    """The message with the reactions counted for it and the quote of its parent, both read
    with its page (a tombstone quotes nothing)."""
    reactions = counted.get(message.seq)
    quote = None if message.deleted else quotes.get(message.reply_to or 0)
    if reactions is None and quote is None:
        return message
    return msgspec.structs.replace(message, reactions=tuple(reactions or ()), quote=quote)
