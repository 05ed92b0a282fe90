"""``hubbub admin bot create``: a bot account and its token, printed once, beside a running
server; and bots and webhooks through ``admin export`` and ``import`` into PostgreSQL."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import aiohttp
from admin_support import one_error_line, run_admin
from support import PASSWORD, Client, call_api, config_for, register, running_server

from hubbub.core.webhooks import PATH


def create(data_dir: Path, name: str) -> tuple[int, str, str]:
    result = run_admin("bot", "create", name, "--data-dir", data_dir)
    return result.returncode, result.stdout, result.stderr


async def test_a_bot_made_on_the_command_line_uses_its_token(tmp_path: Path) -> None:
    data = tmp_path / "data"
    code, _, err = create(data, "echo")
    assert code == 2 and "there is no database at" in err
    async with running_server(config_for(data)) as server, aiohttp.ClientSession() as http:
        api = f"{server.url}/api/v1"
        alice = await register(http, server.url, "alice")
        # Made beside the running server: the token alone on stdout, once.
        code, out, err = create(data, "Echo")
        assert code == 0, err
        assert err == "hubbub: created the bot echo; its token, which does not expire:\n"
        token = out.strip()
        assert len(token) >= 40 and out == token + "\n"
        taken = run_admin("bot", "create", "echo", "--data-dir", data)
        assert taken.returncode == 1
        assert "the username 'echo' is taken" in one_error_line(taken)
        bad = run_admin("bot", "create", "no way", "--data-dir", data)
        assert bad.returncode == 2 and "'no way' is no username" in one_error_line(bad)

        profile = await call_api(http, "GET", f"{api}/users/echo", alice)
        assert profile.body == {"username": "echo", "bot": True}
        async with Client.connect(http, server.url, token) as bot:
            await bot.ok("create", name="den")
        login = await call_api(
            http, "POST", f"{api}/login", json={"username": "echo", "password": PASSWORD}
        )
        assert login.status == 401
        listed = await call_api(http, "GET", f"{api}/bots", alice)
        assert [(b["name"], b["created_by"]) for b in listed.body["bots"]] == [("echo", "")]


def records(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()][1:]


async def test_bots_and_webhooks_make_the_round_trip(tmp_path: Path, pg_url: str) -> None:
    data = tmp_path / "data"
    async with running_server(config_for(data)) as server, aiohttp.ClientSession() as http:
        api = f"{server.url}/api/v1"
        alice = await register(http, server.url, "alice")
        assert create(data, "echo")[0] == 0
        room = await call_api(http, "POST", f"{api}/rooms", alice, json={"name": "ops"})
        assert room.status == 201
        made = []
        for name in ("Kept", "Revoked"):
            reply = await call_api(
                http, "POST", f"{api}/rooms/ops/webhooks", alice, json={"name": name}
            )
            assert reply.status == 201, reply.body
            made.append(reply.body)
        revoked = await call_api(http, "DELETE", f"{api}/rooms/ops/webhooks/{made[1]['id']}", alice)
        assert revoked.status == 204
    export = tmp_path / "all.jsonl"
    assert run_admin("export", export, "--data-dir", data).returncode == 0
    before = records(export)
    users = {r["username"]: r for r in before if r["kind"] == "user"}
    assert (users["echo"]["bot"], users["echo"]["created_by"]) == (True, "")
    assert "bot" not in users["alice"] and "created_by" not in users["alice"]
    assert users[made[0]["username"]]["created_by"] == "alice"
    hooks = {r["name"]: r for r in before if r["kind"] == "webhook"}
    assert hooks["Kept"]["secret_hash"] and "revoked_at" not in hooks["Kept"]
    assert "secret_hash" not in hooks["Revoked"] and hooks["Revoked"]["revoked_at"]
    assert made[0]["token"] not in export.read_text()  # only its hash

    assert run_admin("import", export, "--database", pg_url).returncode == 0
    again = tmp_path / "again.jsonl"
    assert run_admin("export", again, "--database", pg_url).returncode == 0
    assert records(again) == before
    # The imported webhook takes posts with the secret it was made with.
    config = config_for(tmp_path / "pg", storage_url=pg_url)
    async with running_server(config) as server, aiohttp.ClientSession() as http:
        url = f"{server.url}{PATH}/{made[0]['id']}/{made[0]['token']}"
        async with http.post(url, json={"text": "still here"}) as response:
            assert (response.status, await response.text()) == (200, "ok")
        gone = f"{server.url}{PATH}/{made[1]['id']}/{made[1]['token']}"
        async with http.post(gone, json={"text": "not me"}) as response:
            assert response.status == 404
