"""The composer tells the length limit before it matters, and never cuts text silently.

The limit is the server's: 8 000 characters counted as Python counts them (code points), so
an emoji is one character although it is two UTF-16 units in the browser.
"""

from __future__ import annotations

import aiohttp
from chatpage import ChatPage, login_token, new_context, sign_in_over_http
from playwright.async_api import Browser, expect
from support import RunningServer, read_history


async def open_den(browser: Browser, url: str) -> ChatPage:
    context = await new_context(browser)
    await sign_in_over_http(context, url, "alice")
    assert (await context.request.post(f"{url}/api/v1/rooms", data={"name": "den"})).ok
    alice = await ChatPage.open(context, url, "/#/room/den")
    await alice.wait_online()
    await alice.wait_room("den")
    return alice


async def paste(alice: ChatPage, text: str) -> None:
    """Replace the composer's text as a paste would (the browser's own text insertion)."""
    composer = alice.page.locator("#composer-input")
    await composer.fill("")
    await composer.focus()
    await alice.page.keyboard.insert_text(text)


async def test_a_long_paste_is_kept_whole_and_cannot_be_sent_until_short_enough(
    server: RunningServer, browser: Browser, http: aiohttp.ClientSession
) -> None:
    alice = await open_den(browser, server.url)
    composer = alice.page.locator("#composer-input")
    limit = alice.page.locator("#composer-limit")
    send = alice.page.locator("#composer-send")

    # A paste of 10 000 characters is kept whole, not cut to the limit.
    await paste(alice, "y" * 10_000)
    assert len(await composer.input_value()) == 10_000
    await expect(limit).to_have_attribute("aria-live", "polite")

    # Far from the limit: nothing is shown.
    await paste(alice, "x" * 7199)
    await expect(limit).to_be_hidden()

    # From 90 % on, a counter.
    await paste(alice, "x" * 7950)
    await expect(limit).to_have_text("7 950 / 8 000")
    await expect(limit).to_have_attribute("data-state", "near")
    await expect(send).to_be_enabled()

    # Over it, the composer says by how much, and the message cannot be sent.
    await paste(alice, "y" * 10_000)
    await expect(limit).to_have_text("8 000 characters at most — 2 000 too many")
    await expect(limit).to_have_attribute("data-state", "over")
    await expect(composer).to_have_attribute("aria-invalid", "true")
    await expect(send).to_be_disabled()
    await composer.press("Enter")  # does nothing: no message, no new line, nothing cut
    assert await composer.input_value() == "y" * 10_000
    await expect(alice.messages()).to_have_count(0)

    # One too many, counted in code points: 8 001 emoji are 16 002 UTF-16 units.
    await paste(alice, "😀" * 8001)
    await expect(limit).to_have_text("8 000 characters at most — 1 too many")

    # Exactly at the limit with an emoji (8 000 code points, 8 001 UTF-16 units): it goes.
    body = "😀" + "z" * 7999
    await paste(alice, body)
    await expect(limit).to_have_text("8 000 / 8 000")
    await expect(send).to_be_enabled()
    await expect(composer).not_to_have_attribute("aria-invalid", "true")
    await send.click()
    await expect(composer).to_have_value("")
    await expect(limit).to_be_hidden()
    await expect(alice.messages("sent")).to_have_count(1)

    token = await login_token(http, server.url, "alice")
    stored = [e["body"] for e in await read_history(http, server.url, token, "den") if "body" in e]
    assert stored == [body]
    alice.assert_no_errors()


async def test_a_message_of_only_whitespace_is_not_sent(
    server: RunningServer, browser: Browser
) -> None:
    alice = await open_den(browser, server.url)
    composer = alice.page.locator("#composer-input")
    # Whitespace as the server counts it (Python's str.isspace), which includes the
    # information separators U+001C-U+001F that JavaScript's trim() keeps.
    for blank in (" ", "\n\n\t", "\u3000\u00a0\u2028", "\x1c\x1f "):
        await composer.fill(blank)
        await composer.press("Enter")
    await alice.send("real text")
    await expect(alice.messages()).to_have_count(1)
    assert await alice.shown() == [("sent", "real text")]
    # Send is offered only for something to send.
    send = alice.page.locator("#composer-send")
    await composer.fill("\x1c \n")
    await expect(send).to_be_disabled()
    await composer.fill("\x1c x")
    await expect(send).to_be_enabled()
    alice.assert_no_errors()
