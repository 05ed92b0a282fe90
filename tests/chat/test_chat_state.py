"""The terminal client's pure parts, without a terminal: the state model (rooms, unread
counts, timelines with paging, edits, reactions), the composer's commands, the rendering of
hostile text, and where the token is kept."""

from __future__ import annotations

import stat
from pathlib import Path

from hubbub.chat import render
from hubbub.chat.commands import Command, Refused, parse
from hubbub.chat.config import Session, Store, config_dir
from hubbub.chat.state import MAX_LINES, ChatState
from hubbub.client import Gap, Outgoing, Removed, RequestError, SendFailed
from hubbub.core.events import (
    MemberJoined,
    MemberLeft,
    Message,
    MessageDeleted,
    MessageEdited,
    Reaction,
    ReactionAdded,
    ReactionRemoved,
)
from hubbub.core.models import RoomInfo, RoomKind
from hubbub.protocol import messages as m


def info(
    name: str, last_seq: int = 0, unread: int = 0, kind: RoomKind = RoomKind.PUBLIC
) -> RoomInfo:
    return RoomInfo(
        name=name, kind=kind, last_seq=last_seq, read_seq=last_seq - unread, unread=unread
    )


def msg(room: str, seq: int, user: str = "bob", body: str = "", **more: object) -> Message:
    return Message(
        room=room,
        seq=seq,
        ts=1_700_000_000_000 + seq,
        user=user,
        msg_id=f"m{seq}",
        client_msg_id=f"c{seq}",
        body=body or f"message {seq}",
        **more,  # type: ignore[arg-type]
    )


def page(room: str, events: list[Message], has_more: bool) -> m.HistoryReply:
    return m.HistoryReply(room=room, events=list(events), has_more=has_more)


def state_with(*rooms: RoomInfo) -> ChatState:
    state = ChatState(me="alice")
    state.set_rooms(rooms)
    return state


def test_unread_counts_follow_others_messages_outside_the_open_room() -> None:
    state = state_with(info("team", last_seq=3, unread=2), info("ops", last_seq=1))
    assert state.rooms["team"].unread == 2
    assert state.open("ops") is None  # nothing unread there: no read marker to move
    state.apply(msg("team", 4))
    state.apply(msg("team", 5, user="alice"))  # one's own message is never unread
    state.apply(msg("ops", 2))  # the open room: read as it arrives
    assert (state.rooms["team"].unread, state.rooms["ops"].unread) == (3, 0)
    state.apply(msg("team", 4))  # a replay of what was counted already
    assert state.rooms["team"].unread == 3
    assert state.open("team") == 5  # shown: read up to its newest event
    assert state.rooms["team"].unread == 0
    state.apply(m.MentionNotice(room="ops", seq=3, user="bob"))
    assert state.rooms["ops"].mentions == 1
    state.apply(m.ReadNotice(room="ops", seq=2))  # read on another device
    assert state.rooms["ops"].mentions == 0


def test_a_dm_counts_every_message_of_the_other_as_a_mention_and_is_named_after_them() -> None:
    state = state_with(info("dm:alice:bob", kind=RoomKind.DM), info("team"))
    state.open("team")
    state.apply(msg("dm:alice:bob", 1))
    view = state.rooms["dm:alice:bob"]
    assert (view.unread, view.mentions, view.label("alice"), view.label("bob")) == (
        1,
        1,
        "@bob",
        "@alice",
    )
    assert [r.name for r in state.ordered_rooms()] == ["team", "dm:alice:bob"]


def test_history_pages_fill_the_timeline_from_the_newest_back_to_the_start() -> None:
    state = state_with(info("team", last_seq=120), info("ops"))
    state.open("team")
    assert state.older_cursor("team") is None  # nothing held yet: the newest page first
    state.apply(msg("ops", 1))  # a room never shown holds nothing: fetched when shown
    assert "ops" not in state.timelines
    # While the newest page is on its way: a message, and an edit of it, both committed
    # after the server read the page (which has the message as it was before the edit).
    state.apply(msg("team", 121, body="tpyo"))
    state.apply(MessageEdited(room="team", seq=122, ts=1, user="bob", target=121, body="typo"))
    newest = [msg("team", s) for s in range(72, 121)] + [msg("team", 121, body="tpyo")]
    added = state.page(page("team", newest, True), older=False)
    assert added == 49 and state.older_cursor("team") == 72
    state.apply(msg("team", 123))
    assert state.timeline("team").seqs == [*range(72, 122), 123]
    assert state.timeline("team").lines[121].body == "typo"  # the live line, not the page's
    state.page(page("team", [msg("team", s) for s in range(22, 72)], True), older=True)
    state.page(page("team", [msg("team", s) for s in range(1, 22)], False), older=True)
    assert state.timeline("team").seqs == [*range(1, 122), 123]
    assert state.older_cursor("team") is None  # the start of the room


def test_a_timeline_keeps_at_most_max_lines_and_pages_the_dropped_ones_again() -> None:
    state = state_with(info("team"))
    state.open("team")
    state.page(page("team", [], False), older=False)
    for seq in range(1, MAX_LINES + 11):
        state.apply(msg("team", seq))
    timeline = state.timeline("team")
    assert len(timeline.seqs) == MAX_LINES and timeline.seqs[0] == 11
    assert state.older_cursor("team") == 11


def test_edits_deletes_and_membership_lines() -> None:
    state = state_with(info("team"))
    state.open("team")
    state.page(page("team", [msg("team", 1, user="alice", body="helo")], False), older=False)
    state.apply(MemberJoined(room="team", seq=2, ts=1, user="bob"))
    state.apply(msg("team", 3, body="hi"))
    state.apply(MessageEdited(room="team", seq=4, ts=2, user="alice", target=1, body="hello"))
    state.apply(MessageDeleted(room="team", seq=5, ts=3, user="bob", target=3))
    lines = state.timeline("team").ordered()
    assert [(line.body, line.edited, line.deleted, line.message) for line in lines] == [
        ("hello", True, False, True),
        ("joined", False, False, False),
        ("", False, True, True),
    ]
    assert state.last_own("team") == 1 and state.last_message("team") == 1
    assert state.last_others("team") is None  # bob's only message is deleted


def test_reactions_are_counted_once_whether_live_paged_or_replayed() -> None:
    state = state_with(info("team"))
    state.open("team")
    # A page whose message already counts the reaction event in the same page.
    paged = msg("team", 1, reactions=(Reaction(emoji="👍", count=1),))
    added = ReactionAdded(room="team", seq=2, ts=1, user="bob", target=1, emoji="👍")
    state.page(m.HistoryReply(room="team", events=[paged, added], has_more=False), older=False)
    assert state.timeline("team").lines[1].reactions == {"👍": (1, False)}
    # Live: each event folds in; one's own sets "mine".
    state.apply(ReactionAdded(room="team", seq=3, ts=1, user="alice", target=1, emoji="👍"))
    state.apply(msg("team", 4))
    state.apply(ReactionAdded(room="team", seq=5, ts=1, user="bob", target=4, emoji="🎉"))
    state.apply(ReactionRemoved(room="team", seq=6, ts=1, user="bob", target=4, emoji="🎉"))
    lines = state.timeline("team").lines
    assert lines[1].reactions == {"👍": (2, True)} and lines[4].reactions == {}
    # After a reconnect, sync replays a message with its counts and then the reaction
    # events those counts hold: not folded in again; those after the resume are.
    state.resuming()
    state.apply(msg("team", 7, reactions=(Reaction(emoji="👀", count=1),)))
    state.apply(ReactionAdded(room="team", seq=8, ts=1, user="bob", target=7, emoji="👀"))
    state.resumed({"team": 8})
    state.apply(ReactionAdded(room="team", seq=9, ts=1, user="carol", target=7, emoji="👀"))
    assert lines[7].reactions == {"👀": (2, False)}


def test_rooms_come_and_go() -> None:
    state = state_with(info("team"), info("ops"))
    state.open("team")
    assert state.apply(msg("new", 1)) is True  # a room not listed: ask for the list again
    state.apply(MemberLeft(room="team", seq=2, ts=1, user="alice"))
    assert "team" not in state.rooms and state.current is None
    state.apply(Removed(room="ops"))
    assert state.rooms == {}
    state = state_with(info("team"))
    state.open("team")
    state.page(page("team", [msg("team", 1)], False), older=False)
    state.apply(Gap(room="team", last_seq=40))
    assert not state.timeline("team").loaded  # fetched again, newest page first


def test_a_pending_message_stays_shown_until_its_message_comes() -> None:
    state = state_with(info("team"))
    state.open("team")
    state.page(page("team", [], False), older=False)
    typed = Outgoing(client_msg_id="c1", room="team", body="typed offline")
    state.set_outbox([typed])
    assert state.pending_in("team") == [typed] and state.pending_in("ops") == []
    state.set_outbox([])  # its ``sent`` came before its message event
    assert state.pending == [] and state.pending_in("team") == [typed]
    state.apply(msg("team", 1, user="alice", body="typed offline"))  # client_msg_id "c1"
    assert state.pending_in("team") == []
    assert [line.body for line in state.timeline("team").ordered()] == ["typed offline"]
    refused = Outgoing(client_msg_id="c9", room="team", body="x" * 10)
    state.set_outbox([refused])
    state.set_outbox([])
    state.apply(SendFailed(client_msg_id="c9", room="team", error=RequestError("forbidden", "no")))
    assert state.pending_in("team") == [] and "not sent to team: no" in state.notice


def test_the_composer_line() -> None:
    assert parse("  ") is None
    assert parse("hello") == Command("say", "hello")
    assert parse("//shrug") == Command("say", "/shrug")
    assert parse("/join #Team") == Command("join", "Team")
    assert parse("/dm @bob") == Command("dm", "bob")
    assert parse("/create ops private") == Command("create", "ops", private=True)
    assert parse("/edit fixed text") == Command("edit", "fixed text")
    assert parse("/react 👍") == Command("react", "👍")
    assert parse("/leave") == Command("leave")
    assert isinstance(parse("/join"), Refused)
    assert isinstance(parse("/frobnicate now"), Refused)


def test_hostile_text_is_shown_as_text() -> None:
    state = state_with(info("team"))
    state.open("team")
    evil = "\x1b]52;c;cHduZWQ=\x07[bold red]x[/] \x9b31m\rover"
    state.page(page("team", [msg("team", 1, user="bob", body=evil)], False), older=False)
    row = render.line_row(state.timeline("team").lines[1], "alice")
    assert "\x1b" not in row.plain and "\x07" not in row.plain and "\x9b" not in row.plain
    assert "\r" not in row.plain
    assert "[bold red]x[/]" in row.plain  # markup in a body is not markup
    assert render.clean("tab\there\nnext") == "tab here\nnext"


def test_the_token_is_kept_for_its_owner_only(tmp_path: Path) -> None:
    assert config_dir({"XDG_CONFIG_HOME": str(tmp_path)}) == tmp_path / "hubbub"
    assert config_dir({"HOME": "/home/ann"}) == Path("/home/ann/.config/hubbub")
    store = Store(tmp_path / "hubbub")
    assert store.session("http://h:1") is None and store.last_url() == "http://127.0.0.1:8001"
    store.remember(Session("http://h:1", "alice", "secret-token"))
    path = tmp_path / "hubbub" / "sessions.json"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert store.session("http://h:1/") == Session("http://h:1", "alice", "secret-token")
    assert store.last_url() == "http://h:1"
    assert store.forget("http://h:1") is not None
    assert store.session("http://h:1") is None
    assert "secret-token" not in path.read_text()
    outbox = store.outbox_path("http://h:1", "../../evil")
    assert outbox.parent == tmp_path / "hubbub" and outbox.name.endswith("-evil.jsonl")
