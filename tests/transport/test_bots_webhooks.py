"""Bots and incoming webhooks over the real server, on each storage engine.

Bots: made by a server admin over the HTTP API (anyone, when ``bots_by_anyone``), their token
shown once and good on a WebSocket, no password sign-in, ``bot: true`` in their profile and in
members replies, listed for their maker, and deleted (deactivated: the token refused, the
socket closed). Webhooks: made by a room's member, a post from ``curl`` lands in the room for
a connected member, Slack's extra fields ignored; a bad id, a bad secret and a revoked
webhook answer alike; oversize, malformed and empty posts their errors; a retried post with
the same ``Idempotency-Key`` is stored once; a webhook is rate limited.

``alice`` is the first account (a server admin); ``bob`` is a member of the server."""

from __future__ import annotations

import asyncio
import json
import uuid
from pathlib import Path
from typing import Any

import aiohttp
from support import (
    PASSWORD,
    Client,
    RunningServer,
    api,
    config_for,
    read_history,
    register,
    running_server,
)

STORAGE_ENGINES = ("sqlite", "postgresql")


async def curl(url: str, body: bytes, *headers: str) -> tuple[int, str]:
    """A POST of ``body`` by the curl command: the status and the answer's text."""
    args = ["curl", "-sS", "-o", "-", "-w", "\n%{http_code}", "--data-binary", "@-"]
    for header in ("Content-Type: application/json", *headers):
        args += ["-H", header]
    proc = await asyncio.create_subprocess_exec(
        *args, url, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE
    )
    out, _ = await proc.communicate(body)
    assert proc.returncode == 0
    text, _, status = out.decode().rpartition("\n")
    return int(status), text


async def post(
    http: aiohttp.ClientSession, url: str, payload: Any, **headers: str
) -> tuple[int, Any, Any]:
    """A post to a webhook: status, text ("ok") or JSON error, headers."""
    data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    async with http.post(url, data=data, headers=headers) as response:
        raw = await response.text()
        body = json.loads(raw) if response.content_type == "application/json" else raw
        return response.status, body, response.headers.copy()


async def test_an_admins_bot_signs_in_with_its_token_only(
    server: RunningServer, http: aiohttp.ClientSession
) -> None:
    alice = await register(http, server.url, "alice")
    status, made = await api(http, server, alice, "POST", "/bots", {"name": "Echo"})
    assert status == 201, made
    assert made["name"] == "echo" and len(made["token"]) >= 40
    status, profile = await api(http, server, alice, "GET", "/users/echo")
    assert (status, profile) == (200, {"username": "echo", "bot": True})
    assert "bot" not in (await api(http, server, alice, "GET", "/users/alice"))[1]

    # Its token works on a WebSocket: it joins a room and talks; members see it is a bot.
    assert (await api(http, server, alice, "POST", "/rooms", {"name": "den"}))[0] == 201
    async with Client.connect(http, server.url, made["token"]) as bot:
        await bot.ok("join", room="den")
        await bot.send("den", "beep")
        members = await alice_members(http, server, alice, "den")
        assert members == {"alice": False, "echo": True}
        history = await read_history(http, server.url, alice, "den")
        assert [(e["user"], e["body"]) for e in history if e["type"] == "message"] == [
            ("echo", "beep")
        ]

        # No password signs it in.
        for password in (PASSWORD, "correct horse battery", "!" * 8):
            status, refused = await api(
                http, server, None, "POST", "/login", {"username": "echo", "password": password}
            )
            assert (status, refused["code"]) == (401, "unauthenticated")

        # Listed for admins; deleted, its token is refused and its socket closed.
        status, listed = await api(http, server, alice, "GET", "/bots")
        assert status == 200
        assert [(b["name"], b["created_by"], b["deactivated"]) for b in listed["bots"]] == [
            ("echo", "alice", False)
        ]
        assert (await api(http, server, alice, "DELETE", "/bots/echo"))[0] == 204
        await bot.wait_for(lambda c: c.close_code is not None)
        assert bot.close_code == 4401
    status, _ = await api(http, server, made["token"], "GET", "/me")
    assert status == 401
    status, listed = await api(http, server, alice, "GET", "/bots")
    assert [b["deactivated"] for b in listed["bots"]] == [True]
    # The name stays taken; a person's name is none to take.
    for name in ("echo", "alice"):
        status, refused = await api(http, server, alice, "POST", "/bots", {"name": name})
        assert (status, refused["code"]) == (409, "conflict")
    status, refused = await api(http, server, alice, "POST", "/bots", {"name": "-bad"})
    assert (status, refused["code"]) == (400, "bad_request")


async def alice_members(
    http: aiohttp.ClientSession, server: RunningServer, token: str, room: str
) -> dict[str, bool]:
    status, members = await api(http, server, token, "GET", f"/rooms/{room}/members")
    assert status == 200, members
    return {p["username"]: p.get("bot", False) for p in members["profiles"]}


async def test_only_admins_make_bots_unless_anyone_may(
    server: RunningServer, http: aiohttp.ClientSession, tmp_path: Path
) -> None:
    alice = await register(http, server.url, "alice")
    bob = await register(http, server.url, "bob")
    status, refused = await api(http, server, bob, "POST", "/bots", {"name": "bobbot"})
    assert (status, refused["code"]) == (403, "forbidden")
    assert (await api(http, server, bob, "GET", "/bots")) == (200, {"bots": []})
    assert (await api(http, server, alice, "POST", "/bots", {"name": "alicebot"}))[0] == 201
    # bob may not delete alice's bot, and learns nothing of it.
    status, refused = await api(http, server, bob, "DELETE", "/bots/alicebot")
    assert (status, refused["code"]) == (404, "not_found")
    status, refused = await api(http, server, bob, "DELETE", "/bots/alice")  # a person
    assert (status, refused["code"]) == (404, "not_found")

    # Another node of the same database, where anyone may make bots.
    storage_url = server.config.storage_url
    config = config_for(tmp_path / "open", storage_url=storage_url, bots_by_anyone=True)
    async with running_server(config) as open_server:
        status, made = await api(http, open_server, bob, "POST", "/bots", {"name": "bobbot"})
        assert status == 201, made
        status, mine = await api(http, open_server, bob, "GET", "/bots")
        assert [b["name"] for b in mine["bots"]] == ["bobbot"]  # not alice's
        status, everyone = await api(http, open_server, alice, "GET", "/bots")
        assert [b["name"] for b in everyone["bots"]] == ["alicebot", "bobbot"]
        assert (await api(http, open_server, bob, "DELETE", "/bots/bobbot"))[0] == 204
        status, refused = await api(http, open_server, bob, "DELETE", "/bots/alicebot")
        assert (status, refused["code"]) == (404, "not_found")


async def hook_in_room(
    http: aiohttp.ClientSession, server: RunningServer, token: str, room: str, name: str
) -> dict[str, Any]:
    status, made = await api(http, server, token, "POST", f"/rooms/{room}/webhooks", {"name": name})
    assert status == 201, made
    return dict(made)


async def test_a_post_from_curl_lands_in_the_room(
    server: RunningServer, http: aiohttp.ClientSession
) -> None:
    alice = await register(http, server.url, "alice")
    bob = await register(http, server.url, "bob")
    assert (await api(http, server, alice, "POST", "/rooms", {"name": "ops"}))[0] == 201
    assert (await api(http, server, bob, "POST", "/rooms/ops/join"))[0] == 200
    made = await hook_in_room(http, server, bob, "ops", "Deploys")
    assert set(made) == {"id", "name", "room", "username", "url", "token"}
    assert made["url"] == f"{server.url}/hooks/{made['id']}/{made['token']}"
    assert (made["name"], made["room"], made["username"]) == (
        "Deploys",
        "ops",
        f"hook-{made['id']}",
    )
    members = await alice_members(http, server, alice, "ops")
    assert members == {"alice": False, "bob": False, made["username"]: True}
    status, listed = await api(http, server, alice, "GET", "/rooms/ops/webhooks")
    assert status == 200
    [shown] = listed["webhooks"]
    assert made["token"] not in json.dumps(listed)  # the secret is shown once only
    assert (shown["id"], shown["name"], shown["created_by"]) == (made["id"], "Deploys", "bob")

    async with Client.connect(http, server.url, alice, sync={"ops": 0}) as client:
        payload = {"text": "deploy *done*", "icon_emoji": ":rocket:", "channel": "#x", "blocks": []}
        status, text = await curl(made["url"], json.dumps(payload).encode())
        assert (status, text) == (200, "ok")
        await client.wait_for(lambda c: bool(c.room_events("ops", "message")))
        [message] = client.room_events("ops", "message")
        assert (message["user"], message["body"]) == (made["username"], "deploy *done*")
    status, profile = await api(http, server, alice, "GET", f"/users/{made['username']}")
    assert profile == {"username": made["username"], "display_name": "Deploys", "bot": True}


async def test_webhook_errors_and_revoking(
    server: RunningServer, http: aiohttp.ClientSession
) -> None:
    alice = await register(http, server.url, "alice")
    bob = await register(http, server.url, "bob")
    assert (await api(http, server, alice, "POST", "/rooms", {"name": "ops"}))[0] == 201
    assert (await api(http, server, bob, "POST", "/rooms/ops/join"))[0] == 200
    made = await hook_in_room(http, server, alice, "ops", "CI")
    url, hook_id, secret = made["url"], made["id"], made["token"]

    # A bad secret and a bad id answer alike.
    wrong = secret[:-1] + ("A" if secret[-1] != "A" else "B")
    bad_secret = await post(http, f"{server.url}/hooks/{hook_id}/{wrong}", {"text": "x"})
    bad_id = await post(http, f"{server.url}/hooks/000000000000/{secret}", {"text": "x"})
    for status, body, _ in (bad_secret, bad_id):
        assert (status, body) == (404, bad_id[1])
        assert body["code"] == "not_found"
    # Too long, malformed, no text, only blanks, a body past the frame bound.
    status, body, _ = await post(http, url, {"text": "x" * 8001})
    assert (status, body["code"]) == (413, "too_large")
    status, body, _ = await post(http, url, b'{"text": "unclosed')
    assert (status, body["code"]) == (400, "bad_request")
    assert "JSON" in body["message"]
    status, body, _ = await post(http, url, {"username": "someone"})
    assert (status, body["code"]) == (400, "bad_request")
    assert "text" in body["message"]
    status, body, _ = await post(http, url, {"text": " \n "})
    assert (status, body["code"]) == (400, "bad_request")
    status, body, _ = await post(http, url, {"text": "y" * 70_000})
    assert status == 413
    history = await read_history(http, server.url, alice, "ops")
    assert not [e for e in history if e["type"] == "message"]  # nothing was stored

    # A retry with the same Idempotency-Key is stored once.
    key = uuid.uuid4().hex
    for _ in range(3):
        status, body, _ = await post(http, url, {"text": "once"}, **{"Idempotency-Key": key})
        assert (status, body) == (200, "ok")
    assert (await post(http, url, {"text": "once"}))[:2] == (200, "ok")  # no key: a new one
    history = await read_history(http, server.url, alice, "ops")
    assert [e["body"] for e in history if e["type"] == "message"] == ["once", "once"]
    status, body, _ = await post(http, url, {"text": "z"}, **{"Idempotency-Key": "k" * 65})
    assert (status, body["code"]) == (400, "bad_request")

    # bob is a member, but neither its creator nor an owner: he may not revoke it.
    path = f"/rooms/ops/webhooks/{hook_id}"
    status, body = await api(http, server, bob, "DELETE", path)
    assert (status, body["code"]) == (403, "forbidden")
    assert (await api(http, server, alice, "DELETE", path))[0] == 204
    revoked = await post(http, url, {"text": "after"})
    assert revoked[:2] == bad_id[:2]
    status, body = await api(http, server, alice, "DELETE", path)
    assert (status, body["code"]) == (404, "not_found")
    assert (await api(http, server, alice, "GET", "/rooms/ops/webhooks")) == (
        200,
        {"room": "ops", "webhooks": []},
    )
    assert made["username"] not in await alice_members(http, server, alice, "ops")
    # A DM takes no webhooks.
    assert (await api(http, server, alice, "POST", "/dm", {"user": "bob"}))[0] == 200
    status, body = await api(
        http, server, alice, "POST", "/rooms/dm:alice:bob/webhooks", {"name": "x"}
    )
    assert (status, body["code"]) == (400, "bad_request")


async def test_a_webhook_is_rate_limited(http: aiohttp.ClientSession, tmp_path: Path) -> None:
    config = config_for(tmp_path / "data", webhook_rate=0.01, webhook_burst=2.0)
    async with running_server(config) as server:
        alice = await register(http, server.url, "alice")
        assert (await api(http, server, alice, "POST", "/rooms", {"name": "ops"}))[0] == 201
        first = await hook_in_room(http, server, alice, "ops", "One")
        second = await hook_in_room(http, server, alice, "ops", "Two")
        for _ in range(2):
            assert (await post(http, first["url"], {"text": "hi"}))[:2] == (200, "ok")
        status, body, headers = await post(http, first["url"], {"text": "hi"})
        assert (status, body["code"]) == (429, "rate_limited")
        assert int(headers["Retry-After"]) >= 1
        assert (await post(http, second["url"], {"text": "hi"}))[:2] == (200, "ok")  # its own
