"""The front door of every TCP connection: WebSocket handshakes here, everything else to aiohttp.

The first request head of a connection decides. A WebSocket upgrade on ``/`` is answered here
and the socket goes to a lean ``JsonConnection`` or ``PlainConnection``; any other request
is handed, with the bytes read so far, to aiohttp's request handler. HTTP responses close
their connection (see ``app``), so every WebSocket handshake arrives on a fresh connection
and passes this door.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Callable
from http.cookies import CookieError, SimpleCookie

from hubbub.protocol.handshake import (
    MAX_HEAD,
    HandshakeError,
    RequestHead,
    accept_key,
    head_end,
    is_websocket_upgrade,
    parse_head,
    refusal,
    switching_protocols,
)
from hubbub.transport.connection import JsonConnection, PlainConnection
from hubbub.transport.context import SESSION_COOKIE, ServerState

SUBPROTOCOL = "hubbub.v1"
HEAD_TIMEOUT = 10.0  # a client that does not finish its request head in time is dropped


class FrontProtocol(asyncio.Protocol):
    __slots__ = ("_buffer", "_http", "_state", "_timer", "_transport")

    def __init__(self, state: ServerState, http: Callable[[], asyncio.Protocol]) -> None:
        self._state = state
        self._http = http
        self._buffer = b""
        self._transport: asyncio.Transport | None = None
        self._timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert hasattr(transport, "write")
        self._transport = transport  # type: ignore[assignment]
        sock = transport.get_extra_info("socket")
        if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
        self._timer = asyncio.get_running_loop().call_later(HEAD_TIMEOUT, transport.close)

    def data_received(self, data: bytes) -> None:
        self._buffer += data
        end = head_end(self._buffer)
        if end < 0:
            if len(self._buffer) > MAX_HEAD:
                self._refuse(431, "request head too large")
            return
        if self._timer is not None:
            self._timer.cancel()
        try:
            head = parse_head(self._buffer[: end - 4])
            if not is_websocket_upgrade(head):
                self._to_http()
                return
            self._to_websocket(head, self._buffer[end:])
        except HandshakeError as exc:
            self._refuse(exc.status, exc.reason)

    def connection_lost(self, exc: Exception | None) -> None:
        if self._timer is not None:
            self._timer.cancel()

    def _to_http(self) -> None:
        assert self._transport is not None
        handler = self._http()
        self._transport.set_protocol(handler)
        handler.connection_made(self._transport)
        handler.data_received(self._buffer)
        self._buffer = b""

    def _to_websocket(self, head: RequestHead, rest: bytes) -> None:
        transport = self._transport
        assert transport is not None
        state, config = self._state, self._state.config
        if head.target.split("?", 1)[0] != "/":
            raise HandshakeError(404, "WebSockets are served on /")
        accept = accept_key(head)
        offered = [p.strip() for p in head.header("sec-websocket-protocol").split(",")]
        peer = str((transport.get_extra_info("peername") or ("unknown",))[0])
        if SUBPROTOCOL in offered:
            token = _bearer(head)
            cookie = _cookie(head)
            if token is None and cookie and not _origin_allowed(head, config.allowed_origins):
                # The cookie would authenticate a page of another site: cross-site hijacking.
                raise HandshakeError(403, "cross-origin WebSocket with a session cookie")
            transport.write(switching_protocols(accept, SUBPROTOCOL))
            json = JsonConnection(state, transport, peer)
            transport.set_protocol(json)
            json.start(token or cookie)
            connection: JsonConnection | PlainConnection = json
        else:
            if not config.guests:
                raise HandshakeError(403, "guests are turned off on this server")
            transport.write(switching_protocols(accept, None))
            connection = PlainConnection(state, transport, peer)
            transport.set_protocol(connection)
        if rest:
            connection.data_received(rest)

    def _refuse(self, status: int, reason: str) -> None:
        assert self._transport is not None
        self._transport.write(refusal(status, reason))
        self._transport.close()


def _bearer(head: RequestHead) -> str | None:
    scheme, _, token = head.header("authorization").partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


def _cookie(head: RequestHead) -> str | None:
    try:
        jar = SimpleCookie(head.header("cookie"))
    except CookieError:
        return None
    morsel = jar.get(SESSION_COOKIE)
    return morsel.value if morsel is not None and morsel.value else None


def _origin_allowed(head: RequestHead, allowed: tuple[str, ...]) -> bool:
    origin = head.headers.get("origin")
    if origin is None:
        return True  # not sent by a browser page
    host = head.header("host")
    return origin in (f"http://{host}", f"https://{host}") or origin in allowed


async def listen(
    state: ServerState, http: Callable[[], asyncio.Protocol], sock: socket.socket
) -> asyncio.Server:
    """Serve ``sock``: every accepted connection starts at the front door."""
    loop = asyncio.get_running_loop()
    return await loop.create_server(lambda: FrontProtocol(state, http), sock=sock, backlog=4096)
