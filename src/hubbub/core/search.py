"""Message search: what a query matches, where in a body, and the order of the results.

Both storage backends ask their index for candidates and keep the ones ``match_ranges``
finds a match in, so they return the same results. A query matches a body where it occurs
as a substring, letters compared as their lowercase (one code point for one code point), so
it works within words and in scripts without spaces (Chinese, Japanese, Korean).

Results come newest first, in the order of each event's ``pos``: a number every event gets
when it is written, greater than any before it in the database. The index hands out its
candidates (the messages whose body may hold the query, in any room) in that order, and a
``Sieve`` keeps those of the searcher's rooms that match until it is full, so a query that
matches much stops early. A page examines at most ``MAX_CANDIDATES``: where the searcher's
rooms hold few of the matches, it may end short (even empty) with ``has_more`` and the
cursor of where it stopped, so one request's work stays bounded whatever the query.
"""

from __future__ import annotations

from typing import NamedTuple

MIN_QUERY_CHARS = 3  # the indexes are of trigrams: a shorter query would scan every body
MAX_QUERY_CHARS = 100
MAX_SEARCH_LIMIT = 50
DEFAULT_SEARCH_LIMIT = 20
MAX_CANDIDATES = 1000  # candidates one request examines at most
SHORT_QUERY = f"search needs at least {MIN_QUERY_CHARS} characters"
BAD_CURSOR = "not a search cursor"
UNKNOWN_CURSOR = f"{BAD_CURSOR}: it names no message in your rooms"


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
    """Where a page of results goes on: below ``pos``, as a reply's ``next`` says it
    (written ``<pos>``); or, as a client may write it from the last result of the page
    before (``<ts>:<seq>:<room>``), below the message ``seq`` of ``room``, which storage
    looks up among the searcher's rooms (``ts`` is not needed)."""

    pos: int | None
    room: str = ""
    seq: int = 0

    def __str__(self) -> str:
        return str(self.pos) if self.pos is not None else f"0:{self.seq}:{self.room}"

    @classmethod
    def parse(cls, text: str) -> Cursor:
        """The cursor written ``<pos>`` or ``<ts>:<seq>:<room>``; ``ValueError`` if it is
        not one."""
        if text.isdigit():
            return cls(int(text))
        ts, seq, room = text.split(":", 2) if text.count(":") >= 2 else ("", "", "")
        if not (ts.isdigit() and seq.isdigit() and room):
            raise ValueError(f"{BAD_CURSOR}: {text!r}")
        return cls(None, room, int(seq))


class Found(NamedTuple):
    """A message that matches, as it stands, with where the query occurs in its body."""

    pos: int
    room: str
    seq: int
    ts: int
    user: str
    body: str
    ranges: list[tuple[int, int]]

    @property
    def cursor(self) -> Cursor:
        return Cursor(self.pos)


class Results(NamedTuple):
    found: list[Found]
    has_more: bool
    next: Cursor | None = None  # where the next page starts, when there may be one


# A candidate, as storage reads it: pos, then room, seq, ts, author and body, or the room
# None for one the searcher may not see (another room's, or deleted since it was indexed).
Row = tuple[int, str | None, int, int, str, str]


class Sieve:
    """One page of results, collected from candidates handed over newest first in chunks:
    ``wanted`` says how many more to read (0: done), ``add`` takes them."""

    def __init__(self, query: str, limit: int) -> None:
        self.query = query
        self.limit = limit
        self.found: list[Found] = []
        self.examined = 0
        self.last: int | None = None  # the pos of the last candidate examined
        self.exhausted = False  # the index has no more candidates

    def wanted(self) -> int:
        left = MAX_CANDIDATES - self.examined
        if self.exhausted or len(self.found) > self.limit or left <= 0:
            return 0
        if not self.examined:  # enough if a quarter of the candidates are the searcher's
            return min(4 * (self.limit + 1), left)
        # Twice what the share found so far says the rest of the page takes; if none were
        # the searcher's, all that may still be examined, in one go.
        need = self.limit + 1 - len(self.found)
        size = 2 * need * self.examined // len(self.found) if self.found else left
        return min(max(size, self.limit + 1), left)

    def add(self, rows: list[Row], asked: int) -> None:
        """The candidates read for a ``wanted`` of ``asked``, newest first."""
        for pos, room, seq, ts, user, body in rows:
            if room is not None and (ranges := match_ranges(body, self.query)):
                self.found.append(Found(pos, room, seq, ts, user, body, ranges))
        self.examined += len(rows)
        if rows:
            self.last = rows[-1][0]
        self.exhausted = len(rows) < asked

    def results(self) -> Results:
        if len(self.found) > self.limit:
            return Results(self.found[: self.limit], True, self.found[self.limit - 1].cursor)
        if self.exhausted or self.last is None:
            return Results(self.found, False)
        return Results(self.found, True, Cursor(self.last))  # the bound: go on from here
