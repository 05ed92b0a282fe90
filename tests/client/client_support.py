"""Helpers of the client's tests: an event log filled from ``Client.events()``, and an
aiohttp session whose requests can be held at a gate and are counted."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from types import SimpleNamespace
from typing import Any

import aiohttp

from hubbub.client import Client, Item
from hubbub.core.events import Message


class EventLog:
    """Every item ``client.events()`` yields, in order, gathered by a task of its own."""

    def __init__(self, client: Client) -> None:
        self.items: list[Item] = []
        self.error: BaseException | None = None
        self._task = asyncio.get_running_loop().create_task(self._gather(client))

    async def _gather(self, client: Client) -> None:
        try:
            async for item in client.events():
                self.items.append(item)
        except Exception as exc:
            self.error = exc

    def messages(self, room: str) -> list[Message]:
        return [i for i in self.items if isinstance(i, Message) and i.room == room]

    def bodies(self, room: str) -> list[str]:
        return [message.body for message in self.messages(room)]

    async def stop(self) -> None:
        self._task.cancel()
        await asyncio.gather(self._task, return_exceptions=True)


class Gate:
    """Counts the HTTP requests (logins and handshakes) of a session, and holds each at
    the gate while it is shut."""

    def __init__(self) -> None:
        self.open = asyncio.Event()
        self.open.set()
        self.requests: list[str] = []

    async def _on_start(
        self, session: aiohttp.ClientSession, context: SimpleNamespace, params: Any
    ) -> None:
        self.requests.append(str(params.url))
        await self.open.wait()

    @asynccontextmanager
    async def session(self) -> AsyncIterator[aiohttp.ClientSession]:
        trace = aiohttp.TraceConfig()
        trace.on_request_start.append(self._on_start)
        async with aiohttp.ClientSession(trace_configs=[trace]) as session:
            yield session
