"""The periodic sweep of files: pending files nobody sent in time, and blobs nothing refers to.

Every node sweeps (what one removes, the others find gone). A pass forgets the pending files
older than ``pending_file_ttl``, then deletes each blob that no stored row refers to
(``Storage.referenced_blobs``) and that was not put within ``grace``: a blob just written
by an upload on any node, whose row is not committed yet, is younger than that, and a blob
put again (a duplicate upload) gets a fresh time. Temporary files of uploads that died
(a killed process) go once they are as old.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from hubbub.files.store import FileStore
from hubbub.storage.base import Storage

log = logging.getLogger(__name__)

GRACE = 3600.0  # seconds a blob or temporary file is kept however unreferenced
BATCH = 500  # blobs asked about per storage read


@dataclass(frozen=True)
class Swept:
    pending: int  # pending files forgotten
    blobs: int  # blobs deleted
    temps: int  # temporary files removed


async def sweep(
    storage: Storage,
    store: FileStore,
    now_ms: int,
    pending_ttl: float,
    grace: float = GRACE,
    wall: float | None = None,
) -> Swept:
    """One pass. ``now_ms`` is the clock of file rows (ms), ``wall`` the clock of the
    store's file times (epoch seconds; by default the real one)."""
    pending = await storage.drop_pending_files(now_ms - round(pending_ttl * 1000))
    cutoff = (time.time() if wall is None else wall) - grace
    temps = await asyncio.to_thread(store.remove_stale_temps, cutoff)
    listed = await asyncio.to_thread(lambda: [d for d, mtime in store.blobs() if mtime < cutoff])
    deleted = 0
    for start in range(0, len(listed), BATCH):
        batch = listed[start : start + BATCH]
        kept = await storage.referenced_blobs(batch)
        unreferenced = [digest for digest in batch if digest not in kept]
        deleted += await asyncio.to_thread(_delete, store, unreferenced, cutoff)
    return Swept(pending, deleted, temps)


def _delete(store: FileStore, digests: list[str], cutoff: float) -> int:
    return sum(store.delete(digest, cutoff) for digest in digests)


async def sweep_and_report(
    storage: Storage,
    store: FileStore,
    clock_ms: Callable[[], int],
    pending_ttl: float,
) -> None:
    """One periodic sweep (``transport.files_api`` runs it every ``file_sweep_interval``),
    logging what it removed."""
    swept = await sweep(storage, store, clock_ms(), pending_ttl)
    if swept.pending or swept.blobs or swept.temps:
        log.info(
            "file sweep: %d pending files, %d blobs, %d temporary files removed",
            swept.pending,
            swept.blobs,
            swept.temps,
        )
