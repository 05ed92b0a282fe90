"""What the handlers share: the node, the config and the open WebSockets, kept on the app."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from aiohttp import web

from hubbub.config import Config
from hubbub.service.node import Node

if TYPE_CHECKING:
    from hubbub.transport.connection import WsConnection

SESSION_COOKIE = "hubbub_session"


@dataclass
class ServerState:
    node: Node
    config: Config
    connections: set[WsConnection] = field(default_factory=set)  # open WebSockets
    slow_consumers_dropped: int = 0


STATE = web.AppKey("hubbub_state", ServerState)


def state_of(request: web.Request) -> ServerState:
    return request.app[STATE]


def peer_address(request: web.Request) -> str:
    return request.remote or "unknown"


def bearer_token(request: web.Request) -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return token.strip()
    return None


def origin_allowed(request: web.Request, config: Config) -> bool:
    """A request without Origin is not from a browser page; one with it must be ours."""
    origin = request.headers.get("Origin")
    if origin is None:
        return True
    own = f"{request.scheme}://{request.host}"
    return origin == own or origin in config.allowed_origins
