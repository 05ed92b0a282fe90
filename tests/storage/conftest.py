"""What every storage contract suite shares: each of its tests runs once per backend, on a
fresh, empty storage named by ``url``. A new backend joins by one line in ``BACKENDS``."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pg
import pytest

from hubbub.storage.factory import sqlite_url

BACKENDS: dict[str, Callable[[Path], str]] = {
    "sqlite": lambda tmp: sqlite_url(tmp / "hubbub.sqlite3"),
    "postgresql": lambda tmp: pg.fresh_database(),
}


@pytest.fixture(params=sorted(BACKENDS))
def url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh, empty storage of each backend in turn (a module may define its own)."""
    return BACKENDS[request.param](tmp_path)


@pytest.fixture(autouse=True)
def _drop_test_databases() -> Iterator[None]:
    """After each test (and its storage's close), drop the PostgreSQL databases it made."""
    yield
    pg.drop_created()


def pytest_terminal_summary(terminalreporter: Any) -> None:
    for reason in sorted(pg.skip_reasons):
        terminalreporter.write_line(f"postgresql tests skipped: {reason}", yellow=True)
    pg.skip_reasons.clear()  # said once, whichever conftest says it first
