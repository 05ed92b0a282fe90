"""WebSocket connections on ``/``: the hubbub.v1 JSON protocol, or the seed's plain text.

The handshake decides which: subprotocol ``hubbub.v1`` gets the JSON protocol, no
subprotocol gets the plain-text guest protocol. Incoming frames are read with aiohttp;
outgoing ones go through the connection's ``SocketOutlet`` (one write per loop turn).
"""

from __future__ import annotations

import asyncio
import logging
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import cast

import msgspec
from aiohttp import WSMsgType, web

from hubbub.errors import HubbubError, RateLimited, Unauthenticated
from hubbub.protocol import legacy
from hubbub.protocol import messages as m
from hubbub.protocol.codes import CloseCode
from hubbub.protocol.limits import MAX_BODY_CHARS
from hubbub.protocol.wsframe import binary_frame, text_frame
from hubbub.service.actions import Actions
from hubbub.service.requests import Pending, handle
from hubbub.service.session import Session
from hubbub.transport.context import (
    SESSION_COOKIE,
    ServerState,
    bearer_token,
    origin_allowed,
    peer_address,
    state_of,
)
from hubbub.transport.outlet import SocketOutlet

log = logging.getLogger(__name__)

SUBPROTOCOL = "hubbub.v1"


async def websocket(request: web.Request) -> web.StreamResponse:
    state = state_of(request)
    config = state.config
    ws = web.WebSocketResponse(
        protocols=(SUBPROTOCOL,),
        max_msg_size=config.max_frame_bytes + 1,  # aiohttp refuses sizes >= this
        compress=False,  # per-message deflate costs ~33 KiB per connection
        autoclose=False,  # we answer a close ourselves: never after our own 4000
        heartbeat=30.0,
    )
    handshake = ws.can_prepare(request)
    if not handshake.ok:
        raise web.HTTPBadRequest(text="not a WebSocket handshake")
    if handshake.protocol == SUBPROTOCOL:
        token = bearer_token(request)
        cookie = request.cookies.get(SESSION_COOKIE)
        if token is None and cookie and not origin_allowed(request, config):
            # The cookie would authenticate a page of another site: cross-site hijacking.
            raise web.HTTPForbidden(text="cross-origin WebSocket with a session cookie")
        async with _open(request, ws, state) as outlet:
            await _json_connection(request, ws, state, outlet, token or cookie)
    else:
        if not config.guests:
            raise web.HTTPForbidden(text="guests are turned off on this server")
        async with _open(request, ws, state) as outlet:
            await _plain_connection(request, ws, state, outlet)
    return ws


@asynccontextmanager
async def _open(
    request: web.Request, ws: web.WebSocketResponse, state: ServerState
) -> AsyncIterator[SocketOutlet]:
    await ws.prepare(request)
    transport = request.transport
    if transport is None:
        raise ConnectionResetError("the peer went away during the handshake")
    sock = transport.get_extra_info("socket")
    if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    outlet = SocketOutlet(
        cast(asyncio.WriteTransport, transport),
        state.config.max_outbox_bytes,
        state.config.slow_consumer_grace,
    )
    state.websockets[ws] = outlet
    try:
        yield outlet
    finally:
        state.websockets.pop(ws, None)
        if outlet.slow:
            state.slow_consumers_dropped += 1
        outlet.stop()
        if outlet.slow:
            # Our close frame went out with the data; whatever happened since, we are done.
            transport.abort()
        elif not ws.closed:
            await ws.close()


# --- hubbub.v1 ---------------------------------------------------------------------------


async def _json_connection(
    request: web.Request,
    ws: web.WebSocketResponse,
    state: ServerState,
    outlet: SocketOutlet,
    token: str | None,
) -> None:
    actions = state.node.actions
    try:
        user, first_id = await _authenticate(ws, state, token)
    except Unauthenticated as exc:
        outlet.send_frame(text_frame(m.encode(m.Error(code=exc.code, message=exc.message))))
        outlet.stop()
        await ws.close(code=CloseCode.UNAUTHENTICATED, message=b"unauthenticated")
        return
    session = Session(user, outlet)
    hub = state.node.hub
    hub.add(session)
    outlet.on_slow = lambda: hub.remove(session)
    inflight = asyncio.Semaphore(state.config.max_inflight_sends)
    pending: set[asyncio.Task[None]] = set()
    session.send(m.Ready(re=first_id, user=user))
    try:
        async for message in ws:
            if outlet.closed:
                break
            if message.type == WSMsgType.TEXT:
                await _on_request(actions, session, message.data, inflight, pending)
            elif message.type == WSMsgType.BINARY:
                session.send(m.Error(code="bad_request", message="hubbub.v1 frames are JSON text"))
    finally:
        hub.remove(session)
        for task in pending:
            task.cancel()


async def _authenticate(
    ws: web.WebSocketResponse, state: ServerState, token: str | None
) -> tuple[str, m.RequestId]:
    """The user of the handshake's credential, or of a first ``auth`` frame within the bound."""
    actions = state.node.actions
    if token is not None:
        return await actions.authenticate(token), None
    try:
        message = await ws.receive(timeout=state.config.auth_timeout)
    except TimeoutError:
        raise Unauthenticated("no auth frame in time") from None
    if message.type != WSMsgType.TEXT:
        raise Unauthenticated("the first frame must be auth")
    try:
        request = m.decode_request(message.data)
    except HubbubError:
        raise Unauthenticated("the first frame must be a valid auth frame") from None
    if not isinstance(request, m.Auth):
        raise Unauthenticated("authenticate first: send auth with a token")
    return await actions.authenticate(request.token), request.id


async def _on_request(
    actions: Actions,
    session: Session,
    data: str,
    inflight: asyncio.Semaphore,
    pending: set[asyncio.Task[None]],
) -> None:
    re: m.RequestId = None
    try:
        request = m.decode_request(data)
        re = request.id
        if isinstance(request, m.Send):
            await inflight.acquire()  # past the bound, stop reading this connection
            try:
                reply = await handle(actions, session, request)
            except BaseException:
                inflight.release()
                raise
            assert isinstance(reply, Pending)
            task = asyncio.create_task(_await_sent(session, reply, inflight))
            pending.add(task)
            task.add_done_callback(pending.discard)
            return
        answer = await handle(actions, session, request)
    except m.ProtocolError as exc:
        session.send(m.Error(re=exc.re, code=exc.code, message=exc.message))
        return
    except HubbubError as exc:
        session.send(_error(exc, re))
        return
    except Exception:
        log.exception("request failed")
        session.send(m.Error(re=re, code="internal", message="internal error"))
        return
    if isinstance(answer, msgspec.Struct):
        session.send(answer)


async def _await_sent(session: Session, pending: Pending, inflight: asyncio.Semaphore) -> None:
    try:
        session.send(await pending.reply())
    except HubbubError as exc:
        session.send(_error(exc, pending.re))
    except Exception:
        log.exception("send failed")
        session.send(m.Error(re=pending.re, code="internal", message="internal error"))
    finally:
        inflight.release()


def _error(exc: HubbubError, re: m.RequestId) -> m.Error:
    retry_after = round(exc.retry_after, 3) if isinstance(exc, RateLimited) else None
    return m.Error(re=re, code=exc.code, message=exc.message, retry_after=retry_after)


# --- the seed's plain text ----------------------------------------------------------------


async def _plain_connection(
    request: web.Request, ws: web.WebSocketResponse, state: ServerState, outlet: SocketOutlet
) -> None:
    hub = state.node.hub
    actions = state.node.actions
    address = peer_address(request)
    name = legacy.ANONYMOUS
    hub.add_plain(outlet)
    outlet.on_slow = lambda: hub.remove_plain(outlet)
    try:
        async for message in ws:
            if outlet.closed:
                break
            if message.type == WSMsgType.BINARY:
                hub.to_plain(binary_frame(message.data))  # relayed, never stored
                continue
            if message.type != WSMsgType.TEXT:
                continue
            line = legacy.classify(message.data)
            if isinstance(line, legacy.StartName):
                name = line.name
                hub.to_plain(text_frame(message.data.encode()), exclude=outlet)
                continue
            if not line.text:
                continue
            if len(line.text) > MAX_BODY_CHARS:
                outlet.stop()
                await ws.close(code=CloseCode.TOO_BIG, message=b"message too long")
                break
            try:
                await actions.guest_say(name, address, line.text)
            except RateLimited:
                outlet.stop()
                await ws.close(code=CloseCode.RATE_LIMITED, message=b"too many messages")
                break
            except HubbubError as exc:
                outlet.stop()
                await ws.close(code=CloseCode.INTERNAL, message=exc.message.encode()[:120])
                break
    finally:
        hub.remove_plain(outlet)
