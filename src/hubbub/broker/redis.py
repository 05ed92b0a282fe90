"""The broker between nodes: Redis pub/sub, one channel shared by every node.

**One channel for everything.** Every node needs nearly every payload (its sessions may
follow any room, notices go to users and guests anywhere), so per-room channels would only
add subscriptions to keep in step with the sessions. One channel also keeps one order: each
node's events and notices reach every other node in the order it published them.

**Local first.** A node's own subscribers get its payloads at ``publish``, as from the
in-process broker, and its own echoes from Redis are skipped (each message starts with the
publishing broker's id). Its own clients then neither wait for a round trip nor depend on
Redis being up, and each event reaches each subscriber once.

**Never blocking.** ``publish`` encodes the payload once and puts the bytes on a bounded
queue that a sender task publishes in order. When the queue is full (Redis down or too
slow for too long) the payload is dropped and counted in ``dropped``: other nodes repair
the events from storage by seq, but a dropped notice (typing, read marker) is just lost.

**Gaps.** Pub/sub is at-most-once: a payload published while a subscriber's connection is
down never reaches it. Subscribers learn of a possible loss through ``on_gap``, from
either end:

- the subscriber task calls ``on_gap`` after each subscription that opened once ``open``
  had returned (a reconnection, or a first connection that ``open`` could not make);
- the sender, having dropped something (a full queue, a ``PUBLISH`` that failed), publishes a
  gap message as soon as it can, and every other node calls ``on_gap``.

A gap is told after the payloads that came before it, and everything lost was committed
before it was published: a subscriber that reads storage on ``on_gap`` finds it there.
Connections are retried with exponential backoff, without end, until ``close``.

**Probes.** Every ``probe_every`` seconds the node publishes a probe, in order with its
payloads, and notes when its own comes back through Redis (the one echo it does not skip).
``problem`` (for ``/healthz``) says so when none came back for ``PROBE_LATE`` periods: Redis
is out of reach, the subscription is lost, or the queue to Redis lags that far.
"""

from __future__ import annotations

import asyncio
import logging
import math
import random
import secrets
import time
from collections.abc import Callable
from contextlib import suppress
from typing import Any

import msgspec
import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import RedisError

from hubbub.broker.base import (
    Broker,
    BrokerClosed,
    GapListener,
    Notice,
    Payload,
    Subscriber,
)
from hubbub.core.events import Event

log = logging.getLogger(__name__)

DEFAULT_CHANNEL = "hubbub"
QUEUE_SIZE = 10_000  # payloads waiting for Redis; past it they are dropped
FLUSH_TIMEOUT = 1.0  # seconds ``close`` waits for the queue to reach a connected Redis
PING_EVERY = 10.0  # seconds of silence on the subscription before a PING; twice: lost
CONNECT_TIMEOUT = 5.0
PROBE_EVERY = 2.0  # seconds between probes
PROBE_LATE = 3  # probe periods without one's own coming back: a problem
# Everything that means "Redis cannot be used right now": retried after a backoff.
CONNECTION_ERRORS = (RedisError, OSError)


class _Events(msgspec.Struct, tag="events", array_like=True):
    events: list[Event]  # each as its wire JSON


class _Notice(msgspec.Struct, tag="notice", array_like=True):
    notice: Notice  # ``data`` as base64: binary frames pass unchanged


class _Gap(msgspec.Struct, tag="gap", array_like=True):
    """The sender lost payloads: everything before this may have been missed."""


class _Probe(msgspec.Struct, tag="probe", array_like=True):
    """For its sender only: the way through Redis and back works (other nodes skip it)."""


_Frame = _Events | _Notice | _Gap | _Probe
_encoder = msgspec.json.Encoder()
_decoder = msgspec.json.Decoder(_Frame)
NODE_ID_BYTES = 16  # each message starts with its broker's id, in hex: echoes skip decoding


class Backoff:
    """Exponential delays with jitter between connection attempts, reset on success."""

    def __init__(self, first: float, cap: float) -> None:
        self.first, self.cap = first, cap
        self._next = first

    def reset(self) -> None:
        self._next = self.first

    async def wait(self) -> None:
        delay = self._next * random.uniform(0.5, 1.0)  # nodes cut off together spread out
        self._next = min(self._next * 2, self.cap)
        await asyncio.sleep(delay)


class RedisBroker(Broker):
    """Pub/sub over the Redis at ``url`` (``redis://``, ``rediss://`` or ``unix://``), on
    ``channel``: nodes on one channel share their payloads. ``backoff`` is the first and
    the longest delay between connection attempts, in seconds."""

    def __init__(
        self,
        url: str,
        channel: str = DEFAULT_CHANNEL,
        queue_size: int = QUEUE_SIZE,
        backoff: tuple[float, float] = (0.05, 5.0),
        probe_every: float = PROBE_EVERY,
    ) -> None:
        self.url = url
        self.channel = channel
        self.node = secrets.token_hex(NODE_ID_BYTES // 2).encode()
        self.probe_every = probe_every
        self._probe = self.node + _encoder.encode(_Probe())
        self.probe_heard = -math.inf  # when this node's last probe came back (monotonic)
        self.dropped = 0  # payloads never published: queue full, or PUBLISH failed
        self.subscriptions = 0  # subscriptions made (1 unless the connection was lost)
        self._backoff = backoff
        self._queue_size = queue_size
        self._queue: asyncio.Queue[bytes] | None = None
        self._subscribers: list[Subscriber] = []
        self._gap_listeners: list[GapListener] = []
        self._open = False
        self._opened = False  # ``open`` has returned: a new subscription may have missed some
        self._loss_untold = False  # something was dropped since the last gap message
        self._sender_down = False  # the sender's last PUBLISH failed
        self._tasks: list[asyncio.Task[None]] = []
        self._clients: list[aioredis.Redis] = []

    def __repr__(self) -> str:
        return f"RedisBroker(channel={self.channel!r})"  # never the URL: it may hold a password

    # --- lifecycle ---------------------------------------------------------------------------

    async def open(self) -> None:
        """Start the sender and the subscriber, and wait for the first subscription attempt:
        once it succeeded, whatever another node publishes reaches this one. If Redis cannot
        be reached (refused, or no answer in ``CONNECT_TIMEOUT``) the node starts all the
        same, its own clients served, and the subscriber keeps trying."""
        if self._open or self._tasks:
            return
        self._queue = asyncio.Queue(self._queue_size)
        self._open, self._opened = True, False
        self.probe_heard = time.monotonic()  # a first probe has PROBE_LATE periods
        first_attempt: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._tasks = [
            asyncio.create_task(self._receive(first_attempt), name="redis-broker-receive"),
            asyncio.create_task(self._send(self._queue), name="redis-broker-send"),
            asyncio.create_task(self._probes(self._queue), name="redis-broker-probe"),
        ]
        try:
            await first_attempt
        except BaseException:
            await self.close()  # nothing left running
            raise
        self._opened = True

    async def close(self) -> None:
        if not self._tasks:
            self._open = False
            return
        self._open = False
        receiving, sending, probing = self._tasks
        await _cancel(probing)
        await _cancel(receiving)  # no subscriber is called from now on
        queue = self._queue
        if queue is not None and not self._sender_down:
            try:  # the last commits, published while the node closed, reach the others
                await asyncio.wait_for(queue.join(), FLUSH_TIMEOUT)
            except TimeoutError:
                log.warning("redis broker: closed with %d payloads unsent", queue.qsize())
        await _cancel(sending)
        for client in self._clients:
            await client.aclose()
        self._clients.clear()
        self._tasks = []

    # --- publishing --------------------------------------------------------------------------

    def publish(self, payload: Payload) -> None:
        if not self._open:
            raise BrokerClosed("the broker is not open")
        frame: _Frame = _Notice(payload) if isinstance(payload, Notice) else _Events(payload)
        data = self.node + _encoder.encode(frame)
        assert self._queue is not None
        try:
            self._queue.put_nowait(data)
        except asyncio.QueueFull:
            self._lose("the queue to Redis is full")
        for subscriber in self._subscribers:
            subscriber(payload)  # this node's own: at once, the same object to each

    def subscribe(self, subscriber: Subscriber, on_gap: GapListener | None = None) -> None:
        self._subscribers.append(subscriber)
        if on_gap is not None:
            self._gap_listeners.append(on_gap)

    def _lose(self, why: str) -> None:
        if not self._loss_untold:
            log.warning("redis broker: dropping payloads (%s); other nodes will repair", why)
        self.dropped += 1
        self._loss_untold = True

    async def _send(self, queue: asyncio.Queue[bytes]) -> None:
        """Publish the queue in order; after a loss, a gap message first."""
        client = self._client()
        backoff = Backoff(*self._backoff)
        gap = self.node + _encoder.encode(_Gap())
        while True:
            if self._loss_untold:
                self._loss_untold = False
                if not await self._publish(client, gap):
                    self._loss_untold = True
                    await backoff.wait()
                    continue
            data = await queue.get()
            try:
                if await self._publish(client, data):
                    backoff.reset()
                else:
                    if data is not self._probe:  # a lost probe is no payload to repair
                        self._lose("Redis cannot be reached")  # perhaps published: never twice
                    await backoff.wait()
            finally:
                queue.task_done()

    async def _publish(self, client: aioredis.Redis, data: bytes) -> bool:
        try:
            await client.publish(self.channel, data)
        except CONNECTION_ERRORS as exc:
            if not self._sender_down:
                log.warning("redis broker: cannot publish (retrying): %s", exc)
            self._sender_down = True
            return False
        self._sender_down = False
        return True

    # --- probes ------------------------------------------------------------------------------

    async def _probes(self, queue: asyncio.Queue[bytes]) -> None:
        while True:
            await asyncio.sleep(self.probe_every)
            with suppress(asyncio.QueueFull):  # a full queue: the probe comes back late
                queue.put_nowait(self._probe)

    def problem(self) -> str | None:
        if not self._open:
            return "the broker is closed"
        if self._sender_down:
            return "the broker cannot publish to Redis"
        silent = time.monotonic() - self.probe_heard
        if silent > PROBE_LATE * self.probe_every:
            return f"no broker traffic came back from Redis for {silent:.1f} s"
        return None

    # --- receiving ---------------------------------------------------------------------------

    async def _receive(self, first_attempt: asyncio.Future[None]) -> None:
        """Subscribe, and deliver what other nodes publish, for ever: after a lost
        connection, subscribe again (with backoff) and tell the gap."""
        try:
            await self._subscriptions(first_attempt)
        finally:
            _settle(first_attempt)  # closed while opening: open returns

    async def _subscriptions(self, first_attempt: asyncio.Future[None]) -> None:
        client = self._client()
        backoff = Backoff(*self._backoff)
        up = True  # as far as is known: say when it is lost, not at every retry
        while True:
            pubsub = client.pubsub()
            try:
                await pubsub.subscribe(self.channel)
                silent = 0
                while True:
                    message = await pubsub.get_message(timeout=PING_EVERY)
                    if message is None:  # a quiet channel, or a connection silently gone
                        silent += 1
                        if silent > 1:
                            raise ConnectionError("no answer to PING")
                        await pubsub.ping()
                        continue
                    silent = 0
                    if message["type"] == "subscribe":
                        up = True
                        backoff.reset()
                        self._subscribed()
                        _settle(first_attempt)
                    elif message["type"] == "message":
                        self._deliver(message["data"])
            except CONNECTION_ERRORS as exc:
                if up:
                    log.warning("redis broker: no subscription (retrying): %s", exc)
                up = False
            finally:
                with suppress(*CONNECTION_ERRORS):
                    await pubsub.aclose()  # type: ignore[no-untyped-call]
            _settle(first_attempt)  # open returns; the node runs and its own are served
            await backoff.wait()

    def _subscribed(self) -> None:
        self.subscriptions += 1
        if self._opened:
            self._gap()  # whatever was published while it was down is lost

    def _deliver(self, data: bytes) -> None:
        if data[:NODE_ID_BYTES] == self.node:
            if data == self._probe:
                self.probe_heard = time.monotonic()
            return  # its own: its subscribers had it at publish
        try:
            frame = _decoder.decode(data[NODE_ID_BYTES:])
        except msgspec.DecodeError:
            log.warning("redis broker: undecodable message on %r skipped", self.channel)
            self._gap()
            return
        match frame:
            case _Events(events):
                payload: Payload = events
            case _Notice(notice):
                payload = notice
            case _Gap():
                self._gap()
                return
            case _Probe():
                return  # another node's
        for subscriber in self._subscribers:
            _call(subscriber, payload)

    def _gap(self) -> None:
        for listener in self._gap_listeners:
            _call(listener)

    def _client(self) -> aioredis.Redis:
        # No retries inside redis-py: a lost connection must surface here, where the
        # subscriber learns it may have missed something.
        client = aioredis.from_url(
            self.url,
            retry=Retry(NoBackoff(), 0),
            socket_keepalive=True,
            socket_connect_timeout=CONNECT_TIMEOUT,
        )
        self._clients.append(client)
        return client


def _call(function: Callable[..., None], *args: Any) -> None:
    """A subscriber that fails must not stop delivery to the others, nor the task."""
    try:
        function(*args)
    except Exception:
        log.exception("redis broker: a subscriber failed")


def _settle(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


async def _cancel(task: asyncio.Task[None]) -> None:
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
