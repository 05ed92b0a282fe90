"""The seed's plain page and the hubbub page talk to each other in `lobby`."""

from __future__ import annotations

from pathlib import Path

from chatpage import ChatPage, new_context, sign_in_over_http
from playwright.async_api import Browser, expect
from support import RunningServer

SEED_PAGE = Path(__file__).with_name("seed_page.html")


async def test_the_seed_page_and_the_hubbub_page_chat_in_the_lobby(
    server: RunningServer, browser: Browser
) -> None:
    context = await new_context(browser)
    await sign_in_over_http(context, server.url, "carol")
    carol = await ChatPage.open(context, server.url)
    await carol.wait_online()
    await carol.join_from_directory("lobby")

    # The seed's page, opened as a local file (Origin: null) in another browser.
    seed = await (await new_context(browser)).new_page()
    await seed.goto(f"{SEED_PAGE.as_uri()}#{server.ws_url}")
    await seed.fill("#name", "ann")
    await seed.click("#join button")
    await expect(seed.locator("body")).to_have_attribute("data-connected", "yes")
    await seed.fill("#text", "hello from the old page")
    await seed.click("#chat button")

    # carol sees the guest's line, marked as a guest's.
    await carol.wait_bodies(["hello from the old page"])
    await expect(carol.page.locator("#message-list .msg-author")).to_have_text(["ann"])
    await expect(carol.page.locator("#message-list .guest-tag")).to_have_text(["guest"])

    # carol answers from the hubbub page; the old page shows it like any line.
    await carol.send("hi ann, welcome to hubbub")
    await expect(seed.locator("#log .line")).to_have_text(
        ["hello from the old page", "hi ann, welcome to hubbub"]
    )
    await carol.wait_bodies(["hello from the old page", "hi ann, welcome to hubbub"])
    await expect(carol.messages("sent")).to_have_count(2)
    carol.assert_no_errors()
