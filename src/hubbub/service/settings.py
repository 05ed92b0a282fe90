"""The registration mode, guests and guest bans in force on this node.

They are read from storage at start, after every change made here, and whenever their version
moves: each node of a shared database polls the version (one small read every
``POLL_INTERVAL``), so a change made on any node holds on every node within about a second,
without the broker (a lost notice cannot leave a node with stale settings). Listeners hear of
each new set of settings: the transport closes the guests they no longer allow.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from hubbub.config import Config
from hubbub.core import registration as reg
from hubbub.service.periodic import Periodic
from hubbub.storage.base import Storage

log = logging.getLogger(__name__)

POLL_INTERVAL = 0.5  # seconds between two reads of the settings' version


class ServerSettings:
    def __init__(self, config: Config, storage: Storage) -> None:
        self._config = config
        self._storage = storage
        self.policy = reg.policy(config.registration, config.guests, reg.Stored())
        self.stored = reg.Stored()
        self._bans = reg.GuestBans(())
        self._version = -1  # none read yet
        self._listeners: list[Callable[[], None]] = []
        self._polls = Periodic("reading the server's settings", POLL_INTERVAL, self.refresh)

    def guest_refusal(self, address: str) -> str | None:
        """Why a guest from ``address`` may not connect now, or None."""
        if not self.policy.guests:
            return reg.GUESTS_OFF
        if self._bans.bans(address):
            return reg.GUEST_BANNED
        return None

    def on_change(self, listener: Callable[[], None]) -> Callable[[], None]:
        """Call ``listener`` after each change is applied; returns what removes it."""
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener)

    async def refresh(self) -> None:
        """Read the settings if their version moved, and apply them."""
        if await self._storage.settings_version() == self._version:
            return
        stored = await self._storage.server_settings()
        if stored.version < self._version:  # a newer one was applied meanwhile
            return
        self._version = stored.version
        self.stored = stored
        self.policy = reg.policy(self._config.registration, self._config.guests, stored)
        self._bans = reg.GuestBans(stored.guest_bans)
        for listener in list(self._listeners):
            listener()

    def start(self) -> None:
        """Poll, if other nodes may change the settings (a shared database)."""
        if self._storage.shared:
            self._polls.start()

    async def stop(self) -> None:
        await self._polls.stop()  # the settings known stay in force meanwhile
