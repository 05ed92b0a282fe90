"""``hubbub admin backup``: a consistent copy while a server runs and a client sends, that a
fresh server runs as its data dir."""

from __future__ import annotations

import asyncio
import contextlib
import json
import shutil
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
from admin_support import admin_env, one_error_line, run_admin
from file_samples import image
from support import PASSWORD, ServerProcess, call_api, public_room, until

from hubbub.admin import backup
from hubbub.client import Client


class Sender:
    """alice sends to `team` without a pause; each message the server acknowledged is kept
    with its seq, in order."""

    def __init__(self, client: Client) -> None:
        self.client = client
        self.acked: list[tuple[int, str]] = []
        self._stopping = False
        self._task = asyncio.create_task(self._send())

    async def _send(self) -> None:
        i = 0
        while not self._stopping:
            body = f"message {i}"
            reply = await self.client.send("team", body)
            self.acked.append((reply.seq, body))
            i += 1

    async def more(self, count: int) -> None:
        """Until ``count`` more messages are acknowledged: the server keeps writing."""
        target = len(self.acked) + count
        await until(lambda: len(self.acked) >= target, timeout=30)

    async def stop(self) -> None:
        """After the send in flight (not cancelled: a reply racing a cancellation could
        swallow it, on Python 3.11)."""
        self._stopping = True
        await self._task


@contextlib.asynccontextmanager
async def sending(server: ServerProcess) -> AsyncIterator[tuple[Sender, dict[str, Any]]]:
    """A server with `team`, a file posted in it, and alice sending; the file's info."""
    api = f"{server.url}/api/v1"
    async with aiohttp.ClientSession() as http:
        (alice,) = await public_room(http, server.url, "team", ["alice"])
        file = await call_api(
            http,
            "POST",
            f"{api}/rooms/team/files",
            alice,
            params={"name": "a.png"},
            data=image("PNG"),
        )
        assert file.status == 201, file.body
        async with Client(server.url, token=alice) as client:
            await client.send("team", "a file", files=[file.body["id"]])
            sender = Sender(client)
            try:
                await sender.more(50)
                yield sender, file.body
            finally:
                await sender.stop()


def messages(data_dir: Path) -> list[tuple[int, str]]:
    """The seq and body of every message of `team`, read from an export."""
    result = run_admin("export", "-", "--data-dir", data_dir)
    assert result.returncode == 0, result.stderr
    events = [json.loads(line) for line in result.stdout.splitlines()]
    team = [e for e in events if e["kind"] == "event" and e["room"] == "team"]
    assert [e["seq"] for e in team] == list(range(1, len(team) + 1))  # gapless
    return [(e["seq"], e.get("body", "")) for e in team if e["type"] == "message"]


async def test_a_backup_taken_while_a_client_sends_restores_whole(tmp_path: Path) -> None:
    server = ServerProcess(tmp_path / "data")
    server.start()
    dest = tmp_path / "backup"
    try:
        async with sending(server) as (sender, file):
            before = list(sender.acked)  # acknowledged before the backup started
            proc = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "hubbub",
                "admin",
                "backup",
                str(dest),
                "--data-dir",
                str(server.data_dir),
                env=admin_env(),
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
            )
            out, err = await proc.communicate()
            assert proc.returncode == 0, err.decode()
            assert out.decode().startswith(f"hubbub: backed up {server.data_dir}/hubbub.sqlite3")
            await sender.more(20)  # the server wrote on, unhindered
            after = list(sender.acked)
    finally:
        server.stop()

    restored = tmp_path / "restored"
    shutil.copytree(dest, restored)  # a fresh data dir, as an operator restores one
    checked = run_admin("verify", "--data-dir", restored)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    kept = messages(restored)
    assert set(before) <= set(kept)
    assert set(kept) - {(2, "a file")} <= set(after)  # nothing but what was sent

    fresh = ServerProcess(restored)
    fresh.start()
    try:
        api = f"{fresh.url}/api/v1"
        async with aiohttp.ClientSession() as http:
            login = await call_api(
                http,
                "POST",
                f"{api}/login",
                None,
                json={"username": "alice", "password": PASSWORD},
            )
            assert login.status == 200, login.body
            token = login.body["token"]
            async with http.get(
                f"{api}/files/{file['id']}", headers={"Authorization": f"Bearer {token}"}
            ) as response:
                assert response.status == 200
                assert await response.read() == image("PNG")
            async with Client(fresh.url, token=token) as client:
                reply = await client.send("team", "after the restore")
                assert reply.seq == max(seq for seq, _ in kept) + 1
    finally:
        fresh.stop()


async def test_small_steps_copy_one_snapshot_while_the_server_writes(tmp_path: Path) -> None:
    """One page a step: a step after a commit of the server does not start the copy over."""
    server = ServerProcess(tmp_path / "data")
    server.start()
    try:
        async with sending(server) as (sender, _):
            before = list(sender.acked)
            copied = await asyncio.to_thread(
                backup.backup,
                server.data_dir / "hubbub.sqlite3",
                server.data_dir / "files",
                tmp_path / "backup",
                pages=1,
            )
            assert copied.blobs == 2 and copied.missing == []  # the image and its thumbnail
    finally:
        server.stop()
    assert set(before) <= set(messages(tmp_path / "backup"))
    assert run_admin("verify", "--data-dir", tmp_path / "backup").returncode == 0


def test_what_backup_refuses(tmp_path: Path) -> None:
    postgres = run_admin("backup", tmp_path / "b", "--database", "postgresql://127.0.0.1:5432/test")
    assert postgres.returncode == 2
    assert "pg_dump" in one_error_line(postgres)
    assert not (tmp_path / "b").exists()
    missing = run_admin("backup", tmp_path / "b", "--data-dir", tmp_path / "none")
    assert missing.returncode == 2
    assert "there is no database at" in one_error_line(missing)
    made = run_admin(
        "user",
        "create",
        "alice",
        "--password-stdin",
        "--data-dir",
        tmp_path / "data",
        stdin=PASSWORD,
    )
    assert made.returncode == 0, made.stderr
    taken = tmp_path / "taken"
    taken.mkdir()
    (taken / "something").write_text("mine")
    refused = run_admin("backup", taken, "--data-dir", tmp_path / "data")
    assert refused.returncode == 1
    assert "is not an empty directory" in one_error_line(refused)
    assert [p.name for p in taken.iterdir()] == ["something"]
