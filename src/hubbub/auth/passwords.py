"""argon2id password hashing, off the event loop and bounded in concurrency.

Each hash takes tens of milliseconds and tens of MiB, so hashing runs in threads and at most
``MAX_CONCURRENT_HASHES`` at once: a burst of logins waits instead of exhausting memory.
"""

from __future__ import annotations

import asyncio

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError

MAX_CONCURRENT_HASHES = 2


class Passwords:
    def __init__(self, time_cost: int = 3, memory_kib: int = 65536, parallelism: int = 1) -> None:
        self._hasher = PasswordHasher(
            time_cost=time_cost, memory_cost=memory_kib, parallelism=parallelism, type=Type.ID
        )
        self._slots = asyncio.Semaphore(MAX_CONCURRENT_HASHES)
        # Verified when the user does not exist, so both answers take the same time.
        self._decoy = self._hasher.hash("not a password of anyone")

    async def hash(self, password: str) -> str:
        async with self._slots:
            return await asyncio.to_thread(self._hasher.hash, password)

    async def verify(self, stored: str | None, password: str) -> bool:
        async with self._slots:
            return await asyncio.to_thread(self._verify, stored, password)

    def _verify(self, stored: str | None, password: str) -> bool:
        try:
            return self._hasher.verify(stored or self._decoy, password) and stored is not None
        except (VerificationError, InvalidHashError):
            return False
