"""Server-side WebSocket frames (RFC 6455), built once and written to many sockets.

Server frames are unmasked, so one encoded frame is valid on every connection: this is what
lets the hub encode an event once and queue the same bytes for every subscriber.
"""

from __future__ import annotations

import codecs
import struct

from hubbub.protocol.codes import CloseCode

OP_TEXT = 0x1
OP_BINARY = 0x2
OP_CLOSE = 0x8
_FIN = 0x80


def _header(opcode: int, length: int) -> bytes:
    if length < 126:
        return bytes((_FIN | opcode, length))
    if length < 1 << 16:
        return struct.pack("!BBH", _FIN | opcode, 126, length)
    return struct.pack("!BBQ", _FIN | opcode, 127, length)


def text_frame(payload: bytes) -> bytes:
    """A complete text frame; ``payload`` must be UTF-8."""
    return _header(OP_TEXT, len(payload)) + payload


def binary_frame(payload: bytes) -> bytes:
    return _header(OP_BINARY, len(payload)) + payload


def close_frame(code: int, reason: str = "") -> bytes:
    """A close frame; the reason is cut to the 123 bytes that fit, on a character boundary."""
    encoded = reason.encode()
    if len(encoded) > 123:
        encoded = encoded[:123].decode("utf-8", "ignore").encode()
    payload = struct.pack("!H", code) + encoded
    return _header(OP_CLOSE, len(payload)) + payload


# --- client frames in ---------------------------------------------------------------------

OP_CONTINUATION = 0x0
OP_PING = 0x9
OP_PONG = 0xA
_CONTROL_OPCODES = (OP_CLOSE, OP_PING, OP_PONG)
NO_CLOSE_CODE = 1005  # what a close frame without a payload means (never sent on the wire)

# Frames one message may come in. Clients fragment to stream a message they do not hold
# whole, in pieces of kilobytes; 1024 frames still carry a 64 KiB message in 64-byte pieces,
# while a flood of empty continuations ends after 1024 frame headers (6 KiB).
MAX_FRAGMENTS = 1024

_Utf8Decoder = codecs.getincrementaldecoder("utf-8")


class FrameError(Exception):
    """The peer broke the protocol; ``code`` is the close code to answer with."""

    def __init__(self, code: int, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason


def unmask(data: bytes, mask: bytes) -> bytes:
    """XOR with the 4-byte key, as one big-integer operation (C speed, no Python loop)."""
    n = len(data)
    if n == 0 or mask == b"\x00\x00\x00\x00":
        return data
    key = (mask * (n // 4 + 1))[:n]
    return (int.from_bytes(data, "little") ^ int.from_bytes(key, "little")).to_bytes(n, "little")


def _peer_may_send(code: int) -> bool:
    """RFC 6455 section 7.4: the registered codes an endpoint may put in a frame, and 3000-4999."""
    return 1000 <= code <= 1003 or 1007 <= code <= 1014 or 3000 <= code <= 4999


def parse_close(payload: bytes) -> tuple[int, str]:
    """The code and reason of a peer's close frame; ``(1005, "")`` when it carries none.

    A 1-byte payload or a code a peer may not send is error 1002; a reason that is not UTF-8
    is error 1007.
    """
    if not payload:
        return NO_CLOSE_CODE, ""
    if len(payload) == 1:
        raise FrameError(CloseCode.PROTOCOL_ERROR, "a close code takes two bytes")
    code = int.from_bytes(payload[:2], "big")
    if not _peer_may_send(code):
        raise FrameError(CloseCode.PROTOCOL_ERROR, f"close code {code} may not be sent")
    try:
        return code, payload[2:].decode("utf-8")
    except UnicodeDecodeError:
        raise FrameError(CloseCode.INVALID_DATA, "close reasons must be UTF-8") from None


class _Fragmented:
    """A text or binary message arriving in fragments: what has come so far."""

    __slots__ = ("chunks", "decoder", "frames", "opcode", "size", "texts")

    def __init__(self, opcode: int, size: int) -> None:
        self.opcode = opcode
        self.frames = 1
        self.size = size  # payloads and frame headers so far
        self.chunks: list[bytes] = []  # binary
        self.texts: list[str] = []  # text, decoded fragment by fragment: bad UTF-8 fails at once
        self.decoder = _Utf8Decoder() if opcode == OP_TEXT else None

    def add(self, payload: bytes, fin: bool) -> None:
        if self.decoder is None:
            if payload:
                self.chunks.append(payload)
            return
        try:
            text = self.decoder.decode(payload, fin)
        except UnicodeDecodeError:
            raise FrameError(CloseCode.INVALID_DATA, "text frames must be UTF-8") from None
        # The decoder waits for a third byte before refusing a UTF-16 surrogate (ED A0-BF).
        pending = self.decoder.getstate()[0]
        if pending[:1] == b"\xed" and pending[1:2] >= b"\xa0":
            raise FrameError(CloseCode.INVALID_DATA, "text frames must be UTF-8")
        if text:
            self.texts.append(text)

    def message(self) -> str | bytes:
        return b"".join(self.chunks) if self.decoder is None else "".join(self.texts)


class FrameParser:
    """Client frames → whole messages. Sans-I/O: ``feed`` bytes, get ``(opcode, payload)``.

    Text messages come out as ``str``, binary ones as ``bytes``, control frames as their
    opcode with raw bytes. ``feed`` never raises: at a protocol violation it returns what was
    decoded before it and sets ``error`` (a ``FrameError`` with the close code); from then
    on, and after a close frame, it parses nothing. A message is refused (1009) as soon as a
    frame header shows it passes ``max_message`` bytes: the payload of an unfragmented one,
    or for a fragmented one its payloads and every frame's header together, or more than
    ``MAX_FRAGMENTS`` frames. Invalid UTF-8 is 1007, at the first fragment that shows it.

    Bytes of an incomplete frame wait in ``_buffer`` and are looked at again only once
    ``_need`` bytes are there, so a frame costs O(its size) however it is split.
    """

    __slots__ = ("_buffer", "_closed", "_max", "_message", "_need", "error")

    def __init__(self, max_message: int) -> None:
        self._max = max_message
        self._buffer: bytearray | None = None  # the start of an incomplete frame
        self._need = 0  # bytes ``_buffer`` must hold before parsing can go on
        self._message: _Fragmented | None = None
        self._closed = False  # a close frame came: the peer sends nothing more
        self.error: FrameError | None = None

    def feed(self, data: bytes) -> list[tuple[int, str | bytes]]:
        out: list[tuple[int, str | bytes]] = []
        if self.error is not None or self._closed:
            return out
        buffer = self._buffer
        if buffer is not None:
            buffer += data
            if len(buffer) < self._need:
                return out
            data, self._buffer = bytes(buffer), None
        try:
            self._parse(data, out)
        except FrameError as exc:
            self.error = exc
            self._buffer = self._message = None
        return out

    def _parse(self, buf: bytes, out: list[tuple[int, str | bytes]]) -> None:
        i, n = 0, len(buf)
        need = 2
        while n - i >= 2:
            b0, b1 = buf[i], buf[i + 1]
            if b0 & 0x70:
                raise FrameError(CloseCode.PROTOCOL_ERROR, "reserved bits set")
            if not b1 & 0x80:
                raise FrameError(CloseCode.PROTOCOL_ERROR, "client frames must be masked")
            fin, opcode, length, head = b0 & 0x80, b0 & 0x0F, b1 & 0x7F, 6
            if length == 126:
                if n - i < 4:
                    need = 4
                    break
                length, head = int.from_bytes(buf[i + 2 : i + 4], "big"), 8
            elif length == 127:
                if n - i < 10:
                    need = 10
                    break
                length, head = int.from_bytes(buf[i + 2 : i + 10], "big"), 14
                if length >> 63:
                    raise FrameError(CloseCode.PROTOCOL_ERROR, "a length's top bit must be 0")
            self._check(opcode, fin, head, length)
            end = i + head + length
            if end > n:
                need = head + length
                break
            payload = unmask(buf[i + head : end], buf[i + head - 4 : i + head])
            i = end
            if opcode >= OP_CLOSE:
                out.append((opcode, payload))
                if opcode == OP_CLOSE:
                    self._closed = True
                    return
            elif fin and self._message is None:
                out.append((opcode, _whole(opcode, payload)))
            else:
                message = self._fragment(opcode, bool(fin), head + length, payload)
                if message is not None:
                    out.append(message)
        if i < n:
            self._buffer, self._need = bytearray(buf[i:]), need

    def _check(self, opcode: int, fin: int, head: int, length: int) -> None:
        """Refuse a frame from its header alone, before its payload is buffered."""
        message = self._message
        if opcode >= OP_CLOSE:
            if opcode not in _CONTROL_OPCODES:
                raise FrameError(CloseCode.PROTOCOL_ERROR, f"unknown opcode {opcode}")
            if not fin or length > 125:
                raise FrameError(CloseCode.PROTOCOL_ERROR, "control frames must be whole and short")
        elif opcode == OP_CONTINUATION:
            if message is None:
                raise FrameError(CloseCode.PROTOCOL_ERROR, "continuation without a message")
            if message.frames >= MAX_FRAGMENTS or message.size + head + length > self._max:
                raise FrameError(CloseCode.TOO_BIG, "message too big")
        elif opcode > OP_BINARY:
            raise FrameError(CloseCode.PROTOCOL_ERROR, f"unknown opcode {opcode}")
        elif message is not None:
            raise FrameError(CloseCode.PROTOCOL_ERROR, "a new message inside a fragmented one")
        elif (length if fin else head + length) > self._max:
            raise FrameError(CloseCode.TOO_BIG, "message too big")

    def _fragment(
        self, opcode: int, fin: bool, size: int, payload: bytes
    ) -> tuple[int, str | bytes] | None:
        message = self._message
        if message is None:  # the first frame of a fragmented message
            message = self._message = _Fragmented(opcode, size)
        else:
            message.frames += 1
            message.size += size
        message.add(payload, fin)
        if not fin:
            return None
        self._message = None
        return message.opcode, message.message()


def _whole(opcode: int, payload: bytes) -> str | bytes:
    """An unfragmented message's payload; text decoded in one call."""
    if opcode == OP_BINARY:
        return payload
    try:
        return payload.decode("utf-8")
    except UnicodeDecodeError:
        raise FrameError(CloseCode.INVALID_DATA, "text frames must be UTF-8") from None
