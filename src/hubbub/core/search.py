"""Message search: what a query matches, where in a body, and the order of the results.

Both storage backends ask their index for candidates and keep the ones ``match_ranges``
finds a match in, so they return the same results. A query matches a body where it occurs
as a substring, letters compared as their lowercase (one code point for one code point), so
it works within words and in scripts without spaces (Chinese, Japanese, Korean).
"""

from __future__ import annotations

from typing import NamedTuple

MIN_QUERY_CHARS = 3  # the indexes are of trigrams: a shorter query would scan every body
MAX_QUERY_CHARS = 100
MAX_SEARCH_LIMIT = 50
DEFAULT_SEARCH_LIMIT = 20
SHORT_QUERY = f"search needs at least {MIN_QUERY_CHARS} characters"


def _fold(text: str) -> str:
    """``text`` with each letter lowercased where that keeps it one code point, so offsets
    in the folded text are offsets in ``text``."""
    return "".join(low if len(low := ch.lower()) == 1 else ch for ch in text)


def match_ranges(body: str, query: str) -> list[tuple[int, int]]:
    """The ``[start, end)`` code point offsets of each match of ``query`` in ``body``, left
    to right and not overlapping; empty if it does not match."""
    if not query:
        return []
    haystack, needle = _fold(body), _fold(query)
    ranges = []
    start = haystack.find(needle)
    while start >= 0:
        ranges.append((start, start + len(needle)))
        start = haystack.find(needle, start + len(needle))
    return ranges


class Cursor(NamedTuple):
    """A place in the order of search results: newest first by ``ts``, then by room name
    and seq, both descending. A page goes on below the last result of the one before."""

    ts: int
    room: str
    seq: int

    def __str__(self) -> str:
        return f"{self.ts}:{self.seq}:{self.room}"

    @classmethod
    def parse(cls, text: str) -> Cursor:
        """The cursor written ``<ts>:<seq>:<room>``; ``ValueError`` if it is not one."""
        ts, seq, room = text.split(":", 2)
        if not (ts.isdigit() and seq.isdigit() and room):
            raise ValueError(f"not a search cursor: {text!r}")
        return cls(int(ts), room, int(seq))


class Found(NamedTuple):
    """A message that matches, as it stands, with where the query occurs in its body."""

    room: str
    seq: int
    ts: int
    user: str
    body: str
    ranges: list[tuple[int, int]]

    @property
    def cursor(self) -> Cursor:
        return Cursor(self.ts, self.room, self.seq)


class Results(NamedTuple):
    found: list[Found]
    has_more: bool


Row = tuple[str, int, int, str, str]  # a candidate: room, seq, ts, author, body


def matches(rows: list[Row], query: str) -> list[Found]:
    """Of an index's candidates, the messages the query matches (``match_ranges``)."""
    found = []
    for room, seq, ts, user, body in rows:
        ranges = match_ranges(body, query)
        if ranges:
            found.append(Found(room, seq, ts, user, body, ranges))
    return found
