"""Numbered schema migrations, one folder per engine: ``NNNN_name.sql``, applied in order."""

from __future__ import annotations

from importlib import resources


def migrations(engine: str) -> list[tuple[int, str]]:
    """``(number, sql)`` of every migration of ``engine``, in order."""
    folder = resources.files(__package__).joinpath(engine)
    found = []
    for entry in folder.iterdir():
        if entry.name.endswith(".sql"):
            found.append((int(entry.name.split("_", 1)[0]), entry.read_text(encoding="utf-8")))
    return sorted(found)
