"""One connection to the configured database for the admin commands, either engine.

The commands write their SQL once, with ``?`` for parameters and the SQL both engines
understand (``IS TRUE`` for booleans); each engine's module (``sqlite_db``, ``postgres_db``)
runs it and turns the columns it holds in another form (booleans, lists) into one neutral
form: Python's ``bool`` and ``list``, as PostgreSQL holds them.
"""

from __future__ import annotations

import abc
from collections.abc import AsyncGenerator, Callable, Sequence
from contextlib import AbstractAsyncContextManager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from hubbub.storage import factory
from hubbub.storage.postgres import SCHEMES as POSTGRES_SCHEMES

BATCH = 5_000  # rows per page read, and per insert

Row = tuple[Any, ...]


class AdminError(Exception):
    """A command failed; its message is one line for the operator. ``code`` is the exit
    code: 1 for a failed operation or check, 2 for bad usage or settings."""

    code = 1


class UsageError(AdminError):
    code = 2


class Database(abc.ABC):
    """A connection. Reads run in ``snapshot`` (one consistent view, read-only), writes in
    ``writing`` (one transaction, committed at its end, rolled back on an exception)."""

    location: str  # for the operator: never a password
    is_sqlite: bool
    # Appended to a text column in ORDER BY: code-point order, as SQLite sorts.
    collate_c: str
    errors: tuple[type[Exception], ...]  # what the engine raises when it refuses or fails

    @abc.abstractmethod
    async def close(self) -> None: ...

    @abc.abstractmethod
    def snapshot(self) -> AbstractAsyncContextManager[None]: ...

    @abc.abstractmethod
    def writing(self) -> AbstractAsyncContextManager[None]: ...

    @abc.abstractmethod
    def stream(self, sql: str, *args: Any) -> AsyncGenerator[Row, None]:
        """The rows of ``sql``, read in pages of ``BATCH``: never all in memory."""

    @abc.abstractmethod
    async def fetch(self, sql: str, *args: Any) -> list[Row]:
        """The rows of a query known to be small."""

    @abc.abstractmethod
    async def execute(self, sql: str, *args: Any) -> int:
        """Run a change; the number of rows it changed."""

    @abc.abstractmethod
    async def insert(self, table: str, columns: Sequence[str], rows: list[Row]) -> None:
        """Insert ``rows`` (neutral values) into ``table``, in ``writing``."""

    @abc.abstractmethod
    def neutral(self, columns: Sequence[str]) -> Callable[[Row], Row]:
        """What turns a row of ``columns`` as this engine gives it into neutral values."""

    @abc.abstractmethod
    async def lock_for_import(self, tables: Sequence[str]) -> None:
        """In ``writing``: keep every other writer out of ``tables`` until the commit."""

    @abc.abstractmethod
    async def after_import(self) -> None:
        """In ``writing``, after rows were inserted with their keys: new rows go on past
        them (PostgreSQL's identity sequences)."""


async def open_database(url: str, create: bool = False) -> Database:
    """The database at ``url``, migrated. Without ``create`` an SQLite database that does
    not exist is a ``UsageError``, not a new one; ``StorageError`` if it cannot be used."""
    if urlsplit(url).scheme.lower() in POSTGRES_SCHEMES:
        from hubbub.admin.postgres_db import open_postgres

        return await open_postgres(url)
    from hubbub.admin.sqlite_db import open_sqlite

    path = Path(factory.location(url))
    if not create and not path.is_file():
        raise UsageError(f"there is no database at {str(path)!r} (see --data-dir, --database)")
    return open_sqlite(path)


# Columns an engine may hold in another form than the neutral one.
BOOLEAN_COLUMNS = frozenset({"deleted", "room_mention", "is_private", "guests", "bot"})
LIST_COLUMNS = frozenset({"mentions"})
