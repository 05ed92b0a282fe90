"""The settings file: ``hubbub.toml``, named by ``--config`` or found in the data dir.

This module only reads the file into a table of keys and values; which keys exist, their
types and ranges are ``hubbub.config``'s to check, as for every other source. Every problem
is one line that starts with the file's path.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

NAME = "hubbub.toml"  # looked for in the data dir when no --config names a file


class ConfigFileError(ValueError):
    """The file cannot be read; the message is one line that names it."""


def in_data_dir(data_dir: Path) -> Path | None:
    """The data dir's own settings file, if it has one."""
    path = data_dir / NAME
    return path if path.is_file() else None


def read(path: Path) -> dict[str, Any]:
    """The file's top-level keys and their values, as TOML types them."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ConfigFileError(f"{path}: cannot read it: {exc.strerror or exc}") from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise ConfigFileError(f"{path}: not UTF-8 text (at line {line})") from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        # tomllib's message is one line that ends with "(at line L, column C)", or with
        # "(at end of document)", which is given a line and column here too.
        message = str(exc)
        if message.endswith(_AT_END):
            lines = text.split("\n")
            where = f"(at line {len(lines)}, column {len(lines[-1]) + 1}, the end of the file)"
            message = message.removesuffix(_AT_END) + where
        raise ConfigFileError(f"{path}: not valid TOML: {message}") from None


_AT_END = "(at end of document)"
