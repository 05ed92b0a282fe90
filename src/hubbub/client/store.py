"""The outbox in a file, so that a restarted process sends what was not acknowledged.

The file holds JSON lines (``outbox.dump_lines``) and is replaced whole on every change:
written beside it, flushed to disk, then renamed over it, so a crash leaves the old file or
the new one, never half of either. The outbox is bounded, so the file stays small.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

from hubbub.client.outbox import Outgoing, dump_lines, load_lines


class OutboxFile:
    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)

    def load(self) -> list[Outgoing]:
        try:
            data = self.path.read_bytes()
        except FileNotFoundError:
            return []
        return load_lines(data)

    def save(self, entries: Iterable[Outgoing]) -> None:
        data = dump_lines(entries)
        temporary = self.path.with_name(self.path.name + ".tmp")
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            with os.fdopen(fd, "wb") as file:
                file.write(data)
                file.flush()
                os.fsync(file.fileno())
            os.replace(temporary, self.path)
        except BaseException:
            temporary.unlink(missing_ok=True)
            raise
        _sync_directory(self.path.parent)


def _sync_directory(directory: Path) -> None:
    """Make the rename durable (a no-op where directories cannot be opened)."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
