"""The page on a phone and a wide screen, by keyboard, in light and dark, under the CSP."""

from __future__ import annotations

import re

import aiohttp
from chatpage import ChatPage, new_context, sign_in_over_http
from playwright.async_api import Browser, expect
from support import RunningServer

LONG_WORD = "a" * 300
LONG_LINK = "https://example.org/" + "path/" * 60


async def overflow(page: ChatPage) -> int:
    """How many pixels the page is wider than the window (0: no sideways scrolling)."""
    return int(
        await page.page.evaluate(
            "document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
    )


async def test_a_360px_phone_shows_one_pane_at_a_time(
    server: RunningServer, browser: Browser
) -> None:
    context = await new_context(browser, viewport={"width": 360, "height": 740}, is_mobile=True)
    page = await ChatPage.open(context, server.url)
    await expect(page.page.locator(".auth-card")).to_be_visible()
    assert await overflow(page) == 0
    await page.sign_up("pat")
    await page.wait_online()

    # The list of rooms first, alone.
    await expect(page.page.locator(".sidebar")).to_be_visible()
    await expect(page.page.locator("#room-view")).to_be_hidden()
    await page.create_room("phones")
    # A room replaces the list; long words and links wrap instead of widening the page.
    await expect(page.page.locator(".sidebar")).to_be_hidden()
    await expect(page.page.locator("#room-back")).to_be_visible()
    await page.send(LONG_WORD)
    await page.send(f"see {LONG_LINK}")
    await page.wait_bodies([LONG_WORD, f"see {LONG_LINK}"])
    assert await overflow(page) == 0
    composer = await page.page.locator("#composer").bounding_box()
    assert composer is not None and composer["x"] >= 0 and composer["x"] + composer["width"] <= 360
    # Back to the list.
    await page.page.click("#room-back")
    await expect(page.page.locator(".sidebar")).to_be_visible()
    await expect(page.page.locator("#room-view")).to_be_hidden()
    page.assert_no_errors()


async def test_keyboard_dialogs_and_wide_screen(server: RunningServer, browser: Browser) -> None:
    context = await new_context(browser, viewport={"width": 1600, "height": 900})
    await sign_in_over_http(context, server.url, "kim")
    page = await ChatPage.open(context, server.url)
    await page.wait_online()
    p = page.page
    await expect(p.locator(".sidebar")).to_be_visible()
    await expect(p.locator("#room-view")).to_be_visible()  # both panes side by side

    # Tab reaches the actions, with a visible focus ring.
    await p.locator("#sign-out").focus()
    await p.keyboard.press("Tab")
    await expect(p.locator("#open-create")).to_be_focused()
    outline = await p.locator("#open-create").evaluate("n => getComputedStyle(n).outlineStyle")
    assert outline != "none"

    # Enter opens the dialog with the focus in its first field; Esc closes it and the
    # focus goes back to the button.
    await p.keyboard.press("Enter")
    await expect(p.locator("#dlg-create")).to_be_visible()
    await expect(p.locator("#create-name")).to_be_focused()
    await p.keyboard.press("Escape")
    await expect(p.locator("#dlg-create")).to_be_hidden()
    await expect(p.locator("#open-create")).to_be_focused()

    # A bad name is explained in the dialog, which stays open.
    await p.keyboard.press("Enter")
    await p.keyboard.type("no spaces")
    await p.keyboard.press("Enter")
    await expect(p.locator("#dlg-create .form-error")).to_contain_text("letters, digits")
    await p.locator("#create-name").fill("kbd")
    await p.keyboard.press("Enter")
    await expect(p.locator("#dlg-create")).to_be_hidden()
    await page.wait_room("kbd")

    # A taken name, from the same dialog.
    await p.click("#open-create")
    await p.locator("#create-name").fill("kbd")
    await p.keyboard.press("Enter")
    await expect(p.locator("#dlg-create .form-error")).to_contain_text("already exists")
    await p.keyboard.press("Escape")

    # The composer is reachable and Enter sends.
    await p.locator("#composer-input").focus()
    await p.keyboard.type("typed with the keyboard")
    await p.keyboard.press("Enter")
    await page.wait_bodies(["typed with the keyboard"])

    # DM with a user who does not exist: told so.
    await p.click("#open-dm")
    await p.locator("#dm-user").fill("nobody")
    await p.keyboard.press("Enter")
    await expect(p.locator("#dlg-dm .form-error")).to_have_text("There is no user named “nobody”.")
    await p.keyboard.press("Escape")
    await expect(p.locator("#dlg-dm")).to_be_hidden()
    page.assert_no_errors()


async def test_light_and_dark_follow_the_system(server: RunningServer, browser: Browser) -> None:
    backgrounds = {}
    for scheme in ("light", "dark"):
        context = await new_context(browser, color_scheme=scheme)
        page = await ChatPage.open(context, server.url)
        await expect(page.page.locator(".auth-card")).to_be_visible()
        backgrounds[scheme] = await page.page.locator(".auth-card").evaluate(
            "n => getComputedStyle(n).backgroundColor"
        )
        page.assert_no_errors()
    assert backgrounds == {"light": "rgb(255, 255, 255)", "dark": "rgb(22, 23, 27)"}


async def test_the_page_keeps_to_the_content_security_policy(
    server: RunningServer, browser: Browser, http: aiohttp.ClientSession
) -> None:
    async with http.get(server.url + "/") as response:
        csp = response.headers["Content-Security-Policy"]
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        html = await response.text()
    assert "script-src 'self'" in csp and "style-src 'self'" in csp
    assert "frame-ancestors 'none'" in csp
    # No inline script, style or event handler for the CSP to refuse.
    assert "<script>" not in html and "<style" not in html
    assert re.search(r"<[^>]*\s(on\w+|style)=", html) is None

    context = await new_context(browser)
    await sign_in_over_http(context, server.url, "csp")
    await context.add_init_script(
        "document.addEventListener('securitypolicyviolation', e => "
        "window.__violations = (window.__violations || []).concat(e.violatedDirective))"
    )
    page = await ChatPage.open(context, server.url)
    await page.wait_online()
    await page.create_room("strict")
    await page.send("styled and scripted only from /static/")
    await page.wait_bodies(["styled and scripted only from /static/"])
    violations = await page.page.evaluate("window.__violations || []")
    assert violations == []
    # The stylesheet did apply (a CSP refusal would leave the page unstyled).
    display = await page.page.locator("#app-view").evaluate("n => getComputedStyle(n).display")
    assert display == "grid"
    page.assert_no_errors()  # a refused script or style is logged as a console error
