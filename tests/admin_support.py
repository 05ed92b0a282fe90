"""``hubbub admin`` as operators run it: ``python -m hubbub admin`` in a subprocess."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from support import TEST_SETTINGS, env_text


def admin_env() -> dict[str, str]:
    """This environment without ``HUBBUB_*`` settings, plus the tests' fast ones."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("HUBBUB_")}
    for key, value in TEST_SETTINGS.items():
        env[f"HUBBUB_{key.upper()}"] = env_text(value)
    return env


def run_admin(
    *args: str | Path, stdin: str = "", cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    """``python -m hubbub admin ARGS`` to its end; its exit code and output."""
    return subprocess.run(
        [sys.executable, "-m", "hubbub", "admin", *map(str, args)],
        input=stdin,
        env=admin_env(),
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
    )


def one_error_line(result: subprocess.CompletedProcess[str]) -> str:
    """The one line a failed command printed on stderr (never a traceback)."""
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("hubbub: error: "), lines[0]
    return str(lines[0])
