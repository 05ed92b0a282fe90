"""Registration policy, invite links, guests on and off at run time and guest bans, over
real sockets: each mode's answers, an invite link's expiry, uses and revocation, guests'
sockets closed (4503, 4504) and refused, and a change made on one node holding on another
within a second (PostgreSQL and Redis)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import aiohttp
import pg
import pytest
from redis_support import two_nodes
from support import (
    PASSWORD,
    RunningServer,
    ServerClock,
    call_api,
    config_for,
    register,
    running_server,
)

from hubbub.config import ConfigError, load
from hubbub.core import registration as reg
from hubbub.protocol.codes import CloseCode

START_MS = 1_764_000_000_000


@pytest.fixture
def clock() -> ServerClock:
    return ServerClock(START_MS)


@pytest.fixture
async def server(tmp_path: Path, clock: ServerClock) -> AsyncIterator[RunningServer]:
    """Closed by config; 127.0.0.1 a trusted proxy, so a test names a guest's address."""
    config = config_for(tmp_path, registration="closed", trusted_proxies=("127.0.0.1",))
    async with running_server(config, clock=clock) as running:
        yield running


async def sign_up(
    http: aiohttp.ClientSession, url: str, name: str, invite: str | None = None
) -> tuple[int, Any]:
    body: dict[str, Any] = {"username": name, "password": PASSWORD}
    if invite is not None:
        body["invite"] = invite
    reply = await call_api(http, "POST", f"{url}/api/v1/register", json=body)
    return reply.status, reply.body


async def mode(http: aiohttp.ClientSession, url: str) -> str:
    reply = await call_api(http, "GET", f"{url}/api/v1/registration")
    assert reply.status == 200, reply.body
    return str(reply.body["mode"])


async def admin_call(
    http: aiohttp.ClientSession, url: str, token: str, method: str, path: str, **kw: Any
) -> Any:
    reply = await call_api(http, method, f"{url}/api/v1/admin/{path}", token, **kw)
    assert reply.status in (200, 201, 204), (method, path, reply.status, reply.body)
    return reply.body


def refused(message: str) -> tuple[int, dict[str, str]]:
    return 403, {"code": "forbidden", "message": message}


async def test_each_mode_and_the_first_account(
    server: RunningServer, http: aiohttp.ClientSession
) -> None:
    url = server.url
    assert await mode(http, url) == "open"  # closed, but nobody can sign in yet
    status, body = await sign_up(http, url, "root")
    assert status == 201, body
    root = body["token"]
    assert await mode(http, url) == "closed"
    assert await sign_up(http, url, "ann") == refused(reg.CLOSED)

    settings = await admin_call(http, url, root, "GET", "settings")
    assert settings == {
        "registration": "closed",
        "guests": True,
        "config": {"registration": "closed", "guests": True},
        "set": {"registration": None, "guests": None},
    }
    settings = await admin_call(
        http, url, root, "PATCH", "settings", json={"registration": "invite"}
    )
    assert settings["registration"] == "invite" and settings["set"]["registration"] == "invite"
    assert await mode(http, url) == "invite"
    assert await sign_up(http, url, "ann") == refused(reg.INVITE_NEEDED)

    made = await admin_call(http, url, root, "POST", "invites", json={"expires_in": 3600})
    assert made["url"] == f"{url}/#invite={made['code']}"
    assert (made["max_uses"], made["uses"]) == (None, 0)
    assert (await sign_up(http, url, "ann", made["code"]))[0] == 201
    assert await sign_up(http, url, "bob", "not-a-code") == refused(reg.BAD_INVITE)

    await admin_call(http, url, root, "PATCH", "settings", json={"registration": "open"})
    assert (await sign_up(http, url, "bob"))[0] == 201
    assert await sign_up(http, url, "cat", "not-a-code") == refused(reg.BAD_INVITE)
    assert (await sign_up(http, url, "cat", made["code"]))[0] == 201  # a code admits in open

    cleared = await admin_call(http, url, root, "PATCH", "settings", json={"registration": None})
    assert (cleared["registration"], cleared["set"]["registration"]) == ("closed", None)
    assert await sign_up(http, url, "dan") == refused(reg.CLOSED)
    [listed] = (await admin_call(http, url, root, "GET", "invites"))["invites"]
    assert "code" not in listed and listed["uses"] == 2

    bad = await call_api(
        http, "PATCH", f"{url}/api/v1/admin/settings", root, json={"registration": "maybe"}
    )
    assert (bad.status, bad.body["code"]) == (400, "bad_request")
    audit = await admin_call(http, url, root, "GET", "audit")
    assert [(e["action"], e["room"], e["detail"]) for e in audit["entries"][:2]] == [
        ("registration", "", "default"),
        ("registration", "", "open"),
    ]


async def test_an_invite_link_expires_is_used_up_and_revoked(
    server: RunningServer, http: aiohttp.ClientSession, clock: ServerClock
) -> None:
    url = server.url
    root = (await sign_up(http, url, "root"))[1]["token"]
    await admin_call(http, url, root, "PATCH", "settings", json={"registration": "invite"})
    short = await admin_call(http, url, root, "POST", "invites", json={"expires_in": 60})
    once = await admin_call(
        http, url, root, "POST", "invites", json={"expires_in": 600, "max_uses": 1}
    )
    kept = await admin_call(http, url, root, "POST", "invites", json={})
    assert kept["expires_at"] == START_MS + 7 * 86_400_000
    for body in ({"expires_in": 59}, {"expires_in": 31 * 86_400}, {"max_uses": 0}, {"x": 1}):
        reply = await call_api(http, "POST", f"{url}/api/v1/admin/invites", root, json=body)
        assert reply.status == 400, body

    assert (await sign_up(http, url, "ann", once["code"]))[0] == 201
    assert await sign_up(http, url, "bob", once["code"]) == refused(reg.BAD_INVITE)
    clock.now += 60_000
    assert await sign_up(http, url, "bob", short["code"]) == refused(reg.BAD_INVITE)
    await admin_call(http, url, root, "DELETE", f"invites/{kept['id']}")
    assert await sign_up(http, url, "bob", kept["code"]) == refused(reg.BAD_INVITE)
    gone = await call_api(http, "DELETE", f"{url}/api/v1/admin/invites/{kept['id']}", root)
    assert (gone.status, gone.body["code"]) == (404, "not_found")
    actions = [e["action"] for e in (await admin_call(http, url, root, "GET", "audit"))["entries"]]
    assert actions[:4] == ["invite_revoke", "invite_create", "invite_create", "invite_create"]


async def guest(url: str, http: aiohttp.ClientSession, address: str | None = None) -> Any:
    headers = {"X-Forwarded-For": address} if address else {}
    return await http.ws_connect(url + "/", headers=headers)


async def close_code(ws: aiohttp.ClientWebSocketResponse) -> int | None:
    message = await asyncio.wait_for(ws.receive(), 5)
    assert message.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED), message
    return ws.close_code


async def refused_status(url: str, http: aiohttp.ClientSession, address: str | None = None) -> int:
    with pytest.raises(aiohttp.WSServerHandshakeError) as refusal:
        await guest(url, http, address)
    return refusal.value.status


async def still_chatting(ws: aiohttp.ClientWebSocketResponse, line: str) -> None:
    await ws.send_str(line)
    message = await asyncio.wait_for(ws.receive(), 5)
    assert (message.type, message.data) == (aiohttp.WSMsgType.TEXT, line)


async def test_guests_turned_off_at_run_time_are_closed_and_refused(
    server: RunningServer, http: aiohttp.ClientSession
) -> None:
    url = server.url
    root = (await sign_up(http, url, "root"))[1]["token"]
    ann = await guest(url, http)
    ben = await guest(url, http, "203.0.113.5")
    await still_chatting(ann, "hello")
    await asyncio.wait_for(ben.receive(), 5)  # ann's line
    await admin_call(http, url, root, "PATCH", "settings", json={"guests": False})
    assert await close_code(ann) == CloseCode.GUESTS_OFF
    assert await close_code(ben) == CloseCode.GUESTS_OFF
    assert await refused_status(url, http) == 403
    await admin_call(http, url, root, "PATCH", "settings", json={"guests": None})  # config: on
    again = await guest(url, http)
    await still_chatting(again, "back")
    await again.close()


async def test_a_banned_address_guests_are_closed_and_refused(
    server: RunningServer, http: aiohttp.ClientSession
) -> None:
    url = server.url
    root = (await sign_up(http, url, "root"))[1]["token"]
    banned = await guest(url, http, "203.0.113.5")
    other = await guest(url, http, "198.51.100.1")
    banned_v6 = await guest(url, http, "2001:db8::7")
    made = await admin_call(
        http, url, root, "POST", "guest-bans", json={"address": "203.0.113.9/24"}
    )
    assert made == {"address": "203.0.113.0/24"}
    assert await close_code(banned) == CloseCode.GUEST_BANNED
    await admin_call(http, url, root, "POST", "guest-bans", json={"address": "2001:db8::/32"})
    assert await close_code(banned_v6) == CloseCode.GUEST_BANNED
    await still_chatting(other, "still here")
    assert await refused_status(url, http, "203.0.113.200") == 403
    listed = await admin_call(http, url, root, "GET", "guest-bans")
    assert listed == {"bans": ["2001:db8::/32", "203.0.113.0/24"]}
    for address in ("nonsense", "10.0.0.0/33", ""):
        bad = await call_api(
            http, "POST", f"{url}/api/v1/admin/guest-bans", root, json={"address": address}
        )
        assert (bad.status, bad.body["code"]) == (400, "bad_request"), address
    await admin_call(http, url, root, "DELETE", f"guest-bans/{quote('203.0.113.0/24', safe='')}")
    welcome = await guest(url, http, "203.0.113.200")
    await still_chatting(welcome, "let in")
    for ws in (other, welcome):
        await ws.close()
    audit = await admin_call(http, url, root, "GET", "audit")
    assert [(e["action"], e["room"], e["target"]) for e in audit["entries"][:3]] == [
        ("guest_unban", "", "203.0.113.0/24"),
        ("guest_ban", "", "2001:db8::/32"),
        ("guest_ban", "", "203.0.113.0/24"),
    ]


async def test_another_node_sees_a_change_within_a_second(
    tmp_path: Path, http: aiohttp.ClientSession
) -> None:
    try:
        async with two_nodes(tmp_path) as (a, b):
            root = await register(http, a.url, "root")
            on_b = await guest(b.url, http)
            await still_chatting(on_b, "hi")
            changed_at = time.monotonic()
            await admin_call(
                http,
                a.url,
                root,
                "PATCH",
                "settings",
                json={"guests": False, "registration": "closed"},
            )
            assert await close_code(on_b) == CloseCode.GUESTS_OFF
            assert time.monotonic() - changed_at < 1.0
            assert await mode(http, b.url) == "closed"
            assert await sign_up(http, b.url, "ann") == refused(reg.CLOSED)
            assert await refused_status(b.url, http) == 403
    finally:
        pg.drop_created()


def test_the_registration_setting_is_checked() -> None:
    assert load(env={"HUBBUB_REGISTRATION": "invite"}).registration == "invite"
    with pytest.raises(ConfigError, match="HUBBUB_REGISTRATION must be one of open, closed"):
        load(env={"HUBBUB_REGISTRATION": "sometimes"})
