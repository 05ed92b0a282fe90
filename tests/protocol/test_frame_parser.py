"""Client frames → messages, and the opening handshake: pure functions on bytes."""

from __future__ import annotations

import os
import struct

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hubbub.protocol.handshake import (
    HandshakeError,
    accept_key,
    head_end,
    parse_head,
    refusal,
    switching_protocols,
)
from hubbub.protocol.wsframe import (
    OP_BINARY,
    OP_CLOSE,
    OP_PING,
    OP_TEXT,
    FrameError,
    FrameParser,
    unmask,
)


def masked(opcode: int, payload: bytes, fin: bool = True, mask: bytes | None = None) -> bytes:
    mask = os.urandom(4) if mask is None else mask
    n = len(payload)
    first = (0x80 if fin else 0) | opcode
    if n < 126:
        head = struct.pack("!BB", first, 0x80 | n)
    elif n < 65536:
        head = struct.pack("!BBH", first, 0x80 | 126, n)
    else:
        head = struct.pack("!BBQ", first, 0x80 | 127, n)
    return head + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload))


@given(st.binary(max_size=300), st.binary(min_size=4, max_size=4))
def test_unmasking_twice_gives_the_payload_back(payload: bytes, mask: bytes) -> None:
    assert unmask(unmask(payload, mask), mask) == payload


@given(st.lists(st.text(max_size=200), max_size=8), st.integers(1, 50))
def test_messages_come_out_whole_however_the_bytes_are_split(texts: list[str], chunk: int) -> None:
    stream = b"".join(masked(OP_TEXT, t.encode()) for t in texts)
    parser = FrameParser(max_message=1 << 20)
    out = []
    for i in range(0, len(stream), chunk):
        out += parser.feed(stream[i : i + chunk])
    assert out == [(OP_TEXT, t) for t in texts]


def test_fragments_are_joined_and_control_frames_may_come_between() -> None:
    parser = FrameParser(max_message=100)
    stream = (
        masked(OP_TEXT, b"hel", fin=False)
        + masked(OP_PING, b"p")
        + masked(0, b"lo", fin=True)
        + masked(OP_BINARY, b"\x00\xff")
        + masked(OP_CLOSE, struct.pack("!H", 1000))
    )
    assert parser.feed(stream) == [
        (OP_PING, b"p"),
        (OP_TEXT, "hello"),
        (OP_BINARY, b"\x00\xff"),
        (OP_CLOSE, b"\x03\xe8"),
    ]


def test_a_message_over_the_bound_is_refused_before_its_payload_arrives() -> None:
    parser = FrameParser(max_message=1000)
    header_only = masked(OP_TEXT, b"x" * 1001)[:8]
    with pytest.raises(FrameError) as caught:
        parser.feed(header_only)
    assert caught.value.code == 1009


def test_a_fragmented_message_over_the_bound_is_refused() -> None:
    parser = FrameParser(max_message=10)
    parser.feed(masked(OP_TEXT, b"x" * 8, fin=False))
    with pytest.raises(FrameError) as caught:
        parser.feed(masked(0, b"x" * 8))
    assert caught.value.code == 1009


@pytest.mark.parametrize(
    ("frame", "code"),
    [
        (masked(OP_TEXT, b"\xff\xfe"), 1007),
        (masked(OP_TEXT, b"ok")[:1] + bytes([len(b"ok")]) + b"ok", 1002),  # not masked
        (bytes([0x80 | 0x40 | OP_TEXT]) + masked(OP_TEXT, b"x")[1:], 1002),  # RSV1
        (masked(0x3, b"x"), 1002),  # reserved opcode
        (masked(0, b"x"), 1002),  # continuation with no message
        (masked(OP_PING, b"x" * 126), 1002),  # control frame too long
        (masked(OP_PING, b"x", fin=False), 1002),  # fragmented control frame
        (masked(OP_TEXT, b"a", fin=False) + masked(OP_TEXT, b"b"), 1002),  # interleaved
    ],
)
def test_protocol_violations_carry_their_close_code(frame: bytes, code: int) -> None:
    with pytest.raises(FrameError) as caught:
        FrameParser(max_message=1000).feed(frame)
    assert caught.value.code == code


HANDSHAKE = (
    b"GET / HTTP/1.1\r\nHost: example.com\r\nUpgrade: websocket\r\nConnection: keep-alive, Upgrade"
    b"\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
    b"Sec-WebSocket-Protocol: chat, hubbub.v1\r\n\r\n"
)


def test_the_rfc_example_handshake_is_accepted() -> None:
    assert head_end(HANDSHAKE[:-1]) == -1
    head = parse_head(HANDSHAKE[: head_end(HANDSHAKE) - 4])
    assert accept_key(head) == "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="  # RFC 6455, section 1.3
    assert head.tokens("sec-websocket-protocol") == ["chat", "hubbub.v1"]
    response = switching_protocols("abc", "hubbub.v1")
    assert response.startswith(b"HTTP/1.1 101 ")
    assert b"Sec-WebSocket-Protocol: hubbub.v1\r\n" in response


@pytest.mark.parametrize(
    ("change", "status"),
    [
        ((b"GET /", b"POST /"), 405),
        ((b"Version: 13", b"Version: 8"), 426),
        ((b"dGhlIHNhbXBsZSBub25jZQ==", b"short"), 400),
        ((b"keep-alive, Upgrade", b"keep-alive"), 400),
        ((b"HTTP/1.1", b"HTTP/2.0"), 400),
    ],
)
def test_bad_handshakes_are_refused_with_a_status(change: tuple[bytes, bytes], status: int) -> None:
    data = HANDSHAKE.replace(*change)
    with pytest.raises(HandshakeError) as caught:
        accept_key(parse_head(data[: head_end(data) - 4]))
    assert caught.value.status == status
    assert refusal(status, "no").startswith(b"HTTP/1.1 %d " % status)
