"""Moving up: copy an SQLite deployment into an empty PostgreSQL database (``migrate-to``).

Everything happens in one PostgreSQL transaction: the target's migrations, a check that it
holds no data, and the copy, table by table in an order that satisfies the foreign keys.
Rows are read from one SQLite snapshot in batches and sent with COPY, so the database is
never held in memory whole; whatever fails, the transaction rolls back and the target is as
it was. Rows keep their keys (rooms their ids, events their seqs), and each room's
``last_seq`` and the room ids' sequence are set so that new rows continue where the old
ones stop. Besides the factory, this is the one module that names both engines.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, NamedTuple
from urllib.parse import urlsplit

import asyncpg
from asyncpg import Connection, Record

from hubbub.storage import factory
from hubbub.storage.base import StorageError
from hubbub.storage.migrations.postgresql import migrate as migrate_postgres
from hubbub.storage.postgres import CONNECT_TIMEOUT, DATABASE_ERRORS, PostgresURL, parse_url
from hubbub.storage.sqlite import connect as connect_sqlite
from hubbub.storage.sqlite import migrate_database as migrate_sqlite

# Every table that holds data, parents before the tables whose foreign keys name them.
TABLES = (
    "users",
    "tokens",
    "rooms",
    "members",
    "events",
    "reactions",
    "mentions",
    "files",
    "bans",
    "mutes",
    "audit",
    "invitations",
    "blocks",
    "server_settings",
    "invite_links",
    "guest_bans",
    "account_changes",
    "webhooks",
    "outgoing_webhooks",
    "outgoing_deliveries",
)
# What SQLite's search index follows (its own file, storage/sqlite_search.py) is not copied:
# PostgreSQL's migration indexes the bodies of `events` itself, as they are copied.
NOT_COPIED = ("search_changes",)
BATCH = 5_000  # rows per COPY
LOCK_TIMEOUT = "10s"  # how long to wait for a server still writing to the target
APPLICATION_NAME = "hubbub-migrate-to"

# Columns whose SQLite form differs from PostgreSQL's, by PostgreSQL type: SQLite has no
# booleans (0 or 1) nor lists (a message's mentions are names separated by spaces).
_CONVERT: dict[str, Callable[[Any], Any]] = {
    "boolean": lambda v: None if v is None else bool(v),
    "ARRAY": lambda v: v.split() or None if v else None,
}


class Moved(NamedTuple):
    source: str  # where each database is, as the operator is shown it: no password
    target: str
    counts: list[tuple[str, int]]  # rows copied per table, in TABLES order


class _NotEmpty(Exception):
    """The target holds data already: nothing may be copied into it."""


def check(source_url: str, target_url: str) -> tuple[Path, PostgresURL]:
    """The SQLite file to move and the target's settings; ``StorageError`` if the source is
    no SQLite database that exists or the target no PostgreSQL URL. Touches nothing."""
    if urlsplit(source_url).scheme.lower() != "sqlite":
        raise StorageError(
            f"migrate-to moves an SQLite database, and the storage configured is"
            f" {factory.location(source_url)}"
        )
    factory.check_url(source_url)
    source = Path(factory.location(source_url))
    if not source.is_file():
        raise StorageError(f"there is no database at {str(source)!r} to move")
    try:
        target = parse_url(target_url)
    except StorageError as exc:
        raise StorageError(f"the target {exc}, such as postgresql://user@host/database") from None
    return source, target


def move(source_url: str, target_url: str) -> Moved:
    """Copy the SQLite database at ``source_url`` (migrated first) into the empty PostgreSQL
    database at ``target_url`` (migrated in the same transaction). Any failure is one
    ``StorageError`` for the operator, and leaves the target as it was."""
    path, target = check(source_url, target_url)
    migrate_sqlite(path)
    try:
        source = connect_sqlite(path, create=False)
    except sqlite3.Error as exc:
        raise StorageError(f"cannot use the database {str(path)!r}: {exc}") from None
    try:
        source.execute("PRAGMA query_only = ON")
        source.execute("BEGIN")  # one snapshot for every table
        counts = asyncio.run(_copy(source, target))
    except sqlite3.Error as exc:
        raise StorageError(f"cannot read the database {str(path)!r}: {exc}") from None
    finally:
        source.close()
    return Moved(str(path), target.location, counts)


async def _copy(source: sqlite3.Connection, target: PostgresURL) -> list[tuple[str, int]]:
    try:
        db = await asyncpg.connect(
            target.dsn,
            timeout=CONNECT_TIMEOUT,
            server_settings={"application_name": APPLICATION_NAME},
        )
    except (*DATABASE_ERRORS, ValueError) as exc:
        raise StorageError(f"cannot use the database {target.location!r}: {_line(exc)}") from None
    try:
        async with db.transaction():
            await migrate_postgres(db)  # its transactions are savepoints of this one
            await db.execute(f"SET LOCAL lock_timeout = '{LOCK_TIMEOUT}'")
            # Writers wait until the commit: the target stays empty until it is filled.
            await db.execute(f"LOCK TABLE {', '.join(TABLES)} IN EXCLUSIVE MODE")
            for table in TABLES:
                if await db.fetchval(f"SELECT EXISTS (SELECT 1 FROM {table})"):
                    raise _NotEmpty(table)
            counts = [(table, await _copy_table(source, db, table)) for table in TABLES]
            await continue_numbering(db)
            await db.execute(f"ANALYZE {', '.join(TABLES)}")  # plans fit for the data at once
        return counts
    except _NotEmpty as exc:
        raise StorageError(
            f"the database {target.location!r} already holds data (in {exc.args[0]});"
            " migrate-to fills an empty one only"
        ) from None
    except (*DATABASE_ERRORS, StorageError) as exc:
        raise StorageError(f"cannot move to {target.location!r}: {_line(exc)}") from None
    finally:
        await db.close()


async def _copy_table(source: sqlite3.Connection, db: Connection[Record], table: str) -> int:
    """Copy ``table`` batch by batch; the number of rows."""
    rows = await db.fetch(
        "SELECT column_name, data_type FROM information_schema.columns"
        " WHERE table_schema = current_schema() AND table_name = $1 ORDER BY ordinal_position",
        table,
    )
    columns = [name for name, _ in rows]
    known = {info[1] for info in source.execute(f"PRAGMA table_info({table})")}
    if known != set(columns):
        raise StorageError(
            f"the two databases' {table} tables have different columns:"
            f" {sorted(known ^ set(columns))}"
        )
    convert = _converter([kind for _, kind in rows])
    cursor = source.execute(f"SELECT {', '.join(columns)} FROM {table}")
    copied = 0
    while batch := cursor.fetchmany(BATCH):
        await db.copy_records_to_table(table, records=map(convert, batch), columns=columns)
        copied += len(batch)
    return copied


def _converter(kinds: Sequence[str]) -> Callable[[Sequence[Any]], Sequence[Any]]:
    """What turns an SQLite row into the PostgreSQL row of the columns of types ``kinds``."""
    fixes = [(i, _CONVERT[kind]) for i, kind in enumerate(kinds) if kind in _CONVERT]
    if not fixes:
        return lambda row: row

    def convert(row: Sequence[Any]) -> Sequence[Any]:
        values = list(row)
        for i, fix in fixes:
            values[i] = fix(values[i])
        return values

    return convert


async def continue_numbering(db: Connection[Record]) -> None:
    """Each room's ``last_seq`` is its last event's, as the SQLite writer counts it, so the
    next event takes the next seq; identity columns (the room ids) go on past the copied
    rows."""
    await db.execute(
        "UPDATE rooms SET last_seq = coalesce("
        "(SELECT max(seq) FROM events WHERE events.room_id = rooms.id), 0)"
    )
    identities = await db.fetch(
        "SELECT table_name, column_name FROM information_schema.columns"
        " WHERE table_schema = current_schema() AND is_identity = 'YES'"
    )
    for table, column in identities:
        if table in TABLES:
            await db.execute(
                f"SELECT setval(pg_get_serial_sequence($1, $2), coalesce(max({column}), 0) + 1,"
                f" false) FROM {table}",
                table,
                column,
            )


def _line(exc: BaseException) -> str:
    """The error on one line: a server's message may run over several."""
    return " ".join(str(exc).split()) or type(exc).__name__
