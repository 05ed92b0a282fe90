"""The server restarts mid-conversation: both pages come back by themselves, lose nothing,
and show every message exactly once, in order."""

from __future__ import annotations

import asyncio
from pathlib import Path

import aiohttp
from chatpage import ChatPage, eventually, new_context, sign_in_over_http
from playwright.async_api import Browser, expect
from support import PASSWORD, ServerProcess, read_history


async def test_pages_reconnect_after_a_restart_and_show_everything_once(
    tmp_path: Path, browser: Browser, http: aiohttp.ClientSession
) -> None:
    server = ServerProcess(tmp_path / "data")
    await asyncio.to_thread(server.start)
    try:
        alice_context = await new_context(browser)
        bob_context = await new_context(browser)
        await sign_in_over_http(alice_context, server.url, "alice")
        await sign_in_over_http(bob_context, server.url, "bob")
        created = await alice_context.request.post(
            f"{server.url}/api/v1/rooms", data={"name": "ops"}
        )
        assert created.status == 201
        joined = await bob_context.request.post(f"{server.url}/api/v1/rooms/ops/join")
        assert joined.status == 200

        alice = await ChatPage.open(alice_context, server.url, "/#/room/ops")
        bob = await ChatPage.open(bob_context, server.url, "/#/room/ops")
        for page in (alice, bob):
            await page.wait_online()
            await page.wait_room("ops")

        await alice.send("before 1")
        await bob.send("before 2")
        await alice.wait_bodies(["before 1", "before 2"])

        # A graceful restart: the server closes every socket with 1001 (going away).
        assert await asyncio.to_thread(server.terminate) == 0
        for page in (alice, bob):
            await expect(page.page.locator("#conn-banner")).to_have_attribute(
                "data-state", "reconnecting"
            )
            await expect(page.page.locator("#conn-text")).to_contain_text("Reconnecting in")

        # Written while the server is away: shown at once, as pending.
        await alice.send("during 1")
        await bob.send("during 2")
        await expect(alice.messages("pending")).to_have_count(1)
        await expect(bob.messages("pending")).to_have_count(1)

        server.stop()
        server = ServerProcess(tmp_path / "data", port=server.port)
        await asyncio.to_thread(server.start)
        # Someone else posts as soon as the server is back, racing the pages' reconnects:
        # the pages get it by sync replay or live, and either way once.
        async with http.post(
            f"{server.url}/api/v1/login", json={"username": "alice", "password": PASSWORD}
        ) as response:
            token = (await response.json())["token"]
        async with http.post(
            f"{server.url}/api/v1/register", json={"username": "carol", "password": PASSWORD}
        ) as response:
            carol = (await response.json())["token"]
        carol_auth = {"Authorization": f"Bearer {carol}"}
        async with http.post(f"{server.url}/api/v1/rooms/ops/join", headers=carol_auth) as r:
            assert r.status == 200
        async with http.post(
            f"{server.url}/api/v1/rooms/ops/messages",
            json={"client_msg_id": "carol-1", "body": "during 3 (carol)"},
            headers=carol_auth,
        ) as r:
            assert r.status == 201

        for page in (alice, bob):
            await page.wait_online()
            await expect(page.messages("pending")).to_have_count(0)

        await alice.send("after 1")
        await bob.send("after 2")

        async def stored_bodies() -> list[str]:
            events = await read_history(http, server.url, token, "ops")
            return [e["body"] for e in events if e["type"] == "message"]

        everything = await eventually(stored_bodies, lambda bodies: len(bodies) == 7)
        assert sorted(everything) == sorted(
            [
                "before 1",
                "before 2",
                "during 1",
                "during 2",
                "during 3 (carol)",
                "after 1",
                "after 2",
            ]
        )
        for page in (alice, bob):
            await page.wait_bodies(everything)
            await expect(page.messages("sent")).to_have_count(7)
            page.assert_no_errors()
    finally:
        server.stop()
