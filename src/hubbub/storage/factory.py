"""Storage from a URL: the one place that knows which engines exist.

A storage URL names its engine by its scheme. SQLite, the default, is ``sqlite:`` followed
by the database file's path, percent-encoded as in any URL (``%20`` is a space):

- ``sqlite:///var/lib/hubbub/hubbub.sqlite3``: an absolute path, after the empty host ``//``;
- ``sqlite:hubbub-data/hubbub.sqlite3``: a path relative to the working directory.

PostgreSQL is ``postgresql://user:password@host:port/database`` (or ``postgres://``), with
connection parameters after a ``?`` (``sslmode=require``; any other name is a server setting,
such as ``search_path=chat``) and hubbub's own ``pool_size=N``, the connections kept for
reads (4 by default; the writer has one more). Several hubbub nodes may share one PostgreSQL
database. The rest of the server asks this module for its storage and
never names an engine; what the operator is shown of a URL (``location``) never holds its
password.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from urllib.parse import quote, unquote, urlsplit

from hubbub.storage.base import Storage, StorageError
from hubbub.storage.postgres import SCHEMES as POSTGRES_SCHEMES
from hubbub.storage.postgres import PostgresStorage, migrate_database, parse_url
from hubbub.storage.sqlite import SQLiteStorage
from hubbub.storage.sqlite import migrate_database as migrate_sqlite

EXAMPLE = "sqlite:///var/lib/hubbub/hubbub.sqlite3"


def build_storage(url: str) -> Storage:
    """The backend that ``url`` names, built but not opened."""
    if _is_postgres(url):
        return PostgresStorage(url)
    return SQLiteStorage(_sqlite_path(url))


def migrate(url: str) -> int:
    """Apply the pending migrations of the storage at ``url``; returns its schema version."""
    if _is_postgres(url):
        return asyncio.run(migrate_database(url))
    return migrate_sqlite(_sqlite_path(url))


def check_url(url: str) -> None:
    """``StorageError`` unless ``url`` names a storage this server can use."""
    if _is_postgres(url):
        parse_url(url)
    else:
        _sqlite_path(url)


def location(url: str) -> str:
    """Where the storage at ``url`` is, for the operator: never a credential."""
    if _is_postgres(url):
        return parse_url(url).location
    return str(_sqlite_path(url))


def sqlite_url(path: Path) -> str:
    """The URL of the SQLite database at ``path``."""
    return ("sqlite://" if path.is_absolute() else "sqlite:") + quote(str(path))


def _is_postgres(url: str) -> bool:
    return urlsplit(url).scheme.lower() in POSTGRES_SCHEMES


def _sqlite_path(url: str) -> Path:
    """The file an ``sqlite:`` URL names. Problems name the scheme, never the rest of the
    URL: another engine's URL may hold a password."""
    parts = urlsplit(url)
    if parts.scheme != "sqlite":
        shown = f"{parts.scheme}:" if parts.scheme else "no scheme"
        raise StorageError(f"must be a storage URL such as {EXAMPLE}, not one with {shown}")
    if parts.netloc or parts.query or parts.fragment or not parts.path:
        raise StorageError(f"must be sqlite: and a file path, such as {EXAMPLE}")
    return Path(unquote(parts.path))
