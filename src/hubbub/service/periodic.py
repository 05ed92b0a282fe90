"""A node's periodic work (the account-changes poll, the settings poll, retention, the file
sweep): one step every so often in a task of its own, from ``start`` to ``stop``. A failing
step (the database out of reach, say) is logged once until a step succeeds again, and the
next one simply tries again."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

log = logging.getLogger("hubbub")


class Periodic:
    def __init__(
        self,
        what: str,
        interval: float,
        step: Callable[[], Awaitable[object]],
        first_delay: float | None = None,
    ) -> None:
        self.what = what  # for the log and the task's name
        self.interval = interval
        self._step = step
        self._first_delay = interval if first_delay is None else first_delay
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run(), name=f"hubbub {self.what}")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _run(self) -> None:
        delay, failing = self._first_delay, False
        while True:
            await asyncio.sleep(delay)
            delay = self.interval
            try:
                await self._step()
            except Exception as exc:
                if not failing:
                    log.warning(
                        "%s failed (%s); tried again every %s s", self.what, exc, self.interval
                    )
                failing = True
            else:
                failing = False
