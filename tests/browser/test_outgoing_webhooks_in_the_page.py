"""Outgoing webhooks in the room's settings: its owner adds one pointed at a receiver on
127.0.0.1 (the server allows private addresses here), sees its signing secret once, sends a
message, and sees the delivery listed; names and URLs are shown as text; revoking it empties
the list."""

from __future__ import annotations

import re
import socket
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from chatpage import ChatPage, eventually, new_context, sign_in_over_http
from playwright.async_api import Browser, expect
from support import RunningServer, config_for, running_server


@pytest.fixture
async def allowing(tmp_path: Path) -> AsyncIterator[RunningServer]:
    config = config_for(tmp_path / "data", outgoing_webhooks_allow_private=True)
    async with running_server(config) as running:
        yield running


@pytest.fixture
async def receiver() -> AsyncIterator[tuple[str, list[bytes]]]:
    bodies: list[bytes] = []

    async def take(request: web.Request) -> web.Response:
        bodies.append(await request.read())
        return web.Response(text="ok")

    app = web.Application()
    app.router.add_post("/in", take)
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.5)
    await runner.setup()
    sock = socket.create_server(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    await web.SockSite(runner, sock).start()
    try:
        yield f"http://127.0.0.1:{port}/in", bodies
    finally:
        await runner.cleanup()


async def test_the_room_settings_add_an_outgoing_webhook_and_show_its_deliveries(
    allowing: RunningServer, browser: Browser, receiver: tuple[str, list[bytes]]
) -> None:
    url, bodies = receiver
    server = allowing
    context = await new_context(browser)
    await sign_in_over_http(context, server.url, "alice")
    api = f"{server.url}/api/v1"
    assert (await context.request.post(f"{api}/rooms", data={"name": "den"})).ok
    alice = await ChatPage.open(context, server.url, "/#/room/den")
    await alice.wait_online()
    await alice.wait_room("den")
    await alice.page.click("#open-room-settings")
    dialog = alice.page.locator("#dlg-room-settings")
    hooks = dialog.locator("#room-settings-outgoing-webhooks")
    await expect(hooks).to_have_text("No outgoing webhooks.")

    await dialog.locator("#outgoing-name").fill("Relay <i>")
    await dialog.locator("#outgoing-url").fill(url)
    await dialog.locator("#outgoing-trigger").select_option("all")
    await dialog.get_by_role("button", name="Add outgoing webhook").click()
    secret = dialog.get_by_label("The signing secret of Relay <i>")
    await expect(secret).to_have_value(re.compile(r"^[\w-]{40,}$"))
    await expect(hooks.locator("li .member-name")).to_have_text(["Relay <i>"])
    await expect(hooks.locator("li .outgoing-url")).to_have_text([url])
    await expect(hooks.locator("li .member-facts")).to_have_text(["On every message"])
    assert await hooks.locator("i").count() == 0  # text, never markup

    await alice.page.keyboard.press("Escape")
    await alice.send("out it goes")
    await eventually(lambda: _count(bodies), lambda n: n >= 1, what="a delivery")
    listed = f"{api}/rooms/den/outgoing-webhooks"

    async def first_delivery() -> Any:
        found = await (await context.request.get(listed)).json()
        return found["webhooks"][0].get("last_delivery")

    await eventually(first_delivery, lambda last: last is not None, what="a delivery recorded")

    await alice.page.click("#open-room-settings")
    await expect(hooks.locator("li .outgoing-last")).to_have_text(["Last delivery: OK (200)"])
    await dialog.get_by_role("button", name="Deliveries: Relay <i>").click()
    shown = hooks.locator(".outgoing-deliveries li")
    await expect(shown).to_have_count(1)
    await expect(shown).to_contain_text("OK (200)")

    await dialog.get_by_role("button", name="Revoke: Relay <i>").click()
    await expect(hooks).to_have_text("No outgoing webhooks.")
    alice.assert_no_errors()


async def _count(bodies: list[bytes]) -> int:
    return len(bodies)
