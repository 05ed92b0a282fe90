from __future__ import annotations

import aiohttp
from support import Client, RunningServer, invite_over_ws, register


async def test_two_users_talk_in_a_room(server: RunningServer, http: aiohttp.ClientSession) -> None:
    alice = await register(http, server.url, "alice")
    bob = await register(http, server.url, "bob")
    async with (
        Client.connect(http, server.url, alice, sync={}) as a,
        Client.connect(http, server.url, bob, sync={}) as b,
    ):
        room = await a.ok("create", name="team", private=True)
        assert room["kind"] == "private"
        await invite_over_ws(a, b, "team", "bob")
        await b.wait_for(lambda c: c.room_events("team", "member_joined"))
        sent = await a.send("team", "hello bob")
        await b.wait_for(lambda c: c.room_events("team", "message"))
        message = b.room_events("team", "message")[0]
        assert message["body"] == "hello bob"
        assert message["seq"] == sent["seq"] == 3
