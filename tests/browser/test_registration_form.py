"""The sign-up form as the registration mode has it (closed: sign-in only; invite: the code's
field, filled in from an invite link), and the server-settings section of the admin page,
mounted on its own, in real Chromium against a real server."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from chatpage import ChatPage, eventually, new_context
from playwright.async_api import Browser, expect
from support import RunningServer, call_api, config_for, register, running_server


@pytest.fixture
async def server(tmp_path: Path) -> AsyncIterator[RunningServer]:
    async with running_server(config_for(tmp_path, registration="closed")) as running:
        yield running


class Admin:
    """The server's first account (created even when closed) over the HTTP API."""

    def __init__(self, http: aiohttp.ClientSession, server: RunningServer, token: str) -> None:
        self.http, self.url, self.token = http, server.url, token

    @classmethod
    async def first(cls, http: aiohttp.ClientSession, server: RunningServer) -> Admin:
        return cls(http, server, await register(http, server.url, "root"))

    async def __call__(self, method: str, path: str, **kw: Any) -> Any:
        url = f"{self.url}/api/v1/admin/{path}"
        reply = await call_api(self.http, method, url, self.token, **kw)
        assert reply.status in (200, 201, 204), reply.body
        return reply.body


async def test_closed_registration_leaves_sign_in_only(
    server: RunningServer, browser: Browser, http: aiohttp.ClientSession
) -> None:
    await Admin.first(http, server)
    page = await ChatPage.open(await new_context(browser), server.url)
    await expect(page.page.locator("#auth-closed")).to_have_text(
        "Registration is closed on this server: sign in only."
    )
    await expect(page.page.locator("#auth-mode-signup")).to_be_hidden()
    await page.sign_in("root")
    await page.wait_online()
    page.assert_no_errors()


async def test_an_invite_link_opens_the_sign_up_form_with_its_code(
    server: RunningServer, browser: Browser, http: aiohttp.ClientSession
) -> None:
    admin = await Admin.first(http, server)
    await admin("PATCH", "settings", json={"registration": "invite"})
    made = await admin("POST", "invites", json={"max_uses": 1})
    context = await new_context(browser)

    # Without a code: the field is there, and needed.
    plain = await ChatPage.open(context, server.url)
    await plain.page.click("#auth-mode-signup")
    await expect(plain.page.locator("#auth-invite")).to_be_visible()
    await plain.page.fill("#auth-username", "eve")
    await plain.page.fill("#auth-password", "correct horse battery")
    await plain.page.click("#auth-submit")
    await expect(plain.page.locator("#auth-error")).to_have_text(
        "An invite code is needed to create an account on this server."
    )
    await plain.page.fill("#auth-invite", "not-the-code")
    await plain.page.click("#auth-submit")
    await expect(plain.page.locator("#auth-error")).to_have_text("This invitation is not valid.")
    await plain.page.close()

    page = await ChatPage.open(context, server.url, "/" + made["url"].split("/", 3)[3])
    await expect(page.page.locator("#auth-invite")).to_have_value(made["code"])
    await expect(page.page.locator("#auth-mode-signup")).to_have_attribute("aria-pressed", "true")
    assert "invite" not in page.page.url  # the code is taken out of the address bar
    await page._submit_credentials("dora", "correct horse battery")
    await page.wait_online()
    await expect(page.page.locator("#me-name")).to_have_text("dora")
    [invite] = (await admin("GET", "invites"))["invites"]
    assert invite["uses"] == 1
    page.assert_no_errors()


async def test_the_server_settings_section_changes_what_the_server_does(
    server: RunningServer, browser: Browser, http: aiohttp.ClientSession
) -> None:
    admin = await Admin.first(http, server)
    page = await ChatPage.open(await new_context(browser), server.url)
    await page.sign_in("root")
    await page.wait_online()
    p = page.page
    # Mounted on its own here; the admin page mounts it in its tab.
    await p.evaluate(
        """async () => {
            const { mountServerSettings } = await import('/static/admin_settings.js');
            const box = document.createElement('div');
            box.id = 'test-settings';
            box.style = 'position:fixed;inset:0;z-index:10000;background:#fff;overflow:auto';
            document.body.append(box);
            await mountServerSettings(box);
        }"""
    )
    await expect(p.locator("#settings-registration")).to_have_value("closed")
    await expect(p.locator("#settings-guests")).to_be_checked()

    await p.select_option("#settings-registration", "invite")
    await expect(p.locator("#settings-source")).to_contain_text("set here")
    await p.locator("#settings-guests").uncheck()
    settings = await eventually(
        lambda: admin("GET", "settings"), lambda s: s["set"]["guests"] is False, what="guests off"
    )
    assert (settings["registration"], settings["guests"]) == ("invite", False)

    await p.fill("#invite-uses", "3")
    await p.click("#invite-create")
    url = await p.locator("#invite-url").input_value()
    assert url.startswith(server.url + "/#invite=")
    await expect(p.locator("#invite-list li")).to_have_count(1)
    await expect(p.locator("#invite-list li")).to_contain_text("0/3 used")
    await p.click("#invite-list li button")
    await expect(p.locator("#invite-list")).to_have_text("No invite links.")

    await p.fill("#guest-ban-address", "<b>nonsense</b>")
    await p.click("#guest-ban-add")
    await expect(p.locator("#test-settings .form-error")).to_contain_text(
        "'<b>nonsense</b>' is no IP address"
    )
    await p.fill("#guest-ban-address", "203.0.113.9/24")
    await p.click("#guest-ban-add")
    await expect(p.locator("#guest-ban-list li")).to_have_text("203.0.113.0/24Remove")
    assert (await admin("GET", "guest-bans"))["bans"] == ["203.0.113.0/24"]
    await p.click("#guest-ban-list li button")
    await expect(p.locator("#guest-ban-list")).to_have_text("No guest bans.")
    assert await p.locator("#test-settings b").count() == 0  # text, never markup
    page.assert_no_errors()
