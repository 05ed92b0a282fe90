"""The PostgreSQL migration runner, for the ``NNNN_name.sql`` scripts of this folder.

The table ``schema_migrations`` has a row for each migration applied: the schema version is
the highest. Each pending migration runs in its own transaction together with its row, so it
is applied whole or not at all (PostgreSQL's DDL is transactional). A script is sent as one
multi-statement query, which the server itself cuts into statements. Nodes that start at
once take turns on an advisory lock: the second finds the work done. Scripts must not begin
or end transactions themselves.
"""

from __future__ import annotations

import logging

from asyncpg import Connection, Record

from hubbub.storage.base import StorageError
from hubbub.storage.migrations import migrations

log = logging.getLogger("hubbub.storage.postgres")  # the engine's one log, whichever module writes

# Any number, as long as it is hubbub's own: the key of the advisory lock that migrators share.
MIGRATION_LOCK = 0x6875_6262_7562  # "hubbub"
# Seconds a migration's script, or a wait for another node's, may take: on a large database a
# script that rewrites a table or builds an index takes minutes (a new column on every event
# of a million took four), far past the statement timeout of ordinary work.
MIGRATION_TIMEOUT = 6 * 3600.0


async def migrate(db: Connection[Record]) -> int:
    """Apply the migrations newer than the database on the asyncpg connection ``db``; returns
    its schema version. ``StorageError`` if the database is newer than this code knows."""
    await db.execute("SELECT pg_advisory_lock($1)", MIGRATION_LOCK, timeout=MIGRATION_TIMEOUT)
    try:
        await db.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations ("
            " version INTEGER PRIMARY KEY,"
            " applied_at TIMESTAMPTZ NOT NULL DEFAULT now())"
        )
        version = await schema_version(db)
        known = migrations("postgresql")
        latest = known[-1][0] if known else 0
        if version > latest:
            raise StorageError(
                f"its schema version {version} is newer than this hubbub knows ({latest})"
            )
        for number, script in known[version:]:
            log.info("applying migration %04d (on a large database this can take minutes)", number)
            async with db.transaction():
                await db.execute(script, timeout=MIGRATION_TIMEOUT)
                await db.execute("INSERT INTO schema_migrations (version) VALUES ($1)", number)
            log.info("applied migration %04d", number)
            version = number
        return version
    finally:
        await db.execute("SELECT pg_advisory_unlock($1)", MIGRATION_LOCK)


async def schema_version(db: Connection[Record]) -> int:
    version = await db.fetchval("SELECT coalesce(max(version), 0) FROM schema_migrations")
    return int(version)
