"""``Client``: one user's connection to a hubbub server, kept up across failures.

The client signs in (a token, or a username and password through ``POST /api/v1/login``),
opens a ``hubbub.v1`` WebSocket with the token as a bearer header, and after ``ready`` sends
``sync`` with the last ``seq`` it delivered per room (``SeqTracker``), so every room event
reaches the application once, in order, across reconnects. When the connection ends it
reconnects after a bounded, jittered backoff, unless the close code says not to (``backoff``).
Messages go through the ``Outbox``: each has its ``client_msg_id`` at once and is sent again
after every reconnect until its ``sent`` arrives; the server stores it once.

The pure parts live beside it: ``backoff``, ``tracker``, ``outbox``, ``frames``. Nothing
here logs; tokens, passwords and bodies appear in no error message.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import os
import random
import uuid
from collections.abc import AsyncIterator, Callable, Iterable, Mapping
from dataclasses import dataclass
from types import TracebackType
from typing import Any

import aiohttp
import msgspec

from hubbub.client import frames
from hubbub.client.backoff import (
    BACKOFF_FIRST,
    BACKOFF_MAX,
    AfterClose,
    after_close,
    backoff_delay,
    handshake_action,
)
from hubbub.client.errors import (
    AuthFailed,
    ClientClosed,
    ClientError,
    ConnectionLost,
    RequestError,
    Stopped,
)
from hubbub.client.outbox import DEFAULT_OUTBOX_LIMIT, Outbox, Outgoing
from hubbub.client.queue import Ended, EventQueue
from hubbub.client.requests import OWN_REQUESTS, Requests, checked_request
from hubbub.client.signals import ConnectionState, Gap, Removed, SendFailed
from hubbub.client.store import OutboxFile
from hubbub.client.tracker import SeqTracker
from hubbub.core.consent import Invitation
from hubbub.core.events import EVENT_CLASSES, Event, Membership, membership_change
from hubbub.protocol import messages as m
from hubbub.transport.http_api import Credentials, ErrorOut, SessionOut

SUBPROTOCOL = "hubbub.v1"
MAX_FRAME_BYTES = 16 * 1024 * 1024  # a history page of long messages fits; more is refused
DEFAULT_EVENT_LIMIT = 10_000  # events received and not taken by the application yet
DEFAULT_REQUEST_TIMEOUT = 30.0
DEFAULT_HEARTBEAT = 20.0  # a WebSocket ping after this much silence; no pong: reconnect
CONNECT_TIMEOUT = 10.0  # a login, or a handshake up to ``ready``
SEND_BACKOFF_STEPS = 8  # retries of one message after which its wait stops growing

# Everything ``events()`` yields: room events, notices, and the client's own signals.
Item = (
    Event
    | m.ReadNotice
    | m.TypingNotice
    | m.MentionNotice
    | m.PresenceNotice
    | m.ProfileNotice
    | Invitation
    | Gap
    | Removed
    | SendFailed
)
StateListener = Callable[[ConnectionState], None]


@dataclass
class _Outcome:
    """How one connection attempt ended."""

    action: AfterClose
    error: ClientError | None = None
    ready: bool = False  # the server said ``ready``: the credential was good
    wait: float = 0.0  # at least this long before the next attempt (``retry_after``)


class _RetryLater(Exception):
    def __init__(self, wait: float = 0.0) -> None:
        self.wait = wait


class Client(Requests):
    """A hubbub client for one user. Use as ``async with Client(url, token=...) as client``
    (or ``await client.connect()`` … ``await client.close()``)."""

    def __init__(
        self,
        url: str,
        *,
        token: str | None = None,
        username: str | None = None,
        password: str | None = None,
        since: Mapping[str, int] | None = None,
        outbox_path: str | os.PathLike[str] | None = None,
        outbox_limit: int = DEFAULT_OUTBOX_LIMIT,
        event_limit: int = DEFAULT_EVENT_LIMIT,
        request_timeout: float = DEFAULT_REQUEST_TIMEOUT,
        heartbeat: float = DEFAULT_HEARTBEAT,
        backoff_first: float = BACKOFF_FIRST,
        backoff_max: float = BACKOFF_MAX,
        on_state: StateListener | None = None,
        session: aiohttp.ClientSession | None = None,
    ) -> None:
        if token is None and (username is None or password is None):
            raise ValueError("give a token, or a username and a password")
        self._http_url, self._ws_url = _urls(url)
        self._token = token
        self._username = username
        self._password = password
        self._tracker = SeqTracker(since)
        self._store = OutboxFile(outbox_path) if outbox_path is not None else None
        self._outbox = Outbox(outbox_limit, self._store.load() if self._store else ())
        self._events: EventQueue[Item] = EventQueue(event_limit)
        self._request_timeout = request_timeout
        self._heartbeat = heartbeat
        self._backoff = (backoff_first, backoff_max)
        self._listeners: list[StateListener] = [on_state] if on_state else []
        self._session = session
        self._own_session = session is None
        self._ids = itertools.count(1)
        self._pending: dict[m.RequestId, asyncio.Future[frames.Frame]] = {}
        self._send_ids: dict[m.RequestId, str] = {}  # request id → client_msg_id
        self._waiters: dict[str, asyncio.Future[m.SentOut]] = {}  # callers of ``send``
        self._send_attempts: dict[str, int] = {}
        self._timers: set[asyncio.TimerHandle] = set()
        self._ws: aiohttp.ClientWebSocketResponse | None = None
        self._task: asyncio.Task[None] | None = None
        self._pump_task: asyncio.Task[None] | None = None
        self._pump_wanted = False
        self._changed = asyncio.Event()
        self.state = ConnectionState.CONNECTING
        self.user: str | None = username.lower() if username else None
        self.error: ClientError | None = None  # why the client stopped, if it did

    # --- lifecycle -------------------------------------------------------------------------

    async def __aenter__(self) -> Client:
        try:
            await self.connect()
        except BaseException:
            await self.close()
            raise
        return self

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.close()

    def start(self) -> None:
        """Start connecting (and reconnecting) in the background; returns at once."""
        if self._task is not None:
            return
        if self._session is None:
            self._session = aiohttp.ClientSession()
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def connect(self, timeout: float | None = None) -> None:
        """Start, and wait until connected and resumed. Raises the error that stopped the
        client (``AuthFailed`` for a bad credential) instead of retrying in vain."""
        self.start()
        await self.wait_connected(timeout)

    async def wait_connected(self, timeout: float | None = None) -> None:
        async with asyncio.timeout(timeout):
            await self._connected_ws()

    async def close(self) -> None:
        """Close the connection and stop. Messages not acknowledged stay in the outbox file
        (when there is one); ``events()`` yields what was received, then ends."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
        self._finish(None)
        if self._pump_task is not None:
            self._pump_task.cancel()
            await asyncio.gather(self._pump_task, return_exceptions=True)
        if self._own_session and self._session is not None:
            await self._session.close()
        self._session = None

    def add_state_listener(self, listener: StateListener) -> None:
        """``listener(state)`` on every change: connected, reconnecting, closed."""
        self._listeners.append(listener)

    async def events(self) -> AsyncIterator[Item]:
        """Room events (each once, in ``seq`` order per room), notices (``typing``,
        ``read``, ``mention``, ``presence``, ``profile``, ``invited`` as an ``Invitation``)
        and the client's ``Gap``, ``Removed`` and ``SendFailed``. Ends when the client is
        closed; raises the error that stopped it."""
        while True:
            try:
                item = await self._events.get()
            except Ended:
                if self.error is not None:
                    raise self.error from None
                return
            yield item

    def since(self) -> dict[str, int]:
        """The last ``seq`` delivered per room: pass it as ``since`` to a later client to
        resume where this one stopped."""
        return self._tracker.since()

    @property
    def repeats(self) -> int:
        """How many room events came at or below their room's last delivered ``seq`` and
        were dropped. The server sends each event once per connection and resumes exactly
        after ``since``, so this stays 0 unless the server breaks that promise."""
        return self._tracker.repeats

    @property
    def outbox(self) -> list[Outgoing]:
        """The messages not acknowledged yet, oldest first."""
        return list(self._outbox)

    # --- sending ---------------------------------------------------------------------------

    def enqueue(
        self,
        room: str,
        body: str,
        *,
        reply_to: int | None = None,
        files: Iterable[str] = (),
        client_msg_id: str | None = None,
    ) -> str:
        """Put a message in the outbox and return its ``client_msg_id`` at once. It is sent
        now if connected, else after the next reconnect, and again after each until it is
        acknowledged. A refusal comes as ``SendFailed`` from ``events()``."""
        if self.state is ConnectionState.CLOSED:
            raise ClientClosed("the client is closed") from self.error
        request = checked_request(
            "send",
            room=room,
            body=body,
            reply_to=reply_to,
            files=list(files),
            client_msg_id=client_msg_id or str(uuid.uuid4()),
        )
        assert isinstance(request, m.Send)
        entry = Outgoing(
            client_msg_id=request.client_msg_id,
            room=request.room,
            body=request.body,
            reply_to=request.reply_to,
            files=tuple(request.files),
        )
        self._outbox.add(entry)
        self._save_outbox()
        self._pump_outbox()
        return entry.client_msg_id

    async def send(
        self,
        room: str,
        body: str,
        *,
        reply_to: int | None = None,
        files: Iterable[str] = (),
        client_msg_id: str | None = None,
    ) -> m.SentOut:
        """Send a message and wait for its ``sent`` (across reconnects: bound the wait with
        ``asyncio.timeout`` if need be; a cancelled wait leaves the message in the outbox).
        Raises ``RequestError`` if the server refuses it for good."""
        key = self.enqueue(room, body, reply_to=reply_to, files=files, client_msg_id=client_msg_id)
        waiter: asyncio.Future[m.SentOut] = asyncio.get_running_loop().create_future()
        self._waiters[key] = waiter
        try:
            return await waiter
        finally:
            self._waiters.pop(key, None)

    # --- requests --------------------------------------------------------------------------

    async def request(self, type_: str, **fields: Any) -> Any:
        """Any request of protocol.md by its ``type`` (``send`` excepted: see ``send``),
        checked here as the server checks it; returns the decoded reply. Waits for the
        connection (up to the request timeout); raises ``RequestError`` for an ``error``
        reply and ``ConnectionLost`` if the connection ends first."""
        if type_ in OWN_REQUESTS:
            raise ValueError(f"the client sends {type_} itself (messages: send or enqueue)")
        frame = await self._exchange(checked_request(type_, **fields))
        return frame.body

    async def _exchange(self, request: m.Request) -> frames.Frame:
        async with asyncio.timeout(self._request_timeout):
            ws = await self._connected_ws()
            frame = await self._call(ws, request)
        if isinstance(frame.body, m.Error):
            error = frame.body
            raise RequestError(error.code, error.message, error.retry_after)
        return frame

    async def _hint(self, request: m.Request) -> None:
        ws = self._ws
        if ws is not None and self.state is ConnectionState.CONNECTED:
            with contextlib.suppress(ConnectionError, aiohttp.ClientError):
                await ws.send_str(m.encode(request).decode())

    async def _call(self, ws: aiohttp.ClientWebSocketResponse, request: m.Request) -> frames.Frame:
        """Send ``request`` on ``ws`` and wait for its reply (an ``error`` included)."""
        rid = next(self._ids)
        request.id = rid
        future: asyncio.Future[frames.Frame] = asyncio.get_running_loop().create_future()
        self._pending[rid] = future
        try:
            try:
                await ws.send_str(m.encode(request).decode())
            except (ConnectionError, aiohttp.ClientError) as exc:
                raise ConnectionLost("the connection ended before the request went out") from exc
            return await future
        finally:
            self._pending.pop(rid, None)

    async def _connected_ws(self) -> aiohttp.ClientWebSocketResponse:
        while True:
            if self.state is ConnectionState.CLOSED:
                if self.error is not None:
                    raise self.error
                raise ClientClosed("the client is closed")
            if self.state is ConnectionState.CONNECTED and self._ws is not None:
                return self._ws
            if self._task is None:
                raise ClientClosed("the client is not started: use connect() or async with")
            await self._changed.wait()

    # --- the connection --------------------------------------------------------------------

    async def _run(self) -> None:
        attempt = 0
        error: ClientError | None = None
        try:
            while True:
                outcome = await self._connect_once()
                if outcome.ready:
                    attempt = 0
                if outcome.action is AfterClose.STOP:
                    raise outcome.error or Stopped("the connection cannot be made")
                if outcome.action is AfterClose.SIGN_IN:
                    if self._password is None or not outcome.ready:
                        raise outcome.error or AuthFailed("the server refused the credential")
                    self._token = None  # revoked while connected: sign in again, once
                attempt += 1
                self._set_state(ConnectionState.RECONNECTING)
                first, ceiling = self._backoff
                delay = backoff_delay(attempt, random.random(), first, ceiling)
                await asyncio.sleep(max(delay, outcome.wait))
        except ClientError as exc:
            error = exc
        finally:
            self._finish(error)

    async def _connect_once(self) -> _Outcome:
        assert self._session is not None
        try:
            token = await self._credential()
        except _RetryLater as later:
            return _Outcome(AfterClose.RETRY, wait=later.wait)
        try:
            async with asyncio.timeout(CONNECT_TIMEOUT):
                ws = await self._session.ws_connect(
                    self._ws_url,
                    protocols=(SUBPROTOCOL,),
                    headers={"Authorization": f"Bearer {token}"},
                    heartbeat=self._heartbeat,
                    max_msg_size=MAX_FRAME_BYTES,
                )
        except aiohttp.WSServerHandshakeError as exc:
            action = handshake_action(exc.status)
            refusal = f"the server refused the WebSocket handshake with HTTP {exc.status}"
            if action is AfterClose.SIGN_IN:
                return _Outcome(action, AuthFailed(refusal, status=exc.status))
            return _Outcome(action, Stopped(refusal, status=exc.status))
        except (aiohttp.ClientError, OSError, TimeoutError):
            return _Outcome(AfterClose.RETRY)  # refused, reset, unreachable: try again
        try:
            if ws.protocol != SUBPROTOCOL:
                return _Outcome(AfterClose.STOP, Stopped("the server does not speak hubbub.v1"))
            return await self._converse(ws)
        finally:
            await ws.close()

    async def _credential(self) -> str:
        if self._token is not None:
            return self._token
        assert self._session is not None and self._username is not None
        assert self._password is not None
        body = msgspec.json.encode(Credentials(self._username, self._password))
        try:
            async with (
                asyncio.timeout(CONNECT_TIMEOUT),
                self._session.post(
                    f"{self._http_url}/api/v1/login",
                    data=body,
                    headers={"Content-Type": "application/json"},
                ) as response,
            ):
                data = await response.read()
        except (aiohttp.ClientError, OSError, TimeoutError):
            raise _RetryLater() from None
        if response.status == 200:
            self._token = msgspec.json.decode(data, type=SessionOut).token
            return self._token
        try:
            error = msgspec.json.decode(data, type=ErrorOut)
        except msgspec.MsgspecError:
            error = ErrorOut(code="", message=f"HTTP {response.status}")
        if response.status in (401, 403):
            raise AuthFailed(error.message, error.code, status=response.status)
        if response.status in (408, 429) or response.status >= 500:
            raise _RetryLater(error.retry_after or 0.0)
        raise Stopped(f"login was refused: {error.message}", status=response.status)

    async def _converse(self, ws: aiohttp.ClientWebSocketResponse) -> _Outcome:
        """One connection, from the handshake to its close."""
        self._tracker.begin()
        ready = unauthenticated = False
        resume: asyncio.Task[None] | None = None
        try:
            async with asyncio.timeout(CONNECT_TIMEOUT) as deadline:
                async for message in ws:
                    if message.type is not aiohttp.WSMsgType.TEXT:
                        continue  # the server sends only text; nothing else is ours
                    try:
                        frame = frames.decode(message.data)
                    except frames.BadFrame:
                        continue
                    if isinstance(frame.body, m.Error) and frame.re is None:
                        unauthenticated |= frame.body.code == "unauthenticated"
                    if not ready:
                        if isinstance(frame.body, m.Ready):
                            ready = True
                            deadline.reschedule(None)
                            self.user = frame.body.user
                            self._ws = ws
                            resume = asyncio.get_running_loop().create_task(self._resume(ws))
                        continue
                    await self._dispatch(frame)
        except TimeoutError:
            pass  # no ``ready`` in time: closed below and tried again
        finally:
            self._ws = None
            if resume is not None:
                resume.cancel()
                await asyncio.gather(resume, return_exceptions=True)
            self._connection_ended()
        action = after_close(ws.close_code, unauthenticated)
        error: ClientError | None = None
        if action is AfterClose.SIGN_IN:
            error = AuthFailed("the server refused the token", close_code=ws.close_code)
        elif action is AfterClose.STOP:
            error = Stopped(f"the server closed with {ws.close_code}", close_code=ws.close_code)
        return _Outcome(action, error, ready)

    async def _resume(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        """After ``ready``: ``sync`` from the last seq delivered per room, then connected."""
        try:
            async with asyncio.timeout(self._request_timeout):
                since = self._tracker.since()
                frame = await self._call(ws, m.Sync(since=since))
                if isinstance(frame.body, m.Error) and frame.body.code == "not_found":
                    # Removed from a room while away: resume the rooms the user is in.
                    rooms = await self._call(ws, m.Rooms())
                    if isinstance(rooms.body, m.RoomsReply):
                        gone = self._tracker.keep_only(room.name for room in rooms.body.rooms)
                        for room in gone:
                            await self._events.put(Removed(room=room))
                    since = self._tracker.since()
                    frame = await self._call(ws, m.Sync(since=since))
        except (TimeoutError, ConnectionLost):
            await ws.close()
            return
        if not isinstance(frame.body, m.Synced):
            await ws.close()  # the resume failed (storage unavailable …): reconnect later
            return
        await self._apply_synced(frame.body, set(since))
        self._set_state(ConnectionState.CONNECTED)
        self._pump_outbox()

    async def _apply_synced(self, synced: m.Synced, named: set[str]) -> None:
        for room, state in synced.rooms.items():
            gap = self._tracker.synced(room, state.last_seq, state.complete, room in named)
            if gap:
                await self._events.put(Gap(room=room, last_seq=state.last_seq))

    async def _dispatch(self, frame: frames.Frame) -> None:
        if frame.re is not None:
            future = self._pending.pop(frame.re, None)
            if future is not None:
                if not future.done():
                    future.set_result(frame)
                return
            key = self._send_ids.pop(frame.re, None)
            if key is not None:
                await self._answered(key, frame)
            return  # a reply nobody waits for any more (its request timed out)
        body = frame.body
        if frame.type in EVENT_CLASSES:
            event: Event = body
            if self._tracker.accept(event.room, event.seq):
                await self._events.put(event)
                if event.user == self.user and membership_change(event) is Membership.LEFT:
                    self._tracker.forget(event.room)
        elif isinstance(body, m.Synced):
            await self._apply_synced(body, set(body.rooms))  # a hole the server could not fill
        elif frame.type in frames.NOTICE_TYPES and body is not None:
            self._events.offer(body)  # hints: dropped rather than waited for when full

    async def _answered(self, key: str, frame: frames.Frame) -> None:
        """The answer to a ``send`` of the outbox."""
        body = frame.body
        if isinstance(body, m.SentOut):
            self._done_sending(key)
            waiter = self._waiters.pop(key, None)
            if waiter is not None and not waiter.done():
                waiter.set_result(body)
        elif isinstance(body, m.Error):
            error = RequestError(body.code, body.message, body.retry_after)
            if error.code in ("rate_limited", "unavailable"):
                attempts = self._send_attempts.get(key, 0) + 1
                self._send_attempts[key] = attempts
                first, ceiling = self._backoff
                step = min(attempts, SEND_BACKOFF_STEPS)
                wait = backoff_delay(step, random.random(), first, ceiling)
                self._retry_after(key, max(error.retry_after or 0.0, wait))
                return
            entry = self._done_sending(key)
            waiter = self._waiters.pop(key, None)
            if waiter is not None and not waiter.done():
                waiter.set_exception(error)
            elif entry is not None:
                await self._events.put(SendFailed(client_msg_id=key, room=entry.room, error=error))
        self._pump_outbox()

    def _done_sending(self, key: str) -> Outgoing | None:
        self._send_attempts.pop(key, None)
        entry = self._outbox.done(key)
        if entry is not None:
            self._save_outbox()
        return entry

    def _retry_after(self, key: str, wait: float) -> None:
        def release() -> None:
            self._timers.discard(handle)
            self._outbox.release(key)
            self._pump_outbox()

        handle = asyncio.get_running_loop().call_later(wait, release)
        self._timers.add(handle)

    def _pump_outbox(self) -> None:
        self._pump_wanted = True
        if self._pump_task is None or self._pump_task.done():
            self._pump_task = asyncio.get_running_loop().create_task(self._pump())

    async def _pump(self) -> None:
        while self._pump_wanted:
            self._pump_wanted = False
            ws = self._ws
            if ws is None or self.state is not ConnectionState.CONNECTED:
                return
            for entry in self._outbox.ready():
                rid = next(self._ids)
                self._send_ids[rid] = entry.client_msg_id
                self._outbox.sending(entry.client_msg_id)
                request = m.Send(
                    id=rid,
                    room=entry.room,
                    client_msg_id=entry.client_msg_id,
                    body=entry.body,
                    reply_to=entry.reply_to,
                    files=list(entry.files),
                )
                try:
                    await ws.send_str(m.encode(request).decode())
                except (ConnectionError, aiohttp.ClientError):
                    return  # the connection is ending: everything goes again on the next

    def _connection_ended(self) -> None:
        """Requests waiting for a reply fail; the outbox sends everything again later."""
        for future in self._pending.values():
            if not future.done():
                future.set_exception(ConnectionLost("the connection ended before the reply"))
        self._pending.clear()
        self._send_ids.clear()
        self._outbox.reset()
        for handle in self._timers:
            handle.cancel()
        self._timers.clear()

    def _save_outbox(self) -> None:
        if self._store is not None:
            self._store.save(self._outbox)

    def _set_state(self, state: ConnectionState) -> None:
        if state is self.state:
            return
        self.state = state
        changed, self._changed = self._changed, asyncio.Event()
        changed.set()
        for listener in list(self._listeners):
            listener(state)

    def _finish(self, error: ClientError | None) -> None:
        if self.state is ConnectionState.CLOSED:
            return
        self.error = error
        self._connection_ended()
        closed = ClientClosed("the client is closed")
        closed.__cause__ = error
        for waiter in self._waiters.values():
            if not waiter.done():
                waiter.set_exception(error or closed)
        self._waiters.clear()
        self._events.end()
        self._set_state(ConnectionState.CLOSED)


def _urls(url: str) -> tuple[str, str]:
    """The HTTP base and the WebSocket URL of a server's base URL (http or https)."""
    base = url.rstrip("/")
    if base.startswith("https://"):
        return base, "wss://" + base.removeprefix("https://") + "/"
    if base.startswith("http://"):
        return base, "ws://" + base.removeprefix("http://") + "/"
    raise ValueError("the server's URL starts with http:// or https://")
