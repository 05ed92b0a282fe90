"""Profiles in the page: one's own to edit (display name, status, picture, password), shown
to others live where names are shown, always as text; someone else's, with a way to message
them."""

from __future__ import annotations

import io
import re
from functools import partial

import aiohttp
from chatpage import ChatPage, eventually, login_token, two_people_in_a_room
from PIL import Image
from playwright.async_api import Browser, FilePayload, expect
from support import PASSWORD, RunningServer, bearer

AVATAR_SRC = re.compile(r"^/api/v1/users/alice/avatar\?v=.+")
HOSTILE = '<img src=x onerror="window.owned=1">'


def png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (40, 30), (200, 30, 90)).save(out, format="PNG")
    return out.getvalue()


async def test_editing_ones_profile_shows_everywhere_live(
    server: RunningServer, browser: Browser
) -> None:
    server.node.hub.presence.flush_interval = 0.05
    _, alice, bob = await two_people_in_a_room(browser, server.url)
    await alice.send("hello from alice")
    await bob.wait_bodies(["hello from alice"])
    await alice.open_dm("bob")  # bob's sidebar lists the DM by alice's name
    await alice.open_room("den")

    # alice opens her own profile from her name, and sets a display name and a status.
    await alice.page.click("#me-name")
    dialog = alice.page.get_by_role("dialog", name="alice")
    await expect(dialog).to_be_visible()
    dialog = alice.page.locator("#dlg-profile")  # its name changes with the display name
    await expect(dialog.locator(".profile-username")).to_have_text("@alice")
    name = dialog.get_by_label("Display name")
    await expect(name).to_be_focused()
    await name.fill("Alice Liddell")
    await dialog.get_by_label("Status", exact=True).fill("down the rabbit hole")
    await dialog.get_by_role("button", name="Save").click()
    await expect(dialog.locator("#profile-details .form-ok")).to_have_text("Saved.")
    await expect(dialog.locator(".profile-name")).to_have_text("Alice Liddell")
    await expect(dialog.locator(".profile-status")).to_have_text("down the rabbit hole")
    await alice.page.keyboard.press("Escape")

    # bob sees it live: the author of her message, with her username on hover; her DM.
    author = bob.page.locator("#message-list .msg-author").first
    await expect(author).to_have_text("Alice Liddell")
    await expect(author).to_have_attribute("title", "@alice")
    await expect(bob.room_link("dm:alice:bob").locator(".room-label")).to_have_text("Alice Liddell")
    await expect(bob.page.locator("#message-list .msg .avatar").first).to_have_text("AL")

    # bob opens her profile from her name: its status, and "Message" to the DM.
    await author.click()
    seen = bob.page.get_by_role("dialog", name="Alice Liddell")
    await expect(seen.locator(".profile-username")).to_have_text("@alice")
    await expect(seen.locator(".profile-status")).to_have_text("down the rabbit hole")
    await expect(seen.locator(".profile-presence-text")).to_have_text("Online")
    await expect(seen.get_by_label("Display name")).to_have_count(0)  # not his to edit
    await seen.get_by_role("button", name="Message").click()
    await expect(bob.room_link("dm:alice:bob")).to_have_attribute("aria-current", "page")
    await expect(bob.page.locator("#room-label")).to_have_text("Alice Liddell")
    await bob.open_room("den")

    # A display name is text, whatever it holds.
    await alice.page.click("#me-name")
    await dialog.get_by_label("Display name").fill(HOSTILE)
    await dialog.get_by_role("button", name="Save").click()
    await expect(dialog.locator("#profile-details .form-ok")).to_have_text("Saved.")
    await alice.page.keyboard.press("Escape")
    await expect(author).to_have_text(HOSTILE)
    assert await bob.page.evaluate("window.owned") is None
    assert await bob.page.locator("#message-list img[src='x']").count() == 0

    alice.assert_no_errors()
    bob.assert_no_errors()


async def test_picture_and_password(server: RunningServer, browser: Browser) -> None:
    _, alice, bob = await two_people_in_a_room(browser, server.url)
    await alice.send("a message")
    await bob.wait_bodies(["a message"])
    page = alice.page
    await page.click("#me-name")
    dialog = page.get_by_role("dialog", name="alice")

    # A picture: shown beside her messages, here and on bob's page; removed, initials again.
    await dialog.locator("#profile-avatar-file").set_input_files(
        files=[FilePayload(name="me.png", mimeType="image/png", buffer=png())]
    )
    await expect(dialog.locator(".profile-avatar .form-ok")).to_have_text("Picture changed.")
    for who in (alice, bob):
        picture = who.page.locator("#message-list .msg .avatar img").first
        await expect(picture).to_have_attribute("src", AVATAR_SRC)
        await eventually(
            partial(picture.evaluate, "i => i.complete && i.naturalWidth"),
            bool,
            what="the picture loaded",
        )
    remove = dialog.get_by_role("button", name="Remove picture")
    await remove.click()
    await expect(dialog.locator(".profile-avatar .form-ok")).to_have_text("Picture removed.")
    await expect(remove).to_be_hidden()
    await expect(bob.page.locator("#message-list .msg .avatar img")).to_have_count(0)
    await expect(bob.page.locator("#message-list .msg .avatar").first).to_have_text("A")

    # Not a picture: refused, said in the dialog.
    await dialog.locator("#profile-avatar-file").set_input_files(
        files=[FilePayload(name="notes.txt", mimeType="text/plain", buffer=b"just text")]
    )
    await expect(dialog.locator(".profile-avatar .form-error")).to_be_visible()

    # The password: a wrong current one is refused; the right one changes it and signs
    # out her other sessions (a token of another device stops working).
    async with aiohttp.ClientSession() as http:
        other = await login_token(http, server.url, "alice")
        await dialog.get_by_label("Current password").fill("not my password")
        await dialog.get_by_label("New password").fill("a brand new secret")
        await dialog.get_by_role("button", name="Change password").click()
        error = dialog.locator("#profile-password .form-error")
        await expect(error).to_have_text("The current password is not right.")
        await dialog.get_by_label("Current password").fill(PASSWORD)
        await expect(dialog.get_by_label("Sign out my other sessions")).to_be_checked()
        await dialog.get_by_role("button", name="Change password").click()
        await expect(dialog.locator("#profile-password .form-ok")).to_have_text(
            "Password changed; your other sessions are signed out."
        )
        async with http.get(f"{server.url}/api/v1/me", headers=bearer(other)) as response:
            assert response.status == 401
        async with http.post(
            f"{server.url}/api/v1/login",
            json={"username": "alice", "password": "a brand new secret"},
        ) as response:
            assert response.status == 200
    # This page stays signed in.
    await page.keyboard.press("Escape")
    await alice.send("still here")
    await bob.wait_bodies(["a message", "still here"])
    alice.assert_no_errors()


async def test_a_new_page_shows_display_names_from_the_members_reply(
    server: RunningServer, browser: Browser
) -> None:
    _, alice, bob = await two_people_in_a_room(browser, server.url)
    patched = await alice.page.context.request.patch(
        f"{server.url}/api/v1/me", data={"display_name": "Queen of Hearts"}
    )
    assert patched.ok, await patched.text()
    await alice.send("off with")
    fresh = await ChatPage.open(bob.page.context, server.url, "/#/room/den")
    await fresh.wait_online()
    await fresh.wait_room("den")
    await expect(fresh.page.locator("#message-list .msg-author").first).to_have_text(
        "Queen of Hearts"
    )
    fresh.assert_no_errors()
