"""Searching in the page: the sidebar's box opens a dialog of results, newest first, each
body shown as text with its matches marked; a result opens its room."""

from __future__ import annotations

from chatpage import ChatPage, new_context, sign_in_over_http
from playwright.async_api import Browser, expect
from support import RunningServer


async def test_search_shows_marked_matches_as_text_and_opens_the_room(
    server: RunningServer, browser: Browser
) -> None:
    context = await new_context(browser)
    await sign_in_over_http(context, server.url, "alice")
    for room, body in (("den", "今天我们去吃饭"), ("side", "<b>Lunch</b> at NOON, noon!")):
        assert (await context.request.post(f"{server.url}/api/v1/rooms", data={"name": room})).ok
        posted = await context.request.post(
            f"{server.url}/api/v1/rooms/{room}/messages",
            data={"client_msg_id": room, "body": body},
        )
        assert posted.ok
    alice = await ChatPage.open(context, server.url, "/#/room/den")
    await alice.wait_online()
    await alice.wait_room("den")
    page = alice.page
    box = page.get_by_role("searchbox", name="Search messages")

    await box.fill("no")
    await box.press("Enter")
    await expect(page.locator("#search-note")).to_have_text("Type at least 3 characters to search.")
    await expect(page.locator("#dlg-search")).not_to_be_visible()

    await box.fill("Noon")
    await box.press("Enter")
    results = page.locator("#search-results .search-hit")
    await expect(results).to_have_count(1)
    hit = results.first
    await expect(hit.locator(".search-body")).to_have_text("<b>Lunch</b> at NOON, noon!")
    await expect(hit.locator("mark")).to_have_text(["NOON", "noon"])
    await expect(hit.locator("b")).to_have_count(0)  # the body's tags are text
    await expect(page.locator("#search-note")).to_be_hidden()

    # Again from the dialog's own box, then closed and again from the sidebar's.
    again = page.locator("#dlg-search").get_by_role("searchbox", name="Search messages")
    await expect(again).to_have_value("Noon")
    await again.fill("我们去")
    await again.press("Enter")
    await expect(results.locator("mark")).to_have_text(["我们去"])
    await expect(results.locator(".dir-name")).to_have_text(["den"])
    await page.locator("#dlg-search").get_by_role("button", name="Close").click()
    await expect(page.locator("#dlg-search")).not_to_be_visible()
    await box.fill("noon!")
    await box.press("Enter")
    await expect(results.locator(".dir-name")).to_have_text(["side"])
    await results.first.click()
    await expect(page.locator("#dlg-search")).not_to_be_visible()
    await alice.wait_room("side")
    await alice.wait_bodies(["<b>Lunch</b> at NOON, noon!"])
    alice.assert_no_errors()
    await context.close()
