"""``admin compact``: an SQLite database rewritten to hold no free space, and kept so.

After a retention pass (or any large delete) the file keeps its size: SQLite reuses the
free pages but gives none back. This command merges the search index (a file of its own) into one
segment (FTS5 ``optimize``), makes the database ``auto_vacuum=INCREMENTAL`` and rewrites it whole
(``VACUUM``), then truncates the write-ahead log. From then on the server itself gives back
a bounded number of free pages after each retention pass that deleted something
(``Storage.compact``), so the file follows the data without another full rewrite.

``VACUUM`` holds the database's write lock from start to end (seconds per GiB) and needs
free disk space for a second copy: the server's writes wait meanwhile, and fail after its
10 s busy timeout. Run it with the server stopped, or at a quiet time.
"""

from __future__ import annotations

import contextlib
import sqlite3
from pathlib import Path
from typing import NamedTuple

from hubbub.storage.sqlite import connect
from hubbub.storage.sqlite_search import index_path


class Compacted(NamedTuple):
    before: int  # bytes of the database and its write-ahead log
    after: int


def compact(path: Path) -> Compacted:
    before = _size(path)
    index = index_path(path)
    if index.exists():  # the search index, a file of its own: merged into one segment
        with contextlib.closing(sqlite3.connect(index, isolation_level=None)) as db:
            db.execute("INSERT INTO message_search (message_search) VALUES ('optimize')")
            db.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()
    with contextlib.closing(connect(path, create=False)) as db:
        db.execute("PRAGMA auto_vacuum = INCREMENTAL")  # takes effect with the VACUUM
        db.execute("VACUUM")
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()
    return Compacted(before, _size(path))


def _size(path: Path) -> int:
    wal = path.with_name(path.name + "-wal")
    return path.stat().st_size + (wal.stat().st_size if wal.exists() else 0)
