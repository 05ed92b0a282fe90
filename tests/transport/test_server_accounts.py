"""Server admins over the HTTP API, on each storage engine: several admins, the last active
one kept, the accounts listed in pages, and deactivation: sessions closed on every node within
a second, tokens refused, sign-in refused once the password checked out, the name kept taken,
messages kept, DMs and invitations to the account refused; reactivation lets it sign in.

``alice`` is the first account (a server admin), ``bob`` and ``carol`` are members."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from pathlib import Path
from typing import Any

import aiohttp
import pg
from redis_support import two_nodes
from support import PASSWORD, Client, RunningServer, api, call_api, public_room, register

STORAGE_ENGINES = ("sqlite", "postgresql")


async def sign_in(
    http: aiohttp.ClientSession, server: RunningServer, name: str, password: str = PASSWORD
) -> tuple[int, Any]:
    return await api(http, server, None, "POST", "/login", {"username": name, "password": password})


async def refused_socket(http: aiohttp.ClientSession, server: RunningServer, token: str) -> int:
    """The close code of a WebSocket that shows ``token``."""
    headers = {"Authorization": f"Bearer {token}"}
    async with http.ws_connect(server.ws_url, protocols=("hubbub.v1",), headers=headers) as ws:
        refusal = json.loads((await ws.receive()).data)
        assert refusal["code"] == "unauthenticated", refusal
        await ws.receive()
        return int(ws.close_code or 0)


async def test_several_admins_and_the_last_active_one_stays(
    server: RunningServer, http: aiohttp.ClientSession
) -> None:
    alice, bob, carol = [await register(http, server.url, n) for n in ("alice", "bob", "carol")]
    promoted = await api(http, server, alice, "POST", "/admin/users/Bob/role", {"role": "admin"})
    assert promoted[0] == 200, promoted
    assert {k: v for k, v in promoted[1].items() if k != "created_at"} == {
        "username": "bob",
        "display_name": "",
        "role": "admin",
        "deactivated": False,
    }
    # The new admin reads the audit log, and acts: alice is made a member again.
    status, log = await api(http, server, bob, "GET", "/admin/audit")
    assert status == 200
    [entry] = log["entries"]
    assert (entry["actor"], entry["action"], entry["room"], entry["target"]) == (
        "alice",
        "promote",
        "",
        "bob",
    )
    assert (await api(http, server, bob, "POST", "/admin/users/alice/role", {"role": "member"}))[
        0
    ] == 200
    assert (await api(http, server, alice, "GET", "/admin/audit"))[0] == 403
    assert (await api(http, server, bob, "GET", "/me"))[1].get("admin") is True
    assert "admin" not in (await api(http, server, alice, "GET", "/me"))[1]

    refusals = {
        ("POST", "/admin/users/bob/role", '{"role": "member"}'): (409, "conflict"),
        ("POST", "/admin/users/bob/deactivate", None): (400, "bad_request"),
        ("POST", "/admin/users/zed/deactivate", None): (404, "not_found"),
        ("POST", "/admin/users/zed/role", '{"role": "admin"}'): (404, "not_found"),
        ("POST", "/admin/users/carol/role", '{"role": "owner"}'): (400, "bad_request"),
        ("POST", "/admin/users/carol/role", '{"role": "admin", "x": 1}'): (400, "bad_request"),
        ("POST", "/admin/users/no%20way/role", '{"role": "admin"}'): (400, "bad_request"),
        ("GET", "/admin/users?limit=0", None): (400, "bad_request"),
        ("GET", "/admin/users?limit=201", None): (400, "bad_request"),
        ("GET", "/admin/users?after=no%20way", None): (400, "bad_request"),
    }
    for (method, path, body), (status, code) in refusals.items():
        reply = await call_api(http, method, f"{server.url}/api/v1{path}", bob, data=body)
        assert (reply.status, reply.body["code"]) == (status, code), (path, body, reply.body)
    assert (
        "last active server admin"
        in (await api(http, server, bob, "POST", "/admin/users/bob/role", {"role": "member"}))[1][
            "message"
        ]
    )

    # Pages by name; carol, a member, reads none of it.
    status, first = await api(http, server, bob, "GET", "/admin/users", limit=2)
    assert status == 200
    assert [(a["username"], a["role"]) for a in first["accounts"]] == [
        ("alice", "member"),
        ("bob", "admin"),
    ]
    _, rest = await api(http, server, bob, "GET", "/admin/users", after="bob", limit=2)
    assert [a["username"] for a in rest["accounts"]] == ["carol"]
    assert (await api(http, server, carol, "GET", "/admin/users"))[0] == 403
    _, log = await api(http, server, bob, "GET", "/admin/audit")
    assert [(e["actor"], e["action"], e["target"]) for e in log["entries"]] == [
        ("bob", "demote", "alice"),
        ("alice", "promote", "bob"),
    ]


async def test_a_deactivated_account_is_shown_kept_and_unreachable(
    server: RunningServer, http: aiohttp.ClientSession
) -> None:
    alice, bob, carol = await public_room(http, server.url, "team", ["alice", "bob", "carol"])
    async with Client.connect(http, server.url, bob) as client:
        await client.send("team", "bob was here")
    status, account = await api(http, server, alice, "POST", "/admin/users/bob/deactivate")
    assert (status, account["deactivated"]) == (200, True)
    again = await api(http, server, alice, "POST", "/admin/users/bob/deactivate")
    assert again[0] == 200  # already: nothing changes, nothing is logged

    assert (await api(http, server, carol, "GET", "/users/bob"))[1]["deactivated"] is True
    async with Client.connect(http, server.url, carol) as client:
        members = await client.ok("members", room="team")
        shown = {p["username"]: p.get("deactivated", False) for p in members["profiles"]}
        assert shown == {"alice": False, "bob": True, "carol": False}
        history = await client.ok("history", room="team")
        assert [e["body"] for e in history["events"] if e["type"] == "message"] == ["bob was here"]
        dm = await client.request("dm", user="bob")
        assert (dm["code"], dm["message"]) == ("forbidden", "'bob' is deactivated")
    invited = await api(http, server, alice, "POST", "/rooms/team/invite", {"user": "bob"})
    assert (invited[0], invited[1]["code"]) == (403, "forbidden")
    over_http = await api(http, server, carol, "POST", "/dm", {"user": "bob"})
    assert (over_http[0], over_http[1]["message"]) == (403, "'bob' is deactivated")

    taken = await api(
        http, server, None, "POST", "/register", {"username": "bob", "password": "x" * 12}
    )
    assert (taken[0], taken[1]["code"]) == (409, "conflict")
    assert (await sign_in(http, server, "bob", "wrong password"))[0] == 401  # tells nothing
    status, refused = await sign_in(http, server, "bob")
    assert (status, refused["code"]) == (403, "account_deactivated"), refused

    assert (await api(http, server, alice, "POST", "/admin/users/bob/reactivate"))[0] == 200
    assert (await api(http, server, bob, "GET", "/me"))[0] == 401  # no token comes back
    status, session = await sign_in(http, server, "bob")
    assert status == 200, session
    assert (await api(http, server, session["token"], "GET", "/me"))[0] == 200
    _, log = await api(http, server, alice, "GET", "/admin/audit")
    assert [(e["action"], e["room"], e["target"]) for e in log["entries"]] == [
        ("reactivate", "", "bob"),
        ("deactivate", "", "bob"),
    ]


async def test_deactivation_closes_every_session_on_both_nodes_within_a_second(
    tmp_path: Path, http: aiohttp.ClientSession
) -> None:
    try:
        async with two_nodes(tmp_path) as (a, b):
            alice, bob = await public_room(http, a.url, "team", ["alice", "bob"])
            async with (
                Client.connect(http, a.url, bob) as on_a,
                Client.connect(http, b.url, bob) as on_b,
                Client.connect(http, b.url, alice) as alice_on_b,
            ):
                await on_a.send("team", "before")
                began = time.monotonic()
                status, _ = await api(http, a, alice, "POST", "/admin/users/bob/deactivate")
                assert status == 200
                async with asyncio.timeout(1.0):
                    await on_a.wait_for(lambda c: c.close_code is not None)
                    await on_b.wait_for(lambda c: c.close_code is not None)
                assert time.monotonic() - began < 1.0
                assert (on_a.close_code, on_b.close_code) == (4401, 4401)
                await alice_on_b.ok("ping")  # others stay
            for node in (a, b):
                assert (await api(http, node, bob, "GET", "/me"))[0] == 401
                assert await refused_socket(http, node, bob) == 4401
                status, refused = await sign_in(http, node, "bob")
                assert (status, refused["code"]) == (403, "account_deactivated")
            history = await api(http, b, alice, "GET", "/rooms/team/messages")
            assert [e["body"] for e in history[1]["events"] if e["type"] == "message"] == ["before"]
            assert (await api(http, b, alice, "POST", "/admin/users/bob/reactivate"))[0] == 200
            status, session = await sign_in(http, a, "bob")
            assert status == 200
            async with Client.connect(http, b.url, session["token"]) as back:
                await back.send("team", str(uuid.uuid4()))
    finally:
        pg.drop_created()
