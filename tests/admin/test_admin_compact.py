"""``hubbub admin compact`` after a retention pass on SQLite: the file shrinks to its data, the
search index still answers, and from then on the server gives back free pages itself after
each pass that deleted something (``Storage.compact``). PostgreSQL is refused with a pointer
to its autovacuum."""

from __future__ import annotations

import contextlib
import sqlite3
from pathlib import Path

from admin_support import one_error_line, run_admin

from hubbub.core.events import Message
from hubbub.core.models import RoomKind
from hubbub.core.retention import DAY_MS
from hubbub.service.retention import run_pass
from hubbub.storage.factory import build_storage, sqlite_url

NOW = 1_764_000_000_000
FILLER = "retention makes room " * 40  # about 800 bytes a message


async def fill(path: Path, count: int, ts: int, start: int = 0) -> None:
    async with build_storage(sqlite_url(path)) as store:
        if start == 0:
            await store.create_user("mia", "hash", NOW)
            await store.create_room("team", RoomKind.PUBLIC, "mia", NOW)
        for i in range(start, start + count):
            key = f"m{i}"
            await store.append(
                Message(
                    room="team",
                    seq=0,
                    ts=ts,
                    user="mia",
                    msg_id=key,
                    client_msg_id=key,
                    body=f"{key} {FILLER}",
                )
            )


async def expire_all(path: Path) -> int:
    async with build_storage(sqlite_url(path)) as store:
        return (await run_pass(store, server_days=1, now=NOW)).deleted


def pragma(path: Path, name: str) -> int:
    with contextlib.closing(sqlite3.connect(path)) as db:
        return int(db.execute(f"PRAGMA {name}").fetchone()[0])


async def test_compact_gives_the_space_of_expired_messages_back(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    path = data / "hubbub.sqlite3"
    await fill(path, 600, NOW - 2 * DAY_MS)
    await fill(path, 1, NOW, start=600)  # young: kept
    assert await expire_all(path) == 600
    full = path.stat().st_size
    assert pragma(path, "freelist_count") > 0  # the file keeps the space it had

    done = run_admin("compact", "--data-dir", data)
    assert done.returncode == 0, done.stderr
    assert "compacted" in done.stdout
    assert path.stat().st_size < full / 2
    assert pragma(path, "auto_vacuum") == 2  # INCREMENTAL from now on
    async with build_storage(sqlite_url(path)) as store:
        found = await store.search("mia", "m600 ", None, None, 10)
        assert [f.seq for f in found.found] != []

    # The server keeps it so: the next pass's free pages go back without a rewrite.
    await fill(path, 300, NOW - 2 * DAY_MS, start=601)
    assert await expire_all(path) == 300
    assert pragma(path, "freelist_count") == 0


def test_compact_refuses_postgresql(tmp_path: Path) -> None:
    done = run_admin("compact", "--database", "postgresql://127.0.0.1:1/nothing")
    assert done.returncode == 2
    assert "autovacuum" in one_error_line(done)
