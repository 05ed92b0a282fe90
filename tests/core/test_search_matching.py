"""What a search query matches and where: the one function both storage backends use."""

from __future__ import annotations

import pytest

from hubbub.core.search import MAX_CANDIDATES, Cursor, Results, Row, Sieve, match_ranges


def test_matches_are_substrings_compared_as_lowercase_in_code_points() -> None:
    assert match_ranges("今天我们去吃饭", "我们去") == [(2, 5)]
    assert match_ranges("Lunch at NOON, noon!", "nOOn") == [(9, 13), (15, 19)]
    assert match_ranges("😀 Straße ÉCOLE", "école") == [(9, 14)]  # one code point an emoji
    assert match_ranges("aaaa", "aa") == [(0, 2), (2, 4)]  # left to right, not overlapping
    assert match_ranges("<b>x</b>", "<b>") == [(0, 3)]  # text, never markup
    assert match_ranges("nothing", "noon") == []
    assert match_ranges("anything", "") == []


def test_a_letter_whose_lowercase_is_longer_keeps_the_offsets_right() -> None:
    # "İ" lowercases to two code points: it stays itself, so offsets after it hold.
    assert match_ranges("İstanbul noon", "NOON") == [(9, 13)]


def test_a_cursor_reads_back_what_it_writes() -> None:
    assert Cursor.parse(str(Cursor(1234))) == Cursor(1234)
    # A result's place as a client writes it: the message, the time is not needed.
    assert Cursor.parse("1795552061000:12:dm:alice:bob") == Cursor(None, "dm:alice:bob", 12)
    for bad in ("", "yesterday", "1:2:", "1:x:team", "-1:2:team", "-5", "1:2"):
        with pytest.raises(ValueError):
            Cursor.parse(bad)


def candidates(first: int, count: int, room: str | None = "r") -> list[Row]:
    return [(pos, room, pos, pos, "u", f"hit {pos}") for pos in range(first, first - count, -1)]


def test_a_page_stops_as_soon_as_it_is_full() -> None:
    sieve = Sieve("hit", 20)
    asked = sieve.wanted()
    assert asked == 4 * 21  # a first chunk with room for a page of a quarter's hits
    sieve.add(candidates(10_000, asked), asked)
    assert sieve.wanted() == 0
    results = sieve.results()
    assert [f.pos for f in results.found] == list(range(10_000, 9_980, -1))
    assert results.has_more and results.next == Cursor(9_981)  # below the last one shown


def test_the_next_chunk_follows_the_share_found_so_far() -> None:
    sieve = Sieve("hit", 20)
    rows = candidates(10_000, 84, room=None)
    for i in range(0, 84, 8):  # one in eight is the searcher's
        rows[i] = (rows[i][0], "r", *rows[i][2:])
    sieve.add(rows, 84)
    assert len(sieve.found) == 11
    assert sieve.wanted() == 2 * 10 * 84 // 11  # twice what the ten still needed take


def test_a_page_examines_at_most_max_candidates_and_may_end_short() -> None:
    sieve = Sieve("hit", 20)
    pos = 50_000
    while asked := sieve.wanted():
        sieve.add(candidates(pos, asked, room=None), asked)  # none is the searcher's
        pos -= asked
    assert sieve.examined == MAX_CANDIDATES
    assert sieve.results() == Results([], True, Cursor(50_000 - MAX_CANDIDATES + 1))


def test_a_page_without_more_candidates_has_no_next() -> None:
    sieve = Sieve("hit", 20)
    asked = sieve.wanted()
    sieve.add([*candidates(100, 3), (97, "r", 97, 97, "u", "no match here")], asked)
    assert sieve.wanted() == 0
    results = sieve.results()
    assert ([f.pos for f in results.found], results.has_more, results.next) == (
        [100, 99, 98],
        False,
        None,
    )
