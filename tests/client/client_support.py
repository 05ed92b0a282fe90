"""Helpers of the client's tests: an aiohttp session whose requests can be held at a gate
and are counted. (The log of what a client receives, ``EventLog``, is in tests/support.py:
every test that acts as a user gathers events with it.)"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from types import SimpleNamespace
from typing import Any

import aiohttp


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
