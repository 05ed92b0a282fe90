"""The aiohttp application: routes, error mapping, security headers and the lifecycle.

Errors become ``{code, message}`` JSON with their status here and only here (codes from
``errors.STATUSES``); anything that is not a ``HubbubError`` is logged and answered with a
generic 500.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from importlib import resources
from pathlib import Path

import msgspec
from aiohttp import web
from aiohttp.typedefs import Handler

from hubbub.core.registration import GUESTS_OFF
from hubbub.errors import HubbubError, RateLimited, Unavailable, status_of
from hubbub.protocol.codes import CloseCode
from hubbub.protocol.handshake import MAX_HEAD
from hubbub.service.node import Node
from hubbub.transport import files_api
from hubbub.transport.connection import LobbyRelay, PlainConnection
from hubbub.transport.context import STATE, ServerState, state_of
from hubbub.transport.http_api import ErrorOut, add_routes, error_body
from hubbub.transport.liveness import Sweep
from hubbub.transport.metrics import metrics_handler
from hubbub.transport.openapi import build_openapi
from hubbub.transport.security import SECURITY_HEADERS

log = logging.getLogger(__name__)

LINGERING_TIME = 2.0  # seconds an unread request body is drained after the answer
HEALTH_TIMEOUT = 5.0  # seconds storage gets to prove it takes a read and a write
WEB_ROOT = Path(str(resources.files("hubbub").joinpath("web")))


def _error_response(status: int, body: ErrorOut) -> web.Response:
    return web.Response(
        status=status, body=msgspec.json.encode(body), content_type="application/json"
    )


@web.middleware
async def errors_to_json(request: web.Request, handler: Handler) -> web.StreamResponse:
    errors = state_of(request).errors
    try:
        response: web.StreamResponse = await handler(request)
        return response
    except HubbubError as exc:
        errors["http", exc.code] += 1
        response = _error_response(exc.http_status, error_body(exc))
        if isinstance(exc, RateLimited):
            state_of(request).rate_limited["http", _route_of(request)] += 1
            response.headers["Retry-After"] = str(max(1, round(exc.retry_after)))
        return response
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        code = status_of(exc.status).code
        errors["http", code] += 1
        return _error_response(exc.status, ErrorOut(code, exc.text or exc.reason))
    except asyncio.CancelledError:
        raise
    except Exception:
        errors["http", "internal"] += 1
        log.exception(
            "unhandled error on %s %s",
            request.method,
            _route_of(request),
            extra={"method": request.method, "route": _route_of(request)},
        )
        return _error_response(500, ErrorOut("internal", "internal error"))


def _route_of(request: web.Request) -> str:
    """The route a request matched, as declared (``/api/v1/rooms/{room}``): a label and a
    log field of bounded variety, which never holds what a client put in its path."""
    resource = request.match_info.route.resource
    route = resource.canonical if resource is not None else "unmatched"
    return f"{request.method} {route}"


@web.middleware
async def security_headers(request: web.Request, handler: Handler) -> web.StreamResponse:
    response: web.StreamResponse = await handler(request)
    if not response.prepared:
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
    return response


@web.middleware
async def one_request_per_connection(request: web.Request, handler: Handler) -> web.StreamResponse:
    """HTTP responses close their connection, so that a WebSocket handshake always comes
    first on a connection, where ``front`` takes it."""
    response: web.StreamResponse = await handler(request)
    response.force_close()
    return response


async def index(request: web.Request) -> web.StreamResponse:
    """``/``: the browser client's page (WebSocket handshakes never get here)."""
    if request.headers.get("Upgrade", "").lower() == "websocket":
        raise web.HTTPBadRequest(text="a WebSocket handshake must open its connection")
    return web.FileResponse(WEB_ROOT / "index.html")


async def healthz(request: web.Request) -> web.Response:
    """200 while storage takes reads and writes and the broker carries this node's own
    traffic; 503 with the reason while either does not (a dead disk, a writer restarting,
    Redis out of reach or lagging), so that a load balancer or an operator can tell."""
    node = state_of(request).node
    reason = node.broker.problem()
    if reason is None:
        try:
            async with asyncio.timeout(HEALTH_TIMEOUT):
                await node.storage.check()
        except Unavailable as exc:
            reason = exc.message
        except TimeoutError:
            reason = f"storage did not answer in {HEALTH_TIMEOUT:g} s"
    if reason is not None:
        return web.json_response({"status": "unavailable", "reason": reason}, status=503)
    return web.json_response({"status": "ok"})


def create_app(node: Node) -> web.Application:
    config = node.config
    app = web.Application(
        middlewares=[one_request_per_connection, security_headers, errors_to_json],
        client_max_size=config.max_frame_bytes,
        # After an answer given before its body was read (401, 408 …) aiohttp drains the
        # rest so the client sees the answer; bounded, so a trickling body cannot hold it.
        # The front door bounds a request head at MAX_HEAD; aiohttp's own line bounds (8190
        # bytes) would refuse a longer URL it let through in plain text, not the API's JSON.
        handler_args={
            "lingering_time": LINGERING_TIME,
            "max_line_size": MAX_HEAD,
            "max_field_size": MAX_HEAD,
        },
    )
    state = ServerState(node=node, config=config)
    app[STATE] = state
    # The seed's guests are shown lobby's messages (a server admin may turn guests on later).
    node.broker.subscribe(LobbyRelay(node.hub))
    app.router.add_get("/", index)
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/metrics", metrics_handler(state))
    openapi = web.json_response(build_openapi()).body
    assert isinstance(openapi, bytes)

    async def openapi_document(request: web.Request) -> web.Response:
        return web.Response(body=openapi, content_type="application/json")

    app.router.add_get("/api/v1/openapi.json", openapi_document)
    add_routes(app)
    files_api.install(app)
    app.router.add_static("/static/", WEB_ROOT, follow_symlinks=False)
    app.cleanup_ctx.append(_liveness_sweep)
    app.cleanup_ctx.append(_guest_settings)
    app.on_shutdown.append(_close_websockets)
    return app


async def _liveness_sweep(app: web.Application) -> AsyncIterator[None]:
    """One sweep for every WebSocket of the server, from start to cleanup."""
    state = app[STATE]
    config = state.config
    sweep = Sweep(state.connections, config.ping_interval, config.ping_timeout)
    sweep.start()
    yield
    sweep.stop()


async def _guest_settings(app: web.Application) -> AsyncIterator[None]:
    """When guests are turned off or an address banned (on any node), this node's guests
    that the settings no longer allow are closed: 4503 (guests off) or 4504 (banned)."""
    state = app[STATE]
    settings = state.node.actions.settings

    def close_refused() -> None:
        for connection in list(state.connections):
            if not isinstance(connection, PlainConnection):
                continue
            refused = settings.guest_refusal(connection.peer)
            if refused == GUESTS_OFF:
                connection.close(CloseCode.GUESTS_OFF, refused)
            elif refused is not None:
                connection.close(CloseCode.GUEST_BANNED, refused)

    remove = settings.on_change(close_refused)
    yield
    remove()


async def _close_websockets(app: web.Application) -> None:
    """On shutdown every WebSocket is closed with 1001 (going away): clients reconnect."""
    state = app[STATE]
    for connection in list(state.connections):
        connection.close(CloseCode.GOING_AWAY, "server shutting down")
    deadline = asyncio.get_running_loop().time() + state.config.shutdown_timeout
    while state.connections and asyncio.get_running_loop().time() < deadline:
        await asyncio.sleep(0.05)
    for connection in list(state.connections):
        connection.transport.abort()
