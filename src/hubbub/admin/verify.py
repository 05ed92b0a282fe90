"""``admin verify``: what must hold of a database, checked in one snapshot.

Each room's events have the seqs 1 … ``last_seq``, each once; every reference resolves: a
reply, a thread, an edit, a delete and a reaction name a message of their room; the rows of
reactions, mentions and files name a message of their room that is not deleted (a delete
drops them), and a user; members are users; events are by users or the seed's guests (or,
a retention's ``message_deleted``, by nobody: ``""``); every
row names a room that exists, and every blob a file or an avatar names is in the file store.
Each problem is one line; at most ``MAX_SHOWN`` of each kind are shown, and all counted.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Callable
from contextlib import aclosing
from pathlib import Path
from typing import NamedTuple

from hubbub.admin.database import Database, Row
from hubbub.admin.records import TABLES
from hubbub.core.models import GUEST_PREFIX
from hubbub.core.retention import RETENTION_DELETER
from hubbub.files.store import LocalFileStore, is_digest

MAX_SHOWN = 100  # problem lines of one kind; the rest are counted
MAX_GAP_ROOMS = 100  # rooms whose holes are looked for one by one


class Found(NamedTuple):
    users: int
    rooms: int
    events: int
    problems: int


_MESSAGE = (
    "SELECT 1 FROM events p WHERE p.room_id = {t}.room_id AND p.seq = {t}.{seq}"
    " AND p.type = 'message'"
)
_LIVE_MESSAGE = _MESSAGE + " AND p.deleted IS NOT TRUE"


def _is_user(column: str) -> str:
    return f"EXISTS (SELECT 1 FROM users u WHERE u.username = {column})"


def _dangling(column: str) -> Callable[[Row], str]:
    return lambda row: f"room {row[0]!r} seq {row[1]}: its {column} {row[2]} is no message of it"


class _Check(NamedTuple):
    sql: str
    line: Callable[[Row], str]


def _reference_checks() -> list[_Check]:
    checks = [
        _Check(
            f"SELECT '{table}', n FROM (SELECT count(*) AS n FROM {table} t"
            " WHERE NOT EXISTS (SELECT 1 FROM rooms r WHERE r.id = t.room_id)) c WHERE n > 0",
            lambda row: f"{row[1]} rows of {row[0]} name a room that does not exist",
        )
        for table in (t.name for t in TABLES if "room_id" in t.columns)
    ]
    for column in ("reply_to", "thread", "target"):
        checks.append(
            _Check(
                f"SELECT r.name, t.seq, t.{column} FROM events t JOIN rooms r ON r.id = t.room_id"
                f" WHERE t.{column} IS NOT NULL"
                f" AND NOT EXISTS ({_MESSAGE.format(t='t', seq=column)})"
                " ORDER BY t.room_id, t.seq",
                _dangling(column),
            )
        )
    checks += [
        _Check(
            "SELECT r.name, t.seq, t.author FROM events t JOIN rooms r ON r.id = t.room_id"
            f" WHERE t.author NOT LIKE '{GUEST_PREFIX}%' AND NOT {_is_user('t.author')}"
            # retention's deletes are by nobody
            f" AND NOT (t.author = '{RETENTION_DELETER}' AND t.type = 'message_deleted')"
            " ORDER BY t.room_id, t.seq",
            lambda row: f"room {row[0]!r} seq {row[1]}: its author {row[2]!r} is no user",
        ),
        _Check(
            "SELECT r.name, t.seq, coalesce(t.by_user, t.member) FROM events t"
            " JOIN rooms r ON r.id = t.room_id"
            f" WHERE (t.by_user IS NOT NULL AND NOT {_is_user('t.by_user')})"
            f" OR (t.member IS NOT NULL AND NOT {_is_user('t.member')})"
            " ORDER BY t.room_id, t.seq",
            lambda row: f"room {row[0]!r} seq {row[1]}: it names {row[2]!r}, who is no user",
        ),
        _Check(
            "SELECT r.name, t.username FROM members t JOIN rooms r ON r.id = t.room_id"
            f" WHERE NOT {_is_user('t.username')} ORDER BY t.room_id, t.username",
            lambda row: f"room {row[0]!r}: its member {row[1]!r} is no user",
        ),
        _Check(
            "SELECT r.name, t.seq, t.username, t.emoji FROM reactions t"
            " JOIN rooms r ON r.id = t.room_id"
            f" WHERE NOT EXISTS ({_LIVE_MESSAGE.format(t='t', seq='seq')})"
            f" OR NOT {_is_user('t.username')} ORDER BY t.room_id, t.seq",
            lambda row: (
                f"room {row[0]!r} seq {row[1]}: {row[2]!r} reacts {row[3]!r} to it,"
                " but it is no message, a deleted one, or they are no user"
            ),
        ),
        _Check(
            "SELECT r.name, t.seq, t.username FROM mentions t JOIN rooms r ON r.id = t.room_id"
            f" WHERE NOT EXISTS ({_LIVE_MESSAGE.format(t='t', seq='seq')})"
            f" OR NOT {_is_user('t.username')} ORDER BY t.room_id, t.seq",
            lambda row: (
                f"room {row[0]!r} seq {row[1]}: it mentions {row[2]!r},"
                " but it is no message, a deleted one, or they are no user"
            ),
        ),
        _Check(
            "SELECT r.name, t.id, t.seq, t.uploader FROM files t JOIN rooms r ON r.id = t.room_id"
            " WHERE (t.seq IS NOT NULL"
            f" AND NOT EXISTS ({_LIVE_MESSAGE.format(t='t', seq='seq')}))"
            f" OR NOT {_is_user('t.uploader')} ORDER BY t.room_id, t.id",
            lambda row: (
                f"room {row[0]!r}: the file {row[1]!r} (of seq {row[2]}, by {row[3]!r})"
                " names no message that is not deleted, or no user"
            ),
        ),
    ]
    return checks


async def verify(db: Database, files_dir: Path) -> AsyncGenerator[str | Found, None]:
    """Each problem as a line, then what was checked (``Found``)."""
    problems = 0
    async with db.snapshot():
        (users,) = (await db.fetch("SELECT count(*) FROM users"))[0]
        rooms = events = 0
        async with aclosing(_seqs(db)) as seqs:
            async for found in seqs:
                if isinstance(found, tuple):
                    rooms, events = found
                else:
                    problems += 1
                    yield found
        sources = [_shown(db.stream(check.sql), check.line) for check in _reference_checks()]
        sources.append(_shown(_missing_blobs(db, LocalFileStore(files_dir)), str))
        for source in sources:
            async with aclosing(source) as lines:
                async for line in lines:
                    problems += 1
                    yield line
    yield Found(int(users), rooms, events, problems)


async def _shown(
    rows: AsyncGenerator[Row, None] | AsyncGenerator[str, None], line: Callable[..., str]
) -> AsyncGenerator[str, None]:
    """``line`` of each of the first ``MAX_SHOWN`` rows, then how many more there were."""
    count = 0
    async with aclosing(rows) as each:
        async for row in each:
            count += 1
            if count <= MAX_SHOWN:
                yield line(row)
    if count > MAX_SHOWN:
        yield f"… and {count - MAX_SHOWN} more problems like the one above"


async def _seqs(db: Database) -> AsyncGenerator[str | tuple[int, int], None]:
    """Each room's holes, seqs out of range and ``last_seq`` that is not its last event's;
    then the rooms and events counted."""
    rooms = events = 0
    broken: list[tuple[int, str]] = []
    sql = (
        "SELECT r.id, r.name, r.last_seq, count(e.seq), coalesce(min(e.seq), 0),"
        " coalesce(max(e.seq), 0) FROM rooms r LEFT JOIN events e ON e.room_id = r.id"
        " GROUP BY r.id, r.name, r.last_seq ORDER BY r.id"
    )
    async with aclosing(db.stream(sql)) as rows:
        async for room_id, name, last_seq, count, low, high in rows:
            rooms += 1
            events += count
            if last_seq != high:
                yield f"room {name!r}: its last_seq is {last_seq}, its last event's seq {high}"
            if count and (low < 1 or high != count):
                broken.append((room_id, name))
    for room_id, name in broken[:MAX_GAP_ROOMS]:
        holes = await db.fetch(
            "SELECT prev, seq FROM (SELECT seq, coalesce(lag(seq) OVER (ORDER BY seq), 0) AS prev"
            " FROM events WHERE room_id = ?) g WHERE seq <> prev + 1 ORDER BY seq LIMIT ?",
            room_id,
            MAX_SHOWN,
        )
        for prev, seq in holes:
            if seq < 1:
                yield f"room {name!r}: an event has the seq {seq}"
            elif seq == prev + 2:
                yield f"room {name!r}: no event has the seq {prev + 1}"
            else:
                yield f"room {name!r}: no event has the seqs {prev + 1} to {seq - 1}"
    if len(broken) > MAX_GAP_ROOMS:
        yield f"… and {len(broken) - MAX_GAP_ROOMS} more rooms whose seqs have holes"
    yield rooms, events


async def _missing_blobs(db: Database, store: LocalFileStore) -> AsyncGenerator[str, None]:
    sql = (
        "SELECT 'file', id, sha256 FROM files UNION ALL"
        " SELECT 'thumbnail of file', id, thumb_sha256 FROM files WHERE thumb_sha256 IS NOT NULL"
        " UNION ALL SELECT 'avatar of', username, avatar FROM users WHERE avatar IS NOT NULL"
    )
    async with aclosing(db.stream(sql)) as rows:
        async for what, name, digest in rows:
            if not is_digest(digest) or not store.path(digest).is_file():
                yield f"the {what} {name!r}: its blob {digest} is not in {str(store.root)!r}"
