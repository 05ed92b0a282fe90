"""What a new user meets first: links to rooms they are not in, the directory, a phone."""

from __future__ import annotations

import uuid

import aiohttp
from chatpage import ChatPage, new_context, sign_in_over_http
from playwright.async_api import Browser, BrowserContext, expect
from support import RunningServer, until


async def post(context: BrowserContext, url: str, path: str, **data: object) -> None:
    response = await context.request.post(f"{url}/api/v1{path}", data=data)
    assert response.ok, await response.text()


async def say(context: BrowserContext, url: str, room: str, body: str) -> None:
    await post(context, url, f"/rooms/{room}/messages", client_msg_id=uuid.uuid4().hex, body=body)


async def alice_with_rooms(browser: Browser, url: str) -> BrowserContext:
    """alice, with a public room ``den`` holding two messages and a private room ``secret``."""
    context = await new_context(browser)
    await sign_in_over_http(context, url, "alice")
    await post(context, url, "/rooms", name="den")
    await post(context, url, "/rooms", name="secret", private=True)
    await say(context, url, "den", "welcome to den")
    await say(context, url, "den", "read before you join")
    await say(context, url, "secret", "not for bob")
    return context


async def test_a_link_to_a_public_room_offers_join_and_its_recent_history(
    server: RunningServer, browser: Browser
) -> None:
    await alice_with_rooms(browser, server.url)
    bob_context = await new_context(browser)
    await sign_in_over_http(bob_context, server.url, "bob")
    bob = await ChatPage.open(bob_context, server.url, "/#/room/den")
    page = bob.page
    await bob.wait_online()

    # The room's name, that it is public, its messages read-only, and Join.
    await expect(page.locator("#room-label")).to_have_text("den")
    await expect(page.locator("#room-sub")).to_have_text("Public room")
    await expect(page.locator("#join-bar")).to_be_visible()
    await expect(page.locator("#join-text")).to_contain_text("public room")
    await bob.wait_bodies(["welcome to den", "read before you join"])
    await expect(page.locator("#room-empty")).to_be_hidden()
    await expect(page.locator("#composer")).to_be_hidden()
    await expect(page.locator("#message-list .msg-actions")).to_have_count(0)
    await expect(bob.room_link("den")).to_have_count(0)  # not in the sidebar: not a member

    # Join: the room is then shown as any other of the user's.
    await page.click("#join-room")
    await bob.wait_room("den")
    await expect(page.locator("#join-bar")).to_be_hidden()
    await expect(page.locator("#room-sub")).to_have_text("Public room · 2 members")
    await expect(page.locator("#composer-input")).to_be_enabled()
    await bob.wait_bodies(["welcome to den", "read before you join"])
    await expect(page.locator("#message-list .member-line span").last).to_have_text("You joined")
    await bob.send("hello alice")
    await bob.wait_bodies(["welcome to den", "read before you join", "hello alice"])
    await expect(bob.messages("sent")).to_have_count(3)
    assert await page.locator("#message-list .msg-actions").count() == 3
    bob.assert_no_errors()


async def test_a_missing_room_and_a_private_room_of_others_say_no_such_room_alike(
    server: RunningServer, browser: Browser
) -> None:
    await alice_with_rooms(browser, server.url)
    bob_context = await new_context(browser)
    await sign_in_over_http(bob_context, server.url, "bob")
    bob = await ChatPage.open(bob_context, server.url, "/#/room/nowhere")
    page = bob.page
    await bob.wait_online()

    async def what_is_said(room: str) -> tuple[str, str, str, str]:
        empty = page.locator("#room-empty")
        await expect(empty.locator("h2")).to_have_text("No such room")
        await expect(page.locator("#room-label")).to_have_text(room)
        await expect(page.locator("#join-bar")).to_be_hidden()
        await expect(page.locator("#room-icon")).to_be_hidden()
        await expect(page.locator("#composer-input")).to_be_disabled()
        said = (
            await page.locator(".room-head").inner_text(),
            await empty.inner_text(),
            await page.locator("#message-list").inner_text(),
            await page.locator("#history-status").inner_text(),
        )
        # The room's name is the only difference between the two pages.
        return (
            said[0].replace(room, "ROOM"),
            said[1].replace(room, "ROOM"),
            said[2],
            said[3],
        )

    missing = await what_is_said("nowhere")
    await page.evaluate("location.hash = '#/room/secret'")
    private = await what_is_said("secret")
    assert missing == private
    assert "public" not in missing[0].lower() and "private" not in missing[0].lower()
    assert "No such room" in missing[1]
    bob.assert_no_errors()


async def test_the_directory_counts_the_guests_in_lobby(
    server: RunningServer, browser: Browser, http: aiohttp.ClientSession
) -> None:
    bob_context = await new_context(browser)
    await sign_in_over_http(bob_context, server.url, "bob")
    # A plain-text client, as the old demo pages connected.
    guest = await http.ws_connect(server.url + "/", headers={"Origin": "null"})
    try:
        await guest.send_str("start_ann")
        await until(lambda: server.node.hub.guests == 1)
        members = len(await server.node.storage.members("lobby"))
        bob = await ChatPage.open(bob_context, server.url)
        await bob.wait_online()
        await bob.page.click("#open-browse")
        count = members + 1
        await expect(
            bob.page.locator('#directory-list li[data-room="lobby"] .dir-members')
        ).to_have_text(f"{count} member{'' if count == 1 else 's'}")
    finally:
        await guest.close()


async def test_on_a_phone_a_grouped_messages_time_does_not_cover_its_text(
    server: RunningServer, browser: Browser
) -> None:
    alice_context = await alice_with_rooms(browser, server.url)
    # The longest time of day in this locale's format ("12:58 PM"), on a 360-px screen.
    phone = await new_context(
        browser, viewport={"width": 360, "height": 740}, locale="en-US", timezone_id="UTC"
    )
    await sign_in_over_http(phone, server.url, "bob")
    await say(alice_context, server.url, "den", "a third message, grouped under the others")
    await post(phone, server.url, "/rooms/den/join")
    bob = await ChatPage.open(phone, server.url, "/#/room/den")
    await bob.wait_online()
    await bob.wait_room("den")
    grouped = bob.page.locator("#message-list .msg.grouped").last
    await expect(grouped).to_contain_text("a third message")
    await grouped.hover()
    time = grouped.locator(".msg-time")
    await expect(time).to_be_visible()
    # As wide as any time this format gives, whatever the clock says now.
    await time.evaluate("node => { node.textContent = '12:58 PM'; }")
    time_box = await time.bounding_box()
    body_box = await grouped.locator(".msg-body").bounding_box()
    row_box = await grouped.bounding_box()
    assert time_box is not None and body_box is not None and row_box is not None
    assert time_box["x"] + time_box["width"] <= body_box["x"], (time_box, body_box)
    assert time_box["x"] >= row_box["x"], (time_box, row_box)
    # The time is whole, not clipped by its column.
    overflow = await time.evaluate("node => node.scrollWidth - node.clientWidth")
    assert overflow <= 0
    bob.assert_no_errors()


async def test_the_empty_sidebar_names_its_buttons_as_they_are_labelled(
    server: RunningServer, browser: Browser
) -> None:
    context = await new_context(browser)
    await sign_in_over_http(context, server.url, "bob")
    rooms = await context.request.get(f"{server.url}/api/v1/rooms")
    for room in (await rooms.json())["rooms"]:  # rooms a new account may be put in
        await post(context, server.url, f"/rooms/{room['name']}/leave")
    bob = await ChatPage.open(context, server.url, "/#/")
    page = bob.page
    await bob.wait_online()
    buttons = ("open-create", "open-browse", "open-dm")
    labels = [await page.locator(f"#{id_}").inner_text() for id_ in buttons]
    assert labels == ["New room", "Browse", "New DM"]
    rooms_hint = page.locator("#room-list-empty")
    dms_hint = page.locator("#dm-list-empty")
    await expect(rooms_hint).to_be_visible()
    await expect(dms_hint).to_be_visible()
    await expect(rooms_hint).to_have_text(
        "No rooms yet. Make one with “New room”, or find one with “Browse”."
    )
    await expect(dms_hint).to_have_text("Start one with “New DM”.")
    for label in labels[:2]:
        assert f"“{label}”" in await rooms_hint.inner_text()
    assert f"“{labels[2]}”" in await dms_hint.inner_text()
    bob.assert_no_errors()
