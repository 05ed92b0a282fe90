"""What a moderator reads, over the WebSocket and the HTTP API, on each storage engine: the
bans in force (``bans``, for the owner, the admins and the server's admin alone) and who is
muted now (``muted`` in the ``members`` reply, as every member reads it in the room's events).

``root`` is the server's admin (its first account), ``olive`` owns ``pub`` (public) and a DM
with ``mia``, ``adam`` is an admin of ``pub``, ``mia`` and ``max`` are members and ``otto``
is in no room."""

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
MINUTE = 60_000


@dataclass
class World:
    server: RunningServer
    clock: ServerClock
    tokens: dict[str, str]

    async def call(
        self, http: aiohttp.ClientSession, user: str, method: str, path: str, body: Any = None
    ) -> Any:
        url = f"{self.server.url}/api/v1/{path}"
        return await call_api(http, method, url, self.tokens[user], json=body)

    async def ok(self, http: aiohttp.ClientSession, user: str, method: str, path: str) -> Any:
        reply = await self.call(http, user, method, path, {} if method == "PUT" else None)
        assert reply.status < 300, (method, path, reply.status, reply.body)
        return reply.body


@pytest.fixture
async def world(
    tmp_path: Path, storage_url: str, http: aiohttp.ClientSession
) -> AsyncIterator[World]:
    clock = ServerClock()
    config = config_for(tmp_path / "data", storage_url=storage_url, room_action_burst=10_000.0)
    async with running_server(config, clock=clock) as server:
        tokens = {user: await register(http, server.url, user) for user in USERS}
        world = World(server, clock, tokens)
        made = await world.call(http, "olive", "POST", "rooms", {"name": "pub"})
        assert made.status == 201, made.body
        for user in ("adam", "mia", "max"):
            joined = await world.call(http, user, "POST", "rooms/pub/join")
            assert joined.status == 200, joined.body
        role = await world.call(http, "olive", "PUT", "rooms/pub/roles/adam", {"role": "admin"})
        assert role.status == 204, role.body
        dm = await world.call(http, "olive", "POST", "dm", {"user": "mia"})
        assert dm.status == 200, dm.body
        yield world


async def test_moderators_list_the_bans_newest_first_and_nobody_else(
    world: World, http: aiohttp.ClientSession
) -> None:
    banned_max = await world.call(http, "olive", "PUT", "rooms/pub/bans/max", {"reason": "<b>x"})
    assert banned_max.status == 204
    world.clock.now += 1
    await world.ok(http, "adam", "PUT", "rooms/pub/bans/otto")  # no member: banned too
    expected = [
        {"user": "otto", "by": "adam", "reason": "", "ts": world.clock.now},
        {"user": "max", "by": "olive", "reason": "<b>x", "ts": world.clock.now - 1},
    ]
    for user in ("olive", "adam", "root"):  # root is in no room: the server's admin
        async with Client.connect(http, world.server.url, world.tokens[user]) as client:
            reply = await client.request("bans", room="PUB")
            assert reply == {"type": "bans", "re": reply["re"], "room": "pub", "bans": expected}
        listed = await world.call(http, user, "GET", "rooms/pub/bans")
        assert (listed.status, listed.body) == (200, {"room": "pub", "bans": expected})

    only = "only the room's owner and admins can list its bans"
    for user in ("mia", "otto"):  # a member; one who may see the public room
        async with Client.connect(http, world.server.url, world.tokens[user]) as client:
            refused = await client.request("bans", room="pub")
            assert (refused["code"], refused["message"]) == ("forbidden", only), refused
        over_http = await world.call(http, user, "GET", "rooms/pub/bans")
        assert (over_http.status, over_http.body["message"]) == (403, only)
    dm = await world.call(http, "olive", "GET", "rooms/dm:mia:olive/bans")
    assert (dm.status, dm.body["message"]) == (403, "a direct-message room has no moderation")
    missing = await world.call(http, "root", "GET", "rooms/ghost/bans")
    assert (missing.status, missing.body["code"]) == (404, "not_found")

    await world.ok(http, "adam", "DELETE", "rooms/pub/bans/otto")
    listed = await world.call(http, "olive", "GET", "rooms/pub/bans")
    assert [ban["user"] for ban in listed.body["bans"]] == ["max"]


async def test_members_say_who_is_muted_now_and_until_when(
    world: World, http: aiohttp.ClientSession
) -> None:
    async def muted(user: str = "mia") -> tuple[Any, Any]:
        async with Client.connect(http, world.server.url, world.tokens[user]) as client:
            reply = await client.request("members", room="pub")
        listed = await world.call(http, user, "GET", "rooms/pub/members")
        assert listed.status == 200, listed.body
        return reply.get("muted"), listed.body.get("muted")

    assert await muted() == (None, None)  # left out when nobody is
    until = world.clock.now + MINUTE
    put = await world.call(http, "adam", "PUT", "rooms/pub/mutes/mia", {"until": until})
    assert put.status == 204, put.body
    await world.ok(http, "olive", "PUT", "rooms/pub/mutes/max")  # until lifted
    assert await muted() == ({"max": None, "mia": until},) * 2
    assert await muted("otto") == ({"max": None, "mia": until},) * 2  # the room is public
    world.clock.now = until  # mia's has run out
    assert await muted() == ({"max": None},) * 2
    # A mute outlasts leaving, but only members are listed.
    await world.ok(http, "olive", "DELETE", "rooms/pub/members/max")
    assert await muted() == (None, None)
