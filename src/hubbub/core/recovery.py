"""The resume merge: replayed history + live events buffered meanwhile → one gapless stream.

While a feed is brought up to date (a resume, a gap repair), live events are buffered
*before* history is read, so every event after ``since`` is in the replay, in the buffer, or
in both. Merging them by ``seq`` gives each event once, in order. If the union still has a
hole (an event lost between nodes after the read), ``merge`` says where: what precedes it is
sent and storage is read again for the rest (``service.resume``).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TypeVar

T = TypeVar("T")


def merge(
    since: int, replayed: Iterable[tuple[int, T]], buffered: Iterable[tuple[int, T]]
) -> tuple[list[tuple[int, T]], list[tuple[int, T]]]:
    """The events after ``since``, each once, split at the first hole: ``(run, beyond)``.

    ``run`` is ``since + 1, since + 2, …`` without a hole; ``beyond`` is everything past the
    hole, in seq order (empty when there is none). Items are ``(seq, payload)``; where a seq
    is in both inputs, the replayed copy wins (the stored truth; both are the same event).
    """
    by_seq: dict[int, T] = {}
    for seq, item in buffered:
        if seq > since:
            by_seq[seq] = item
    for seq, item in replayed:
        if seq > since:
            by_seq[seq] = item
    ordered = sorted(by_seq.items())
    for offset, (seq, _) in enumerate(ordered):
        if seq != since + 1 + offset:
            return ordered[:offset], ordered[offset:]
    return ordered, []
