"""WebSocket connections after the handshake: hubbub's own, lean protocol objects.

Outgoing: frames are queued and written once per event-loop turn, because one ``send()``
syscall costs about as much as a whole delivery should. A peer whose unsent bytes pass the
bound is a slow consumer: it gets close code 4000 behind what it has not read yet and
``slow_consumer_grace`` seconds to read it, then is cut off; nobody else waits for it.

Incoming: ``FrameParser`` turns bytes into messages. A hubbub.v1 connection handles them in
order in a task that exists only while there is something to handle, so an idle connection
costs a few small objects and no coroutine.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from typing import TYPE_CHECKING

import msgspec

from hubbub.errors import HubbubError, RateLimited, Unauthenticated
from hubbub.protocol import legacy
from hubbub.protocol import messages as m
from hubbub.protocol.codes import CloseCode
from hubbub.protocol.limits import MAX_BODY_CHARS
from hubbub.protocol.wsframe import (
    OP_BINARY,
    OP_CLOSE,
    OP_PING,
    OP_PONG,
    FrameError,
    FrameParser,
    binary_frame,
    close_code_of,
    close_frame,
    text_frame,
)
from hubbub.service.requests import Pending, handle
from hubbub.service.session import Session
from hubbub.storage.base import Appended

if TYPE_CHECKING:
    from hubbub.transport.context import ServerState

log = logging.getLogger(__name__)

CLOSE_TIMEOUT = 2.0  # how long we wait for the peer's answer to our close frame
MAX_INBOX = 64  # requests read but not yet handled; past it, reading pauses
_PONG = 0x8A


def _pong_frame(payload: bytes) -> bytes:
    return bytes((_PONG, len(payload))) + payload


def _echo_code(code: int) -> int:
    valid = 1000 <= code <= 1003 or 1007 <= code <= 1011 or 3000 <= code <= 4999
    return code if valid else CloseCode.NORMAL


class WsConnection(asyncio.Protocol):
    """Frames in and out, closing, and the slow-consumer bound. Subclasses handle messages."""

    __slots__ = (
        "_close_timer",
        "_loop",
        "_parser",
        "_queue",
        "_scheduled",
        "closed",
        "closing",
        "peer",
        "state",
        "transport",
    )

    def __init__(self, state: ServerState, transport: asyncio.Transport, peer: str) -> None:
        self.state = state
        self.transport = transport
        self.peer = peer
        self._loop = asyncio.get_running_loop()
        self._parser = FrameParser(state.config.max_frame_bytes)
        self._queue: list[bytes] = []
        self._scheduled = False
        self._close_timer: asyncio.TimerHandle | None = None
        self.closing = False  # a close frame was sent or received: nothing more goes out
        self.closed = False
        state.connections.add(self)

    # --- outgoing ---------------------------------------------------------------------

    def send_frame(self, frame: bytes) -> None:
        if self.closing:
            return
        self._queue.append(frame)
        if not self._scheduled:
            self._scheduled = True
            self._loop.call_soon(self._flush)

    def _flush(self) -> None:
        self._scheduled = False
        if self.closing or not self._queue:
            return
        queue = self._queue
        self.transport.write(queue[0] if len(queue) == 1 else b"".join(queue))
        queue.clear()
        if self.transport.get_write_buffer_size() > self.state.config.max_outbox_bytes:
            self._drop_slow_consumer()

    def _drop_slow_consumer(self) -> None:
        """Close behind what is buffered; time to read it, then cut off."""
        self.closing = True
        self.state.slow_consumers_dropped += 1
        unsent = self.transport.get_write_buffer_size()
        log.info("disconnecting a slow consumer (%d bytes unsent)", unsent)
        self.transport.write(close_frame(CloseCode.SLOW_CONSUMER, "too slow; reconnect and sync"))
        grace = self.state.config.slow_consumer_grace
        self._close_timer = self._loop.call_later(grace, self.transport.abort)
        self.on_close()

    def close(self, code: int, reason: str = "") -> None:
        """Send what is queued, then our close frame; the peer's answer ends the connection."""
        if self.closing:
            return
        self._flush()
        self.closing = True
        self._queue.clear()
        self.transport.write(close_frame(code, reason))
        self._close_timer = self._loop.call_later(CLOSE_TIMEOUT, self.transport.close)

    # --- incoming ---------------------------------------------------------------------

    def data_received(self, data: bytes) -> None:
        try:
            messages = self._parser.feed(data)
        except FrameError as exc:
            self.close(exc.code, exc.reason)
            return
        for opcode, payload in messages:
            if opcode == OP_CLOSE:
                self._peer_closed(payload if isinstance(payload, bytes) else b"")
                return
            if self.closing:
                continue
            if opcode == OP_PING:
                self.send_frame(_pong_frame(payload if isinstance(payload, bytes) else b""))
            elif opcode != OP_PONG:
                self.on_message(opcode, payload)

    def _peer_closed(self, payload: bytes) -> None:
        if not self.closing:  # the peer began: answer with its code
            self._flush()
            self.closing = True
            self.transport.write(close_frame(_echo_code(close_code_of(payload))))
        self.transport.close()

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = self.closing = True
        if self._close_timer is not None:
            self._close_timer.cancel()
        self.state.connections.discard(self)
        self.on_close()

    # --- for subclasses ------------------------------------------------------------------

    def on_message(self, opcode: int, payload: str | bytes) -> None:
        raise NotImplementedError

    def on_close(self) -> None:
        """Leave the hub (may be called more than once)."""


class JsonConnection(WsConnection):
    """A hubbub.v1 connection: authenticate, then requests in order, replies and events out."""

    __slots__ = (
        "_auth_timer",
        "_inbox",
        "_inflight",
        "_paused",
        "_slot_free",
        "_worker",
        "session",
    )

    def __init__(self, state: ServerState, transport: asyncio.Transport, peer: str) -> None:
        super().__init__(state, transport, peer)
        self.session: Session | None = None
        self._inbox: deque[str] = deque()
        self._worker: asyncio.Task[None] | None = None
        self._inflight = 0
        self._paused = False
        self._auth_timer: asyncio.TimerHandle | None = None
        self._slot_free: asyncio.Future[None] | None = None

    def start(self, token: str | None) -> None:
        """With a credential from the handshake, check it now; else wait for an ``auth`` frame."""
        if token is not None:
            self._worker = self._loop.create_task(self._work(token))
        else:
            self._auth_timer = self._loop.call_later(
                self.state.config.auth_timeout, self._refuse, "no auth frame in time"
            )

    def on_message(self, opcode: int, payload: str | bytes) -> None:
        if opcode == OP_BINARY:
            if self.session is None:
                self._refuse("the first frame must be auth")
            else:
                self.session.send(
                    m.Error(code="bad_request", message="hubbub.v1 frames are JSON text")
                )
            return
        assert isinstance(payload, str)
        self._inbox.append(payload)
        if len(self._inbox) >= MAX_INBOX and not self._paused:
            self._paused = True
            self.transport.pause_reading()
        if self._worker is None:
            self._worker = self._loop.create_task(self._work())

    async def _work(self, token: str | None = None) -> None:
        """Handle what is in the inbox, one request after the other, then end. With the
        handshake's ``token``, authenticate first (frames that arrive meanwhile wait)."""
        try:
            if token is not None:
                await self._authenticate(token, None)
            while self._inbox and not self.closing:
                text = self._inbox.popleft()
                if self.session is None:
                    await self._first_frame(text)
                else:
                    await self._request(self.session, text)
                if self._paused and len(self._inbox) < MAX_INBOX // 2 and not self.closing:
                    self._paused = False
                    self.transport.resume_reading()
        finally:
            self._worker = None

    async def _first_frame(self, text: str) -> None:
        if self._auth_timer is not None:
            self._auth_timer.cancel()
        try:
            request = m.decode_request(text)
        except HubbubError:
            self._refuse("the first frame must be a valid auth frame")
            return
        if not isinstance(request, m.Auth):
            self._refuse("authenticate first: send auth with a token")
            return
        await self._authenticate(request.token, request.id)

    async def _authenticate(self, token: str, re: m.RequestId) -> None:
        try:
            user = await self.state.node.actions.authenticate(token)
        except Unauthenticated as exc:
            self._refuse(exc.message)
            return
        if self.closing:
            return
        self.session = Session(user, self)
        self.state.node.hub.add(self.session)
        self.session.send(m.Ready(re=re, user=user))

    def _refuse(self, message: str) -> None:
        self.send_frame(text_frame(m.encode(m.Error(code="unauthenticated", message=message))))
        self.close(CloseCode.UNAUTHENTICATED, "unauthenticated")

    async def _request(self, session: Session, text: str) -> None:
        re: m.RequestId = None
        actions = self.state.node.actions
        try:
            request = m.decode_request(text)
            re = request.id
            if isinstance(request, m.Send):
                while self._inflight >= self.state.config.max_inflight_sends:
                    self._slot_free = self._loop.create_future()
                    await self._slot_free  # the client outruns the disk: stop reading
                reply = await handle(actions, session, request)
                assert isinstance(reply, Pending)
                self._track(session, reply)
                return
            answer = await handle(actions, session, request)
        except HubbubError as exc:
            session.send(_error(exc, getattr(exc, "re", re)))
            return
        except Exception:
            log.exception("request failed")
            session.send(m.Error(re=re, code="internal", message="internal error"))
            return
        if isinstance(answer, msgspec.Struct):
            session.send(answer)

    def _track(self, session: Session, pending: Pending) -> None:
        """Answer ``sent`` when the commit is done: a callback, not a task per send."""
        self._inflight += 1
        stored = asyncio.ensure_future(pending.stored)

        def done(future: asyncio.Future[Appended]) -> None:
            self._inflight -= 1
            if self._slot_free is not None and not self._slot_free.done():
                self._slot_free.set_result(None)
            if self.closing or future.cancelled():
                return
            exc = future.exception()
            if exc is None:
                session.send(pending.sent(future.result()))
            elif isinstance(exc, HubbubError):
                session.send(_error(exc, pending.re))
            else:
                log.error("send failed", exc_info=exc)
                session.send(m.Error(re=pending.re, code="internal", message="internal error"))

        stored.add_done_callback(done)

    def on_close(self) -> None:
        if self.session is not None:
            self.state.node.hub.remove(self.session)
        if self._auth_timer is not None:
            self._auth_timer.cancel()
        if self.closed and self._worker is not None:
            self._worker.cancel()


def _error(exc: HubbubError, re: m.RequestId) -> m.Error:
    retry_after = round(exc.retry_after, 3) if isinstance(exc, RateLimited) else None
    return m.Error(re=re, code=exc.code, message=exc.message, retry_after=retry_after)


class PlainConnection(WsConnection):
    """A guest of the seed's plain-text protocol, in ``lobby``."""

    __slots__ = ("_last_stored", "_refused", "name")

    def __init__(self, state: ServerState, transport: asyncio.Transport, peer: str) -> None:
        super().__init__(state, transport, peer)
        self.name = legacy.ANONYMOUS
        self._last_stored: asyncio.Future[Appended] | None = None
        self._refused = False
        state.node.hub.add_plain(self)

    def on_message(self, opcode: int, payload: str | bytes) -> None:
        if self._refused:
            return
        hub = self.state.node.hub
        if isinstance(payload, bytes):
            hub.to_plain(binary_frame(payload))  # relayed, never stored
            return
        line = legacy.classify(payload)
        if isinstance(line, legacy.StartName):
            self.name = line.name
            hub.to_plain(text_frame(payload.encode()), exclude=self)
            return
        if not line.text:
            return
        if len(line.text) > MAX_BODY_CHARS:
            self.close(CloseCode.TOO_BIG, "message too long")
            return
        try:
            stored = asyncio.ensure_future(
                self.state.node.actions.guest_say(self.name, self.peer, line.text)
            )
        except RateLimited:
            self._refuse_more()
            return
        # Relayed by the hub once committed; here only a failure needs handling.
        stored.add_done_callback(self._stored)
        self._last_stored = stored

    def _refuse_more(self) -> None:
        """Close with 4029, but only after the lines already accepted are relayed back."""
        self._refused = True
        self.transport.pause_reading()
        last = self._last_stored
        if last is None or last.done():
            self.close(CloseCode.RATE_LIMITED, "too many messages")
        else:
            last.add_done_callback(
                lambda _: self.close(CloseCode.RATE_LIMITED, "too many messages")
            )

    def _stored(self, future: asyncio.Future[Appended]) -> None:
        if not future.cancelled() and future.exception() is not None:
            self.close(CloseCode.INTERNAL, "could not store the message")

    def on_close(self) -> None:
        self.state.node.hub.remove_plain(self)
