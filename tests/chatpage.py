"""The hubbub page as the browser tests use it: what a person does, and what they see.

Every wait is on the page's state (a selector, an attribute, the text shown), never a fixed
sleep; ``eventually`` polls a condition until it holds or the time is up.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import aiohttp
from playwright.async_api import Browser, BrowserContext, Locator, Page, expect
from support import PASSWORD, read_history

T = TypeVar("T")
TIMEOUT_MS = 15_000


async def eventually(
    probe: Callable[[], Awaitable[T]],
    check: Callable[[T], bool],
    timeout: float = TIMEOUT_MS / 1000,
    what: str = "condition",
) -> T:
    """Poll ``probe`` until ``check`` holds for its value; return that value."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        value = await probe()
        if check(value):
            return value
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"{what} not met in {timeout} s; last value: {value!r}")
        await asyncio.sleep(0.05)


async def new_context(browser: Browser, **options: Any) -> BrowserContext:
    context = await browser.new_context(**({"viewport": {"width": 1100, "height": 720}} | options))
    context.set_default_timeout(TIMEOUT_MS)
    return context


async def sign_in_over_http(
    context: BrowserContext, url: str, username: str, *, register: bool = True
) -> None:
    """Give the context a session cookie, as the sign-in form would (faster for setup)."""
    path = "register" if register else "login"
    response = await context.request.post(
        f"{url}/api/v1/{path}", data={"username": username, "password": PASSWORD}
    )
    assert response.status in (200, 201), await response.text()


async def login_token(http: aiohttp.ClientSession, url: str, username: str) -> str:
    """A session token for ``username``, as another device of theirs would sign in."""
    async with http.post(
        f"{url}/api/v1/login", json={"username": username, "password": PASSWORD}
    ) as response:
        assert response.status == 200, await response.text()
        return str((await response.json())["token"])


async def stored_messages(
    http: aiohttp.ClientSession, url: str, room: str = "den", reader: str = "bob"
) -> list[str]:
    """The bodies the server stored in ``room``, as ``reader`` reads them over HTTP."""
    token = await login_token(http, url, reader)
    return [e["body"] for e in await read_history(http, url, token, room) if "body" in e]


async def two_people_in_a_room(
    browser: Browser, url: str
) -> tuple[BrowserContext, ChatPage, ChatPage]:
    """alice and bob, each in a browser of their own, both looking at the room ``den``."""
    alice_context = await new_context(browser)
    bob_context = await new_context(browser)
    await sign_in_over_http(alice_context, url, "alice")
    await sign_in_over_http(bob_context, url, "bob")
    assert (await alice_context.request.post(f"{url}/api/v1/rooms", data={"name": "den"})).ok
    assert (await bob_context.request.post(f"{url}/api/v1/rooms/den/join")).ok
    alice = await ChatPage.open(alice_context, url, "/#/room/den")
    bob = await ChatPage.open(bob_context, url, "/#/room/den")
    for page in (alice, bob):
        await page.wait_online()
        await page.wait_room("den")
    return alice_context, alice, bob


class ChatPage:
    """One tab of the hubbub page."""

    def __init__(self, page: Page, url: str) -> None:
        self.page = page
        self.url = url
        self.errors: list[str] = []
        page.on("pageerror", lambda exc: self.errors.append(f"uncaught: {exc}"))
        page.on("console", self._console)

    def _console(self, message: Any) -> None:
        # The browser logs failed requests on its own (a 401 from /api/v1/me before sign-in,
        # refused WebSocket connections while a server restarts): those are expected.
        text = message.text
        if message.type == "error" and not (
            text.startswith("Failed to load resource") or "WebSocket connection to" in text
        ):
            self.errors.append(text)

    @classmethod
    async def open(cls, context: BrowserContext, url: str, path: str = "/") -> ChatPage:
        page = await context.new_page()
        chat = cls(page, url)
        await page.goto(url + path)
        return chat

    # --- signing in ---------------------------------------------------------------------

    async def sign_up(self, username: str, password: str = PASSWORD) -> None:
        await self.page.click("#auth-mode-signup")
        await self._submit_credentials(username, password)

    async def sign_in(self, username: str, password: str = PASSWORD) -> None:
        await self.page.click("#auth-mode-signin")
        await self._submit_credentials(username, password)

    async def _submit_credentials(self, username: str, password: str) -> None:
        await self.page.fill("#auth-username", username)
        await self.page.fill("#auth-password", password)
        await self.page.click("#auth-submit")

    async def wait_online(self) -> None:
        await expect(self.page.locator("#conn-banner")).to_have_attribute(
            "data-state", "online", timeout=TIMEOUT_MS
        )

    # --- rooms --------------------------------------------------------------------------

    def room_link(self, room: str) -> Locator:
        return self.page.locator(f'.room-link[data-room="{room}"]')

    def badge(self, room: str) -> Locator:
        return self.room_link(room).locator(".badge")

    async def create_room(self, name: str, *, private: bool = False) -> None:
        await self.page.click("#open-create")
        await self.page.fill("#create-name", name)
        await self.page.check(f'#dlg-create input[value="{"private" if private else "public"}"]')
        await self.page.click("#create-form button[type=submit]")
        await expect(self.page.locator("#dlg-create")).not_to_be_visible()
        await self.wait_room(name)

    async def invite(self, user: str) -> None:
        await self.page.click("#open-invite")
        await self.page.fill("#invite-user", user)
        await self.page.click("#invite-form button[type=submit]")
        await expect(self.page.locator("#invite-form .form-ok")).to_contain_text(user)
        await self.page.keyboard.press("Escape")
        await expect(self.page.locator("#dlg-invite")).not_to_be_visible()

    def invitation(self, room: str) -> Locator:
        return self.page.locator(f'#invitation-list .invitation[data-room="{room}"]')

    async def accept_invitation(self, room: str) -> None:
        """Accept the pending invitation to ``room`` in the sidebar: it goes, the room comes."""
        await self.invitation(room).locator("button.accept").click()
        await expect(self.invitation(room)).to_have_count(0)
        await expect(self.room_link(room)).to_be_visible()

    async def open_dm(self, user: str) -> None:
        await self.page.click("#open-dm")
        await self.page.fill("#dm-user", user)
        await self.page.click("#dm-form button[type=submit]")
        await expect(self.page.locator("#dlg-dm")).not_to_be_visible()

    async def join_from_directory(self, room: str) -> None:
        await self.page.click("#open-browse")
        await self.page.click(f'#directory-list li[data-room="{room}"] button')
        await expect(self.page.locator("#dlg-browse")).not_to_be_visible()
        await self.wait_room(room)

    async def open_room(self, room: str) -> None:
        await self.room_link(room).click()
        await expect(self.room_link(room)).to_have_attribute("aria-current", "page")

    async def wait_room(self, room: str) -> None:
        """Until ``room`` is on screen, its newest page of history loaded."""
        await expect(self.room_link(room)).to_have_attribute("aria-current", "page")
        await expect(self.page.locator("#history-status")).not_to_have_attribute(
            "data-state", "loading"
        )

    # --- messages -----------------------------------------------------------------------

    async def send(self, text: str) -> None:
        composer = self.page.locator("#composer-input")
        await composer.fill(text)
        await composer.press("Enter")
        await expect(composer).to_have_value("")

    def messages(self, status: str | None = None) -> Locator:
        selector = "#message-list .msg"
        if status is not None:
            selector += f'[data-status="{status}"]'
        return self.page.locator(selector)

    async def bodies(self) -> list[str]:
        """The text of every message shown, top to bottom, exactly as displayed."""
        value = await self.page.eval_on_selector_all(
            "#message-list .msg .msg-body", "nodes => JSON.stringify(nodes.map(n => n.textContent))"
        )
        return list(json.loads(value))

    async def shown(self) -> list[tuple[str, str]]:
        """(status, body) of every message shown, top to bottom."""
        value = await self.page.eval_on_selector_all(
            "#message-list .msg",
            "nodes => JSON.stringify(nodes.map(n => "
            "[n.dataset.status, n.querySelector('.msg-body').textContent]))",
        )
        return [(status, body) for status, body in json.loads(value)]

    async def wait_bodies(self, expected: list[str], timeout: float = TIMEOUT_MS / 1000) -> None:
        await eventually(self.bodies, lambda got: got == expected, timeout, "messages shown")

    def assert_no_errors(self) -> None:
        assert self.errors == [], self.errors
