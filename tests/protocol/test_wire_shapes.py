"""The JSON of room events and of the replies built from shared shapes is exactly what
``docs/protocol.md`` shows, byte for byte: clients and the documented examples depend on it."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import msgspec
import pytest

from hubbub.core.events import EVENT_CLASSES, Event, MemberJoined, MemberLeft, Message
from hubbub.core.models import RoomInfo, RoomKind
from hubbub.protocol import messages as m

PROTOCOL_MD = Path(__file__).parents[2] / "docs" / "protocol.md"

# The frames the server sends, as the protocol reference shows them.
DOCUMENTED = [
    line.split("← ", 1)[-1]
    for line in PROTOCOL_MD.read_text(encoding="utf-8").splitlines()
    if re.match(r'(\w+\s+← )?\{"type":"', line)
]

# What each documented frame is decoded as, by its type.
SHAPES: dict[str, Any] = dict.fromkeys(EVENT_CLASSES, Event) | {
    "sent": m.Sent,
    "room": m.RoomReply,
    "history": m.HistoryReply,
    "current": m.MessageReply,
    "thread": m.ThreadReply,
    "mention": m.MentionNotice,
    "search": m.SearchReply,
    "invited": m.InvitedNotice,
}

MESSAGE = Message(
    room="team",
    seq=3,
    ts=1795552052371,
    user="alice",
    msg_id="9942b303…",
    client_msg_id="c1ae3d2b-…",
    body="hello bob",
)


def test_the_reference_shows_each_kind_of_event_and_shared_reply() -> None:
    shown = {json.loads(frame)["type"] for frame in DOCUMENTED}
    assert shown >= set(SHAPES)


@pytest.mark.parametrize(
    "frame", [f for f in DOCUMENTED if json.loads(f)["type"] in SHAPES], ids=lambda f: f[:40]
)
def test_documented_frames_encode_exactly_as_shown(frame: str) -> None:
    decoded = msgspec.json.decode(frame, type=SHAPES[json.loads(frame)["type"]])
    assert m.encode(decoded) == frame.encode()


def test_events_encode_with_only_their_own_fields_in_wire_order() -> None:
    assert m.encode(MESSAGE) == (
        b'{"type":"message","room":"team","seq":3,"ts":1795552052371,"user":"alice",'
        b'"msg_id":"9942b303\xe2\x80\xa6","client_msg_id":"c1ae3d2b-\xe2\x80\xa6",'
        b'"body":"hello bob"}'
    )
    guest = Message(room="lobby", seq=4, ts=1, user="guest:zed", msg_id="99", body="hi")
    assert m.encode(guest) == (
        b'{"type":"message","room":"lobby","seq":4,"ts":1,"user":"guest:zed","msg_id":"99",'
        b'"body":"hi"}'
    )
    alone = MemberJoined(room="team", seq=1, ts=5, user="alice")
    assert (
        m.encode(alone) == b'{"type":"member_joined","room":"team","seq":1,"ts":5,"user":"alice"}'
    )
    left = MemberLeft(room="pub", seq=4, ts=7, user="bob")
    assert m.encode(left) == b'{"type":"member_left","room":"pub","seq":4,"ts":7,"user":"bob"}'


def test_sent_is_one_shape_over_http_and_websocket() -> None:
    body = b'"room":"team","seq":3,"msg_id":"9942b303\xe2\x80\xa6","client_msg_id":"c1ae3d2b-\xe2\x80\xa6","ts":1795552052371}'  # noqa: E501
    assert msgspec.json.encode(m.SentOut.of(MESSAGE)) == b"{" + body
    assert m.encode(m.sent_reply(MESSAGE, 5)) == b'{"type":"sent","re":5,' + body
    assert m.encode(m.sent_reply(MESSAGE, None)) == b'{"type":"sent",' + body


def test_a_room_is_one_shape_over_http_and_websocket() -> None:
    info = RoomInfo(name="team", kind=RoomKind.PRIVATE, last_seq=1, read_seq=1, unread=0)
    body = (
        b'"name":"team","kind":"private","last_seq":1,"read_seq":1,"unread":0,'
        b'"unread_mentions":0,"role":"member","title":"","topic":"","retention_days":null}'
    )
    assert msgspec.json.encode(info) == b"{" + body
    assert m.encode(m.room_reply(info, 3)) == b'{"type":"room","re":3,' + body
