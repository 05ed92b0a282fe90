"""The front door of every TCP connection: WebSocket handshakes here, everything else to aiohttp.

The first request head of a connection decides. A WebSocket upgrade on ``/`` is answered here
and the socket goes to a lean ``JsonConnection`` or ``PlainConnection``; any other request
is handed, with the bytes read so far, to aiohttp's request handler. HTTP responses close
their connection (see ``app``), so every WebSocket handshake arrives on a fresh connection
and passes this door.

The door also keeps the caps (``admission``): a WebSocket handshake past the server's cap is
refused with 503, past its address's cap with 429. Every refusal written here carries the
same security headers as aiohttp's responses.
"""

from __future__ import annotations

import asyncio
import math
import socket
from collections.abc import Callable
from http.cookies import CookieError, SimpleCookie

from hubbub.config import Config
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
from hubbub.transport.admission import CapReached, Place
from hubbub.transport.connection import JsonConnection, PlainConnection
from hubbub.transport.context import (
    SESSION_COOKIE,
    ServerState,
    is_allowed_origin,
    parse_bearer,
)
from hubbub.transport.security import SECURITY_HEADERS

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
            _keepalive(sock, self._state.config)
        self._timer = asyncio.get_running_loop().call_later(HEAD_TIMEOUT, transport.close)

    def data_received(self, data: bytes) -> None:
        self._buffer += data
        end = head_end(self._buffer)
        if end < 0 and len(self._buffer) <= MAX_HEAD:
            return
        if self._timer is not None:
            self._timer.cancel()
        try:
            if end < 0:
                raise HandshakeError(431, "request head too large")
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
        state = self._state
        if head.target.split("?", 1)[0] != "/":
            raise HandshakeError(404, "WebSockets are served on /")
        accept = accept_key(head)
        offered = [p.strip() for p in head.header("sec-websocket-protocol").split(",")]
        peer = state.proxies.client(self._peer(), head.headers.get("x-forwarded-for"))
        connection: JsonConnection | PlainConnection
        if SUBPROTOCOL in offered:
            credential = self._credential(head)
            place = _admit(state, peer)
            transport.write(switching_protocols(accept, SUBPROTOCOL))
            connection = json = JsonConnection(state, transport, peer)
            connection.place = place  # from here on the connection gives it back
            transport.set_protocol(json)
            json.start(credential)
        else:
            refused = state.node.actions.settings.guest_refusal(peer)
            if refused is not None:  # guests off, or the address banned (at run time too)
                raise HandshakeError(403, refused)
            place = _admit(state, peer)
            transport.write(switching_protocols(accept, None))
            connection = PlainConnection(state, transport, peer)
            connection.place = place
            transport.set_protocol(connection)
        if rest:
            connection.data_received(rest)

    def _credential(self, head: RequestHead) -> str | None:
        """The bearer token, or the session cookie if the page is of our own origin."""
        assert self._transport is not None
        token = parse_bearer(head.header("authorization"))
        cookie = _cookie(head)
        if token is not None or not cookie:
            return token
        scheme = "https" if self._transport.get_extra_info("sslcontext") else "http"
        forwarded = head.headers.get("x-forwarded-proto")
        scheme = self._state.proxies.scheme(self._peer(), scheme, forwarded)
        origin = head.headers.get("origin")
        if not is_allowed_origin(
            origin, scheme, head.header("host"), self._state.config.allowed_origins
        ):
            # The cookie would authenticate a page of another site: cross-site hijacking.
            raise HandshakeError(403, "cross-origin WebSocket with a session cookie")
        return cookie

    def _peer(self) -> str:
        assert self._transport is not None
        return str((self._transport.get_extra_info("peername") or ("unknown",))[0])

    def _refuse(self, status: int, reason: str) -> None:
        assert self._transport is not None
        self._state.handshakes_refused[status] += 1
        self._transport.write(refusal(status, reason, SECURITY_HEADERS))
        self._transport.close()


def _cookie(head: RequestHead) -> str | None:
    try:
        jar = SimpleCookie(head.header("cookie"))
    except CookieError:
        return None
    morsel = jar.get(SESSION_COOKIE)
    return morsel.value if morsel is not None and morsel.value else None


def _admit(state: ServerState, peer: str) -> Place:
    """A place under the caps for a new WebSocket (taken last, once nothing else can refuse)."""
    try:
        return state.admission.admit(peer)
    except CapReached as exc:
        raise HandshakeError(503 if exc.server_wide else 429, exc.message) from None


def _keepalive(sock: socket.socket, config: Config) -> None:
    """TCP keep-alive matching the WebSocket pings: probes start after ``ping_interval`` of
    silence, and a peer that answers none for ``ping_timeout`` is dropped by the kernel."""
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
    probes = 4
    settings = (
        ("TCP_KEEPIDLE", math.ceil(config.ping_interval)),
        ("TCP_KEEPINTVL", math.ceil(config.ping_timeout / probes)),
        ("TCP_KEEPCNT", probes),
    )
    for name, value in settings:
        option = getattr(socket, name, None)  # not every platform has them all
        if option is not None:
            sock.setsockopt(socket.IPPROTO_TCP, option, max(1, value))


async def listen(
    state: ServerState, http: Callable[[], asyncio.Protocol], sock: socket.socket
) -> asyncio.Server:
    """Serve ``sock``: every accepted connection starts at the front door."""
    loop = asyncio.get_running_loop()
    return await loop.create_server(lambda: FrontProtocol(state, http), sock=sock, backlog=4096)
