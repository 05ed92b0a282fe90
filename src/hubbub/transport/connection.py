"""WebSocket connections after the handshake: hubbub's own, lean protocol objects.

A connection is ``OPEN`` until a close frame goes out (ours, or our answer to the peer's),
then ``CLOSING``, then ``CLOSED`` when the TCP connection is gone; the opening handshake is
the front door's. Exactly one close frame is ever written, and a closing connection that
still has unsent output is cut off after a short grace, so no socket lingers.

Outgoing: the first frame of an event-loop turn, pongs included, is written at once, so a
room's first receivers do not wait for the fan-out to reach its last; the frames that follow
it in the same turn are queued and written in one piece when the turn ends (``turns``),
because one ``send()`` syscall costs about as much as a whole delivery should. A peer whose
unsent bytes (queued and in the transport) pass the connection's bound is a slow consumer: it
gets close code 4000 behind what it has not read yet and ``slow_consumer_grace`` seconds to
read it, then is cut off; nobody else waits for it.

Incoming: ``FrameParser`` turns bytes into messages. At a protocol violation the messages
before it are still handled, then the connection closes with the parser's code without
waiting for an answer. A hubbub.v1 connection handles messages in order in a task that
exists only while there is something to handle, so an idle connection costs a few small
objects and no coroutine. Liveness (pings to quiet peers) is one sweep per server, see
``liveness``: a connection only notes when it last heard anything.
"""

from __future__ import annotations

import asyncio
import enum
import logging
from collections import deque
from typing import TYPE_CHECKING

import msgspec

from hubbub.auth.tokens import token_hash
from hubbub.broker.base import Notice, Payload
from hubbub.core.events import Message
from hubbub.core.models import storable
from hubbub.errors import HubbubError, RateLimited, Unauthenticated, Unavailable
from hubbub.protocol import legacy
from hubbub.protocol import messages as m
from hubbub.protocol.codes import CloseCode
from hubbub.protocol.limits import MAX_BODY_CHARS
from hubbub.protocol.wsframe import (
    NO_CLOSE_CODE,
    OP_BINARY,
    OP_CLOSE,
    OP_PING,
    OP_PONG,
    FrameError,
    FrameParser,
    binary_frame,
    close_frame,
    parse_close,
    text_frame,
)
from hubbub.service.hub import Hub
from hubbub.service.requests import Pending, handle
from hubbub.service.session import Encoded, Session
from hubbub.storage.base import Appended
from hubbub.transport.admission import Place
from hubbub.transport.liveness import Verdict, verdict

if TYPE_CHECKING:
    from hubbub.transport.context import ServerState

log = logging.getLogger(__name__)

MAX_INBOX = 64  # requests read but not yet handled; past it, reading pauses
_PING = b"\x89\x00"  # a ping without payload, from the liveness sweep
_NEVER = float("-inf")
_PONG = 0x8A


def _pong_frame(payload: bytes) -> bytes:
    return bytes((_PONG, len(payload))) + payload


class ConnState(enum.Enum):
    OPEN = "open"  # frames flow both ways
    CLOSING = "closing"  # our close frame is written: nothing more goes out
    CLOSED = "closed"  # the TCP connection is gone


# Read once per delivery: a module global costs a tenth of an enum class attribute lookup.
_OPEN, _CLOSING, _CLOSED = ConnState.OPEN, ConnState.CLOSING, ConnState.CLOSED


class WsConnection(asyncio.Protocol):
    """Frames in and out, closing, liveness and the outgoing bound. Subclasses handle messages."""

    __slots__ = (
        "_close_timer",
        "_heard",
        "_loop",
        "_outbox_bound",
        "_parser",
        "_pinged",
        "_queue",
        "_state",
        "_turn_end",
        "_wrote",
        "peer",
        "place",
        "state",
        "transport",
    )

    def __init__(self, state: ServerState, transport: asyncio.Transport, peer: str) -> None:
        self.state = state
        self.transport = transport
        self.peer = peer
        self.place = Place.NONE  # where the caps count it (set by the front door)
        self._loop = asyncio.get_running_loop()
        self._parser = FrameParser(state.config.max_frame_bytes)
        self._queue: list[bytes] = []
        self._outbox_bound = state.config.max_outbox_bytes
        self._turn_end = state.turn_end
        self._wrote = False  # this turn's first frame is out: queue the rest
        self._close_timer: asyncio.TimerHandle | None = None
        self._state = _OPEN
        self._heard = self._loop.time()  # when anything last arrived
        self._pinged = _NEVER  # when the liveness sweep last pinged it
        state.connections.add(self)

    @property
    def closing(self) -> bool:
        """A close frame was written: nothing more goes out (true once closed, too)."""
        return self._state is not _OPEN

    @property
    def closed(self) -> bool:
        return self._state is _CLOSED

    @property
    def unsent(self) -> int:
        """Bytes written to this connection that the peer has not taken yet."""
        if self._state is _CLOSED:
            return 0
        return sum(map(len, self._queue)) + self.transport.get_write_buffer_size()

    # --- outgoing ---------------------------------------------------------------------

    def send(self, message: Encoded) -> None:
        """Queue a message of the service layer. It is framed once, by the first connection
        that sends it, which keeps the frame in it: every other one queues the same bytes."""
        if self._state is not _OPEN:
            return
        frame = message.frame
        if frame is None:
            frame = message.frame = (binary_frame if message.binary else text_frame)(message.data)
        # send_frame's body, inlined: the fan-out's hot path spares a call per delivery.
        if self._wrote:
            self._queue.append(frame)
        else:
            self._wrote = True
            self._turn_end.wrote(self)
            self.transport.write(frame)

    def send_frame(self, frame: bytes) -> None:
        if self._state is not _OPEN:
            return
        if self._wrote:
            self._queue.append(frame)
        else:
            self._wrote = True
            self._turn_end.wrote(self)
            self.transport.write(frame)

    def end_turn(self) -> None:
        """The turn's end (``turns``): write what was queued after its first frame."""
        self._flush()

    def _flush(self) -> None:
        """Write what is queued; past the bound, the peer is a slow consumer."""
        self._wrote = False
        queue = self._queue
        if self._state is _CLOSED:
            queue.clear()
            return
        if queue:
            self.transport.write(queue[0] if len(queue) == 1 else b"".join(queue))
            queue.clear()
        if self._state is _OPEN and self.transport.get_write_buffer_size() > self._outbox_bound:
            self._drop_slow_consumer()

    def _drop_slow_consumer(self) -> None:
        """Close behind what is buffered; time to read it, then cut off."""
        self.state.slow_consumers_dropped += 1
        log.info("disconnecting a slow consumer (%d bytes unsent)", self.unsent)
        grace = self.state.config.slow_consumer_grace
        self._send_close(CloseCode.SLOW_CONSUMER, "too slow; reconnect and sync", grace)

    def close(self, code: int, reason: str = "") -> None:
        """Send what is queued, then our close frame; the peer's answer ends the connection,
        or ``close_timeout`` does."""
        self._send_close(code, reason, self.state.config.close_timeout)

    def close_now(self, code: int, reason: str = "") -> None:
        """Our close frame, then end the TCP connection without waiting for an answer."""
        if self._send_close(code, reason, self.state.config.close_timeout):
            self.transport.close()  # after the buffer drains; the timer cuts it off if not

    def _send_close(self, code: int, reason: str, grace: float) -> bool:
        """The one place a close frame is written: only while open, so exactly once."""
        if self._state is not _OPEN:
            return False
        self._state = _CLOSING
        self.state.closes[code] += 1
        self._queue.append(close_frame(code, reason))
        self._flush()
        self._close_timer = self._loop.call_later(grace, self.transport.abort)
        # Next turn: a close may come from inside the hub's fan-out, which must not see its
        # sessions change while it iterates them. Until then, nothing more goes out.
        self._loop.call_soon(self.on_close)
        return True

    # --- incoming ---------------------------------------------------------------------

    def data_received(self, data: bytes) -> None:
        self._heard = self._loop.time()
        parser = self._parser
        pongs = 0  # bytes of pongs queued for this read
        for opcode, payload in parser.feed(data):
            if opcode == OP_CLOSE:
                self._peer_closed(payload if isinstance(payload, bytes) else b"")
                return
            if self._state is not _OPEN:
                continue
            if opcode == OP_PING:
                pong = _pong_frame(payload if isinstance(payload, bytes) else b"")
                self.send_frame(pong)
                pongs += len(pong)
                if pongs > self._outbox_bound:  # one read of pings must not pass the bound
                    self._flush()
                    pongs = 0
            elif opcode == OP_PONG:
                self.state.pongs_received += 1
            else:
                self.on_message(opcode, payload)
        error = parser.error
        if error is not None:
            self.transport.pause_reading()  # nothing more will be parsed
            if self._state is _OPEN:
                self.on_protocol_error(error.code, error.reason)
            else:
                self.transport.close()

    def _peer_closed(self, payload: bytes) -> None:
        """Answer the peer's close with its own code (RFC 6455 section 5.5.1) and end TCP."""
        if self._state is not _OPEN:  # the answer to ours: the handshake is done
            self.transport.close()
            return
        try:
            code, _ = parse_close(payload)
        except FrameError as exc:
            self.close_now(exc.code, exc.reason)
            return
        self.close_now(CloseCode.NORMAL if code == NO_CLOSE_CODE else code)

    def check_liveness(self, now: float) -> None:
        """Called by the liveness sweep: ping a quiet peer, drop one that stays silent."""
        if self._state is not _OPEN:
            return  # its close has a timer of its own
        if not self.transport.is_reading():
            self._heard = now  # we are the ones not listening, not the peer
            return
        config = self.state.config
        action = verdict(now, self._heard, self._pinged, config.ping_interval, config.ping_timeout)
        if action is Verdict.PING:
            self._pinged = now
            self.state.pings_sent += 1
            self.send_frame(_PING)
        elif action is Verdict.DEAD:
            self.state.ping_timeouts += 1
            self.close_now(CloseCode.INTERNAL, "ping timeout")

    def connection_lost(self, exc: Exception | None) -> None:
        self._state = _CLOSED
        if self._close_timer is not None:
            self._close_timer.cancel()
        self.place = self.state.admission.release(self.peer, self.place)
        self.state.connections.discard(self)
        self.on_close()

    # --- for subclasses ------------------------------------------------------------------

    def on_message(self, opcode: int, payload: str | bytes) -> None:
        raise NotImplementedError

    def on_protocol_error(self, code: int, reason: str) -> None:
        """The peer broke RFC 6455 after the messages already handled: close at once."""
        self.close_now(code, reason)

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
        self._outbox_bound = state.config.unauthenticated_outbox_bytes  # until `ready`
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
                self._send_error(
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
        except Exception as exc:  # storage down (or a bug): say so and close, never hang
            self._cannot_authenticate(exc, re)
            return
        if self.closing or not self._signed_in():
            return
        self.session = Session(user, self, token_hash(token))
        self.state.node.hub.add(self.session)
        self.session.send(m.Ready(re=re, user=user))

    def _refuse(self, message: str) -> None:
        self._send_error(m.Error(code="unauthenticated", message=message))
        self.close(CloseCode.UNAUTHENTICATED, "unauthenticated")

    def _send_error(self, error: m.Error) -> None:
        """The one way an error frame goes out, so that /metrics counts each by its code."""
        self.state.errors["ws", error.code] += 1
        if self.session is None:
            self.send_frame(text_frame(m.encode(error)))
        else:
            self.session.send(error)

    def _cannot_authenticate(self, exc: Exception, re: m.RequestId) -> None:
        if isinstance(exc, Unavailable):
            error, reason = _error(exc, re), "storage unavailable"
        else:
            log.error("authentication failed", exc_info=exc)
            error = m.Error(re=re, code="internal", message="internal error")
            reason = "internal error"
        self._send_error(error)
        self.close(CloseCode.INTERNAL, reason)

    def _signed_in(self) -> bool:
        """Count the socket as a signed-in user's, and give it the full outgoing bound;
        past the address's cap of signed-in sockets, close it with 1013 instead."""
        place = self.state.admission.sign_in(self.peer, self.place)
        if place is None:
            self.close(CloseCode.TRY_AGAIN_LATER, "too many connections from this address")
            return False
        self.place = place
        self._outbox_bound = self.state.config.max_outbox_bytes
        return True

    def on_protocol_error(self, code: int, reason: str) -> None:
        """Requests read before the bad frame are still answered, then the connection fails."""
        worker = self._worker
        if worker is None:
            self.close_now(code, reason)
        else:
            worker.add_done_callback(lambda _: self.close_now(code, reason))

    async def _request(self, session: Session, text: str) -> None:
        re: m.RequestId = None
        kind = ""  # the request's type, once decoded
        actions = self.state.node.actions
        try:
            request = m.decode_request(text)
            re = request.id
            kind = str(request.__struct_config__.tag)
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
            if isinstance(exc, RateLimited):
                self.state.rate_limited["ws", kind] += 1
            self._send_error(_error(exc, getattr(exc, "re", re)))
            return
        except Exception:
            log.exception("request failed", extra={"request": kind})
            self._send_error(m.Error(re=re, code="internal", message="internal error"))
            return
        if isinstance(answer, m.Error):
            self._send_error(answer)
        elif isinstance(answer, msgspec.Struct):
            session.send(answer)

    def _track(self, session: Session, pending: Pending) -> None:
        """Answer ``sent`` when the commit is done: a callback, not a task per send."""
        self._inflight += 1
        stored = asyncio.ensure_future(pending.stored)

        def done(future: asyncio.Future[Appended[Message]]) -> None:
            self._inflight -= 1
            if self._slot_free is not None and not self._slot_free.done():
                self._slot_free.set_result(None)
            if self.closing or future.cancelled():
                return
            exc = future.exception()
            if exc is None:
                session.send(pending.sent(future.result()))
            elif isinstance(exc, HubbubError):
                self._send_error(_error(exc, pending.re))
            else:
                log.error("send failed", exc_info=exc)
                self._send_error(m.Error(re=pending.re, code="internal", message="internal error"))

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


class LobbyRelay:
    """What this node's guests are shown of committed events (``legacy.guest_line``): a
    broker subscriber next to the hub, so the hub knows nothing of the seed's protocol.
    Guests' own relays (renames, empty lines, binary frames) reach them as notices."""

    def __init__(self, hub: Hub) -> None:
        self._hub = hub

    def __call__(self, payload: Payload) -> None:
        hub = self._hub
        if isinstance(payload, Notice) or not hub.guests:  # guests may be turned on later
            return
        written: list[tuple[int, int]] = []  # (ts, frames), for the delivery metrics
        for event in payload:
            line = legacy.guest_line(event)
            if line is not None:
                hub.to_guests(Encoded(line.encode()))
                written.append((event.ts, hub.guests))
        if written and hub.guests:
            hub.written(written)


class PlainConnection(WsConnection):
    """A guest of the seed's plain-text protocol, in ``lobby``."""

    __slots__ = ("_last_stored", "_refused", "guest_id", "name")

    def __init__(self, state: ServerState, transport: asyncio.Transport, peer: str) -> None:
        super().__init__(state, transport, peer)
        self.name = legacy.ANONYMOUS
        self._last_stored: asyncio.Future[Appended[Message]] | None = None
        self._refused = False
        self.guest_id = state.node.hub.add_guest(self)

    def on_message(self, opcode: int, payload: str | bytes) -> None:
        if self._refused:
            return
        if isinstance(payload, bytes):
            self._relay(payload, binary=True)  # relayed, never stored
            return
        line = legacy.classify(payload)
        if isinstance(line, legacy.StartName):
            if self._relay(payload.encode(), exclude=self.guest_id):
                self.name = line.name
            return
        if not line.text:
            self._relay(b"")  # relayed as the seed's server did, never stored
            return
        if len(line.text) > MAX_BODY_CHARS:
            self.close(CloseCode.TOO_BIG, "message too long")
            return
        if not storable(line.text):
            self.close(CloseCode.INVALID_DATA, "NUL is not text hubbub stores")
            return
        try:
            stored = asyncio.ensure_future(
                self.state.node.actions.guest_say(self.name, self.peer, line.text)
            )
        except RateLimited:
            self._refuse_more("message")
            return
        # Relayed by the ``LobbyRelay`` once committed; here only a failure needs handling.
        stored.add_done_callback(self._stored)
        self._last_stored = stored

    def _relay(self, data: bytes, binary: bool = False, exclude: int | None = None) -> bool:
        """Relay a frame that is not stored, within the address's relay rate."""
        try:
            self.state.node.actions.guest_relay(self.peer, data, binary, exclude)
        except RateLimited:
            self._refuse_more("relay")
            return False
        return True

    def _refuse_more(self, kind: str) -> None:
        """Close with 4029, but only after the lines already accepted are relayed back."""
        self.state.rate_limited["plain", kind] += 1
        self._refused = True
        self.transport.pause_reading()
        last = self._last_stored
        if last is None or last.done():
            self.close(CloseCode.RATE_LIMITED, "too many messages")
        else:
            last.add_done_callback(
                lambda _: self.close(CloseCode.RATE_LIMITED, "too many messages")
            )

    def _stored(self, future: asyncio.Future[Appended[Message]]) -> None:
        if not future.cancelled() and future.exception() is not None:
            self.close(CloseCode.INTERNAL, "could not store the message")

    def on_close(self) -> None:
        self.state.node.hub.remove_guest(self.guest_id)
