"""A new account's first minute in the browser: it opens in lobby, lobby's history on screen."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from chatpage import ChatPage, new_context
from playwright.async_api import Browser, expect
from support import LANDING_ROOMS, RunningServer, config_for, register, running_server

from hubbub.client import Client


@pytest.fixture
async def server(tmp_path: Path) -> AsyncIterator[RunningServer]:
    """A server with the default rooms of a real one (the tests' own settings have none)."""
    config = config_for(tmp_path / "data", default_rooms=LANDING_ROOMS)
    async with running_server(config) as running:
        yield running


async def seed_lobby(http: aiohttp.ClientSession, url: str) -> None:
    """Someone who signed up earlier (a member of lobby, as every account) says hello."""
    token = await register(http, url, "early")
    async with Client(url, token=token) as early:
        await early.send("lobby", "welcome, whoever comes next")


async def test_a_new_account_lands_in_lobby_with_its_history(
    server: RunningServer, browser: Browser, http: aiohttp.ClientSession
) -> None:
    await seed_lobby(http, server.url)
    page = await ChatPage.open(await new_context(browser), server.url)
    await page.sign_up("newcomer")
    await page.wait_online()
    await page.wait_room("lobby")
    await expect(page.page.locator("#room-label")).to_have_text("lobby")
    await page.wait_bodies(["welcome, whoever comes next"])
    assert page.page.url.endswith("#/room/lobby")
    await expect(page.page.locator("#composer-input")).to_be_enabled()  # a member: may write
    page.assert_no_errors()


async def test_on_a_phone_too_a_new_account_opens_lobby_not_the_room_list(
    server: RunningServer, browser: Browser, http: aiohttp.ClientSession
) -> None:
    await seed_lobby(http, server.url)
    context = await new_context(browser, viewport={"width": 390, "height": 740})
    page = await ChatPage.open(context, server.url)
    await page.sign_up("newcomer")
    await page.wait_online()
    await expect(page.page.locator("#message-list .msg .msg-body")).to_have_text(
        ["welcome, whoever comes next"]
    )
    await expect(page.page.locator("#message-list")).to_be_visible()
    page.assert_no_errors()
