"""Server-side WebSocket frames (RFC 6455), built once and written to many sockets.

Server frames are unmasked, so one encoded frame is valid on every connection: this is what
lets the hub encode an event once and queue the same bytes for every subscriber.
"""

from __future__ import annotations

import struct

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
