"""The SQLite migration runner, for the ``NNNN_name.sql`` scripts of this folder.

``PRAGMA user_version`` holds the number of the last migration applied. Each pending
migration runs in its own ``BEGIN IMMEDIATE`` transaction together with the new
``user_version``, so it is applied whole or not at all. A script is cut into statements
where SQLite itself says a statement ends (``sqlite3.complete_statement``): a ``;`` inside a
string, a comment or a trigger's body does not end one. Scripts must not begin or end
transactions themselves.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Iterator

from hubbub.storage.base import StorageError
from hubbub.storage.migrations import migrations

log = logging.getLogger("hubbub.storage.sqlite")  # the engine's one log, whichever module writes


def migrate(db: sqlite3.Connection) -> int:
    """Apply the migrations newer than the database; returns its schema version.
    ``StorageError`` if the database is newer than every migration this code knows."""
    version = schema_version(db)
    known = migrations("sqlite")
    latest = known[-1][0] if known else 0
    if version > latest:
        raise StorageError(
            f"its schema version {version} is newer than this hubbub knows ({latest})"
        )
    for number, script in known[version:]:
        db.execute("BEGIN IMMEDIATE")
        try:
            for statement in statements(script):
                db.execute(statement)
            db.execute(f"PRAGMA user_version = {number}")
            db.execute("COMMIT")
        except BaseException:
            if db.in_transaction:  # SQLite may have rolled back already
                db.execute("ROLLBACK")
            raise
        log.info("applied migration %04d", number)
        version = number
    return version


def schema_version(db: sqlite3.Connection) -> int:
    (version,) = db.execute("PRAGMA user_version").fetchone()
    return int(version)


def statements(script: str) -> Iterator[str]:
    """The statements of ``script``, one by one, each with the comments before it. What
    follows the last ``;`` is yielded if it is not blank: comments alone run as nothing,
    an unfinished statement fails."""
    start = 0
    for end, char in enumerate(script):
        if char == ";" and sqlite3.complete_statement(script[start : end + 1]):
            yield script[start : end + 1]
            start = end + 1
    if script[start:].strip():
        yield script[start:]
