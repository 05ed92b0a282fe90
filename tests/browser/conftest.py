"""Browser tests: Playwright drives Debian's Chromium against real hubbub servers.

Nothing is downloaded: Chromium is the system's (``/usr/bin/chromium``, or
``HUBBUB_CHROMIUM``). Outside CI the tests skip, and say why at the end of the run, when
Chromium or Playwright is missing; with ``CI=true`` they fail instead, so a CI run cannot
pass without having run them.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

try:
    from playwright.async_api import Browser, async_playwright
except ImportError:  # pragma: no cover - depends on the environment
    PLAYWRIGHT_INSTALLED = False
else:
    PLAYWRIGHT_INSTALLED = True

CHROMIUM = Path(os.environ.get("HUBBUB_CHROMIUM", "/usr/bin/chromium"))
# The machine may have no network: keep Chromium from reaching out on its own, or its
# refused background connections slow everything down.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

_skip_reasons: set[str] = set()


def missing_browser() -> str | None:
    """Why the browser tests cannot run here, or None."""
    if not PLAYWRIGHT_INSTALLED:
        return "playwright is not installed (pip install -e '.[test]')"
    if not CHROMIUM.exists():
        return f"{CHROMIUM} not found (apt-get install chromium)"
    return None


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in ("true", "1", "yes")


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    reason = missing_browser()
    if reason is not None:
        if in_ci():
            pytest.fail(f"browser tests must run in CI: {reason}", pytrace=False)
        _skip_reasons.add(reason)
        pytest.skip(reason)
    async with async_playwright() as playwright:
        chromium = await playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS
        )
        try:
            yield chromium
        finally:
            await chromium.close()


def pytest_terminal_summary(terminalreporter: Any) -> None:
    for reason in sorted(_skip_reasons):
        terminalreporter.write_line(f"browser tests skipped: {reason}", yellow=True)
