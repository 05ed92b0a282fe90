"""``hubbub admin user …``, ``users`` and ``rooms``: on a database alone, and beside a
running server (which holds the data dir's lock)."""

from __future__ import annotations

import asyncio
import subprocess
from pathlib import Path

import aiohttp
from admin_support import one_error_line, run_admin
from support import PASSWORD, Client, ServerProcess, call_api, public_room


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


def listed(*where: str | Path, state: bool = False) -> list[list[str]]:
    """Each user's name and role (and state) as ``admin users`` lists them."""
    result = run_admin("users", *where)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["NAME", "ROLE", "STATE", "CREATED"]
    return [line.split()[: 3 if state else 2] for line in lines[1:]]


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

    last = run_admin("user", "demote", "alice", "--data-dir", data)
    assert last.returncode == 1
    assert "'alice' is the last active server admin" in one_error_line(last)
    promoted = run_admin("user", "promote", "bob", "--data-dir", data)
    assert (promoted.returncode, promoted.stdout) == (0, "hubbub: bob is a server admin now\n")
    demoted = run_admin("user", "demote", "alice", "--data-dir", data)
    assert demoted.stdout == "hubbub: alice is an ordinary user now\n"
    again = run_admin("user", "demote", "alice", "--data-dir", data)
    assert (again.returncode, again.stdout) == (0, "hubbub: alice is an ordinary user already\n")
    made = create(data, "carol", "--admin")
    assert made.stdout == "hubbub: created the account carol (admin)\n", made.stderr
    assert listed("--data-dir", data) == [["alice", "member"], ["bob", "admin"], ["carol", "admin"]]
    deactivated = run_admin("user", "deactivate", "bob", "--data-dir", data)
    assert deactivated.stdout == "hubbub: bob is deactivated now\n", deactivated.stderr
    last = run_admin("user", "deactivate", "carol", "--data-dir", data)  # bob is inactive
    assert "'carol' is the last active server admin" in one_error_line(last)
    assert listed("--data-dir", data, state=True) == [
        ["alice", "member", "active"],
        ["bob", "admin", "deactivated"],
        ["carol", "admin", "active"],
    ]
    for command in ("promote", "deactivate"):
        nobody = run_admin("user", command, "nobody", "--data-dir", data)
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
    made = run_admin(
        "user", "create", "eve", "--admin", "--password-stdin", "--database", pg_url, stdin=PASSWORD
    )
    assert made.stdout == "hubbub: created the account eve (admin)\n", made.stderr
    demoted = run_admin("user", "demote", "dora", "--database", pg_url)
    assert demoted.returncode == 0, demoted.stderr
    deactivated = run_admin("user", "deactivate", "dora", "--database", pg_url)
    assert deactivated.returncode == 0, deactivated.stderr
    last = run_admin("user", "demote", "eve", "--database", pg_url)
    assert "'eve' is the last active server admin" in one_error_line(last)
    assert listed("--database", pg_url, state=True) == [
        ["dora", "member", "deactivated"],
        ["eve", "admin", "active"],
    ]
    unreachable = run_admin("users", "--database", "postgresql://127.0.0.1:1/nothing")
    assert unreachable.returncode == 2
    assert "cannot use the database 'postgresql://127.0.0.1:1/nothing'" in one_error_line(
        unreachable
    )


async def test_deactivate_and_password_close_open_sockets_within_a_second(tmp_path: Path) -> None:
    """The command cannot reach the server's sockets: the server polls the account changes
    it writes, and closes the user's sessions within a second of the command's end."""
    server = ServerProcess(tmp_path / "data")
    server.start()
    try:
        api = f"{server.url}/api/v1"
        async with aiohttp.ClientSession() as http:
            _, bob, carol = await public_room(http, server.url, "team", ["alice", "bob", "carol"])
            for command, user, token in (("deactivate", "bob", bob), ("password", "carol", carol)):
                async with Client.connect(http, server.url, token) as client:
                    await client.ok("ping")
                    done = (
                        await asyncio.to_thread(
                            run_admin,
                            "user",
                            command,
                            user,
                            "--password-stdin",
                            "--data-dir",
                            server.data_dir,
                            stdin="a new password\n",
                        )
                        if command == "password"
                        else await asyncio.to_thread(
                            run_admin, "user", command, user, "--data-dir", server.data_dir
                        )
                    )
                    assert done.returncode == 0, done.stderr
                    async with asyncio.timeout(1.0):
                        await client.wait_for(lambda c: c.close_code is not None)
                    assert client.close_code == 4401
                assert (await call_api(http, "GET", f"{api}/me", token)).status == 401
            credentials = {"username": "bob", "password": PASSWORD}
            refused = await call_api(http, "POST", f"{api}/login", None, json=credentials)
            assert (refused.status, refused.body["code"]) == (403, "account_deactivated")
            back = run_admin("user", "reactivate", "bob", "--data-dir", server.data_dir)
            assert back.stdout == "hubbub: bob is active now\n", back.stderr
            signed_in = await call_api(http, "POST", f"{api}/login", None, json=credentials)
            assert signed_in.status == 200, signed_in.body
    finally:
        server.stop()
