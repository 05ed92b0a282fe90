"""The pure parts of hubbub.client: the reconnect policy and backoff, the per-room seq
tracking that delivers each event once, the outbox's order, its file, frame decoding, and
the bounded event queue."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from hubbub.client import Client
from hubbub.client.backoff import (
    AfterClose,
    after_close,
    backoff_delay,
    handshake_action,
)
from hubbub.client.errors import OutboxFull, RequestError
from hubbub.client.frames import BadFrame, decode
from hubbub.client.outbox import Outbox, Outgoing, dump_lines, load_lines
from hubbub.client.queue import Ended, EventQueue
from hubbub.client.requests import checked_request
from hubbub.client.store import OutboxFile
from hubbub.client.tracker import SeqTracker
from hubbub.core.consent import Invitation
from hubbub.core.events import Message, MessageEdited
from hubbub.core.models import RoomInfo
from hubbub.protocol import messages as m


@pytest.mark.parametrize(
    ("code", "unauthenticated", "action"),
    [
        (None, False, AfterClose.RETRY),  # lost without a close frame
        (1000, False, AfterClose.RETRY),
        (1001, False, AfterClose.RETRY),
        (1006, False, AfterClose.RETRY),
        (1011, False, AfterClose.RETRY),
        (1013, False, AfterClose.RETRY),
        (4000, False, AfterClose.RETRY),
        (4029, False, AfterClose.RETRY),
        (1002, False, AfterClose.STOP),
        (1007, False, AfterClose.STOP),
        (1009, False, AfterClose.STOP),
        (4503, False, AfterClose.STOP),
        (4999, False, AfterClose.STOP),
        (4401, False, AfterClose.SIGN_IN),
        (1011, True, AfterClose.SIGN_IN),
    ],
)
def test_close_codes(code: int | None, unauthenticated: bool, action: AfterClose) -> None:
    assert after_close(code, unauthenticated) is action


def test_handshake_refusals() -> None:
    assert handshake_action(401) is AfterClose.SIGN_IN
    assert [handshake_action(s) for s in (429, 502, 503)] == [AfterClose.RETRY] * 3
    assert [handshake_action(s) for s in (400, 403, 404, 426)] == [AfterClose.STOP] * 4


def test_backoff_doubles_with_jitter_up_to_its_ceiling() -> None:
    lows = [backoff_delay(n, 0.0, first=1.0, ceiling=30.0) for n in range(1, 8)]
    highs = [backoff_delay(n, 0.999999, first=1.0, ceiling=30.0) for n in range(1, 8)]
    assert lows == [0.5, 1.0, 2.0, 4.0, 8.0, 15.0, 15.0]
    assert [round(h, 3) for h in highs] == [1.0, 2.0, 4.0, 8.0, 16.0, 30.0, 30.0]
    assert backoff_delay(10_000, 0.5, first=1.0, ceiling=30.0) == 22.5  # no overflow
    assert backoff_delay(0, 0.0, first=1.0) == 0.5


def test_tracker_delivers_each_seq_once_and_resumes_from_the_last() -> None:
    tracker = SeqTracker({"team": 3})
    tracker.begin()
    assert [tracker.accept("team", seq) for seq in (2, 3, 4, 5, 5, 4)] == [
        False,
        False,
        True,
        True,
        False,
        False,
    ]
    assert tracker.repeats == 4  # each event dropped is counted (Client.repeats)
    assert tracker.accept("new", 7)  # a room joined: from its first event seen
    assert tracker.since() == {"team": 5, "new": 7}
    assert not tracker.synced("team", 5, complete=True)
    tracker.forget("new")
    assert tracker.since() == {"team": 5}


def test_tracker_gaps() -> None:
    tracker = SeqTracker({"team": 10, "old": 4})
    tracker.begin()
    # Incomplete: the gap is skipped; the mark is the room's last_seq, even below the old
    # mark (a restored server), so later events are not taken for repeats.
    assert tracker.synced("team", 2000, complete=False)
    assert tracker.since()["team"] == 2000
    assert tracker.synced("old", 2, complete=False)
    assert tracker.accept("old", 3)
    # A room left out of since went live from its newest seq: a gap if it had moved on.
    assert tracker.synced("fresh", 9, complete=True, named=False) is False  # never followed
    assert tracker.synced("team", 2005, complete=True, named=False)
    # What this connection delivered before an incomplete synced stays delivered.
    tracker.begin()
    assert tracker.accept("team", 2006)
    assert tracker.synced("team", 2001, complete=False)
    assert not tracker.accept("team", 2006)
    assert tracker.keep_only(["team"]) == ["old", "fresh"]


def _entry(key: str, room: str) -> Outgoing:
    return Outgoing(client_msg_id=key, room=room, body=f"body {key}")


def test_outbox_sends_one_message_per_room_at_a_time_in_order() -> None:
    outbox = Outbox(limit=4)
    for key, room in (("a1", "a"), ("b1", "b"), ("a2", "a"), ("a3", "a")):
        outbox.add(_entry(key, room))
    with pytest.raises(OutboxFull):
        outbox.add(_entry("b2", "b"))
    with pytest.raises(ValueError, match="already"):
        Outbox(4, [_entry("x", "a"), _entry("x", "a")])
    assert [e.client_msg_id for e in outbox.ready()] == ["a1", "b1"]
    outbox.sending("a1")
    outbox.sending("b1")
    assert outbox.ready() == []
    assert outbox.done("a1") == _entry("a1", "a")
    assert [e.client_msg_id for e in outbox.ready()] == ["a2"]
    outbox.sending("a2")
    outbox.reset()  # the connection was lost: everything unanswered goes again, in order
    assert [e.client_msg_id for e in outbox.ready()] == ["b1", "a2"]
    outbox.sending("a2")
    assert [e.client_msg_id for e in outbox.ready()] == ["b1"]
    outbox.release("a2")  # rate_limited, then its wait is over
    assert [e.client_msg_id for e in outbox.ready()] == ["b1", "a2"]
    assert outbox.done("nothing") is None
    assert [e.client_msg_id for e in outbox] == ["b1", "a2", "a3"]


def test_outbox_lines_and_file(tmp_path: Path) -> None:
    entries = [
        Outgoing(client_msg_id="k1", room="team", body="line\nbreak ✓", reply_to=3),
        Outgoing(client_msg_id="k2", room="dm:a:b", body="", files=("f1", "f2")),
    ]
    assert load_lines(dump_lines(entries)) == entries
    assert b"reply_to" not in dump_lines(entries[1:])  # defaults left out
    with pytest.raises(ValueError, match="line 2"):
        load_lines(dump_lines(entries[:1]) + b'{"room": "team"}\n')
    store = OutboxFile(tmp_path / "outbox.jsonl")
    assert store.load() == []
    store.save(entries)
    assert store.load() == entries
    store.save(entries[1:])
    assert OutboxFile(tmp_path / "outbox.jsonl").load() == entries[1:]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["outbox.jsonl"]  # no temporary left
    assert (tmp_path / "outbox.jsonl").stat().st_mode & 0o077 == 0  # the owner's alone


def test_frames_decode_as_the_servers_types() -> None:
    event = decode(
        '{"type":"message_edited","room":"team","seq":7,"ts":1,"user":"alice","target":6,'
        '"body":"back"}'
    )
    assert (event.type, event.re) == ("message_edited", None)
    assert event.body == MessageEdited(
        room="team", seq=7, ts=1, user="alice", target=6, body="back"
    )
    message = decode(
        '{"type":"message","room":"team","seq":3,"ts":1,"user":"bob","msg_id":"9",'
        '"client_msg_id":"c","body":"hi","quote":{"user":"a","body":"q"},"reactions":'
        '[{"emoji":"👍","count":2,"me":true}],"new_field":1}'
    ).body
    assert isinstance(message, Message) and message.quote is not None
    assert message.reactions[0].count == 2
    sent = decode(
        '{"type":"sent","re":4,"room":"t","seq":3,"msg_id":"9","client_msg_id":"c","ts":1}'
    )
    assert (sent.re, sent.body) == (
        4,
        m.SentOut(room="t", seq=3, msg_id="9", client_msg_id="c", ts=1),
    )
    room = decode(
        '{"type":"room","re":"x","name":"t","kind":"public","last_seq":1,"read_seq":1,"unread":0}'
    )
    assert isinstance(room.body, RoomInfo) and room.re == "x"
    invited = decode('{"type":"invited","room":"t","by":"a","ts":1,"private":true,"topic":""}').body
    assert isinstance(invited, Invitation)
    error = decode(
        '{"type":"error","re":2,"code":"rate_limited","message":"slow","retry_after":0.5}'
    )
    assert error.body == m.Error(re=2, code="rate_limited", message="slow", retry_after=0.5)
    assert decode('{"type":"from_the_future","re":[1]}') == decode('{"type":"from_the_future"}')
    for bad in ("nope", '{"no":"type"}', '{"type":"message","room":"t"}'):
        with pytest.raises(BadFrame):
            decode(bad)


async def test_event_queue_is_bounded() -> None:
    queue: EventQueue[int] = EventQueue(2)
    await queue.put(1)
    assert queue.offer(2)
    assert not queue.offer(3)  # a hint is dropped when full
    blocked = asyncio.create_task(queue.put(4))  # an event waits for room
    await asyncio.sleep(0)
    assert not blocked.done() and len(queue) == 2
    assert await queue.get() == 1
    await blocked
    assert [await queue.get(), await queue.get()] == [2, 4]
    waiting = asyncio.create_task(queue.get())
    await asyncio.sleep(0)
    queue.end()
    with pytest.raises(Ended):
        await waiting
    await queue.put(5)  # after the end: dropped
    assert len(queue) == 0


def test_requests_are_checked_as_the_server_checks_them() -> None:
    send = checked_request("send", room="DM:Bob:Alice", client_msg_id="k", body="hi")
    assert isinstance(send, m.Send) and send.room == "dm:alice:bob"
    with pytest.raises(RequestError) as blank:
        checked_request("send", room="team", client_msg_id="k", body=" \n ")
    assert blank.value.code == "bad_request"
    with pytest.raises(RequestError, match="limit"):
        checked_request("history", room="team", limit=201)
    with pytest.raises(RequestError):
        checked_request("no_such_request")


def test_client_arguments() -> None:
    with pytest.raises(ValueError, match="token"):
        Client("http://127.0.0.1:1")
    with pytest.raises(ValueError, match="http"):
        Client("ws://127.0.0.1:1", token="t")
    with pytest.raises(ValueError, match="itself"):
        asyncio.run(Client("http://127.0.0.1:1", token="t").request("send"))
