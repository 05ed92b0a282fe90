"""SQLite's search index: a file of its own, kept up to date by a thread of its own.

The trigram index (FTS5) costs more to write than the message itself: in the writer's
transaction it took about two thirds of the writer's time per message. So the writer only
appends; this thread follows the database and indexes what was committed, in transactions of
its own on its own file (one SQLite file takes one writer at a time), in parallel with the
writer. What it follows: every message row above the highest ``pos`` it has indexed, and
``search_changes``, where triggers in the database note each message whose body changed or
went (edits, deletes, retention): such a row is taken out of the index and put back as it
is now.

The index is a cache of the database, rebuilt from it when missing, unreadable or ahead of
it (a database restored from an older backup). It keeps the bodies it indexes (an index
without them could not take a row out once its body changed). Searches wait for the index to
reach what was committed when they began (``caught_up``), so a search finds every message
acknowledged before it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
import threading
import time
from pathlib import Path

log = logging.getLogger(__name__)

CHUNK = 5000  # rows indexed per transaction while catching up
# Seconds between the starts of two of the thread's transactions, unless a search waits: at
# a high rate of messages one transaction indexes many, not one each. A transaction costs
# about 0.4 ms of CPU besides its rows, and a search never waits for this interval.
MIN_INTERVAL = 0.25
ATTACHED = "search"  # the index's schema name on the connections that search
SCHEMA = """
CREATE VIRTUAL TABLE IF NOT EXISTS message_search USING fts5 (body, tokenize = 'trigram');
CREATE TABLE IF NOT EXISTS indexed (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    pos INTEGER NOT NULL,     -- every message row up to here is indexed
    change INTEGER NOT NULL   -- every search_changes row up to here is applied
);
INSERT OR IGNORE INTO indexed VALUES (1, 0, 0);
"""


# The live messages of the database with ``pos`` in (?, ?], into the index.
INDEX_ROWS = (
    "INSERT INTO message_search (rowid, body) SELECT pos, body FROM log.events"
    " WHERE pos > ? AND pos <= ? AND type = 'message' AND deleted IS NOT 1"
)

# The last search_changes row written (0 if none), whether or not it was deleted since.
LAST_CHANGE = "(SELECT coalesce(max(seq), 0) FROM {}sqlite_sequence WHERE name = 'search_changes')"


def index_path(database: Path) -> Path:
    """The index file beside the database: ``hubbub.sqlite3`` → ``hubbub-search.sqlite3``."""
    return database.with_name(f"{database.stem}-search{database.suffix}")


def attach(db: sqlite3.Connection, database: Path) -> None:
    """Make the index of ``database`` readable on ``db`` as ``search.message_search``."""
    uri = index_path(database).absolute().as_uri() + "?mode=ro"
    db.execute(f"ATTACH DATABASE ? AS {ATTACHED}", (uri,))


class SearchIndex:
    """The indexing thread, and the event loop's view of how far it got."""

    def __init__(self, database: Path) -> None:
        self.database = database
        self.path = index_path(database)
        self._wake = threading.Event()  # something was committed
        self._wanted = threading.Event()  # a search waits: index at once
        self._stop = False
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._reached = (0, 0)  # (pos, change) indexed, as the loop last heard
        self._waiters: list[tuple[int, int, asyncio.Future[None]]] = []

    # --- lifecycle (on the event loop) ---------------------------------------------------------

    async def open(self) -> None:
        """Open or create the index (rebuilt if it does not belong to the database), then
        start following the database."""
        self._loop = asyncio.get_running_loop()
        db = await asyncio.to_thread(self._open)
        self._stop = False
        self._thread = threading.Thread(
            target=self._run, args=(db,), name="hubbub-sqlite-search", daemon=True
        )
        self._thread.start()

    async def close(self) -> None:
        if self._thread is None:
            return
        self._stop = True
        self._wanted.set()
        self._wake.set()
        await asyncio.to_thread(self._thread.join)
        self._thread = None
        for *_, waiter in self._waiters:
            if not waiter.done():
                waiter.cancel()
        self._waiters.clear()

    @property
    def applied_changes(self) -> int:
        """The last ``search_changes`` row the index has applied (older ones may go)."""
        return self._reached[1]

    def committed(self) -> None:
        """Something was committed and its events handed out: look for work. Called once
        the event loop has written the fan-out's frames, so that indexing does not take the
        interpreter from the delivery of what it indexes."""
        self._wake.set()

    async def caught_up(self, pos: int, change: int, timeout: float) -> bool:
        """Wait until the index holds every message up to ``pos`` and every change up to
        ``change``; False if ``timeout`` seconds pass first."""
        if self._reached[0] >= pos and self._reached[1] >= change:
            return True
        assert self._loop is not None, "the index is not open"
        waiter = self._loop.create_future()
        self._waiters.append((pos, change, waiter))
        self._wanted.set()
        self._wake.set()
        try:
            await asyncio.wait_for(asyncio.shield(waiter), timeout)
        except TimeoutError:
            return False
        finally:
            self._waiters = [w for w in self._waiters if w[2] is not waiter]
        return True

    def _heard(self, reached: tuple[int, int]) -> None:
        """On the loop: the thread got this far."""
        self._reached = reached
        pos, change = reached
        for want_pos, want_change, waiter in self._waiters:
            if want_pos <= pos and want_change <= change and not waiter.done():
                waiter.set_result(None)

    # --- the thread ----------------------------------------------------------------------------

    def _open(self) -> sqlite3.Connection:
        try:
            db = self._connect()
            if self._belongs(db):
                return db
            db.close()
        except sqlite3.DatabaseError as exc:
            log.warning("rebuilding the search index %s: %s", self.path, exc)
        for suffix in ("", "-wal", "-shm"):
            self.path.with_name(self.path.name + suffix).unlink(missing_ok=True)
        return self._connect()

    def _connect(self) -> sqlite3.Connection:
        uri = self.path.absolute().as_uri()  # a URI, so that ATTACH takes one too
        db = sqlite3.connect(uri, uri=True, isolation_level=None, check_same_thread=False)
        try:
            db.execute("PRAGMA journal_mode=WAL")
            # A cache of the database: a commit lost with the power is indexed again.
            db.execute("PRAGMA synchronous=NORMAL")
            db.executescript(SCHEMA)
            if sqlite3.sqlite_version_info >= (3, 44, 0):
                # A body taken out is erased from the index at once, not at a later merge.
                db.execute(
                    "INSERT INTO message_search (message_search, rank) VALUES ('secure-delete', 1)"
                )
            log_uri = self.database.absolute().as_uri() + "?mode=ro"
            db.execute("ATTACH DATABASE ? AS log", (log_uri,))
        except BaseException:
            db.close()
            raise
        return db

    @staticmethod
    def _belongs(db: sqlite3.Connection) -> bool:
        """The index is not ahead of the database (else the database is older: restored)."""
        pos, change = db.execute("SELECT pos, change FROM indexed").fetchone()
        (top,) = db.execute("SELECT coalesce(max(pos), 0) FROM log.events").fetchone()
        (last,) = db.execute("SELECT " + LAST_CHANGE.format("log.")).fetchone()
        return bool(pos <= top and change <= last)

    def _run(self, db: sqlite3.Connection) -> None:
        failing = False  # logged once until a step succeeds
        try:
            while not self._stop:
                started = time.monotonic()
                try:
                    reached, more = self._step(db)
                except sqlite3.Error as exc:  # the database busy or failing: later
                    if not failing:
                        log.warning("the search index cannot follow the database: %s", exc)
                    failing = True
                    self._wake.wait(1.0)
                    self._wake.clear()
                    continue
                if failing:
                    log.info("the search index follows the database again")
                    failing = False
                assert self._loop is not None
                with contextlib.suppress(RuntimeError):  # the loop closed under us
                    self._loop.call_soon_threadsafe(self._heard, reached)
                if not more:
                    self._wait(started)
        finally:
            db.close()

    def _wait(self, started: float) -> None:
        """Until there is work: something committed, and either a search waits or
        ``MIN_INTERVAL`` passed since ``started``. A transaction then starts once the next
        commit's fan-out is written (or after another ``MIN_INTERVAL`` of quiet), not in the
        middle of a fan-out."""
        self._wake.wait()
        if not self._wanted.wait(started + MIN_INTERVAL - time.monotonic()):
            self._wake.clear()
            if not self._wanted.is_set():  # set before the wake: a search is not missed
                self._wake.wait(MIN_INTERVAL)
        self._wanted.clear()
        self._wake.clear()

    @staticmethod
    def _step(db: sqlite3.Connection) -> tuple[tuple[int, int], bool]:
        """One transaction: apply the changes noted since the last one, then index up to
        ``CHUNK`` new message rows. What it reached, and whether more is waiting."""
        db.execute("BEGIN IMMEDIATE")
        try:
            pos, change = db.execute("SELECT pos, change FROM indexed").fetchone()
            changes = db.execute(
                "SELECT id, pos FROM log.search_changes WHERE id > ? ORDER BY id LIMIT ?",
                (change, CHUNK),
            ).fetchall()
            for changed in sorted({p for _, p in changes if p <= pos}):
                db.execute("DELETE FROM message_search WHERE rowid = ?", (changed,))
                db.execute(INDEX_ROWS, (changed - 1, changed))  # as it is now, if it is
            if changes:
                change = changes[-1][0]
            (top,) = db.execute("SELECT coalesce(max(pos), 0) FROM log.events").fetchone()
            upto = min(top, pos + CHUNK)
            if upto > pos:
                db.execute(INDEX_ROWS, (pos, upto))
                pos = upto
            db.execute("UPDATE indexed SET pos = ?, change = ?", (pos, change))
            db.execute("COMMIT")
        except BaseException:
            if db.in_transaction:
                db.execute("ROLLBACK")
            raise
        return (pos, change), upto < top or len(changes) == CHUNK
