"""The member list of a room: beside the timeline on a wide screen, a drawer on a phone;
presence dots, roles, and a click to a member's profile (whose "Message" opens the DM)."""

from __future__ import annotations

from chatpage import ChatPage, new_context, sign_in_over_http, two_people_in_a_room
from playwright.async_api import Browser, expect
from support import RunningServer


async def overflow(page: ChatPage) -> int:
    return int(
        await page.page.evaluate(
            "document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
    )


async def test_the_member_list_shows_presence_and_roles_and_opens_profiles(
    server: RunningServer, browser: Browser
) -> None:
    server.node.hub.presence.flush_interval = 0.05
    _, alice, bob = await two_people_in_a_room(browser, server.url)
    page = alice.page
    await page.set_viewport_size({"width": 1300, "height": 800})
    toggle = page.get_by_role("button", name="Members", exact=True)
    await expect(toggle).to_have_attribute("aria-expanded", "false")
    await toggle.click()
    await expect(toggle).to_have_attribute("aria-expanded", "true")
    panel = page.get_by_role("complementary", name="Members of den")
    await expect(panel).to_be_visible()
    # Beside the timeline, not over it.
    timeline = await page.locator("#messages").bounding_box()
    box = await panel.bounding_box()
    assert timeline is not None and box is not None
    assert box["x"] >= timeline["x"] + timeline["width"] - 1

    entries = panel.locator("li[data-user]")
    await expect(entries).to_have_count(2)
    me = panel.locator('li[data-user="alice"]')
    other = panel.locator('li[data-user="bob"]')
    await expect(me.locator(".member-role")).to_have_text("owner")
    await expect(me.locator(".member-username")).to_have_text("@alice")
    await expect(other.locator(".member-name")).to_have_text("bob")
    dot = other.locator(".presence-dot")
    await expect(dot).to_have_attribute("data-state", "online")
    await expect(other.locator(".member-open")).to_have_attribute("aria-label", "bob, online")
    await expect(other.get_by_role("button", name="Make admin")).to_be_visible()

    # bob closes his page: offline, no dot.
    await bob.page.close()
    await expect(dot).to_be_hidden()
    await expect(other.locator(".member-open")).to_have_attribute("aria-label", "bob, offline")

    # By keyboard: a member's entry opens their profile, whose "Message" opens the DM.
    await other.locator(".member-open").focus()
    await page.keyboard.press("Enter")
    dialog = page.get_by_role("dialog", name="bob")
    await expect(dialog).to_be_visible()
    await expect(dialog.locator(".profile-username")).to_have_text("@bob")
    await expect(dialog.locator(".profile-presence-text")).to_have_text("Offline")
    await dialog.get_by_role("button", name="Message").click()
    await expect(dialog).to_be_hidden()
    await expect(alice.room_link("dm:alice:bob")).to_have_attribute("aria-current", "page")
    # The list follows the room on screen: the DM's two people, no role buttons there.
    dm_panel = page.get_by_role("complementary", name="Members of bob")
    await expect(dm_panel).to_be_visible()
    await expect(dm_panel.locator("li[data-user]")).to_have_count(2)
    await expect(page.locator(".member-toggle:visible")).to_have_count(0)

    await toggle.click()
    await expect(dm_panel).to_be_hidden()
    alice.assert_no_errors()


async def test_on_a_phone_the_member_list_is_a_drawer(
    server: RunningServer, browser: Browser
) -> None:
    context = await new_context(browser, viewport={"width": 360, "height": 740}, is_mobile=True)
    await sign_in_over_http(context, server.url, "pat")
    assert (await context.request.post(f"{server.url}/api/v1/rooms", data={"name": "den"})).ok
    pat = await ChatPage.open(context, server.url, "/#/room/den")
    await pat.wait_online()
    await pat.wait_room("den")
    page = pat.page
    toggle = page.get_by_role("button", name="Members", exact=True)
    await toggle.click()
    panel = page.get_by_role("complementary", name="Members of den")
    await expect(panel).to_be_visible()
    box = await panel.bounding_box()
    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 360
    assert await overflow(pat) == 0
    # The drawer covers the room: the focus is in it, and Esc gives it back to the button.
    await expect(panel.get_by_role("button", name="Close the members")).to_be_focused()
    await expect(panel.locator('li[data-user="pat"] .member-open')).to_have_attribute(
        "aria-label", "pat, online, you, owner"
    )
    await page.keyboard.press("Escape")
    await expect(panel).to_be_hidden()
    await expect(toggle).to_be_focused()
    # Back to the list of rooms: no drawer left over it.
    await toggle.click()
    await expect(panel).to_be_visible()
    await page.click("#room-back")
    await expect(page.locator(".sidebar")).to_be_visible()
    await expect(panel).to_be_hidden()
    pat.assert_no_errors()
    await context.close()


async def test_every_member_sees_who_owns_and_administers_the_room(
    server: RunningServer, browser: Browser
) -> None:
    """The roles come with the list: bob sees alice own the room, and carol, who joins after
    alice made bob an admin (an event her page never loaded), sees that too."""
    context, _, bob = await two_people_in_a_room(browser, server.url)
    made = await context.request.put(
        f"{server.url}/api/v1/rooms/den/roles/bob", data={"role": "admin"}
    )
    assert made.status == 204
    carol_context = await new_context(browser)
    await sign_in_over_http(carol_context, server.url, "carol")
    assert (await carol_context.request.post(f"{server.url}/api/v1/rooms/den/join")).ok
    for n in range(60):  # the role change scrolls out of the page carol loads
        sent = await context.request.post(
            f"{server.url}/api/v1/rooms/den/messages",
            data={"client_msg_id": f"filler-{n}", "body": "filler"},
        )
        assert sent.status == 201
    carol = await ChatPage.open(carol_context, server.url, "/#/room/den")
    await carol.wait_online()
    await carol.wait_room("den")
    for viewer in (bob, carol):
        await viewer.page.get_by_role("button", name="Members", exact=True).click()
        panel = viewer.page.get_by_role("complementary", name="Members of den")
        await expect(panel.locator('li[data-user="alice"] .member-role')).to_have_text("owner")
        await expect(panel.locator('li[data-user="bob"] .member-role')).to_have_text("admin")
        await expect(panel.locator('li[data-user="carol"] .member-role')).to_have_text("")
        await expect(panel.locator(".member-toggle:visible")).to_have_count(0)  # no owner
        viewer.assert_no_errors()
