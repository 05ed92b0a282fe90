"""The directory of public rooms: ``lobby``'s count includes the plain-text guests there."""

from __future__ import annotations

import asyncio

import aiohttp
from support import Client, RunningServer, register

TIMEOUT_S = 5.0


async def counts(client: Client) -> dict[str, int]:
    reply = await client.ok("directory")
    return {room["name"]: room["members"] for room in reply["rooms"]}


async def until_counts(client: Client, expected: dict[str, int]) -> None:
    """Until the directory shows ``expected`` (a guest is counted once its socket is up)."""
    deadline = asyncio.get_running_loop().time() + TIMEOUT_S
    while (got := await counts(client)) != expected:
        assert asyncio.get_running_loop().time() < deadline, got
        await asyncio.sleep(0.02)


async def test_lobby_counts_its_members_and_the_guests_connected(
    server: RunningServer, http: aiohttp.ClientSession
) -> None:
    token = await register(http, server.url, "carol")
    async with Client.connect(http, server.url, token, sync={}) as carol:
        await carol.ok("create", name="den", private=False)
        await carol.ok("join", room="lobby")
        members = len(await server.node.storage.members("lobby"))  # carol, maybe others
        assert await counts(carol) == {"den": 1, "lobby": members}

        ann = await http.ws_connect(server.url + "/", headers={"Origin": "null"})
        ben = await http.ws_connect(server.url + "/", headers={"Origin": "null"})
        try:
            await ann.send_str("start_ann")
            # The members and the two guests; other rooms are counted as before.
            await until_counts(carol, {"den": 1, "lobby": members + 2})
            async with http.get(
                server.url + "/api/v1/directory", headers={"Authorization": f"Bearer {token}"}
            ) as response:
                listed = {r["name"]: r["members"] for r in (await response.json())["rooms"]}
            assert listed == {"den": 1, "lobby": members + 2}  # the HTTP API says the same
        finally:
            await ann.close()
        # A guest gone is no longer counted.
        await until_counts(carol, {"den": 1, "lobby": members + 1})
        await ben.close()
        await until_counts(carol, {"den": 1, "lobby": members})
