"""``admin backup DEST``: a consistent copy of an SQLite deployment while its server runs.

The database is copied with SQLite's online backup, ``PAGES`` pages a step, inside one read
transaction: every step copies the same snapshot (the server's commits after it start are
not in the copy, and do not restart it), and the server writes on meanwhile. Then the blobs
of the file store are copied, after the snapshot: every blob a row of the copy names was in
the store before that row committed (and blobs are never changed, only added and swept), so
the copy has it unless the sweep removed it in between (reported). ``DEST`` is a data dir
(``hubbub.sqlite3`` and ``files/``) that ``hubbub serve --data-dir DEST`` runs as it is;
the database appears in it last, when everything is there.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
from pathlib import Path
from typing import NamedTuple

from hubbub.admin.database import AdminError
from hubbub.files.store import LocalFileStore, is_digest
from hubbub.storage.sqlite import connect

PAGES = 1024  # database pages a step (4 MiB of 4 KiB pages)
DATABASE = "hubbub.sqlite3"  # the name a data dir's database has by default (Config)


class Copied(NamedTuple):
    database: Path
    blobs: int  # copied
    missing: list[str]  # blobs the copy's rows name that were not in the store


def backup(source: Path, files_dir: Path, dest: Path, pages: int = PAGES) -> Copied:
    """Copy the database at ``source`` and the blobs under ``files_dir`` into ``dest``, a
    directory that is new or empty, ``pages`` database pages a step."""
    if dest.exists() and (not dest.is_dir() or any(dest.iterdir())):
        raise AdminError(f"{str(dest)!r} exists and is not an empty directory")
    dest.mkdir(mode=0o700, parents=True, exist_ok=True)
    partial = dest / f"{DATABASE}.partial"
    _copy_database(source, partial, pages)
    store = LocalFileStore(files_dir)
    copy = LocalFileStore(dest / "files")
    copy.open()
    blobs = sum(_copy_blob(store, copy, digest) for digest, _ in store.blobs())
    missing = _missing(partial, copy)
    database = dest / DATABASE
    os.replace(partial, database)
    return Copied(database, blobs, missing)


def _copy_database(source: Path, target: Path, pages: int) -> None:
    try:
        db = connect(source, create=False)
    except sqlite3.Error as exc:
        raise AdminError(f"cannot read the database {str(source)!r}: {exc}") from None
    try:
        db.execute("BEGIN")
        db.execute("SELECT 1 FROM sqlite_schema LIMIT 1")  # the snapshot every step copies
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)  # hashes inside
        os.close(fd)
        copy = sqlite3.connect(target)
        try:
            db.backup(copy, pages=pages)
            (check,) = copy.execute("PRAGMA quick_check").fetchone()
        finally:
            copy.close()
        if check != "ok":
            raise AdminError(f"the copy of the database failed its check: {check}")
    finally:
        db.close()


def _copy_blob(store: LocalFileStore, copy: LocalFileStore, digest: str) -> int:
    """Copy one blob by way of a temporary file (a blob's name holds all of it); 1 if it
    was copied, 0 if it was swept meanwhile."""
    target = copy.path(digest)
    target.parent.mkdir(parents=True, exist_ok=True)
    temp = copy.temp_dir / f"backup-{digest}"
    try:
        shutil.copy2(store.path(digest), temp)
    except FileNotFoundError:
        return 0
    os.replace(temp, target)
    return 1


def _missing(database: Path, copy: LocalFileStore) -> list[str]:
    db = sqlite3.connect(database)
    try:
        rows = db.execute(
            "SELECT sha256 FROM files UNION SELECT thumb_sha256 FROM files"
            " UNION SELECT avatar FROM users"
        )
        return [
            d for (d,) in rows if d is not None and not (is_digest(d) and copy.path(d).is_file())
        ]
    finally:
        db.close()
