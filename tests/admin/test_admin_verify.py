"""``hubbub admin verify``: clean databases pass; each planted problem is one line."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import asyncpg
import pg
from admin_support import one_error_line, run_admin

# What is planted, by SQL that runs on either engine, and the line each problem gives.
# In `team`: 1-2 are joins, 3 alice's "hello @bob", 4 the message with a file, 5 bob's
# reply to 3, 6 its edit, 7-8 reactions to 3, 9 "oops", 10 a reaction to it, 11 its delete.
PLANTED = {
    "DELETE FROM events WHERE room_id = (SELECT id FROM rooms WHERE name = 'team')"
    " AND seq = 7": "room 'team': no event has the seq 7",
    "UPDATE events SET reply_to = 99 WHERE room_id = (SELECT id FROM rooms WHERE name = 'team')"
    " AND seq = 5": "room 'team' seq 5: its reply_to 99 is no message of it",
    "UPDATE rooms SET last_seq = 2 WHERE name = 'plan'": (
        "room 'plan': its last_seq is 2, its last event's seq 3"
    ),
    "INSERT INTO reactions (room_id, seq, emoji, username)"
    " SELECT id, 9, 'x', 'bob' FROM rooms WHERE name = 'team'": (
        "room 'team' seq 9: 'bob' reacts 'x' to it, but it is no message, a deleted one,"
        " or they are no user"
    ),
    "INSERT INTO members (room_id, username, read_seq, joined_at, role)"
    " SELECT id, 'ghost', 0, 0, 'member' FROM rooms WHERE name = 'team'": (
        "room 'team': its member 'ghost' is no user"
    ),
}


def problems(*where: str | Path) -> list[str]:
    result = run_admin("verify", *where)
    assert result.returncode == 1, result.stdout
    assert "problems found in 3 users, 4 rooms" in one_error_line(result)
    return list(result.stdout.splitlines())


def test_a_clean_database_passes(filled: Path) -> None:
    result = run_admin("verify", "--data-dir", filled)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.endswith("is consistent: 3 users, 4 rooms, 17 events\n")
    assert result.stderr == ""


def test_planted_problems_are_found_on_sqlite(filled: Path) -> None:
    db = sqlite3.connect(filled / "hubbub.sqlite3")
    with db:
        for sql in PLANTED:
            db.execute(sql)
    blob = db.execute("SELECT sha256 FROM files WHERE seq IS NOT NULL").fetchone()[0]
    db.close()
    (filled / "files" / "blobs" / blob[:2] / blob[2:4] / blob).unlink()
    found = problems("--data-dir", filled)
    assert set(PLANTED.values()) <= set(found)
    (missing,) = [line for line in found if "is not in" in line]
    assert blob in missing
    assert len(found) == len(PLANTED) + 1


async def test_planted_problems_are_found_on_postgresql(
    filled: Path, tmp_path: Path, pg_url: str
) -> None:
    export = tmp_path / "all.jsonl"
    assert run_admin("export", export, "--data-dir", filled).returncode == 0
    assert run_admin("import", export, "--database", pg_url).returncode == 0
    where = ("--database", pg_url, "--data-dir", filled)  # the blobs stay in the data dir
    assert run_admin("verify", *where).returncode == 0
    conn = await asyncpg.connect(pg_url, timeout=pg.CONNECT_TIMEOUT)
    try:
        for sql in PLANTED:
            await conn.execute(sql)
    finally:
        await conn.close()
    assert sorted(problems(*where)) == sorted(PLANTED.values())


def test_many_problems_of_one_kind_are_counted_not_all_shown(filled: Path) -> None:
    db = sqlite3.connect(filled / "hubbub.sqlite3")
    with db:
        db.executemany(
            "INSERT INTO members (room_id, username, read_seq, joined_at)"
            " SELECT id, ?, 0, 0 FROM rooms WHERE name = 'team'",
            [(f"ghost{i:03}",) for i in range(150)],
        )
    db.close()
    found = problems("--data-dir", filled)
    assert len(found) == 101
    assert found[0] == "room 'team': its member 'ghost000' is no user"
    assert found[-1] == "… and 50 more problems like the one above"
