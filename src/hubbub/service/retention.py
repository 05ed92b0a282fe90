"""The retention pass: each room's messages older than its retention, deleted as deletes are.

Every node runs a pass every ``retention_interval`` seconds (the first a minute after it
starts, so a node restarted often still runs them). A pass reads every room's setting, and
for each room that keeps its messages for a bounded time calls ``Storage.expire`` with the
cutoff, ``core.retention.BATCH`` messages per write, until a write finds fewer: between two
writes the writer takes everyone else's jobs, so a pass never holds it for long. The deletes
are ordinary ``message_deleted`` events (published, replayed on ``sync``); passes of two
nodes at once delete each message once (storage skips what is deleted). After a pass that
deleted something, ``Storage.compact`` tidies what the engine can in a running server.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from hubbub.core import retention
from hubbub.errors import NotFound
from hubbub.service.periodic import Periodic
from hubbub.storage.base import Storage

log = logging.getLogger(__name__)

FIRST_PASS_DELAY = 60.0  # seconds after start, at most


@dataclass(frozen=True)
class Pass:
    rooms: int  # rooms where something was deleted
    deleted: int  # messages deleted


async def run_pass(
    storage: Storage, server_days: int, now: int, batch: int = retention.BATCH
) -> Pass:
    """One pass at ``now`` (ms): what is due in every room, deleted."""
    rooms = deleted = 0
    for room in await storage.retention_rooms():
        before = retention.cutoff(now, retention.days_of(room.days, room.kind, server_days))
        if before is None:
            continue
        done = 0
        while True:
            try:
                count = await storage.expire(room.room, before, now, batch, done)
            except NotFound:  # gone since it was listed
                break
            done += count
            if count < batch:
                break
        if done:
            rooms += 1
            deleted += done
    if deleted:
        await storage.compact()
    return Pass(rooms, deleted)


class Retention:
    """The node's periodic pass, from ``start`` to ``stop``."""

    def __init__(
        self,
        storage: Storage,
        server_days: int,
        interval: float,
        clock_ms: Callable[[], int],
    ) -> None:
        self.storage = storage
        self.server_days = server_days
        self.interval = interval
        self.clock_ms = clock_ms
        self._passes = Periodic(
            "the retention pass", interval, self.run_pass, min(interval, FIRST_PASS_DELAY)
        )

    async def run_pass(self) -> Pass:
        done = await run_pass(self.storage, self.server_days, self.clock_ms())
        if done.deleted:
            log.info("retention: %d messages deleted in %d rooms", done.deleted, done.rooms)
        return done

    def start(self) -> None:
        """A pass after the first delay, then every ``interval``."""
        self._passes.start()

    async def stop(self) -> None:
        await self._passes.stop()
