"""The opening handshake of RFC 6455, sans-I/O: a request head in, a verdict and bytes out."""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass

from hubbub.errors import status_of

MAX_HEAD = 16 * 1024
_GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
# Control characters (tab aside) have no place in a request head: a NUL, a bare CR or LF
# would let a header mean one thing here and another to whatever reads it next.
_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")


@dataclass(frozen=True, slots=True)
class RequestHead:
    method: str
    target: str
    headers: dict[str, str]  # lower-case names; repeated headers joined with ", "

    def header(self, name: str) -> str:
        return self.headers.get(name, "")

    def tokens(self, name: str) -> list[str]:
        return [t.strip().lower() for t in self.header(name).split(",") if t.strip()]


class HandshakeError(Exception):
    """Not an acceptable WebSocket handshake; answer with ``status``."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


def head_end(data: bytes) -> int:
    """Where the head ends (after its blank line), or -1 if it is not complete yet."""
    at = data.find(b"\r\n\r\n")
    return -1 if at < 0 else at + 4


def parse_head(data: bytes) -> RequestHead:
    """The request line and headers of ``data``, a whole head without its blank line."""
    if len(data) + 4 > MAX_HEAD:
        raise HandshakeError(431, "request head too large")
    request_line, *lines = data.decode("latin-1").split("\r\n")
    if any(_CONTROL.search(line) for line in (request_line, *lines)):
        raise HandshakeError(400, "control characters in the request head")
    try:
        method, target, version = request_line.split(" ")
    except ValueError:
        raise HandshakeError(400, "malformed request line") from None
    if not version.startswith("HTTP/1."):
        raise HandshakeError(400, "HTTP/1.x expected")
    headers: dict[str, str] = {}
    for line in lines:
        if not line:
            continue
        name, sep, value = line.partition(":")
        if not sep:
            raise HandshakeError(400, "malformed header")
        key = name.strip().lower()
        value = value.strip()
        headers[key] = f"{headers[key]}, {value}" if key in headers else value
    return RequestHead(method, target, headers)


def is_websocket_upgrade(head: RequestHead) -> bool:
    return "websocket" in head.tokens("upgrade")


def accept_key(head: RequestHead) -> str:
    """Validate the upgrade request; the ``Sec-WebSocket-Accept`` value for it."""
    if head.method != "GET":
        raise HandshakeError(405, "a WebSocket handshake is a GET")
    if "upgrade" not in head.tokens("connection"):
        raise HandshakeError(400, "Connection: Upgrade expected")
    if head.header("sec-websocket-version") != "13":
        raise HandshakeError(426, "WebSocket version 13 expected")
    key = head.header("sec-websocket-key")
    try:
        if len(base64.b64decode(key, validate=True)) != 16:
            raise ValueError(key)
    except (binascii.Error, ValueError):
        raise HandshakeError(400, "bad Sec-WebSocket-Key") from None
    return base64.b64encode(hashlib.sha1(key.encode() + _GUID).digest()).decode()


def switching_protocols(accept: str, subprotocol: str | None) -> bytes:
    lines = [
        "HTTP/1.1 101 Switching Protocols",
        "Upgrade: websocket",
        "Connection: Upgrade",
        f"Sec-WebSocket-Accept: {accept}",
    ]
    if subprotocol:
        lines.append(f"Sec-WebSocket-Protocol: {subprotocol}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def refusal(status: int, reason: str, headers: Mapping[str, str] | None = None) -> bytes:
    """A refused request, with the same ``{code, message}`` body as the HTTP API's errors,
    and ``headers`` besides."""
    code, phrase = status_of(status)
    body = json.dumps({"code": code, "message": reason}).encode()
    extra = "".join(f"{name}: {value}\r\n" for name, value in (headers or {}).items())
    if status == 426:
        extra += "Sec-WebSocket-Version: 13\r\n"
    return (
        f"HTTP/1.1 {status} {phrase}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n{extra}Connection: close\r\n\r\n"
    ).encode() + body
