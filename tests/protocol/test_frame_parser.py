"""Client frames → messages, and the opening handshake: pure functions on bytes."""

from __future__ import annotations

import itertools
import os
import struct
import tracemalloc

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
    MAX_FRAGMENTS,
    OP_BINARY,
    OP_CLOSE,
    OP_CONTINUATION,
    OP_PING,
    OP_PONG,
    OP_TEXT,
    FrameError,
    FrameParser,
    close_frame,
    parse_close,
    unmask,
)

Message = tuple[int, str | bytes]


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


def fragment_frames(opcode: int, pieces: list[bytes]) -> list[bytes]:
    """One message in ``len(pieces)`` frames."""
    return [
        masked(opcode if i == 0 else OP_CONTINUATION, piece, fin=i == len(pieces) - 1)
        for i, piece in enumerate(pieces)
    ]


def fragments(opcode: int, pieces: list[bytes]) -> bytes:
    return b"".join(fragment_frames(opcode, pieces))


def feed_in_chunks(parser: FrameParser, stream: bytes, cuts: list[int]) -> list[Message]:
    out: list[Message] = []
    at = 0
    for cut in [*sorted(cuts), len(stream)]:
        out += parser.feed(stream[at:cut])
        at = max(at, cut)
    return out


def error_code(parser: FrameParser) -> int | None:
    return None if parser.error is None else parser.error.code


# --- whole messages, however the bytes arrive -------------------------------------------------


@given(st.binary(max_size=300), st.binary(min_size=4, max_size=4))
def test_unmasking_twice_gives_the_payload_back(payload: bytes, mask: bytes) -> None:
    assert unmask(unmask(payload, mask), mask) == payload


# A message: text or binary, cut into 1-4 fragments, with maybe a ping before its last one.
messages = st.tuples(
    st.one_of(st.text(max_size=200), st.binary(max_size=200)),
    st.lists(st.integers(0, 400), max_size=3),
    st.booleans(),
)


@given(st.lists(messages, max_size=8), st.lists(st.integers(0, 3000), max_size=40))
def test_messages_come_out_whole_however_the_bytes_are_split(
    sent: list[tuple[str | bytes, list[int], bool]], cuts: list[int]
) -> None:
    stream = b""
    expected: list[tuple[int, str | bytes]] = []
    for content, splits, ping in sent:
        opcode = OP_TEXT if isinstance(content, str) else OP_BINARY
        data = content.encode() if isinstance(content, str) else content
        bounds = [0, *sorted(min(s, len(data)) for s in splits), len(data)]
        pieces = [data[a:b] for a, b in itertools.pairwise(bounds)]
        frames = fragment_frames(opcode, pieces)
        if ping and len(frames) > 1:
            frames.insert(-1, masked(OP_PING, b"p"))
            expected.append((OP_PING, b"p"))
        stream += b"".join(frames)
        expected.append((opcode, content))
    whole = FrameParser(max_message=1 << 20).feed(stream)
    split = feed_in_chunks(FrameParser(max_message=1 << 20), stream, cuts)
    assert whole == split == expected


def test_a_big_frame_fed_a_byte_at_a_time_comes_out_once() -> None:
    text = "ü" * 40_000
    stream = masked(OP_TEXT, text.encode()) + masked(OP_BINARY, b"")
    parser = FrameParser(max_message=1 << 20)
    out = feed_in_chunks(parser, stream, list(range(len(stream))))
    assert out == [(OP_TEXT, text), (OP_BINARY, b"")]


def test_fragments_are_joined_and_control_frames_may_come_between() -> None:
    parser = FrameParser(max_message=100)
    stream = (
        masked(OP_TEXT, b"hel", fin=False)
        + masked(OP_PING, b"p")
        + masked(OP_PONG, b"")
        + masked(0, b"lo", fin=True)
        + masked(OP_BINARY, b"\x00\xff", fin=False)
        + masked(OP_PING, b"q")
        + masked(0, b"\x01", fin=True)
        + masked(OP_CLOSE, struct.pack("!H", 1000))
    )
    assert parser.feed(stream) == [
        (OP_PING, b"p"),
        (OP_PONG, b""),
        (OP_TEXT, "hello"),
        (OP_PING, b"q"),
        (OP_BINARY, b"\x00\xff\x01"),
        (OP_CLOSE, b"\x03\xe8"),
    ]
    assert parser.error is None


@pytest.mark.parametrize(
    "stream",
    [
        masked(OP_TEXT, b""),
        fragments(OP_TEXT, [b"", b"", b""]),
        masked(OP_BINARY, b""),
        fragments(OP_BINARY, [b"", b""]),
    ],
    ids=["text", "text-fragments", "binary", "binary-fragments"],  # the masks are random
)
def test_empty_messages_are_valid(stream: bytes) -> None:
    parser = FrameParser(max_message=100)
    opcode = stream[0] & 0x0F
    assert parser.feed(stream) == [(opcode, "" if opcode == OP_TEXT else b"")]
    assert parser.error is None


# --- size bounds ---------------------------------------------------------------------------


def test_a_frame_of_exactly_the_bound_is_accepted() -> None:
    parser = FrameParser(max_message=1000)
    assert parser.feed(masked(OP_BINARY, b"x" * 1000)) == [(OP_BINARY, b"x" * 1000)]


def test_a_message_over_the_bound_is_refused_before_its_payload_arrives() -> None:
    parser = FrameParser(max_message=1000)
    header_only = masked(OP_TEXT, b"x" * 1001)[:8]
    assert parser.feed(header_only) == []
    assert error_code(parser) == 1009


@pytest.mark.parametrize(
    ("second", "code"),
    [
        # 6-byte headers: 6 + 50 + 6 + 38 = 100, exactly the bound
        (38, None),
        (39, 1009),
    ],
)
def test_a_fragmented_message_counts_its_frame_headers(second: int, code: int | None) -> None:
    parser = FrameParser(max_message=100)
    out = parser.feed(fragments(OP_BINARY, [b"x" * 50, b"y" * second]))
    assert error_code(parser) == code
    assert out == ([(OP_BINARY, b"x" * 50 + b"y" * second)] if code is None else [])


def test_a_message_may_have_max_fragments_frames_and_no_more() -> None:
    pieces = [b"x"] * MAX_FRAGMENTS
    parser = FrameParser(max_message=1 << 20)
    assert parser.feed(fragments(OP_TEXT, pieces)) == [(OP_TEXT, "x" * MAX_FRAGMENTS)]
    parser = FrameParser(max_message=1 << 20)
    assert parser.feed(fragments(OP_TEXT, [*pieces, b"x"])) == []
    assert error_code(parser) == 1009


def test_a_flood_of_empty_continuations_ends_with_1009_in_bounded_memory() -> None:
    """Zero-length continuations add no payload, yet each one costs a frame: they end."""
    parser = FrameParser(max_message=1 << 16)
    parser.feed(masked(OP_TEXT, b"a", fin=False))
    empty = masked(OP_CONTINUATION, b"", fin=False)
    read = empty * 1000
    tracemalloc.start()
    try:
        base = tracemalloc.get_traced_memory()[0]
        frames_sent = 1
        while parser.error is None and frames_sent < 100_000:
            assert parser.feed(read) == []
            frames_sent += 1000
        grown = tracemalloc.get_traced_memory()[1] - base
    finally:
        tracemalloc.stop()
    assert error_code(parser) == 1009
    assert frames_sent <= MAX_FRAGMENTS + 1000
    assert grown < 32 * 1024, f"the parser kept {grown} bytes"


# --- UTF-8 -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("pieces", "bad_at"),
    [
        ([b"h\xc3", b"\xa9llo"], None),  # é split across fragments
        ([b"\xe2", b"\x82", b"\xac"], None),  # € one byte per fragment
        ([b"ok", b"\xff", b"more"], 1),  # a byte never valid in UTF-8
        ([b"ok \xc3", b"(", b"more"], 1),  # a lead byte, then no continuation byte
        ([b"\xed\xa0", b"\x80", b"more"], 0),  # a UTF-16 surrogate can be seen from 2 bytes
        ([b"\xf4\x90", b"\x80\x80"], 0),  # beyond U+10FFFF
        ([b"\xc0\xaf", b"x"], 0),  # an overlong encoding
        ([b"ok", b"\xe2\x82"], 1),  # cut short by the last fragment
    ],
)
def test_invalid_utf8_fails_at_the_first_fragment_that_shows_it(
    pieces: list[bytes], bad_at: int | None
) -> None:
    parser = FrameParser(max_message=1000)
    for i, frame in enumerate(fragment_frames(OP_TEXT, pieces)):
        out = parser.feed(frame)
        if bad_at is not None and i >= bad_at:
            assert error_code(parser) == 1007, f"no error after fragment {i}"
            assert out == []
        else:
            assert parser.error is None, f"error after fragment {i}"
    if bad_at is None:
        assert out == [(OP_TEXT, b"".join(pieces).decode())]


@pytest.mark.parametrize("payload", [b"\xff\xfe", b"ok\xc3", b"\xed\xa0\x80"])
def test_an_unfragmented_text_frame_that_is_not_utf8_is_1007(payload: bytes) -> None:
    parser = FrameParser(max_message=1000)
    assert parser.feed(masked(OP_TEXT, payload)) == []
    assert error_code(parser) == 1007


# --- protocol violations -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("frame", "code"),
    [
        (masked(OP_TEXT, b"ok")[:1] + bytes([len(b"ok")]) + b"ok", 1002),  # not masked
        (bytes([0x80 | 0x40 | OP_TEXT]) + masked(OP_TEXT, b"x")[1:], 1002),  # RSV1
        (bytes([0x82, 0xFF, 0x80]) + bytes(11), 1002),  # a 64-bit length with its top bit set
        (masked(0x3, b"x"), 1002),  # reserved data opcode
        (masked(0xB, b"x"), 1002),  # reserved control opcode
        (masked(0, b"x"), 1002),  # continuation with no message
        (masked(OP_PING, b"x" * 126), 1002),  # control frame too long
        (masked(OP_PING, b"x", fin=False), 1002),  # fragmented control frame
        (masked(OP_TEXT, b"a", fin=False) + masked(OP_TEXT, b"b"), 1002),  # interleaved
    ],
    ids=[  # the masks are random: named, so every test process collects the same tests
        "unmasked",
        "rsv1",
        "length-top-bit",
        "reserved-data-opcode",
        "reserved-control-opcode",
        "orphan-continuation",
        "long-control",
        "fragmented-control",
        "interleaved",
    ],
)
def test_protocol_violations_carry_their_close_code(frame: bytes, code: int) -> None:
    parser = FrameParser(max_message=1000)
    assert parser.feed(frame) == []
    assert error_code(parser) == code


def test_frames_before_a_bad_one_are_delivered_and_nothing_after_it_is_parsed() -> None:
    parser = FrameParser(max_message=1000)
    good = masked(OP_TEXT, b"first") + masked(OP_PING, b"p")
    bad = masked(OP_TEXT, b"\xff")
    assert parser.feed(good + bad + masked(OP_TEXT, b"after")) == [
        (OP_TEXT, "first"),
        (OP_PING, b"p"),
    ]
    error = parser.error
    assert error is not None and error.code == 1007
    assert parser.feed(masked(OP_TEXT, b"later")) == []
    assert parser.error is error


def test_an_error_in_a_later_read_keeps_what_came_before_it() -> None:
    parser = FrameParser(max_message=1000)
    frame = masked(OP_TEXT, b"hello")
    assert parser.feed(frame[:3]) == []
    assert parser.feed(frame[3:] + b"\x81\x05") == [(OP_TEXT, "hello")]  # unmasked header
    assert error_code(parser) == 1002


def test_nothing_is_parsed_after_a_close_frame() -> None:
    parser = FrameParser(max_message=1000)
    close = masked(OP_CLOSE, struct.pack("!H", 1000))
    assert parser.feed(close + masked(OP_TEXT, b"x") + b"\x00garbage") == [(OP_CLOSE, b"\x03\xe8")]
    assert parser.feed(masked(OP_TEXT, b"y")) == []
    assert parser.error is None


# --- close frames ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "allowed"),
    [
        (0, False),
        (999, False),
        (1000, True),
        (1001, True),
        (1003, True),
        (1004, False),
        (1005, False),
        (1006, False),
        (1007, True),
        (1011, True),
        (1014, True),
        (1015, False),
        (1016, False),
        (2999, False),
        (3000, True),
        (4000, True),
        (4999, True),
        (5000, False),
        (65535, False),
    ],
)
def test_a_peer_may_send_only_the_allowed_close_codes(code: int, allowed: bool) -> None:
    payload = struct.pack("!H", code) + "bye ✓".encode()
    if allowed:
        assert parse_close(payload) == (code, "bye ✓")
    else:
        with pytest.raises(FrameError) as caught:
            parse_close(payload)
        assert caught.value.code == 1002


@pytest.mark.parametrize(
    ("payload", "result"),
    [
        (b"", (1005, "")),
        (b"\x03\xe8", (1000, "")),
        (b"\x03", 1002),
        (b"\x03\xe8\xff", 1007),
        (b"\x03\xe8ok\xc3", 1007),
    ],
)
def test_a_close_payload_is_empty_or_a_code_and_a_utf8_reason(
    payload: bytes, result: tuple[int, str] | int
) -> None:
    if isinstance(result, tuple):
        assert parse_close(payload) == result
        return
    with pytest.raises(FrameError) as caught:
        parse_close(payload)
    assert caught.value.code == result


@pytest.mark.parametrize(
    ("reason", "kept"),
    [
        ("a" * 123, "a" * 123),
        ("a" * 200, "a" * 123),
        ("é" * 100, "é" * 61),  # 2-byte characters: 122 bytes, not half of the 62nd
        ("ab" + "😀" * 40, "ab" + "😀" * 30),  # 4-byte characters: 122 bytes
    ],
)
def test_our_close_reason_is_cut_on_a_character_boundary(reason: str, kept: str) -> None:
    frame = close_frame(4000, reason)
    assert frame[0] == 0x80 | OP_CLOSE
    assert frame[1] == len(frame) - 2 <= 125
    assert parse_close(frame[2:]) == (4000, kept)


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
