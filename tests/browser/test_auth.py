"""Signing up, in and out, and what the page says when it cannot."""

from __future__ import annotations

import re
from pathlib import Path

import aiohttp
from chatpage import ChatPage, new_context, sign_in_over_http
from playwright.async_api import Browser, expect
from support import RunningServer, config_for, running_server


async def test_sign_up_in_and_out_with_clear_messages(
    server: RunningServer, browser: Browser
) -> None:
    context = await new_context(browser)
    page = await ChatPage.open(context, server.url)
    error = page.page.locator("#auth-error")

    await page.sign_up("dora")
    await page.wait_online()
    await expect(page.page.locator("#me-name")).to_have_text("dora")
    # The session is an HttpOnly, SameSite=Strict cookie: page scripts cannot read it.
    (cookie,) = await context.cookies()
    assert (cookie["name"], cookie["httpOnly"], cookie["sameSite"]) == (
        "hubbub_session",
        True,
        "Strict",
    )
    assert await page.page.evaluate("document.cookie") == ""

    await page.page.click("#sign-out")
    await expect(page.page.locator("#auth-view")).to_be_visible()
    assert await context.cookies() == []

    # A taken name, then a wrong password, each with its own message.
    await page.sign_up("dora")
    await expect(error).to_have_text(
        "That username is taken. Pick another one, or sign in if it is yours."
    )
    await page.sign_in("dora", "not the password")
    await expect(error).to_have_text("Wrong username or password.")
    # Checked before asking the server.
    await page.sign_in("dora", "short")
    await expect(error).to_have_text("The password needs at least 8 characters.")
    await page.sign_in("no spaces allowed")
    await expect(error).to_contain_text("letters, digits")

    await page.sign_in("DORA")  # names are case-insensitive
    await page.wait_online()
    await expect(page.page.locator("#me-name")).to_have_text("dora")
    page.assert_no_errors()


async def test_sign_up_throttling_says_when_to_retry(tmp_path: Path, browser: Browser) -> None:
    config = config_for(tmp_path, signup_burst=1.0, signup_rate=0.01)
    async with running_server(config) as server:
        page = await ChatPage.open(await new_context(browser), server.url)
        await page.sign_up("first")
        await page.wait_online()
        await page.page.click("#sign-out")
        await page.sign_up("second")
        await expect(page.page.locator("#auth-error")).to_have_text(
            re.compile(r"^Too many new accounts from this address\. Try again in \d+ s\.$")
        )
        await expect(page.page.locator("#auth-submit")).to_be_disabled()
        page.assert_no_errors()


async def test_a_revoked_session_goes_back_to_sign_in(
    server: RunningServer, browser: Browser, http: aiohttp.ClientSession
) -> None:
    context = await new_context(browser)
    await sign_in_over_http(context, server.url, "erin")
    page = await ChatPage.open(context, server.url)
    await page.wait_online()

    # The session is revoked elsewhere (signed out on another device)...
    (cookie,) = await context.cookies()
    async with http.post(
        f"{server.url}/api/v1/logout",
        headers={"Authorization": f"Bearer {cookie['value']}", "Content-Type": "application/json"},
    ) as response:
        assert response.status == 204
    # ...which closes the page's socket with 4401 at once: the page asks to sign in again
    # instead of retrying forever. (No network toggling here: it would race the page's own
    # reload to the sign-in form.)
    await expect(page.page.locator("#auth-view")).to_be_visible()
    await expect(page.page.locator("#auth-error")).to_have_text(
        "Your session has ended. Please sign in again."
    )
    page.assert_no_errors()
