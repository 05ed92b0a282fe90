"""A direct message shows whether the other person is online: a dot by their name."""

from __future__ import annotations

from chatpage import ChatPage, new_context
from playwright.async_api import Browser, expect
from support import RunningServer

DM = "dm:alice:bob"


async def test_a_dm_shows_the_other_person_online_until_they_close_their_page(
    server: RunningServer, browser: Browser
) -> None:
    server.node.hub.presence.flush_interval = 0.05
    alice = await ChatPage.open(await new_context(browser), server.url)
    bob = await ChatPage.open(await new_context(browser), server.url)
    await alice.sign_up("alice")
    await bob.sign_up("bob")
    await alice.wait_online()
    await bob.wait_online()

    await bob.open_dm("alice")
    dot = bob.room_link(DM).locator(".presence-dot")
    await expect(dot).to_be_visible()
    await expect(dot).to_have_attribute("data-state", "online")
    await expect(bob.room_link(DM)).to_have_attribute("aria-label", "alice, online")
    await expect(alice.room_link(DM).locator(".presence-dot")).to_be_visible()

    await alice.page.close()  # her only page: she is offline
    await expect(dot).to_be_hidden()
    await expect(bob.room_link(DM)).to_have_attribute("aria-label", "alice")
    bob.assert_no_errors()
