"""Delivering a room's new messages to its outgoing webhooks (``core.outgoing``).

The send path only calls ``offer``, which never waits: the message goes to one dispatcher
task, which finds the room's hooks (read from storage, kept ``ROOM_HOOKS_TTL`` seconds; this
node's changes forget them at once) and the author's profile, and puts the message in the
bounded queue of each hook it fires. Each hook has one worker task that POSTs its messages
one at a time, signed, with retries; so a slow or failing receiver delays only its own
hook. Each delivery's outcome is kept in storage (the newest ``KEPT_DELIVERIES`` per hook);
a receiver's reply ``text`` is posted back as the hook's bot.

Best effort, as Slack's: what is queued in memory is lost when the node stops. Only the node
whose actions stored a message delivers it, so each message is delivered once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import time
from collections.abc import Awaitable, Callable

import aiohttp
import msgspec

from hubbub.config import Config
from hubbub.core import outgoing
from hubbub.core.events import Message
from hubbub.core.outgoing import Delivery, OutgoingWebhook, Sent, SentMessage
from hubbub.errors import BadRequest
from hubbub.service.safe_resolver import ForbiddenAddress, SafeResolver
from hubbub.storage.base import Storage

log = logging.getLogger(__name__)

ROOM_HOOKS_TTL = 5.0  # seconds a room's hooks are known without reading them again
MAX_ROOMS_KNOWN = 10_000  # rooms whose hooks are kept; past it, all are forgotten
RESOLVE_TIMEOUT = 5.0  # seconds to resolve a new hook's host
DISPATCH_BOUND = 10_000  # messages waiting for the dispatcher; past it, dropped
Clock = Callable[[], int]  # ms since the epoch
Reply = Callable[[OutgoingWebhook, str], Awaitable[object]]  # posts a reply as the hook's bot


class _Worker:
    """One hook's queue and the task that delivers it."""

    def __init__(self, hook: OutgoingWebhook, secret: str, allow_private: bool) -> None:
        self.hook = hook
        self.secret = secret
        # An address in the URL is connected to without the resolver: checked here, once.
        literal = outgoing.address_literal(outgoing.check_url(hook.url).host)
        self.forbidden = (
            literal is not None and not allow_private and outgoing.forbidden_address(literal)
        )
        self.queue: asyncio.Queue[tuple[Message, bytes]] = asyncio.Queue(outgoing.QUEUE_BOUND)
        self.task: asyncio.Task[None] | None = None


class OutgoingWebhooks:
    def __init__(self, config: Config, storage: Storage, clock: Clock) -> None:
        self.config = config
        self.storage = storage
        self.clock = clock
        self.reply: Reply | None = None  # set by Actions
        self._rooms: dict[str, tuple[float, list[tuple[OutgoingWebhook, str]]]] = {}
        self._workers: dict[str, _Worker] = {}
        self._inbox: asyncio.Queue[Message] = asyncio.Queue(DISPATCH_BOUND)
        self._dispatcher: asyncio.Task[None] | None = None
        self._http: aiohttp.ClientSession | None = None
        self._dropped = False  # logged once until the inbox has room again

    # --- lifecycle ------------------------------------------------------------------------

    def start(self) -> None:
        resolver = None if self.config.outgoing_webhooks_allow_private else SafeResolver()
        connector = aiohttp.TCPConnector(resolver=resolver, use_dns_cache=False, limit=100)
        self._http = aiohttp.ClientSession(
            connector=connector,
            trust_env=False,  # no proxy from the environment: the resolver decides
            headers={"User-Agent": "hubbub-webhooks"},
        )
        self._dispatcher = asyncio.get_running_loop().create_task(
            self._dispatch(), name="hubbub outgoing webhooks"
        )

    async def stop(self) -> None:
        """Cancel the dispatcher and every worker (what they held is lost), then close."""
        tasks = [w.task for w in self._workers.values() if w.task is not None]
        if self._dispatcher is not None:
            tasks.append(self._dispatcher)
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._dispatcher = None
        self._workers.clear()
        self._rooms.clear()
        if self._http is not None:
            await self._http.close()
            self._http = None

    # --- the send path ----------------------------------------------------------------------

    def offer(self, message: Message) -> None:
        """A message this node stored: handed to the dispatcher, never waited for."""
        if self._dispatcher is None:
            return
        known = self._rooms.get(message.room)
        if known is not None and not known[1] and time.monotonic() - known[0] < ROOM_HOOKS_TTL:
            return  # a room without hooks, the common case: no hop through the dispatcher
        try:
            self._inbox.put_nowait(message)
            self._dropped = False
        except asyncio.QueueFull:
            if not self._dropped:
                log.warning("outgoing webhooks: %d messages waiting; dropping", DISPATCH_BOUND)
            self._dropped = True

    def forget(self, room: str) -> None:
        """The room's hooks changed on this node: read them again for the next message."""
        self._rooms.pop(room, None)

    async def _dispatch(self) -> None:
        while True:
            message = await self._inbox.get()
            try:
                await self._fan_out(message)
            except Exception as exc:  # storage out of reach, say: this message is dropped
                log.warning("outgoing webhooks of %r: %s", message.room, exc)

    async def _fan_out(self, message: Message) -> None:
        hooks = await self._hooks(message.room)
        if not hooks:
            return
        found = await self.storage.profiles([message.user])
        profile = found[0] if found else None
        from_bot = profile is not None and profile.bot
        for hook, secret in hooks:
            word = outgoing.match(hook, message.body, message.mentions, from_bot)
            if word is None:
                continue
            worker = self._worker(hook, secret)
            display = profile.display_name if profile is not None else ""
            body = _payload(hook, message, display, word)
            try:
                worker.queue.put_nowait((message, body))
            except asyncio.QueueFull:
                self._record(hook, message, attempts=0, error=outgoing.QUEUE_FULL, started=None)

    async def _hooks(self, room: str) -> list[tuple[OutgoingWebhook, str]]:
        now = time.monotonic()
        known = self._rooms.get(room)
        if known is not None and now - known[0] < ROOM_HOOKS_TTL:
            return known[1]
        hooks = await self.storage.outgoing_webhooks(room)
        if len(self._rooms) >= MAX_ROOMS_KNOWN:
            self._rooms.clear()
        self._rooms[room] = (now, hooks)
        live = {hook.id for hook, _ in hooks}
        for hook_id, worker in list(self._workers.items()):
            if worker.hook.room == room and hook_id not in live:  # revoked: stop delivering
                del self._workers[hook_id]
                if worker.task is not None:
                    worker.task.cancel()
        return hooks

    def _worker(self, hook: OutgoingWebhook, secret: str) -> _Worker:
        worker = self._workers.get(hook.id)
        if worker is None:
            allow_private = self.config.outgoing_webhooks_allow_private
            worker = self._workers[hook.id] = _Worker(hook, secret, allow_private)
            worker.task = asyncio.get_running_loop().create_task(
                self._work(worker), name=f"hubbub outgoing webhook {hook.id}"
            )
        return worker

    # --- delivery -----------------------------------------------------------------------------

    async def _work(self, worker: _Worker) -> None:
        while True:
            message, body = await worker.queue.get()
            try:
                await self._deliver(worker, message, body)
            except Exception as exc:  # never the worker's end: the next message goes on
                log.warning("outgoing webhook %s: %s", worker.hook.id, exc)

    async def _deliver(self, worker: _Worker, message: Message, body: bytes) -> None:
        hook, config = worker.hook, self.config
        started = time.monotonic()
        status: int | None = None
        error = ""
        raw = b""
        attempts = 0
        if worker.forbidden:
            error = "the address is not public"
            self._record(hook, message, attempts=0, error=error, started=started)
            return
        while attempts < config.outgoing_webhook_attempts:
            if attempts:
                delay = outgoing.backoff(attempts, config.outgoing_webhook_retry_delay)
                await asyncio.sleep(delay)
            attempts += 1
            retry = False
            try:
                status, raw = await self._post(worker, body)
                if 200 <= status < 300:
                    error = ""
                else:
                    error = f"HTTP {status}"
                    retry = outgoing.retryable(status)
            except ForbiddenAddress as exc:
                status, error = None, str(exc)
            except aiohttp.ClientConnectorError as exc:
                status, error = None, _connect_error(exc)
                retry = not isinstance(exc.os_error, ForbiddenAddress)
            except TimeoutError:
                status, error = None, f"no answer in {config.outgoing_webhook_timeout:g} s"
                retry = True
            except aiohttp.ClientError as exc:
                status, error = None, type(exc).__name__ + (f": {exc}" if str(exc) else "")
                retry = True
            if not retry:
                break
        if status is not None and 200 <= status < 300:
            error = await self._reply(worker, raw)
        self._record(hook, message, attempts=attempts, status=status, error=error, started=started)

    async def _post(self, worker: _Worker, data: bytes) -> tuple[int, bytes]:
        """One attempt: the status and at most ``MAX_REPLY_BYTES`` + 1 of a JSON answer."""
        assert self._http is not None
        timestamp = self.clock() // 1000
        headers = {
            "Content-Type": "application/json",
            "X-Hubbub-Timestamp": str(timestamp),
            "X-Hubbub-Signature": outgoing.signature(worker.secret, timestamp, data),
        }
        async with asyncio.timeout(self.config.outgoing_webhook_timeout):
            async with self._http.post(
                worker.hook.url, data=data, headers=headers, allow_redirects=False
            ) as response:
                raw = b""
                if 200 <= response.status < 300 and response.content_type == "application/json":
                    raw = await _read_bounded(response, outgoing.MAX_REPLY_BYTES + 1)
                return response.status, raw

    async def _reply(self, worker: _Worker, raw: bytes) -> str:
        """Post a 2xx answer's ``text`` back; what went wrong with it, or ""."""
        if len(raw) > outgoing.MAX_REPLY_BYTES:
            return f"reply ignored: over {outgoing.MAX_REPLY_BYTES // 1024} KiB"
        try:
            text = outgoing.reply_text(raw)
        except ValueError as exc:
            return f"reply ignored: {exc}"
        if text is None or self.reply is None:
            return ""
        try:
            await self.reply(worker.hook, text)
        except Exception as exc:  # too long, the hook revoked meanwhile, storage away…
            return outgoing.short_error(f"reply not posted: {getattr(exc, 'message', exc)}")
        return ""

    def _record(
        self,
        hook: OutgoingWebhook,
        message: Message,
        *,
        attempts: int,
        error: str,
        started: float | None,
        status: int | None = None,
    ) -> None:
        """Keep the delivery's outcome (a write no one waits for)."""
        took = 0 if started is None else round((time.monotonic() - started) * 1000)
        delivery = Delivery(
            seq=message.seq,
            msg_id=message.msg_id,
            attempts=attempts,
            status=status,
            error=outgoing.short_error(error),
            duration_ms=took,
            at=self.clock(),
        )
        written = asyncio.ensure_future(
            self.storage.add_outgoing_delivery(hook.id, delivery, outgoing.KEPT_DELIVERIES)
        )
        written.add_done_callback(_log_failure)


async def check_public(host: str, port: int) -> None:
    """``BadRequest`` unless every address ``host`` resolves to now is public: a hook is
    refused when it is made, and its connections are checked again (``SafeResolver``)."""
    literal = outgoing.address_literal(host)
    if literal is not None:
        addresses = [str(literal)]
    else:
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout(RESOLVE_TIMEOUT):
                found = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except (OSError, TimeoutError):
            raise BadRequest(f"a webhook's host must resolve: {host!r} does not") from None
        addresses = [str(info[4][0]) for info in found]
    if not addresses or any(outgoing.forbidden_address(each) for each in addresses):
        raise BadRequest(outgoing.forbidden_target(host))


def _payload(hook: OutgoingWebhook, message: Message, display_name: str, word: str) -> bytes:
    sent = Sent(
        id=hook.id,
        room=message.room,
        message=SentMessage(
            seq=message.seq,
            id=message.msg_id,
            user=message.user,
            display_name=display_name,
            body=message.body,
            ts=message.ts,
            reply_to=message.reply_to,
            thread=message.thread,
        ),
        trigger_word=word if hook.trigger is outgoing.Trigger.WORDS else None,
    )
    return msgspec.json.encode(sent)


async def _read_bounded(response: aiohttp.ClientResponse, limit: int) -> bytes:
    chunks: list[bytes] = []
    size = 0
    while size < limit:
        chunk = await response.content.read(limit - size)
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
    return b"".join(chunks)


def _connect_error(exc: aiohttp.ClientConnectorError) -> str:
    reason = exc.os_error
    if isinstance(reason, ForbiddenAddress):
        return str(reason)
    return f"cannot connect: {reason.strerror or type(reason).__name__}"


def _log_failure(written: asyncio.Future[None]) -> None:
    if not written.cancelled() and (exc := written.exception()) is not None:
        log.warning("outgoing webhooks: a delivery was not recorded (%s)", exc)
