"""What a search query matches and where: the one function both storage backends use."""

from __future__ import annotations

import pytest

from hubbub.core.search import Cursor, match_ranges


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
    cursor = Cursor(1795552061000, "dm:alice:bob", 12)
    assert str(cursor) == "1795552061000:12:dm:alice:bob"
    assert Cursor.parse(str(cursor)) == cursor
    for bad in ("", "yesterday", "1:2:", "1:x:team", "-1:2:team"):
        with pytest.raises(ValueError):
            Cursor.parse(bad)
