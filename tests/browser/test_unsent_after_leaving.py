"""A message that can no longer be sent because its author left the room stays in sight as
*Not sent* (where they left it), instead of vanishing with the room."""

from __future__ import annotations

from pathlib import Path

import aiohttp
from chatpage import (
    ChatPage,
    login_token,
    stored_messages,
    two_people_in_a_room,
)
from playwright.async_api import Browser, expect
from support import RunningServer, config_for, running_server

NOT_IN_ROOM = "Not sent — you are no longer in this room."


async def test_left_on_another_device_while_offline(
    server: RunningServer, browser: Browser, http: aiohttp.ClientSession
) -> None:
    alice_context, alice, bob = await two_people_in_a_room(browser, server.url)
    await alice.send("before")
    await bob.wait_bodies(["before"])

    await alice_context.set_offline(True)
    await expect(alice.page.locator("#conn-banner")).to_have_attribute("data-state", "offline")
    await alice.send("written offline")
    await expect(alice.messages("pending")).to_have_count(1)

    # Meanwhile alice leaves the room on her phone.
    token = await login_token(http, server.url, "alice")
    async with http.post(
        f"{server.url}/api/v1/rooms/den/leave", headers={"Authorization": f"Bearer {token}"}
    ) as response:
        assert response.status == 204, await response.text()

    # Back online, the room is no longer hers; the message stays where she wrote it, and
    # says why it was not sent. The room stays in the list, marked, while it holds one.
    await alice_context.set_offline(False)
    await alice.wait_online()
    failed = alice.messages("failed")
    await expect(failed).to_have_count(1)
    await expect(failed.locator(".msg-state")).to_contain_text(NOT_IN_ROOM)
    assert await alice.shown() == [("failed", "written offline")]
    await expect(alice.room_link("den")).to_have_class("room-link left")
    await expect(alice.room_link("den")).to_have_attribute(
        "aria-label", "den, left, 1 message not sent"
    )
    await expect(alice.page.locator("#room-sub")).to_have_text("You are no longer in this room")
    await expect(alice.page.locator("#history-status")).to_have_attribute("data-state", "left")
    await expect(alice.page.locator("#composer-input")).to_be_disabled()
    # Retrying cannot work while she is not a member: only Discard is offered.
    await expect(failed.get_by_role("button", name="Retry")).to_have_count(0)
    await expect(failed.get_by_role("button", name="Discard")).to_be_visible()
    assert await stored_messages(http, server.url) == ["before"]

    # It is still there after a reload.
    await alice.page.reload()
    await alice.wait_online()
    await expect(alice.messages("failed")).to_have_count(1)
    await expect(alice.room_link("den")).to_have_class("room-link left")

    # She joins again: now it can be retried, and is delivered once.
    await alice.join_from_directory("den")
    await expect(alice.room_link("den")).to_have_class("room-link")
    retry = alice.messages("failed").get_by_role("button", name="Retry")
    await retry.click()
    await expect(alice.messages("failed")).to_have_count(0)
    await bob.wait_bodies(["before", "written offline"])
    await alice.wait_bodies(["before", "written offline"])
    assert await stored_messages(http, server.url) == ["before", "written offline"]
    alice.assert_no_errors()
    bob.assert_no_errors()


async def test_left_in_this_page_while_a_message_waits(
    tmp_path: Path, browser: Browser, http: aiohttp.ClientSession
) -> None:
    # One message at once, then one every 20 s: the second one waits.
    config = config_for(tmp_path / "data", send_rate=0.05, send_burst=1)
    async with running_server(config) as server:
        _, alice, bob = await two_people_in_a_room(browser, server.url)
        await alice.send("first")
        await alice.send("second")
        await expect(alice.messages("pending")).to_have_count(1)

        # alice leaves the room (Leave, clicked twice) before "second" could go.
        await alice.page.click("#leave-room")
        await alice.page.click("#leave-room")
        failed = alice.messages("failed")
        await expect(failed).to_have_count(1)
        await expect(failed.locator(".msg-state")).to_contain_text(NOT_IN_ROOM)
        # The room she left stays on screen while it holds a message not sent.
        await expect(alice.room_link("den")).to_have_attribute("aria-current", "page")
        assert await alice.shown() == [("failed", "second")]
        await expect(alice.page.locator("#leave-room")).to_be_hidden()

        # Discard: the message and the room are gone from the page.
        await failed.get_by_role("button", name="Discard").click()
        await expect(alice.messages("failed")).to_have_count(0)
        await expect(alice.room_link("den")).to_have_count(0)
        # den is public: it is shown read-only, with Join, and without what was discarded.
        await expect(alice.page.locator("#join-bar")).to_be_visible()
        await alice.wait_bodies(["first"])
        assert await stored_messages(http, server.url) == ["first"]
        alice.assert_no_errors()
        bob.assert_no_errors()


async def test_a_room_left_while_online_elsewhere_keeps_its_waiting_message(
    tmp_path: Path, browser: Browser, http: aiohttp.ClientSession
) -> None:
    config = config_for(tmp_path / "data", send_rate=0.05, send_burst=1)
    async with running_server(config) as server:
        _, alice, _bob = await two_people_in_a_room(browser, server.url)
        await alice.send("first")
        await alice.send("second")
        await expect(alice.messages("pending")).to_have_count(1)

        # The page hears at once that she left on another device (`member_left`).
        token = await login_token(http, server.url, "alice")
        async with http.post(
            f"{server.url}/api/v1/rooms/den/leave", headers={"Authorization": f"Bearer {token}"}
        ) as response:
            assert response.status == 204, await response.text()
        failed = alice.messages("failed")
        await expect(failed).to_have_count(1)
        await expect(failed.locator(".msg-state")).to_contain_text(NOT_IN_ROOM)
        await expect(alice.room_link("den")).to_have_class("room-link left")

        # Seen from another room, the left room is still in the list with its count.
        other = await ChatPage.open(alice.page.context, server.url, "/#/")
        await other.wait_online()
        await expect(other.room_link("den")).to_have_class("room-link left")
        await expect(other.room_link("den").locator(".badge")).to_have_text("1")
        alice.assert_no_errors()
        other.assert_no_errors()
