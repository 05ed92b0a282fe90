"""Moving up: ``hubbub migrate-to`` copies an SQLite deployment into PostgreSQL.

A deployment with every kind of data is built through a real server and the storage API,
copied by the command in a subprocess, and then both databases are read through the storage
interface and must answer alike; a server on the copy takes its users and goes on numbering.
"""

from __future__ import annotations

import asyncio
import os
import sqlite3
import subprocess
import sys
from collections.abc import Sequence
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg
import pg
import pytest
from support import (
    PASSWORD,
    ServerProcess,
    call_api,
    config_for,
    register,
    running_server,
)

from hubbub.auth.tokens import new_token, token_hash
from hubbub.core.events import (
    EventType,
    MemberBanned,
    MemberKicked,
    MemberMuted,
    MemberUnbanned,
    MemberUnmuted,
    Message,
    MessageDeleted,
    MessageEdited,
    ReactionAdded,
    ReactionRemoved,
    Role,
    RoleChanged,
    RoomChanged,
)
from hubbub.core.models import RoomKind, dm_room_name, guest_author
from hubbub.service.actions import wall_clock_ms
from hubbub.storage.base import Storage
from hubbub.storage.factory import build_storage, migrate, sqlite_url
from hubbub.storage.transfer import BATCH, NOT_COPIED, TABLES

USERS = ("alice", "bob", "carol", "dave")
READERS = (None, *USERS)
UP, TADA = "\N{THUMBS UP SIGN}", "\N{PARTY POPPER}"
DM = dm_room_name("alice", "carol")


@dataclass
class Deployment:
    data_dir: Path
    rooms: list[str]
    tokens: dict[str, list[str]] = field(default_factory=dict)  # unexpired, per user
    expired: list[tuple[str, int]] = field(default_factory=list)  # with when it expired
    threads: list[tuple[str, int]] = field(default_factory=list)  # (room, root)

    @property
    def database(self) -> Path:
        return self.data_dir / "hubbub.sqlite3"


def message(
    room: str,
    author: str,
    body: str,
    client_msg_id: str | None,
    reply_to: int | None = None,
    mentions: tuple[str, ...] = (),
    room_mention: bool = False,
) -> Message:
    return Message(
        room=room,
        seq=0,
        ts=wall_clock_ms(),
        user=author,
        msg_id=f"m-{author}-{client_msg_id or body}",
        client_msg_id=client_msg_id,
        body=body,
        reply_to=reply_to,
        mentions=mentions,
        room_mention=room_mention,
    )


async def build(data_dir: Path, busy: int = 0) -> Deployment:
    """Accounts and sessions through a real server (argon2 hashes, tokens), the rest through
    its storage: rooms of every kind, roles, read markers and events of every kind."""
    rooms = ["general", "secret", DM, "lobby"] + (["busy"] if busy else [])
    deployment = Deployment(data_dir, rooms)
    async with (
        running_server(config_for(data_dir)) as server,
        aiohttp.ClientSession() as http,
    ):
        for user in USERS:
            deployment.tokens[user] = [await register(http, server.url, user)]
        login = await call_api(
            http,
            "POST",
            f"{server.url}/api/v1/login",
            json={"username": "alice", "password": PASSWORD},
        )
        assert login.status == 200, login.body
        deployment.tokens["alice"].append(login.body["token"])
        store = server.node.storage
        now = wall_clock_ms()
        expired = new_token()
        await store.create_token(token_hash(expired), "dave", now - 10_000, now - 5_000)
        deployment.expired.append((expired, now - 5_000))

        await public_room_with_everything(store, deployment, now)
        await store.create_room("secret", RoomKind.PRIVATE, "bob", now)
        await store.add_member("secret", "alice", now, "bob")
        await store.append(message("secret", "alice", "psst @bob", "s1", mentions=("bob",)))
        await store.mark_read("secret", "bob", 1)
        await store.open_dm(DM, ("alice", "carol"), "alice", now)
        hi = (await store.append(message(DM, "carol", "hi", "d1"))).event
        await store.append(message(DM, "alice", "hello back", "d2", reply_to=hi.seq))
        deployment.threads.append((DM, hi.seq))
        await store.ensure_room("lobby", RoomKind.PUBLIC, now)
        for n in range(2):  # the seed's guests: no client_msg_id, no membership
            guest = message("lobby", guest_author("zed"), f"guest line {n}", None)
            await store.append(guest, require_member=False)
        await store.add_member("lobby", "bob", now, None)
        await store.append(message("lobby", "bob", "hi guests", "l1"))
        if busy:
            await store.create_room("busy", RoomKind.PUBLIC, "carol", now)
            await asyncio.gather(
                *(store.append(message("busy", "carol", f"n{n}", f"busy-{n}")) for n in range(busy))
            )
    return deployment


async def public_room_with_everything(store: Storage, deployment: Deployment, now: int) -> None:
    room = "general"
    await store.create_room(room, RoomKind.PUBLIC, "alice", now)
    await store.add_member(room, "bob", now, None)
    await store.add_member(room, "carol", now, None)
    await store.add_member(room, "dave", now, "alice")
    await store.set_role(
        RoleChanged(room=room, seq=0, ts=now, user="alice", member="bob", role=Role.ADMIN)
    )
    first = (await store.append(message(room, "alice", "hi @bob", "a1", mentions=("bob",)))).event
    everyone = message(room, "bob", "@room look", "b1", room_mention=True)
    announcement = (await store.append(everyone)).event
    reply = message(room, "carol", "yes @alice", "c1", reply_to=first.seq, mentions=("alice",))
    answer = (await store.append(reply)).event
    nested = (await store.append(message(room, "bob", "me too", "b2", reply_to=answer.seq))).event
    await store.append(message(room, "dave", "a plain one", "d1"))
    await store.append(message(room, "alice", "@room meeting", "a2", room_mention=True))
    deployment.threads.append((room, first.seq))
    await store.edit_message(
        MessageEdited(
            room=room,
            seq=0,
            ts=now + 1,
            user="alice",
            target=first.seq,
            body="hi @carol",
            mentions=("carol",),
        )
    )
    await store.delete_message(
        MessageDeleted(room=room, seq=0, ts=now + 2, user="bob", target=announcement.seq)
    )
    for user, emoji in (("bob", UP), ("carol", UP), ("carol", TADA), ("dave", TADA)):
        await store.react(
            ReactionAdded(room=room, seq=0, ts=now, user=user, target=first.seq, emoji=emoji)
        )
    await store.react(
        ReactionRemoved(room=room, seq=0, ts=now, user="carol", target=first.seq, emoji=TADA)
    )
    await store.react(
        ReactionAdded(room=room, seq=0, ts=now, user="alice", target=answer.seq, emoji=UP)
    )
    await store.delete_message(  # the owner deletes a reply: its thread counts it off
        MessageDeleted(room=room, seq=0, ts=now + 3, user="alice", target=nested.seq)
    )
    await store.append(message(room, "carol", "after all that", "c2"))
    await store.remove_member(room, "dave", now)
    await moderate_everything(store, room, now)
    await store.mark_read(room, "bob", answer.seq)
    await store.mark_read(room, "carol", first.seq)


async def moderate_everything(store: Storage, room: str, now: int) -> None:
    """The admin bob mutes and unmutes carol, then mutes her for an hour; bans and unbans
    dave (who left), who joins again, is kicked and banned; the owner sets a topic: every
    moderation, and its audit log."""
    by_bob: dict[str, Any] = {"room": room, "seq": 0, "ts": now, "by": "bob"}
    changes = (
        MemberMuted(**by_bob, user="carol"),
        MemberUnmuted(**by_bob, user="carol"),
        MemberMuted(**by_bob, user="carol", until=now + 3_600_000),
        MemberBanned(**by_bob, user="dave", reason="spam"),
        MemberUnbanned(**by_bob, user="dave"),
        None,  # dave joins again
        MemberKicked(**by_bob, user="dave"),
        MemberBanned(**by_bob, user="dave"),
        RoomChanged(room=room, seq=0, ts=now, user="alice", topic="all about it"),
    )
    for change in changes:
        if change is None:
            await store.add_member(room, "dave", now, None)
        else:
            assert await store.moderate(change) is not None


# --- running the command ------------------------------------------------------------------


def hubbub(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """``python -m hubbub`` with ``args``, no ``HUBBUB_*`` setting of this environment."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("HUBBUB_")}
    return subprocess.run(
        [sys.executable, "-m", "hubbub", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def migrate_to(target: str, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return hubbub("migrate-to", target, *args, cwd=cwd)


def one_line_error(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 2, (result.returncode, result.stdout, result.stderr)
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("hubbub: error: "), lines[0]
    assert result.stdout == ""
    return lines[0]


def summary(output: str) -> dict[str, int]:
    """The counts per table that the command prints."""
    counts = {}
    for line in output.splitlines()[1:]:
        table, count = line.split()
        counts[table] = int(count)
    return counts


def sqlite_counts(path: Path) -> dict[str, int]:
    with closing(sqlite3.connect(path)) as db:
        return {t: db.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in TABLES}


def postgres_tables(url: str) -> dict[str, int]:
    """Each table of the database and its number of rows."""

    async def count() -> dict[str, int]:
        db = await asyncpg.connect(url)
        try:
            names = await db.fetch(
                "SELECT table_name FROM information_schema.tables"
                " WHERE table_schema = current_schema()"
            )
            return {n: await db.fetchval(f"SELECT count(*) FROM {n}") for (n,) in names}
        finally:
            await db.close()

    return pg.run(count)


# --- comparing the two ----------------------------------------------------------------------


async def history_pages(store: Storage, room: str, reader: str | None, limit: int) -> list[Any]:
    """Every page of the room's history, newest first, as ``reader`` reads them."""
    pages = []
    before = None
    while True:
        page = await store.history(room, before, None, limit, reader)
        pages.append(page)
        if not page.has_more:
            return pages
        before = page.events[0].seq


async def assert_alike(old: Storage, new: Storage, deployment: Deployment) -> None:
    now = wall_clock_ms()
    assert await new.public_rooms() == await old.public_rooms()
    for room in deployment.rooms:
        assert await new.get_room(room) == await old.get_room(room)
        assert await new.members(room) == await old.members(room)
        for reader in READERS:
            replayed = await old.replay_since(room, 0, 1_000_000, reader)
            assert await new.replay_since(room, 0, 1_000_000, reader) == replayed
            assert await new.history(room, None, 3, 5, reader) == await old.history(
                room, None, 3, 5, reader
            )
            for limit in (7, 500):
                assert await history_pages(new, room, reader, limit) == await history_pages(
                    old, room, reader, limit
                )
    for room, root in deployment.threads:
        for reader in READERS:
            assert await new.thread(room, root, None, 50, reader) == await old.thread(
                room, root, None, 50, reader
            )
    for user in USERS:
        assert await new.user_rooms(user) == await old.user_rooms(user)
        hashed = await old.password_hash(user)
        assert hashed is not None and hashed.startswith("$argon2id$")
        assert await new.password_hash(user) == hashed
        assert await new.is_admin(user) == await old.is_admin(user)  # the server's role too
        for token in deployment.tokens[user]:
            assert await old.user_for_token(token_hash(token), now) == user
            assert await new.user_for_token(token_hash(token), now) == user
    assert [await new.is_admin(user) for user in USERS].count(True) == 1
    audit = await old.audit(None, 100)
    assert len(audit) == 9  # the moderations, and alice's delete of carol's reply
    assert await new.audit(None, 100) == audit
    assert await new.audit(audit[3].id, 2) == audit[4:6]
    assert await new.is_banned("general", "dave") and not await new.is_banned("general", "carol")
    for token, expires_at in deployment.expired:
        assert await new.user_for_token(token_hash(token), expires_at - 1) == "dave"
        assert await new.user_for_token(token_hash(token), now) is None


async def assert_the_data_is_all_there(store: Storage) -> None:
    """The deployment has what it should, so comparing it compares something."""
    general = await store.replay_since("general", 0, 1000, "bob")
    assert general.events is not None
    assert {e.type for e in general.events} == set(EventType)
    messages = [e for e in general.events if isinstance(e, Message)]
    assert any(m.deleted and m.body == "" for m in messages)
    assert any(m.edited_at is not None for m in messages)
    assert any(m.reactions for m in messages) and any(m.quote for m in messages)
    assert any(m.replies for m in messages) and any(m.room_mention for m in messages)
    infos = {info.name: info for info in await store.user_rooms("bob")}
    assert infos["general"].role == "admin"
    assert infos["general"].unread_mentions > 0 and infos["general"].unread > 0
    lobby = await store.replay_since("lobby", 0, 1000)
    assert lobby.events is not None
    guests = [e for e in lobby.events if isinstance(e, Message) and e.client_msg_id is None]
    assert len(guests) == 2
    busy = await store.get_room("busy")
    assert busy is not None and busy.last_seq > BATCH  # more than one batch of COPY


# --- tests ----------------------------------------------------------------------------------


async def test_migrate_to_copies_everything_and_a_server_goes_on_from_it(tmp_path: Path) -> None:
    target = pg.fresh_database()
    deployment = await build(tmp_path / "data", busy=BATCH + 200)
    moved = migrate_to(target, "--data-dir", str(deployment.data_dir), cwd=tmp_path)
    assert moved.returncode == 0, moved.stderr
    assert moved.stderr == ""
    assert moved.stdout.splitlines()[0].startswith(f"hubbub: copied {deployment.database} to ")
    assert summary(moved.stdout) == sqlite_counts(deployment.database)

    async with (
        build_storage(sqlite_url(deployment.database)) as old,
        build_storage(target) as new,
    ):
        await assert_the_data_is_all_there(old)
        await assert_alike(old, new, deployment)
        # Not copied, the search index is PostgreSQL's own, and it finds the same messages.
        assert (await new.search("alice", "psst", None, None, 5)).found
        for user in USERS:
            for query in ("psst", "hello back", "line", "n10"):
                assert await new.search(user, query, None, None, 50) == await old.search(
                    user, query, None, None, 50
                )
        general = await new.get_room("general")
        busy = await new.get_room("busy")
    assert general is not None and busy is not None

    server = ServerProcess(tmp_path / "on-postgres", storage_url=target)
    server.start()
    try:
        async with aiohttp.ClientSession() as http:
            signed_in = await call_api(
                http,
                "POST",
                f"{server.url}/api/v1/login",
                json={"username": "alice", "password": PASSWORD},
            )
            assert signed_in.status == 200, signed_in.body
            token = signed_in.body["token"]
            old_token = deployment.tokens["bob"][0]
            rooms = await call_api(http, "GET", f"{server.url}/api/v1/rooms", old_token)
            assert rooms.status == 200
            assert {r["name"] for r in rooms.body["rooms"]} == {"general", "secret", "lobby"}
            sent = []
            for n in range(2):
                reply = await call_api(
                    http,
                    "POST",
                    f"{server.url}/api/v1/rooms/general/messages",
                    token,
                    json={"client_msg_id": f"after-{n}", "body": f"still here {n}"},
                )
                assert reply.status in (200, 201), reply.body
                sent.append(reply.body["seq"])
            assert sent == [general.last_seq + 1, general.last_seq + 2]
            # An id used before the move still names its message: no second copy.
            again = await call_api(
                http,
                "POST",
                f"{server.url}/api/v1/rooms/general/messages",
                token,
                json={"client_msg_id": "a1", "body": "hi @bob"},
            )
            assert ("general", again.body["seq"]) == deployment.threads[0]
            carol = deployment.tokens["carol"][0]
            busy_reply = await call_api(
                http,
                "POST",
                f"{server.url}/api/v1/rooms/busy/messages",
                carol,
                json={"client_msg_id": "busy-after", "body": "on"},
            )
            assert busy_reply.body["seq"] == busy.last_seq + 1
            created = await call_api(  # a new room's id goes on past the copied ones
                http, "POST", f"{server.url}/api/v1/rooms", token, json={"name": "fresh"}
            )
            assert created.status == 201, created.body
        assert server.terminate() == 0
    finally:
        server.stop()

    async with build_storage(target) as new:
        after = await new.replay_since("general", general.last_seq, 1000)
        assert after.events is not None
        assert [e.seq for e in after.events] == sent
        assert after.last_seq == general.last_seq + 2


async def test_a_migrated_empty_target_is_filled_and_one_with_data_is_refused(
    tmp_path: Path,
) -> None:
    target = pg.fresh_database()
    deployment = await build(tmp_path / "data")
    migrated = hubbub("migrate", "--database", target, cwd=tmp_path)
    assert migrated.returncode == 0, migrated.stderr
    schema = postgres_tables(target)
    assert set(schema) == {*TABLES, "schema_migrations"}  # every table is copied
    assert not any(schema[t] for t in TABLES)

    first = migrate_to(target, "--data-dir", str(deployment.data_dir), cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    filled = postgres_tables(target)
    second = migrate_to(target, "--data-dir", str(deployment.data_dir), cwd=tmp_path)
    line = one_line_error(second)
    assert line.endswith("already holds data (in users); migrate-to fills an empty one only")
    assert postgres_tables(target) == filled


def test_every_sqlite_table_is_copied(tmp_path: Path) -> None:
    migrate(sqlite_url(tmp_path / "hubbub.sqlite3"))
    with closing(sqlite3.connect(tmp_path / "hubbub.sqlite3")) as db:
        tables = {
            n
            for (n,) in db.execute("SELECT name FROM sqlite_master WHERE type='table'")
            if not n.startswith("sqlite_")  # SQLite's own (sqlite_sequence)
        }
    # What the search index (a file of its own) follows.
    assert set(NOT_COPIED) <= tables
    assert tables - set(NOT_COPIED) == set(TABLES)


async def test_a_failed_copy_leaves_the_target_as_it_was(tmp_path: Path) -> None:
    target = pg.fresh_database()
    deployment = await build(tmp_path / "data")
    with closing(sqlite3.connect(deployment.database)) as db, db:
        # Text PostgreSQL cannot hold, stored before such text was refused.
        db.execute("UPDATE events SET body = 'a' || char(0) || 'b' WHERE client_msg_id = 'l1'")
    line = one_line_error(migrate_to(target, "--data-dir", str(deployment.data_dir), cwd=tmp_path))
    assert line.startswith("hubbub: error: cannot move to 'postgresql://"), line
    assert postgres_tables(target) == {}  # not even the schema: it was in the transaction


def test_a_running_servers_lock_is_respected(tmp_path: Path) -> None:
    target = pg.fresh_database()
    data = tmp_path / "data"
    server = ServerProcess(data)
    server.start()
    try:
        result = migrate_to(target, "--data-dir", str(data), cwd=tmp_path)
        assert server.proc is not None
        assert one_line_error(result) == (
            f"hubbub: error: data dir {str(data)!r} is in use by another hubbub process"
            f" (pid {server.proc.pid})"
        )
    finally:
        server.stop()
    assert postgres_tables(target) == {}


@pytest.mark.parametrize(
    "target, problem",
    [
        ("mysql://hubbub:secret@db.example.org/hubbub", "the target must be a postgresql://"),
        ("postgresql://hubbub:secret@db.example.org:port/hubbub", "a number for its port"),
        ("postgresql://hubbub:secret@db.example.org/hubbub?pool_size=0", "a pool_size of"),
        ("postgresql://hubbub:secret@127.0.0.1:1/hubbub", "cannot use the database"),
    ],
    ids=["other-engine", "bad-port", "bad-parameter", "unreachable"],
)
def test_a_bad_target_is_one_line_without_its_password(
    tmp_path: Path, target: str, problem: str
) -> None:
    data = tmp_path / "data"
    data.mkdir()
    with closing(sqlite3.connect(data / "hubbub.sqlite3")) as db:
        db.execute("PRAGMA user_version = 0")  # an empty database, brought up to date
    line = one_line_error(migrate_to(target, "--data-dir", str(data), cwd=tmp_path))
    assert problem in line
    assert "secret" not in line


@pytest.mark.parametrize(
    "args, problem",
    [
        ([], "there is no database at"),
        (
            ["--database", "postgresql://hubbub:secret@db.example.org/hubbub"],
            "migrate-to moves an SQLite database, and the storage configured is"
            " postgresql://hubbub@db.example.org/hubbub",
        ),
    ],
    ids=["no-database", "not-sqlite"],
)
def test_a_source_that_cannot_be_moved_is_one_line(
    tmp_path: Path, args: Sequence[str], problem: str
) -> None:
    data = tmp_path / "data"
    target = "postgresql://hubbub:secret@db.example.org/target"
    line = one_line_error(migrate_to(target, "--data-dir", str(data), *args, cwd=tmp_path))
    assert problem in line and "secret" not in line
    assert not data.exists()  # refused before anything was touched
