"""``hubbub admin export`` and ``import``: a database as records and back, on either engine."""

from __future__ import annotations

import json
import shutil
import sqlite3
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg
import pg
from admin_support import one_error_line, run_admin
from support import PASSWORD, call_api, config_for, running_server

from hubbub.admin.records import TABLES
from hubbub.storage import transfer


def records(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def exported(tmp_path: Path, *where: str | Path) -> list[dict[str, Any]]:
    """Everything the database at ``where`` holds, as records, without the header."""
    out = tmp_path / f"export-{len(list(tmp_path.iterdir()))}.jsonl"
    result = run_admin("export", out, *where)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("hubbub: exported 3 users, 4 rooms"), result.stdout
    found = records(out)
    assert found[0]["kind"] == "header" and found[0]["format"] == 1
    return found[1:]


async def signed_in_view(data_dir: Path, storage_url: str = "") -> dict[str, Any]:
    """What alice reads of her rooms, signed in with her password, and what a search finds."""
    config = config_for(data_dir, storage_url=storage_url)
    async with running_server(config) as server, aiohttp.ClientSession() as http:
        api = f"{server.url}/api/v1"
        login = await call_api(
            http, "POST", f"{api}/login", None, json={"username": "alice", "password": PASSWORD}
        )
        assert login.status == 200, login.body
        token = login.body["token"]
        view: dict[str, Any] = {}
        for room in ("team", "plan", "dm:alice:bob"):
            reply = await call_api(http, "GET", f"{api}/rooms/{room}/messages", token)
            assert reply.status == 200, reply.body
            view[room] = reply.body["events"]
        found = await call_api(http, "GET", f"{api}/search", token, params={"query": "there"})
        assert found.status == 200, found.body
        view["search"] = found.body
        return view


async def test_a_round_trip_through_sqlite_gives_the_same_records(
    filled: Path, tmp_path: Path
) -> None:
    before = exported(tmp_path, "--data-dir", filled)
    kinds = [record["kind"] for record in before]
    assert kinds[-1] == "end"
    order = [t.kind for t in TABLES] + ["end"]
    assert kinds == sorted(kinds, key=order.index)
    assert {"user", "room", "member", "event", "reaction", "mention", "file"} <= set(kinds)
    assert not any("token" in key for record in before for key in record)
    users = {r["username"]: r for r in before if r["kind"] == "user"}
    assert users["alice"]["role"] == "admin" and users["alice"]["password_hash"].startswith(
        "$argon2id$"
    )
    assert users["bob"]["display_name"] == "Bob B." and users["carol"].get("avatar")
    assert {r["name"]: r["room_kind"] for r in before if r["kind"] == "room"} == {
        "lobby": "public",
        "team": "public",
        "plan": "private",
        "dm:alice:bob": "dm",
    }
    events = [(r["room"], r["seq"]) for r in before if r["kind"] == "event"]
    for room in ("team", "plan", "dm:alice:bob"):
        seqs = [seq for name, seq in events if name == room]
        assert seqs == list(range(1, len(seqs) + 1))
    export = tmp_path / "all.jsonl"
    assert run_admin("export", export, "--data-dir", filled).returncode == 0
    assert export.stat().st_mode & 0o777 == 0o600  # it holds password hashes

    imported = run_admin("import", export, "--data-dir", tmp_path / "copy")
    assert imported.returncode == 0, imported.stderr
    assert exported(tmp_path, "--data-dir", tmp_path / "copy") == before
    shutil.copytree(filled / "files", tmp_path / "copy" / "files")  # blobs are not exported
    assert run_admin("verify", "--data-dir", tmp_path / "copy").returncode == 0
    assert await signed_in_view(tmp_path / "copy") == await signed_in_view(filled)


async def test_a_round_trip_into_postgresql_gives_the_same_records(
    filled: Path, tmp_path: Path, pg_url: str
) -> None:
    export = tmp_path / "all.jsonl"
    assert run_admin("export", export, "--data-dir", filled).returncode == 0
    imported = run_admin("import", "-", "--database", pg_url, stdin=export.read_text())
    assert imported.returncode == 0, imported.stderr
    assert imported.stdout.startswith("hubbub: imported 3 users, 4 rooms")
    assert exported(tmp_path, "--database", pg_url) == records(export)[1:]
    checked = run_admin("verify", "--database", pg_url, "--data-dir", filled)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert await signed_in_view(filled, pg_url) == await signed_in_view(filled)


def test_an_export_to_stdout_streams_the_same_records(filled: Path, tmp_path: Path) -> None:
    result = run_admin("export", "-", "--data-dir", filled)
    assert result.returncode == 0, result.stderr
    assert result.stderr.startswith("hubbub: exported 3 users")  # stdout holds the records
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert lines[1:] == exported(tmp_path, "--data-dir", filled)


def test_import_refuses_a_database_that_holds_data(filled: Path, tmp_path: Path) -> None:
    export = tmp_path / "all.jsonl"
    assert run_admin("export", export, "--data-dir", filled).returncode == 0
    result = run_admin("import", export, "--data-dir", filled)
    assert result.returncode == 1
    assert "already holds data (in users)" in one_error_line(result)
    assert exported(tmp_path, "--data-dir", filled) == records(export)[1:]


def test_a_bad_or_cut_file_imports_nothing(filled: Path, tmp_path: Path) -> None:
    lines = (tmp_path / "all.jsonl", tmp_path / "cut.jsonl", tmp_path / "bad.jsonl")
    assert run_admin("export", lines[0], "--data-dir", filled).returncode == 0
    text = lines[0].read_text().splitlines(keepends=True)
    lines[1].write_text("".join(text[:-1]))
    event = next(i for i, line in enumerate(text) if '"kind":"event"' in line)
    lines[2].write_text("".join(text[:event]) + '{"kind":"event","room":"team"}\n')
    target = tmp_path / "target"
    expected = {
        lines[1]: "the file ends before its end record: it was cut short",
        lines[2]: f"line {event + 1}: Object missing required field `seq`",
    }
    for path, message in expected.items():
        result = run_admin("import", path, "--data-dir", target)
        assert result.returncode == 1
        assert one_error_line(result) == f"hubbub: error: {message}"
        listed = run_admin("users", "--data-dir", target)
        assert listed.stdout.splitlines()[1:] == []  # rolled back: still empty
    not_ours = tmp_path / "other.jsonl"
    not_ours.write_text('{"hello": 1}\n')
    result = run_admin("import", not_ours, "--data-dir", target)
    assert result.returncode == 1
    assert "does not begin with the header" in one_error_line(result)
    missing = run_admin("import", tmp_path / "nowhere.jsonl", "--data-dir", target)
    assert missing.returncode == 2
    assert "cannot read" in one_error_line(missing)


def test_export_refuses_to_overwrite_a_file(filled: Path, tmp_path: Path) -> None:
    taken = tmp_path / "taken.jsonl"
    taken.write_text("mine")
    result = run_admin("export", taken, "--data-dir", filled)
    assert result.returncode == 2
    assert "exists" in one_error_line(result)
    assert taken.read_text() == "mine"


async def test_the_records_name_every_column_of_both_engines(tmp_path: Path, pg_url: str) -> None:
    """A column added to the schema without a field in the export fails here."""
    assert {t.name for t in TABLES} == set(transfer.TABLES) - {"tokens", "account_changes"}
    ids = {"rooms", "audit"}  # their ids are the database's own: not exported
    expected = {t.name: set(t.columns) | ({"id"} if t.name in ids else set()) for t in TABLES}
    made = run_admin("import", "/dev/null", "--database", f"sqlite:{tmp_path}/x.db")
    assert made.returncode == 1  # an empty file: but the database was made and migrated
    db = sqlite3.connect(tmp_path / "x.db")
    sqlite_columns = {
        name: {row[1] for row in db.execute(f"PRAGMA table_info({name})")} for name in expected
    }
    db.close()
    assert sqlite_columns == expected
    assert run_admin("users", "--database", pg_url).returncode == 0  # migrated
    conn = await asyncpg.connect(pg_url, timeout=pg.CONNECT_TIMEOUT)
    try:
        rows = await conn.fetch(
            "SELECT table_name, column_name FROM information_schema.columns"
            " WHERE table_schema = current_schema()"
        )
    finally:
        await conn.close()
    postgres_columns: dict[str, set[str]] = {name: set() for name in expected}
    for table, column in rows:
        if table in postgres_columns:
            postgres_columns[table].add(column)
    assert postgres_columns == expected


async def test_moderation_rows_make_the_round_trip(
    filled: Path, tmp_path: Path, pg_url: str
) -> None:
    """Bans, mutes, the audit log and a topic, as rows (whatever wrote them), go through an
    export into PostgreSQL and come out the same."""
    db = sqlite3.connect(filled / "hubbub.sqlite3")
    with db:
        team = "(SELECT id FROM rooms WHERE name = 'team')"
        db.execute(f"INSERT INTO bans SELECT {team}, 'carol', 'alice', 'spam', 5")
        db.execute(f"INSERT INTO mutes (room_id, username, until_ts) SELECT {team}, 'bob', 9")
        db.execute("UPDATE rooms SET room_topic = 'plans only' WHERE name = 'plan'")
        db.executemany(
            "INSERT INTO audit (ts, actor, action, room, target) VALUES (?, 'alice', ?, 'team', ?)",
            [(5, "ban", "carol"), (6, "mute", "bob"), (7, "topic", None)],
        )
    db.close()
    before = exported(tmp_path, "--data-dir", filled)
    assert [r["kind"] for r in before if r["kind"] in ("ban", "mute", "audit")] == [
        "ban",
        "mute",
        "audit",
        "audit",
        "audit",
    ]
    export = tmp_path / "all.jsonl"
    assert run_admin("export", export, "--data-dir", filled).returncode == 0
    assert run_admin("import", export, "--database", pg_url).returncode == 0
    assert exported(tmp_path, "--database", pg_url) == before
