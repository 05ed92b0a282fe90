"""One hubbub node: storage, broker and hub wired so that events flow only after commit.

storage commit → ``on_events`` → broker → every node's hub → its sessions.
"""

from __future__ import annotations

from contextlib import AsyncExitStack
from types import TracebackType
from typing import Self

from hubbub.broker.base import Broker
from hubbub.broker.memory import MemoryBroker
from hubbub.config import Config
from hubbub.core.models import LOBBY, RoomKind
from hubbub.service.actions import Actions, Clock, wall_clock_ms
from hubbub.service.hub import Hub
from hubbub.storage.base import Storage
from hubbub.storage.sqlite import SQLiteStorage


class Node:
    def __init__(
        self,
        config: Config,
        storage: Storage | None = None,
        broker: Broker | None = None,
        clock: Clock = wall_clock_ms,
    ) -> None:
        self.config = config
        self.storage = storage or SQLiteStorage(config.database)
        self.broker = broker or MemoryBroker()
        self.hub = Hub()
        self.actions = Actions(config, self.storage, self.hub, clock=clock)
        self._stack = AsyncExitStack()

    async def __aenter__(self) -> Self:
        self.storage.on_events = self.broker.publish
        self.broker.subscribe(self.hub.publish)
        await self._stack.enter_async_context(self.storage)
        await self.storage.ensure_room(LOBBY, RoomKind.PUBLIC, self.actions.clock())
        return self

    async def __aexit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self._stack.aclose()
