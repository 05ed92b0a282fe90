"""``hubbub admin user …``, ``users`` and ``rooms``: on a database alone, and beside a
running server (which holds the data dir's lock)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import aiohttp
from admin_support import one_error_line, run_admin
from support import PASSWORD, ServerProcess, call_api, public_room


def create(
    data_dir: Path, name: str, *flags: str, password: str = PASSWORD
) -> subprocess.CompletedProcess[str]:
    return run_admin(
        "user",
        "create",
        name,
        "--password-stdin",
        *flags,
        "--data-dir",
        data_dir,
        stdin=password + "\n",
    )


def listed(*where: str | Path) -> list[list[str]]:
    result = run_admin("users", *where)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["NAME", "ROLE", "CREATED"]
    return [line.split()[:2] for line in lines[1:]]


def test_accounts_and_the_admin_role(tmp_path: Path) -> None:
    data = tmp_path / "data"
    missing = run_admin("users", "--data-dir", data)
    assert missing.returncode == 2
    assert "there is no database at" in one_error_line(missing)

    first = create(data, "Alice")  # the first account is the admin, as at sign-up
    assert first.returncode == 0, first.stderr
    assert first.stdout == "hubbub: created the account alice (admin)\n"
    assert create(data, "bob").returncode == 0
    assert listed("--data-dir", data) == [["alice", "admin"], ["bob", "member"]]

    refusals = {
        ("bob",): (1, "the username 'bob' is taken"),
        ("no way",): (2, "'no way' is no username"),
        ("room",): (2, "'room' is reserved"),
        ("carol", "--admin"): (1, "'alice' is the server's admin: demote them first"),
    }
    for args, (code, message) in refusals.items():
        result = create(data, *args)
        assert result.returncode == code, args
        assert message in one_error_line(result), args
    short = create(data, "carol", password="short")
    assert short.returncode == 2
    assert "a password is 8-256 characters" in one_error_line(short)
    no_terminal = run_admin("user", "create", "carol", "--data-dir", data)
    assert no_terminal.returncode == 2
    assert "--password-stdin" in one_error_line(no_terminal)
    assert listed("--data-dir", data) == [["alice", "admin"], ["bob", "member"]]

    promoted = run_admin("user", "promote", "bob", "--data-dir", data)
    assert promoted.returncode == 1
    assert "demote them first" in one_error_line(promoted)
    demoted = run_admin("user", "demote", "alice", "--data-dir", data)
    assert demoted.stdout == "hubbub: alice is an ordinary user now; the server has no admin\n"
    again = run_admin("user", "demote", "alice", "--data-dir", data)
    assert (again.returncode, again.stdout) == (0, "hubbub: alice is not the server's admin\n")
    promoted = run_admin("user", "promote", "bob", "--data-dir", data)
    assert (promoted.returncode, promoted.stdout) == (0, "hubbub: bob is the server's admin now\n")
    assert create(data, "carol", "--admin").returncode == 1
    assert listed("--data-dir", data) == [["alice", "member"], ["bob", "admin"]]
    nobody = run_admin("user", "promote", "nobody", "--data-dir", data)
    assert nobody.returncode == 1
    assert one_error_line(nobody) == "hubbub: error: no user named 'nobody'"


async def test_beside_a_running_server(tmp_path: Path) -> None:
    """The server keeps its lock; accounts made and passwords reset here take effect there
    at once, and a reset signs the user out everywhere."""
    server = ServerProcess(tmp_path / "data")
    server.start()
    try:
        api = f"{server.url}/api/v1"
        async with aiohttp.ClientSession() as http:
            alice, bob = await public_room(http, server.url, "team", ["alice", "bob"])
            made = create(server.data_dir, "carol", password="carol's password")
            assert made.stdout == "hubbub: created the account carol (member)\n"
            login = await call_api(
                http,
                "POST",
                f"{api}/login",
                None,
                json={"username": "carol", "password": "carol's password"},
            )
            assert login.status == 200, login.body

            reset = run_admin(
                "user",
                "password",
                "bob",
                "--password-stdin",
                "--data-dir",
                server.data_dir,
                stdin="a new password\n",
            )
            assert reset.returncode == 0, reset.stderr
            assert reset.stdout == "hubbub: bob has a new password; 1 session was signed out\n"
            assert (await call_api(http, "GET", f"{api}/me", bob)).status == 401
            assert (await call_api(http, "GET", f"{api}/me", alice)).status == 200
            for password, status in ((PASSWORD, 401), ("a new password", 200)):
                login = await call_api(
                    http,
                    "POST",
                    f"{api}/login",
                    None,
                    json={"username": "bob", "password": password},
                )
                assert login.status == status, login.body
            nobody = run_admin(
                "user",
                "password",
                "nobody",
                "--password-stdin",
                "--data-dir",
                server.data_dir,
                stdin="a new password\n",
            )
            assert nobody.returncode == 1
            assert one_error_line(nobody) == "hubbub: error: no user named 'nobody'"

        assert listed("--data-dir", server.data_dir) == [
            ["alice", "admin"],
            ["bob", "member"],
            ["carol", "member"],
        ]
        rooms = run_admin("rooms", "--data-dir", server.data_dir)
        assert rooms.returncode == 0, rooms.stderr
        assert [line.split() for line in rooms.stdout.splitlines()] == [
            ["NAME", "KIND", "MEMBERS", "LAST", "SEQ"],
            ["lobby", "public", "0", "0"],
            ["team", "public", "2", "2"],
        ]
    finally:
        server.stop()


def test_on_postgresql(pg_url: str) -> None:
    made = run_admin(
        "user", "create", "dora", "--password-stdin", "--database", pg_url, stdin=PASSWORD
    )
    assert made.stdout == "hubbub: created the account dora (admin)\n", made.stderr
    assert listed("--database", pg_url) == [["dora", "admin"]]
    demoted = run_admin("user", "demote", "dora", "--database", pg_url)
    assert demoted.returncode == 0, demoted.stderr
    assert listed("--database", pg_url) == [["dora", "member"]]
    unreachable = run_admin("users", "--database", "postgresql://127.0.0.1:1/nothing")
    assert unreachable.returncode == 2
    assert "cannot use the database 'postgresql://127.0.0.1:1/nothing'" in one_error_line(
        unreachable
    )
