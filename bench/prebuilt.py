"""Databases built once through hubbub's storage API and kept under ``bench/.cache``.

A scenario that needs a big database (a million messages, ten thousand accounts) builds it
with ``SQLiteStorage`` itself, so every index and trigger is maintained as in production, in
a subprocess that runs the code under test (``env`` carries the suite's ``PYTHONPATH``). The
result is kept in ``bench/.cache/<name>-<key>``, where the key is a hash of the names of the
storage migrations: a new migration builds it again, anything else reuses it. Runs copy it.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Iterable
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
CACHE = BENCH / ".cache"
MIGRATIONS = ROOT / "src" / "hubbub" / "storage" / "migrations"
DATABASE = "hubbub.sqlite3"
DONE = "built"  # written last: a directory without it is a build that did not finish


def migrations_key() -> str:
    """12 hex digits that change with the set of migrations of either engine (their names:
    a migration, once made, is not changed; a new one builds the cache again)."""
    names = sorted(str(p.relative_to(MIGRATIONS)) for p in MIGRATIONS.rglob("*.sql"))
    return hashlib.sha256("\0".join(names).encode()).hexdigest()[:12]


def cache_dir(name: str) -> Path:
    return CACHE / f"{name}-{migrations_key()}"


def cached(
    name: str,
    script: Path,
    args: list[str],
    env: dict[str, str],
    log: Callable[[str], None],
    max_age_days: float | None = None,
) -> Path:
    """``bench/.cache/<name>-<key>``, built first if missing (or older than ``max_age_days``)
    by ``python script build <dir> *args``; older keys of ``name`` are removed."""
    path = cache_dir(name)
    done = path / DONE
    if done.exists():
        age_days = (time.time() - done.stat().st_mtime) / 86400
        if max_age_days is None or age_days < max_age_days:
            return path
        log(f"{path.relative_to(ROOT)} is {age_days:.0f} days old: building it again")
    CACHE.mkdir(exist_ok=True)
    for stale in CACHE.glob(f"{name}-*"):
        shutil.rmtree(stale, ignore_errors=True)
    building = CACHE / f".{path.name}.{os.getpid()}"
    shutil.rmtree(building, ignore_errors=True)
    building.mkdir(parents=True)
    log(f"building {path.relative_to(ROOT)} (once per schema)")
    started = time.monotonic()
    try:
        subprocess.run(
            [sys.executable, str(script), "build", str(building), *args],
            env=env,
            cwd=ROOT,
            check=True,
        )
        (building / DONE).write_text(f"{time.time():.0f}\n")
        building.rename(path)
    finally:
        shutil.rmtree(building, ignore_errors=True)
    log(f"  built in {time.monotonic() - started:.0f} s")
    return path


async def in_batches(calls: Iterable[Callable[[], Awaitable[Any]]], size: int) -> int:
    """Await the storage calls ``size`` at a time (each batch queued at once, so the writer
    commits them in big groups); returns how many ran."""
    done = 0
    batch: list[Awaitable[Any]] = []
    for call in calls:
        batch.append(call())
        if len(batch) >= size:
            await asyncio.gather(*batch)
            done += len(batch)
            batch = []
    if batch:
        await asyncio.gather(*batch)
        done += len(batch)
    return done


def progress(what: str, done: int, total: int, started: float) -> None:
    rate = done / max(1e-9, time.monotonic() - started)
    print(f"  {what}: {done}/{total} ({rate:.0f}/s)", file=sys.stderr, flush=True)
