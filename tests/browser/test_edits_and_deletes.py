"""Edits, deletes and role changes made elsewhere show in the page: live, in one row, and the
same after a reload (history brings messages as they stand)."""

from __future__ import annotations

import aiohttp
from chatpage import login_token, two_people_in_a_room
from playwright.async_api import Browser, expect
from support import RunningServer, bearer


async def test_edits_deletes_and_roles_show_live_and_after_a_reload(
    server: RunningServer, browser: Browser, http: aiohttp.ClientSession
) -> None:
    _, alice, bob = await two_people_in_a_room(browser, server.url)
    await alice.send("helo")
    await alice.send("a secret")
    await bob.wait_bodies(["helo", "a secret"])
    rows = bob.page.locator("#message-list .msg")
    first_seq = await rows.nth(0).get_attribute("data-seq")
    second_seq = await rows.nth(1).get_attribute("data-seq")
    untouched = await rows.nth(1).element_handle()

    token = await login_token(http, server.url, "alice")
    messages = f"{server.url}/api/v1/rooms/den/messages"
    async with http.patch(
        f"{messages}/{first_seq}", json={"body": "hello"}, headers=bearer(token)
    ) as edited:
        assert edited.status == 200, await edited.text()
    await bob.wait_bodies(["hello (edited)", "a secret"])
    # Only the edited row was made again.
    assert await untouched.evaluate("node => node.isConnected")

    async with http.delete(f"{messages}/{second_seq}", headers=bearer(token)) as deleted:
        assert deleted.status == 200, await deleted.text()
    await bob.wait_bodies(["hello (edited)", "Message deleted"])
    async with http.put(
        f"{server.url}/api/v1/rooms/den/roles/bob", json={"role": "admin"}, headers=bearer(token)
    ) as role:
        assert role.status == 204, await role.text()
    line = bob.page.locator("#message-list .member-line").last
    await expect(line).to_contain_text("alice made you an admin")

    await bob.page.reload()
    await bob.wait_room("den")
    await bob.wait_bodies(["hello (edited)", "Message deleted"])
    await expect(bob.page.locator("#message-list .member-line").last).to_contain_text(
        "alice made you an admin"
    )
    for page in (alice, bob):
        page.assert_no_errors()
