"""The projection of a room: folding its events one by one, all at once, or in chunks from
any split points gives the same state, and that state is what the events say."""

from __future__ import annotations

import functools
from itertools import pairwise

import msgspec
from hypothesis import given
from hypothesis import strategies as st

from hubbub.core.events import EVENT_CLASSES, Event, MemberJoined, MemberLeft, Message
from hubbub.core.projection import EMPTY, RoomState, current, fold, project

USERS = st.sampled_from(["alice", "bob", "carol", "guest:zed"])
_COMMON = {"room": st.just("r"), "seq": st.just(0), "ts": st.integers(0, 10), "user": USERS}

# Any event of room ``r``, one strategy per kind (``KINDS``); ``room_logs`` numbers them.
EVENTS: st.SearchStrategy[Event] = st.one_of(
    st.builds(
        Message,
        msg_id=st.just(""),
        client_msg_id=st.none() | st.sampled_from(["c1", "c2"]),
        body=st.sampled_from(["hi", "", "hello"]),
        **_COMMON,
    ),
    st.builds(MemberJoined, by=st.none() | USERS, **_COMMON),
    st.builds(MemberLeft, **_COMMON),
)
KINDS = {Message, MemberJoined, MemberLeft}


def numbered(seq: int, event: Event) -> Event:
    if isinstance(event, Message):
        return msgspec.structs.replace(event, seq=seq, msg_id=f"m{seq}")
    return msgspec.structs.replace(event, seq=seq)


@st.composite
def room_logs(draw: st.DrawFn) -> list[Event]:
    """A room's log: seq 1, 2, 3 … with events of any kind."""
    events = draw(st.lists(EVENTS, max_size=40))
    return [numbered(seq, event) for seq, event in enumerate(events, 1)]


@st.composite
def logs_and_cuts(draw: st.DrawFn) -> tuple[list[Event], list[int]]:
    """A log, and the points where it is cut into chunks (sorted, maybe repeated)."""
    log = draw(room_logs())
    cuts = sorted(draw(st.lists(st.integers(0, len(log)), max_size=6)))
    return log, cuts


def test_the_strategies_make_every_kind_of_event() -> None:
    assert set(EVENT_CLASSES.values()) == KINDS  # a new kind: add it to `event_at`


@given(room_logs())
def test_folding_one_by_one_equals_folding_all_at_once(log: list[Event]) -> None:
    assert functools.reduce(fold, log, EMPTY) == project(log)


@given(logs_and_cuts())
def test_folding_in_chunks_from_any_split_points_equals_folding_all_at_once(
    case: tuple[list[Event], list[int]],
) -> None:
    log, cuts = case
    state = EMPTY
    for start, end in pairwise([0, *cuts, len(log)]):
        state = project(log[start:end], state)
    assert state == project(log)


@given(room_logs(), st.integers(0, 40))
def test_folding_leaves_the_state_it_started_from_as_it_was(log: list[Event], cut: int) -> None:
    before = project(log[:cut])
    copy = RoomState(before.last_seq, before.members, dict(before.messages))
    project(log[cut:], before)
    assert before == copy


@given(room_logs())
def test_the_state_is_what_the_events_say(log: list[Event]) -> None:
    state = project(log)
    assert state.last_seq == len(log)
    last_change: dict[str, type] = {}
    for event in log:
        if isinstance(event, MemberJoined | MemberLeft):
            last_change[event.user] = type(event)
    assert state.members == {user for user, kind in last_change.items() if kind is MemberJoined}
    messages = [e for e in log if isinstance(e, Message)]
    assert list(state.messages.values()) == messages  # in seq order
    assert list(state.messages) == [m.msg_id for m in messages]


@given(room_logs())
def test_a_page_shows_every_event_as_it_was_appended_while_messages_never_change(
    log: list[Event],
) -> None:
    assert current(log) == log
