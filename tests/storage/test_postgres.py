"""What only the PostgreSQL backend has: several nodes on one database, a connection cut by the
server, a database that refuses connections, its URLs and its migration runner. The contract
(``test_contract.py``) runs on it too.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import os
import subprocess
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import aiohttp
import asyncpg
import pg
import pytest
from support import Recorder, config_for, public_room, read_history, running_server

from hubbub.client import Client
from hubbub.core.events import Event, Message
from hubbub.core.models import RoomKind
from hubbub.errors import Forbidden, Unavailable
from hubbub.storage.base import Appended, StorageError
from hubbub.storage.factory import build_storage, check_url, location, migrate
from hubbub.storage.migrations import migrations
from hubbub.storage.postgres import (
    POOL_SIZE,
    READER_NAME,
    WRITER_NAME,
    PostgresStorage,
    parse_url,
)

NOW = 1_764_000_000_000
LATEST = len(migrations("postgresql"))


@pytest.fixture
def url() -> str:
    return pg.fresh_database()


@pytest.fixture
async def store(url: str) -> AsyncIterator[PostgresStorage]:
    async with PostgresStorage(url, restart_delay=0.05) as s:
        await s.create_user("alice", "hash", NOW)
        await s.create_room("team", RoomKind.PUBLIC, "alice", NOW)
        yield s


def message(key: str, room: str = "team", user: str = "alice") -> Message:
    return Message(
        room=room, seq=0, ts=NOW, user=user, msg_id="m-" + key, client_msg_id=key, body=key
    )


async def sql(url: str, query: str, *args: Any) -> list[asyncpg.Record]:
    """``query`` on a connection of its own to the database at ``url``."""
    db = await asyncpg.connect(url)
    try:
        return await db.fetch(query, *args)
    finally:
        await db.close()


async def cut(url: str, application: str) -> int:
    """End the server side of every connection of ``application`` to the test's database, as
    a database restart or a network failure would; how many there were."""
    rows = await sql(
        pg.SERVER,
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
        " WHERE datname = $1 AND application_name = $2",
        url.rsplit("/", 1)[1],
        application,
    )
    return len(rows)


async def writer_waits_for_a_lock(url: str) -> bool:
    rows = await sql(
        url,
        "SELECT 1 FROM pg_stat_activity WHERE datname = current_database()"
        " AND application_name = $1 AND wait_event_type = 'Lock'",
        WRITER_NAME,
    )
    return bool(rows)


async def eventually(check: Callable[[], Awaitable[bool]], timeout: float = 10.0) -> None:
    """Until ``check()`` holds, asking again every few milliseconds, at most ``timeout`` s."""
    async with asyncio.timeout(timeout):
        while not await check():
            await asyncio.sleep(0.01)


async def healthy(store: PostgresStorage) -> bool:
    try:
        await store.check()
    except Unavailable:
        return False
    return True


async def log_of(store: PostgresStorage, room: str) -> list[Event]:
    replay = await store.replay_since(room, 0, 100_000)
    assert replay.events is not None
    return replay.events


# --- several nodes ---------------------------------------------------------------------------


async def test_two_nodes_appending_to_one_room_get_gapless_seqs(url: str) -> None:
    async with PostgresStorage(url) as one, PostgresStorage(url) as two:
        await one.create_user("alice", "h", NOW)
        await two.create_user("bob", "h", NOW)
        await one.create_room("team", RoomKind.PUBLIC, "alice", NOW)
        await two.add_member("team", "bob", NOW, None)  # seq 2
        results: list[Appended[Message]] = []
        for batch in range(15):  # each round both writers contend for the room at once
            writes = []
            for i in range(batch * 10, batch * 10 + 10):
                writes.append(one.append(message(f"a{i}")))
                writes.append(two.append(message(f"b{i}", user="bob")))
            results += await asyncio.gather(*writes)

        seqs = [r.event.seq for r in results]
        assert sorted(seqs) == list(range(3, 303))  # no hole, none twice
        authors = [r.event.user for r in sorted(results, key=lambda r: r.event.seq)]
        # Every round holds both nodes' messages, so the authors change at least once a round.
        assert sum(a != b for a, b in itertools.pairwise(authors)) >= 15
        for author in ("alice", "bob"):  # each node commits in its call order
            mine = [r.event for r in results if r.event.user == author]
            assert [e.seq for e in mine] == sorted(e.seq for e in mine)
        log = await log_of(two, "team")
        assert [e.seq for e in log] == list(range(1, 303))
        assert log[2:] == sorted((r.event for r in results), key=lambda e: e.seq)
        room = await one.get_room("team")
        assert room is not None and room.last_seq == 302


async def test_nodes_writing_rooms_in_opposite_orders_lose_no_write(url: str) -> None:
    """Each node's batches lock two rooms in the other's order: when the server breaks the
    deadlock, the aborted batch runs again, whole and in order."""
    fast = url + "?deadlock_timeout=10ms"  # a server setting: deadlocks are found at once
    async with PostgresStorage(fast) as one, PostgresStorage(fast) as two:
        await one.create_user("alice", "h", NOW)
        for room in ("red", "blue"):
            await one.create_room(room, RoomKind.PUBLIC, "alice", NOW)
        writes = []
        for i in range(100):
            writes += [one.append(message(f"1r{i}", "red")), one.append(message(f"1b{i}", "blue"))]
            writes += [two.append(message(f"2b{i}", "blue")), two.append(message(f"2r{i}", "red"))]
        results: list[Appended[Message]] = await asyncio.gather(*writes)
        for room in ("red", "blue"):
            seqs = [r.event.seq for r in results if r.event.room == room]
            assert sorted(seqs) == list(range(2, 202))
            assert [e.seq for e in await log_of(one, room)] == list(range(1, 202))
        for node in ("1", "2"):
            mine = [r.event.seq for r in results if r.event.body.startswith(node + "r")]
            assert mine == sorted(mine)


async def test_a_member_removed_on_another_node_meanwhile_cannot_post(
    store: PostgresStorage, url: str
) -> None:
    """The author is checked after the room's lock is taken, so a removal that another node
    committed while this one waited for the lock is seen."""
    await store.create_user("bob", "h", NOW)
    await store.add_member("team", "bob", NOW, None)
    other = await asyncpg.connect(url)  # another node's writer, in the middle of a removal
    try:
        async with other.transaction():
            await other.execute("SELECT 1 FROM rooms WHERE name = 'team' FOR NO KEY UPDATE")
            await other.execute("DELETE FROM members WHERE username = 'bob'")
            late = store.append(message("late", user="bob"))

            await eventually(lambda: writer_waits_for_a_lock(url))
    finally:
        await other.close()
    with pytest.raises(Forbidden):
        await late
    assert await store.members("team") == ["alice"]


async def test_nodes_opening_one_database_at_once_migrate_it_once(url: str) -> None:
    async with PostgresStorage(url) as one, PostgresStorage(url) as two:
        del one, two
    rows = await sql(url, "SELECT version FROM schema_migrations ORDER BY version")
    assert [r[0] for r in rows] == list(range(1, LATEST + 1))


# --- failures -------------------------------------------------------------------------------


async def test_a_writer_connection_cut_in_a_batch_fails_it_and_the_writer_recovers(
    store: PostgresStorage, url: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, "hubbub.storage.postgres")
    before = await store.append(message("before"))
    other = await asyncpg.connect(url)  # holds the room, so the batch waits in its middle
    try:
        async with other.transaction():
            await other.execute("SELECT 1 FROM rooms WHERE name = 'team' FOR NO KEY UPDATE")
            pending = [store.append(message(f"cut-{i}")) for i in range(20)]
            await eventually(lambda: writer_waits_for_a_lock(url))
            assert await cut(url, WRITER_NAME) == 1
            results = await asyncio.wait_for(asyncio.gather(*pending, return_exceptions=True), 10)
    finally:
        await other.close()
    assert all(isinstance(r, Unavailable) for r in results), results
    lost = [r for r in caplog.records if r.levelno == logging.CRITICAL]
    assert ["writer lost the database" in r.getMessage() for r in lost] == [True]

    await eventually(lambda: healthy(store))  # it reconnected by itself
    retried = await asyncio.gather(*(store.append(message(f"cut-{i}")) for i in range(20)))
    assert not any(r.duplicate for r in retried)  # nothing of the cut batch was committed
    log = await log_of(store, "team")
    assert log[1] == before.event
    assert log[2:] == [r.event for r in retried]
    assert [e.seq for e in log] == list(range(1, 23))


async def test_writes_resolve_and_stay_through_repeated_cuts(
    store: PostgresStorage, url: str
) -> None:
    """Cuts landing in a batch or between batches: every write either fails or is stored."""
    pending: list[asyncio.Future[Appended[Message]]] = []
    keys = [f"r{round_}-{i}" for round_ in range(6) for i in range(40)]
    for round_ in range(6):
        pending += [
            asyncio.ensure_future(store.append(message(k)))
            for k in keys
            if k.startswith(f"r{round_}-")
        ]
        await asyncio.sleep(0)  # the writer takes some
        assert await cut(url, WRITER_NAME) == 1
        await eventually(lambda: healthy(store))
    results = await asyncio.wait_for(asyncio.gather(*pending, return_exceptions=True), 30)
    assert all(isinstance(r, Appended | Unavailable) for r in results), results
    log = await log_of(store, "team")
    assert [e.seq for e in log] == list(range(1, len(log) + 1))
    stored = {e.client_msg_id: e for e in log if isinstance(e, Message)}
    for result in results:  # everything acknowledged is there
        if isinstance(result, Appended):
            assert stored[result.event.client_msg_id] == result.event
    # A retry of what failed stores it, or finds it stored by a batch that a cut ended after
    # its commit.
    retried = await asyncio.gather(*(store.append(message(k)) for k in keys))
    assert [r.event.client_msg_id for r in retried] == keys
    log = await log_of(store, "team")
    assert sorted(e.client_msg_id or "" for e in log if isinstance(e, Message)) == sorted(keys)


async def test_a_database_refusing_connections_makes_storage_unavailable_until_it_returns(
    store: PostgresStorage, url: str
) -> None:
    name = url.rsplit("/", 1)[1]
    assert await store.password_hash("alice") == "hash"
    await sql(pg.SERVER, f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false')
    try:
        assert await cut(url, WRITER_NAME) == 1
        assert await cut(url, READER_NAME) >= 1
        # Every call resolves, with `unavailable`, while the database is away.
        calls: list[Callable[[], Awaitable[Any]]] = [
            lambda: store.append(message("while-away")),
            lambda: store.create_user("bob", "h", NOW),
            lambda: store.password_hash("alice"),
            lambda: store.history("team", None, None, 10),
            store.check,
        ]
        for _ in range(3):
            for call in calls:
                with pytest.raises(Unavailable):
                    await asyncio.wait_for(call(), 10)
        refused = store.create_user("carol", "h", NOW)  # the writer is down: failed at once
        assert isinstance(refused, asyncio.Future) and refused.done()
        with pytest.raises(Unavailable):
            await refused
    finally:
        await sql(pg.SERVER, f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true')
    await eventually(lambda: healthy(store))
    await store.create_user("bob", "h", NOW)
    assert await store.password_hash("bob") == "h"
    assert await store.password_hash("alice") == "hash"


async def test_close_returns_while_the_writer_is_down(url: str) -> None:
    name = url.rsplit("/", 1)[1]
    store = PostgresStorage(url, restart_delay=60)
    async with store:
        await store.create_user("alice", "h", NOW)
        await sql(pg.SERVER, f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false')
        try:
            await cut(url, WRITER_NAME)
            with pytest.raises(Unavailable):
                await asyncio.wait_for(store.create_user("bob", "h", NOW), 10)
            await asyncio.wait_for(store.close(), 10)  # not after the 60 s reconnect delay
        finally:
            await sql(pg.SERVER, f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true')
    with pytest.raises(Unavailable):
        await store.check()


async def test_an_idle_connection_cut_costs_no_write(store: PostgresStorage, url: str) -> None:
    await store.password_hash("alice")
    assert await cut(url, WRITER_NAME) == 1
    assert await cut(url, READER_NAME) >= 1
    sink = Recorder()
    store.on_events = sink
    stored = await store.append(message("after the cut"))  # on a fresh connection
    assert stored.event.seq == 2 and sink.events == [stored.event]
    with contextlib.suppress(Unavailable):  # a read may meet the cut connection once
        await store.password_hash("alice")
    assert await store.password_hash("alice") == "hash"


async def test_a_server_that_cannot_be_reached_is_a_storage_error_without_the_password() -> None:
    store = build_storage("postgresql://hubbub:secret@127.0.0.1:1/hubbub")
    with pytest.raises(StorageError) as refused:
        await store.open()
    assert "postgresql://hubbub@127.0.0.1:1/hubbub" in str(refused.value)
    assert "secret" not in str(refused.value)


# --- in the server ---------------------------------------------------------------------------


async def test_a_server_on_postgresql_stores_and_serves_messages(url: str, tmp_path: Path) -> None:
    config = config_for(tmp_path / "data", storage_url=url)
    async with running_server(config) as server, aiohttp.ClientSession() as http:
        alice, bob = await public_room(http, server.url, "team", ["alice", "bob"])
        async with Client(server.url, token=bob) as client:
            await client.send("team", "hello from postgresql", client_msg_id="c-1")
        events = await read_history(http, server.url, alice, "team")
        assert [(e["type"], e["seq"]) for e in events] == [
            ("member_joined", 1),
            ("member_joined", 2),
            ("message", 3),
        ]
        assert events[2]["body"] == "hello from postgresql"
        async with http.get(server.url + "/healthz") as response:
            assert response.status == 200


def test_hubbub_migrate_names_the_database_without_its_password(url: str, tmp_path: Path) -> None:
    user = pg.run(lambda: sql(url, "SELECT current_user"))[0][0]
    parts = urlsplit(url)
    secret_url = f"postgresql://{user}:secret@{parts.netloc.rpartition('@')[2]}{parts.path}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("HUBBUB_")}
    env["HUBBUB_STORAGE_URL"] = secret_url  # trust authentication: any password will do
    for _ in range(2):  # the second run finds nothing to do and says the same
        result = subprocess.run(
            [sys.executable, "-m", "hubbub", "migrate", "--data-dir", str(tmp_path / "data")],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert result.returncode == 0, result.stderr
        where = location(secret_url)
        assert result.stdout.strip() == f"hubbub: {where} is at schema version {LATEST}"
        assert "secret" not in result.stdout + result.stderr


# --- URLs -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url, where",
    [
        (
            "postgresql://hubbub:secret@db.example.org/chat",
            "postgresql://hubbub@db.example.org/chat",
        ),
        (
            "postgres://hubbub:s%40cret@db:6432/chat?sslmode=require",
            "postgresql://hubbub@db:6432/chat",
        ),
        ("postgresql://[::1]:5432/chat?password=secret", "postgresql://[::1]:5432/chat"),
        ("postgresql:///chat", "postgresql:///chat"),
    ],
)
def test_location_never_shows_a_password(url: str, where: str) -> None:
    check_url(url)
    assert location(url) == where
    assert isinstance(build_storage(url), PostgresStorage)


def test_pool_size_is_hubbubs_and_the_rest_goes_to_the_server() -> None:
    settings = parse_url("postgresql://u:p@db/chat?sslmode=require&pool_size=9")
    assert settings.pool_size == 9
    assert settings.dsn == "postgresql://u:p@db/chat?sslmode=require"
    assert parse_url("postgres://db/chat").pool_size == POOL_SIZE


# --- migrations -------------------------------------------------------------------------------


def test_migrate_applies_each_migration_once(url: str) -> None:
    assert migrate(url) == LATEST
    assert migrate(url) == LATEST  # nothing left to do
    rows = pg.run(lambda: sql(url, "SELECT version FROM schema_migrations ORDER BY version"))
    assert [r[0] for r in rows] == list(range(1, LATEST + 1))


def test_a_migration_that_fails_leaves_nothing_behind(url: str) -> None:
    pg.run(lambda: sql(url, "CREATE TABLE events (x INTEGER)"))  # 0001 fails on this
    with pytest.raises(StorageError, match='relation "events" already exists'):
        migrate(url)
    rows = pg.run(
        lambda: sql(url, "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1")
    )
    assert [r[0] for r in rows] == ["events", "schema_migrations"]
    assert pg.run(lambda: sql(url, "SELECT * FROM schema_migrations")) == []


async def test_a_database_newer_than_this_code_is_refused(url: str) -> None:
    async with PostgresStorage(url):
        pass
    await sql(url, "INSERT INTO schema_migrations (version) VALUES ($1)", LATEST + 1)
    with pytest.raises(StorageError) as refused:
        await PostgresStorage(url).open()
    assert str(refused.value) == (
        f"cannot use the database {location(url)!r}: its schema version {LATEST + 1}"
        f" is newer than this hubbub knows ({LATEST})"
    )
