"""The admin commands' ``Database`` on SQLite: one connection of its own beside the server's.

WAL lets it read while the server writes; a read transaction is one snapshot for as long as
it lasts. Its writes wait for the server's (``busy_timeout``) and are short.
"""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from hubbub.admin.database import BATCH, BOOLEAN_COLUMNS, LIST_COLUMNS, Database, Row
from hubbub.storage.base import StorageError
from hubbub.storage.sqlite import connect, migrate_database


def open_sqlite(path: Path) -> SQLiteDatabase:
    """The database at ``path`` (created if missing), migrated."""
    path.parent.mkdir(parents=True, exist_ok=True)
    migrate_database(path)
    try:
        return SQLiteDatabase(connect(path, create=False), str(path))
    except sqlite3.Error as exc:
        raise StorageError(f"cannot use the database {str(path)!r}: {exc}") from None


class SQLiteDatabase(Database):
    is_sqlite = True
    collate_c = ""  # BINARY: UTF-8 bytes sort as code points
    errors = (sqlite3.Error,)

    def __init__(self, db: sqlite3.Connection, location: str) -> None:
        self.db = db
        self.location = location

    async def close(self) -> None:
        self.db.close()

    @asynccontextmanager
    async def snapshot(self) -> AsyncIterator[None]:
        self.db.execute("BEGIN")
        try:
            self.db.execute("SELECT 1 FROM sqlite_schema LIMIT 1")  # the snapshot starts here
            yield
        finally:
            self.db.execute("ROLLBACK")

    @asynccontextmanager
    async def writing(self) -> AsyncIterator[None]:
        self.db.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            if self.db.in_transaction:  # SQLite may have rolled back already
                self.db.execute("ROLLBACK")
            raise
        self.db.execute("COMMIT")

    async def stream(self, sql: str, *args: Any) -> AsyncGenerator[Row, None]:
        cursor = self.db.execute(sql, args)
        try:
            while page := cursor.fetchmany(BATCH):
                for row in page:
                    yield tuple(row)
        finally:
            cursor.close()

    async def fetch(self, sql: str, *args: Any) -> list[Row]:
        return [tuple(row) for row in self.db.execute(sql, args).fetchall()]

    async def execute(self, sql: str, *args: Any) -> int:
        return self.db.execute(sql, args).rowcount

    async def insert(self, table: str, columns: Sequence[str], rows: list[Row]) -> None:
        stored = _stored(columns)
        marks = ", ".join("?" * len(columns))
        self.db.executemany(
            f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})", map(stored, rows)
        )

    def neutral(self, columns: Sequence[str]) -> Callable[[Row], Row]:
        fixes = [(i, _READ[c]) for i, c in enumerate(columns) if c in _READ]

        def convert(row: Row) -> Row:
            values = list(row)
            for i, fix in fixes:
                values[i] = fix(values[i])
            return tuple(values)

        return convert if fixes else tuple

    async def lock_for_import(self, tables: Sequence[str]) -> None:
        pass  # BEGIN IMMEDIATE holds the one write lock already

    async def after_import(self) -> None:
        pass  # INTEGER PRIMARY KEY goes on past the greatest key by itself


# SQLite has no booleans (0 or 1) nor lists (a message's mentions: names between spaces).
_READ: dict[str, Callable[[Any], Any]] = {
    **{c: (lambda v: None if v is None else bool(v)) for c in BOOLEAN_COLUMNS},
    **{c: (lambda v: v.split() or None if v else None) for c in LIST_COLUMNS},
}


def _stored(columns: Sequence[str]) -> Callable[[Row], Row]:
    lists = [i for i, c in enumerate(columns) if c in LIST_COLUMNS]

    def convert(row: Row) -> Row:
        values = list(row)
        for i in lists:
            values[i] = " ".join(values[i]) if values[i] else None
        return tuple(values)

    return convert if lists else tuple
