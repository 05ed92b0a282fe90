"""A tiny WebSocket client on a raw socket, for frames no well-behaved library will send.

It does the RFC 6455 handshake itself and writes frames byte by byte, so a test can send a
text frame that is not UTF-8, a fragmented message, or a frame of an exact size, and then
read exactly what the server answers (its frames and its close code).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import json
import os
import socket
import struct
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

OP_CONTINUATION = 0x0
OP_TEXT = 0x1
OP_BINARY = 0x2
OP_CLOSE = 0x8
OP_PING = 0x9
OP_PONG = 0xA


class HandshakeRefused(Exception):
    def __init__(self, status: int, headers: dict[str, str], body: bytes) -> None:
        super().__init__(f"handshake refused with {status}")
        self.status = status
        self.headers = headers
        self.body = body


@dataclass
class Frame:
    fin: bool
    opcode: int
    payload: bytes

    @property
    def close_code(self) -> int | None:
        if self.opcode != OP_CLOSE or len(self.payload) < 2:
            return None
        return int(struct.unpack("!H", self.payload[:2])[0])

    def json(self) -> Any:
        assert self.opcode == OP_TEXT, self
        return json.loads(self.payload)


def client_frame(
    opcode: int, payload: bytes = b"", *, fin: bool = True, masked: bool = True, rsv: int = 0
) -> bytes:
    """The bytes of one client frame: masked as RFC 6455 requires unless ``masked=False``,
    with the reserved bits ``rsv`` (0-7) set as asked."""
    first = (0x80 if fin else 0) | (rsv << 4) | opcode
    length = len(payload)
    mask_bit = 0x80 if masked else 0
    if length < 126:
        header = struct.pack("!BB", first, mask_bit | length)
    elif length < 1 << 16:
        header = struct.pack("!BBH", first, mask_bit | 126, length)
    else:
        header = struct.pack("!BBQ", first, mask_bit | 127, length)
    if not masked:
        return header + payload
    mask = os.urandom(4)
    key = (mask * (length // 4 + 1))[:length]
    masked_payload = (int.from_bytes(payload, "big") ^ int.from_bytes(key, "big")).to_bytes(
        length, "big"
    )
    return header + mask + masked_payload


@dataclass
class RawWebSocket:
    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter
    status: int
    headers: dict[str, str] = field(default_factory=dict)

    @classmethod
    async def connect(
        cls,
        url: str,
        *,
        token: str | None = None,
        protocol: str | None = "hubbub.v1",
        headers: dict[str, str] | None = None,
        receive_buffer: int | None = None,
    ) -> RawWebSocket:
        """Open a TCP connection to ``url`` (http:// or ws://) and do the handshake.

        ``receive_buffer`` sets the socket's SO_RCVBUF (before connecting, so that the TCP
        window stays that small). Raises ``HandshakeRefused`` if the server does not answer 101.
        """
        parts = urlsplit(url)
        host = parts.hostname or "127.0.0.1"
        port = parts.port or 80
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        if receive_buffer is not None:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, receive_buffer)
        sock.setblocking(False)
        try:
            await asyncio.get_running_loop().sock_connect(sock, (host, port))
        except BaseException:
            sock.close()
            raise
        reader, writer = await asyncio.open_connection(sock=sock)
        key = base64.b64encode(os.urandom(16)).decode()
        lines = [
            f"GET {parts.path or '/'} HTTP/1.1",
            f"Host: {host}:{port}",
            "Upgrade: websocket",
            "Connection: Upgrade",
            f"Sec-WebSocket-Key: {key}",
            "Sec-WebSocket-Version: 13",
        ]
        if protocol is not None:
            lines.append(f"Sec-WebSocket-Protocol: {protocol}")
        if token is not None:
            lines.append(f"Authorization: Bearer {token}")
        lines += [f"{name}: {value}" for name, value in (headers or {}).items()]
        writer.write(("\r\n".join(lines) + "\r\n\r\n").encode())
        await writer.drain()
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)
        status_line, *header_lines = head.decode("latin-1").split("\r\n")
        status = int(status_line.split()[1])
        response_headers: dict[str, str] = {}
        for line in header_lines:
            if ":" in line:
                name, _, value = line.partition(":")
                response_headers[name.strip().lower()] = value.strip()
        if status != 101:
            length = int(response_headers.get("content-length", "0"))
            body = await asyncio.wait_for(reader.readexactly(length), 10) if length else b""
            writer.close()
            raise HandshakeRefused(status, response_headers, body)
        expected = base64.b64encode(hashlib.sha1((key + GUID).encode()).digest()).decode()
        assert response_headers.get("sec-websocket-accept") == expected, response_headers
        if protocol is not None:
            assert response_headers.get("sec-websocket-protocol") == protocol, response_headers
        return cls(reader, writer, status, response_headers)

    # --- writing ---------------------------------------------------------------------------

    async def send_frame(self, opcode: int, payload: bytes, fin: bool = True) -> None:
        """One client frame, masked as RFC 6455 requires."""
        await self.send_raw(client_frame(opcode, payload, fin=fin))

    async def send_raw(self, data: bytes) -> None:
        """Bytes as they are, in one write (several frames, half a frame, anything)."""
        self.writer.write(data)
        await self.writer.drain()

    def stop_reading(self) -> None:
        """Take nothing more from the socket: what the server sends piles up in its buffers."""
        self.writer.transport.pause_reading()  # type: ignore[attr-defined]

    async def send_text(self, payload: bytes | str) -> None:
        """A text frame of exactly these bytes (which need not be UTF-8)."""
        await self.send_frame(OP_TEXT, payload.encode() if isinstance(payload, str) else payload)

    async def send_json(self, frame: dict[str, Any]) -> None:
        await self.send_text(json.dumps(frame))

    async def send_close(self, code: int = 1000) -> None:
        await self.send_frame(OP_CLOSE, struct.pack("!H", code))

    # --- reading ---------------------------------------------------------------------------

    async def read_frame(self, timeout: float = 10.0) -> Frame:
        """The next frame from the server; ``EOFError`` if the connection ended instead."""

        async def read() -> Frame:
            try:
                first, second = await self.reader.readexactly(2)
                length = second & 0x7F
                if length == 126:
                    (length,) = struct.unpack("!H", await self.reader.readexactly(2))
                elif length == 127:
                    (length,) = struct.unpack("!Q", await self.reader.readexactly(8))
                mask = await self.reader.readexactly(4) if second & 0x80 else None
                payload = await self.reader.readexactly(length)
            except asyncio.IncompleteReadError:
                raise EOFError("the server closed the TCP connection") from None
            if mask is not None:
                payload = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
            return Frame(bool(first & 0x80), first & 0x0F, payload)

        return await asyncio.wait_for(read(), timeout)

    async def read_json(self, timeout: float = 10.0) -> dict[str, Any]:
        """The next text frame, decoded (control frames other than close are skipped)."""
        while True:
            frame = await self.read_frame(timeout)
            if frame.opcode in (OP_PING, OP_PONG):
                continue
            value = frame.json()
            assert isinstance(value, dict), value
            return value

    async def read_until_close(self, timeout: float = 10.0) -> tuple[list[Frame], Frame]:
        """Every frame up to the server's close frame, and the close frame itself."""
        frames: list[Frame] = []
        while True:
            frame = await self.read_frame(timeout)
            if frame.opcode == OP_CLOSE:
                return frames, frame
            frames.append(frame)

    async def read_to_eof(self, timeout: float = 10.0) -> list[Frame]:
        """Every frame until the server ends the TCP connection."""
        frames: list[Frame] = []
        while True:
            try:
                frames.append(await self.read_frame(timeout))
            except (EOFError, ConnectionResetError):
                return frames

    async def close(self) -> None:
        if not self.writer.is_closing():
            self.writer.close()
        with contextlib.suppress(ConnectionError, OSError):
            await self.writer.wait_closed()
