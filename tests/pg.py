"""A fresh, empty PostgreSQL database for each test that asks for one.

The server is ``HUBBUB_TEST_POSTGRES`` (by default ``postgresql://127.0.0.1:5432/test``, a
database used only to create and drop the tests' own). Each test's database is
``hubbub_test_<random>``, dropped after the test (``tests/storage/conftest.py``). Outside CI
the tests skip, and say why at the end of the run, when PostgreSQL cannot be reached; with
``CI=true`` they fail instead, so a CI run cannot pass without having run them.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import functools
import os
import secrets
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import pytest

T = TypeVar("T")

SERVER = os.environ.get("HUBBUB_TEST_POSTGRES", "postgresql://127.0.0.1:5432/test")
CONNECT_TIMEOUT = 5.0

skip_reasons: set[str] = set()
created: list[str] = []  # databases made for the running test, dropped after it


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in ("true", "1", "yes")


def database_url(name: str) -> str:
    """The URL of the database ``name`` on the test server."""
    parts = urlsplit(SERVER)
    return urlunsplit((parts.scheme, parts.netloc, f"/{name}", parts.query, ""))


def run(make: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """Run a coroutine from synchronous code, whether or not an event loop is running here."""
    with concurrent.futures.ThreadPoolExecutor(1) as thread:
        return thread.submit(lambda: asyncio.run(make())).result()


async def admin(sql: str) -> None:
    db = await asyncpg.connect(SERVER, timeout=CONNECT_TIMEOUT)
    try:
        await db.execute(sql)
    finally:
        await db.close()


@functools.cache
def unreachable() -> str | None:
    """Why the PostgreSQL server cannot be reached, or None; asked once per run."""
    try:
        run(lambda: admin("SELECT 1"))
    except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
        return f"PostgreSQL at {urlsplit(SERVER).netloc} unreachable ({exc})"
    return None


def require_server() -> None:
    """Skip the test, or fail it in CI, when the PostgreSQL server cannot be reached."""
    reason = unreachable()
    if reason is not None:
        if in_ci():
            pytest.fail(f"postgresql tests must run in CI: {reason}", pytrace=False)
        skip_reasons.add(reason)
        pytest.skip(reason)


def fresh_database() -> str:
    """The URL of a new, empty database, dropped after the test."""
    require_server()
    name = f"hubbub_test_{secrets.token_hex(6)}"
    run(lambda: admin(f'CREATE DATABASE "{name}"'))
    created.append(name)
    return database_url(name)


def drop_created() -> None:
    while created:
        name = created.pop()
        run(lambda: admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))  # noqa: B023
