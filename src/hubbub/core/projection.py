"""The projection of a room: its events folded into its current state. Pure functions.

A room's log only grows; what a reader sees is the state the log folds into: who is a member,
who is an admin, and each message as it stands now — its latest body, mentions and
``edited_at`` after ``message_edited``, a tombstone (``deleted``, no body) after
``message_deleted``, and who reacted to it with what (``reactors``; a delete drops them). A
reply's ``quote`` follows its parent's edits and delete; a thread's root counts its live
replies and the time of the newest. An edit of a deleted message changes nothing, and a change
of a message the state does not hold (it is before the folded part) is skipped.

Storage keeps each message's row in its current state, changed in the transaction that
appends the change (``current`` says how), so a history page is read as it is, in O(page).

Folding is associative over the log: folding a room's events one by one, all at once, or in
any chunks from any split point gives the same state (``tests/core/test_projection.py``).
"""

from __future__ import annotations

import typing
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import msgspec

from hubbub.core.events import (
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

QUOTE_CODE_POINTS = 200  # how much of its parent a reply quotes

# Who reacted to each message, by emoji: seq -> emoji -> users.
Reactors = Mapping[int, Mapping[str, frozenset[str]]]


@dataclass(frozen=True, slots=True)
class ThreadState:
    """A thread as its root shows it: the seqs of its replies not deleted, and the ts of the
    last reply added (in seq order; a delete does not change it)."""

    live: frozenset[int] = frozenset()
    last_reply_at: int | None = None


@dataclass(frozen=True, slots=True)
class RoomState:
    """A room as of its event ``last_seq``: its members, its admins, and its messages by
    ``seq``, in seq order. Folding from the room's first event gives all of them; from later
    on, the changes made since."""

    last_seq: int = 0
    members: frozenset[str] = frozenset()
    messages: Mapping[int, Message] = field(default_factory=dict)
    admins: frozenset[str] = frozenset()
    reactors: Reactors = field(default_factory=dict)
    threads: Mapping[int, ThreadState] = field(default_factory=dict)  # by root seq


EMPTY = RoomState()


def fold(state: RoomState, event: Event) -> RoomState:
    """The state after one more event."""
    return project((event,), state)


def project(events: Iterable[Event], state: RoomState = EMPTY) -> RoomState:
    """The state after ``events``, in seq order, starting from ``state`` (which is not
    changed: the new state has its own copies)."""
    members = set(state.members)
    admins = set(state.admins)
    messages = dict(state.messages)
    reactors = dict(state.reactors)
    threads = dict(state.threads)
    last_seq = state.last_seq
    for event in events:
        _thread(messages, threads, event)
        _apply(members, admins, messages, event)
        _react(messages, reactors, event)
        last_seq = event.seq
    return RoomState(last_seq, frozenset(members), messages, frozenset(admins), reactors, threads)


def _thread(messages: Mapping[int, Message], threads: dict[int, ThreadState], event: Event) -> None:
    """A reply counts on its thread's root from when it is added until it is deleted. (Like
    reactions, counted from the events, not from the counts a read showed: a read's root
    already counts the replies that follow it.)"""
    if isinstance(event, Message) and event.thread is not None:
        was = threads.get(event.thread, ThreadState())
        live = was.live if event.deleted else was.live | {event.seq}
        threads[event.thread] = ThreadState(live, event.ts)  # the newest in seq order
    elif isinstance(event, MessageDeleted):
        target = messages.get(event.target)
        root = target.thread if target is not None else event.thread
        thread = threads.get(root or 0)
        if root is not None and thread is not None:
            threads[root] = ThreadState(thread.live - {event.target}, thread.last_reply_at)


def _react(
    messages: Mapping[int, Message], reactors: dict[int, Mapping[str, frozenset[str]]], event: Event
) -> None:
    """Reactions of a message the state holds, not deleted; a delete drops them all."""
    if isinstance(event, MessageDeleted):
        reactors.pop(event.target, None)
        return
    if not isinstance(event, ReactionAdded | ReactionRemoved):
        return
    target = messages.get(event.target)
    if target is None or target.deleted:
        return
    emoji = dict(reactors.get(event.target, {}))
    users = emoji.get(event.emoji, frozenset())
    users = users | {event.user} if isinstance(event, ReactionAdded) else users - {event.user}
    if users:
        emoji[event.emoji] = users
    else:
        emoji.pop(event.emoji, None)
    reactors[event.target] = emoji


def reactions(reactors: Mapping[str, frozenset[str]], reader: str | None) -> tuple[Reaction, ...]:
    """A message's reactions as ``reader`` is shown them, by emoji in code point order."""
    return tuple(
        Reaction(emoji=e, count=len(users), me=reader in users)
        for e, users in sorted(reactors.items())
    )


def _apply(members: set[str], admins: set[str], messages: dict[int, Message], event: Event) -> None:
    match event:
        case Message():
            # Who reacted and who replied are folded from the events; a read's counts are not.
            message = msgspec.structs.replace(event, reactions=(), replies=0, last_reply_at=None)
            parent = messages.get(event.reply_to or 0)
            if parent is not None and not event.deleted:
                message = msgspec.structs.replace(message, quote=quote(parent))
            messages[event.seq] = message
        case MessageEdited():
            target = messages.get(event.target)
            if target is None or not target.deleted:
                _requote(messages, event.target, event.body)
            if target is not None and not target.deleted:
                messages[event.target] = edited(target, event)
        case MessageDeleted():
            target = messages.get(event.target)
            if target is None or not target.deleted:
                _requote(messages, event.target, None)
            if target is not None:
                messages[event.target] = tombstone(target)
        case MemberJoined():
            members.add(event.user)
        case MemberLeft() | MemberKicked() | MemberBanned():
            members.discard(event.user)
            admins.discard(event.user)  # a role ends with the membership
        case RoleChanged():
            if event.role == Role.ADMIN:
                admins.add(event.member)
            else:
                admins.discard(event.member)
        case ReactionAdded() | ReactionRemoved():
            pass  # folded by _react: they change who reacted, not the message
        case MemberUnbanned() | MemberMuted() | MemberUnmuted() | RoomChanged():
            pass  # who may join or speak, and the room's settings: kept by storage, not here
        case _:
            typing.assert_never(event)


def _requote(messages: dict[int, Message], parent: int, body: str | None) -> None:
    """The replies to ``parent`` quote its new ``body`` (None: it is deleted). A client may
    hold replies without their parent, so the quote changes by itself."""
    for seq, message in messages.items():
        was = message.quote
        if message.reply_to == parent and was is not None and not was.deleted:
            now = quote_of(was.user, body or "", body is None)
            messages[seq] = msgspec.structs.replace(message, quote=now)


def edited(message: Message, edit: MessageEdited) -> Message:
    """The message with the body (and so the mentions) of ``edit``."""
    return msgspec.structs.replace(
        message,
        body=edit.body,
        edited_at=edit.ts,
        mentions=edit.mentions,
        room_mention=edit.room_mention,
    )


def tombstone(message: Message) -> Message:
    """What stays of a deleted message: who sent it when, where it stood in its thread, and
    that it was deleted. Its text, and all that came from it, goes."""
    return msgspec.structs.replace(
        message,
        body="",
        edited_at=None,
        deleted=True,
        mentions=(),
        room_mention=False,
        files=(),
        reactions=(),
        quote=None,
    )


def quote(parent: Message) -> Quote:
    """How a reply shows the message it answers."""
    return quote_of(parent.user, parent.body, parent.deleted)


def quote_of(author: str, body: str, deleted: bool) -> Quote:
    """The quote of a message by ``author`` whose body is ``body`` now."""
    if deleted:
        return Quote(user=author, body="", deleted=True)
    return Quote(user=author, body=body[:QUOTE_CODE_POINTS])


def replying(reply: Message, parent: Message) -> Message:
    """``reply`` as appended in answer to ``parent``: in its thread, quoting it."""
    thread = parent.thread if parent.thread is not None else parent.seq
    return msgspec.structs.replace(reply, thread=thread, quote=quote(parent))


def current(events: Sequence[Event], reader: str | None = None) -> list[Event]:
    """The events as storage keeps them once all of ``events`` are appended, and as
    ``reader`` is shown them: each message in its state after all of ``events`` with its
    reactions, and the body of each edit of a deleted message erased. Storage applies each
    change to the rows it concerns when it appends it, so its pages and replays are already
    in this form (the reactions are counted when a page is read)."""
    state = project(events)
    messages = {
        seq: _with_replies(
            _with_reactions(m, state.reactors.get(seq, {}), reader), state.threads.get(seq)
        )
        for seq, m in state.messages.items()
    }
    return [_as_now(messages, e) for e in events]


def _with_replies(message: Message, thread: ThreadState | None) -> Message:
    if thread is None:
        return message
    return msgspec.structs.replace(
        message, replies=len(thread.live), last_reply_at=thread.last_reply_at
    )


def _with_reactions(
    message: Message, reactors: Mapping[str, frozenset[str]], reader: str | None
) -> Message:
    if not reactors:
        return message
    return msgspec.structs.replace(message, reactions=reactions(reactors, reader))


def _as_now(messages: Mapping[int, Message], event: Event) -> Event:
    if isinstance(event, Message):
        return messages[event.seq]
    if isinstance(event, MessageEdited):
        target = messages.get(event.target)
        if target is not None and target.deleted:
            return msgspec.structs.replace(event, body="", mentions=(), room_mention=False)
    return event
