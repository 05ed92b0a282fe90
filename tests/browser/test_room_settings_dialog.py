"""The room settings dialog and what moderation looks like from the other side: the owner
changes the topic and privacy, mutes a member (whose message box gives way to a notice that
goes when the mute is lifted) and bans another (whose room says who banned them and why, and
can be closed from the list); a plain member sees the settings read-only, with no
moderation buttons."""

from __future__ import annotations

from chatpage import ChatPage, new_context, sign_in_over_http, two_people_in_a_room
from playwright.async_api import Browser, expect
from support import RunningServer


async def test_the_owner_sets_the_room_mutes_and_bans_and_the_members_see_it(
    server: RunningServer, browser: Browser
) -> None:
    alice_context, alice, bob = await two_people_in_a_room(browser, server.url)  # alice owns den
    carol_context = await new_context(browser)
    await sign_in_over_http(carol_context, server.url, "carol")
    assert (await carol_context.request.post(f"{server.url}/api/v1/rooms/den/join")).ok
    carol = await ChatPage.open(carol_context, server.url, "/#/room/den")
    await carol.wait_online()
    await carol.wait_room("den")

    page = alice.page
    await page.get_by_role("button", name="Room settings").click()
    dialog = page.get_by_role("dialog", name="Settings of #den")
    await expect(dialog).to_be_visible()
    await expect(dialog.locator("#room-settings-members li[data-user]")).to_have_count(3)
    await expect(dialog.locator("#room-settings-bans")).to_contain_text("Nobody is banned.")
    # Nobody acts on themselves.
    await expect(dialog.locator('li[data-user="alice"] button')).to_have_count(0)

    # Topic and privacy: the room's line says so, on the member's page too.
    await dialog.locator("#room-topic").fill("<b>plans</b> for the week")
    await dialog.get_by_label("Private: by invitation").check()
    await dialog.get_by_role("button", name="Save").click()
    await expect(dialog.locator(".form-ok")).to_have_text("Saved.")
    line = "alice set the topic to “<b>plans</b> for the week” and made the room private"
    await expect(bob.page.locator("#message-list .member-line").last).to_contain_text(line)
    await expect(bob.page.locator("#room-sub")).to_contain_text("Private room")
    await dialog.get_by_role("button", name="Save").click()
    await expect(dialog.locator(".form-ok")).to_have_text("Nothing to change.")

    # The title and how long messages are kept; a refusal is shown in the server's words.
    await dialog.locator("#room-title").fill("Plans\u202e")
    await dialog.get_by_role("button", name="Save").click()
    await expect(dialog.locator(".form-error")).to_contain_text("cannot hold control characters")
    await dialog.locator("#room-title").fill("Weekly plans")
    await dialog.locator("#room-retention").fill("30")
    await dialog.get_by_role("button", name="Save").click()
    await expect(dialog.locator(".form-ok")).to_have_text("Saved.")
    await expect(dialog.locator(".form-error")).to_be_hidden()

    # Mute bob for 10 minutes: his box gives way to a notice until it is lifted.
    bob_entry = dialog.locator('li[data-user="bob"]')
    await bob_entry.get_by_role("button", name="Mute: bob").click()
    await bob_entry.get_by_label("How long to mute bob").select_option("10m")
    await bob_entry.get_by_role("button", name="Mute", exact=True).click()
    await expect(bob_entry.locator(".member-facts")).to_contain_text("muted until")
    notice = bob.page.locator("#room-notice")
    await expect(notice).to_be_visible()
    await expect(notice).to_contain_text("You are muted in #den until")
    await expect(bob.page.locator("#composer-input")).to_be_disabled()
    await expect(bob.page.locator("#app-view")).to_have_attribute("data-muted", "yes")
    # Reloaded, his page still knows (from the member list).
    await bob.page.reload()
    await bob.wait_online()
    await expect(notice).to_contain_text("You are muted in #den until")
    await expect(bob.page.locator("#composer-input")).to_be_disabled()

    await bob_entry.get_by_role("button", name="Unmute: bob").click()
    await expect(dialog.locator(".form-ok")).to_have_text("bob may write again.")
    await expect(notice).to_be_hidden()
    await expect(bob.page.locator("#composer-input")).to_be_enabled()
    await bob.send("back again")
    await alice.wait_bodies(["back again"])

    # Mute carol until lifted, then ban her with a reason.
    carol_entry = dialog.locator('li[data-user="carol"]')
    await carol_entry.get_by_role("button", name="Mute: carol").click()
    await carol_entry.get_by_label("How long to mute carol").select_option("lifted")
    await carol_entry.get_by_role("button", name="Mute", exact=True).click()
    await expect(carol.page.locator("#room-notice-text")).to_have_text(
        "You are muted in #den until a moderator unmutes you"
    )
    await carol_entry.get_by_role("button", name="Ban: carol").click()
    await carol_entry.get_by_label("Why carol is banned").fill("<i>spam</i>")
    await carol_entry.get_by_role("button", name="Ban", exact=True).click()
    await expect(dialog.locator('#room-settings-members li[data-user="carol"]')).to_have_count(0)
    ban = dialog.locator('#room-settings-bans li[data-user="carol"]')
    await expect(ban).to_contain_text("by alice")
    await expect(ban).to_contain_text(": <i>spam</i>")

    # carol's page: the notice says who and why, the box is gone, the room closes from the list.
    carol_notice = carol.page.locator("#room-notice-text")
    await expect(carol_notice).to_have_text("You were banned from #den by alice: <i>spam</i>")
    await expect(carol.page.locator("#composer")).to_be_hidden()
    await expect(carol.page.locator("#composer-input")).to_be_disabled()
    await expect(carol.page.get_by_role("button", name="Room settings")).to_be_hidden()
    await expect(carol.page.locator("#message-list i")).to_have_count(0)  # text, not HTML
    await carol.page.get_by_role("button", name="Close den").click()
    await expect(carol.room_link("den")).to_have_count(0)

    # Unban from the list.
    await ban.get_by_role("button", name="Unban: carol").click()
    await expect(dialog.locator("#room-settings-bans")).to_contain_text("Nobody is banned.")
    for chat in (alice, bob, carol):
        chat.assert_no_errors()
    await alice_context.close()
    await carol_context.close()


async def test_a_member_sees_the_settings_read_only_and_no_moderation(
    server: RunningServer, browser: Browser
) -> None:
    alice_context, alice, bob = await two_people_in_a_room(browser, server.url)
    api = f"{server.url}/api/v1/rooms/den"
    assert (await alice_context.request.patch(api, data={"topic": "quiet please"})).status == 204
    await expect(bob.page.locator("#message-list .member-line").last).to_contain_text(
        "quiet please"
    )
    page = bob.page
    await page.get_by_role("button", name="Room settings").click()
    dialog = page.get_by_role("dialog", name="About #den")
    await expect(dialog).to_be_visible()
    facts = dialog.locator(".room-facts")
    await expect(facts).to_contain_text("quiet please")
    await expect(facts).to_contain_text("Public: anyone may join")
    await expect(facts).to_contain_text("The server's setting")  # how long messages are kept
    await expect(dialog.locator("#room-settings-members li[data-user]")).to_have_count(2)
    # alice, the first account, is the server's admin too.
    await expect(dialog.locator('li[data-user="alice"] .member-facts')).to_have_text(
        "owner · server admin"
    )
    await expect(dialog.locator("form, input, [data-action]")).to_have_count(0)
    await expect(dialog.locator("#room-settings-bans")).to_be_hidden()
    await page.keyboard.press("Escape")
    await expect(dialog).to_be_hidden()

    # Made an admin, bob moderates members but not the owner, and reads the bans.
    assert (await alice_context.request.put(f"{api}/roles/bob", data={"role": "admin"})).ok
    await expect(page.locator("#message-list .member-line").last).to_contain_text("an admin")
    await page.get_by_role("button", name="Room settings").click()
    dialog = page.get_by_role("dialog", name="Settings of #den")
    await expect(dialog).to_be_visible()
    await expect(dialog.locator('li[data-user="alice"] [data-action]')).to_have_count(0)
    await expect(dialog.locator("#room-settings-bans")).to_contain_text("Nobody is banned.")
    alice.assert_no_errors()
    bob.assert_no_errors()
