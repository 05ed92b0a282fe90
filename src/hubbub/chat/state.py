"""What the terminal client shows, as plain data: the rooms with their unread counts, and
each room's timeline, paged from history and kept up to date by the events the client
delivers. Pure: no I/O, no terminal; the app feeds it and draws it (``render``).

Events come once and in ``seq`` order per room (``hubbub.client`` sees to it), but a history
page and live events may overlap, so everything here is keyed by ``seq`` and applied
idempotently, except reactions: a message's counts hold every reaction event up to its
``counted_at``, and only later ones are folded in (a replayed or paged message comes with
its counts as the server read them).
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable
from dataclasses import dataclass, field

from hubbub.client import Gap, Item, Outgoing, Removed, SendFailed
from hubbub.core.events import (
    EVENT_CLASSES,
    Event,
    MemberBanned,
    MemberJoined,
    MemberKicked,
    MemberLeft,
    Message,
    MessageDeleted,
    MessageEdited,
    ReactionAdded,
    ReactionRemoved,
)
from hubbub.core.models import DM_PREFIX, RoomInfo, RoomKind, dm_members
from hubbub.protocol import messages as m

MAX_LINES = 2000  # per room; beyond it the oldest go, and come back by paging
PAGE_SIZE = 50
# ``counted_at`` of a message that ``sync`` replayed with its counts: they hold the replay's
# reaction events, so none is folded in until the replay is known to be over (``resumed``).
REPLAYED = 2**63
_EVENT_TYPES = tuple(EVENT_CLASSES.values())


@dataclass
class RoomView:
    name: str
    kind: str
    title: str = ""
    last_seq: int = 0  # the newest seq counted for unread
    unread: int = 0
    mentions: int = 0

    def label(self, me: str) -> str:
        """How the room is named to the user: its title, ``#name``, or ``@other`` for a DM."""
        if self.title:
            return self.title
        if self.kind == RoomKind.DM or self.name.startswith(DM_PREFIX):
            first, second = dm_members(self.name)
            return "@" + (second if first == me else first)
        return "#" + self.name


@dataclass
class Line:
    """One row of a timeline: a message, or a line saying what happened in the room."""

    seq: int
    ts: int
    user: str
    body: str
    message: bool = True
    edited: bool = False
    deleted: bool = False
    reply_to: int | None = None
    quote: str = ""  # "user: start of the parent", for a reply
    reactions: dict[str, tuple[int, bool]] = field(default_factory=dict)  # emoji → count, mine
    counted_at: int = 0


@dataclass
class Timeline:
    lines: dict[int, Line] = field(default_factory=dict)
    seqs: list[int] = field(default_factory=list)  # of ``lines``, ascending
    loaded: bool = False  # the newest page was fetched: live events extend it
    has_older: bool = True
    newest: int = 0  # the newest seq seen in the room, changes included
    own_ids: dict[str, int] = field(default_factory=dict)  # the user's client_msg_id → seq

    def put(self, line: Line) -> None:
        if line.seq not in self.lines:
            bisect.insort(self.seqs, line.seq)
        self.lines[line.seq] = line
        if len(self.seqs) > MAX_LINES:
            for seq in self.seqs[: len(self.seqs) - MAX_LINES]:
                del self.lines[seq]
            del self.seqs[: len(self.seqs) - MAX_LINES]
            self.has_older = True
            first = self.seqs[0]
            self.own_ids = {key: seq for key, seq in self.own_ids.items() if seq >= first}

    def ordered(self) -> list[Line]:
        return [self.lines[seq] for seq in self.seqs]


@dataclass
class ChatState:
    me: str
    rooms: dict[str, RoomView] = field(default_factory=dict)
    timelines: dict[str, Timeline] = field(default_factory=dict)
    current: str | None = None
    pending: list[Outgoing] = field(default_factory=list)  # the outbox, oldest first
    # Acknowledged, but their message event has not come yet (the ``sent`` may come first):
    # still shown as pending, so that a message never vanishes for a moment.
    _sent: dict[str, Outgoing] = field(default_factory=dict)
    notice: str = ""  # the last thing to tell the user (a refused message …)
    _replay_marks: dict[str, int] | None = None  # the client's marks when it resumed

    # --- the room list ----------------------------------------------------------------------

    def set_rooms(self, infos: Iterable[RoomInfo]) -> None:
        """The server's room list (at every connect): its counts are the truth."""
        rooms: dict[str, RoomView] = {}
        for info in infos:
            view = RoomView(
                name=info.name,
                kind=str(info.kind),
                title=info.title,
                last_seq=info.last_seq,
                unread=info.unread,
                mentions=info.unread_mentions,
            )
            if info.name == self.current:
                view.unread = view.mentions = 0  # read on arrival: the app marks it
            rooms[info.name] = view
        self.rooms = rooms
        for name in list(self.timelines):
            if name not in rooms:
                del self.timelines[name]
        if self.current not in rooms:
            self.current = None

    def add_room(self, info: RoomInfo) -> None:
        """A room just joined, created or opened as a DM."""
        self.rooms[info.name] = RoomView(
            name=info.name, kind=str(info.kind), title=info.title, last_seq=info.last_seq
        )

    def ordered_rooms(self) -> list[RoomView]:
        """Rooms first, then DMs, each by name."""
        return sorted(self.rooms.values(), key=lambda r: (r.kind == RoomKind.DM, r.name))

    def open(self, room: str) -> int | None:
        """Show ``room``: its unread counts go to zero. Returns the seq to mark read (None if
        nothing is unread)."""
        self.current = room
        view = self.rooms.get(room)
        if view is None:
            return None
        had = view.unread or view.mentions
        view.unread = view.mentions = 0
        return view.last_seq if had else None

    def timeline(self, room: str) -> Timeline:
        return self.timelines.setdefault(room, Timeline())

    # --- history ----------------------------------------------------------------------------

    def older_cursor(self, room: str) -> int | None:
        """``before`` of the next older page, or None when there is none to fetch."""
        timeline = self.timeline(room)
        if not timeline.loaded or not timeline.has_older or not timeline.seqs:
            return None
        return timeline.seqs[0]

    def page(self, reply: m.HistoryReply, *, older: bool) -> int:
        """A history page: the newest (``older`` False) or one before the oldest held.
        Returns how many lines it added."""
        timeline = self.timeline(reply.room)
        if not older:
            timeline.loaded = True
        before = len(timeline.seqs)
        newest = max((event.seq for event in reply.events), default=0)
        # A page's counts are those the server read: they hold every reaction up to the
        # newest event of the newest page, and up to what was seen live for an older one.
        counted = newest if not older else max(newest, timeline.newest)
        for event in reply.events:
            if event.seq in timeline.lines:
                continue  # it came live, and every change since was applied: newer than this
            if isinstance(event, Message):
                self._hold(timeline, event, counted)
            elif (line := _event_line(event)) is not None:
                timeline.put(line)
        timeline.has_older = reply.has_more
        timeline.newest = max(timeline.newest, newest)
        return len(timeline.seqs) - before

    def forget_timeline(self, room: str) -> None:
        """The timeline is stale (a gap): fetched again when shown."""
        self.timelines.pop(room, None)
        for key in [key for key, entry in self._sent.items() if entry.room == room]:
            del self._sent[key]

    # --- events -----------------------------------------------------------------------------

    def resuming(self) -> None:
        """The connection was lost: replayed messages will come with counts again."""
        self._replay_marks = None

    def resumed(self, marks: dict[str, int]) -> None:
        """The client resumed (``client.since()`` at that moment): the replay's events are
        all in, so reactions after each room's mark apply again."""
        self._replay_marks = dict(marks)
        for room, timeline in self.timelines.items():
            for line in timeline.lines.values():
                if line.counted_at == REPLAYED:
                    line.counted_at = marks.get(room, line.seq)

    def apply(self, item: Item) -> bool:
        """Take one item of ``client.events()``. Returns True when the room list should be
        asked for again (an event of a room not in it)."""
        match item:
            case Gap(room=room):
                self.forget_timeline(room)
                return False
            case Removed(room=room):
                self.rooms.pop(room, None)
                self.timelines.pop(room, None)
                if self.current == room:
                    self.current = None
                return False
            case SendFailed(client_msg_id=key, room=room, error=error):
                self._sent.pop(key, None)
                self.notice = f"not sent to {room}: {error.message}"
                return False
            case m.ReadNotice(room=room, seq=seq):
                view = self.rooms.get(room)
                if view is not None and seq >= view.last_seq:
                    view.unread = view.mentions = 0
                return False
            case m.MentionNotice(room=room):
                view = self.rooms.get(room)
                if view is not None and room != self.current:
                    view.mentions += 1
                return False
        if isinstance(item, _EVENT_TYPES):
            return self._event(item)
        return False  # presence, typing, profiles, invitations: not shown

    def _event(self, event: Event) -> bool:
        view = self.rooms.get(event.room)
        if view is None:
            return not self._leaves(event)  # a room new to the list (a DM opened to us …)
        if self._leaves(event):
            self.rooms.pop(event.room, None)
            self.timelines.pop(event.room, None)
            if self.current == event.room:
                self.current = None
            return False
        if event.seq > view.last_seq:
            view.last_seq = event.seq
            if isinstance(event, Message) and event.user != self.me and not self._showing(event):
                view.unread += 1
                if view.kind == RoomKind.DM:
                    view.mentions += 1
        timeline = self.timelines.get(event.room)
        if timeline is None:
            return False  # never shown: fetched whole when it is
        # Held even before the newest page comes: it may have been read before this event.
        timeline.newest = max(timeline.newest, event.seq)
        if isinstance(event, Message):
            counted = event.seq
            if event.reactions:  # replayed with its counts
                marks = self._replay_marks
                counted = REPLAYED if marks is None else max(event.seq, marks.get(event.room, 0))
            self._hold(timeline, event, counted)
        elif isinstance(event, MessageEdited | MessageDeleted | ReactionAdded | ReactionRemoved):
            _change(timeline, event, self.me)
        elif (line := _event_line(event)) is not None:
            timeline.put(line)
        return False

    def _hold(self, timeline: Timeline, message: Message, counted_at: int) -> None:
        if message.user == self.me and message.client_msg_id is not None:
            timeline.own_ids[message.client_msg_id] = message.seq
            self._sent.pop(message.client_msg_id, None)  # shown now: no longer pending
        timeline.put(_message_line(message, counted_at, self.me))

    def _showing(self, event: Event) -> bool:
        return event.room == self.current

    def _leaves(self, event: Event) -> bool:
        gone = isinstance(event, MemberLeft | MemberKicked | MemberBanned)
        return gone and event.user == self.me

    # --- the outbox and the composer's commands ---------------------------------------------

    def set_outbox(self, entries: Iterable[Outgoing]) -> None:
        outbox = list(entries)
        still = {entry.client_msg_id for entry in outbox}
        for entry in self.pending:
            gone = entry.client_msg_id not in still
            if gone and entry.room in self.timelines and not self._seen(entry):
                self._sent[entry.client_msg_id] = entry
        self.pending = outbox

    def pending_in(self, room: str) -> list[Outgoing]:
        entries = [*self._sent.values(), *self.pending]
        return [entry for entry in entries if entry.room == room and not self._seen(entry)]

    def _seen(self, entry: Outgoing) -> bool:
        timeline = self.timelines.get(entry.room)
        return timeline is not None and entry.client_msg_id in timeline.own_ids

    def last_own(self, room: str) -> int | None:
        """The seq of the user's newest message held in ``room`` (what ``/edit`` edits)."""
        for line in reversed(self.timeline(room).ordered()):
            if line.message and not line.deleted and line.user == self.me:
                return line.seq
        return None

    def last_message(self, room: str) -> int | None:
        """The seq of the newest message held in ``room`` (what ``/react`` reacts to)."""
        for line in reversed(self.timeline(room).ordered()):
            if line.message and not line.deleted:
                return line.seq
        return None

    def last_others(self, room: str) -> int | None:
        """The seq of the newest message of someone else (what ``/reply`` answers)."""
        for line in reversed(self.timeline(room).ordered()):
            if line.message and not line.deleted and line.user != self.me:
                return line.seq
        return None


def _message_line(message: Message, counted_at: int, me: str) -> Line:
    quote = ""
    if message.quote is not None:
        parent = "(deleted)" if message.quote.deleted else message.quote.body
        quote = f"{message.quote.user}: {parent}"
    return Line(
        seq=message.seq,
        ts=message.ts,
        user=message.user,
        body=message.body,
        edited=message.edited_at is not None,
        deleted=message.deleted,
        reply_to=message.reply_to,
        quote=quote,
        reactions={r.emoji: (r.count, r.me) for r in message.reactions},
        counted_at=counted_at,
    )


def _event_line(event: Event) -> Line | None:
    """What a membership event says, as a line; None for the kinds not shown."""
    match event:
        case MemberJoined(by=by):
            text = f"joined (added by {by})" if by and by != event.user else "joined"
        case MemberLeft():
            text = "left"
        case MemberKicked(by=by):
            text = f"was removed by {by}"
        case MemberBanned(by=by):
            text = f"was banned by {by}"
        case _:
            return None
    return Line(seq=event.seq, ts=event.ts, user=event.user, body=text, message=False)


def _change(
    timeline: Timeline,
    event: MessageEdited | MessageDeleted | ReactionAdded | ReactionRemoved,
    me: str,
) -> None:
    line = timeline.lines.get(event.target)
    if line is None or not line.message:
        return
    if isinstance(event, MessageEdited):
        if not line.deleted:
            line.body, line.edited = event.body, True
    elif isinstance(event, MessageDeleted):
        line.body, line.deleted, line.reactions = "", True, {}
    elif event.seq > line.counted_at and not line.deleted:
        count, mine = line.reactions.get(event.emoji, (0, False))
        added = isinstance(event, ReactionAdded)
        count += 1 if added else -1
        if event.user == me:
            mine = added
        if count > 0:
            line.reactions[event.emoji] = (count, mine)
        else:
            line.reactions.pop(event.emoji, None)
        line.counted_at = event.seq
