"""Storage is chosen by a URL, in one place: the syntax, its refusals, the default derived from
the data dir, and no engine named outside ``hubbub/storage``."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import hubbub
from hubbub.config import Config, ConfigError, load
from hubbub.storage.base import StorageError
from hubbub.storage.factory import build_storage, check_url, location, sqlite_url
from hubbub.storage.sqlite import SQLiteStorage


@pytest.mark.parametrize(
    "url, path",
    [
        ("sqlite:///var/lib/hubbub/hubbub.sqlite3", "/var/lib/hubbub/hubbub.sqlite3"),
        ("sqlite:hubbub-data/hubbub.sqlite3", "hubbub-data/hubbub.sqlite3"),
        ("sqlite:///srv/my%20chat/db.sqlite3", "/srv/my chat/db.sqlite3"),
        ("SQLite:relative.sqlite3", "relative.sqlite3"),
    ],
)
def test_a_sqlite_url_names_a_file(url: str, path: str) -> None:
    assert location(url) == path
    storage = build_storage(url)
    assert isinstance(storage, SQLiteStorage)
    assert storage.path == Path(path)


@pytest.mark.parametrize(
    "path", [Path("/srv/hubbub/hubbub.sqlite3"), Path("data/hubbub.sqlite3"), Path("/a b/%.db")]
)
def test_sqlite_url_round_trips(path: Path) -> None:
    assert Path(location(sqlite_url(path))) == path


@pytest.mark.parametrize(
    "url, problem",
    [
        ("postgresql://hubbub:secret@db.example.org/hubbub?pool_size=0", "a pool_size of"),
        ("postgres://hubbub:secret@db.example.org:port/hubbub", "a number for its port"),
        ("postgresql://hubbub:secret@db.example.org/hubbub#x", "without a #fragment"),
        ("mysql://hubbub:secret@db.example.org/hubbub", "not one with mysql:"),
        ("/var/lib/hubbub/hubbub.sqlite3", "not one with no scheme"),
        ("sqlite://db.example.org/hubbub.sqlite3", "a file path"),
        ("sqlite:", "a file path"),
        ("sqlite:///hubbub.sqlite3?mode=ro", "a file path"),
    ],
)
def test_a_url_naming_no_usable_storage_is_refused_without_echoing_it(
    url: str, problem: str
) -> None:
    with pytest.raises(StorageError) as refused:
        check_url(url)
    assert problem in str(refused.value)
    assert "secret" not in str(refused.value)  # another engine's URL may hold a password


def test_hubbub_storage_url_is_checked_at_load() -> None:
    with pytest.raises(ConfigError) as refused:
        load({"HUBBUB_STORAGE_URL": "postgresql://hubbub@db/hubbub?pool_size=many"})
    assert str(refused.value) == (
        "HUBBUB_STORAGE_URL must have a pool_size of at least 1, such as ?pool_size=4"
    )


def test_the_default_url_is_the_database_in_the_data_dir(tmp_path: Path) -> None:
    assert Config().storage_url == "sqlite:hubbub-data/hubbub.sqlite3"
    config = load({"HUBBUB_DATA_DIR": str(tmp_path / "data")})
    assert location(config.storage_url) == str(tmp_path / "data" / "hubbub.sqlite3")
    chosen = sqlite_url(tmp_path / "elsewhere.sqlite3")
    assert load({"HUBBUB_DATA_DIR": "d", "HUBBUB_STORAGE_URL": chosen}).storage_url == chosen


ENGINES = ("sqlite3", "asyncpg", "hubbub.storage.sqlite", "hubbub.storage.postgres")


def names_an_engine(module: str) -> bool:
    return any(module == engine or module.startswith(engine + ".") for engine in ENGINES)


def test_nothing_outside_storage_names_an_engine() -> None:
    """The rest of the server gets its storage from the factory, never from an engine.
    ``hubbub admin`` is the exception, like ``migrate-to``: it works on each engine's tables
    and files itself (export, import, online backup, verify)."""
    package = Path(hubbub.__file__).parent
    offenders = []
    for source in package.rglob("*.py"):
        if source.is_relative_to(package / "storage") or source.is_relative_to(package / "admin"):
            continue
        for node in ast.walk(ast.parse(source.read_text(), str(source))):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module] + [f"{node.module}.{alias.name}" for alias in node.names]
            if any(names_an_engine(n) for n in names):
                offenders.append(str(source.relative_to(package)))
    assert offenders == []
