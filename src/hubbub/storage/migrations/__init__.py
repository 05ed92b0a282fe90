"""Numbered schema migrations, one folder per engine: ``NNNN_name.sql``, numbered 1, 2, 3 …

Each engine's folder is also the package of its runner (``sqlite/__init__.py``), which knows
how that engine splits a script into statements and records the schema version.
"""

from __future__ import annotations

import re
from importlib import resources

_NAME = re.compile(r"(\d{4})_[a-z0-9_]+\.sql")


def migrations(engine: str) -> list[tuple[int, str]]:
    """``(number, sql)`` of every migration of ``engine``, in order. The numbers must run
    1, 2, 3 … without a hole: a missing file would otherwise be skipped without a word."""
    folder = resources.files(__package__).joinpath(engine)
    found = []
    for entry in folder.iterdir():
        if entry.name.endswith(".sql"):
            named = _NAME.fullmatch(entry.name)
            if named is None:
                raise ValueError(f"migration {entry.name!r} is not named NNNN_name.sql")
            found.append((int(named[1]), entry.read_text(encoding="utf-8")))
    found.sort()
    numbers = [number for number, _ in found]
    if numbers != list(range(1, len(numbers) + 1)):
        raise ValueError(f"{engine} migrations must be numbered 1, 2, 3 …, not {numbers}")
    return found
