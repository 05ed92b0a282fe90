"""The projection of a room: folding its events one by one, all at once, or in chunks from
any split points gives the same state, and that state is what the events say. A client that
folds what it received live, then what it missed, ends in the state of a fresh snapshot."""

from __future__ import annotations

import functools
from itertools import pairwise

import msgspec
from hypothesis import given
from hypothesis import strategies as st

from hubbub.core.events import (
    EVENT_CLASSES,
    Event,
    MemberBanned,
    MemberJoined,
    MemberKicked,
    MemberLeft,
    MemberMuted,
    MemberUnbanned,
    MemberUnmuted,
    Message,
    MessageDeleted,
    MessageEdited,
    Quote,
    Reaction,
    ReactionAdded,
    ReactionRemoved,
    Role,
    RoleChanged,
    RoomChanged,
)
from hubbub.core.projection import EMPTY, RoomState, current, fold, project, replying

USERS = st.sampled_from(["alice", "bob", "carol", "guest:zed"])
BODIES = ["hi", "hello", "hey"]
EMOJI = st.sampled_from(["\N{THUMBS UP SIGN}", ":tada:"])
_COMMON = {"room": st.just("r"), "seq": st.just(0), "ts": st.integers(0, 10), "user": USERS}

# Any event of room ``r``, one strategy per kind (``KINDS``); ``room_logs`` numbers them.
EVENTS: st.SearchStrategy[Event] = st.one_of(
    st.builds(
        Message,
        msg_id=st.just(""),
        client_msg_id=st.none() | st.sampled_from(["c1", "c2"]),
        body=st.sampled_from(BODIES),
        reply_to=st.none() | st.integers(0, 40),
        mentions=st.sampled_from([(), ("bob",)]),
        room_mention=st.booleans(),
        **_COMMON,
    ),
    st.builds(MemberJoined, by=st.none() | USERS, **_COMMON),
    st.builds(MemberLeft, **_COMMON),
    st.builds(
        MessageEdited,
        target=st.integers(0, 40),
        body=st.sampled_from(BODIES),
        mentions=st.sampled_from([(), ("alice",)]),
        **_COMMON,
    ),
    st.builds(MessageDeleted, target=st.integers(0, 40), **_COMMON),
    st.builds(RoleChanged, member=USERS, role=st.sampled_from(Role), **_COMMON),
    st.builds(ReactionAdded, target=st.integers(0, 40), emoji=EMOJI, **_COMMON),
    st.builds(ReactionRemoved, target=st.integers(0, 40), emoji=EMOJI, **_COMMON),
    st.builds(MemberKicked, by=USERS, **_COMMON),
    st.builds(MemberBanned, by=USERS, reason=st.sampled_from(["", "spam"]), **_COMMON),
    st.builds(MemberUnbanned, by=USERS, **_COMMON),
    st.builds(MemberMuted, by=USERS, until=st.none() | st.integers(0, 10), **_COMMON),
    st.builds(MemberUnmuted, by=USERS, **_COMMON),
    st.builds(
        RoomChanged, topic=st.none() | st.just("t"), private=st.none() | st.booleans(), **_COMMON
    ),
)
KINDS = {
    Message,
    MemberJoined,
    MemberLeft,
    MessageEdited,
    MessageDeleted,
    RoleChanged,
    ReactionAdded,
    ReactionRemoved,
    MemberKicked,
    MemberBanned,
    MemberUnbanned,
    MemberMuted,
    MemberUnmuted,
    RoomChanged,
}
CHANGES = MessageEdited | MessageDeleted | ReactionAdded | ReactionRemoved


def numbered(seq: int, event: Event) -> Event:
    """The event as the ``seq``-th of its room: a change targets an earlier event."""
    if isinstance(event, Message):
        return msgspec.structs.replace(event, seq=seq, msg_id=f"m{seq}")
    if isinstance(event, CHANGES):
        return msgspec.structs.replace(event, seq=seq, target=min(event.target, seq - 1))
    return msgspec.structs.replace(event, seq=seq)


@st.composite
def room_logs(draw: st.DrawFn) -> list[Event]:
    """A room's log: seq 1, 2, 3 … with events of any kind. A reply answers an earlier
    message not deleted (or is none), as storage appends it: in its thread, quoting it; a
    delete names the thread of its target."""
    log: list[Event] = []
    for seq, event in enumerate(draw(st.lists(EVENTS, max_size=40)), 1):
        event = numbered(seq, event)
        held = project(log).messages
        if isinstance(event, Message) and event.reply_to is not None:
            parent = held.get(min(event.reply_to, seq - 1))
            if parent is None or parent.deleted:
                event = msgspec.structs.replace(event, reply_to=None)
            else:
                event = replying(event, parent)
        if isinstance(event, MessageDeleted) and event.target in held:
            event = msgspec.structs.replace(event, thread=held[event.target].thread)
        log.append(event)
    return log


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
    copy = RoomState(
        before.last_seq,
        before.members,
        dict(before.messages),
        before.admins,
        {seq: dict(emoji) for seq, emoji in before.reactors.items()},
        dict(before.threads),
    )
    project(log[cut:], before)
    assert before == copy


@given(room_logs())
def test_the_state_is_what_the_events_say(log: list[Event]) -> None:
    state = project(log)
    assert state.last_seq == len(log)
    last_change: dict[str, type] = {}
    admins: set[str] = set()
    expected: dict[int, Message] = {}
    reactors: dict[int, dict[str, set[str]]] = {}
    replies: dict[int, set[int]] = {}
    newest_reply: dict[int, int] = {}

    def requote(parent: int, body: str, deleted: bool) -> None:
        for seq, m in expected.items():
            if m.reply_to == parent and m.quote is not None and not m.quote.deleted:
                new = Quote(user=m.quote.user, body=body[:200], deleted=deleted)
                expected[seq] = msgspec.structs.replace(m, quote=new)

    for event in log:
        if isinstance(event, MemberJoined):
            last_change[event.user] = MemberJoined
        if isinstance(event, MemberLeft | MemberKicked | MemberBanned):  # all end a membership
            last_change[event.user] = MemberLeft
            admins.discard(event.user)
        if isinstance(event, RoleChanged):
            (admins.add if event.role == Role.ADMIN else admins.discard)(event.member)
        if isinstance(event, Message):
            expected[event.seq] = event
            if event.thread is not None:
                replies.setdefault(event.thread, set()).add(event.seq)
                newest_reply[event.thread] = event.ts
        was = expected.get(getattr(event, "target", 0))
        if isinstance(event, MessageEdited) and was is not None and not was.deleted:
            requote(event.target, event.body, False)
            expected[event.target] = msgspec.structs.replace(
                was,
                body=event.body,
                edited_at=event.ts,
                mentions=event.mentions,
                room_mention=event.room_mention,
            )
        if isinstance(event, ReactionAdded | ReactionRemoved) and was and not was.deleted:
            users = reactors.setdefault(event.target, {}).setdefault(event.emoji, set())
            (users.add if isinstance(event, ReactionAdded) else users.discard)(event.user)
        if isinstance(event, MessageDeleted) and was is not None:
            reactors.pop(event.target, None)
            if not was.deleted:
                requote(event.target, "", True)
            replies.get(was.thread or 0, set()).discard(event.target)
            expected[event.target] = Message(
                room=was.room,
                seq=was.seq,
                ts=was.ts,
                user=was.user,
                msg_id=was.msg_id,
                client_msg_id=was.client_msg_id,
                deleted=True,
                reply_to=was.reply_to,
                thread=was.thread,
            )
    assert state.members == {user for user, kind in last_change.items() if kind is MemberJoined}
    assert state.admins == admins
    assert state.messages == expected
    assert list(state.messages) == sorted(expected)  # in seq order
    assert {seq: {e: set(u) for e, u in r.items()} for seq, r in state.reactors.items()} == {
        seq: {e: u for e, u in r.items() if u} for seq, r in reactors.items()
    }
    assert {root: (set(t.live), t.last_reply_at) for root, t in state.threads.items()} == {
        root: (live, newest_reply[root]) for root, live in replies.items()
    }


@given(room_logs())
def test_a_page_shows_every_event_as_it_was_appended_while_no_message_changed(
    log: list[Event],
) -> None:
    """(A reply changes its thread's root: it counts there.)"""
    unchanged = [
        e for e in log if not isinstance(e, CHANGES) and getattr(e, "reply_to", None) is None
    ]
    assert current(unchanged) == unchanged


@given(room_logs())
def test_the_stored_form_erases_every_body_of_a_deleted_message(log: list[Event]) -> None:
    stored = current(log)
    deleted = {seq for seq, m in project(log).messages.items() if m.deleted}
    for event in stored:
        if isinstance(event, Message) and event.seq in deleted:
            assert event.body == "" and event.deleted
        if isinstance(event, MessageEdited) and event.target in deleted:
            assert event.body == ""
    assert current(stored) == stored  # the stored form is stable
    assert project(stored) == project(log)


@given(room_logs(), st.integers(0, 40))
def test_a_client_that_folds_what_it_received_then_what_it_missed_sees_the_snapshot(
    log: list[Event], cut: int
) -> None:
    """Sends, edits, deletes and role changes: a client that received ``log[:cut]`` live
    and then ``sync``s gets the rest as storage keeps it now; one that loaded a history
    snapshot at ``cut`` then receives the rest live. Both end in a fresh snapshot's state."""
    snapshot = project(current(log))
    assert project(current(log)[cut:], project(log[:cut])) == snapshot
    assert project(log[cut:], project(current(log[:cut]))) == snapshot


def test_a_reader_is_shown_each_messages_reaction_counts_and_their_own() -> None:
    up, tada = "\N{THUMBS UP SIGN}", ":tada:"
    log: list[Event] = [
        Message(room="r", seq=1, ts=0, user="alice", msg_id="m1", body="hi"),
        ReactionAdded(room="r", seq=2, ts=0, user="bob", target=1, emoji=up),
        ReactionAdded(room="r", seq=3, ts=0, user="carol", target=1, emoji=up),
        ReactionAdded(room="r", seq=4, ts=0, user="bob", target=1, emoji=up),  # again: one
        ReactionAdded(room="r", seq=5, ts=0, user="carol", target=1, emoji=tada),
        ReactionRemoved(room="r", seq=6, ts=0, user="carol", target=1, emoji=tada),
        ReactionRemoved(room="r", seq=7, ts=0, user="alice", target=1, emoji=up),  # not there
    ]
    (message, *_) = current(log, reader="bob")
    assert isinstance(message, Message)
    assert message.reactions == (Reaction(emoji=up, count=2, me=True),)
    (as_alice, *_) = current(log, reader="alice")
    assert isinstance(as_alice, Message) and as_alice.reactions[0].me is False
    gone = MessageDeleted(room="r", seq=8, ts=0, user="alice", target=1)
    (deleted, *_) = current([*log, gone], reader="bob")
    assert isinstance(deleted, Message) and deleted.deleted and deleted.reactions == ()
