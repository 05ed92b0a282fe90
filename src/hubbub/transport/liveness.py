"""Liveness: one periodic sweep over every WebSocket pings the quiet ones and drops the dead.

A connection from which nothing has arrived for ``ping_interval`` seconds is sent a ping; one
still silent ``ping_timeout`` seconds after that ping is closed with 1011 and cut off. Anything
that arrives counts as a sign of life (a browser answers pings by itself), so a page that only
listens is never dropped, and a socket that sends nothing at all, not even a pong, is. One
recurring timer per server, not one per connection, keeps an idle connection's cost at a
timestamp or two.
"""

from __future__ import annotations

import asyncio
import enum
from collections.abc import Collection
from typing import Protocol

TICKS_PER_INTERVAL = 4  # how finely the sweep slices the shorter of interval and timeout


class Verdict(enum.Enum):
    ALIVE = "alive"
    PING = "ping"  # quiet for an interval and not pinged since: ping it
    DEAD = "dead"  # pinged, and silent for the timeout since


def verdict(now: float, heard: float, pinged: float, interval: float, timeout: float) -> Verdict:
    """What to do with a connection last heard from at ``heard`` and last pinged at ``pinged``."""
    if now - heard < interval:
        return Verdict.ALIVE
    if pinged <= heard:
        return Verdict.PING
    return Verdict.DEAD if now - pinged >= timeout else Verdict.ALIVE


class Watched(Protocol):
    def check_liveness(self, now: float) -> None: ...


class Sweep:
    """Calls ``check_liveness`` on every connection, a few times per interval, until stopped."""

    def __init__(self, connections: Collection[Watched], interval: float, timeout: float) -> None:
        self._connections = connections
        self.period = min(interval, timeout) / TICKS_PER_INTERVAL
        self._loop: asyncio.AbstractEventLoop | None = None
        self._timer: asyncio.TimerHandle | None = None

    def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._timer = self._loop.call_later(self.period, self._run)

    def stop(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _run(self) -> None:
        assert self._loop is not None
        now = self._loop.time()
        for connection in list(self._connections):  # checking may close, closing may remove
            connection.check_liveness(now)
        self._timer = self._loop.call_later(self.period, self._run)
