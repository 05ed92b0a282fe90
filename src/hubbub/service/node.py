"""One hubbub node: storage, broker and hub wired so that events flow only after commit.

storage commit → ``on_events`` → broker → every node's hub → its sessions.
actions' notices (typing, read markers, guests' relays) → broker → every node's hub.
presence (each node's part of who is online) → broker → every node's hub.
account changes (deactivations, passwords set by a command) → storage → each node's poll.
messages stored by this node's actions → its outgoing webhooks' workers → receivers outside.

The broker opens before storage (which publishes from its first commit) and closes after it
(which publishes what it commits while closing).
"""

from __future__ import annotations

from contextlib import AsyncExitStack
from types import TracebackType
from typing import Self

from hubbub.broker.base import Broker
from hubbub.broker.factory import build_broker
from hubbub.config import Config, ConfigError
from hubbub.core.models import LOBBY, RoomKind
from hubbub.service.accounts import AccountWatch
from hubbub.service.actions import Actions, Clock, wall_clock_ms
from hubbub.service.hub import Hub
from hubbub.service.retention import Retention
from hubbub.storage.base import Storage
from hubbub.storage.factory import build_storage


class Node:
    def __init__(
        self,
        config: Config,
        storage: Storage | None = None,
        broker: Broker | None = None,
        clock: Clock = wall_clock_ms,
    ) -> None:
        self.config = config
        self.storage = storage or build_storage(config.storage_url)
        self.broker = broker or build_broker(config.broker)
        self.hub = Hub(self.storage, config.replay_bound)
        self.actions = Actions(config, self.storage, self.broker, self.hub, clock=clock)
        self.retention = Retention(
            self.storage, config.retention_days, config.retention_interval, clock
        )
        self.accounts = AccountWatch(self.hub, self.storage, config.account_poll_interval)
        self._stack = AsyncExitStack()

    async def __aenter__(self) -> Self:
        self.broker.subscribe(self.hub.receive, on_gap=self.hub.missed)
        self.storage.on_events = self.broker.publish
        try:
            await self._stack.enter_async_context(self.broker)
            await self._stack.enter_async_context(self.storage)
            await self._ensure_rooms()
            settings = self.actions.settings  # registration and guests, polled from storage
            await settings.refresh()
            settings.start()
            self._stack.push_async_callback(settings.stop)
            self.hub.presence.start(self.broker.publish)
            self._stack.callback(self.hub.presence.stop)  # first to run: the broker is open
            await self.accounts.start()
            self._stack.push_async_callback(self.accounts.stop)
            self.retention.start()
            self._stack.push_async_callback(self.retention.stop)
            self.actions.outgoing.start()  # stopped before storage closes
            self._stack.push_async_callback(self.actions.outgoing.stop)
        except BaseException:
            await self._stack.aclose()  # what opened closes: no thread or connection left
            raise
        return self

    async def _ensure_rooms(self) -> None:
        """Create ``lobby`` and the default rooms if missing. A default room must be public:
        new accounts are put in it unasked, which a private room's members did not agree to."""
        now = self.actions.clock()
        for name in dict.fromkeys((LOBBY, *self.config.default_rooms)):
            await self.storage.ensure_room(name, RoomKind.PUBLIC, now)
            if name not in self.config.default_rooms:
                continue
            room = await self.storage.get_room(name)
            if room is None or room.kind != RoomKind.PUBLIC:
                raise ConfigError(f"default_rooms has {name!r}, which is not a public room")

    async def __aexit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self._stack.aclose()
