"""The admin commands' ``Database`` on PostgreSQL: one asyncpg connection of its own.

A snapshot is a read-only REPEATABLE READ transaction whose rows come through a server-side
cursor, a page at a time. Writes wait at most ``LOCK_TIMEOUT`` for a server's locks, as
``migrate-to`` does.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from typing import Any

import asyncpg
from asyncpg import Connection, Record

from hubbub.admin.database import BATCH, Database, Row
from hubbub.storage.base import StorageError
from hubbub.storage.migrations.postgresql import migrate
from hubbub.storage.postgres import CONNECT_TIMEOUT, DATABASE_ERRORS, parse_url
from hubbub.storage.transfer import LOCK_TIMEOUT, continue_numbering

APPLICATION_NAME = "hubbub-admin"  # as pg_stat_activity shows the connection


async def open_postgres(url: str) -> PostgresDatabase:
    """The database at ``url``, migrated."""
    settings = parse_url(url)
    try:
        db = await asyncpg.connect(
            settings.dsn,
            timeout=CONNECT_TIMEOUT,
            server_settings={"application_name": APPLICATION_NAME},
        )
    except (*DATABASE_ERRORS, ValueError) as exc:
        raise StorageError(f"cannot use the database {settings.location!r}: {exc}") from None
    try:
        await migrate(db)
    except (*DATABASE_ERRORS, StorageError) as exc:
        await db.close()
        raise StorageError(f"cannot use the database {settings.location!r}: {exc}") from None
    return PostgresDatabase(db, settings.location)


class PostgresDatabase(Database):
    is_sqlite = False
    collate_c = ' COLLATE "C"'
    errors = DATABASE_ERRORS

    def __init__(self, db: Connection[Record], location: str) -> None:
        self.db = db
        self.location = location

    async def close(self) -> None:
        await self.db.close()

    @asynccontextmanager
    async def snapshot(self) -> AsyncIterator[None]:
        async with self.db.transaction(isolation="repeatable_read", readonly=True):
            yield

    @asynccontextmanager
    async def writing(self) -> AsyncIterator[None]:
        async with self.db.transaction():
            await self.db.execute(f"SET LOCAL lock_timeout = '{LOCK_TIMEOUT}'")
            yield

    async def stream(self, sql: str, *args: Any) -> AsyncGenerator[Row, None]:
        async for record in self.db.cursor(_numbered(sql), *args, prefetch=BATCH):
            yield tuple(record)

    async def fetch(self, sql: str, *args: Any) -> list[Row]:
        return [tuple(record) for record in await self.db.fetch(_numbered(sql), *args)]

    async def execute(self, sql: str, *args: Any) -> int:
        status = await self.db.execute(_numbered(sql), *args)
        return int(status.rsplit(" ", 1)[-1])  # INSERT 0 1, UPDATE 3

    async def insert(self, table: str, columns: Sequence[str], rows: list[Row]) -> None:
        await self.db.copy_records_to_table(table, records=rows, columns=list(columns))

    def neutral(self, columns: Sequence[str]) -> Callable[[Row], Row]:
        return tuple  # PostgreSQL's booleans and arrays are the neutral form

    async def lock_for_import(self, tables: Sequence[str]) -> None:
        # Writers wait until the commit: the tables stay empty until they are filled.
        await self.db.execute(f"LOCK TABLE {', '.join(tables)} IN EXCLUSIVE MODE")

    async def after_import(self) -> None:
        await continue_numbering(self.db)  # as migrate-to does
        await self.db.execute("ANALYZE")


def _numbered(sql: str) -> str:
    """``sql`` with PostgreSQL's ``$1, $2 …`` for its ``?`` (the admin SQL has no ``?`` in
    a literal)."""
    parts = sql.split("?")
    return "".join(f"{part}${i}" for i, part in enumerate(parts[:-1], 1)) + parts[-1]
