"""The resume merge: any overlap of replay and live buffer gives each seq once, in order,
and a hole splits the stream where it is."""

from __future__ import annotations

from hypothesis import assume, given
from hypothesis import strategies as st

from hubbub.core.recovery import merge


@st.composite
def resume_race(draw: st.DrawFn) -> tuple[int, list[int], list[int], int]:
    """A room with ``last`` events; the client saw up to ``since``. Live buffering started
    before history was read, so the buffer starts at or before the first unread event."""
    last = draw(st.integers(0, 60))
    since = draw(st.integers(0, last))
    read_upto = draw(st.integers(since, last))  # what the history read saw
    buffer_from = draw(st.integers(1, read_upto + 1))  # buffering began no later than the read
    replayed = list(range(since + 1, read_upto + 1))
    buffered = list(range(buffer_from, last + 1))
    return since, replayed, buffered, last


@given(resume_race())
def test_merge_gives_every_missed_event_once_in_order(
    case: tuple[int, list[int], list[int], int],
) -> None:
    since, replayed, buffered, last = case
    run, beyond = merge(since, [(s, f"r{s}") for s in replayed], [(s, f"b{s}") for s in buffered])
    assert beyond == []
    assert [seq for seq, _ in run] == list(range(since + 1, last + 1))


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


@given(resume_race(), st.data())
def test_a_lost_event_ends_the_run_before_it(
    case: tuple[int, list[int], list[int], int], data: st.DataObject
) -> None:
    since, replayed, buffered, last = case
    assume(last > since + 1)  # an event with a successor to lose
    lost = data.draw(st.integers(since + 1, last - 1))
    run, beyond = merge(
        since,
        [(s, s) for s in replayed if s != lost],
        [(s, s) for s in buffered if s != lost],
    )
    assert [s for s, _ in run] == list(range(since + 1, lost))
    assert beyond[0][0] == lost + 1
