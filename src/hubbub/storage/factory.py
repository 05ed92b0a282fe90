"""Storage from a URL: the one place that knows which engines exist.

A storage URL is ``sqlite:`` followed by the database file's path, percent-encoded as in any
URL (``%20`` is a space):

- ``sqlite:///var/lib/hubbub/hubbub.sqlite3``: an absolute path, after the empty host ``//``;
- ``sqlite:hubbub-data/hubbub.sqlite3``: a path relative to the working directory.

``postgresql://…`` names the PostgreSQL backend, which does not exist yet. The rest of the
server asks this module for its storage and never names an engine.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote, unquote, urlsplit

from hubbub.storage.base import Storage, StorageError
from hubbub.storage.sqlite import SQLiteStorage, migrate_database

EXAMPLE = "sqlite:///var/lib/hubbub/hubbub.sqlite3"


def build_storage(url: str) -> Storage:
    """The backend that ``url`` names, built but not opened."""
    return SQLiteStorage(_sqlite_path(url))


def migrate(url: str) -> int:
    """Apply the pending migrations of the storage at ``url``; returns its schema version."""
    return migrate_database(_sqlite_path(url))


def check_url(url: str) -> None:
    """``StorageError`` unless ``url`` names a storage this server can use."""
    _sqlite_path(url)


def location(url: str) -> str:
    """Where the storage at ``url`` is, for the operator: never a credential."""
    return str(_sqlite_path(url))


def sqlite_url(path: Path) -> str:
    """The URL of the SQLite database at ``path``."""
    return ("sqlite://" if path.is_absolute() else "sqlite:") + quote(str(path))


def _sqlite_path(url: str) -> Path:
    """The file an ``sqlite:`` URL names. Problems name the scheme, never the rest of the
    URL: another engine's URL may hold a password."""
    parts = urlsplit(url)
    if parts.scheme in ("postgresql", "postgres"):
        raise StorageError("asks for postgresql, but postgresql storage is not available yet")
    if parts.scheme != "sqlite":
        shown = f"{parts.scheme}:" if parts.scheme else "no scheme"
        raise StorageError(f"must be a storage URL such as {EXAMPLE}, not one with {shown}")
    if parts.netloc or parts.query or parts.fragment or not parts.path:
        raise StorageError(f"must be sqlite: and a file path, such as {EXAMPLE}")
    return Path(unquote(parts.path))
