"""A connection's outgoing queue: frames are queued, and written once per event-loop turn.

One ``send()`` syscall costs about as much as a delivery should in total, so every frame
queued during a loop turn goes out in a single write. A peer whose unsent bytes pass
``max_bytes`` is a slow consumer: it gets close code 4000 behind what it has not read yet,
``grace`` seconds to read it, and is then cut off. Nobody else ever waits for it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from hubbub.protocol.codes import CloseCode
from hubbub.protocol.wsframe import close_frame

log = logging.getLogger(__name__)


class SocketOutlet:
    __slots__ = (
        "_grace",
        "_loop",
        "_max_bytes",
        "_queue",
        "_scheduled",
        "_transport",
        "closed",
        "on_slow",
        "slow",
    )

    def __init__(
        self,
        transport: asyncio.WriteTransport,
        max_bytes: int,
        grace: float,
    ) -> None:
        self._transport = transport
        self._loop = asyncio.get_running_loop()
        self._max_bytes = max_bytes
        self._grace = grace
        self._queue: list[bytes] = []
        self._scheduled = False
        self.closed = False
        self.slow = False
        self.on_slow: Callable[[], None] | None = None  # e.g. leave the hub at once

    def send_frame(self, frame: bytes) -> None:
        if self.closed:
            return
        self._queue.append(frame)
        if not self._scheduled:
            self._scheduled = True
            self._loop.call_soon(self.flush)

    def flush(self) -> None:
        """Write everything queued in one go (also called before a close frame)."""
        self._scheduled = False
        if self.closed or not self._queue:
            return
        data = self._queue[0] if len(self._queue) == 1 else b"".join(self._queue)
        self._queue.clear()
        transport = self._transport
        if transport.is_closing():
            self.closed = True
            return
        transport.write(data)
        if transport.get_write_buffer_size() > self._max_bytes:
            self._drop_slow_consumer()

    def stop(self) -> None:
        """Send nothing more (the connection is closing)."""
        self.flush()
        self.closed = True

    def _drop_slow_consumer(self) -> None:
        """Queue nothing more, put the close frame (4000) behind what is buffered, and cut
        the connection off after ``grace`` seconds if the peer has not read up to it."""
        self.closed = self.slow = True
        self._queue.clear()
        unsent = self._transport.get_write_buffer_size()
        log.info("disconnecting a slow consumer (%d bytes unsent)", unsent)
        self._transport.write(close_frame(CloseCode.SLOW_CONSUMER, "too slow; reconnect and sync"))
        self._loop.call_later(self._grace, self._transport.abort)
        if self.on_slow is not None:
            self.on_slow()
