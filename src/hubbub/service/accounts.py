"""Account changes that close sessions, on every node: one mechanism for every path.

A deactivation (by a server admin over the API, or ``hubbub admin user deactivate``) and a
new password given with ``hubbub admin user password`` revoke the account's tokens and add an
account change in the same write (storage guarantee 20). Each node polls the changes every
``account_poll_interval`` seconds, one indexed query (``id > last``, at most
``MAX_ACCOUNT_CHANGES_READ`` rows), and closes the sessions of each account named with 4401:
a command that cannot reach the server's sockets closes them all the same. A node starts from
the last change there is, so it never acts on older ones.
"""

from __future__ import annotations

import logging

from hubbub.core.accounts import MAX_ACCOUNT_CHANGES_READ, AccountChange
from hubbub.service.hub import Hub
from hubbub.service.periodic import Periodic
from hubbub.storage.base import Storage

log = logging.getLogger(__name__)

# The close frame's reason for each change (the code is 4401: sign in again).
REASONS = {
    AccountChange.DEACTIVATED: "account deactivated",
    AccountChange.PASSWORD: "password changed",
}


class AccountWatch:
    def __init__(self, hub: Hub, storage: Storage, interval: float) -> None:
        self._hub = hub
        self._storage = storage
        self._last = 0
        self._polls = Periodic("reading account changes", interval, self.poll)

    async def start(self) -> None:
        """Hear of the changes made from now on."""
        self._last, _ = await self._storage.account_changes(None, 0)
        self._polls.start()

    async def stop(self) -> None:
        await self._polls.stop()

    async def poll(self) -> None:
        """Close the sessions of every account changed since the last poll."""
        self._last, changes = await self._storage.account_changes(
            self._last, MAX_ACCOUNT_CHANGES_READ
        )
        for username, kind in changes:
            self._hub.close_sessions(username, REASONS[kind])
