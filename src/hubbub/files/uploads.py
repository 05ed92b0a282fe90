"""Receiving an upload: a request body streamed into the file store, never held whole.

The body is read a piece at a time and written to a temporary blob while it is hashed. It
may take as long as it needs while it keeps coming, but a pause of more than ``idle_timeout``
between two pieces ends it (a client trickling or stalled holds nothing for long). Past
``limit`` bytes it is refused at once; on any failure, a disconnect or a cancellation, the
temporary file is removed. ``Slots`` bounds the uploads each user has running at once.
"""

from __future__ import annotations

import asyncio
import secrets
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from aiohttp import StreamReader

from hubbub.errors import BadRequest, RateLimited, TooLarge
from hubbub.files.detect import HEAD_BYTES
from hubbub.files.store import FileStore, Writer

# The body arrives in pieces of a few KiB; they go to the writer's thread a MiB at a time,
# so a thread hop and a flush are paid per MiB, not per piece.
WRITE_BATCH = 1024 * 1024


def new_file_id() -> str:
    """A file's id: random and unguessable (it is no secret, but it names nothing else)."""
    return secrets.token_urlsafe(16)


def too_large(limit: int) -> TooLarge:
    return TooLarge(f"a file holds at most {limit} bytes")


class Slots:
    """How many uploads each user has running; at most ``per_user`` at once."""

    def __init__(self, per_user: int) -> None:
        self.per_user = per_user
        self._running: Counter[str] = Counter()

    @contextmanager
    def take(self, user: str) -> Iterator[None]:
        if self._running[user] >= self.per_user:
            raise RateLimited(f"at most {self.per_user} uploads at once", retry_after=1.0)
        self._running[user] += 1
        try:
            yield
        finally:
            self._running[user] -= 1
            if not self._running[user]:
                del self._running[user]


@dataclass
class Received:
    """A whole body in a temporary blob: commit or abort ``writer``."""

    writer: Writer
    head: bytes  # the first bytes, for detecting the type


async def receive(
    body: StreamReader,
    store: FileStore,
    limit: int,
    idle_timeout: float,
    expected: int | None = None,
) -> Received:
    """Stream ``body`` into a new temporary blob of ``store``. ``TooLarge`` past ``limit``
    bytes, ``BadRequest`` for an empty body or one shorter than ``expected`` (its
    Content-Length: the client went away), ``TimeoutError`` after ``idle_timeout`` seconds
    without a byte; the temporary file is gone after any of those."""
    writer = store.writer()
    head = b""
    pending: list[bytes] = []  # read, not yet written: less than WRITE_BATCH bytes
    pending_bytes = 0
    try:
        while True:
            async with asyncio.timeout(idle_timeout):
                chunk = await body.readany()
            if not chunk:
                break
            if writer.size + pending_bytes + len(chunk) > limit:
                raise too_large(limit)
            if len(head) < HEAD_BYTES:
                head += chunk[: HEAD_BYTES - len(head)]
            pending.append(chunk)
            pending_bytes += len(chunk)
            # The first piece at once (the upload has its temporary file from its start),
            # then a batch at a time.
            if pending_bytes >= WRITE_BATCH or writer.size == 0:
                await writer.write(b"".join(pending))
                pending, pending_bytes = [], 0
        if pending:
            await writer.write(b"".join(pending))
        if writer.size == 0:
            raise BadRequest("the file is empty: send its bytes as the request body")
        if expected is not None and writer.size != expected:
            raise BadRequest("the body ended before its Content-Length")
        return Received(writer, head)
    except BaseException:
        await asyncio.shield(writer.abort())
        raise
