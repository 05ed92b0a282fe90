"""Login CSRF and revoked sessions, in a real browser.

A page of another origin (a tiny aiohttp app on another port of 127.0.0.1) cannot sign its
visitor into an account of its choosing; and a page whose session is signed out elsewhere
loses its WebSocket at once (close 4401) and asks to sign in again.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import aiohttp
import pytest
from aiohttp import web
from chatpage import ChatPage, new_context, sign_in_over_http
from playwright.async_api import Browser, expect
from support import RunningServer, call_api, free_port

ATTACKER_PASSWORD = "attacker secret"

# enctype=text/plain sends "name=value": the name opens the JSON, the value closes it, and
# the "=" between them lands inside the password the attacker chose ("attacker secret=").
EVIL_PAGE = """<!doctype html>
<html><body onload="document.forms[0].submit()">
<form method="POST" enctype="text/plain" action="{action}">
<input type="hidden" name='{{"username":"{user}","password":"{password}' value='"}}'>
</form></body></html>"""


@asynccontextmanager
async def evil_site(action: str, user: str) -> AsyncIterator[str]:
    """Another origin serving a page that posts the form as soon as it loads."""
    page = EVIL_PAGE.format(action=action, user=user, password=ATTACKER_PASSWORD)

    async def serve(request: web.Request) -> web.Response:
        return web.Response(text=page, content_type="text/html")

    app = web.Application()
    app.router.add_get("/", serve)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    port = free_port()
    site = web.TCPSite(runner, "127.0.0.1", port)
    await site.start()
    try:
        yield f"http://127.0.0.1:{port}/"
    finally:
        await runner.cleanup()


@pytest.mark.parametrize("path", ["login", "register"])
async def test_a_cross_site_form_does_not_sign_the_visitor_in(
    server: RunningServer, browser: Browser, http: aiohttp.ClientSession, path: str
) -> None:
    user = "mallory" if path == "login" else "mallory2"
    if path == "login":  # the attacker's own account, with the password the form makes
        reply = await call_api(
            http,
            "POST",
            f"{server.url}/api/v1/register",
            json={"username": user, "password": ATTACKER_PASSWORD + "="},
        )
        assert reply.status == 201, reply.body
    context = await new_context(browser)
    victim = await context.new_page()
    async with evil_site(f"{server.url}/api/v1/{path}", user) as evil:
        async with victim.expect_response(f"{server.url}/api/v1/{path}") as answer:
            await victim.goto(evil)
        response = await answer.value
    assert response.request.method == "POST"
    assert response.request.headers.get("content-type") == "text/plain"
    assert response.status == 403, await response.text()  # another origin
    assert await context.cookies(server.url) == []

    page = await ChatPage.open(context, server.url)
    await expect(page.page.locator("#auth-view")).to_be_visible()
    if path == "register":  # and no account was made for the attacker either
        refused = await call_api(
            http,
            "POST",
            f"{server.url}/api/v1/login",
            json={"username": user, "password": ATTACKER_PASSWORD + "="},
        )
        assert refused.status == 401, refused.body
    page.assert_no_errors()
    await context.close()


async def test_signing_out_in_one_tab_closes_the_other_tabs_socket(
    server: RunningServer, browser: Browser
) -> None:
    """Two tabs share the cookie, so one token: signing out in one ends the other's socket
    at once, without waiting for a reconnect."""
    context = await new_context(browser)
    await sign_in_over_http(context, server.url, "erin")
    first = await ChatPage.open(context, server.url)
    second = await ChatPage.open(context, server.url)
    for tab in (first, second):
        await tab.wait_online()

    await first.page.click("#sign-out")  # sends the JSON the server now insists on
    await expect(first.page.locator("#auth-view")).to_be_visible()
    assert await context.cookies() == []
    await expect(second.page.locator("#auth-view")).to_be_visible()
    await expect(second.page.locator("#auth-error")).to_have_text(
        "Your session has ended. Please sign in again."
    )
    first.assert_no_errors()
    second.assert_no_errors()
    await context.close()


async def test_a_session_revoked_elsewhere_closes_the_pages_socket(
    server: RunningServer, browser: Browser, http: aiohttp.ClientSession
) -> None:
    context = await new_context(browser)
    await sign_in_over_http(context, server.url, "fred")
    page = await ChatPage.open(context, server.url)
    await page.wait_online()

    (cookie,) = await context.cookies()
    revoked = await call_api(
        http,
        "POST",
        f"{server.url}/api/v1/logout",
        headers={"Cookie": f"hubbub_session={cookie['value']}", "Content-Type": "application/json"},
    )
    assert revoked.status == 204
    # The 4401 close alone (there is no error frame) brings the sign-in screen back.
    await expect(page.page.locator("#auth-view")).to_be_visible()
    await expect(page.page.locator("#auth-error")).to_have_text(
        "Your session has ended. Please sign in again."
    )
    page.assert_no_errors()
    await context.close()
