"""The resume merge: replayed history + live events buffered meanwhile → one gapless stream.

While a client resumes a room, live events are buffered *before* history is read, so every
event after ``since`` is in the replay, in the buffer, or in both. Merging them by ``seq``
gives each event once, in order. If the union still has a hole (an event was lost between
nodes), the merge refuses rather than hand out a stream with a gap: resume is all or nothing.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TypeVar

T = TypeVar("T")


def merge_resume(
    since: int, replayed: Iterable[tuple[int, T]], buffered: Iterable[tuple[int, T]]
) -> list[tuple[int, T]] | None:
    """Return the events after ``since`` in seq order, each once; ``None`` if there is a hole.

    Items are ``(seq, payload)``. Where a seq appears in both inputs, the replayed copy wins
    (it is the stored truth; both copies are the same event).
    """
    by_seq: dict[int, T] = {}
    for seq, item in buffered:
        if seq > since:
            by_seq[seq] = item
    for seq, item in replayed:
        if seq > since:
            by_seq[seq] = item
    merged = sorted(by_seq.items())
    for offset, (seq, _) in enumerate(merged):
        if seq != since + 1 + offset:
            return None
    return merged
