from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pg
import pytest
from support import RunningServer, config_for, running_server


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """A module that sets ``STORAGE_ENGINES = ("sqlite", "postgresql")`` runs each of its
    tests that uses ``storage_url`` (``server`` does) once on each engine."""
    engines = getattr(metafunc.module, "STORAGE_ENGINES", None)
    if engines and "storage_url" in metafunc.fixturenames:
        metafunc.parametrize("storage_url", engines, indirect=True)


@pytest.fixture
def storage_url(request: pytest.FixtureRequest) -> Iterator[str]:
    """The storage URL of the test's server: "" (SQLite in its data dir), or on the
    "postgresql" engine a fresh database (skipped without PostgreSQL, failed under CI),
    dropped after the test."""
    if getattr(request, "param", "sqlite") != "postgresql":
        yield ""
        return
    yield pg.fresh_database()
    pg.drop_created()


@pytest.fixture
async def server(tmp_path: Path, storage_url: str) -> AsyncIterator[RunningServer]:
    async with running_server(config_for(tmp_path / "data", storage_url=storage_url)) as running:
        yield running


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


def pytest_terminal_summary(terminalreporter: Any) -> None:
    for reason in sorted(pg.skip_reasons):
        terminalreporter.write_line(f"postgresql tests skipped: {reason}", yellow=True)
    pg.skip_reasons.clear()  # said once, whichever conftest says it first
