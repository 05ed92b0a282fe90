"""The SQLite migration runner on real database files: statements split where SQLite says they
end, each migration whole or not at all, a newer database refused, released scripts unchanged."""

from __future__ import annotations

import hashlib
import sqlite3
from contextlib import closing
from importlib import resources
from pathlib import Path

import pytest

from hubbub.core.events import Message
from hubbub.storage.base import StorageError
from hubbub.storage.factory import migrate, sqlite_url
from hubbub.storage.migrations import migrations
from hubbub.storage.migrations.sqlite import statements
from hubbub.storage.sqlite import SQLiteStorage

LATEST = len(migrations("sqlite"))

# What each released migration is, byte for byte: databases in use were made by these.
RELEASED = {
    "sqlite": {
        "0001_initial.sql": "b52c2535219bc5b94b33fe2b396d4d28d6d3c762fd9ebc806e9d98da51fcc1e0",
        "0002_edit_delete_roles.sql": (
            "dd86d208e70d6b712083d558a2e3ec4e4dfb3d2a6a08f0609f439808562e1bec"
        ),
        "0003_reactions.sql": "ccfe0901f33bcf0b3f62a0fb04923cd3f0701514ffe55dd198fe682502d57e9b",
        "0004_replies_mentions.sql": (
            "a96a925be86f3b987127381c2340530c8bc062eba63bc677be9fefe49faee094"
        ),
        "0005_search.sql": "abfdbabb4fa848f6b082a7314128edffd2e8cbb10d30ac3a06f8721c4fcc6128",
        "0006_server_roles.sql": (
            "cd65c5dc5bf6b9294996ee603b5667993cdcf776de36320425cee619316c7386"
        ),
        "0007_files.sql": "76e7245cc53a5c47916f39084ae6be22be4986c5bd88be07cf18485099d6d0d5",
        "0008_profiles.sql": "ddd6db2136fb20d2a88a5b6ee0ea20793ec9400e6335d546eac900e5a64e15a5",
        "0009_search_order.sql": (
            "932033c7e6b4ab065130611b614b86f7d6cea53116ae6d0f1eae77b6a3feef1d"
        ),
        "0010_moderation.sql": "1a9714589f2a0e8827376fb1ae0436478b86c1ce36775fa4c95a8b0e8c04e7a2",
        "0011_accounts.sql": "97651f6d93fa49f477842ca7b115a38af44097a0ae7a12bda52940674d33b90a",
        "0012_consent.sql": "d1169b84632f8b1aa937ca63bf89e75f093fea6a008389e09c352c01e9e59a0b",
        "0013_registration.sql": (
            "524d17e5b707c8eeb1840142fda16183b965c6df08585db07ac81a937bb1445a"
        ),
        "0014_retention_title.sql": (
            "2686b33d571adc0ca4d7d9367853de899cc486e23915f319380d2c2a00d03e8f"
        ),
        "0015_bots_webhooks.sql": (
            "da6581604c2dc4d6fef3be7b625928483e277923bb078f1fbd634e7231d01d08"
        ),
        "0016_outgoing_webhooks.sql": (
            "56c4f4f35038ef6677baf0eed8d97fb29246e6a777ce88255715577c2cdf7b15"
        ),
        "0017_search_index_file.sql": (
            "8993b2d4d4b48ac875adc19626cbadd364cb41a31cc5dc756055ca4263e7c053"
        ),
    },
    "postgresql": {
        "0001_initial.sql": "bf3a94777232426a8ce7f879bdab12428dd694039c00aa20f02c8c56ad8f8405",
        "0002_search.sql": "562c44eb6966fc778d5b1123e7621369b32101bdd2e2a112a6fccbf5f4aaff32",
        "0003_server_roles.sql": (
            "cd65c5dc5bf6b9294996ee603b5667993cdcf776de36320425cee619316c7386"
        ),
        "0004_files.sql": "264533e5571dcee3f331cb1d0c7562029f82b6eb95527498fb0127a68c68a473",
        "0005_profiles.sql": "861ff1dee67f919ee83887467d62cccba76196e8081686dd28b9d66d75f7fa33",
        "0006_search_order.sql": (
            "7fb606686b4355435c4f6f985ee316135c31c5505d1d516c0a05de6d50e8bbf2"
        ),
        "0007_moderation.sql": "cc92da4fc83ae0426f683c6efb780a80866dbf4ca2854177683f391b8bffe411",
        "0008_accounts.sql": "3d32f238477f7eefb5ec43ca88abe361868ab8d2e86966f49f82b070f3fe4f41",
        "0009_consent.sql": "637d5579a804072e4455333379865a57d9780f3cc8dcbe172bb26a6b9d87a287",
        "0010_registration.sql": (
            "f676d3c63e3361fbb40f493fdd539429e76e0a403ed44196c2969e8a3531b196"
        ),
        "0011_retention_title.sql": (
            "642cdc448e749e4433c91dbc73f715e354eb009a713df648484f9622695d7d53"
        ),
        "0012_bots_webhooks.sql": (
            "6a34734b53e33c9330cb7693098d33a02ca8f94893ca17efc3889baa990bdc94"
        ),
        "0013_outgoing_webhooks.sql": (
            "950084f8fda3a53fd91237a87287d782feebb98ebe33bb55156afac8358d7677"
        ),
    },
}

TRICKY = """
-- A comment with a ; and a newline after it;
CREATE TABLE notes (body TEXT NOT NULL);
INSERT INTO notes (body) VALUES ('one;
two');
CREATE TABLE log (what TEXT);
CREATE TRIGGER notes_logged AFTER INSERT ON notes BEGIN
    INSERT INTO log (what) VALUES ('a note;');
    INSERT INTO log (what) VALUES (new.body);
END;
INSERT INTO notes (body) VALUES ('three')
-- the last statement needs no ;
"""


def test_a_script_is_cut_where_sqlite_says_a_statement_ends() -> None:
    parts = list(statements(TRICKY))
    assert len(parts) == 5
    with closing(sqlite3.connect(":memory:")) as db:
        for statement in parts:
            db.execute(statement)
        assert db.execute("SELECT body FROM notes ORDER BY rowid").fetchall() == [
            ("one;\ntwo",),
            ("three",),
        ]
        assert db.execute("SELECT what FROM log ORDER BY rowid").fetchall() == [
            ("a note;",),
            ("three",),
        ]


def test_an_unfinished_statement_fails() -> None:
    with closing(sqlite3.connect(":memory:")) as db, pytest.raises(sqlite3.OperationalError):
        for statement in statements("CREATE TABLE a (x);\nCREATE TABLE b (y"):
            db.execute(statement)


def test_migrate_brings_a_new_database_to_the_latest_version(tmp_path: Path) -> None:
    path = tmp_path / "hubbub.sqlite3"
    assert migrate(sqlite_url(path)) == LATEST
    assert migrate(sqlite_url(path)) == LATEST  # nothing left to do
    with closing(sqlite3.connect(path)) as db:
        assert db.execute("PRAGMA user_version").fetchone() == (LATEST,)


def test_a_migration_that_fails_leaves_nothing_behind(tmp_path: Path) -> None:
    path = tmp_path / "hubbub.sqlite3"
    with closing(sqlite3.connect(path)) as db:
        db.execute("CREATE TABLE events (x)")  # 0001 creates four tables, then fails on this
        db.commit()
    with pytest.raises(StorageError, match="table events already exists"):
        migrate(sqlite_url(path))
    with closing(sqlite3.connect(path)) as db:
        assert db.execute("PRAGMA user_version").fetchone() == (0,)
        tables = [n for (n,) in db.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        assert tables == ["events"]


def test_a_database_newer_than_this_code_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "hubbub.sqlite3"
    migrate(sqlite_url(path))
    with closing(sqlite3.connect(path)) as db:
        db.execute(f"PRAGMA user_version = {LATEST + 1}")
    with pytest.raises(StorageError) as refused:
        migrate(sqlite_url(path))
    assert str(refused.value) == (
        f"cannot use the database {str(path)!r}: its schema version {LATEST + 1}"
        f" is newer than this hubbub knows ({LATEST})"
    )


def test_released_migrations_never_change() -> None:
    for engine, released in RELEASED.items():
        folder = resources.files("hubbub.storage.migrations").joinpath(engine)
        for name, digest in released.items():
            script = folder.joinpath(name).read_bytes()
            assert hashlib.sha256(script).hexdigest() == digest, f"{engine} {name} was edited"


def test_server_roles_make_the_oldest_account_of_an_older_database_its_admin(
    tmp_path: Path,
) -> None:
    path = tmp_path / "hubbub.sqlite3"
    with closing(sqlite3.connect(path, isolation_level=None)) as db:
        for number, script in migrations("sqlite")[:5]:  # a database made before roles
            for statement in statements(script):
                db.execute(statement)
            db.execute(f"PRAGMA user_version = {number}")
        db.executemany(
            "INSERT INTO users (username, password_hash, created_at) VALUES (?, 'h', ?)",
            [("zed", 1), ("amy", 2), ("bob", 1)],
        )
    migrate(sqlite_url(path))
    with closing(sqlite3.connect(path)) as db:
        roles = dict(db.execute("SELECT username, role FROM users").fetchall())
    assert roles == {"bob": "admin", "zed": "member", "amy": "member"}  # first made, then by name


async def test_search_order_places_older_messages_by_time_and_finds_them(tmp_path: Path) -> None:
    path = tmp_path / "hubbub.sqlite3"
    with closing(sqlite3.connect(path, isolation_level=None)) as db:
        for number, script in migrations("sqlite")[:8]:  # a database made before search order
            for statement in statements(script):
                db.execute(statement)
            db.execute(f"PRAGMA user_version = {number}")
        db.execute("INSERT INTO users (username, password_hash, created_at) VALUES ('amy', 'h', 1)")
        for room_id, name in [(1, "a"), (2, "b")]:
            db.execute(
                "INSERT INTO rooms (id, name, kind, created_at, last_seq)"
                " VALUES (?, ?, 'public', 1, 2)",
                (room_id, name),
            )
            db.execute(
                "INSERT INTO members (room_id, username, joined_at) VALUES (?, 'amy', 1)",
                (room_id,),
            )
        sent = [
            (1, 1, 30, "hit a1"),
            (1, 2, 50, "hit a2"),
            (2, 1, 20, "hit b1"),
            (2, 2, 40, "hit b2"),
        ]
        db.executemany(
            "INSERT INTO events (room_id, seq, type, author, ts, msg_id, body)"
            " VALUES (?, ?, 'message', 'amy', ?, ?, ?)",
            [(room_id, seq, ts, body, body) for room_id, seq, ts, body in sent],
        )
    migrate(sqlite_url(path))
    storage = SQLiteStorage(path)
    await storage.open()
    try:
        later = Message(room="b", seq=0, ts=10, user="amy", msg_id="m5", body="hit b3")
        await storage.append(later)  # sent after them all, whatever its time says
        page = await storage.search("amy", "hit", None, None, 10)
        assert [f.body for f in page.found] == ["hit b3", "hit a2", "hit b2", "hit a1", "hit b1"]
    finally:
        await storage.close()
