"""The projection of a room: its events folded into its current state. Pure functions.

A room's log only grows; what a reader sees is the state the log folds into: who is a member,
and each message as it stands now. Today a message never changes after it is appended, so
folding only adds messages and changes the member set; an event that edits, deletes or
reacts to a message becomes one more case of ``_apply``, and every reader that goes through
``current`` (history pages) shows messages in their current state with no other change.

Folding is associative over the log: folding a room's events one by one, all at once, or in
any chunks from any split point gives the same state (``tests/core/test_projection.py``).
"""

from __future__ import annotations

import typing
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from hubbub.core.events import Event, MemberJoined, MemberLeft, Message


@dataclass(frozen=True, slots=True)
class RoomState:
    """A room as of its event ``last_seq``: its members and its messages by ``msg_id``, in
    seq order. Folding from the room's first event gives all of them; from later on, the
    changes made since."""

    last_seq: int = 0
    members: frozenset[str] = frozenset()
    messages: Mapping[str, Message] = field(default_factory=dict)


EMPTY = RoomState()


def fold(state: RoomState, event: Event) -> RoomState:
    """The state after one more event."""
    return project((event,), state)


def project(events: Iterable[Event], state: RoomState = EMPTY) -> RoomState:
    """The state after ``events``, in seq order, starting from ``state`` (which is not
    changed: the new state has its own copies)."""
    members = set(state.members)
    messages = dict(state.messages)
    last_seq = state.last_seq
    for event in events:
        _apply(members, messages, event)
        last_seq = event.seq
    return RoomState(last_seq, frozenset(members), messages)


def _apply(members: set[str], messages: dict[str, Message], event: Event) -> None:
    match event:
        case Message():
            messages[event.msg_id] = event
        case MemberJoined():
            members.add(event.user)
        case MemberLeft():
            members.discard(event.user)
        case _:
            typing.assert_never(event)


def current(events: Sequence[Event]) -> list[Event]:
    """The events as a reader is shown them: each message in its state after all of
    ``events``. (Until events change messages, that is each event as it was appended.)"""
    messages = project(events).messages
    return [messages[e.msg_id] if isinstance(e, Message) else e for e in events]
