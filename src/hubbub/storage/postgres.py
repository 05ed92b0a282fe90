"""PostgreSQL storage on asyncpg: one writer task that group-commits, reads on a small pool.

Every write is a job for the writer task, which has a connection of its own. It takes every
job that is waiting (up to ``MAX_BATCH``), runs each in its own SAVEPOINT inside one
transaction and commits once: one WAL flush serves all of them, and a failing job rolls back
alone. One writer takes the jobs in the order they were called, so that is their commit order.
Reads run on a pool of ``POOL_SIZE`` connections (``?pool_size=N`` in the URL).

Several nodes may share one database. A batch locks the rows of every room its jobs touch
when it begins, in name order, so the writes of one room are serialized across nodes: a
membership checked in a job still holds when its event is inserted, and each event takes the
room's next seq under that lock (``_insert``). Taken in one order, the room locks of two
batches never wait for each other in a cycle; should other rows still deadlock (two nodes
creating the same new names), the server aborts one batch, which is rolled back and run
again whole, keeping its order.

When the database fails (down, restarting, the writer's connection cut), every caller gets
``Unavailable`` and nothing waits: the writer reconnects by itself, at once and then after a
delay that doubles while that fails, writes failing at once until then (a connection found cut
before a batch begins is replaced without failing anything); a failed read leaves its
connection to the pool, which replaces a broken one. An awaitable resolves only after its
commit, and statements time out (``COMMAND_TIMEOUT``) rather than wait forever.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeAlias, TypeVar, cast
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import asyncpg
import msgspec
from asyncpg import Connection, Record
from asyncpg.pool import Pool, PoolConnectionProxy

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
    Row,
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
from hubbub.storage.migrations.postgresql import migrate
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

T = TypeVar("T")
log = logging.getLogger(__name__)

# Each job's savepoint is a subtransaction, and a transaction with many keeps other sessions
# from the fast path of their snapshots: a few hundred per commit at most.
MAX_BATCH = 256
MAX_QUEUED_WRITES = 20_000
# Reads are short indexed queries, and one event loop sends them: a few connections keep the
# server busy, and each node holding few lets many nodes share max_connections (100).
POOL_SIZE = 4
UNREAD_CAP = 1000
CONNECT_TIMEOUT = 10.0  # seconds to reach the server
COMMAND_TIMEOUT = 30.0  # seconds a statement may take (a lock held by a stuck node) before
# its caller hears `unavailable`: nothing waits forever
BATCH_ATTEMPTS = 5  # runs of a batch that a deadlock with another node aborted
RESTART_DELAY = 1.0  # seconds between tries to replace a lost writer connection; doubles
MAX_RESTART_DELAY = 30.0
READ_ERRORS_QUIET = 60.0  # seconds without a failed read that end a burst of them
WRITER_NAME = "hubbub-writer"  # application_name of the connections, seen in pg_stat_activity
READER_NAME = "hubbub-reader"

DB: TypeAlias = "Connection[Record] | PoolConnectionProxy[Record]"

# A write, run by the writer inside the batch's transaction: it adds the events it appends to
# the list it is given (published after the commit) and returns its result.
Job: TypeAlias = "Callable[[Connection[Record], list[Event]], Awaitable[T]]"
Outcome = tuple[bool, Any]  # a job's result (True) or its exception (False)

# What the database failing looks like to asyncpg: the server's errors, a connection that is
# gone or unusable, a socket that cannot connect, a statement over its time.
DATABASE_ERRORS = (asyncpg.PostgresError, asyncpg.InterfaceError, OSError, TimeoutError)
# What another node's transaction causes: the server aborted ours, which may run again.
RETRYABLE = (asyncpg.DeadlockDetectedError, asyncpg.SerializationError)
# Text PostgreSQL cannot hold (a NUL character): the client's to change, not a failure.
UNSTORABLE_TEXT = (asyncpg.CharacterNotInRepertoireError, asyncpg.UntranslatableCharacterError)


@dataclass(slots=True, eq=False)
class _Write(Generic[T]):
    job: Job[T]
    future: asyncio.Future[T]
    room: str | None  # the room the job locks, locked with the batch's others up front


class _Again(Exception):
    """The batch was rolled back whole and may run again: nothing of it was done."""


# --- URLs -----------------------------------------------------------------------------------

SCHEMES = ("postgresql", "postgres")
_OWN_PARAMETERS = ("pool_size",)  # read here, not passed on to the server


@dataclass(frozen=True, slots=True)
class PostgresURL:
    dsn: str  # for asyncpg: the URL less hubbub's own parameters
    pool_size: int
    location: str  # for the operator: no password, no parameters


def parse_url(url: str) -> PostgresURL:
    """The settings a ``postgresql://`` URL names. Problems never echo the URL: it may hold a
    password."""
    parts = urlsplit(url)
    if parts.scheme.lower() not in SCHEMES:
        raise StorageError("must be a postgresql:// URL")
    if parts.fragment:
        raise StorageError("must be a postgresql:// URL without a #fragment")
    query = parse_qsl(parts.query, keep_blank_values=True)
    pool_size = POOL_SIZE
    for key, value in query:
        if key == "pool_size":
            if not value.isdigit() or int(value) < 1:
                raise StorageError("must have a pool_size of at least 1, such as ?pool_size=4")
            pool_size = int(value)
    passed_on = urlencode([(k, v) for k, v in query if k not in _OWN_PARAMETERS])
    dsn = urlunsplit(("postgresql", parts.netloc, parts.path, passed_on, ""))
    host = parts.hostname or ""
    if ":" in host:  # an IPv6 address
        host = f"[{host}]"
    try:
        port = f":{parts.port}" if parts.port is not None else ""
    except ValueError:
        raise StorageError("must have a number for its port") from None
    user = f"{parts.username}@" if parts.username else ""
    return PostgresURL(dsn, pool_size, f"postgresql://{user}{host}{port}{parts.path}")


async def migrate_database(url: str) -> int:
    """Bring the database at ``url`` up to date; its schema version."""
    settings = parse_url(url)
    db = await _connect_for_use(settings)
    try:
        return await _migrated(db, settings)
    finally:
        await db.close()


async def _connect_for_use(settings: PostgresURL) -> Connection[Record]:
    try:
        return await _connect(settings.dsn, WRITER_NAME)
    except (*DATABASE_ERRORS, ValueError) as exc:
        raise StorageError(f"cannot use the database {settings.location!r}: {exc}") from None


async def _migrated(db: Connection[Record], settings: PostgresURL) -> int:
    try:
        return await migrate(db)
    except (*DATABASE_ERRORS, StorageError) as exc:
        raise StorageError(f"cannot use the database {settings.location!r}: {exc}") from None


async def _connect(dsn: str, name: str) -> Connection[Record]:
    return await asyncpg.connect(
        dsn,
        timeout=CONNECT_TIMEOUT,
        command_timeout=COMMAND_TIMEOUT,
        server_settings={"application_name": name},
    )


class PostgresStorage(Storage):
    shared = True  # several nodes share one database

    def __init__(self, url: str, restart_delay: float = RESTART_DELAY) -> None:
        super().__init__()
        self.settings = parse_url(url)
        self._restart_delay = restart_delay
        self._jobs: asyncio.Queue[_Write[Any] | None] = asyncio.Queue()  # None: stop
        self._queued = 0
        self._db: Connection[Record] | None = None  # the writer's
        self._locks = _Locks()  # the writer's, for the transaction at hand
        self._writer: asyncio.Task[None] | None = None
        self._pool: Pool[Record] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._closing = False
        self._stop = asyncio.Event()  # wakes a writer that waits to reconnect
        self._writer_down = False  # from a lost connection until a fresh one works
        self._commits_ok = True  # false from a failed commit until one succeeds
        self._last_read_error = -math.inf  # when a read last failed (time.monotonic)
        self.commit_stats = CommitStats()  # the writer task's, read by /metrics

    @property
    def location(self) -> str:
        return self.settings.location

    # --- lifecycle ---------------------------------------------------------------------

    async def open(self) -> None:
        self._loop = asyncio.get_running_loop()
        db = await _connect_for_use(self.settings)
        try:
            await _migrated(db, self.settings)
            self._pool = await asyncpg.create_pool(
                self.settings.dsn,
                min_size=1,
                max_size=self.settings.pool_size,
                timeout=CONNECT_TIMEOUT,
                command_timeout=COMMAND_TIMEOUT,
                server_settings={"application_name": READER_NAME},
            )
        except (*DATABASE_ERRORS, ValueError) as exc:
            await _close_quietly(db)
            raise StorageError(f"cannot use the database {self.location!r}: {exc}") from None
        except BaseException:
            await _close_quietly(db)
            raise
        self._db = db
        self._writer = asyncio.create_task(self._run_writer(), name="hubbub-postgres-writer")

    async def close(self) -> None:
        if self._writer is None:
            return
        self._closing = True
        self._jobs.put_nowait(None)
        self._stop.set()
        await self._writer
        self._writer = None
        if self._pool is not None:
            try:
                await asyncio.wait_for(self._pool.close(), COMMAND_TIMEOUT)
            except DATABASE_ERRORS:
                self._pool.terminate()
            self._pool = None

    # --- the writer task ----------------------------------------------------------------

    def _submit(self, job: Job[T], room: str | None = None) -> asyncio.Future[T]:
        """Enqueue now (so call order is commit order); resolve after the commit. ``room``
        is the room the job will lock, if any."""
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
            self._jobs.put_nowait(_Write(job, future, room))
        return future

    async def _run_writer(self) -> None:
        """Commit batches until ``close`` asks to stop; while the connection is lost, fail
        every write at once and reconnect after a delay."""
        try:
            while True:
                batch, stopping = await self._take_batch()
                if batch:
                    await self._write(batch)
                if stopping:
                    return
                if self._writer_down and not await self._reconnect():
                    return  # closed while the writer was down
        finally:
            self._fail_queued()
            if self._db is not None:
                await _close_quietly(self._db)
                self._db = None

    async def _take_batch(self) -> tuple[list[_Write[Any]], bool]:
        """The next job and every one already waiting (up to ``MAX_BATCH``), and whether
        ``close`` asked to stop (then every job queued before it is taken)."""
        items = [await self._jobs.get()]
        while len(items) < MAX_BATCH and not self._jobs.empty():
            items.append(self._jobs.get_nowait())
        stopping = None in items
        if stopping:  # jobs queued after the stop request still get committed
            while not self._jobs.empty():
                items.append(self._jobs.get_nowait())
        return [item for item in items if item is not None], stopping

    async def _write(self, batch: list[_Write[Any]]) -> None:
        """Commit the batch and hand back its outcomes. A batch that a deadlock aborted, or
        that found its connection gone before it began, runs again: nothing of it was done.
        A connection lost in the middle fails the batch (it may or may not have committed:
        its writers retry, and a message's client_msg_id makes that safe)."""
        outcome: tuple[list[Outcome], list[Event]] | None = None
        for _ in range(BATCH_ATTEMPTS):
            try:
                db = self._db
                if db is None or db.is_closed():
                    self._db = None
                    db = self._db = await _connect(self.settings.dsn, WRITER_NAME)
                outcome = await self._commit_batch(db, batch)
                break
            except _Again:
                continue
            except Exception as exc:
                self._lost(exc)
                outcome = [(False, _writer_unavailable())] * len(batch), []
                break
        if outcome is None:
            log.warning("a write batch could not run in %d attempts; it fails", BATCH_ATTEMPTS)
            outcome = [(False, Unavailable("storage is busy; try again"))] * len(batch), []
        self._finish(batch, *outcome)

    async def _commit_batch(
        self, db: Connection[Record], batch: list[_Write[Any]]
    ) -> tuple[list[Outcome], list[Event]]:
        """Run the jobs in one transaction, each in a savepoint, and commit once: each job's
        outcome and the events of the commit. ``_Again`` if it must run again."""
        results: list[Outcome] = []
        events: list[Event] = []
        self._locks.clear()
        started = time.perf_counter()
        try:
            await db.execute("BEGIN")
        except Exception as exc:
            # Nothing was done: a connection found dead here (cut while idle) is replaced, and
            # the batch runs on the fresh one; if there is none, the writer is down.
            self._db = None
            db.terminate()
            raise _Again from exc
        try:
            await self._locks.lock_all(db, {w.room for w in batch if w.room is not None})
            await db.execute("SAVEPOINT job")
        except RETRYABLE:
            await db.execute("ROLLBACK")
            raise _Again from None
        savepoint_used = False  # by a job that succeeded: the next needs a fresh one
        for write in batch:
            job_events: list[Event] = []
            try:
                if savepoint_used:  # here, not after the job: the last one's goes with COMMIT
                    await db.execute("RELEASE SAVEPOINT job; SAVEPOINT job")
                savepoint_used = True
                value = await write.job(db, job_events)
            except RETRYABLE:
                await db.execute("ROLLBACK")
                log.info("a write batch met another node's in a deadlock; it runs again")
                raise _Again from None
            except Exception as exc:
                await db.execute("ROLLBACK TO SAVEPOINT job")  # the savepoint stays, fresh
                savepoint_used = False
                self._locks.clear()  # the job's locks went with it
                if isinstance(exc, UNSTORABLE_TEXT):
                    exc = BadRequest("the text holds a character that cannot be stored")
                results.append((False, exc))
            else:
                events.extend(job_events)
                results.append((True, value))
        try:
            await db.execute("COMMIT")
        except RETRYABLE:
            raise _Again from None
        finally:
            self._locks.clear()
        self.commit_stats.committed(len(batch), len(events), time.perf_counter() - started)
        if not self._commits_ok:
            log.warning("storage commits work again")
            self._commits_ok = True
        return results, events

    def _lost(self, exc: Exception) -> None:
        """The writer's connection failed: refuse writes until a fresh one works."""
        self._writer_down = True
        self.commit_stats.failed += 1
        if self._commits_ok:  # once per run of failures, not once per batch
            log.critical(
                "the storage writer lost the database (%s); writes fail until it reconnects",
                str(exc) or type(exc).__name__,
            )
        self._commits_ok = False
        db, self._db = self._db, None
        if db is not None:
            db.terminate()

    async def _reconnect(self) -> bool:
        """While the writer is down: fail what was queued, then try a fresh connection, at
        once (a connection cut alone is back in an instant), then after a delay that doubles
        on each failure. False if ``close`` is called meanwhile."""
        delay = 0.0
        while True:
            self._fail_queued()
            if delay:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stop.wait(), delay)
            if self._stop.is_set():
                return False
            try:
                db = await _connect(self.settings.dsn, WRITER_NAME)
                try:
                    await _prove_writable(db, [])
                except BaseException:
                    await _close_quietly(db)
                    raise
            except DATABASE_ERRORS as exc:
                log.debug("the storage writer cannot reconnect yet: %s", exc)
                delay = min(2 * delay, MAX_RESTART_DELAY) if delay else self._restart_delay
                continue
            self._db = db
            self._writer_down = False
            log.warning("the storage writer reconnected; writes are taken again")
            return True

    def _fail_queued(self) -> None:
        """Fail every job still queued (those queued before writes were refused)."""
        while not self._jobs.empty():
            item = self._jobs.get_nowait()
            if item is not None:
                self._finish([item], [(False, _writer_unavailable())], [])

    def _finish(
        self,
        batch: list[_Write[Any]],
        results: list[Outcome],
        events: list[Event],
    ) -> None:
        """After the commit: publish, then resolve, in commit order."""
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

    async def _read(self, fn: Callable[[DB], Awaitable[T]], snapshot: bool = False) -> T:
        """``fn`` on a pooled connection; with ``snapshot``, in one read-only REPEATABLE READ
        transaction. A database error is ``Unavailable`` for the caller; the pool replaces a
        connection that broke."""
        if self._pool is None:  # closed (reads go on while close commits what is queued)
            raise Unavailable("the server is shutting down")
        try:
            async with self._pool.acquire(timeout=COMMAND_TIMEOUT) as db:
                if not snapshot:
                    return await fn(db)
                async with db.transaction(isolation="repeatable_read", readonly=True):
                    return await fn(db)
        except UNSTORABLE_TEXT:
            raise BadRequest("the text holds a character that cannot be stored") from None
        except DATABASE_ERRORS as exc:
            self._read_failed(exc)
            raise Unavailable("storage is unavailable; try again later") from None

    def _read_failed(self, exc: BaseException) -> None:
        """Log the first failure of a burst only: a dead database must not flood the log."""
        now = time.monotonic()
        first = now - self._last_read_error > READ_ERRORS_QUIET
        self._last_read_error = now
        if first:
            log.error(
                "storage reads fail (%s); failures until a quiet minute are not logged",
                str(exc) or type(exc).__name__,
            )

    async def check(self) -> None:
        if self._closing:
            raise Unavailable("the server is shutting down")
        if self._writer_down:
            raise _writer_unavailable()
        await self._submit(_prove_writable)
        await self._read(lambda db: db.fetchval("SELECT 1"))

    # --- accounts ---------------------------------------------------------------------

    def create_user(
        self,
        username: str,
        password_hash: str,
        now: int,
        invite: bytes | None = None,
        refusal: str | None = None,
    ) -> Awaitable[None]:
        async def job(db: Connection[Record], events: list[Event]) -> None:
            # Accounts are created one at a time, whichever node creates them, so that the
            # first is seen by every later one (reads of users are not blocked).
            await db.execute("LOCK TABLE users IN SHARE ROW EXCLUSIVE MODE")
            if invite is not None:
                await _use_invite(db, invite, now)
            elif refusal is not None and await db.fetchval("SELECT EXISTS (SELECT 1 FROM users)"):
                raise Forbidden(refusal)
            added = await db.execute(
                "INSERT INTO users (username, password_hash, created_at, role)"
                " SELECT $1, $2, $3,"
                " CASE WHEN EXISTS (SELECT 1 FROM users) THEN 'member' ELSE 'admin' END"
                " ON CONFLICT (username) DO NOTHING",
                username,
                password_hash,
                now,
            )
            if not _count(added):
                raise Conflict(f"the username {username!r} is taken")

        return self._submit(job)

    async def is_admin(self, username: str) -> bool:
        async def read(db: DB) -> bool:
            role = await db.fetchval("SELECT role FROM users WHERE username = $1", username)
            return bool(role == "admin")

        return await self._read(read)

    async def password_hash(self, username: str) -> str | None:
        async def read(db: DB) -> str | None:
            found = await db.fetchval(
                "SELECT password_hash FROM users WHERE username = $1", username
            )
            return None if found is None else str(found)

        return await self._read(read)

    def create_token(
        self, token_hash: bytes, username: str, now: int, expires_at: int
    ) -> Awaitable[None]:
        async def job(db: Connection[Record], events: list[Event]) -> None:
            # The row lock waits for a deactivation being committed, which deletes tokens
            # (then this sees it); one committed after this waits for the token, and deletes it.
            deactivated = await db.fetchrow(
                "SELECT deactivated_at FROM users WHERE username = $1 FOR SHARE", username
            )
            if deactivated is not None and deactivated[0] is not None:
                raise AccountDeactivated(accounts.DEACTIVATED)
            await db.execute(
                "INSERT INTO tokens (token_hash, username, created_at, expires_at)"
                " VALUES ($1, $2, $3, $4)",
                token_hash,
                username,
                now,
                expires_at,
            )

        return self._submit(job)

    async def user_for_token(self, token_hash: bytes, now: int) -> str | None:
        async def read(db: DB) -> str | None:
            found = await db.fetchval(
                "SELECT username FROM tokens WHERE token_hash = $1 AND expires_at > $2",
                token_hash,
                now,
            )
            return None if found is None else str(found)

        return await self._read(read)

    def delete_token(self, token_hash: bytes) -> Awaitable[None]:
        async def job(db: Connection[Record], events: list[Event]) -> None:
            await db.execute("DELETE FROM tokens WHERE token_hash = $1", token_hash)

        return self._submit(job)

    def set_password(
        self,
        username: str,
        password_hash: str,
        keep: bytes | None,
        close_sessions: bool = False,
        now: int = 0,
    ) -> Awaitable[list[bytes]]:
        async def job(db: Connection[Record], events: list[Event]) -> list[bytes]:
            changed = await db.execute(
                "UPDATE users SET password_hash = $1 WHERE username = $2", password_hash, username
            )
            if not _count(changed):
                raise NotFound(f"no user named {username!r}")
            if close_sessions:
                await _account_changed(db, username, AccountChange.PASSWORD, now)
            if keep is None:
                return []
            rows = await db.fetch(
                "DELETE FROM tokens WHERE username = $1 AND token_hash <> $2 RETURNING token_hash",
                username,
                keep,
            )
            return [bytes(token) for (token,) in rows]

        return self._submit(job)

    # --- server accounts (20) ------------------------------------------------------------

    async def accounts(self, after: str | None, limit: int) -> list[Account]:
        async def read(db: DB) -> list[Account]:
            rows = await db.fetch(
                f'SELECT {ACCOUNT_COLUMNS} FROM users WHERE username > $1 COLLATE "C"'
                ' ORDER BY username COLLATE "C" LIMIT $2',
                after or "",
                limit,
            )
            return [account(row) for row in rows]

        return await self._read(read)

    def set_server_role(
        self, by: str | None, username: str, role: ServerRole, now: int
    ) -> Awaitable[Account]:
        async def job(db: Connection[Record], events: list[Event]) -> Account:
            target = await _account_to_change(db, by, username)
            if not accounts.changes_role(target, role, await _active_admins(db)):
                return target
            await db.execute("UPDATE users SET role = $1 WHERE username = $2", role.value, username)
            await _log(db, accounts.entry(by, accounts.role_action(role), username, now))
            return msgspec.structs.replace(target, role=role)

        return self._submit(job)

    def set_deactivated(
        self, by: str | None, username: str, deactivated: bool, now: int
    ) -> Awaitable[Account]:
        async def job(db: Connection[Record], events: list[Event]) -> Account:
            target = await _account_to_change(db, by, username)
            if not accounts.changes_state(by, target, deactivated, await _active_admins(db)):
                return target
            await db.execute(
                "UPDATE users SET deactivated_at = $1 WHERE username = $2",
                now if deactivated else None,
                username,
            )
            if deactivated:
                await db.execute("DELETE FROM tokens WHERE username = $1", username)
                await _account_changed(db, username, AccountChange.DEACTIVATED, now)
            await _log(db, accounts.entry(by, accounts.state_action(deactivated), username, now))
            return msgspec.structs.replace(target, deactivated=deactivated)

        return self._submit(job)

    async def account_changes(
        self, after: int | None, limit: int
    ) -> tuple[int, list[tuple[str, AccountChange]]]:
        async def read(db: DB) -> tuple[int, list[tuple[str, AccountChange]]]:
            if after is None:
                last = await db.fetchval("SELECT coalesce(max(id), 0) FROM account_changes")
                return int(last), []
            rows = await db.fetch(
                "SELECT id, username, kind FROM account_changes WHERE id > $1 ORDER BY id LIMIT $2",
                after,
                limit,
            )
            last = int(rows[-1][0]) if rows else after
            return last, [(str(row[1]), AccountChange(row[2])) for row in rows]

        return await self._read(read)

    async def profiles(self, usernames: Sequence[str]) -> list[Profile]:
        names = list(dict.fromkeys(usernames))

        async def read(db: DB) -> list[Profile]:
            rows = await db.fetch(
                f"SELECT {PROFILE_COLUMNS} FROM users WHERE username = ANY($1)", names
            )
            found = {row[0]: profile_of(row) for row in rows}
            return [found[name] for name in names if name in found]

        return await self._read(read)

    async def member_profiles(self, room: str) -> list[Profile]:
        async def read(db: DB) -> list[Profile]:
            row = await _find_room(db, room)
            if row is None:
                raise room_not_found(room)
            rows = await db.fetch(
                f"SELECT {PROFILE_COLUMNS} FROM users WHERE username IN"
                " (SELECT username FROM members WHERE room_id = $1) ORDER BY username",
                row.id,
            )
            return [profile_of(found) for found in rows]

        return await self._read(read, snapshot=True)

    def set_profile(
        self, username: str, display_name: str | None, status: str | None
    ) -> Awaitable[Profile]:
        async def job(db: Connection[Record], events: list[Event]) -> Profile:
            row = await db.fetchrow(
                "UPDATE users SET display_name = coalesce($1, display_name),"
                f" status = coalesce($2, status) WHERE username = $3 RETURNING {PROFILE_COLUMNS}",
                display_name,
                status,
                username,
            )
            if row is None:
                raise NotFound(f"no user named {username!r}")
            return profile_of(row)

        return self._submit(job)

    def set_avatar(self, username: str, blob: str | None, version: str = "") -> Awaitable[Profile]:
        async def job(db: Connection[Record], events: list[Event]) -> Profile:
            row = await db.fetchrow(
                "UPDATE users SET avatar = $1, avatar_version = $2 WHERE username = $3"
                f" RETURNING {PROFILE_COLUMNS}",
                blob,
                version if blob is not None else "",
                username,
            )
            if row is None:
                raise NotFound(f"no user named {username!r}")
            return profile_of(row)

        return self._submit(job)

    async def avatar(self, username: str) -> tuple[str, str] | None:
        async def read(db: DB) -> tuple[str, str] | None:
            row = await db.fetchrow(
                "SELECT avatar, avatar_version FROM users"
                " WHERE username = $1 AND avatar IS NOT NULL",
                username,
            )
            return None if row is None else (str(row[0]), str(row[1]))

        return await self._read(read)

    # --- rooms and members (jobs run by the writer) --------------------------------------

    def create_room(self, name: str, kind: RoomKind, creator: str, now: int) -> Awaitable[Joined]:
        async def job(db: Connection[Record], events: list[Event]) -> Joined:
            created = await db.fetchval(
                "INSERT INTO rooms (name, kind, created_by, created_at) VALUES ($1, $2, $3, $4)"
                " ON CONFLICT DO NOTHING RETURNING id",
                name,
                kind.value,
                creator,
                now,
            )
            if created is None:
                raise Conflict(f"a room named {name!r} exists")
            room, _ = await self._locks.room(db, name, creator)
            return await _join(db, events, self._locks, room, creator, now, None)

        return self._submit(job, name)

    def ensure_room(self, name: str, kind: RoomKind, now: int) -> Awaitable[None]:
        async def job(db: Connection[Record], events: list[Event]) -> None:
            await db.execute(
                "INSERT INTO rooms (name, kind, created_at) VALUES ($1, $2, $3)"
                " ON CONFLICT DO NOTHING",
                name,
                kind.value,
                now,
            )

        return self._submit(job, name)

    def open_dm(
        self, name: str, users: tuple[str, str], opener: str, now: int
    ) -> Awaitable[Joined]:
        async def job(db: Connection[Record], events: list[Event]) -> Joined:
            await _require_users(db, users)
            created = await db.fetchval(
                "INSERT INTO rooms (name, kind, created_by, created_at) VALUES ($1, 'dm', $2, $3)"
                " ON CONFLICT DO NOTHING RETURNING id",
                name,
                opener,
                now,
            )
            room, _ = await self._locks.room(db, name, opener)
            if created is not None:
                for user in dict.fromkeys(users):
                    by = None if user == opener else opener
                    await _join(db, events, self._locks, room, user, now, by)
            info = await _info(db, room.id, opener)
            assert info is not None
            return Joined(info, None)

        return self._submit(job, name)

    def add_member(self, room: str, user: str, now: int, by: str | None) -> Awaitable[Joined]:
        async def job(db: Connection[Record], events: list[Event]) -> Joined:
            await _require_users(db, (user,))
            row, _ = await self._locks.room(db, room, user)
            if await _banned(db, row.id, user):
                raise Forbidden(mod.banned_from(room, user, by))
            await _uninvite(db, row.id, user)  # joining consumes a pending invitation
            return await _join(db, events, self._locks, row, user, now, by)

        return self._submit(job, room)

    def remove_member(self, room: str, user: str, now: int) -> Awaitable[MemberLeft | None]:
        async def job(db: Connection[Record], events: list[Event]) -> MemberLeft | None:
            row, _ = await self._locks.room(db, room, user)
            gone = await db.execute(
                "DELETE FROM members WHERE room_id = $1 AND username = $2", row.id, user
            )
            self._locks.roles[(row.id, user)] = None
            if not _count(gone):
                return None
            return await _insert(db, events, row, MemberLeft(room=room, seq=0, ts=now, user=user))

        return self._submit(job, room)

    def append(self, event: E, require_member: bool = True) -> Awaitable[Appended[E]]:
        if membership_change(event) is not None:
            raise ValueError("members change through the member methods, not append")

        async def job(db: Connection[Record], events: list[Event]) -> Appended[E]:
            row, role = await self._locks.room(db, event.room, event.user)
            if require_member and role is None:
                stored = await _stored_in_room(db, event)
                if stored is not None:  # a retry after leaving still gets its answer
                    return stored
                if row.kind == RoomKind.PUBLIC:
                    raise Forbidden(f"join {event.room!r} before you post in it")
                raise room_not_found(event.room)
            if require_member:
                await _check_unmuted(db, row, event)
                if row.kind == RoomKind.DM and isinstance(event, Message):
                    await _check_unblocked(db, row.name, event.user)
            # Under the room's lock, a retry on another node has committed by now: the insert
            # finds it and stores nothing. A retry reusing the id in another room at the same
            # instant meets the unique index instead.
            try:
                if isinstance(event, Message) and (
                    event.reply_to is not None
                    or event.mentions
                    or event.room_mention
                    or event.files
                ):
                    # Looked up first: a retry gets its answer though its parent is gone.
                    stored = await _stored(db, event)
                    if stored is not None:
                        return stored
                    new = cast("E | None", await _insert_message(db, events, row, event))
                else:
                    new = await _insert_unless_stored(db, events, row, event)
            except asyncpg.UniqueViolationError:
                raise Conflict(
                    f"client_msg_id {client_msg_id(event)!r} is already used in another room"
                ) from None
            if new is None:
                stored = await _stored(db, event)
                assert stored is not None, "the insert found it"
                return stored
            return Appended(new, duplicate=False)

        return self._submit(job, event.room)

    def edit_message(self, edit: MessageEdited) -> Awaitable[Changed]:
        async def job(db: Connection[Record], events: list[Event]) -> Changed:
            room, _ = await _member_room(db, self._locks, edit)
            target = await _target(db, room, edit.target)
            if target.user != edit.user:
                raise Forbidden("only its author can edit a message")
            if target.deleted:
                raise Conflict(f"message {edit.target} is deleted")
            if target.body == edit.body:
                return Changed(target, None)
            names, everyone = await _mentioned(
                db, room, edit.user, edit.mentions, edit.room_mention
            )
            change = msgspec.structs.replace(edit, mentions=names, room_mention=everyone)
            stored = await _insert(db, events, room, change)
            await db.execute(
                "UPDATE events SET body = $1, edited_at = $2, mentions = $3, room_mention = $4"
                " WHERE room_id = $5 AND seq = $6",
                edit.body,
                edit.ts,
                _names(names),
                everyone,
                room.id,
                edit.target,
            )
            await _unmention(db, room.id, target)
            await _mention(db, room.id, edit.target, names)
            return Changed(edited(target, stored), stored)

        return self._submit(job, edit.room)

    def delete_message(self, delete: MessageDeleted) -> Awaitable[Changed]:
        async def job(db: Connection[Record], events: list[Event]) -> Changed:
            server_admin = await _is_admin(db, delete.user)
            room, role = await self._locks.room(db, delete.room, delete.user)
            if not server_admin or room.kind == RoomKind.DM:  # it moderates no DM
                room, role = await _member_room(db, self._locks, delete)
            target = await _target(db, room, delete.target)
            room_owner = owner(room.kind, room.created_by)
            moderates = server_admin and room.kind != RoomKind.DM
            if not may_delete(delete.user, target.user, room_owner, role or "", moderates):
                raise Forbidden("only its author, the room's owner or an admin can delete it")
            if target.deleted:
                return Changed(target, None)
            stored = await _erase(db, events, room, target, delete)
            if target.user != delete.user:
                await _log(db, mod.deleted_entry(stored, target.user))
            return Changed(tombstone(target), stored)

        return self._submit(job, delete.room)

    def expire(
        self, room: str, before: int, now: int, limit: int, earlier: int = 0
    ) -> Awaitable[int]:
        async def job(db: Connection[Record], events: list[Event]) -> int:
            # Under the room's lock: a pass of another node waits, then finds these deleted.
            locked, _ = await self._locks.room(db, room, retention.RETENTION_DELETER)
            rows = await db.fetch(
                f"SELECT {EVENT_COLUMNS} FROM events WHERE room_id = $1 AND type = 'message'"
                " AND deleted IS NOT TRUE AND ts < $2 ORDER BY ts LIMIT $3",
                locked.id,
                before,
                limit,
            )
            for row in rows:
                target = _event(room, row)
                assert isinstance(target, Message)
                delete = retention.deletion(room, target.seq, now)
                await _erase(db, events, locked, target, delete)
            if len(rows) < limit and earlier + len(rows) > 0:
                await _log(db, retention.entry(room, now, earlier + len(rows), before))
            return len(rows)

        return self._submit(job, room)

    async def retention_rooms(self) -> list[RoomRetention]:
        async def read(db: DB) -> list[RoomRetention]:
            rows = await db.fetch("SELECT name, kind, room_retention_days FROM rooms ORDER BY name")
            return [RoomRetention(name, RoomKind(kind), days) for name, kind, days in rows]

        return await self._read(read)

    async def compact(self) -> None:
        """Nothing to do here: autovacuum reclaims the dead rows (docs/operations.md)."""

    def react(self, reaction: ReactionAdded | ReactionRemoved) -> Awaitable[Changed]:
        async def job(db: Connection[Record], events: list[Event]) -> Changed:
            room, _ = await _member_room(db, self._locks, reaction)
            await _check_unmuted(db, room, reaction)
            target = await _target(db, room, reaction.target)
            if target.deleted:
                raise Conflict(f"message {reaction.target} is deleted")
            key = (room.id, reaction.target, reaction.emoji, reaction.user)
            if isinstance(reaction, ReactionAdded):
                await _check_reaction_cap(db, room.id, reaction)
                status = await db.execute(
                    "INSERT INTO reactions (room_id, seq, emoji, username)"
                    " VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
                    *key,
                )
            else:
                status = await db.execute(
                    "DELETE FROM reactions WHERE room_id = $1 AND seq = $2 AND emoji = $3"
                    " AND username = $4",
                    *key,
                )
            stored = await _insert(db, events, room, reaction) if _count(status) else None
            (message,) = await _as_read(db, room.id, [target], reaction.user)
            assert isinstance(message, Message)
            return Changed(message, stored)

        return self._submit(job, reaction.room)

    def set_role(self, change: RoleChanged) -> Awaitable[RoleChanged | None]:
        async def job(db: Connection[Record], events: list[Event]) -> RoleChanged | None:
            room, _ = await _member_room(db, self._locks, change)
            room_owner = owner(room.kind, room.created_by)
            if change.user != room_owner:
                raise Forbidden("only the room's owner can change roles")
            if change.member == room_owner:
                raise BadRequest("the owner's role cannot change")
            role = await self._locks.role(db, room, change.member)
            if role is None:
                raise NotFound(f"{change.member!r} is not a member of {change.room!r}")
            if role == change.role:
                return None
            await db.execute(
                "UPDATE members SET role = $1 WHERE room_id = $2 AND username = $3",
                change.role.value,
                room.id,
                change.member,
            )
            self._locks.roles[(room.id, change.member)] = change.role.value
            return await _insert(db, events, room, change)

        return self._submit(job, change.room)

    def moderate(self, event: Moderation) -> Awaitable[Moderation | None]:
        async def job(db: Connection[Record], events: list[Event]) -> Moderation | None:
            actor = mod.actor(event)
            room, role = await self._locks.room(db, event.room, actor)
            actor_admin = await _is_admin(db, actor)
            if role is None and not actor_admin and room.kind != RoomKind.PUBLIC:
                raise room_not_found(event.room)
            whom = mod.target(event)
            target_rank = 0
            if whom is not None:
                await _require_users(db, (whom,))
                target_role = _room_role(room, await self._locks.role(db, room, whom), whom)
                if target_role is None and mod.needs_member(event):
                    raise NotFound(f"{whom!r} is not a member of {event.room!r}")
                target_rank = mod.rank(target_role, await _is_admin(db, whom))
            actor_rank = mod.rank(_room_role(room, role, actor), actor_admin)
            mod.check(event, room.kind, actor_rank, target_rank)
            change = await self._moderation(db, room, event)
            if change is None:
                return None
            stored = await _insert(db, events, room, change)
            await _log(db, mod.entry(stored))
            return stored

        return self._submit(job, event.room)

    async def _moderation(
        self, db: Connection[Record], room: _Room, event: Moderation
    ) -> Moderation | None:
        """Apply ``event`` to the room's rows; the event to append, or None for no change."""
        match event:
            case MemberKicked() | MemberBanned():
                if isinstance(event, MemberBanned):
                    added = await db.execute(
                        "INSERT INTO bans (room_id, username, by_user, reason, ts)"
                        " VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING",
                        room.id,
                        event.user,
                        event.by,
                        event.reason,
                        event.ts,
                    )
                    if not _count(added):
                        return None
                    await _uninvite(db, room.id, event.user)
                await db.execute(
                    "DELETE FROM members WHERE room_id = $1 AND username = $2", room.id, event.user
                )
                self._locks.roles[(room.id, event.user)] = None
                return event
            case MemberUnbanned():
                gone = await db.execute(
                    "DELETE FROM bans WHERE room_id = $1 AND username = $2", room.id, event.user
                )
                return event if _count(gone) else None
            case MemberMuted():
                was = await db.fetchrow(
                    "SELECT until_ts FROM mutes WHERE room_id = $1 AND username = $2",
                    room.id,
                    event.user,
                )
                if was is not None and was[0] == event.until:
                    return None
                await db.execute(
                    "INSERT INTO mutes (room_id, username, until_ts) VALUES ($1, $2, $3)"
                    " ON CONFLICT (room_id, username) DO UPDATE SET until_ts = excluded.until_ts",
                    room.id,
                    event.user,
                    event.until,
                )
                return event
            case MemberUnmuted():
                gone = await db.fetchval(
                    "WITH gone AS (DELETE FROM mutes WHERE room_id = $1 AND username = $2"
                    " RETURNING until_ts) SELECT count(*) FROM gone"
                    " WHERE until_ts IS NULL OR until_ts > $3",
                    room.id,
                    event.user,
                    event.ts,
                )
                return event if gone else None
            case RoomChanged():
                settings = await db.fetchrow(
                    "SELECT room_topic, room_title, room_retention_days FROM rooms WHERE id = $1",
                    room.id,
                )
                assert settings is not None  # the room is locked
                topic, title, days = settings
                change = mod.settings_change(event, topic, room.kind, title, days)
                if change is None:
                    return None
                if change.topic is not None:
                    await db.execute(
                        "UPDATE rooms SET room_topic = $1 WHERE id = $2", change.topic, room.id
                    )
                if change.title is not None:
                    await db.execute(
                        "UPDATE rooms SET room_title = $1 WHERE id = $2", change.title, room.id
                    )
                if change.retention_days is not None:
                    await db.execute(
                        "UPDATE rooms SET room_retention_days = $1 WHERE id = $2",
                        retention.setting(change.retention_days),
                        room.id,
                    )
                if change.private is not None:
                    kind = RoomKind.PRIVATE if change.private else RoomKind.PUBLIC
                    await db.execute(
                        "UPDATE rooms SET kind = $1 WHERE id = $2", kind.value, room.id
                    )
                    room.kind = kind
                return change
        raise AssertionError(f"unhandled moderation {event!r}")

    async def is_banned(self, room: str, user: str) -> bool:
        async def read(db: DB) -> bool:
            found = await db.fetchval(
                "SELECT 1 FROM bans b JOIN rooms r ON r.id = b.room_id"
                " WHERE r.name = $1 AND b.username = $2",
                room,
                user,
            )
            return found is not None

        return await self._read(read)

    async def bans(self, room: str) -> list[BanEntry]:
        async def read(db: DB) -> list[BanEntry]:
            found = await _find_room(db, room)
            if found is None:
                raise room_not_found(room)
            rows = await db.fetch(
                "SELECT username, by_user, reason, ts FROM bans WHERE room_id = $1"
                " ORDER BY ts DESC, username LIMIT $2",
                found.id,
                mod.MAX_BANS_LISTED,
            )
            return [BanEntry(user=u, by=b, reason=r, ts=ts) for u, b, r, ts in rows]

        return await self._read(read, snapshot=True)

    async def mutes(self, room: str, now: int) -> dict[str, int | None]:
        async def read(db: DB) -> dict[str, int | None]:
            found = await _find_room(db, room)
            if found is None:
                raise room_not_found(room)
            rows = await db.fetch(
                "SELECT username, until_ts FROM mutes WHERE room_id = $1"
                " AND (until_ts IS NULL OR until_ts > $2) ORDER BY username",
                found.id,
                now,
            )
            return {user: until for user, until in rows}

        return await self._read(read, snapshot=True)

    async def audit(self, before: int | None, limit: int) -> list[AuditEntry]:
        async def read(db: DB) -> list[AuditEntry]:
            rows = await db.fetch(
                f"SELECT {AUDIT_COLUMNS} FROM audit WHERE $1::bigint IS NULL OR id < $1"
                " ORDER BY id DESC LIMIT $2",
                before,
                limit,
            )
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
        async def job(db: Connection[Record], events: list[Event]) -> Invitation | None:
            row, role = await self._locks.room(db, room, by)
            if role is None:
                if row.kind == RoomKind.PUBLIC:
                    raise Forbidden(f"join {room!r} before you invite others to it")
                raise room_not_found(room)
            await _require_users(db, (user,))
            if await _banned(db, row.id, user):
                raise Forbidden(mod.banned_from(room, user, by))
            if await self._locks.role(db, row, user) is not None:
                return None
            if await _invited(db, row.id, user):
                return None
            sent = await db.fetchval("SELECT count(*) FROM invitations WHERE by_user = $1", by)
            if sent >= per_inviter:
                raise TooLarge(cons.too_many_from_inviter(per_inviter))
            received = await db.fetchval(
                "SELECT count(*) FROM invitations WHERE username = $1", user
            )
            if received >= per_invitee:
                raise TooLarge(cons.too_many_for_invitee(user, per_invitee))
            await db.execute(
                "INSERT INTO invitations (room_id, username, by_user, ts) VALUES ($1, $2, $3, $4)",
                row.id,
                user,
                by,
                now,
            )
            topic = await db.fetchval("SELECT room_topic FROM rooms WHERE id = $1", row.id)
            private = row.kind != RoomKind.PUBLIC
            return Invitation(room=room, by=by, ts=now, private=private, topic=topic)

        return self._submit(job, room)

    def accept_invitation(self, room: str, user: str, now: int) -> Awaitable[Joined]:
        async def job(db: Connection[Record], events: list[Event]) -> Joined:
            found = await _find_room(db, room)
            by = None
            if found is not None:
                by = await db.fetchval(
                    "DELETE FROM invitations WHERE room_id = $1 AND username = $2"
                    " RETURNING by_user",
                    found.id,
                    user,
                )
            if found is None or by is None:
                raise NotFound(cons.no_invitation(room))
            row, _ = await self._locks.room(db, room, user)
            if await _banned(db, row.id, user):
                raise Forbidden(mod.banned_from(room, user, None))
            return await _join(db, events, self._locks, row, user, now, by)

        return self._submit(job, room)

    def decline_invitation(self, room: str, user: str) -> Awaitable[None]:
        async def job(db: Connection[Record], events: list[Event]) -> None:
            found = await _find_room(db, room)
            if found is None or not await _uninvite(db, found.id, user):
                raise NotFound(cons.no_invitation(room))

        return self._submit(job)

    async def invitations(self, user: str) -> list[Invitation]:
        async def read(db: DB) -> list[Invitation]:
            rows = await db.fetch(
                "SELECT r.name, i.by_user, i.ts, r.kind, r.room_topic FROM invitations i"
                " JOIN rooms r ON r.id = i.room_id WHERE i.username = $1"
                ' ORDER BY i.ts, r.name COLLATE "C"',
                user,
            )
            return [
                Invitation(room=name, by=by, ts=ts, private=kind != RoomKind.PUBLIC, topic=topic)
                for name, by, ts, kind, topic in rows
            ]

        return await self._read(read)

    def block(
        self, blocker: str, blocked: str, now: int, cap: int = cons.MAX_BLOCKS
    ) -> Awaitable[bool]:
        async def job(db: Connection[Record], events: list[Event]) -> bool:
            await _require_users(db, (blocked,))
            if await _blocks(db, blocker, blocked):
                return False
            count = await db.fetchval("SELECT count(*) FROM blocks WHERE blocker = $1", blocker)
            if count >= cap:
                raise TooLarge(cons.too_many_blocks(cap))
            added = await db.execute(
                "INSERT INTO blocks (blocker, blocked, ts) VALUES ($1, $2, $3)"
                " ON CONFLICT DO NOTHING",
                blocker,
                blocked,
                now,
            )
            return bool(_count(added))

        return self._submit(job)

    def unblock(self, blocker: str, blocked: str) -> Awaitable[bool]:
        async def job(db: Connection[Record], events: list[Event]) -> bool:
            gone = await db.execute(
                "DELETE FROM blocks WHERE blocker = $1 AND blocked = $2", blocker, blocked
            )
            return bool(_count(gone))

        return self._submit(job)

    async def blocks(self, user: str) -> list[str]:
        async def read(db: DB) -> list[str]:
            rows = await db.fetch(
                'SELECT blocked FROM blocks WHERE blocker = $1 ORDER BY blocked COLLATE "C"', user
            )
            return [name for (name,) in rows]

        return await self._read(read)

    async def consent(self, user: str, other: str) -> Consent:
        async def read(db: DB) -> Consent:
            shared = await db.fetchval(
                "SELECT 1 FROM members a JOIN members b ON b.room_id = a.room_id"
                " WHERE a.username = $1 AND b.username = $2 LIMIT 1",
                user,
                other,
            )
            blocks = await _blocks(db, user, other)
            return Consent(await _dm_policy(db, user), blocks, shared is not None)

        return await self._read(read, snapshot=True)

    async def dm_policy(self, user: str) -> DmPolicy:
        return await self._read(lambda db: _dm_policy(db, user))

    def set_dm_policy(self, user: str, policy: DmPolicy) -> Awaitable[None]:
        async def job(db: Connection[Record], events: list[Event]) -> None:
            changed = await db.execute(
                "UPDATE users SET dm_policy = $1 WHERE username = $2", policy.value, user
            )
            if not _count(changed):
                raise NotFound(f"no user named {user!r}")

        return self._submit(job)

    def mark_read(self, room: str, user: str, seq: int) -> Awaitable[int]:
        async def job(db: Connection[Record], events: list[Event]) -> int:
            marker = await db.fetchval(
                "UPDATE members m SET read_seq = greatest(m.read_seq, least($1, r.last_seq))"
                " FROM rooms r WHERE r.id = m.room_id AND r.name = $2 AND m.username = $3"
                " RETURNING m.read_seq",
                seq,
                room,
                user,
            )
            if marker is None:
                raise room_not_found(room)
            return int(marker)

        return self._submit(job, room)

    # --- reads --------------------------------------------------------------------------

    async def get_room(self, name: str) -> Room | None:
        return await self._read(lambda db: _find_room(db, name))

    async def room_info(self, room: str, user: str) -> RoomInfo | None:
        async def read(db: DB) -> RoomInfo | None:
            row = await _find_room(db, room)
            return None if row is None else await _info(db, row.id, user)

        return await self._read(read)

    async def user_rooms(self, user: str) -> list[RoomInfo]:
        async def read(db: DB) -> list[RoomInfo]:
            ids = await db.fetch(
                "SELECT m.room_id FROM members m JOIN rooms r ON r.id = m.room_id"
                " WHERE m.username = $1 ORDER BY r.name",
                user,
            )
            infos = [await _info(db, room_id, user) for (room_id,) in ids]
            return [info for info in infos if info is not None]

        return await self._read(read)

    async def public_rooms(self) -> list[PublicRoom]:
        async def read(db: DB) -> list[PublicRoom]:
            rows = await db.fetch(
                "SELECT r.name, count(m.username), r.last_seq, r.room_title, r.room_topic"
                " FROM rooms r LEFT JOIN members m ON m.room_id = r.id"
                " WHERE r.kind = 'public' GROUP BY r.id ORDER BY r.name"
            )
            return [
                PublicRoom(name=n, members=c, last_seq=s, title=title, topic=topic)
                for n, c, s, title, topic in rows
            ]

        return await self._read(read)

    async def members(self, room: str) -> list[str]:
        async def read(db: DB) -> list[str]:
            row = await _find_room(db, room)
            if row is None:
                raise room_not_found(room)
            rows = await db.fetch(
                "SELECT username FROM members WHERE room_id = $1 ORDER BY username", row.id
            )
            return [str(name) for (name,) in rows]

        return await self._read(read)

    async def room_roles(self, room: str) -> dict[str, RoomRole]:
        async def read(db: DB) -> dict[str, RoomRole]:
            found = await _find_room(db, room)
            if found is None:
                raise room_not_found(room)
            rows = await db.fetch(ROLES_QUERY.format(room="$1"), found.id)
            return roles_of(found.kind, list(rows))

        return await self._read(read, snapshot=True)

    async def history(
        self,
        room: str,
        before: int | None,
        after: int | None,
        limit: int,
        reader: str | None = None,
    ) -> Page:
        async def read(db: DB) -> Page:
            row = await _find_room(db, room)
            if row is None:
                raise room_not_found(room)
            if after is not None:
                rows = await db.fetch(
                    f"SELECT {EVENT_COLUMNS} FROM events WHERE room_id = $1 AND seq > $2"
                    " ORDER BY seq LIMIT $3",
                    row.id,
                    after,
                    limit + 1,
                )
                has_more = len(rows) > limit
                rows = rows[:limit]
            else:
                top = row.last_seq + 1 if before is None else before
                rows = await db.fetch(
                    f"SELECT {EVENT_COLUMNS} FROM events WHERE room_id = $1 AND seq < $2"
                    " ORDER BY seq DESC LIMIT $3",
                    row.id,
                    top,
                    limit + 1,
                )
                has_more = len(rows) > limit
                rows = rows[:limit][::-1]
            events = [_event(room, r) for r in rows]
            return Page(await _as_read(db, row.id, events, reader), has_more)

        return await self._read(read)

    async def replay_since(
        self, room: str, since: int, bound: int, reader: str | None = None
    ) -> Replay:
        async def read(db: DB) -> Replay:
            row = await _find_room(db, room)
            if row is None:
                raise room_not_found(room)
            rows = await db.fetch(
                f"SELECT {EVENT_COLUMNS} FROM events WHERE room_id = $1 AND seq > $2"
                " ORDER BY seq LIMIT $3",
                row.id,
                since,
                bound + 1,
            )
            if len(rows) > bound:
                return Replay(None, row.last_seq)
            events = [_event(room, r) for r in rows]
            return Replay(await _as_read(db, row.id, events, reader), row.last_seq)

        # One snapshot for the events, their reactions and last_seq.
        return await self._read(read, snapshot=True)

    async def thread(
        self, room: str, root: int, before: int | None, limit: int, reader: str | None = None
    ) -> Thread:
        async def read(db: DB) -> Thread:
            row = await _find_room(db, room)
            if row is None:
                raise room_not_found(room)
            state = _Room(row.id, row.name, row.kind, None)
            top = row.last_seq + 1 if before is None else before
            rows = await db.fetch(
                f"SELECT {EVENT_COLUMNS} FROM events WHERE room_id = $1 AND thread = $2"
                " AND type = 'message' AND seq < $3 ORDER BY seq DESC LIMIT $4",
                row.id,
                root,
                top,
                limit + 1,
            )
            first = await _target(db, state, root)
            replies = [_event(room, r) for r in rows[:limit][::-1]]
            (shown, *events) = await _as_read(db, row.id, [first, *replies], reader)
            assert isinstance(shown, Message)
            return Thread(shown, events, has_more=len(rows) > limit)

        return await self._read(read, snapshot=True)  # the root and its replies

    async def search(
        self, user: str, query: str, room: str | None, before: Cursor | None, limit: int
    ) -> Results:
        if len(query) < MIN_QUERY_CHARS:
            raise BadRequest(SHORT_QUERY)
        # The query as a case-insensitive regular expression of its characters (each one
        # not a letter or digit escaped) finds candidates, as ILIKE would but testing a body
        # in about half the time; `match_ranges` decides, as on SQLite. A query without
        # letters that have a case (Chinese, say) finds the same with LIKE, faster still.
        if query.lower() == query == query.upper():
            like = "LIKE"
            pattern = "%" + "".join("\\" + c if c in "\\%_" else c for c in query) + "%"
        else:
            like, pattern = "~*", "".join(c if c.isalnum() else "\\" + c for c in query)

        async def read(db: DB) -> Results:
            # Planned for its settings each time, never a plan kept from an earlier search;
            # no parallel workers, whose start costs more than the little each chunk reads.
            await db.execute(
                "SET LOCAL plan_cache_mode = force_custom_plan;"
                " SET LOCAL max_parallel_workers_per_gather = 0"
            )
            if room is None:
                rooms = await db.fetchval(
                    "SELECT coalesce(array_agg(room_id), '{}') FROM members WHERE username = $1",
                    user,
                )
            else:
                row = await _find_room(db, room)
                if row is None or not await db.fetchval(
                    "SELECT EXISTS (SELECT 1 FROM members WHERE room_id = $1 AND username = $2)",
                    row.id,
                    user,
                ):
                    raise room_not_found(room)
                rooms = [row.id]
            below = await _search_below(db, user, before)
            page = Sieve(query, limit)
            while asked := page.wanted():
                rows = await _search_candidates(db, like, pattern, below, asked, rooms)
                page.add(rows, asked)
                if rows:
                    below = rows[-1][0]
            return page.results()

        return await self._read(read, snapshot=True)

    # --- files --------------------------------------------------------------------------

    def add_file(self, file: StoredFile, quota: int) -> Awaitable[None]:
        async def job(db: Connection[Record], events: list[Event]) -> None:
            room, role = await self._locks.room(db, file.room, file.uploader)
            if role is None:
                raise room_not_found(file.room)
            # The uploader's row lock makes their uploads on every node pass the quota check
            # one at a time.
            await db.execute(
                "SELECT FROM users WHERE username = $1 FOR NO KEY UPDATE", file.uploader
            )
            used = await db.fetchval(
                "SELECT coalesce(sum(size), 0) FROM files WHERE uploader = $1", file.uploader
            )
            if used + file.info.size > quota:
                raise TooLarge(over_quota(quota))
            params = ", ".join(f"${n}" for n in range(1, 12))
            await db.execute(
                f"INSERT INTO files ({FILE_INSERT_COLUMNS}) VALUES ({params})",
                *file_values(file, room.id),
            )

        return self._submit(job, file.room)

    async def file(self, file_id: str) -> StoredFile | None:
        return (await self._read(lambda db: _files(db, [file_id]))).get(file_id)

    async def file_usage(self, user: str) -> int:
        async def read(db: DB) -> int:
            used = await db.fetchval(
                "SELECT coalesce(sum(size), 0) FROM files WHERE uploader = $1", user
            )
            return int(used)

        return await self._read(read)

    def drop_pending_files(self, before: int) -> Awaitable[int]:
        async def job(db: Connection[Record], events: list[Event]) -> int:
            status = await db.execute(
                "DELETE FROM files WHERE seq IS NULL AND created_at < $1", before
            )
            return _count(status)

        return self._submit(job)

    async def referenced_blobs(self, blobs: Sequence[str]) -> set[str]:
        async def read(db: DB) -> set[str]:
            rows = await db.fetch(
                "SELECT sha256 FROM files WHERE sha256 = ANY($1::text[])"
                " UNION SELECT thumb_sha256 FROM files WHERE thumb_sha256 = ANY($1::text[])"
                " UNION SELECT avatar FROM users WHERE avatar = ANY($1::text[])",
                list(blobs),
            )
            return {blob for (blob,) in rows}

        return await self._read(read)

    # --- registration and guests -----------------------------------------------------------

    async def has_users(self) -> bool:
        return bool(await self._read(lambda db: db.fetchval("SELECT EXISTS (SELECT 1 FROM users)")))

    async def settings_version(self) -> int:
        async def read(db: DB) -> int:
            found = await db.fetchval("SELECT version FROM server_settings WHERE id = 1")
            return 0 if found is None else int(found)

        return await self._read(read)

    async def server_settings(self) -> reg.Stored:
        async def read(db: DB) -> reg.Stored:
            row = await db.fetchrow(
                "SELECT registration, guests, version FROM server_settings WHERE id = 1"
            )
            bans = await db.fetch("SELECT network FROM guest_bans ORDER BY network")
            networks = tuple(str(ban[0]) for ban in bans)
            if row is None:
                return reg.Stored(guest_bans=networks)
            mode = None if row[0] is None else reg.Mode(row[0])
            return reg.Stored(mode, row[1], networks, int(row[2]))

        return await self._read(read, snapshot=True)

    def change_settings(self, actor: str, now: int, changes: reg.Changes) -> Awaitable[None]:
        async def job(db: Connection[Record], events: list[Event]) -> None:
            await _bump_settings(db)
            if changes.registration is not msgspec.UNSET:
                mode = None if changes.registration is None else str(changes.registration)
                await db.execute("UPDATE server_settings SET registration = $1 WHERE id = 1", mode)
            if changes.guests is not msgspec.UNSET:
                await db.execute(
                    "UPDATE server_settings SET guests = $1 WHERE id = 1", changes.guests
                )
            for entry in reg.changed_entries(actor, now, changes):
                await _log(db, entry)

        return self._submit(job)

    def create_invite(self, invite: reg.Invite, code_hash: bytes) -> Awaitable[None]:
        async def job(db: Connection[Record], events: list[Event]) -> None:
            # One at a time on every node, so that the cap holds.
            await db.execute("LOCK TABLE invite_links IN SHARE ROW EXCLUSIVE MODE")
            await db.execute(
                "DELETE FROM invite_links WHERE expires_at <= $1"
                " OR (max_uses IS NOT NULL AND uses >= max_uses)",
                invite.created_at,
            )
            if await db.fetchval("SELECT count(*) FROM invite_links") >= reg.MAX_INVITES:
                raise Conflict(reg.TOO_MANY_INVITES)
            await db.execute(
                "INSERT INTO invite_links (id, code_hash, created_by, created_at, expires_at,"
                " max_uses) VALUES ($1, $2, $3, $4, $5, $6)",
                invite.id,
                code_hash,
                invite.created_by,
                invite.created_at,
                invite.expires_at,
                invite.max_uses,
            )
            await _log(db, reg.invite_entry(invite))

        return self._submit(job)

    async def invites(self) -> list[reg.Invite]:
        async def read(db: DB) -> list[reg.Invite]:
            rows = await db.fetch(
                f"SELECT {reg.INVITE_COLUMNS} FROM invite_links ORDER BY created_at DESC, id"
            )
            return [reg.invite_of(tuple(row)) for row in rows]

        return await self._read(read)

    def revoke_invite(self, invite_id: str, actor: str, now: int) -> Awaitable[None]:
        async def job(db: Connection[Record], events: list[Event]) -> None:
            gone = await db.execute("DELETE FROM invite_links WHERE id = $1", invite_id)
            if not _count(gone):
                raise NotFound(reg.no_invite(invite_id))
            await _log(db, reg.revoke_entry(invite_id, actor, now))

        return self._submit(job)

    def ban_guests(self, network: str, actor: str, now: int) -> Awaitable[bool]:
        async def job(db: Connection[Record], events: list[Event]) -> bool:
            # One at a time on every node, so that the cap holds.
            await db.execute("LOCK TABLE guest_bans IN SHARE ROW EXCLUSIVE MODE")
            if await db.fetchval("SELECT 1 FROM guest_bans WHERE network = $1", network):
                return False
            if await db.fetchval("SELECT count(*) FROM guest_bans") >= reg.MAX_GUEST_BANS:
                raise TooLarge(reg.TOO_MANY_GUEST_BANS)
            await db.execute(
                "INSERT INTO guest_bans (network, by_user, ts) VALUES ($1, $2, $3)",
                network,
                actor,
                now,
            )
            await _bump_settings(db)
            await _log(db, reg.guest_ban_entry(network, actor, now, banned=True))
            return True

        return self._submit(job)

    def unban_guests(self, network: str, actor: str, now: int) -> Awaitable[None]:
        async def job(db: Connection[Record], events: list[Event]) -> None:
            gone = await db.execute("DELETE FROM guest_bans WHERE network = $1", network)
            if not _count(gone):
                raise NotFound(reg.no_guest_ban(network))
            await _bump_settings(db)
            await _log(db, reg.guest_ban_entry(network, actor, now, banned=False))

        return self._submit(job)

    # --- bots and webhooks (22) --------------------------------------------------------------

    def create_bot(
        self, name: str, created_by: str, now: int, token: bytes, cap: int | None = None
    ) -> Awaitable[None]:
        async def job(db: Connection[Record], events: list[Event]) -> None:
            if cap is not None:
                # The maker's row, locked: their bots are counted one write at a time.
                await db.execute("SELECT 1 FROM users WHERE username = $1 FOR UPDATE", created_by)
                live = await db.fetchval(
                    f"SELECT count(*) FROM users u WHERE {_BOTS} AND created_by = $1"
                    " AND deactivated_at IS NULL",
                    created_by,
                )
                if live >= cap:
                    raise TooLarge(bots.too_many(cap))
            await _insert_bot(db, name, created_by, now)
            await db.execute(
                "INSERT INTO tokens (token_hash, username, created_at, expires_at)"
                " VALUES ($1, $2, $3, $4)",
                token,
                name,
                now,
                bots.NEVER_EXPIRES,
            )

        return self._submit(job)

    async def bot(self, name: str) -> Bot | None:
        async def read(db: DB) -> Bot | None:
            row = await db.fetchrow(
                f"SELECT {BOT_COLUMNS} FROM users u WHERE {_BOTS} AND username = $1", name
            )
            return None if row is None else bot_of(row)

        return await self._read(read)

    async def bots(self, created_by: str | None, limit: int) -> list[Bot]:
        async def read(db: DB) -> list[Bot]:
            rows = await db.fetch(
                f"SELECT {BOT_COLUMNS} FROM users u WHERE {_BOTS}"
                " AND ($1::text IS NULL OR created_by = $1)"
                ' ORDER BY username COLLATE "C" LIMIT $2',
                created_by,
                limit,
            )
            return [bot_of(row) for row in rows]

        return await self._read(read)

    def create_webhook(self, hook: Webhook, secret: bytes, cap: int) -> Awaitable[MemberJoined]:
        async def job(db: Connection[Record], events: list[Event]) -> MemberJoined:
            room, role = await self._locks.room(db, hook.room, hook.created_by)
            if role is None:
                raise room_not_found(hook.room)
            live = await db.fetchval(
                "SELECT count(*) FROM webhooks WHERE room_id = $1 AND revoked_at IS NULL", room.id
            )
            if live >= cap:
                raise TooLarge(webhooks.too_many(cap))
            await _insert_bot(db, hook.username, hook.created_by, hook.created_at, hook.name)
            await db.execute(
                "INSERT INTO webhooks (id, room_id, name, username, secret_hash, created_by,"
                " created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
                hook.id,
                room.id,
                hook.name,
                hook.username,
                secret,
                hook.created_by,
                hook.created_at,
            )
            joined = await _join(
                db, events, self._locks, room, hook.username, hook.created_at, hook.created_by
            )
            assert joined.event is not None  # a new account is in no room
            return joined.event

        return self._submit(job, hook.room)

    async def webhooks(self, room: str) -> list[Webhook]:
        async def read(db: DB) -> list[Webhook]:
            rows = await db.fetch(
                f"SELECT {WEBHOOK_COLUMNS} FROM webhooks w JOIN rooms r ON r.id = w.room_id"
                " WHERE r.name = $1 AND w.revoked_at IS NULL ORDER BY w.created_at, w.id",
                room,
            )
            return [webhook_of(row) for row in rows]

        return await self._read(read)

    async def webhook(self, hook_id: str) -> tuple[Webhook, bytes] | None:
        async def read(db: DB) -> tuple[Webhook, bytes] | None:
            row = await db.fetchrow(
                f"SELECT {WEBHOOK_COLUMNS}, w.secret_hash FROM webhooks w"
                " JOIN rooms r ON r.id = w.room_id WHERE w.id = $1 AND w.revoked_at IS NULL",
                hook_id,
            )
            return None if row is None else (webhook_of(tuple(row)[:-1]), bytes(row[-1]))

        return await self._read(read)

    def revoke_webhook(self, room: str, hook_id: str, now: int) -> Awaitable[MemberLeft | None]:
        async def job(db: Connection[Record], events: list[Event]) -> MemberLeft | None:
            # Under the room's lock (taken at the batch's start): one revocation at a time.
            username = await db.fetchval(
                "SELECT w.username FROM webhooks w JOIN rooms r ON r.id = w.room_id"
                " WHERE w.id = $1 AND r.name = $2 AND w.revoked_at IS NULL",
                hook_id,
                room,
            )
            if username is None:
                raise NotFound(webhooks.NOT_FOUND)
            locked, role = await self._locks.room(db, room, username)
            await db.execute(
                "UPDATE webhooks SET secret_hash = NULL, revoked_at = $1 WHERE id = $2",
                now,
                hook_id,
            )
            await db.execute(
                "UPDATE users SET deactivated_at = $1 WHERE username = $2", now, username
            )
            self._locks.roles[(locked.id, username)] = None
            if role is None:
                return None
            await db.execute(
                "DELETE FROM members WHERE room_id = $1 AND username = $2", locked.id, username
            )
            left = MemberLeft(room=room, seq=0, ts=now, user=username)
            return await _insert(db, events, locked, left)

        return self._submit(job, room)

    # --- outgoing webhooks (23) ---------------------------------------------------------------

    def create_outgoing_webhook(
        self, hook: OutgoingWebhook, secret: str, cap: int
    ) -> Awaitable[MemberJoined]:
        async def job(db: Connection[Record], events: list[Event]) -> MemberJoined:
            room, role = await self._locks.room(db, hook.room, hook.created_by)
            if not await _is_admin(db, hook.created_by):
                if role is None:
                    raise room_not_found(hook.room)
                if _room_role(room, role, hook.created_by) not in (RoomRole.OWNER, RoomRole.ADMIN):
                    raise Forbidden(outgoing.RUNNERS_ONLY)
            live = await db.fetchval(
                "SELECT count(*) FROM outgoing_webhooks WHERE room_id = $1 AND revoked_at IS NULL",
                room.id,
            )
            if live >= cap:
                raise TooLarge(outgoing.too_many(cap))
            await _insert_bot(db, hook.username, hook.created_by, hook.created_at, hook.name)
            await db.execute(
                "INSERT INTO outgoing_webhooks (id, room_id, name, url, trigger, words, username,"
                " secret, created_by, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
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
            )
            joined = await _join(
                db, events, self._locks, room, hook.username, hook.created_at, hook.created_by
            )
            assert joined.event is not None  # a new account is in no room
            return joined.event

        return self._submit(job, hook.room)

    async def outgoing_webhooks(self, room: str) -> list[tuple[OutgoingWebhook, str]]:
        async def read(db: DB) -> list[tuple[OutgoingWebhook, str]]:
            rows = await db.fetch(
                f"SELECT {OUTGOING_COLUMNS}, o.secret FROM outgoing_webhooks o"
                " JOIN rooms r ON r.id = o.room_id"
                " WHERE r.name = $1 AND o.revoked_at IS NULL ORDER BY o.created_at, o.id",
                room,
            )
            return [(outgoing_of(tuple(row)[:-1]), row[-1]) for row in rows]

        return await self._read(read)

    def revoke_outgoing_webhook(
        self, room: str, hook_id: str, now: int
    ) -> Awaitable[MemberLeft | None]:
        async def job(db: Connection[Record], events: list[Event]) -> MemberLeft | None:
            # Under the room's lock (taken at the batch's start): one revocation at a time.
            username = await db.fetchval(
                "SELECT o.username FROM outgoing_webhooks o JOIN rooms r ON r.id = o.room_id"
                " WHERE o.id = $1 AND r.name = $2 AND o.revoked_at IS NULL",
                hook_id,
                room,
            )
            if username is None:
                raise NotFound(outgoing.NOT_FOUND)
            locked, role = await self._locks.room(db, room, username)
            await db.execute(
                "UPDATE outgoing_webhooks SET secret = NULL, revoked_at = $1 WHERE id = $2",
                now,
                hook_id,
            )
            await db.execute("DELETE FROM outgoing_deliveries WHERE hook_id = $1", hook_id)
            await db.execute(
                "UPDATE users SET deactivated_at = $1 WHERE username = $2", now, username
            )
            self._locks.roles[(locked.id, username)] = None
            if role is None:
                return None
            await db.execute(
                "DELETE FROM members WHERE room_id = $1 AND username = $2", locked.id, username
            )
            left = MemberLeft(room=room, seq=0, ts=now, user=username)
            return await _insert(db, events, locked, left)

        return self._submit(job, room)

    def add_outgoing_delivery(self, hook_id: str, delivery: Delivery, keep: int) -> Awaitable[None]:
        async def job(db: Connection[Record], events: list[Event]) -> None:
            # The hook's row, locked: its deliveries are trimmed one write at a time.
            live = await db.fetchval(
                "SELECT 1 FROM outgoing_webhooks WHERE id = $1 AND revoked_at IS NULL FOR UPDATE",
                hook_id,
            )
            if live is None:
                return
            await db.execute(
                "INSERT INTO outgoing_deliveries (hook_id, message_seq, message_id, attempts,"
                " status, error, duration_ms, at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"
                " ON CONFLICT (hook_id, message_seq) DO UPDATE SET message_id = $3,"
                " attempts = $4, status = $5, error = $6, duration_ms = $7, at = $8",
                hook_id,
                delivery.seq,
                delivery.msg_id,
                delivery.attempts,
                delivery.status,
                delivery.error,
                delivery.duration_ms,
                delivery.at,
            )
            await db.execute(
                "DELETE FROM outgoing_deliveries WHERE hook_id = $1 AND message_seq <= coalesce("
                "(SELECT message_seq FROM outgoing_deliveries WHERE hook_id = $1"
                " ORDER BY message_seq DESC LIMIT 1 OFFSET $2), -1)",
                hook_id,
                keep,
            )

        return self._submit(job)

    async def outgoing_deliveries(self, hook_id: str, limit: int) -> list[Delivery]:
        async def read(db: DB) -> list[Delivery]:
            rows = await db.fetch(
                f"SELECT {DELIVERY_COLUMNS} FROM outgoing_deliveries WHERE hook_id = $1"
                " ORDER BY message_seq DESC LIMIT $2",
                hook_id,
                limit,
            )
            return [delivery_of(row) for row in rows]

        return await self._read(read)


# Bot accounts, webhooks' bots left out (as `u`), and what a Bot is made of.
_BOTS = (
    "bot AND NOT EXISTS (SELECT 1 FROM webhooks w WHERE w.username = u.username)"
    " AND NOT EXISTS (SELECT 1 FROM outgoing_webhooks o WHERE o.username = u.username)"
)


async def _insert_bot(
    db: Connection[Record], name: str, created_by: str, now: int, display_name: str = ""
) -> None:
    """A bot account: a member of the server, with no password any sign-in could match."""
    added = await db.execute(
        "INSERT INTO users (username, password_hash, created_at, role, display_name, bot,"
        " created_by) VALUES ($1, $2, $3, 'member', $4, TRUE, $5) ON CONFLICT DO NOTHING",
        name,
        bots.NO_PASSWORD,
        now,
        display_name,
        created_by,
    )
    if not _count(added):
        raise Conflict(f"the username {name!r} is taken")


async def _bump_settings(db: Connection[Record]) -> None:
    """Move the settings' version (making their row on the first change)."""
    await db.execute(
        "INSERT INTO server_settings (id, version) VALUES (1, 1)"
        " ON CONFLICT (id) DO UPDATE SET version = server_settings.version + 1"
    )


async def _use_invite(db: Connection[Record], code_hash: bytes, now: int) -> None:
    """Count a use of the live invite link of ``code_hash``, or ``Forbidden``. The row's
    lock makes a racing use wait and then see the count this one leaves."""
    used = await db.execute(
        "UPDATE invite_links SET uses = uses + 1 WHERE code_hash = $1 AND expires_at > $2"
        " AND (max_uses IS NULL OR uses < max_uses)",
        code_hash,
        now,
    )
    if not _count(used):
        raise Forbidden(reg.BAD_INVITE)


# --- SQL shared by the jobs and the reads -------------------------------------------------


def _insert_sql(kind: type[Event]) -> str:
    """The insert of one kind, with the room's next seq. The UPDATE allocates it in the
    transaction that inserts the event, and is why seqs are gapless even with several nodes
    writing to one room: it takes the room row's lock until the commit, so another writer of
    the room waits, then reads the number this one committed (READ COMMITTED reads an updated
    row again after the wait) and never takes it twice; a rollback, of the job's savepoint or
    of the whole transaction, gives the number back together with the event. For a kind with
    a ``client_msg_id``, an event its author stored with the same one stops both: the insert
    returns no row."""
    own = kind_columns(kind)
    params = [f"${n}" for n in range(5, 5 + len(own))]
    unless = ""
    if "client_msg_id" in own:
        key = params[own.index("client_msg_id")]
        unless = f" AND NOT EXISTS (SELECT FROM events WHERE author = $3 AND client_msg_id = {key})"
    columns = ", ".join(["room_id", *COMMON_COLUMNS, *own])
    values = ", ".join(["$1", "last_seq", "$2", "$3", "$4", *params])
    return (
        f"WITH next AS (UPDATE rooms SET last_seq = last_seq + 1 WHERE id = $1{unless}"
        f" RETURNING last_seq) INSERT INTO events ({columns}) SELECT {values} FROM next"
        " RETURNING seq"
    )


_INSERT = {t: _insert_sql(kind) for t, kind in EVENT_CLASSES.items()}

# Fields whose column holds them in another form: a message's mentions are a text[] (NULL
# for none), and columns of fields a kind lacks hold NULL.
_TO_COLUMN: dict[str, Callable[[Any], Any]] = {
    "mentions": lambda names: _names(names),
    "files": files_column,
}
_event = RowDecoder(
    {
        "deleted": bool,
        "room_mention": bool,
        "replies": lambda v: v or 0,
        "mentions": lambda v: tuple(v) if v else (),
        "files": files_of,
        "reason": lambda v: v or "",
    }
)


@dataclass(slots=True)
class _Room:
    id: int
    name: str
    kind: RoomKind
    created_by: str | None


class _Locks:
    """The rooms that the writer's transaction has locked, and the roles it has read in them
    (None: not a member). Every job of a room, on every node, takes the room's lock first, so
    what a job reads of the room (members, roles, messages) stays true until its events are
    in; and while the transaction holds the lock, only its own jobs change the room's members,
    so it remembers them rather than reading them again for each job. Forgotten at the end of
    every transaction, and when a job rolls back (its locks go with it)."""

    def __init__(self) -> None:
        self.rooms: dict[str, _Room] = {}
        self.roles: dict[tuple[int, str], str | None] = {}

    def clear(self) -> None:
        self.rooms.clear()
        self.roles.clear()

    async def lock_all(self, db: Connection[Record], names: set[str]) -> None:
        """Lock the rooms of a whole batch at its start, in name order. Nodes whose batches
        took their rooms' locks job by job, in their jobs' orders, would wait for each other
        in a cycle that only PostgreSQL's deadlock detection (a second later) breaks; taken
        all at once and in one order, the locks of two batches never form a cycle."""
        rows = await db.fetch(
            "SELECT id, name, kind, created_by FROM rooms WHERE name = ANY($1::text[])"
            ' ORDER BY name COLLATE "C" FOR NO KEY UPDATE',
            sorted(names),
        )
        for row in rows:
            self.rooms[row[1]] = _Room(row[0], row[1], RoomKind(row[2]), row[3])

    async def room(self, db: Connection[Record], name: str, user: str) -> tuple[_Room, str | None]:
        """The room ``name``, locked until the commit (``NotFound`` if there is none), and
        ``user``'s role in it."""
        room = self.rooms.get(name)
        if room is None:
            row = await db.fetchrow(
                "SELECT id, kind, created_by FROM rooms WHERE name = $1 FOR NO KEY UPDATE", name
            )
            if row is None:
                raise room_not_found(name)
            room = self.rooms[name] = _Room(row[0], name, RoomKind(row[1]), row[2])
        return room, await self.role(db, room, user)

    async def role(self, db: Connection[Record], room: _Room, user: str) -> str | None:
        """``user``'s role in a locked room, None if not a member. Read by a statement of its
        own, after the lock: a statement that waited for the lock sees the other tables as
        they were before the wait, not as the lock's holder left them."""
        key = (room.id, user)
        if key not in self.roles:
            self.roles[key] = await db.fetchval(
                "SELECT role FROM members WHERE room_id = $1 AND username = $2", room.id, user
            )
        return self.roles[key]


async def _member_room(db: Connection[Record], locks: _Locks, event: Event) -> tuple[_Room, str]:
    """The room of ``event``, locked, whose author must be a member: ``Forbidden`` in a
    public room, and as if missing in any other (as for ``append``); and their role."""
    room, role = await locks.room(db, event.room, event.user)
    if role is None:
        if room.kind == RoomKind.PUBLIC:
            raise Forbidden(f"join {event.room!r} before you change messages in it")
        raise room_not_found(event.room)
    return room, role


async def _require_users(db: Connection[Record], users: Sequence[str]) -> None:
    rows = await db.fetch("SELECT username FROM users WHERE username = ANY($1)", list(users))
    found = {name for (name,) in rows}
    for user in users:
        if user not in found:
            raise NotFound(f"no user named {user!r}")


# A search reads its candidates (the messages whose body may hold the query, in any room,
# newest first, as SQLite's index gives them) one of two ways: the messages newest first,
# testing each body, which stops early for a common query; or the matches the trigram index
# finds, sorted, which costs what the query matches in all. The planner's guess from pg_trgm
# statistics picks wrongly for words its sample missed, so a chunk first tests the newest
# SEARCH_PROBE messages and, from the share that match, chooses how to read the rest.
SEARCH_PROBE = 2000
SCAN_COST = 1.0  # testing one message read newest first
MATCH_COST = 10.0  # reading one match the trigram index found (a read at random)

_CANDIDATES = (
    "SELECT c.pos, r.name, c.seq, c.ts, c.author, c.body FROM"
    " (SELECT pos, room_id, seq, ts, author, body FROM events"
    "  WHERE type = 'message' AND deleted IS NOT TRUE AND pos < $2{match}"
    "  ORDER BY pos DESC LIMIT {rows}) AS c"
    " LEFT JOIN rooms r ON r.id = c.room_id AND c.room_id = ANY($4::bigint[])"
    "{tested} ORDER BY c.pos DESC LIMIT $3"
)


async def _search_candidates(
    db: DB, like: str, pattern: str, below: int, asked: int, rooms: list[int]
) -> list[Row]:
    """The first ``asked`` messages below ``below`` whose body is ``like`` ``pattern``,
    newest first: pos, then the room's name (None if not in ``rooms``), seq, ts, author and
    body."""
    probe = await db.fetch(
        _CANDIDATES.format(match="", rows="$5", tested=f" WHERE c.body {like} $1"),
        pattern,
        below,
        asked,
        rooms,
        SEARCH_PROBE,
    )
    if len(probe) >= asked:
        return [tuple(r) for r in probe]
    window = await db.fetchrow(
        "SELECT min(pos), count(*) FROM (SELECT pos FROM events"
        " WHERE type = 'message' AND deleted IS NOT TRUE AND pos < $1"
        " ORDER BY pos DESC LIMIT $2) AS w",
        below,
        SEARCH_PROBE,
    )
    assert window is not None  # an aggregate's one row
    edge, probed = window
    if probed < SEARCH_PROBE:  # the probe read every message there is below
        return [tuple(r) for r in probe]
    share, wanted = len(probe) / probed, asked - len(probe)
    newest_first = wanted * SCAN_COST < share * share * edge * MATCH_COST
    # Plain index scans read newest first; the trigram index is read as a bitmap only; a
    # whole-table scan is neither. (Statements are planned anew each time: see `search`.)
    await db.execute(
        f"SET LOCAL enable_bitmapscan = {'off' if newest_first else 'on'};"
        f" SET LOCAL enable_indexscan = {'on' if newest_first else 'off'};"
        " SET LOCAL enable_seqscan = off"
    )
    try:
        rest = await db.fetch(
            _CANDIDATES.format(match=f" AND body {like} $1", rows="$3", tested=""),
            pattern,
            edge,
            wanted,
            rooms,
        )
    finally:
        await db.execute(
            "SET LOCAL enable_bitmapscan = on; SET LOCAL enable_indexscan = on;"
            " SET LOCAL enable_seqscan = on"
        )
    return [tuple(r) for r in (*probe, *rest)]


async def _search_below(db: DB, user: str, before: Cursor | None) -> int:
    """The ``pos`` a search page starts below: the cursor's own, or that of the message
    it names in one of ``user``'s rooms (``BadRequest`` if there is none)."""
    if before is None:
        return 2**63 - 1
    if before.pos is not None:
        return before.pos
    pos = await db.fetchval(
        "SELECT e.pos FROM events e JOIN rooms r ON r.id = e.room_id"
        " JOIN members m ON m.room_id = e.room_id AND m.username = $1"
        " WHERE r.name = $2 AND e.seq = $3",
        user,
        before.room,
        before.seq,
    )
    if pos is None:
        raise BadRequest(UNKNOWN_CURSOR)
    return int(pos)


async def _find_room(db: DB, name: str) -> Room | None:
    row = await db.fetchrow("SELECT id, name, kind, last_seq FROM rooms WHERE name = $1", name)
    if row is None:
        return None
    return Room(id=row[0], name=row[1], kind=RoomKind(row[2]), last_seq=row[3])


async def _insert(db: Connection[Record], events: list[Event], room: _Room, event: E) -> E:
    """Insert with the room's next seq, in the caller's transaction: the one path of every
    event into the log."""
    stored = await _insert_unless_stored(db, events, room, event)
    assert stored is not None, f"{event.type} has no client_msg_id"
    return stored


async def _insert_unless_stored(
    db: Connection[Record], events: list[Event], room: _Room, event: E
) -> E | None:
    """Like ``_insert``, but None if its author stored an event with its ``client_msg_id``
    already: then nothing is inserted and no seq is taken."""
    own_values = [
        _TO_COLUMN[f](getattr(event, f)) if f in _TO_COLUMN else getattr(event, f)
        for f in own_fields(EVENT_CLASSES[event.type])
    ]
    seq = await db.fetchval(
        _INSERT[event.type], room.id, event.type.value, event.user, event.ts, *own_values
    )
    if seq is None:
        return None
    stored = msgspec.structs.replace(event, seq=seq)
    events.append(stored)
    return stored


async def _erase(
    db: Connection[Record],
    events: list[Event],
    room: _Room,
    target: Message,
    delete: MessageDeleted,
) -> MessageDeleted:
    """Delete ``target`` as ``delete`` says, rights checked, in the caller's transaction:
    the one path of every delete (its author's, a moderator's, retention's)."""
    gone = msgspec.structs.replace(delete, thread=target.thread)
    stored = await _insert(db, events, room, gone)
    # The body goes from the message and from every edit of it: erased, not hidden.
    await db.execute(
        "UPDATE events SET body = '', edited_at = NULL, deleted = TRUE, mentions = NULL,"
        " room_mention = FALSE, files = NULL WHERE room_id = $1 AND seq = $2",
        room.id,
        target.seq,
    )
    # Its files go with it: unreachable from this commit on, their blobs swept.
    await db.execute("DELETE FROM files WHERE room_id = $1 AND seq = $2", room.id, target.seq)
    await db.execute(
        "UPDATE events SET body = '', mentions = NULL, room_mention = FALSE"
        " WHERE room_id = $1 AND target = $2 AND type = 'message_edited'",
        room.id,
        target.seq,
    )
    await _unmention(db, room.id, target)
    if target.thread is not None:
        await db.execute(
            "UPDATE events SET replies = replies - 1 WHERE room_id = $1 AND seq = $2",
            room.id,
            target.thread,
        )
    await db.execute("DELETE FROM reactions WHERE room_id = $1 AND seq = $2", room.id, target.seq)
    return stored


async def _target(db: DB, room: _Room, seq: int) -> Message:
    """The message ``seq`` of the room as it stands; ``NotFound`` if that is no message."""
    row = await db.fetchrow(
        f"SELECT {EVENT_COLUMNS} FROM events WHERE room_id = $1 AND seq = $2", room.id, seq
    )
    message = None if row is None else _event(room.name, row)
    if not isinstance(message, Message):
        raise NotFound(f"no message {seq} in {room.name!r}")
    return message


async def _check_reaction_cap(db: DB, room_id: int, reaction: ReactionAdded) -> None:
    """``Conflict`` if ``reaction`` would be one distinct emoji too many on its message."""
    rows = await db.fetch(
        "SELECT DISTINCT emoji FROM reactions WHERE room_id = $1 AND seq = $2",
        room_id,
        reaction.target,
    )
    emoji = {e for (e,) in rows}
    if len(emoji) >= MAX_REACTIONS and reaction.emoji not in emoji:
        raise Conflict(f"a message holds at most {MAX_REACTIONS} different reactions")


async def _as_read(db: DB, room_id: int, events: list[Event], reader: str | None) -> list[Event]:
    """The events as ``reader`` is shown them: each message with its reactions (one read of
    the reactions of the page's messages) and each reply with the quote of its parent as it
    is now (one read of the parents)."""
    if not events:
        return events
    counted: dict[int, list[Reaction]] = {}
    seqs = [e.seq for e in events if isinstance(e, Message) and not e.deleted]
    # The "C" collation of `emoji` orders UTF-8 as code points do: the projection's order.
    for seq, emoji, count, me in await db.fetch(
        "SELECT seq, emoji, count(*), bool_or(username = $1) FROM reactions"
        " WHERE room_id = $2 AND seq = ANY($3) GROUP BY seq, emoji ORDER BY seq, emoji",
        reader,
        room_id,
        seqs,
    ):
        counted.setdefault(seq, []).append(Reaction(emoji=emoji, count=count, me=bool(me)))
    parents = {
        e.reply_to
        for e in events
        if isinstance(e, Message) and e.reply_to is not None and not e.deleted
    }
    quotes = {}
    if parents:
        for seq, author, body, deleted in await db.fetch(
            "SELECT seq, author, body, deleted FROM events WHERE room_id = $1 AND seq = ANY($2)",
            room_id,
            list(parents),
        ):
            quotes[seq] = quote_of(author, body, bool(deleted))
    if not counted and not quotes:
        return events
    return [as_read(e, counted, quotes) if isinstance(e, Message) else e for e in events]


async def _insert_message(
    db: Connection[Record], events: list[Event], room: _Room, message: Message
) -> Message | None:
    """Insert a reply, a message that mentions someone or one with files: in its thread,
    quoting its parent (``NotFound`` if that is no message of the room, ``Conflict`` if it
    is deleted), naming only members, with ``@room`` only where it is allowed, attaching its
    files (``rows.attached``; under the room's lock, which every change of them takes)."""
    if message.reply_to is not None:
        parent = await _target(db, room, message.reply_to)
        if parent.deleted:
            raise Conflict(f"message {message.reply_to} is deleted")
        message = replying(message, parent)
    names, everyone = await _mentioned(
        db, room, message.user, message.mentions, message.room_mention
    )
    message = msgspec.structs.replace(message, mentions=names, room_mention=everyone)
    if message.files:
        message = attached(message, await _files(db, [f.id for f in message.files]))
    stored = await _insert_unless_stored(db, events, room, message)
    if stored is None:
        return None
    if stored.files:
        await db.execute(
            "UPDATE files SET seq = $1 WHERE id = ANY($2::text[])",
            stored.seq,
            [f.id for f in stored.files],
        )
    if stored.thread is not None:
        await db.execute(
            "UPDATE events SET replies = coalesce(replies, 0) + 1, last_reply_at = $1"
            " WHERE room_id = $2 AND seq = $3",
            stored.ts,
            room.id,
            stored.thread,
        )
    await _mention(db, room.id, stored.seq, names)
    return stored


async def _files(db: DB, ids: list[str]) -> dict[str, StoredFile]:
    """The files of ``ids`` that exist, by id."""
    rows = await db.fetch(
        f"SELECT {FILE_COLUMNS} FROM files f JOIN rooms r ON r.id = f.room_id"
        " WHERE f.id = ANY($1::text[])",
        ids,
    )
    return {row[0]: stored_file(row) for row in rows}


async def _mentioned(
    db: Connection[Record],
    room: _Room,
    author: str,
    names: tuple[str, ...],
    room_mention: bool,
) -> tuple[tuple[str, ...], bool]:
    """Of the names a body mentions, the room's members but its author; and whether its
    ``@room`` counts (``core.mentions.may_mention_room``)."""
    if names:
        found = await db.fetch(
            "SELECT username FROM members WHERE room_id = $1 AND username = ANY($2)",
            room.id,
            list(names),
        )
        names = tuple(sorted(name for (name,) in found if name != author))
    if room_mention:
        members = await db.fetchval("SELECT count(*) FROM members WHERE room_id = $1", room.id)
        role = await _role(db, room.id, room.kind, author)
        room_mention = may_mention_room(role != RoomRole.MEMBER, members)
    return names, room_mention


def _names(names: tuple[str, ...]) -> list[str] | None:
    return list(names) or None


async def _mention(db: Connection[Record], room_id: int, seq: int, names: tuple[str, ...]) -> None:
    if names:
        await db.executemany(
            "INSERT INTO mentions (username, room_id, seq) VALUES ($1, $2, $3)",
            [(name, room_id, seq) for name in names],
        )


async def _unmention(db: Connection[Record], room_id: int, message: Message) -> None:
    if message.mentions:
        await db.execute(
            "DELETE FROM mentions WHERE room_id = $1 AND seq = $2 AND username = ANY($3)",
            room_id,
            message.seq,
            list(message.mentions),
        )


# Taken by every change of a server role or of deactivation, for its transaction: two
# admins demoting each other at once, on any nodes, are checked one after the other.
_ACCOUNTS_LOCK = 0x6875_6262_0001


async def _account_to_change(db: Connection[Record], by: str | None, username: str) -> Account:
    """The account ``by`` may change (an active server admin, or None: the command line),
    under the accounts' lock; ``Forbidden``, ``NotFound``."""
    await db.execute("SELECT pg_advisory_xact_lock($1)", _ACCOUNTS_LOCK)
    if by is not None:
        accounts.check_actor(await _account(db, by))
    return accounts.found(await _account(db, username), username)


async def _account(db: DB, username: str) -> Account | None:
    row = await db.fetchrow(f"SELECT {ACCOUNT_COLUMNS} FROM users WHERE username = $1", username)
    return None if row is None else account(row)


async def _active_admins(db: DB) -> int:
    count = await db.fetchval(
        "SELECT count(*) FROM users WHERE role = 'admin' AND deactivated_at IS NULL"
    )
    return int(count)


async def _account_changed(
    db: Connection[Record], username: str, kind: AccountChange, now: int
) -> None:
    """Tell every node to close the sessions of ``username``; forget changes every node has
    polled long since. The table's lock, held to the commit, makes writers take turns, so
    ids commit in their order and a poll past an id never misses a smaller one."""
    await db.execute("LOCK TABLE account_changes IN EXCLUSIVE MODE")
    await db.execute(
        "INSERT INTO account_changes (username, kind, ts) VALUES ($1, $2, $3)",
        username,
        kind.value,
        now,
    )
    await db.execute(
        "DELETE FROM account_changes WHERE ts < $1", now - accounts.ACCOUNT_CHANGES_KEPT_MS
    )


async def _is_admin(db: DB, user: str) -> bool:
    role = await db.fetchval("SELECT role FROM users WHERE username = $1", user)
    return bool(role == "admin")


def _room_role(room: _Room, role: str | None, user: str) -> RoomRole | None:
    """The room role of a member whose ``members.role`` is ``role`` (None: no member)."""
    if role is None:
        return None
    if user == owner(room.kind, room.created_by):
        return RoomRole.OWNER
    return RoomRole(role)


async def _banned(db: DB, room_id: int, user: str) -> bool:
    found = await db.fetchval(
        "SELECT 1 FROM bans WHERE room_id = $1 AND username = $2", room_id, user
    )
    return found is not None


async def _invited(db: DB, room_id: int, user: str) -> bool:
    found = await db.fetchval(
        "SELECT 1 FROM invitations WHERE room_id = $1 AND username = $2", room_id, user
    )
    return found is not None


async def _uninvite(db: DB, room_id: int, user: str) -> bool:
    """Delete the user's pending invitation to the room; whether there was one."""
    gone = await db.execute(
        "DELETE FROM invitations WHERE room_id = $1 AND username = $2", room_id, user
    )
    return bool(_count(gone))


async def _blocks(db: DB, blocker: str, blocked: str) -> bool:
    found = await db.fetchval(
        "SELECT 1 FROM blocks WHERE blocker = $1 AND blocked = $2", blocker, blocked
    )
    return found is not None


async def _check_unblocked(db: DB, dm: str, author: str) -> None:
    """``Forbidden`` if the other member of the DM room ``dm`` blocks ``author``: in the
    words of a refused DM, which do not tell a block from the policy."""
    first, second = dm_members(dm)
    other = second if author == first else first
    if await _blocks(db, other, author):
        raise Forbidden(cons.refuses_dms(other))


async def _dm_policy(db: DB, user: str) -> DmPolicy:
    found = await db.fetchval("SELECT dm_policy FROM users WHERE username = $1", user)
    return DmPolicy.EVERYONE if found is None else DmPolicy(found)


async def _check_unmuted(db: DB, room: _Room, event: Event) -> None:
    """``Forbidden`` if the author of ``event`` is muted in its room at its ``ts``."""
    row = await db.fetchrow(
        "SELECT until_ts FROM mutes WHERE room_id = $1 AND username = $2", room.id, event.user
    )
    if row is not None and mod.muted(row[0], event.ts):
        raise Forbidden(mod.mute_message(room.name, row[0]))


async def _log(db: Connection[Record], entry: AuditEntry) -> None:
    """Add ``entry`` (its id is ignored) to the audit log, in the caller's transaction."""
    await db.execute(
        "INSERT INTO audit (ts, actor, action, room, target, detail)"
        " VALUES ($1, $2, $3, $4, $5, $6)",
        entry.ts,
        entry.actor,
        entry.action,
        entry.room,
        entry.target,
        entry.detail,
    )


async def _role(db: DB, room_id: int, kind: RoomKind, user: str) -> RoomRole:
    """``user``'s role in the room (a member's, if they are none)."""
    row = await db.fetchrow(
        "SELECT r.created_by, m.role FROM rooms r JOIN members m ON m.room_id = r.id"
        " WHERE r.id = $1 AND m.username = $2",
        room_id,
        user,
    )
    if row is None:
        return RoomRole.MEMBER
    created_by, role = row
    if user == owner(kind, created_by):
        return RoomRole.OWNER
    return RoomRole(role)


async def _stored(db: DB, event: E) -> Appended[E] | None:
    """The event its author already stored with the ``client_msg_id`` of ``event``, if any;
    ``Conflict`` if that is in another room or of another kind."""
    key = client_msg_id(event)
    if key is None:
        return None
    row = await db.fetchrow(
        f"SELECT r.name, {EVENT_COLUMNS} FROM events e"
        " JOIN rooms r ON r.id = e.room_id"
        " WHERE e.author = $1 AND e.client_msg_id = $2",
        event.user,
        key,
    )
    if row is None:
        return None
    stored = _event(row[0], tuple(row)[1:])
    if stored.room != event.room:
        raise Conflict(f"client_msg_id {key!r} is already used in another room")
    if not isinstance(stored, type(event)):
        raise Conflict(f"client_msg_id {key!r} is already used for a {stored.type}")
    return Appended(stored, duplicate=True)


async def _stored_in_room(db: DB, event: E) -> Appended[E] | None:
    """Like ``_stored`` for a non-member, who must learn nothing of the room: an id used in
    another room answers as if it were unused, not ``Conflict``."""
    try:
        return await _stored(db, event)
    except Conflict:
        return None


async def _join(
    db: Connection[Record],
    events: list[Event],
    locks: _Locks,
    room: _Room,
    user: str,
    now: int,
    by: str | None,
) -> Joined:
    added = await db.execute(
        "INSERT INTO members (room_id, username, joined_at) VALUES ($1, $2, $3)"
        " ON CONFLICT DO NOTHING",
        room.id,
        user,
        now,
    )
    event = None
    if _count(added):
        locks.roles[(room.id, user)] = RoomRole.MEMBER.value
        joined = MemberJoined(room=room.name, seq=0, ts=now, user=user, by=by)
        event = await _insert(db, events, room, joined)
        # Joining marks everything before the join as read.
        await db.execute(
            "UPDATE members SET read_seq = $1 WHERE room_id = $2 AND username = $3",
            event.seq,
            room.id,
            user,
        )
    info = await _info(db, room.id, user)
    assert info is not None
    return Joined(info, event)


async def _info(db: DB, room_id: int, user: str) -> RoomInfo | None:
    """The room as ``user`` sees it."""
    row = await db.fetchrow(
        "SELECT r.name, r.kind, r.last_seq, m.read_seq, r.room_title, r.room_topic,"
        " r.room_retention_days FROM rooms r"
        " JOIN members m ON m.room_id = r.id WHERE r.id = $1 AND m.username = $2",
        room_id,
        user,
    )
    if row is None:
        return None
    name, kind, last_seq, read_seq, title, topic, retention_days = row
    unread = await db.fetchval(
        "SELECT count(*) FROM (SELECT 1 FROM events WHERE room_id = $1 AND seq > $2"
        " AND type = 'message' AND author <> $3 AND deleted IS NOT TRUE LIMIT $4) AS unread",
        room_id,
        read_seq,
        user,
        UNREAD_CAP,
    )
    if kind == RoomKind.DM:
        unread_mentions = unread  # a direct message is meant for its reader
    else:
        # A delete takes its message's rows from `mentions` and clears its room_mention.
        unread_mentions = await db.fetchval(
            "SELECT count(*) FROM (SELECT seq FROM mentions"
            " WHERE username = $1 AND room_id = $2 AND seq > $3"
            " UNION SELECT seq FROM events WHERE room_id = $2 AND seq > $3 AND room_mention"
            " AND author <> $1 LIMIT $4) AS mentioned",
            user,
            room_id,
            read_seq,
            UNREAD_CAP,
        )
    room_kind = RoomKind(kind)
    return RoomInfo(
        name=name,
        kind=room_kind,
        last_seq=last_seq,
        read_seq=read_seq,
        unread=unread,
        unread_mentions=unread_mentions,
        role=await _role(db, room_id, room_kind, user),
        title=title,
        topic=topic,
        retention_days=retention_days,
    )


def _count(status: str) -> int:
    """The rows a command changed, from its status (``INSERT 0 1``, ``DELETE 3``)."""
    return int(status.rsplit(" ", 1)[-1])


async def _prove_writable(db: Connection[Record], events: list[Event]) -> None:
    """A write that changes nothing: a transaction id is only given where writes are taken
    (not on a read-only server, such as a standby)."""
    await db.fetchval("SELECT txid_current()")


async def _close_quietly(db: Connection[Record]) -> None:
    try:
        await asyncio.wait_for(db.close(), CONNECT_TIMEOUT)
    except DATABASE_ERRORS:
        db.terminate()


def _writer_unavailable() -> Unavailable:
    return Unavailable("storage is unavailable; try again later")
