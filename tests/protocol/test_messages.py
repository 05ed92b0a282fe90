"""Decoding and validating hubbub.v1 frames: pure functions on plain data."""

from __future__ import annotations

import msgspec
import pytest

from hubbub.protocol import legacy
from hubbub.protocol import messages as m
from hubbub.protocol.limits import MAX_BODY_CHARS, MAX_SYNC_ROOMS
from hubbub.protocol.wsframe import close_frame, text_frame


def test_a_send_is_decoded_and_its_room_normalized() -> None:
    request = m.decode_request(
        b'{"type":"send","id":7,"room":"General","client_msg_id":"c1","body":"hi"}'
    )
    assert request == m.Send(id=7, room="general", client_msg_id="c1", body="hi")


def test_a_dm_room_is_the_same_whatever_the_order_of_its_users() -> None:
    request = m.decode_request(b'{"type":"history","room":"dm:Zed:amy"}')
    assert isinstance(request, m.History)
    assert request.room == "dm:amy:zed"


@pytest.mark.parametrize(
    ("frame", "re", "fragment"),
    [
        (b'{"type":"nope","id":"x"}', "x", "$.type"),
        (b'{"type":"send","id":4,"room":1,"client_msg_id":"c","body":"b"}', 4, "$.room"),
        (b'{"type":"send","id":5,"room":"r","client_msg_id":"c"}', 5, "body"),
        (b'{"type":"history","id":6,"room":"r","limit":201}', 6, "$.limit"),
        (b'{"type":"create","id":8,"name":"bad name"}', 8, "$.name"),
        (b'{"type":"join","id":9,"room":"' + b"a" * 65 + b'"}', 9, "$.room"),
        (b'{"type":"read","id":true,"room":"r","seq":-1}', None, "$.id"),
        (b"[1,2]", None, "object"),
        (b"{not json", None, "JSON"),
    ],
)
def test_bad_frames_are_one_protocol_error_with_the_id_when_readable(
    frame: bytes, re: object, fragment: str
) -> None:
    with pytest.raises(m.ProtocolError) as caught:
        m.decode_request(frame)
    assert caught.value.code == "bad_request"
    assert caught.value.re == re
    assert fragment in caught.value.message


def test_a_body_over_the_bound_is_refused() -> None:
    body = "x" * (MAX_BODY_CHARS + 1)
    frame = msgspec.json.encode({"type": "send", "room": "r", "client_msg_id": "c", "body": body})
    with pytest.raises(m.ProtocolError):
        m.decode_request(frame)


def test_sync_names_a_bounded_number_of_rooms() -> None:
    since = {f"r{i}": 0 for i in range(MAX_SYNC_ROOMS + 1)}
    with pytest.raises(m.ProtocolError):
        m.decode_request(msgspec.json.encode({"type": "sync", "since": since}))


def test_replies_encode_without_empty_fields() -> None:
    assert m.encode(m.Pong()) == b'{"type":"pong"}'
    assert m.encode(m.Error(re="a", code="not_found", message="no")) == (
        b'{"type":"error","re":"a","code":"not_found","message":"no"}'
    )


def test_frames_carry_their_length_in_the_header() -> None:
    assert text_frame(b"hi") == b"\x81\x02hi"
    assert text_frame(b"x" * 200)[:4] == b"\x81\x7e\x00\xc8"
    assert text_frame(b"x" * 70_000)[:2] == b"\x81\x7f"
    assert close_frame(4000, "slow") == b"\x88\x06\x0f\xa0slow"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("start_ann", legacy.StartName("ann")),
        ("start_", legacy.StartName(legacy.ANONYMOUS)),
        ("start_" + "n" * 100, legacy.StartName("n" * 32)),
        ("start_a\x00b", legacy.StartName("ab")),
        ("hello", legacy.Chat("hello")),
        ("Start_x", legacy.Chat("Start_x")),
    ],
)
def test_the_seed_protocol_tells_names_from_chat(text: str, expected: object) -> None:
    assert legacy.classify(text) == expected
