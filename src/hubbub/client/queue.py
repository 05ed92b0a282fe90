"""The bounded queue of events received but not yet taken by the application."""

from __future__ import annotations

import asyncio
from collections import deque
from typing import Generic, TypeVar

T = TypeVar("T")


class Ended(Exception):
    """The queue is ended and empty."""


class EventQueue(Generic[T]):
    """First in, first out, at most ``limit`` items. ``put`` waits while it is full (so a
    consumer that falls behind slows the reading of the connection, never loses an event);
    ``offer`` drops the item instead (for hints, such as typing). Once ``end`` is called,
    ``get`` still hands out what is queued, then raises ``Ended``."""

    def __init__(self, limit: int) -> None:
        if limit < 1:
            raise ValueError("a queue holds at least one item")
        self.limit = limit
        self._items: deque[T] = deque()
        self._not_empty = asyncio.Event()
        self._not_full = asyncio.Event()
        self._not_full.set()
        self.ended = False

    def __len__(self) -> int:
        return len(self._items)

    async def put(self, item: T) -> None:
        while len(self._items) >= self.limit and not self.ended:
            self._not_full.clear()
            await self._not_full.wait()
        if not self.ended:
            self._push(item)

    def offer(self, item: T) -> bool:
        if self.ended or len(self._items) >= self.limit:
            return False
        self._push(item)
        return True

    async def get(self) -> T:
        while not self._items:
            if self.ended:
                raise Ended
            self._not_empty.clear()
            await self._not_empty.wait()
        item = self._items.popleft()
        self._not_full.set()
        return item

    def end(self) -> None:
        self.ended = True
        self._not_empty.set()
        self._not_full.set()

    def _push(self, item: T) -> None:
        self._items.append(item)
        self._not_empty.set()
