"""Bots and webhooks in the page. A bot's name carries a "bot" badge wherever the page shows
names: here a webhook's post, sent with ``curl``, lands in the open room by its name with the
badge, and so does the profile it opens; a person's name has none. The room's settings list
its webhooks, add one (its URL shown once) and revoke it."""

from __future__ import annotations

import asyncio
import json
import re

from chatpage import ChatPage, new_context, sign_in_over_http
from playwright.async_api import Browser, Locator, expect
from support import RunningServer

BADGE = "node => getComputedStyle(node, '::after').content"


async def badge_of(node: Locator) -> str:
    return str(await node.evaluate(BADGE))


async def curl_post(url: str, text: str) -> bytes:
    proc = await asyncio.create_subprocess_exec(
        *("curl", "-sS", "-H", "Content-Type: application/json", "--data-binary", "@-"),
        url,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
    )
    out, _ = await proc.communicate(json.dumps({"text": text}).encode())
    return out


async def test_a_webhooks_post_shows_its_bot_badge(server: RunningServer, browser: Browser) -> None:
    context = await new_context(browser)
    await sign_in_over_http(context, server.url, "alice")
    api = f"{server.url}/api/v1"
    assert (await context.request.post(f"{api}/rooms", data={"name": "den"})).ok
    made = await context.request.post(f"{api}/rooms/den/webhooks", data={"name": "Deploys"})
    assert made.status == 201, await made.text()
    hook = await made.json()
    alice = await ChatPage.open(context, server.url, "/#/room/den")
    await alice.wait_online()
    await alice.wait_room("den")
    await alice.send("shipping it")

    assert await curl_post(hook["url"], "build green") == b"ok"
    await alice.wait_bodies(["shipping it", "build green"])

    authors = alice.page.locator("#message-list .msg .msg-author")
    bot = authors.filter(has_text="Deploys")
    await expect(bot).to_have_attribute("data-bot", "")
    assert await badge_of(bot) == '"bot"'
    person = authors.filter(has_text="alice")
    await expect(person).not_to_have_attribute("data-bot", "")
    assert await badge_of(person) == "none"

    await bot.click()
    dialog = alice.page.locator("#dlg-profile")
    await expect(dialog.locator(".profile-username")).to_have_text(f"@{hook['username']}")
    name = dialog.locator(".profile-name")
    await expect(name).to_have_text("Deploys")  # the badge is no text of the name
    assert await badge_of(name) == '"bot"'
    alice.assert_no_errors()


async def test_the_room_settings_add_and_revoke_webhooks(
    server: RunningServer, browser: Browser
) -> None:
    context = await new_context(browser)
    await sign_in_over_http(context, server.url, "alice")
    assert (await context.request.post(f"{server.url}/api/v1/rooms", data={"name": "den"})).ok
    alice = await ChatPage.open(context, server.url, "/#/room/den")
    await alice.wait_online()
    await alice.wait_room("den")
    await alice.page.click("#open-room-settings")
    dialog = alice.page.locator("#dlg-room-settings")
    hooks = dialog.locator("#room-settings-webhooks")
    await expect(hooks).to_have_text("No webhooks.")

    await dialog.get_by_label("New webhook").fill("  Alerts <b>  ")
    await dialog.get_by_role("button", name="Add webhook").click()
    url_box = dialog.get_by_label("The URL of Alerts <b>")
    await expect(url_box).to_have_value(re.compile(rf"^{re.escape(server.url)}/hooks/\w+/\S+$"))
    url = await url_box.input_value()
    await expect(hooks.locator("li .member-name")).to_have_text(["Alerts <b>"])
    await expect(hooks.locator("li .member-facts")).to_contain_text("by alice")

    assert await curl_post(url, "disk full") == b"ok"
    await alice.wait_bodies(["disk full"])
    await dialog.get_by_role("button", name="Revoke: Alerts <b>").click()
    await expect(hooks).to_have_text("No webhooks.")
    assert b"not_found" in await curl_post(url, "again")
    alice.assert_no_errors()
