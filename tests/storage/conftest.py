from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pg
import pytest


@pytest.fixture(autouse=True)
def _drop_test_databases() -> Iterator[None]:
    """After each test (and its storage's close), drop the PostgreSQL databases it made."""
    yield
    pg.drop_created()


def pytest_terminal_summary(terminalreporter: Any) -> None:
    for reason in sorted(pg.skip_reasons):
        terminalreporter.write_line(f"postgresql tests skipped: {reason}", yellow=True)
    pg.skip_reasons.clear()  # said once, whichever conftest says it first
