"""The resume merge: any overlap of replay and live buffer gives each seq once, in order."""

from __future__ import annotations

from hypothesis import assume, given
from hypothesis import strategies as st

from hubbub.core.recovery import merge_resume


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
    merged = merge_resume(since, [(s, f"r{s}") for s in replayed], [(s, f"b{s}") for s in buffered])
    assert merged is not None
    assert [seq for seq, _ in merged] == list(range(since + 1, last + 1))


@given(resume_race())
def test_replayed_copy_wins_where_both_have_the_event(
    case: tuple[int, list[int], list[int], int],
) -> None:
    since, replayed, buffered, _ = case
    merged = merge_resume(since, [(s, f"r{s}") for s in replayed], [(s, f"b{s}") for s in buffered])
    assert merged is not None
    for seq, item in merged:
        assert item == (f"r{seq}" if seq in replayed else f"b{seq}")


@given(
    since=st.integers(0, 30),
    replayed=st.lists(st.integers(0, 60), max_size=40),
    buffered=st.lists(st.integers(0, 60), max_size=40),
)
def test_any_interleaving_is_all_or_nothing(
    since: int, replayed: list[int], buffered: list[int]
) -> None:
    merged = merge_resume(since, [(s, s) for s in replayed], [(s, s) for s in buffered])
    wanted = sorted({s for s in replayed + buffered if s > since})
    if wanted == list(range(since + 1, since + 1 + len(wanted))):
        assert merged == [(s, s) for s in wanted]
    else:
        assert merged is None  # a hole: refuse rather than replay part


@given(resume_race(), st.data())
def test_a_lost_event_is_refused_not_skipped(
    case: tuple[int, list[int], list[int], int], data: st.DataObject
) -> None:
    since, replayed, buffered, last = case
    assume(last > since + 1)  # an event with a successor to lose
    lost = data.draw(st.integers(since + 1, last - 1))
    merged = merge_resume(
        since,
        [(s, s) for s in replayed if s != lost],
        [(s, s) for s in buffered if s != lost],
    )
    assert merged is None
