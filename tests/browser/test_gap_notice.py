"""A room whose missed events the server cannot send (a hole past the replay bound, told by
an unasked `synced`) is loaded afresh from its newest page, without waiting for more."""

from __future__ import annotations

from pathlib import Path

import aiohttp
from chatpage import ChatPage, new_context
from playwright.async_api import Browser
from support import FaultyBroker, bearer, config_for, register, running_server


async def test_a_hole_the_server_cannot_fill_reloads_the_room(
    tmp_path: Path, browser: Browser
) -> None:
    broker = FaultyBroker("flood", lose=range(3, 10))  # 7 events lost, the bound is 5
    config = config_for(tmp_path, replay_bound=5)
    async with running_server(config, broker=broker) as server, aiohttp.ClientSession() as http:
        alice = await register(http, server.url, "alice")
        api = f"{server.url}/api/v1/rooms"
        async with http.post(api, json={"name": "flood"}, headers=bearer(alice)) as created:
            assert created.status == 201  # seq 1
        bob = await ChatPage.open(await new_context(browser), server.url)
        await bob.sign_up("bob")
        await bob.wait_online()
        await bob.join_from_directory("flood")  # seq 2
        await bob.wait_room("flood")

        bodies = [f"lost {i}" for i in range(7)] + ["past the hole"]  # seqs 3-9, then 10
        for i, body in enumerate(bodies):
            async with http.post(
                f"{api}/flood/messages",
                json={"client_msg_id": f"m{i}", "body": body},
                headers=bearer(alice),
            ) as sent:
                assert sent.status == 201
        assert broker.lost == list(range(3, 10))

        # Only seq 10 showed the hole, and it was not sent: the page asks for the room.
        await bob.wait_bodies(bodies)
        bob.assert_no_errors()
