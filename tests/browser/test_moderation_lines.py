"""Moderation in the page: each one is a line of the room's timeline ("alice banned bob"), and
the banned member's page says they were banned and stops offering to write there."""

from __future__ import annotations

from chatpage import ChatPage, new_context, sign_in_over_http, two_people_in_a_room
from playwright.async_api import Browser, expect
from support import RunningServer


async def test_a_ban_is_a_line_and_the_banned_page_says_so(
    server: RunningServer, browser: Browser
) -> None:
    alice_context, alice, bob = await two_people_in_a_room(browser, server.url)  # alice owns den
    carol_context = await new_context(browser)
    await sign_in_over_http(carol_context, server.url, "carol")
    assert (await carol_context.request.post(f"{server.url}/api/v1/rooms/den/join")).ok
    carol = await ChatPage.open(carol_context, server.url, "/#/room/den")
    await carol.wait_online()
    await carol.wait_room("den")
    await bob.send("<b>spam</b> spam")
    await carol.wait_bodies(["<b>spam</b> spam"])

    api = f"{server.url}/api/v1/rooms/den"
    muted = await alice_context.request.put(f"{api}/mutes/carol", data={})
    assert muted.status == 204
    banned = await alice_context.request.put(f"{api}/bans/bob", data={"reason": "<i>spam</i>"})
    assert banned.status == 204

    lines = carol.page.locator("#message-list .member-line")
    await expect(lines.last.locator("span").first).to_have_text("alice banned bob (<i>spam</i>)")
    await expect(lines.nth(-2)).to_contain_text("alice muted you")
    await expect(carol.page.locator("#message-list i")).to_have_count(0)  # text, not HTML
    await expect(alice.page.locator("#message-list .member-line").last).to_contain_text(
        "You banned bob"
    )

    # bob's page: the line, and the room is no longer his to write in.
    await expect(bob.page.locator("#message-list .member-line").last).to_contain_text(
        "alice banned you (<i>spam</i>)"
    )
    await expect(bob.page.locator("#room-sub")).to_have_text("You were banned from this room")
    await expect(bob.page.locator("#composer-input")).to_be_disabled()

    # Opened again (a reload: the room is no longer in his list), the page says why.
    await bob.page.reload()
    await bob.wait_online()
    empty = bob.page.locator("#room-empty")
    await expect(empty.locator("h2")).to_have_text("You are banned from this room")
    await expect(empty.locator("p")).to_have_text("The server says: you are banned from 'den'.")

    unbanned = await alice_context.request.delete(f"{api}/bans/bob")
    assert unbanned.status == 204
    await expect(lines.last).to_contain_text("alice lifted the ban of bob")
    for page in (alice, bob, carol):
        page.assert_no_errors()
