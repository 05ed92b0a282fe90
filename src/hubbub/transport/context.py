"""What the handlers share: the node, the config and the open WebSockets, kept on the app."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from aiohttp import web

from hubbub.config import Config
from hubbub.service.node import Node
from hubbub.transport.admission import Admission
from hubbub.transport.forwarded import Proxies
from hubbub.transport.turns import TurnEnd

if TYPE_CHECKING:
    from hubbub.transport.connection import WsConnection

SESSION_COOKIE = "hubbub_session"


@dataclass
class ServerState:
    node: Node
    config: Config
    connections: set[WsConnection] = field(default_factory=set)  # open WebSockets
    turn_end: TurnEnd = field(default_factory=TurnEnd)  # where connections' turns end
    admission: Admission = field(init=False)  # the connection caps
    proxies: Proxies = field(init=False)  # whose forwarding headers are believed
    slow_consumers_dropped: int = 0
    pings_sent: int = 0  # by the liveness sweep
    pongs_received: int = 0
    ping_timeouts: int = 0
    # For /metrics: error answers by (protocol, code), rate-limit refusals by (protocol,
    # request), close frames sent by code, WebSocket handshakes refused by HTTP status.
    errors: Counter[tuple[str, str]] = field(default_factory=Counter)
    rate_limited: Counter[tuple[str, str]] = field(default_factory=Counter)
    closes: Counter[int] = field(default_factory=Counter)
    handshakes_refused: Counter[int] = field(default_factory=Counter)

    def __post_init__(self) -> None:
        config = self.config
        self.admission = Admission(
            config.max_connections,
            config.max_user_connections_per_address,
            config.max_guest_connections_per_address,
        )
        self.proxies = Proxies(config.trusted_proxies)


STATE = web.AppKey("hubbub_state", ServerState)


def state_of(request: web.Request) -> ServerState:
    return request.app[STATE]


def peer_address(request: web.Request) -> str:
    """The client's address (a trusted proxy's X-Forwarded-For says whose)."""
    peer = request.remote or "unknown"
    return state_of(request).proxies.client(peer, request.headers.get("X-Forwarded-For"))


def request_scheme(request: web.Request) -> str:
    """``https`` if the client spoke it, to us or to a trusted proxy in front."""
    proxies = state_of(request).proxies
    forwarded = request.headers.get("X-Forwarded-Proto")
    return proxies.scheme(request.remote or "", request.scheme, forwarded)


def parse_bearer(authorization: str) -> str | None:
    """The token of an ``Authorization: Bearer <token>`` header value, or None.

    The one parser for the HTTP API and the WebSocket front door alike. The token is not
    checked here: one that is not ASCII is simply unknown (``Actions.authenticate``)."""
    scheme, _, token = authorization.partition(" ")
    token = token.strip()
    return token if scheme.lower() == "bearer" and token else None


def is_allowed_origin(origin: str | None, scheme: str, host: str, allowed: tuple[str, ...]) -> bool:
    """No Origin (not a browser page), the server's own (its real scheme and Host), or listed.

    The one rule for the HTTP API and the WebSocket front door alike. Behind a proxy that
    terminates TLS the server speaks plain http, so the page's ``https://`` origin is its own
    only if the proxy is trusted (it says ``X-Forwarded-Proto: https``) or the origin listed
    in ``allowed_origins``.
    """
    return origin is None or origin == f"{scheme}://{host}" or origin in allowed


# The aiohttp side: the same two rules, fed from an aiohttp request's headers.


def bearer_token(request: web.Request) -> str | None:
    return parse_bearer(request.headers.get("Authorization", ""))


def origin_allowed(request: web.Request, config: Config) -> bool:
    return is_allowed_origin(
        request.headers.get("Origin"), request_scheme(request), request.host, config.allowed_origins
    )
