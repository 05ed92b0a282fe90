"""Server-side WebSocket frames (RFC 6455), built once and written to many sockets.

Server frames are unmasked, so one encoded frame is valid on every connection: this is what
lets the hub encode an event once and queue the same bytes for every subscriber.
"""

from __future__ import annotations

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
    payload = struct.pack("!H", code) + reason.encode()[:123]
    return _header(OP_CLOSE, len(payload)) + payload


# --- client frames in ---------------------------------------------------------------------

OP_CONTINUATION = 0x0
OP_PING = 0x9
OP_PONG = 0xA
_DATA_OPCODES = (OP_CONTINUATION, OP_TEXT, OP_BINARY)
_CONTROL_OPCODES = (OP_CLOSE, OP_PING, OP_PONG)


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


class FrameParser:
    """Client frames → whole messages. Sans-I/O: ``feed`` bytes, get ``(opcode, payload)``.

    Text payloads come out as ``str`` (invalid UTF-8 is error 1007), binary ones as ``bytes``,
    control frames as their opcode with raw bytes. A message whose declared size passes
    ``max_message`` is refused (1009) before its payload is buffered.
    """

    __slots__ = ("_buffer", "_fragments", "_fragments_size", "_max", "_message_opcode")

    def __init__(self, max_message: int) -> None:
        self._max = max_message
        self._buffer = b""
        self._fragments: list[bytes] = []
        self._fragments_size = 0
        self._message_opcode = 0

    def feed(self, data: bytes) -> list[tuple[int, str | bytes]]:
        buf = self._buffer + data if self._buffer else data
        out: list[tuple[int, str | bytes]] = []
        i, n = 0, len(buf)
        while n - i >= 2:
            b0, b1 = buf[i], buf[i + 1]
            if b0 & 0x70:
                raise FrameError(CloseCode.PROTOCOL_ERROR, "reserved bits set")
            if not b1 & 0x80:
                raise FrameError(CloseCode.PROTOCOL_ERROR, "client frames must be masked")
            fin, opcode, length, head = b0 & 0x80, b0 & 0x0F, b1 & 0x7F, 6
            if length == 126:
                if n - i < 4:
                    break
                length, head = int.from_bytes(buf[i + 2 : i + 4], "big"), 8
            elif length == 127:
                if n - i < 10:
                    break
                length, head = int.from_bytes(buf[i + 2 : i + 10], "big"), 14
            self._check(opcode, fin, length)
            end = i + head + length
            if end > n:
                break
            payload = unmask(buf[i + head : end], buf[i + head - 4 : i + head])
            i = end
            message = self._frame(opcode, bool(fin), payload)
            if message is not None:
                out.append(message)
        self._buffer = buf[i:] if i < n else b""
        return out

    def _check(self, opcode: int, fin: int, length: int) -> None:
        if opcode in _CONTROL_OPCODES:
            if not fin or length > 125:
                raise FrameError(CloseCode.PROTOCOL_ERROR, "control frames must be whole and short")
        elif opcode not in _DATA_OPCODES:
            raise FrameError(CloseCode.PROTOCOL_ERROR, f"unknown opcode {opcode}")
        elif opcode == OP_CONTINUATION and not self._message_opcode:
            raise FrameError(CloseCode.PROTOCOL_ERROR, "continuation without a message")
        elif opcode != OP_CONTINUATION and self._message_opcode:
            raise FrameError(CloseCode.PROTOCOL_ERROR, "a new message inside a fragmented one")
        elif self._fragments_size + length > self._max:
            raise FrameError(CloseCode.TOO_BIG, "message too big")

    def _frame(self, opcode: int, fin: bool, payload: bytes) -> tuple[int, str | bytes] | None:
        if opcode in _CONTROL_OPCODES:
            return opcode, payload
        if opcode != OP_CONTINUATION:
            self._message_opcode = opcode
        if not fin:
            self._fragments.append(payload)
            self._fragments_size += len(payload)
            return None
        if self._fragments:
            self._fragments.append(payload)
            payload = b"".join(self._fragments)
            self._fragments, self._fragments_size = [], 0
        opcode, self._message_opcode = self._message_opcode, 0
        if opcode == OP_TEXT:
            try:
                return opcode, payload.decode("utf-8")
            except UnicodeDecodeError:
                raise FrameError(CloseCode.INVALID_DATA, "text frames must be UTF-8") from None
        return opcode, payload


def close_code_of(payload: bytes) -> int:
    """The code a peer's close frame carries (1005 when it carries none)."""
    return int.from_bytes(payload[:2], "big") if len(payload) >= 2 else 1005
