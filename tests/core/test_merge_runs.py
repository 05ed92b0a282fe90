"""The merge that gap repair uses: what follows ``since`` without a hole, and what lies past it."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from hubbub.core.recovery import merge


@given(
    since=st.integers(0, 30),
    replayed=st.lists(st.integers(0, 60), max_size=40),
    buffered=st.lists(st.integers(0, 60), max_size=40),
)
def test_merge_splits_at_the_first_hole(
    since: int, replayed: list[int], buffered: list[int]
) -> None:
    run, beyond = merge(since, [(s, "r") for s in replayed], [(s, "b") for s in buffered])
    wanted = sorted({s for s in replayed + buffered if s > since})
    assert [s for s, _ in run + beyond] == wanted  # each seq once, in order
    assert [s for s, _ in run] == list(range(since + 1, since + 1 + len(run)))
    if beyond:
        assert beyond[0][0] > since + len(run) + 1  # a hole right before it
    for seq, item in run + beyond:
        assert item == ("r" if seq in replayed else "b")  # the stored copy wins
