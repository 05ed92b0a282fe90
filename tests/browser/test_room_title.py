"""A room's title in the page: the sidebar and the header show it instead of the name (which
stays in the address and on hover), live when it changes, and the name again once it is
cleared; the directory shows each room's title and topic. The title is text, never HTML."""

from __future__ import annotations

from chatpage import ChatPage, new_context, two_people_in_a_room
from playwright.async_api import Browser, expect
from support import RunningServer


async def test_the_title_replaces_the_name_and_the_directory_shows_the_topic(
    browser: Browser, server: RunningServer
) -> None:
    alice_context, alice, bob = await two_people_in_a_room(browser, server.url)
    title = "<b>Den</b> of ideas"
    changed = await alice_context.request.patch(
        f"{server.url}/api/v1/rooms/den", data={"title": title, "topic": "plans & plots"}
    )
    assert changed.status == 204, await changed.text()
    for page in (alice, bob):  # live, from room_changed
        await expect(page.room_link("den").locator(".room-label")).to_have_text(title)
        await expect(page.page.locator("#room-label")).to_have_text(title)
        await expect(page.page.locator("#room-label")).to_have_attribute("title", "#den")
    assert await bob.page.locator("#room-label b").count() == 0

    carol_context = await new_context(browser)
    registered = await carol_context.request.post(
        f"{server.url}/api/v1/register", data={"username": "carol", "password": "x" * 12}
    )
    assert registered.ok, await registered.text()
    carol = await ChatPage.open(carol_context, server.url)
    await carol.wait_online()
    await carol.page.click("#open-browse")
    entry = carol.page.locator('#directory-list li[data-room="den"]')
    await expect(entry.locator(".dir-title")).to_have_text(title)
    await expect(entry.locator(".dir-address")).to_have_text(" #den")
    await expect(entry.locator(".dir-topic")).to_have_text("plans & plots")
    await entry.locator("button").click()  # Join
    await expect(carol.page.locator("#dlg-browse")).not_to_be_visible()
    await carol.wait_room("den")
    await expect(carol.page.locator("#room-label")).to_have_text(title)  # from the room list

    cleared = await alice_context.request.patch(
        f"{server.url}/api/v1/rooms/den", data={"title": ""}
    )
    assert cleared.status == 204
    for page in (alice, bob, carol):
        await expect(page.room_link("den").locator(".room-label")).to_have_text("den")
        await expect(page.page.locator("#room-label")).to_have_text("den")
    for page in (alice, bob, carol):
        assert page.errors == []
    await carol_context.close()
    await alice_context.close()
