"""Moderation over the WebSocket and the HTTP API, on each storage engine.

``root`` is the server's admin (its first account), ``olive`` owns ``pub`` (public) and
``priv`` (private), ``adam`` is an admin of both, ``mia`` and ``max`` are members and ``otto``
is in neither. Each moderation is tried by each of them: only the owner, the admins and the
server's admin succeed, and a refusal of a private room tells an outsider what a missing room
would. A banned user cannot come back by any request until unbanned; a muted member cannot
send or react until unmuted or until the mute runs out (on the server's injected clock).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from support import (
    Client,
    RunningServer,
    ServerClock,
    call_api,
    config_for,
    register,
    running_server,
)

STORAGE_ENGINES = ("sqlite", "postgresql")
USERS = ("root", "olive", "adam", "mia", "max", "otto")
ROOMS = ("pub", "priv")
MINUTE = 60_000


@dataclass
class World:
    server: RunningServer
    clock: ServerClock
    tokens: dict[str, str]

    @property
    def api(self) -> str:
        return f"{self.server.url}/api/v1"


@pytest.fixture
async def world(
    tmp_path: Path, storage_url: str, http: aiohttp.ClientSession
) -> AsyncIterator[World]:
    clock = ServerClock()
    config = config_for(tmp_path / "data", storage_url=storage_url, room_action_burst=10_000.0)
    async with running_server(config, clock=clock) as server:
        tokens = {user: await register(http, server.url, user) for user in USERS}
        world = World(server, clock, tokens)
        for room in ROOMS:
            made = await call_api(
                http,
                "POST",
                f"{world.api}/rooms",
                tokens["olive"],
                json={"name": room, "private": room == "priv"},
            )
            assert made.status == 201, made.body
            for user in ("adam", "mia", "max"):
                await ok(http, world, "olive", "POST", f"rooms/{room}/invite", {"user": user})
                await ok(http, world, user, "POST", f"invitations/{room}/accept")
            await ok(http, world, "olive", "PUT", f"rooms/{room}/roles/adam", {"role": "admin"})
        yield world


async def ok(
    http: aiohttp.ClientSession,
    world: World,
    user: str,
    method: str,
    path: str,
    body: Any = None,
) -> Any:
    reply = await call_api(http, method, f"{world.api}/{path}", world.tokens[user], json=body)
    assert reply.status < 300, (method, path, reply.status, reply.body)
    return reply.body


async def members(http: aiohttp.ClientSession, world: World, room: str) -> list[str]:
    return list((await ok(http, world, "olive", "GET", f"rooms/{room}/members"))["users"])


# Each moderation: its WebSocket fields (on ``max``, or the settings), what sets the stage
# for it, and how it is undone (both by the server's admin, over HTTP).
ACTIONS: dict[str, dict[str, Any]] = {
    "kick": {"user": "max"},
    "ban": {"user": "max", "reason": "flooding"},
    "unban": {"user": "max"},
    "mute": {"user": "max"},
    "unmute": {"user": "max"},
    "room_settings": {"topic": "new topic"},
}


async def reset(http: aiohttp.ClientSession, world: World, room: str, action: str) -> None:
    """``max`` a member, neither banned nor muted, the topic empty; then what ``action``
    needs to change something (a ban to lift, a mute to lift)."""
    await ok(http, world, "root", "DELETE", f"rooms/{room}/bans/max")
    await ok(http, world, "root", "DELETE", f"rooms/{room}/mutes/max")
    await ok(http, world, "root", "PATCH", f"rooms/{room}", {"topic": ""})
    if "max" not in await members(http, world, room):
        await ok(http, world, "olive", "POST", f"rooms/{room}/invite", {"user": "max"})
        await ok(http, world, "max", "POST", f"invitations/{room}/accept")
    if action == "unban":
        await ok(http, world, "root", "PUT", f"rooms/{room}/bans/max", {})
    if action == "unmute":
        await ok(http, world, "root", "PUT", f"rooms/{room}/mutes/max", {})


@pytest.mark.parametrize("action", list(ACTIONS))
async def test_only_the_owner_admins_and_server_admin_may_moderate(
    world: World, http: aiohttp.ClientSession, action: str
) -> None:
    async with Client.connect(http, world.server.url, world.tokens["otto"], sync={}) as otto:
        for room in ROOMS:
            for actor in ("mia", "otto", "root", "olive", "adam"):
                await reset(http, world, room, action)
                audited = len(await audit(http, world))
                async with Client.connect(
                    http, world.server.url, world.tokens[actor], sync={}
                ) as client:
                    reply = await client.request(action, room=room, **ACTIONS[action])
                if actor in ("root", "olive", "adam"):
                    assert reply["type"] == "ok", (actor, room, reply)
                    [entry, *_] = await audit(http, world)
                    assert (entry["actor"], entry["action"], entry["room"]) == (actor, action, room)
                    assert len(await audit(http, world)) == audited + 1
                    continue
                assert reply["type"] == "error", (actor, room, reply)
                if actor == "otto" and room == "priv":
                    missing = await client_request(http, world, "otto", action, "ghost")
                    assert reply["code"] == "not_found"
                    assert reply["message"].replace("priv", "ghost") == missing["message"]
                else:
                    assert reply["code"] == "forbidden", reply
                assert len(await audit(http, world)) == audited  # nothing happened
        await otto.ok("ping")
        assert [e for e in otto.events if e.get("room") == "priv"] == []


# Each moderation over HTTP, on ``max`` (or the settings).
HTTP_ACTIONS: dict[str, tuple[str, str, Any]] = {
    "kick": ("DELETE", "members/max", None),
    "ban": ("PUT", "bans/max", {"reason": "flooding"}),
    "unban": ("DELETE", "bans/max", None),
    "mute": ("PUT", "mutes/max", {}),
    "unmute": ("DELETE", "mutes/max", None),
    "room_settings": ("PATCH", "", {"topic": "new topic"}),
}


async def test_a_deactivated_admin_moderates_nothing(
    world: World, http: aiohttp.ClientSession
) -> None:
    """adam, an admin of both rooms, deactivated by the server's admin: his token no longer
    works, so every moderation he tries, over HTTP or a WebSocket, is refused, and nothing
    changes."""
    await ok(http, world, "root", "POST", "admin/users/adam/deactivate")
    for room in ROOMS:
        for action, (method, path, body) in HTTP_ACTIONS.items():
            await reset(http, world, room, action)
            audited = await audit(http, world)
            state = await call_api(http, "GET", f"{world.api}/rooms", world.tokens["olive"])
            before = (await members(http, world, room), state.body)
            url = f"{world.api}/rooms/{room}" + (f"/{path}" if path else "")
            reply = await call_api(http, method, url, world.tokens["adam"], json=body)
            assert (reply.status, reply.body["code"]) == (401, "unauthenticated"), action
            async with http.ws_connect(
                world.server.ws_url,
                protocols=("hubbub.v1",),
                headers={"Authorization": f"Bearer {world.tokens['adam']}"},
            ) as ws:
                await ws.send_json({"type": action, "id": 1, "room": room, **ACTIONS[action]})
                refusal = (await ws.receive()).json()
                assert refusal["code"] == "unauthenticated" and "re" not in refusal
                await ws.receive()
                assert ws.close_code == 4401
            state = await call_api(http, "GET", f"{world.api}/rooms", world.tokens["olive"])
            assert (await members(http, world, room), state.body) == before, action
            assert await audit(http, world) == audited, action


async def client_request(
    http: aiohttp.ClientSession, world: World, user: str, action: str, room: str
) -> dict[str, Any]:
    async with Client.connect(http, world.server.url, world.tokens[user]) as client:
        return await client.request(action, room=room, **ACTIONS[action])


async def audit(http: aiohttp.ClientSession, world: World, **params: Any) -> list[dict[str, Any]]:
    reply = await call_api(
        http, "GET", f"{world.api}/admin/audit", world.tokens["root"], params=params
    )
    assert reply.status == 200, reply.body
    return list(reply.body["entries"])


async def test_nobody_moderates_themselves_and_admins_not_the_owner(
    world: World, http: aiohttp.ClientSession
) -> None:
    async with (
        Client.connect(http, world.server.url, world.tokens["adam"]) as adam,
        Client.connect(http, world.server.url, world.tokens["olive"]) as olive,
    ):
        for kind in ("kick", "ban", "mute"):
            refused = await adam.request(kind, room="pub", user="olive")
            assert (refused["code"], refused["message"]) == (
                "forbidden",
                f"you cannot {kind} 'olive': they stand as high as you or higher",
            )
            itself = await olive.request(kind, room="pub", user="olive")
            assert (itself["code"], itself["message"]) == (
                "bad_request",
                f"you cannot {kind} yourself",
            )
    assert "olive" in await members(http, world, "pub")
    assert await audit(http, world) == []


async def test_a_kicked_member_is_told_and_may_join_again(
    world: World, http: aiohttp.ClientSession
) -> None:
    async with (
        Client.connect(http, world.server.url, world.tokens["mia"], sync={}) as mia,
        Client.connect(http, world.server.url, world.tokens["max"], sync={}) as max_,
    ):
        await ok(http, world, "adam", "DELETE", "rooms/pub/members/max")
        await max_.wait_for(lambda c: c.room_events("pub", "member_kicked"))
        [kicked] = max_.room_events("pub", "member_kicked")
        assert (kicked["user"], kicked["by"]) == ("max", "adam")
        await mia.wait_for(lambda c: c.room_events("pub", "member_kicked"))
        await mia.send("pub", "after the kick")
        await mia.wait_for(lambda c: len(c.room_events("pub", "message")) == 1)
        await max_.ok("ping")
        assert max_.room_events("pub", "message") == []  # no longer followed
        joined = await max_.ok("join", room="pub")
        assert joined["name"] == "pub"


async def test_a_banned_user_gets_back_by_no_request_until_unbanned(
    world: World, http: aiohttp.ClientSession
) -> None:
    for room in ROOMS:
        await ok(http, world, "adam", "PUT", f"rooms/{room}/bans/max", {"reason": "spam"})
    async with Client.connect(http, world.server.url, world.tokens["max"], sync={}) as max_:
        assert (await max_.ok("rooms"))["rooms"] == []
        refusals: dict[str, dict[str, Any] | None] = {
            "join": {},
            "history": {},
            "thread": {"root": 1},
            "members": {},
            "send": {"body": "hi", "client_msg_id": "x1"},
            "search": {"query": "hello"},
            "sync": None,
        }
        for room in ROOMS:
            for kind, fields in refusals.items():
                asked: dict[str, Any] = {"since": {room: 0}}
                if fields is not None:
                    asked = {"room": room, **fields}
                reply = await max_.request(kind, **asked)
                assert reply["type"] == "error", (room, kind, reply)
                if room == "priv" or kind in ("search", "sync"):  # as if it did not exist
                    assert reply["code"] == "not_found", (room, kind, reply)
                else:
                    assert reply["code"] == "forbidden", (room, kind, reply)
            for path in ("messages", "threads/1", "members"):
                over_http = await call_api(
                    http, "GET", f"{world.api}/rooms/{room}/{path}", world.tokens["max"]
                )
                assert over_http.status == (404 if room == "priv" else 403), over_http.body
        pub_history = await max_.request("history", room="pub")
        assert pub_history["message"] == "you are banned from 'pub'"
        async with Client.connect(http, world.server.url, world.tokens["mia"]) as mia:
            for room in ROOMS:
                invited = await mia.request("invite", room=room, user="max")
                assert (invited["code"], invited["message"]) == (
                    "forbidden",
                    f"'max' is banned from '{room}'",
                )
        await ok(http, world, "olive", "DELETE", "rooms/pub/bans/max")
        await max_.ok("join", room="pub")
        assert len((await max_.ok("history", room="pub"))["events"]) > 0
        still = await max_.request("join", room="priv")
        assert still["code"] == "not_found"  # private: no join; and an invitation is refused
    entries = await audit(http, world)
    assert [(e["action"], e["room"], e["target"], e["detail"]) for e in entries] == [
        ("unban", "pub", "max", ""),
        ("ban", "priv", "max", "spam"),
        ("ban", "pub", "max", "spam"),
    ]


async def test_a_muted_member_cannot_send_or_react_until_unmuted_or_expired(
    world: World, http: aiohttp.ClientSession
) -> None:
    async with (
        Client.connect(http, world.server.url, world.tokens["mia"], sync={}) as mia,
        Client.connect(http, world.server.url, world.tokens["adam"], sync={}) as adam,
    ):
        hello = await adam.send("pub", "hello")
        until = world.clock.now + MINUTE
        await adam.ok("mute", room="pub", user="mia", until=until)
        await mia.wait_for(lambda c: c.room_events("pub", "member_muted"))
        [muted] = mia.room_events("pub", "member_muted")
        assert (muted["user"], muted["by"], muted["until"]) == ("mia", "adam", until)

        async def refused() -> None:
            sent = await mia.request("send", room="pub", body="hm", client_msg_id=f"m{until}")
            assert sent["code"] == "forbidden" and "you are muted in 'pub'" in sent["message"]
            react = await mia.request("react", room="pub", seq=hello["seq"], emoji="👍", on=True)
            assert react["code"] == "forbidden", react
            posted = await call_api(
                http,
                "POST",
                f"{world.api}/rooms/pub/messages",
                world.tokens["mia"],
                json={"client_msg_id": "h1", "body": "over http"},
            )
            assert posted.status == 403 and "muted" in posted.body["message"], posted.body

        await refused()
        assert (await mia.ok("history", room="pub"))["events"]  # she still reads the room
        await mia.send("priv", "elsewhere she speaks")
        world.clock.now = until - 1
        await refused()
        world.clock.now = until  # the mute has run out: nobody needs to lift it
        await mia.send("pub", "I'm back")
        await mia.ok("react", room="pub", seq=hello["seq"], emoji="👍", on=True)

        await adam.ok("mute", room="pub", user="mia")  # until lifted
        world.clock.now += 7 * 24 * 60 * MINUTE  # within the tokens' lifetime
        await refused()
        await adam.ok("unmute", room="pub", user="mia")
        await mia.send("pub", "free again")
        past = await adam.request("mute", room="pub", user="mia", until=world.clock.now)
        assert past["code"] == "bad_request", past


async def test_room_settings_change_the_topic_and_kind_and_refuse_a_rename(
    world: World, http: aiohttp.ClientSession
) -> None:
    async with Client.connect(http, world.server.url, world.tokens["mia"], sync={}) as mia:
        await ok(http, world, "adam", "PATCH", "rooms/priv", {"topic": "plans", "private": False})
        await mia.wait_for(lambda c: c.room_events("priv", "room_changed"))
        [changed] = mia.room_events("priv", "room_changed")
        assert (changed["user"], changed["topic"], changed["private"]) == ("adam", "plans", False)
        listed = await ok(http, world, "otto", "GET", "directory")
        assert "priv" in [room["name"] for room in listed["rooms"]]
        too_long = await call_api(
            http,
            "PATCH",
            f"{world.api}/rooms/pub",
            world.tokens["olive"],
            json={"topic": "x" * 251},
        )
        assert too_long.status == 400, too_long.body
        await ok(http, world, "olive", "PATCH", "rooms/pub", {"topic": "é" * 250})
        rename = await mia.request("room_settings", room="pub", name="other")
        assert rename["code"] == "bad_request"
        assert "cannot be renamed" in rename["message"], rename
        renamed = await call_api(
            http, "PATCH", f"{world.api}/rooms/pub", world.tokens["olive"], json={"name": "x"}
        )
        assert renamed.status == 400 and "cannot be renamed" in renamed.body["message"]


async def test_the_server_admin_deletes_any_message(
    world: World, http: aiohttp.ClientSession
) -> None:
    async with Client.connect(http, world.server.url, world.tokens["mia"]) as mia:
        sent = await mia.send("priv", "regrettable")
    gone = await call_api(
        http, "DELETE", f"{world.api}/rooms/priv/messages/{sent['seq']}", world.tokens["root"]
    )
    assert gone.status == 200 and gone.body["deleted"] is True, gone.body
    [entry] = await audit(http, world)
    assert (entry["actor"], entry["action"], entry["target"]) == ("root", "delete", "mia")
    refused = await call_api(
        http, "DELETE", f"{world.api}/rooms/priv/messages/{sent['seq']}", world.tokens["otto"]
    )
    assert refused.status == 404


async def test_the_audit_log_is_for_the_server_admin_newest_first(
    world: World, http: aiohttp.ClientSession
) -> None:
    for n in range(5):
        await ok(http, world, "olive", "PATCH", "rooms/pub", {"topic": f"topic {n}"})
    entries = await audit(http, world)
    assert [e["detail"] for e in entries] == [f"topic=topic {n}" for n in range(4, -1, -1)]
    assert set(entries[0]) == {"id", "ts", "actor", "action", "room", "target", "detail"}
    page = await audit(http, world, before=entries[1]["id"], limit=2)
    assert page == entries[2:4]
    for user in ("olive", "adam", "otto"):
        refused = await call_api(http, "GET", f"{world.api}/admin/audit", world.tokens[user])
        assert refused.status == 403, refused.body
        assert refused.body == {
            "code": "forbidden",
            "message": "only server admins can read the audit log",
        }
    bad = await call_api(
        http, "GET", f"{world.api}/admin/audit", world.tokens["root"], params={"limit": 0}
    )
    assert bad.status == 400
