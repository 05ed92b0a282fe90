"""SQLite storage: WAL, ``synchronous=FULL``, one writer thread that group-commits.

Every write is a job for the writer thread. The thread takes every job that is waiting (up
to ``MAX_BATCH``), runs each in its own SAVEPOINT inside one transaction and commits once: one
fsync serves all of them, and a failing job rolls back alone. Reads run on a small pool of
reader threads with their own connections, which WAL lets proceed during a commit. The
writer never checkpoints the WAL itself (a checkpoint copies pages into the database and
fsyncs it, which inside a commit would hold that commit's messages back): a checkpointer
thread does it beside the writer, about once a second, without blocking it.

When the database fails, every caller gets ``Unavailable`` and nothing waits: a dead writer
thread is restarted by its supervisor with a fresh connection, writes failing at once until
then; a failed read drops its connection for a fresh one.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import queue
import sqlite3
import threading
import time
from collections.abc import Awaitable, Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Generic, TypeVar, cast

import msgspec

from hubbub.core import accounts, bots, outgoing, retention, webhooks
from hubbub.core import consent as cons
from hubbub.core import moderation as mod
from hubbub.core import registration as reg
from hubbub.core.accounts import Account, AccountChange, ServerRole
from hubbub.core.bots import Bot
from hubbub.core.consent import Consent, DmPolicy, Invitation
from hubbub.core.events import (
    EVENT_CLASSES,
    Event,
    MemberBanned,
    MemberJoined,
    MemberKicked,
    MemberLeft,
    MemberMuted,
    MemberUnbanned,
    MemberUnmuted,
    Message,
    MessageDeleted,
    MessageEdited,
    Moderation,
    Reaction,
    ReactionAdded,
    ReactionRemoved,
    RoleChanged,
    RoomChanged,
    client_msg_id,
    membership_change,
    own_fields,
)
from hubbub.core.files import StoredFile, over_quota
from hubbub.core.mentions import may_mention_room
from hubbub.core.models import PublicRoom, Room, RoomInfo, RoomKind, RoomRole, dm_members
from hubbub.core.moderation import AuditEntry, BanEntry
from hubbub.core.outgoing import Delivery, OutgoingWebhook
from hubbub.core.profiles import Profile
from hubbub.core.projection import edited, quote_of, replying, tombstone
from hubbub.core.reactions import MAX_REACTIONS
from hubbub.core.retention import RoomRetention
from hubbub.core.roles import may_delete, owner
from hubbub.core.search import (
    MIN_QUERY_CHARS,
    SHORT_QUERY,
    UNKNOWN_CURSOR,
    Cursor,
    Results,
    Sieve,
)
from hubbub.core.webhooks import Webhook
from hubbub.errors import (
    AccountDeactivated,
    BadRequest,
    Conflict,
    Forbidden,
    HubbubError,
    NotFound,
    TooLarge,
    Unavailable,
    room_not_found,
)
from hubbub.stats import CommitStats
from hubbub.storage.base import (
    Appended,
    Changed,
    E,
    Joined,
    Page,
    Replay,
    Storage,
    StorageError,
    Thread,
)
from hubbub.storage.migrations.sqlite import migrate
from hubbub.storage.rows import (
    ACCOUNT_COLUMNS,
    AUDIT_COLUMNS,
    BOT_COLUMNS,
    COMMON_COLUMNS,
    DELIVERY_COLUMNS,
    EVENT_COLUMNS,
    FILE_COLUMNS,
    FILE_INSERT_COLUMNS,
    OUTGOING_COLUMNS,
    PROFILE_COLUMNS,
    ROLES_QUERY,
    WEBHOOK_COLUMNS,
    RowDecoder,
    account,
    as_read,
    attached,
    audit_entry,
    bot_of,
    delivery_of,
    file_values,
    files_column,
    files_of,
    kind_columns,
    outgoing_of,
    profile_of,
    roles_of,
    stored_file,
    webhook_of,
)
from hubbub.storage.sqlite_search import ATTACHED as SEARCH
from hubbub.storage.sqlite_search import LAST_CHANGE, SearchIndex
from hubbub.storage.sqlite_search import attach as attach_search

T = TypeVar("T")
log = logging.getLogger(__name__)

MAX_BATCH = 512
MAX_QUEUED_WRITES = 20_000
READER_THREADS = 2
UNREAD_CAP = 1000
REFERENCED_CHUNK = 400  # blobs asked about per query (SQLite binds at most 32766 values)
MAX_CACHED_MEMBERSHIPS = 200_000
RESTART_DELAY = 1.0  # seconds before a dead writer is restarted; doubles while that fails
MAX_RESTART_DELAY = 30.0
READ_ERRORS_QUIET = 60.0  # seconds without a failed read that end a burst of them
CHECKPOINT_INTERVAL = 1.0  # seconds between the checkpointer's passes
SEARCH_INDEX_WAIT = 10.0  # seconds a search waits for the index to reach the last commit
_WRITER_NEVER_CHECKPOINTS = "PRAGMA wal_autocheckpoint=0"  # the checkpointer thread does
# After a retention pass: bounded work on the free pages.
VACUUM_PAGES = 2000  # free pages given back at most (with auto_vacuum INCREMENTAL)
INCREMENTAL = 2  # PRAGMA auto_vacuum's value for INCREMENTAL

# A write, run on the writer thread inside the batch's transaction: it adds the events it
# appends to the list it is given (published after the commit) and returns its result.
Job = Callable[[sqlite3.Connection, list[Event]], T]


@dataclass(slots=True, eq=False)
class _Write(Generic[T]):
    """A queued job and the future that its result resolves (``atomic``: see ``_submit``)."""

    job: Job[T]
    future: asyncio.Future[T]
    atomic: bool


Outcome = tuple[bool, Any]  # a job's result (True) or its exception (False)


def connect(path: Path, create: bool = True) -> sqlite3.Connection:
    """A connection with hubbub's settings. Without ``create`` a missing file is an error,
    not a new, empty database."""
    uri = path.absolute().as_uri() + ("?mode=rwc" if create else "?mode=rw")
    db = sqlite3.connect(uri, uri=True, isolation_level=None, check_same_thread=False)
    try:
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=FULL")
        db.execute("PRAGMA foreign_keys=ON")
        db.execute("PRAGMA busy_timeout=10000")
        # A deleted message's body is overwritten in the file, not only unlinked.
        db.execute("PRAGMA secure_delete=ON")
    except BaseException:
        db.close()
        raise
    return db


def migrate_database(path: Path) -> int:
    """Bring the database at ``path`` (created if missing) up to date; its schema version."""
    db, version = _open_migrated(path)
    db.close()
    return version


def _open_migrated(path: Path) -> tuple[sqlite3.Connection, int]:
    """A connection to the database at ``path``, migrated, and its schema version. Any
    failure is one ``StorageError`` naming the file, for the operator."""
    try:
        db = connect(path)
        try:
            version = migrate(db)
            return db, version
        except BaseException:
            db.close()
            raise
    except (sqlite3.Error, StorageError) as exc:
        raise StorageError(f"cannot use the database {str(path)!r}: {exc}") from None


@dataclass(slots=True)
class _RoomState:
    id: int
    name: str
    kind: RoomKind
    last_seq: int


class _WriterCache:
    """What the writer thread knows of rooms, memberships and mutes. Only the writer changes
    them, so it can remember them instead of reading them back for every message. Forgotten
    whenever a job or a commit fails, and rebuilt from the database on demand."""

    def __init__(self) -> None:
        self.rooms: dict[str, _RoomState] = {}
        self.members: dict[tuple[int, str], bool] = {}
        # (room id, user) → their mutes row, (until_ts,), or None if they have none
        self.mutes: dict[tuple[int, str], tuple[int | None] | None] = {}

    def room(self, db: sqlite3.Connection, name: str) -> _RoomState:
        state = self.rooms.get(name)
        if state is None:
            found = _find_room(db, name)
            if found is None:
                raise room_not_found(name)
            # The events, not rooms.last_seq: in the middle of a batch that lags behind.
            (last_seq,) = db.execute(
                "SELECT coalesce(max(seq), 0) FROM events WHERE room_id = ?", (found.id,)
            ).fetchone()
            state = self.rooms[name] = _RoomState(found.id, name, found.kind, last_seq)
        return state

    def is_member(self, db: sqlite3.Connection, room_id: int, user: str) -> bool:
        key = (room_id, user)
        known = self.members.get(key)
        if known is None:
            known = self.members[key] = _is_member(db, room_id, user)
            if len(self.members) > MAX_CACHED_MEMBERSHIPS:
                self.members.clear()
                self.members[key] = known
        return known

    def mute(self, db: sqlite3.Connection, room_id: int, user: str) -> tuple[int | None] | None:
        """``user``'s mute in the room, ``(until_ts,)``, or None if there is none."""
        key = (room_id, user)
        try:
            return self.mutes[key]
        except KeyError:
            pass
        row: tuple[int | None] | None = db.execute(
            "SELECT until_ts FROM mutes WHERE room_id = ? AND username = ?", key
        ).fetchone()
        if len(self.mutes) >= MAX_CACHED_MEMBERSHIPS:
            self.mutes.clear()
        self.mutes[key] = row
        return row

    def clear(self) -> None:
        self.rooms.clear()
        self.members.clear()
        self.mutes.clear()


def _file_identity(path: Path) -> tuple[int, int] | None:
    """The device and inode of the file at ``path``, None if there is none."""
    try:
        stat = path.stat()
    except OSError:
        return None
    return stat.st_dev, stat.st_ino


class SQLiteStorage(Storage):
    def __init__(
        self,
        path: Path,
        restart_delay: float = RESTART_DELAY,
        checkpoint_interval: float = CHECKPOINT_INTERVAL,
    ) -> None:
        super().__init__()
        self.path = path
        self._restart_delay = restart_delay
        self._checkpoint_interval = checkpoint_interval
        self._checkpointer: threading.Thread | None = None
        self._stop_checkpoints = threading.Event()
        self._jobs: queue.SimpleQueue[_Write[Any] | None] = queue.SimpleQueue()  # None: stop
        self._queued = 0
        self._writer: threading.Thread | None = None
        self._readers: ThreadPoolExecutor | None = None
        self._reader_dbs: list[sqlite3.Connection] = []
        self._local = threading.local()
        self._cache = _WriterCache()  # the writer thread's alone
        self._loop: asyncio.AbstractEventLoop | None = None
        self._closing = False
        # Health, set by the threads that find out, read by `check` and `_submit`.
        self._writer_down = False  # between a writer's death and its restart
        self._commits_ok = True  # false from a failed commit until one succeeds
        self._last_read_error = -math.inf  # when a read last failed (time.monotonic)
        self._read_lock = threading.Lock()
        self.commit_stats = CommitStats()  # the writer thread's, read by /metrics
        self._file: tuple[int, int] | None = None  # the database file opened (device, inode)
        self._search = SearchIndex(path)  # follows the commits on a thread of its own

    # --- lifecycle ---------------------------------------------------------------------

    async def open(self) -> None:
        self._loop = asyncio.get_running_loop()
        db, _ = await asyncio.to_thread(_open_migrated, self.path)
        db.execute(_WRITER_NEVER_CHECKPOINTS)
        self._file = _file_identity(self.path)
        self._writer = threading.Thread(
            target=self._run_writer, args=(db,), name="hubbub-sqlite-writer", daemon=True
        )
        self._writer.start()
        self._readers = ThreadPoolExecutor(READER_THREADS, thread_name_prefix="hubbub-sqlite-read")
        self._stop_checkpoints.clear()
        self._checkpointer = threading.Thread(
            target=self._run_checkpoints, name="hubbub-sqlite-checkpoint", daemon=True
        )
        self._checkpointer.start()
        await self._search.open()

    async def close(self) -> None:
        if self._writer is None:
            return
        self._closing = True
        await self._search.close()
        self._stop_checkpoints.set()
        if self._checkpointer is not None:
            await asyncio.to_thread(self._checkpointer.join)
            self._checkpointer = None
        self._jobs.put(None)
        await asyncio.to_thread(self._writer.join)
        self._writer = None
        if self._readers is not None:
            self._readers.shutdown(wait=True)
        for db in self._reader_dbs:
            db.close()
        self._reader_dbs.clear()

    # --- the writer thread --------------------------------------------------------------

    def _submit(self, job: Job[T], atomic: bool = False) -> asyncio.Future[T]:
        """Enqueue now (so call order is commit order); resolve after the commit.

        An ``atomic`` job promises to raise a ``HubbubError`` only before it writes anything,
        so it needs no savepoint of its own (two statements fewer per message); if it raises
        anything else, the whole batch is rolled back and fails."""
        assert self._loop is not None, "storage is not open"
        future: asyncio.Future[T] = self._loop.create_future()
        if self._closing:
            future.set_exception(Unavailable("the server is shutting down"))
        elif self._writer_down:
            future.set_exception(_writer_unavailable())
        elif self._queued >= MAX_QUEUED_WRITES:
            future.set_exception(Unavailable("too many writes waiting; try again"))
        else:
            self._queued += 1
            self._jobs.put(_Write(job, future, atomic))
        return future

    def _run_checkpoints(self) -> None:
        """The checkpointer thread: a PASSIVE checkpoint every ``checkpoint_interval``, on a
        connection of its own. PASSIVE waits for no reader nor writer; what it cannot copy
        yet, the next pass does. A failure (the file gone, say) is tried again next time."""
        db: sqlite3.Connection | None = None
        try:
            while not self._stop_checkpoints.wait(self._checkpoint_interval):
                try:
                    if db is None:
                        db = connect(self.path, create=False)
                    db.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
                except sqlite3.Error as exc:
                    log.debug("a WAL checkpoint failed: %s", exc)
                    if db is not None:
                        db.close()
                        db = None
        finally:
            if db is not None:
                db.close()

    def _run_writer(self, db: sqlite3.Connection) -> None:
        """The writer thread, supervised: when the write loop dies, writes fail at once until
        a fresh connection takes a write again."""
        while not self._write_loop(db):
            restarted = self._restart()
            if restarted is None:
                return  # closed while the writer was down
            db = restarted

    def _write_loop(self, db: sqlite3.Connection) -> bool:
        """Commit batches until ``close`` asks to stop (True). If anything escapes, even a
        ``BaseException``, fail the batch at hand and report the writer dead (False)."""
        batch: list[_Write[Any]] = []
        try:
            while True:
                batch, stopping = self._take_batch()
                if batch:
                    results, events = self._commit_batch(db, batch)
                    self._hand_back(batch, results, events)
                    batch = []
                if stopping:
                    return True
        except BaseException as exc:
            self._writer_down = True  # before the batch fails: later writes fail at once
            self._commits_ok = False
            log.critical("the storage writer stopped; writes fail until it restarts", exc_info=exc)
            if batch:
                self._hand_back(batch, [(False, _writer_unavailable())] * len(batch), [])
            return False
        finally:
            db.close()

    def _restart(self) -> sqlite3.Connection | None:
        """While the writer is down: fail every write as it comes, and try a fresh connection
        after a delay that doubles on each failure. None if ``close`` is called meanwhile."""
        delay = self._restart_delay
        while self._refuse_writes_for(delay):
            try:
                db = connect(self.path, create=False)  # never a new, empty database
                try:
                    db.execute(_WRITER_NEVER_CHECKPOINTS)
                    db.execute("BEGIN IMMEDIATE")
                    _rewrite_version(db, [])
                    db.execute("COMMIT")
                except BaseException:
                    db.close()
                    raise
            except sqlite3.Error as exc:
                log.debug("the storage writer cannot restart yet: %s", exc)
                delay = min(2 * delay, MAX_RESTART_DELAY)
                continue
            self._cache.clear()
            self._commits_ok = True
            self._writer_down = False
            log.warning("the storage writer restarted; writes are taken again")
            return db
        return None

    def _refuse_writes_for(self, seconds: float) -> bool:
        """Fail every write that arrives in the next ``seconds``; False if ``close`` asked
        to stop (writes queued before that have failed too)."""
        deadline = time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0:
            try:
                item = self._jobs.get(timeout=left)
            except queue.Empty:
                break
            if item is None:
                return False
            self._hand_back([item], [(False, _writer_unavailable())], [])
        return True

    def _take_batch(self) -> tuple[list[_Write[Any]], bool]:
        """The next job and every one already waiting (up to ``MAX_BATCH``), and whether
        ``close`` asked to stop (then every job queued before it is taken)."""
        items = [self._jobs.get()]
        while len(items) < MAX_BATCH:
            try:
                items.append(self._jobs.get_nowait())
            except queue.Empty:
                break
        stopping = None in items
        if stopping:  # jobs queued after the stop request still get committed
            with contextlib.suppress(queue.Empty):
                while True:
                    items.append(self._jobs.get_nowait())
        return [item for item in items if item is not None], stopping

    def _commit_batch(
        self, db: sqlite3.Connection, batch: list[_Write[Any]]
    ) -> tuple[list[Outcome], list[Event]]:
        """Run the jobs in one transaction and commit once: each job's outcome, and the
        events of the commit. A failed commit fails every job and keeps no event."""
        results: list[Outcome] = []
        events: list[Event] = []
        started = time.perf_counter()
        try:
            db.execute("BEGIN IMMEDIATE")
            for write in batch:
                job_events: list[Event] = []
                if write.atomic:
                    try:
                        value = write.job(db, job_events)
                    except HubbubError as exc:
                        results.append((False, exc))
                    else:
                        events.extend(job_events)
                        results.append((True, value))
                    continue
                db.execute("SAVEPOINT job")
                try:
                    value = write.job(db, job_events)
                except Exception as exc:
                    db.execute("ROLLBACK TO job")
                    self._cache.clear()  # the job may have changed it before failing
                    results.append((False, exc))
                else:
                    events.extend(job_events)
                    results.append((True, value))
                db.execute("RELEASE job")
            if events:  # one update per room and commit, not one per event
                rooms = list({event.room for event in events})
                db.execute(
                    "UPDATE rooms SET last_seq = (SELECT max(seq) FROM events"
                    f" WHERE room_id = rooms.id) WHERE name IN ({','.join('?' * len(rooms))})",
                    rooms,
                )
            db.execute("COMMIT")
        except Exception:
            if self._commits_ok:  # once per run of failures, not once per batch
                log.exception(
                    "commit of %d writes failed; next failures are not logged", len(batch)
                )
            self._commits_ok = False
            self.commit_stats.failed += 1
            if db.in_transaction:
                db.execute("ROLLBACK")
            self._cache.clear()
            return [(False, Unavailable("storage failed to commit"))] * len(batch), []
        self.commit_stats.committed(len(batch), len(events), time.perf_counter() - started)
        if not self._commits_ok:
            log.warning("storage commits work again")
            self._commits_ok = True
        return results, events

    def _hand_back(
        self,
        batch: list[_Write[Any]],
        results: list[Outcome],
        events: list[Event],
    ) -> None:
        assert self._loop is not None
        self._loop.call_soon_threadsafe(self._finish, batch, results, events)

    def _finish(
        self,
        batch: list[_Write[Any]],
        results: list[Outcome],
        events: list[Event],
    ) -> None:
        """On the event loop, after the commit: publish, then resolve, in commit order."""
        self._queued -= len(batch)
        if events:
            try:
                self.on_events(events)
            except Exception:
                # Stored but maybe not delivered: the writers hear `unavailable`, so a client
                # retries (a send with the same client_msg_id gets its stored event) or syncs.
                log.exception("publishing %d committed events failed", len(events))
                undelivered = Unavailable("stored, but not delivered; sync to see it")
                results = [(False, undelivered) if ok else (ok, v) for ok, v in results]
            assert self._loop is not None  # the index looks once the fan-out is written
            self._loop.call_soon(self._search.committed)
        for write, (ok, value) in zip(batch, results, strict=True):
            future = write.future
            if future.done():  # cancelled by its caller
                continue
            if ok:
                future.set_result(value)
            elif isinstance(value, HubbubError):
                future.set_exception(value)
            else:
                log.error("storage job failed", exc_info=value)
                future.set_exception(Unavailable("storage error"))

    # --- reads ------------------------------------------------------------------------

    async def _read(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        assert self._loop is not None and self._readers is not None, "storage is not open"
        return await self._loop.run_in_executor(self._readers, self._run_read, fn)

    def _run_read(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        """On a reader thread. A database error is ``Unavailable`` for the caller and drops
        this thread's connection, so the next read tries a fresh one."""
        try:
            result = fn(self._reader_db())
        except sqlite3.Error as exc:
            self._drop_reader_db()
            self._read_failed(exc)
            raise Unavailable("storage is unavailable; try again later") from None
        return result

    def _read_failed(self, exc: sqlite3.Error) -> None:
        """Log the first failure of a burst only: a dead disk must not flood the log."""
        with self._read_lock:
            now = time.monotonic()
            first = now - self._last_read_error > READ_ERRORS_QUIET
            self._last_read_error = now
        if first:
            log.error("storage reads fail (%s); failures until a quiet minute are not logged", exc)

    def _reader_db(self) -> sqlite3.Connection:
        db: sqlite3.Connection | None = getattr(self._local, "db", None)
        if db is None:
            db = connect(self.path, create=False)
            db.execute("PRAGMA query_only=ON")
            attach_search(db, self.path)
            self._local.db = db
            self._reader_dbs.append(db)
        return db

    def _drop_reader_db(self) -> None:
        db: sqlite3.Connection | None = getattr(self._local, "db", None)
        if db is not None:
            self._local.db = None
            self._reader_dbs.remove(db)
            with contextlib.suppress(sqlite3.Error):
                db.close()

    async def check(self) -> None:
        if self._closing:
            raise Unavailable("the server is shutting down")
        if self._writer_down:
            raise _writer_unavailable()
        if _file_identity(self.path) != self._file:
            # Open connections go on using a moved or deleted file, and everything written
            # to it would be gone at the next start.
            raise Unavailable(f"the database file {str(self.path)!r} is gone or was replaced")
        if not self._commits_ok:  # healthy again once a write commits
            await self._submit(_rewrite_version)
        await self._read(lambda db: db.execute("SELECT 1 FROM rooms LIMIT 1").fetchall())

    # --- accounts ---------------------------------------------------------------------

    def create_user(
        self,
        username: str,
        password_hash: str,
        now: int,
        invite: bytes | None = None,
        refusal: str | None = None,
    ) -> Awaitable[None]:
        def job(db: sqlite3.Connection, events: list[Event]) -> None:
            if invite is not None:
                _use_invite(db, invite, now)
            elif refusal is not None and db.execute("SELECT 1 FROM users LIMIT 1").fetchone():
                raise Forbidden(refusal)
            try:
                # One writer: no other account can be created between the check and the insert.
                db.execute(
                    "INSERT INTO users (username, password_hash, created_at, role)"
                    " SELECT ?, ?, ?,"
                    " CASE WHEN EXISTS (SELECT 1 FROM users) THEN 'member' ELSE 'admin' END",
                    (username, password_hash, now),
                )
            except sqlite3.IntegrityError:
                raise Conflict(f"the username {username!r} is taken") from None

        return self._submit(job)

    async def is_admin(self, username: str) -> bool:
        def read(db: sqlite3.Connection) -> bool:
            row = db.execute("SELECT role FROM users WHERE username = ?", (username,)).fetchone()
            return row is not None and row[0] == "admin"

        return await self._read(read)

    async def password_hash(self, username: str) -> str | None:
        def read(db: sqlite3.Connection) -> str | None:
            row = db.execute(
                "SELECT password_hash FROM users WHERE username = ?", (username,)
            ).fetchone()
            return None if row is None else str(row[0])

        return await self._read(read)

    def create_token(
        self, token_hash: bytes, username: str, now: int, expires_at: int
    ) -> Awaitable[None]:
        def job(db: sqlite3.Connection, events: list[Event]) -> None:
            _check_active(db, username)
            db.execute(
                "INSERT INTO tokens (token_hash, username, created_at, expires_at)"
                " VALUES (?, ?, ?, ?)",
                (token_hash, username, now, expires_at),
            )

        return self._submit(job)

    async def user_for_token(self, token_hash: bytes, now: int) -> str | None:
        def read(db: sqlite3.Connection) -> str | None:
            row = db.execute(
                "SELECT username FROM tokens WHERE token_hash = ? AND expires_at > ?",
                (token_hash, now),
            ).fetchone()
            return None if row is None else str(row[0])

        return await self._read(read)

    def delete_token(self, token_hash: bytes) -> Awaitable[None]:
        def job(db: sqlite3.Connection, events: list[Event]) -> None:
            db.execute("DELETE FROM tokens WHERE token_hash = ?", (token_hash,))

        return self._submit(job)

    def set_password(
        self,
        username: str,
        password_hash: str,
        keep: bytes | None,
        close_sessions: bool = False,
        now: int = 0,
    ) -> Awaitable[list[bytes]]:
        def job(db: sqlite3.Connection, events: list[Event]) -> list[bytes]:
            changed = db.execute(
                "UPDATE users SET password_hash = ? WHERE username = ?", (password_hash, username)
            )
            if changed.rowcount == 0:
                raise NotFound(f"no user named {username!r}")
            if close_sessions:
                _account_changed(db, username, AccountChange.PASSWORD, now)
            if keep is None:
                return []
            rows = db.execute(
                "DELETE FROM tokens WHERE username = ? AND token_hash <> ? RETURNING token_hash",
                (username, keep),
            ).fetchall()
            return [bytes(token) for (token,) in rows]

        return self._submit(job)

    # --- server accounts (20) ------------------------------------------------------------

    async def accounts(self, after: str | None, limit: int) -> list[Account]:
        def read(db: sqlite3.Connection) -> list[Account]:
            rows = db.execute(
                f"SELECT {ACCOUNT_COLUMNS} FROM users WHERE username > ? ORDER BY username LIMIT ?",
                (after or "", limit),
            ).fetchall()
            return [account(row) for row in rows]

        return await self._read(read)

    def set_server_role(
        self, by: str | None, username: str, role: ServerRole, now: int
    ) -> Awaitable[Account]:
        def job(db: sqlite3.Connection, events: list[Event]) -> Account:
            if by is not None:
                accounts.check_actor(_account(db, by))
            target = accounts.found(_account(db, username), username)
            if not accounts.changes_role(target, role, _active_admins(db)):
                return target
            db.execute("UPDATE users SET role = ? WHERE username = ?", (role.value, username))
            _log(db, accounts.entry(by, accounts.role_action(role), username, now))
            return msgspec.structs.replace(target, role=role)

        return self._submit(job)

    def set_deactivated(
        self, by: str | None, username: str, deactivated: bool, now: int
    ) -> Awaitable[Account]:
        def job(db: sqlite3.Connection, events: list[Event]) -> Account:
            if by is not None:
                accounts.check_actor(_account(db, by))
            target = accounts.found(_account(db, username), username)
            if not accounts.changes_state(by, target, deactivated, _active_admins(db)):
                return target
            db.execute(
                "UPDATE users SET deactivated_at = ? WHERE username = ?",
                (now if deactivated else None, username),
            )
            if deactivated:
                db.execute("DELETE FROM tokens WHERE username = ?", (username,))
                _account_changed(db, username, AccountChange.DEACTIVATED, now)
            _log(db, accounts.entry(by, accounts.state_action(deactivated), username, now))
            return msgspec.structs.replace(target, deactivated=deactivated)

        return self._submit(job)

    async def account_changes(
        self, after: int | None, limit: int
    ) -> tuple[int, list[tuple[str, AccountChange]]]:
        def read(db: sqlite3.Connection) -> tuple[int, list[tuple[str, AccountChange]]]:
            if after is None:
                row = db.execute("SELECT coalesce(max(id), 0) FROM account_changes").fetchone()
                return int(row[0]), []
            rows = db.execute(
                "SELECT id, username, kind FROM account_changes WHERE id > ? ORDER BY id LIMIT ?",
                (after, limit),
            ).fetchall()
            last = int(rows[-1][0]) if rows else after
            return last, [(str(name), AccountChange(kind)) for _, name, kind in rows]

        return await self._read(read)

    async def profiles(self, usernames: Sequence[str]) -> list[Profile]:
        names = list(dict.fromkeys(usernames))

        def read(db: sqlite3.Connection) -> list[Profile]:
            found: dict[str, Profile] = {}
            for at in range(0, len(names), _NAMES_PER_QUERY):
                some = names[at : at + _NAMES_PER_QUERY]
                rows = db.execute(
                    f"SELECT {PROFILE_COLUMNS} FROM users"
                    f" WHERE username IN ({','.join('?' * len(some))})",
                    some,
                ).fetchall()
                found.update((row[0], profile_of(row)) for row in rows)
            return [found[name] for name in names if name in found]

        return await self._read(read)

    async def member_profiles(self, room: str) -> list[Profile]:
        def read(db: sqlite3.Connection) -> list[Profile]:
            row = _find_room(db, room)
            if row is None:
                raise room_not_found(room)
            rows = db.execute(
                f"SELECT {PROFILE_COLUMNS} FROM users WHERE username IN"
                " (SELECT username FROM members WHERE room_id = ?) ORDER BY username",
                (row.id,),
            ).fetchall()
            return [profile_of(found) for found in rows]

        return await self._read(read)

    def set_profile(
        self, username: str, display_name: str | None, status: str | None
    ) -> Awaitable[Profile]:
        def job(db: sqlite3.Connection, events: list[Event]) -> Profile:
            rows = db.execute(
                "UPDATE users SET display_name = coalesce(?, display_name),"
                f" status = coalesce(?, status) WHERE username = ? RETURNING {PROFILE_COLUMNS}",
                (display_name, status, username),
            ).fetchall()  # all: a statement left unfinished would hold the transaction
            if not rows:
                raise NotFound(f"no user named {username!r}")
            return profile_of(rows[0])

        return self._submit(job)

    def set_avatar(self, username: str, blob: str | None, version: str = "") -> Awaitable[Profile]:
        def job(db: sqlite3.Connection, events: list[Event]) -> Profile:
            rows = db.execute(
                "UPDATE users SET avatar = ?, avatar_version = ? WHERE username = ?"
                f" RETURNING {PROFILE_COLUMNS}",
                (blob, version if blob is not None else "", username),
            ).fetchall()
            if not rows:
                raise NotFound(f"no user named {username!r}")
            return profile_of(rows[0])

        return self._submit(job)

    async def avatar(self, username: str) -> tuple[str, str] | None:
        def read(db: sqlite3.Connection) -> tuple[str, str] | None:
            row = db.execute(
                "SELECT avatar, avatar_version FROM users"
                " WHERE username = ? AND avatar IS NOT NULL",
                (username,),
            ).fetchone()
            return None if row is None else (str(row[0]), str(row[1]))

        return await self._read(read)

    # --- rooms and members (jobs run on the writer thread) -------------------------------

    def create_room(self, name: str, kind: RoomKind, creator: str, now: int) -> Awaitable[Joined]:
        def job(db: sqlite3.Connection, events: list[Event]) -> Joined:
            try:
                db.execute(
                    "INSERT INTO rooms (name, kind, created_by, created_at) VALUES (?, ?, ?, ?)",
                    (name, kind.value, creator, now),
                )
            except sqlite3.IntegrityError:
                raise Conflict(f"a room named {name!r} exists") from None
            return _join(db, events, self._cache, self._cache.room(db, name), creator, now, None)

        return self._submit(job)

    def ensure_room(self, name: str, kind: RoomKind, now: int) -> Awaitable[None]:
        def job(db: sqlite3.Connection, events: list[Event]) -> None:
            db.execute(
                "INSERT INTO rooms (name, kind, created_at) VALUES (?, ?, ?)"
                " ON CONFLICT DO NOTHING",
                (name, kind.value, now),
            )

        return self._submit(job)

    def open_dm(
        self, name: str, users: tuple[str, str], opener: str, now: int
    ) -> Awaitable[Joined]:
        def job(db: sqlite3.Connection, events: list[Event]) -> Joined:
            for user in users:
                if db.execute("SELECT 1 FROM users WHERE username = ?", (user,)).fetchone() is None:
                    raise NotFound(f"no user named {user!r}")
            created = db.execute(
                "INSERT INTO rooms (name, kind, created_by, created_at) VALUES (?, 'dm', ?, ?)"
                " ON CONFLICT DO NOTHING",
                (name, opener, now),
            ).rowcount
            room = self._cache.room(db, name)
            if created:
                for user in dict.fromkeys(users):
                    by = None if user == opener else opener
                    _join(db, events, self._cache, room, user, now, by)
            info = _info(db, room.id, opener, room.last_seq)
            assert info is not None
            return Joined(info, None)

        return self._submit(job)

    def add_member(self, room: str, user: str, now: int, by: str | None) -> Awaitable[Joined]:
        def job(db: sqlite3.Connection, events: list[Event]) -> Joined:
            if db.execute("SELECT 1 FROM users WHERE username = ?", (user,)).fetchone() is None:
                raise NotFound(f"no user named {user!r}")
            row = self._cache.room(db, room)
            if _banned(db, row.id, user):
                raise Forbidden(mod.banned_from(room, user, by))
            _uninvite(db, row.id, user)  # joining consumes a pending invitation
            return _join(db, events, self._cache, row, user, now, by)

        return self._submit(job)

    def remove_member(self, room: str, user: str, now: int) -> Awaitable[MemberLeft | None]:
        def job(db: sqlite3.Connection, events: list[Event]) -> MemberLeft | None:
            row = self._cache.room(db, room)
            gone = db.execute(
                "DELETE FROM members WHERE room_id = ? AND username = ?", (row.id, user)
            ).rowcount
            self._cache.members[(row.id, user)] = False
            if not gone:
                return None
            return _insert(db, events, row, MemberLeft(room=room, seq=0, ts=now, user=user))

        return self._submit(job)

    def append(self, event: E, require_member: bool = True) -> Awaitable[Appended[E]]:
        if membership_change(event) is not None:
            raise ValueError("members change through the member methods, not append")

        def job(db: sqlite3.Connection, events: list[Event]) -> Appended[E]:
            row = self._cache.room(db, event.room)
            if require_member and not self._cache.is_member(db, row.id, event.user):
                stored = _stored_in_room(db, event)
                if stored is not None:  # a retry after leaving still gets its answer
                    return stored
                if row.kind == RoomKind.PUBLIC:
                    raise Forbidden(f"join {event.room!r} before you post in it")
                raise room_not_found(event.room)
            if require_member:
                _check_unmuted(self._cache.mute(db, row.id, event.user), row, event)
                if row.kind == RoomKind.DM and isinstance(event, Message):
                    _check_unblocked(db, row.name, event.user)
            try:
                if isinstance(event, Message) and (
                    event.reply_to is not None
                    or event.mentions
                    or event.room_mention
                    or event.files
                ):
                    reply = _insert_message(db, events, row, event)
                    return Appended(cast("E", reply), duplicate=False)
                return Appended(_insert(db, events, row, event), duplicate=False)
            except (sqlite3.IntegrityError, NotFound, Conflict):
                # Duplicates are rare, so the unique index finds them rather than a lookup
                # before every insert; a retry also gets its answer when the message it
                # answered is gone since.
                stored = _stored(db, event)
                if stored is None:
                    raise
                return stored

        return self._submit(job, atomic=True)

    def edit_message(self, edit: MessageEdited) -> Awaitable[Changed]:
        def job(db: sqlite3.Connection, events: list[Event]) -> Changed:
            room = self._member_room(db, edit)
            target = _target(db, room, edit.target)
            if target.user != edit.user:
                raise Forbidden("only its author can edit a message")
            if target.deleted:
                raise Conflict(f"message {edit.target} is deleted")
            if target.body == edit.body:
                return Changed(target, None)
            names, everyone = _mentioned(db, room, edit.user, edit.mentions, edit.room_mention)
            change = msgspec.structs.replace(edit, mentions=names, room_mention=everyone)
            stored = _insert(db, events, room, change)
            db.execute(
                "UPDATE events SET body = ?, edited_at = ?, mentions = ?, room_mention = ?"
                " WHERE room_id = ? AND seq = ?",
                (edit.body, edit.ts, _names(names), int(everyone), room.id, edit.target),
            )
            _unmention(db, room.id, target)
            _mention(db, room.id, edit.target, names)
            return Changed(edited(target, stored), stored)

        return self._submit(job, atomic=True)

    def delete_message(self, delete: MessageDeleted) -> Awaitable[Changed]:
        def job(db: sqlite3.Connection, events: list[Event]) -> Changed:
            server_admin = _is_admin(db, delete.user)
            room = self._cache.room(db, delete.room) if server_admin else None
            if room is None or room.kind == RoomKind.DM:  # server admins moderate no DM
                room = self._member_room(db, delete)
            target = _target(db, room, delete.target)
            created_by, role = db.execute(
                "SELECT r.created_by, m.role FROM rooms r LEFT JOIN members m"
                " ON m.room_id = r.id AND m.username = ? WHERE r.id = ?",
                (delete.user, room.id),
            ).fetchone()
            room_owner = owner(room.kind, created_by)
            moderates = server_admin and room.kind != RoomKind.DM
            if not may_delete(delete.user, target.user, room_owner, role or "", moderates):
                raise Forbidden("only its author, the room's owner or an admin can delete it")
            if target.deleted:
                return Changed(target, None)
            stored = _erase(db, events, room, target, delete)
            if target.user != delete.user:
                _log(db, mod.deleted_entry(stored, target.user))
            return Changed(tombstone(target), stored)

        return self._submit(job, atomic=True)

    def expire(
        self, room: str, before: int, now: int, limit: int, earlier: int = 0
    ) -> Awaitable[int]:
        def job(db: sqlite3.Connection, events: list[Event]) -> int:
            state = self._cache.room(db, room)
            rows = db.execute(
                f"SELECT {EVENT_COLUMNS} FROM events WHERE room_id = ? AND type = 'message'"
                " AND deleted IS NOT 1 AND ts < ? ORDER BY ts LIMIT ?",
                (state.id, before, limit),
            ).fetchall()
            for row in rows:
                target = _event(room, row)
                assert isinstance(target, Message)
                delete = retention.deletion(room, target.seq, now)
                _erase(db, events, state, target, delete)
            if len(rows) < limit and earlier + len(rows) > 0:
                _log(db, retention.entry(room, now, earlier + len(rows), before))
            return len(rows)

        return self._submit(job)

    async def retention_rooms(self) -> list[RoomRetention]:
        def read(db: sqlite3.Connection) -> list[RoomRetention]:
            rows = db.execute(
                "SELECT name, kind, room_retention_days FROM rooms ORDER BY name"
            ).fetchall()
            return [RoomRetention(name, RoomKind(kind), days) for name, kind, days in rows]

        return await self._read(read)

    async def compact(self) -> None:
        # The search index applies what was just changed first, so that those changes can
        # go now, not only after the next pass (if it is slow, what it has applied goes).
        await self._index_caught_up()
        applied = self._search.applied_changes

        def job(db: sqlite3.Connection, events: list[Event]) -> None:
            # What the search index has applied is of no more use to it.
            db.execute("DELETE FROM search_changes WHERE id <= ?", (applied,))
            (auto_vacuum,) = db.execute("PRAGMA auto_vacuum").fetchone()
            if auto_vacuum == INCREMENTAL:  # since `hubbub admin compact` made it so
                (free,) = db.execute("PRAGMA freelist_count").fetchone()
                # One page per statement: Python's sqlite3 steps a statement without a
                # result row once, and each step gives back one page.
                for _ in range(min(free, VACUUM_PAGES)):
                    db.execute("PRAGMA incremental_vacuum(1)")

        await self._submit(job)

    async def _index_caught_up(self) -> bool:
        """Wait until the search index holds everything committed so far; False if
        ``SEARCH_INDEX_WAIT`` seconds pass first."""
        pos, change = await self._read(_search_targets)
        return await self._search.caught_up(pos, change, SEARCH_INDEX_WAIT)

    def react(self, reaction: ReactionAdded | ReactionRemoved) -> Awaitable[Changed]:
        def job(db: sqlite3.Connection, events: list[Event]) -> Changed:
            room = self._member_room(db, reaction)
            _check_unmuted(self._cache.mute(db, room.id, reaction.user), room, reaction)
            target = _target(db, room, reaction.target)
            if target.deleted:
                raise Conflict(f"message {reaction.target} is deleted")
            key = (room.id, reaction.target, reaction.emoji, reaction.user)
            if isinstance(reaction, ReactionAdded):
                _check_reaction_cap(db, room.id, reaction)
                changed = db.execute(
                    "INSERT INTO reactions (room_id, seq, emoji, username) VALUES (?, ?, ?, ?)"
                    " ON CONFLICT DO NOTHING",
                    key,
                ).rowcount
            else:
                changed = db.execute(
                    "DELETE FROM reactions WHERE room_id = ? AND seq = ? AND emoji = ?"
                    " AND username = ?",
                    key,
                ).rowcount
            stored = _insert(db, events, room, reaction) if changed else None
            (message,) = _as_read(db, room.id, [target], reaction.user)
            assert isinstance(message, Message)
            return Changed(message, stored)

        return self._submit(job, atomic=True)

    def set_role(self, change: RoleChanged) -> Awaitable[RoleChanged | None]:
        def job(db: sqlite3.Connection, events: list[Event]) -> RoleChanged | None:
            room = self._member_room(db, change)
            (created_by,) = db.execute(
                "SELECT created_by FROM rooms WHERE id = ?", (room.id,)
            ).fetchone()
            room_owner = owner(room.kind, created_by)
            if change.user != room_owner:
                raise Forbidden("only the room's owner can change roles")
            if change.member == room_owner:
                raise BadRequest("the owner's role cannot change")
            row = db.execute(
                "SELECT role FROM members WHERE room_id = ? AND username = ?",
                (room.id, change.member),
            ).fetchone()
            if row is None:
                raise NotFound(f"{change.member!r} is not a member of {change.room!r}")
            if row[0] == change.role:
                return None
            db.execute(
                "UPDATE members SET role = ? WHERE room_id = ? AND username = ?",
                (change.role.value, room.id, change.member),
            )
            return _insert(db, events, room, change)

        return self._submit(job, atomic=True)

    def _member_room(self, db: sqlite3.Connection, event: Event) -> _RoomState:
        """The room of ``event``, whose author must be a member: ``Forbidden`` in a public
        room, and as if missing in any other (as for ``append``)."""
        room = self._cache.room(db, event.room)
        if not self._cache.is_member(db, room.id, event.user):
            if room.kind == RoomKind.PUBLIC:
                raise Forbidden(f"join {event.room!r} before you change messages in it")
            raise room_not_found(event.room)
        return room

    def moderate(self, event: Moderation) -> Awaitable[Moderation | None]:
        def job(db: sqlite3.Connection, events: list[Event]) -> Moderation | None:
            room = self._cache.room(db, event.room)
            actor = mod.actor(event)
            actor_admin = _is_admin(db, actor)
            actor_role = _member_role(db, room, actor)
            if actor_role is None and not actor_admin and room.kind != RoomKind.PUBLIC:
                raise room_not_found(event.room)
            whom = mod.target(event)
            target_rank = 0
            if whom is not None:
                if db.execute("SELECT 1 FROM users WHERE username = ?", (whom,)).fetchone() is None:
                    raise NotFound(f"no user named {whom!r}")
                target_role = _member_role(db, room, whom)
                if target_role is None and mod.needs_member(event):
                    raise NotFound(f"{whom!r} is not a member of {event.room!r}")
                target_rank = mod.rank(target_role, _is_admin(db, whom))
            mod.check(event, room.kind, mod.rank(actor_role, actor_admin), target_rank)
            change = self._moderation(db, room, event)
            if change is None:
                return None
            stored = _insert(db, events, room, change)
            _log(db, mod.entry(stored))
            return stored

        return self._submit(job, atomic=True)

    def _moderation(
        self, db: sqlite3.Connection, room: _RoomState, event: Moderation
    ) -> Moderation | None:
        """Apply ``event`` to the room's rows; the event to append, or None for no change."""
        match event:
            case MemberKicked() | MemberBanned():
                if isinstance(event, MemberBanned):
                    added = db.execute(
                        "INSERT INTO bans (room_id, username, by_user, reason, ts)"
                        " VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
                        (room.id, event.user, event.by, event.reason, event.ts),
                    ).rowcount
                    if not added:
                        return None
                    _uninvite(db, room.id, event.user)
                db.execute(
                    "DELETE FROM members WHERE room_id = ? AND username = ?", (room.id, event.user)
                )
                self._cache.members[(room.id, event.user)] = False
                return event
            case MemberUnbanned():
                gone = db.execute(
                    "DELETE FROM bans WHERE room_id = ? AND username = ?", (room.id, event.user)
                ).rowcount
                return event if gone else None
            case MemberMuted():
                was = self._cache.mute(db, room.id, event.user)
                if was is not None and was[0] == event.until:
                    return None
                db.execute(
                    "INSERT INTO mutes (room_id, username, until_ts) VALUES (?, ?, ?)"
                    " ON CONFLICT DO UPDATE SET until_ts = excluded.until_ts",
                    (room.id, event.user, event.until),
                )
                self._cache.mutes[(room.id, event.user)] = (event.until,)
                return event
            case MemberUnmuted():
                gone = db.execute(
                    "DELETE FROM mutes WHERE room_id = ? AND username = ?"
                    " AND (until_ts IS NULL OR until_ts > ?)",
                    (room.id, event.user, event.ts),
                ).rowcount
                db.execute(
                    "DELETE FROM mutes WHERE room_id = ? AND username = ?", (room.id, event.user)
                )
                self._cache.mutes[(room.id, event.user)] = None
                return event if gone else None
            case RoomChanged():
                topic, title, days = db.execute(
                    "SELECT room_topic, room_title, room_retention_days FROM rooms WHERE id = ?",
                    (room.id,),
                ).fetchone()
                change = mod.settings_change(event, topic, room.kind, title, days)
                if change is None:
                    return None
                if change.topic is not None:
                    db.execute(
                        "UPDATE rooms SET room_topic = ? WHERE id = ?", (change.topic, room.id)
                    )
                if change.title is not None:
                    db.execute(
                        "UPDATE rooms SET room_title = ? WHERE id = ?", (change.title, room.id)
                    )
                if change.retention_days is not None:
                    db.execute(
                        "UPDATE rooms SET room_retention_days = ? WHERE id = ?",
                        (retention.setting(change.retention_days), room.id),
                    )
                if change.private is not None:
                    kind = RoomKind.PRIVATE if change.private else RoomKind.PUBLIC
                    db.execute("UPDATE rooms SET kind = ? WHERE id = ?", (kind.value, room.id))
                    room.kind = kind
                return change
        raise AssertionError(f"unhandled moderation {event!r}")

    async def is_banned(self, room: str, user: str) -> bool:
        def read(db: sqlite3.Connection) -> bool:
            row = db.execute(
                "SELECT 1 FROM bans b JOIN rooms r ON r.id = b.room_id"
                " WHERE r.name = ? AND b.username = ?",
                (room, user),
            ).fetchone()
            return row is not None

        return await self._read(read)

    async def bans(self, room: str) -> list[BanEntry]:
        def read(db: sqlite3.Connection) -> list[BanEntry]:
            found = _find_room(db, room)
            if found is None:
                raise room_not_found(room)
            rows = db.execute(
                "SELECT username, by_user, reason, ts FROM bans WHERE room_id = ?"
                " ORDER BY ts DESC, username LIMIT ?",
                (found.id, mod.MAX_BANS_LISTED),
            ).fetchall()
            return [BanEntry(user=u, by=b, reason=r, ts=ts) for u, b, r, ts in rows]

        return await self._read(read)

    async def mutes(self, room: str, now: int) -> dict[str, int | None]:
        def read(db: sqlite3.Connection) -> dict[str, int | None]:
            found = _find_room(db, room)
            if found is None:
                raise room_not_found(room)
            rows = db.execute(
                "SELECT username, until_ts FROM mutes WHERE room_id = ?"
                " AND (until_ts IS NULL OR until_ts > ?) ORDER BY username",
                (found.id, now),
            ).fetchall()
            return {user: until for user, until in rows}

        return await self._read(read)

    async def audit(self, before: int | None, limit: int) -> list[AuditEntry]:
        def read(db: sqlite3.Connection) -> list[AuditEntry]:
            rows = db.execute(
                f"SELECT {AUDIT_COLUMNS} FROM audit WHERE id < ? ORDER BY id DESC LIMIT ?",
                (before if before is not None else math.inf, limit),
            ).fetchall()
            return [audit_entry(row) for row in rows]

        return await self._read(read)

    # --- consent ------------------------------------------------------------------------

    def invite(
        self,
        room: str,
        user: str,
        by: str,
        now: int,
        per_invitee: int = cons.MAX_INVITATIONS_PER_INVITEE,
        per_inviter: int = cons.MAX_INVITATIONS_PER_INVITER,
    ) -> Awaitable[Invitation | None]:
        def job(db: sqlite3.Connection, events: list[Event]) -> Invitation | None:
            row = self._cache.room(db, room)
            if not self._cache.is_member(db, row.id, by):
                if row.kind == RoomKind.PUBLIC:
                    raise Forbidden(f"join {room!r} before you invite others to it")
                raise room_not_found(room)
            if db.execute("SELECT 1 FROM users WHERE username = ?", (user,)).fetchone() is None:
                raise NotFound(f"no user named {user!r}")
            if _banned(db, row.id, user):
                raise Forbidden(mod.banned_from(room, user, by))
            if self._cache.is_member(db, row.id, user) or _invited(db, row.id, user):
                return None
            (sent,) = db.execute(
                "SELECT count(*) FROM invitations WHERE by_user = ?", (by,)
            ).fetchone()
            if sent >= per_inviter:
                raise TooLarge(cons.too_many_from_inviter(per_inviter))
            (received,) = db.execute(
                "SELECT count(*) FROM invitations WHERE username = ?", (user,)
            ).fetchone()
            if received >= per_invitee:
                raise TooLarge(cons.too_many_for_invitee(user, per_invitee))
            db.execute(
                "INSERT INTO invitations (room_id, username, by_user, ts) VALUES (?, ?, ?, ?)",
                (row.id, user, by, now),
            )
            (topic,) = db.execute("SELECT room_topic FROM rooms WHERE id = ?", (row.id,)).fetchone()
            private = row.kind != RoomKind.PUBLIC
            return Invitation(room=room, by=by, ts=now, private=private, topic=topic)

        return self._submit(job)

    def accept_invitation(self, room: str, user: str, now: int) -> Awaitable[Joined]:
        def job(db: sqlite3.Connection, events: list[Event]) -> Joined:
            found = _find_room(db, room)
            gone = None
            if found is not None:
                gone = db.execute(
                    "DELETE FROM invitations WHERE room_id = ? AND username = ? RETURNING by_user",
                    (found.id, user),
                ).fetchone()
            if found is None or gone is None:
                raise NotFound(cons.no_invitation(room))
            row = self._cache.room(db, room)
            if _banned(db, row.id, user):
                raise Forbidden(mod.banned_from(room, user, None))
            return _join(db, events, self._cache, row, user, now, gone[0])

        return self._submit(job, atomic=True)

    def decline_invitation(self, room: str, user: str) -> Awaitable[None]:
        def job(db: sqlite3.Connection, events: list[Event]) -> None:
            found = _find_room(db, room)
            if found is None or not _uninvite(db, found.id, user):
                raise NotFound(cons.no_invitation(room))

        return self._submit(job)

    async def invitations(self, user: str) -> list[Invitation]:
        def read(db: sqlite3.Connection) -> list[Invitation]:
            rows = db.execute(
                "SELECT r.name, i.by_user, i.ts, r.kind, r.room_topic FROM invitations i"
                " JOIN rooms r ON r.id = i.room_id WHERE i.username = ? ORDER BY i.ts, r.name",
                (user,),
            ).fetchall()
            return [
                Invitation(room=name, by=by, ts=ts, private=kind != RoomKind.PUBLIC, topic=topic)
                for name, by, ts, kind, topic in rows
            ]

        return await self._read(read)

    def block(
        self, blocker: str, blocked: str, now: int, cap: int = cons.MAX_BLOCKS
    ) -> Awaitable[bool]:
        def job(db: sqlite3.Connection, events: list[Event]) -> bool:
            if db.execute("SELECT 1 FROM users WHERE username = ?", (blocked,)).fetchone() is None:
                raise NotFound(f"no user named {blocked!r}")
            if _blocks(db, blocker, blocked):
                return False
            (count,) = db.execute(
                "SELECT count(*) FROM blocks WHERE blocker = ?", (blocker,)
            ).fetchone()
            if count >= cap:
                raise TooLarge(cons.too_many_blocks(cap))
            db.execute(
                "INSERT INTO blocks (blocker, blocked, ts) VALUES (?, ?, ?)",
                (blocker, blocked, now),
            )
            return True

        return self._submit(job)

    def unblock(self, blocker: str, blocked: str) -> Awaitable[bool]:
        def job(db: sqlite3.Connection, events: list[Event]) -> bool:
            gone = db.execute(
                "DELETE FROM blocks WHERE blocker = ? AND blocked = ?", (blocker, blocked)
            ).rowcount
            return bool(gone)

        return self._submit(job)

    async def blocks(self, user: str) -> list[str]:
        def read(db: sqlite3.Connection) -> list[str]:
            rows = db.execute(
                "SELECT blocked FROM blocks WHERE blocker = ? ORDER BY blocked", (user,)
            ).fetchall()
            return [name for (name,) in rows]

        return await self._read(read)

    async def consent(self, user: str, other: str) -> Consent:
        def read(db: sqlite3.Connection) -> Consent:
            shared = db.execute(
                "SELECT 1 FROM members a JOIN members b ON b.room_id = a.room_id"
                " WHERE a.username = ? AND b.username = ? LIMIT 1",
                (user, other),
            ).fetchone()
            return Consent(_dm_policy(db, user), _blocks(db, user, other), shared is not None)

        return await self._read(read)

    async def dm_policy(self, user: str) -> DmPolicy:
        return await self._read(lambda db: _dm_policy(db, user))

    def set_dm_policy(self, user: str, policy: DmPolicy) -> Awaitable[None]:
        def job(db: sqlite3.Connection, events: list[Event]) -> None:
            changed = db.execute(
                "UPDATE users SET dm_policy = ? WHERE username = ?", (policy.value, user)
            ).rowcount
            if not changed:
                raise NotFound(f"no user named {user!r}")

        return self._submit(job)

    def mark_read(self, room: str, user: str, seq: int) -> Awaitable[int]:
        def job(db: sqlite3.Connection, events: list[Event]) -> int:
            row = self._cache.room(db, room)
            marker = db.execute(
                "UPDATE members SET read_seq = max(read_seq, min(?, ?))"
                " WHERE room_id = ? AND username = ? RETURNING read_seq",
                (seq, row.last_seq, row.id, user),
            ).fetchone()
            if marker is None:
                raise room_not_found(room)
            return int(marker[0])

        return self._submit(job)

    # --- reads --------------------------------------------------------------------------

    async def get_room(self, name: str) -> Room | None:
        return await self._read(lambda db: _find_room(db, name))

    async def room_info(self, room: str, user: str) -> RoomInfo | None:
        def read(db: sqlite3.Connection) -> RoomInfo | None:
            row = _find_room(db, room)
            return None if row is None else _info(db, row.id, user)

        return await self._read(read)

    async def user_rooms(self, user: str) -> list[RoomInfo]:
        def read(db: sqlite3.Connection) -> list[RoomInfo]:
            ids = db.execute(
                "SELECT m.room_id FROM members m JOIN rooms r ON r.id = m.room_id"
                " WHERE m.username = ? ORDER BY r.name",
                (user,),
            ).fetchall()
            infos = [_info(db, room_id, user) for (room_id,) in ids]
            return [info for info in infos if info is not None]

        return await self._read(read)

    async def public_rooms(self) -> list[PublicRoom]:
        def read(db: sqlite3.Connection) -> list[PublicRoom]:
            rows = db.execute(
                "SELECT r.name, count(m.username), r.last_seq, r.room_title, r.room_topic"
                " FROM rooms r LEFT JOIN members m ON m.room_id = r.id"
                " WHERE r.kind = 'public' GROUP BY r.id ORDER BY r.name"
            ).fetchall()
            return [
                PublicRoom(name=n, members=c, last_seq=s, title=title, topic=topic)
                for n, c, s, title, topic in rows
            ]

        return await self._read(read)

    async def members(self, room: str) -> list[str]:
        def read(db: sqlite3.Connection) -> list[str]:
            row = _find_room(db, room)
            if row is None:
                raise room_not_found(room)
            rows = db.execute(
                "SELECT username FROM members WHERE room_id = ? ORDER BY username", (row.id,)
            ).fetchall()
            return [str(name) for (name,) in rows]

        return await self._read(read)

    async def room_roles(self, room: str) -> dict[str, RoomRole]:
        def read(db: sqlite3.Connection) -> dict[str, RoomRole]:
            found = _find_room(db, room)
            if found is None:
                raise room_not_found(room)
            rows = db.execute(ROLES_QUERY.format(room="?"), (found.id,)).fetchall()
            return roles_of(found.kind, rows)

        return await self._read(read)

    async def history(
        self,
        room: str,
        before: int | None,
        after: int | None,
        limit: int,
        reader: str | None = None,
    ) -> Page:
        def read(db: sqlite3.Connection) -> Page:
            row = _find_room(db, room)
            if row is None:
                raise room_not_found(room)
            if after is not None:
                rows = db.execute(
                    f"SELECT {EVENT_COLUMNS} FROM events WHERE room_id = ? AND seq > ?"
                    " ORDER BY seq LIMIT ?",
                    (row.id, after, limit + 1),
                ).fetchall()
                has_more = len(rows) > limit
                rows = rows[:limit]
            else:
                top = row.last_seq + 1 if before is None else before
                rows = db.execute(
                    f"SELECT {EVENT_COLUMNS} FROM events WHERE room_id = ? AND seq < ?"
                    " ORDER BY seq DESC LIMIT ?",
                    (row.id, top, limit + 1),
                ).fetchall()
                has_more = len(rows) > limit
                rows = rows[:limit][::-1]
            events = [_event(room, r) for r in rows]
            return Page(_as_read(db, row.id, events, reader), has_more)

        return await self._read(read)

    async def replay_since(
        self, room: str, since: int, bound: int, reader: str | None = None
    ) -> Replay:
        def read(db: sqlite3.Connection) -> Replay:
            db.execute("BEGIN")  # one snapshot for the events, their reactions and last_seq
            try:
                row = _find_room(db, room)
                if row is None:
                    raise room_not_found(room)
                rows = db.execute(
                    f"SELECT {EVENT_COLUMNS} FROM events WHERE room_id = ? AND seq > ?"
                    " ORDER BY seq LIMIT ?",
                    (row.id, since, bound + 1),
                ).fetchall()
                if len(rows) > bound:
                    return Replay(None, row.last_seq)
                events = [_event(room, r) for r in rows]
                return Replay(_as_read(db, row.id, events, reader), row.last_seq)
            finally:
                db.execute("COMMIT")

        return await self._read(read)

    async def thread(
        self, room: str, root: int, before: int | None, limit: int, reader: str | None = None
    ) -> Thread:
        def read(db: sqlite3.Connection) -> Thread:
            db.execute("BEGIN")  # the root and its replies in one snapshot
            try:
                row = _find_room(db, room)
                if row is None:
                    raise room_not_found(room)
                state = _RoomState(row.id, row.name, row.kind, row.last_seq)
                top = row.last_seq + 1 if before is None else before
                rows = db.execute(
                    f"SELECT {EVENT_COLUMNS} FROM events WHERE room_id = ? AND thread = ?"
                    " AND type = 'message' AND seq < ? ORDER BY seq DESC LIMIT ?",
                    (row.id, root, top, limit + 1),
                ).fetchall()
                first = _target(db, state, root)
                replies = [_event(room, r) for r in rows[:limit][::-1]]
                (shown, *events) = _as_read(db, row.id, [first, *replies], reader)
                assert isinstance(shown, Message)
                return Thread(shown, events, has_more=len(rows) > limit)
            finally:
                db.execute("COMMIT")

        return await self._read(read)

    async def search(
        self, user: str, query: str, room: str | None, before: Cursor | None, limit: int
    ) -> Results:
        if len(query) < MIN_QUERY_CHARS:
            raise BadRequest(SHORT_QUERY)
        phrase = '"' + query.replace('"', '""') + '"'  # the whole query, as one substring

        # Every message stored before the search began is in the index first.
        if not await self._index_caught_up():
            raise Unavailable("the search index is catching up; try again in a moment")

        def read(db: sqlite3.Connection) -> Results:
            db.execute("BEGIN")  # every chunk of candidates from one snapshot
            try:
                rooms = " IN (SELECT room_id FROM members WHERE username = ?)"
                which: Any = user
                if room is not None:
                    row = _find_room(db, room)
                    if row is None or not _is_member(db, row.id, user):
                        raise room_not_found(room)
                    rooms, which = " = ?", row.id
                below = _search_below(db, user, before)
                page = Sieve(query, limit)
                while asked := page.wanted():
                    # The index's candidates, newest first (it folds case as `match_ranges`
                    # does, which decides, as on PostgreSQL); those of other rooms come back
                    # with no room, so the page knows where it stopped.
                    rows = db.execute(
                        "SELECT c.pos, r.name, e.seq, e.ts, e.author, e.body FROM"
                        f" (SELECT rowid AS pos FROM {SEARCH}.message_search"
                        "  WHERE message_search MATCH ?"
                        "  AND rowid < ? ORDER BY rowid DESC LIMIT ?) AS c"
                        " LEFT JOIN events e ON e.pos = c.pos AND e.deleted IS NOT 1"
                        f" AND e.room_id{rooms}"
                        " LEFT JOIN rooms r ON r.id = e.room_id ORDER BY c.pos DESC",
                        (phrase, below, asked, which),
                    ).fetchall()
                    page.add(rows, asked)
                    if rows:
                        below = rows[-1][0]
                return page.results()
            finally:
                db.execute("COMMIT")

        return await self._read(read)

    # --- files --------------------------------------------------------------------------

    def add_file(self, file: StoredFile, quota: int) -> Awaitable[None]:
        def job(db: sqlite3.Connection, events: list[Event]) -> None:
            room = self._cache.room(db, file.room)
            if not self._cache.is_member(db, room.id, file.uploader):
                raise room_not_found(file.room)
            (used,) = db.execute(
                "SELECT coalesce(sum(size), 0) FROM files WHERE uploader = ?", (file.uploader,)
            ).fetchone()
            if used + file.info.size > quota:
                raise TooLarge(over_quota(quota))
            db.execute(
                f"INSERT INTO files ({FILE_INSERT_COLUMNS}) VALUES ({', '.join('?' * 11)})",
                file_values(file, room.id),
            )

        return self._submit(job)

    async def file(self, file_id: str) -> StoredFile | None:
        return (await self._read(lambda db: _files(db, [file_id]))).get(file_id)

    async def file_usage(self, user: str) -> int:
        def read(db: sqlite3.Connection) -> int:
            (used,) = db.execute(
                "SELECT coalesce(sum(size), 0) FROM files WHERE uploader = ?", (user,)
            ).fetchone()
            return int(used)

        return await self._read(read)

    def drop_pending_files(self, before: int) -> Awaitable[int]:
        def job(db: sqlite3.Connection, events: list[Event]) -> int:
            return db.execute(
                "DELETE FROM files WHERE seq IS NULL AND created_at < ?", (before,)
            ).rowcount

        return self._submit(job)

    async def referenced_blobs(self, blobs: Sequence[str]) -> set[str]:
        def read(db: sqlite3.Connection) -> set[str]:
            found: set[str] = set()
            for start in range(0, len(blobs), REFERENCED_CHUNK):
                chunk = list(blobs[start : start + REFERENCED_CHUNK])
                marks = ", ".join("?" * len(chunk))
                rows = db.execute(
                    f"SELECT sha256 FROM files WHERE sha256 IN ({marks})"
                    f" UNION SELECT thumb_sha256 FROM files WHERE thumb_sha256 IN ({marks})"
                    f" UNION SELECT avatar FROM users WHERE avatar IN ({marks})",
                    (*chunk, *chunk, *chunk),
                ).fetchall()
                found.update(blob for (blob,) in rows)
            return found

        return await self._read(read)

    # --- registration and guests -----------------------------------------------------------

    async def has_users(self) -> bool:
        return await self._read(
            lambda db: db.execute("SELECT 1 FROM users LIMIT 1").fetchone() is not None
        )

    # The settings are read on the writer, where they are written: only this node changes an
    # SQLite database, and reads them after its own changes and at start, when a reader
    # thread need not open a connection yet.

    async def settings_version(self) -> int:
        def read(db: sqlite3.Connection, events: list[Event]) -> int:
            row = db.execute("SELECT version FROM server_settings WHERE id = 1").fetchone()
            return 0 if row is None else int(row[0])

        return await self._submit(read, atomic=True)

    async def server_settings(self) -> reg.Stored:
        def read(db: sqlite3.Connection, events: list[Event]) -> reg.Stored:
            row = db.execute(
                "SELECT registration, guests, version FROM server_settings WHERE id = 1"
            ).fetchone()
            bans = db.execute("SELECT network FROM guest_bans ORDER BY network").fetchall()
            networks = tuple(network for (network,) in bans)
            if row is None:
                return reg.Stored(guest_bans=networks)
            mode = None if row[0] is None else reg.Mode(row[0])
            guests = None if row[1] is None else bool(row[1])
            return reg.Stored(mode, guests, networks, int(row[2]))

        return await self._submit(read, atomic=True)

    def change_settings(self, actor: str, now: int, changes: reg.Changes) -> Awaitable[None]:
        def job(db: sqlite3.Connection, events: list[Event]) -> None:
            _bump_settings(db)
            if changes.registration is not msgspec.UNSET:
                db.execute(
                    "UPDATE server_settings SET registration = ? WHERE id = 1",
                    (changes.registration,),
                )
            if changes.guests is not msgspec.UNSET:
                db.execute("UPDATE server_settings SET guests = ? WHERE id = 1", (changes.guests,))
            for entry in reg.changed_entries(actor, now, changes):
                _log(db, entry)

        return self._submit(job)

    def create_invite(self, invite: reg.Invite, code_hash: bytes) -> Awaitable[None]:
        def job(db: sqlite3.Connection, events: list[Event]) -> None:
            db.execute(
                "DELETE FROM invite_links WHERE expires_at <= ?"
                " OR (max_uses IS NOT NULL AND uses >= max_uses)",
                (invite.created_at,),
            )
            (live,) = db.execute("SELECT count(*) FROM invite_links").fetchone()
            if live >= reg.MAX_INVITES:
                raise Conflict(reg.TOO_MANY_INVITES)
            db.execute(
                "INSERT INTO invite_links (id, code_hash, created_by, created_at, expires_at,"
                " max_uses) VALUES (?, ?, ?, ?, ?, ?)",
                (
                    invite.id,
                    code_hash,
                    invite.created_by,
                    invite.created_at,
                    invite.expires_at,
                    invite.max_uses,
                ),
            )
            _log(db, reg.invite_entry(invite))

        return self._submit(job)

    async def invites(self) -> list[reg.Invite]:
        def read(db: sqlite3.Connection) -> list[reg.Invite]:
            rows = db.execute(
                f"SELECT {reg.INVITE_COLUMNS} FROM invite_links ORDER BY created_at DESC, id"
            ).fetchall()
            return [reg.invite_of(row) for row in rows]

        return await self._read(read)

    def revoke_invite(self, invite_id: str, actor: str, now: int) -> Awaitable[None]:
        def job(db: sqlite3.Connection, events: list[Event]) -> None:
            gone = db.execute("DELETE FROM invite_links WHERE id = ?", (invite_id,))
            if gone.rowcount == 0:
                raise NotFound(reg.no_invite(invite_id))
            _log(db, reg.revoke_entry(invite_id, actor, now))

        return self._submit(job)

    def ban_guests(self, network: str, actor: str, now: int) -> Awaitable[bool]:
        def job(db: sqlite3.Connection, events: list[Event]) -> bool:
            if db.execute("SELECT 1 FROM guest_bans WHERE network = ?", (network,)).fetchone():
                return False
            (count,) = db.execute("SELECT count(*) FROM guest_bans").fetchone()
            if count >= reg.MAX_GUEST_BANS:
                raise TooLarge(reg.TOO_MANY_GUEST_BANS)
            db.execute(
                "INSERT INTO guest_bans (network, by_user, ts) VALUES (?, ?, ?)",
                (network, actor, now),
            )
            _bump_settings(db)
            _log(db, reg.guest_ban_entry(network, actor, now, banned=True))
            return True

        return self._submit(job)

    def unban_guests(self, network: str, actor: str, now: int) -> Awaitable[None]:
        def job(db: sqlite3.Connection, events: list[Event]) -> None:
            gone = db.execute("DELETE FROM guest_bans WHERE network = ?", (network,))
            if gone.rowcount == 0:
                raise NotFound(reg.no_guest_ban(network))
            _bump_settings(db)
            _log(db, reg.guest_ban_entry(network, actor, now, banned=False))

        return self._submit(job)

    # --- bots and webhooks (22) --------------------------------------------------------------

    def create_bot(
        self, name: str, created_by: str, now: int, token: bytes, cap: int | None = None
    ) -> Awaitable[None]:
        def job(db: sqlite3.Connection, events: list[Event]) -> None:
            if cap is not None:
                (live,) = db.execute(
                    f"SELECT count(*) FROM users u WHERE {_BOTS} AND created_by = ?"
                    " AND deactivated_at IS NULL",
                    (created_by,),
                ).fetchone()
                if live >= cap:
                    raise TooLarge(bots.too_many(cap))
            _insert_bot(db, name, created_by, now)
            db.execute(
                "INSERT INTO tokens (token_hash, username, created_at, expires_at)"
                " VALUES (?, ?, ?, ?)",
                (token, name, now, bots.NEVER_EXPIRES),
            )

        return self._submit(job)

    async def bot(self, name: str) -> Bot | None:
        def read(db: sqlite3.Connection) -> Bot | None:
            row = db.execute(
                f"SELECT {BOT_COLUMNS} FROM users u WHERE {_BOTS} AND username = ?", (name,)
            ).fetchone()
            return None if row is None else bot_of(row)

        return await self._read(read)

    async def bots(self, created_by: str | None, limit: int) -> list[Bot]:
        def read(db: sqlite3.Connection) -> list[Bot]:
            rows = db.execute(
                f"SELECT {BOT_COLUMNS} FROM users u WHERE {_BOTS}"
                " AND (? IS NULL OR created_by = ?) ORDER BY username LIMIT ?",
                (created_by, created_by, limit),
            ).fetchall()
            return [bot_of(row) for row in rows]

        return await self._read(read)

    def create_webhook(self, hook: Webhook, secret: bytes, cap: int) -> Awaitable[MemberJoined]:
        def job(db: sqlite3.Connection, events: list[Event]) -> MemberJoined:
            room = self._cache.room(db, hook.room)
            if not self._cache.is_member(db, room.id, hook.created_by):
                raise room_not_found(hook.room)
            (live,) = db.execute(
                "SELECT count(*) FROM webhooks WHERE room_id = ? AND revoked_at IS NULL",
                (room.id,),
            ).fetchone()
            if live >= cap:
                raise TooLarge(webhooks.too_many(cap))
            _insert_bot(db, hook.username, hook.created_by, hook.created_at, hook.name)
            db.execute(
                "INSERT INTO webhooks (id, room_id, name, username, secret_hash, created_by,"
                " created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    hook.id,
                    room.id,
                    hook.name,
                    hook.username,
                    secret,
                    hook.created_by,
                    hook.created_at,
                ),
            )
            joined = _join(
                db, events, self._cache, room, hook.username, hook.created_at, hook.created_by
            )
            assert joined.event is not None  # a new account is in no room
            return joined.event

        return self._submit(job)

    async def webhooks(self, room: str) -> list[Webhook]:
        def read(db: sqlite3.Connection) -> list[Webhook]:
            rows = db.execute(
                f"SELECT {WEBHOOK_COLUMNS} FROM webhooks w JOIN rooms r ON r.id = w.room_id"
                " WHERE r.name = ? AND w.revoked_at IS NULL ORDER BY w.created_at, w.id",
                (room,),
            ).fetchall()
            return [webhook_of(row) for row in rows]

        return await self._read(read)

    async def webhook(self, hook_id: str) -> tuple[Webhook, bytes] | None:
        def read(db: sqlite3.Connection) -> tuple[Webhook, bytes] | None:
            row = db.execute(
                f"SELECT {WEBHOOK_COLUMNS}, w.secret_hash FROM webhooks w"
                " JOIN rooms r ON r.id = w.room_id WHERE w.id = ? AND w.revoked_at IS NULL",
                (hook_id,),
            ).fetchone()
            return None if row is None else (webhook_of(row[:-1]), bytes(row[-1]))

        return await self._read(read)

    def revoke_webhook(self, room: str, hook_id: str, now: int) -> Awaitable[MemberLeft | None]:
        def job(db: sqlite3.Connection, events: list[Event]) -> MemberLeft | None:
            row = db.execute(
                "SELECT w.username, r.name FROM webhooks w JOIN rooms r ON r.id = w.room_id"
                " WHERE w.id = ? AND r.name = ? AND w.revoked_at IS NULL",
                (hook_id, room),
            ).fetchone()
            if row is None:
                raise NotFound(webhooks.NOT_FOUND)
            username, name = row
            db.execute(
                "UPDATE webhooks SET secret_hash = NULL, revoked_at = ? WHERE id = ?",
                (now, hook_id),
            )
            db.execute("UPDATE users SET deactivated_at = ? WHERE username = ?", (now, username))
            state = self._cache.room(db, name)
            gone = db.execute(
                "DELETE FROM members WHERE room_id = ? AND username = ?", (state.id, username)
            ).rowcount
            self._cache.members[(state.id, username)] = False
            if not gone:
                return None
            return _insert(db, events, state, MemberLeft(room=name, seq=0, ts=now, user=username))

        return self._submit(job)

    # --- outgoing webhooks (23) ---------------------------------------------------------------

    def create_outgoing_webhook(
        self, hook: OutgoingWebhook, secret: str, cap: int
    ) -> Awaitable[MemberJoined]:
        def job(db: sqlite3.Connection, events: list[Event]) -> MemberJoined:
            room = self._cache.room(db, hook.room)
            role = _member_role(db, room, hook.created_by)
            if not _is_admin(db, hook.created_by):
                if role is None:
                    raise room_not_found(hook.room)
                if role not in (RoomRole.OWNER, RoomRole.ADMIN):
                    raise Forbidden(outgoing.RUNNERS_ONLY)
            (live,) = db.execute(
                "SELECT count(*) FROM outgoing_webhooks WHERE room_id = ? AND revoked_at IS NULL",
                (room.id,),
            ).fetchone()
            if live >= cap:
                raise TooLarge(outgoing.too_many(cap))
            _insert_bot(db, hook.username, hook.created_by, hook.created_at, hook.name)
            db.execute(
                "INSERT INTO outgoing_webhooks (id, room_id, name, url, trigger, words, username,"
                " secret, created_by, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    hook.id,
                    room.id,
                    hook.name,
                    hook.url,
                    hook.trigger.value,
                    " ".join(hook.words),
                    hook.username,
                    secret,
                    hook.created_by,
                    hook.created_at,
                ),
            )
            joined = _join(
                db, events, self._cache, room, hook.username, hook.created_at, hook.created_by
            )
            assert joined.event is not None  # a new account is in no room
            return joined.event

        return self._submit(job)

    async def outgoing_webhooks(self, room: str) -> list[tuple[OutgoingWebhook, str]]:
        def read(db: sqlite3.Connection) -> list[tuple[OutgoingWebhook, str]]:
            rows = db.execute(
                f"SELECT {OUTGOING_COLUMNS}, o.secret FROM outgoing_webhooks o"
                " JOIN rooms r ON r.id = o.room_id"
                " WHERE r.name = ? AND o.revoked_at IS NULL ORDER BY o.created_at, o.id",
                (room,),
            ).fetchall()
            return [(outgoing_of(row[:-1]), row[-1]) for row in rows]

        return await self._read(read)

    def revoke_outgoing_webhook(
        self, room: str, hook_id: str, now: int
    ) -> Awaitable[MemberLeft | None]:
        def job(db: sqlite3.Connection, events: list[Event]) -> MemberLeft | None:
            row = db.execute(
                "SELECT o.username, r.name FROM outgoing_webhooks o"
                " JOIN rooms r ON r.id = o.room_id"
                " WHERE o.id = ? AND r.name = ? AND o.revoked_at IS NULL",
                (hook_id, room),
            ).fetchone()
            if row is None:
                raise NotFound(outgoing.NOT_FOUND)
            username, name = row
            db.execute(
                "UPDATE outgoing_webhooks SET secret = NULL, revoked_at = ? WHERE id = ?",
                (now, hook_id),
            )
            db.execute("DELETE FROM outgoing_deliveries WHERE hook_id = ?", (hook_id,))
            db.execute("UPDATE users SET deactivated_at = ? WHERE username = ?", (now, username))
            state = self._cache.room(db, name)
            gone = db.execute(
                "DELETE FROM members WHERE room_id = ? AND username = ?", (state.id, username)
            ).rowcount
            self._cache.members[(state.id, username)] = False
            if not gone:
                return None
            return _insert(db, events, state, MemberLeft(room=name, seq=0, ts=now, user=username))

        return self._submit(job)

    def add_outgoing_delivery(self, hook_id: str, delivery: Delivery, keep: int) -> Awaitable[None]:
        def job(db: sqlite3.Connection, events: list[Event]) -> None:
            live = db.execute(
                "SELECT 1 FROM outgoing_webhooks WHERE id = ? AND revoked_at IS NULL", (hook_id,)
            ).fetchone()
            if live is None:
                return
            db.execute(
                "INSERT OR REPLACE INTO outgoing_deliveries (hook_id, message_seq, message_id,"
                " attempts, status, error, duration_ms, at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    hook_id,
                    delivery.seq,
                    delivery.msg_id,
                    delivery.attempts,
                    delivery.status,
                    delivery.error,
                    delivery.duration_ms,
                    delivery.at,
                ),
            )
            db.execute(
                "DELETE FROM outgoing_deliveries WHERE hook_id = ? AND message_seq <= coalesce("
                "(SELECT message_seq FROM outgoing_deliveries WHERE hook_id = ?"
                " ORDER BY message_seq DESC LIMIT 1 OFFSET ?), -1)",
                (hook_id, hook_id, keep),
            )

        return self._submit(job)

    async def outgoing_deliveries(self, hook_id: str, limit: int) -> list[Delivery]:
        def read(db: sqlite3.Connection) -> list[Delivery]:
            rows = db.execute(
                f"SELECT {DELIVERY_COLUMNS} FROM outgoing_deliveries WHERE hook_id = ?"
                " ORDER BY message_seq DESC LIMIT ?",
                (hook_id, limit),
            ).fetchall()
            return [delivery_of(row) for row in rows]

        return await self._read(read)


# Bot accounts, webhooks' bots left out (as `u`), and what a Bot is made of.
_BOTS = (
    "bot = 1 AND NOT EXISTS (SELECT 1 FROM webhooks w WHERE w.username = u.username)"
    " AND NOT EXISTS (SELECT 1 FROM outgoing_webhooks o WHERE o.username = u.username)"
)


def _insert_bot(
    db: sqlite3.Connection, name: str, created_by: str, now: int, display_name: str = ""
) -> None:
    """A bot account: a member of the server, with no password any sign-in could match."""
    try:
        db.execute(
            "INSERT INTO users (username, password_hash, created_at, role, display_name, bot,"
            " created_by) VALUES (?, ?, ?, 'member', ?, 1, ?)",
            (name, bots.NO_PASSWORD, now, display_name, created_by),
        )
    except sqlite3.IntegrityError:
        raise Conflict(f"the username {name!r} is taken") from None


def _bump_settings(db: sqlite3.Connection) -> None:
    """Move the settings' version (making their row on the first change)."""
    db.execute(
        "INSERT INTO server_settings (id, version) VALUES (1, 1)"
        " ON CONFLICT (id) DO UPDATE SET version = version + 1"
    )


def _use_invite(db: sqlite3.Connection, code_hash: bytes, now: int) -> None:
    """Count a use of the live invite link of ``code_hash``, or ``Forbidden``."""
    used = db.execute(
        "UPDATE invite_links SET uses = uses + 1 WHERE code_hash = ? AND expires_at > ?"
        " AND (max_uses IS NULL OR uses < max_uses)",
        (code_hash, now),
    )
    if used.rowcount == 0:
        raise Forbidden(reg.BAD_INVITE)


# --- SQL shared by the jobs and the reads -------------------------------------------------


def _insert_sql(kind: type[Event]) -> str:
    columns = ["room_id", *COMMON_COLUMNS, *kind_columns(kind)]
    # pos: the event's place in the database's order of writes (search's order; the one
    # writer makes it grow with commit order).
    values = [*"?" * len(columns), "(SELECT coalesce(max(pos), 0) + 1 FROM events)"]
    return f"INSERT INTO events ({', '.join([*columns, 'pos'])}) VALUES ({', '.join(values)})"


_INSERT = {t: _insert_sql(kind) for t, kind in EVENT_CLASSES.items()}

# Fields whose column holds them in another form: SQLite has no booleans nor lists, and rows
# from before a column was added hold NULL there.
_TO_COLUMN: dict[str, Callable[[Any], Any]] = {
    "mentions": lambda names: _names(names),
    "room_mention": int,
    "files": files_column,
}
_event = RowDecoder(
    {
        "deleted": bool,
        "room_mention": bool,
        "replies": lambda v: v or 0,
        "mentions": lambda v: tuple(v.split()) if v else (),
        "files": files_of,
        "private": lambda v: None if v is None else bool(v),
        "reason": lambda v: v or "",
    }
)


def _find_room(db: sqlite3.Connection, name: str) -> Room | None:
    row = db.execute(
        "SELECT id, name, kind, last_seq FROM rooms WHERE name = ?", (name,)
    ).fetchone()
    if row is None:
        return None
    return Room(id=row[0], name=row[1], kind=RoomKind(row[2]), last_seq=row[3])


def _is_member(db: sqlite3.Connection, room_id: int, user: str) -> bool:
    return (
        db.execute(
            "SELECT 1 FROM members WHERE room_id = ? AND username = ?", (room_id, user)
        ).fetchone()
        is not None
    )


def _insert(db: sqlite3.Connection, events: list[Event], room: _RoomState, event: E) -> E:
    """Insert with the room's next seq (the writer's cache knows it), in the caller's
    transaction: the one path of every event into the log. If the insert fails (a
    duplicate), no seq was taken."""
    seq = room.last_seq + 1
    own_values = [
        _TO_COLUMN[f](getattr(event, f)) if f in _TO_COLUMN else getattr(event, f)
        for f in own_fields(EVENT_CLASSES[event.type])
    ]
    db.execute(_INSERT[event.type], (room.id, seq, event.type, event.user, event.ts, *own_values))
    room.last_seq = seq  # rooms.last_seq follows once per commit (_commit_batch)
    stored = msgspec.structs.replace(event, seq=seq)
    events.append(stored)
    return stored


def _erase(
    db: sqlite3.Connection,
    events: list[Event],
    room: _RoomState,
    target: Message,
    delete: MessageDeleted,
) -> MessageDeleted:
    """Delete ``target`` as ``delete`` says, rights checked, in the caller's transaction:
    the one path of every delete (its author's, a moderator's, retention's)."""
    gone = msgspec.structs.replace(delete, thread=target.thread)
    stored = _insert(db, events, room, gone)
    # The body goes from the message and from every edit of it: erased, not hidden.
    db.execute(
        "UPDATE events SET body = '', edited_at = NULL, deleted = 1, mentions = NULL,"
        " room_mention = 0, files = NULL WHERE room_id = ? AND seq = ?",
        (room.id, target.seq),
    )
    # Its files go with it: unreachable from this commit on, their blobs swept.
    db.execute("DELETE FROM files WHERE room_id = ? AND seq = ?", (room.id, target.seq))
    db.execute(
        "UPDATE events SET body = '', mentions = NULL, room_mention = 0"
        " WHERE room_id = ? AND target = ? AND type = 'message_edited'",
        (room.id, target.seq),
    )
    _unmention(db, room.id, target)
    if target.thread is not None:
        db.execute(
            "UPDATE events SET replies = replies - 1 WHERE room_id = ? AND seq = ?",
            (room.id, target.thread),
        )
    db.execute("DELETE FROM reactions WHERE room_id = ? AND seq = ?", (room.id, target.seq))
    return stored


def _search_targets(db: sqlite3.Connection) -> tuple[int, int]:
    """How far the search index must be to hold what is committed: (pos, change)."""
    (pos,) = db.execute("SELECT coalesce(max(pos), 0) FROM events").fetchone()
    (change,) = db.execute("SELECT " + LAST_CHANGE.format("")).fetchone()
    return int(pos), int(change)


def _search_below(db: sqlite3.Connection, user: str, before: Cursor | None) -> int:
    """The ``pos`` a search page starts below: the cursor's own, or that of the message
    it names in one of ``user``'s rooms (``BadRequest`` if there is none)."""
    if before is None:
        return 2**63 - 1
    if before.pos is not None:
        return before.pos
    row = db.execute(
        "SELECT e.pos FROM events e JOIN rooms r ON r.id = e.room_id"
        " JOIN members m ON m.room_id = e.room_id AND m.username = ?"
        " WHERE r.name = ? AND e.seq = ?",
        (user, before.room, before.seq),
    ).fetchone()
    if row is None or row[0] is None:
        raise BadRequest(UNKNOWN_CURSOR)
    return int(row[0])


def _target(db: sqlite3.Connection, room: _RoomState, seq: int) -> Message:
    """The message ``seq`` of the room as it stands; ``NotFound`` if that is no message."""
    row = db.execute(
        f"SELECT {EVENT_COLUMNS} FROM events WHERE room_id = ? AND seq = ?", (room.id, seq)
    ).fetchone()
    message = None if row is None else _event(room.name, row)
    if not isinstance(message, Message):
        raise NotFound(f"no message {seq} in {room.name!r}")
    return message


def _check_reaction_cap(db: sqlite3.Connection, room_id: int, reaction: ReactionAdded) -> None:
    """``Conflict`` if ``reaction`` would be one distinct emoji too many on its message."""
    emoji = db.execute(
        "SELECT emoji FROM reactions WHERE room_id = ? AND seq = ? GROUP BY emoji",
        (room_id, reaction.target),
    ).fetchall()
    if len(emoji) >= MAX_REACTIONS and (reaction.emoji,) not in emoji:
        raise Conflict(f"a message holds at most {MAX_REACTIONS} different reactions")


def _as_read(
    db: sqlite3.Connection, room_id: int, events: list[Event], reader: str | None
) -> list[Event]:
    """The events as ``reader`` is shown them: each message with its reactions (one read of
    the reactions of the page's messages) and each reply with the quote of its parent as it
    is now (one read of the parents)."""
    if not events:
        return events
    counted: dict[int, list[Reaction]] = {}
    seqs = [e.seq for e in events if isinstance(e, Message) and not e.deleted]
    if seqs and seqs[-1] - seqs[0] < 2 * len(seqs):  # a page of history: one range probe
        where, args = "seq BETWEEN ? AND ?", [seqs[0], seqs[-1]]
    else:  # a thread's replies, far apart
        where, args = f"seq IN ({', '.join('?' * len(seqs))})", seqs
    # BINARY collation orders UTF-8 as code points do: emoji in the projection's order.
    for seq, emoji, count, me in db.execute(
        "SELECT seq, emoji, count(*), max(username = ?) FROM reactions"
        f" WHERE room_id = ? AND {where} GROUP BY seq, emoji ORDER BY seq, emoji",
        (reader, room_id, *args),
    ):
        counted.setdefault(seq, []).append(Reaction(emoji=emoji, count=count, me=bool(me)))
    parents = {
        e.reply_to
        for e in events
        if isinstance(e, Message) and e.reply_to is not None and not e.deleted
    }
    quotes = {}
    if parents:
        marks = ", ".join("?" * len(parents))
        for seq, author, body, deleted in db.execute(
            f"SELECT seq, author, body, deleted FROM events WHERE room_id = ? AND seq IN ({marks})",
            (room_id, *parents),
        ):
            quotes[seq] = quote_of(author, body, bool(deleted))
    if not counted and not quotes:
        return events
    return [as_read(e, counted, quotes) if isinstance(e, Message) else e for e in events]


def _insert_message(
    db: sqlite3.Connection, events: list[Event], room: _RoomState, message: Message
) -> Message:
    """Insert a reply, a message that mentions someone or one with files: in its thread,
    quoting its parent (``NotFound`` if that is no message of the room, ``Conflict`` if it
    is deleted), naming only members, with ``@room`` only where it is allowed, attaching its
    files (``rows.attached``)."""
    if message.reply_to is not None:
        parent = _target(db, room, message.reply_to)
        if parent.deleted:
            raise Conflict(f"message {message.reply_to} is deleted")
        message = replying(message, parent)
    names, everyone = _mentioned(db, room, message.user, message.mentions, message.room_mention)
    message = msgspec.structs.replace(message, mentions=names, room_mention=everyone)
    if message.files:
        message = attached(message, _files(db, [f.id for f in message.files]))
    stored = _insert(db, events, room, message)
    db.executemany(
        "UPDATE files SET seq = ? WHERE id = ?", [(stored.seq, f.id) for f in stored.files]
    )
    if stored.thread is not None:
        db.execute(
            "UPDATE events SET replies = coalesce(replies, 0) + 1, last_reply_at = ?"
            " WHERE room_id = ? AND seq = ?",
            (stored.ts, room.id, stored.thread),
        )
    _mention(db, room.id, stored.seq, names)
    return stored


def _files(db: sqlite3.Connection, ids: list[str]) -> dict[str, StoredFile]:
    """The files of ``ids`` that exist, by id."""
    rows = db.execute(
        f"SELECT {FILE_COLUMNS} FROM files f JOIN rooms r ON r.id = f.room_id"
        f" WHERE f.id IN ({', '.join('?' * len(ids))})",
        ids,
    ).fetchall()
    return {row[0]: stored_file(row) for row in rows}


def _mentioned(
    db: sqlite3.Connection,
    room: _RoomState,
    author: str,
    names: tuple[str, ...],
    room_mention: bool,
) -> tuple[tuple[str, ...], bool]:
    """Of the names a body mentions, the room's members but its author; and whether its
    ``@room`` counts (``core.mentions.may_mention_room``)."""
    if names:
        marks = ", ".join("?" * len(names))
        found = db.execute(
            f"SELECT username FROM members WHERE room_id = ? AND username IN ({marks})",
            (room.id, *names),
        ).fetchall()
        names = tuple(sorted(name for (name,) in found if name != author))
    if room_mention:
        (members,) = db.execute(
            "SELECT count(*) FROM members WHERE room_id = ?", (room.id,)
        ).fetchone()
        room_mention = may_mention_room(_role(db, room, author) != RoomRole.MEMBER, members)
    return names, room_mention


def _names(names: tuple[str, ...]) -> str | None:
    return " ".join(names) or None


def _mention(db: sqlite3.Connection, room_id: int, seq: int, names: tuple[str, ...]) -> None:
    db.executemany(
        "INSERT INTO mentions (username, room_id, seq) VALUES (?, ?, ?)",
        [(name, room_id, seq) for name in names],
    )


def _unmention(db: sqlite3.Connection, room_id: int, message: Message) -> None:
    db.executemany(
        "DELETE FROM mentions WHERE username = ? AND room_id = ? AND seq = ?",
        [(name, room_id, message.seq) for name in message.mentions],
    )


def _account(db: sqlite3.Connection, username: str) -> Account | None:
    row = db.execute(
        f"SELECT {ACCOUNT_COLUMNS} FROM users WHERE username = ?", (username,)
    ).fetchone()
    return None if row is None else account(row)


def _active_admins(db: sqlite3.Connection) -> int:
    row = db.execute(
        "SELECT count(*) FROM users WHERE role = 'admin' AND deactivated_at IS NULL"
    ).fetchone()
    return int(row[0])


def _check_active(db: sqlite3.Connection, username: str) -> None:
    """``AccountDeactivated`` if the account is deactivated."""
    row = db.execute("SELECT deactivated_at FROM users WHERE username = ?", (username,)).fetchone()
    if row is not None and row[0] is not None:
        raise AccountDeactivated(accounts.DEACTIVATED)


def _account_changed(db: sqlite3.Connection, username: str, kind: AccountChange, now: int) -> None:
    """Tell every node to close the sessions of ``username``; forget changes every node has
    polled long since. (One writer at a time: ids commit in their order.)"""
    db.execute(
        "INSERT INTO account_changes (username, kind, ts) VALUES (?, ?, ?)",
        (username, kind.value, now),
    )
    db.execute(
        "DELETE FROM account_changes WHERE ts < ?", (now - accounts.ACCOUNT_CHANGES_KEPT_MS,)
    )


def _is_admin(db: sqlite3.Connection, user: str) -> bool:
    row = db.execute("SELECT role FROM users WHERE username = ?", (user,)).fetchone()
    return row is not None and row[0] == "admin"


def _member_role(db: sqlite3.Connection, room: _RoomState, user: str) -> RoomRole | None:
    """``user``'s role in the room, None if they are not a member."""
    if not _is_member(db, room.id, user):
        return None
    return _role(db, room, user)


def _banned(db: sqlite3.Connection, room_id: int, user: str) -> bool:
    row = db.execute(
        "SELECT 1 FROM bans WHERE room_id = ? AND username = ?", (room_id, user)
    ).fetchone()
    return row is not None


def _invited(db: sqlite3.Connection, room_id: int, user: str) -> bool:
    row = db.execute(
        "SELECT 1 FROM invitations WHERE room_id = ? AND username = ?", (room_id, user)
    ).fetchone()
    return row is not None


def _uninvite(db: sqlite3.Connection, room_id: int, user: str) -> bool:
    """Delete the user's pending invitation to the room; whether there was one."""
    gone = db.execute(
        "DELETE FROM invitations WHERE room_id = ? AND username = ?", (room_id, user)
    ).rowcount
    return bool(gone)


def _blocks(db: sqlite3.Connection, blocker: str, blocked: str) -> bool:
    row = db.execute(
        "SELECT 1 FROM blocks WHERE blocker = ? AND blocked = ?", (blocker, blocked)
    ).fetchone()
    return row is not None


def _check_unblocked(db: sqlite3.Connection, dm: str, author: str) -> None:
    """``Forbidden`` if the other member of the DM room ``dm`` blocks ``author``: in the
    words of a refused DM, which do not tell a block from the policy."""
    first, second = dm_members(dm)
    other = second if author == first else first
    if _blocks(db, other, author):
        raise Forbidden(cons.refuses_dms(other))


def _dm_policy(db: sqlite3.Connection, user: str) -> DmPolicy:
    row = db.execute("SELECT dm_policy FROM users WHERE username = ?", (user,)).fetchone()
    return DmPolicy.EVERYONE if row is None else DmPolicy(row[0])


def _check_unmuted(row: tuple[int | None] | None, room: _RoomState, event: Event) -> None:
    """``Forbidden`` if the author of ``event`` is muted in its room at its ``ts``, by
    ``row``, their mute there (``_WriterCache.mute``)."""
    if row is not None and mod.muted(row[0], event.ts):
        raise Forbidden(mod.mute_message(room.name, row[0]))


def _log(db: sqlite3.Connection, entry: AuditEntry) -> None:
    """Add ``entry`` (its id is ignored) to the audit log, in the caller's transaction."""
    db.execute(
        "INSERT INTO audit (ts, actor, action, room, target, detail) VALUES (?, ?, ?, ?, ?, ?)",
        (entry.ts, entry.actor, entry.action, entry.room, entry.target, entry.detail),
    )


def _role(db: sqlite3.Connection, room: Room | _RoomState, user: str) -> RoomRole:
    """``user``'s role in the room (a member's, if they are none)."""
    row = db.execute(
        "SELECT r.created_by, m.role FROM rooms r JOIN members m ON m.room_id = r.id"
        " WHERE r.id = ? AND m.username = ?",
        (room.id, user),
    ).fetchone()
    if row is None:
        return RoomRole.MEMBER
    created_by, role = row
    if user == owner(room.kind, created_by):
        return RoomRole.OWNER
    return RoomRole(role)


def _stored(db: sqlite3.Connection, event: E) -> Appended[E] | None:
    """The event its author already stored with the ``client_msg_id`` of ``event``, if any;
    ``Conflict`` if that is in another room or of another kind."""
    key = client_msg_id(event)
    if key is None:
        return None
    row = db.execute(
        f"SELECT r.name, {EVENT_COLUMNS} FROM events e"
        " JOIN rooms r ON r.id = e.room_id"
        " WHERE e.author = ? AND e.client_msg_id = ?",
        (event.user, key),
    ).fetchone()
    if row is None:
        return None
    stored = _event(row[0], row[1:])
    if stored.room != event.room:
        raise Conflict(f"client_msg_id {key!r} is already used in another room")
    if not isinstance(stored, type(event)):
        raise Conflict(f"client_msg_id {key!r} is already used for a {stored.type}")
    return Appended(stored, duplicate=True)


def _stored_in_room(db: sqlite3.Connection, event: E) -> Appended[E] | None:
    """Like ``_stored`` for a non-member, who must learn nothing of the room: an id used in
    another room answers as if it were unused, not ``Conflict``."""
    try:
        return _stored(db, event)
    except Conflict:
        return None


def _join(
    db: sqlite3.Connection,
    events: list[Event],
    cache: _WriterCache,
    room: _RoomState,
    user: str,
    now: int,
    by: str | None,
) -> Joined:
    added = db.execute(
        "INSERT INTO members (room_id, username, joined_at) VALUES (?, ?, ?)"
        " ON CONFLICT DO NOTHING",
        (room.id, user, now),
    ).rowcount
    cache.members[(room.id, user)] = True
    event = None
    if added:
        joined = MemberJoined(room=room.name, seq=0, ts=now, user=user, by=by)
        event = _insert(db, events, room, joined)
        # Joining marks everything before the join as read.
        db.execute(
            "UPDATE members SET read_seq = ? WHERE room_id = ? AND username = ?",
            (event.seq, room.id, user),
        )
    info = _info(db, room.id, user, room.last_seq)
    assert info is not None
    return Joined(info, event)


def _info(
    db: sqlite3.Connection, room_id: int, user: str, last_seq: int | None = None
) -> RoomInfo | None:
    """The room as ``user`` sees it; the writer passes the ``last_seq`` it knows."""
    row = db.execute(
        "SELECT r.name, r.kind, r.last_seq, m.read_seq, r.room_title, r.room_topic,"
        " r.room_retention_days FROM rooms r"
        " JOIN members m ON m.room_id = r.id WHERE r.id = ? AND m.username = ?",
        (room_id, user),
    ).fetchone()
    if row is None:
        return None
    name, kind, stored_last_seq, read_seq, title, topic, retention_days = row
    if last_seq is None:
        last_seq = stored_last_seq
    (unread,) = db.execute(
        "SELECT count(*) FROM (SELECT 1 FROM events WHERE room_id = ? AND seq > ?"
        " AND type = 'message' AND author != ? AND deleted IS NOT 1 LIMIT ?)",
        (room_id, read_seq, user, UNREAD_CAP),
    ).fetchone()
    if kind == RoomKind.DM:
        unread_mentions = unread  # a direct message is meant for its reader
    else:
        # A delete takes its message's rows from `mentions` and clears its room_mention.
        (unread_mentions,) = db.execute(
            "SELECT count(*) FROM (SELECT seq FROM mentions"
            " WHERE username = ? AND room_id = ? AND seq > ?"
            " UNION SELECT seq FROM events WHERE room_id = ? AND seq > ? AND room_mention = 1"
            " AND author != ? LIMIT ?)",
            (user, room_id, read_seq, room_id, read_seq, user, UNREAD_CAP),
        ).fetchone()
    room = Room(id=room_id, name=name, kind=RoomKind(kind), last_seq=last_seq)
    return RoomInfo(
        name=name,
        kind=room.kind,
        last_seq=last_seq,
        read_seq=read_seq,
        unread=unread,
        unread_mentions=unread_mentions,
        role=_role(db, room, user),
        title=title,
        topic=topic,
        retention_days=retention_days,
    )


def _rewrite_version(db: sqlite3.Connection, events: list[Event]) -> None:
    """A write that changes nothing: it proves that the database takes writes."""
    (version,) = db.execute("PRAGMA user_version").fetchone()
    db.execute(f"PRAGMA user_version = {int(version)}")


_NAMES_PER_QUERY = 500  # far below SQLite's bound on a statement's parameters


def _writer_unavailable() -> Unavailable:
    return Unavailable("storage is unavailable; try again later")
