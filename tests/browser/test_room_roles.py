"""Room roles in the page: the owner and admins delete anyone's message, a plain member only
their own; the owner names admins in the member list, and the change applies live."""

from __future__ import annotations

from chatpage import ChatPage, new_context, sign_in_over_http, two_people_in_a_room
from playwright.async_api import Browser, Locator, expect
from support import RunningServer


def delete_button(page: ChatPage, index: int) -> Locator:
    """The Delete action of the ``index``-th message, if the page offers it (hidden ones are
    not counted: a role change shows or hides it)."""
    return page.messages().nth(index).get_by_role("button", name="Delete", exact=True)


async def delete_message(page: ChatPage, index: int) -> None:
    row = page.messages().nth(index)
    await row.hover()
    await delete_button(page, index).click()
    await row.get_by_role("alertdialog").get_by_role("button", name="Delete").click()


async def test_the_owner_deletes_a_members_message_and_a_member_cannot(
    server: RunningServer, browser: Browser
) -> None:
    _, alice, bob = await two_people_in_a_room(browser, server.url)  # alice made the room
    await alice.send("house rules")
    await bob.send("spam spam")
    await alice.wait_bodies(["house rules", "spam spam"])
    await bob.wait_bodies(["house rules", "spam spam"])

    # bob is a member: Delete on his own message only.
    await bob.messages().nth(0).hover()
    await expect(delete_button(bob, 0)).to_have_count(0)
    await bob.messages().nth(1).hover()
    await expect(delete_button(bob, 1)).to_have_count(1)

    # alice owns the room: she deletes bob's message, and bob sees it go.
    await delete_message(alice, 1)
    await alice.wait_bodies(["house rules", "Message deleted"])
    await bob.wait_bodies(["house rules", "Message deleted"])
    # She may not edit it, though: only its author edits.
    await expect(alice.page.locator("#message-list .msg-action.edit")).to_have_count(1)
    for page in (alice, bob):
        page.assert_no_errors()


async def test_the_owner_makes_an_admin_who_then_deletes_others_messages(
    server: RunningServer, browser: Browser
) -> None:
    _, alice, bob = await two_people_in_a_room(browser, server.url)
    carol_context = await new_context(browser)
    await sign_in_over_http(carol_context, server.url, "carol")
    assert (await carol_context.request.post(f"{server.url}/api/v1/rooms/den/join")).ok
    carol = await ChatPage.open(carol_context, server.url, "/#/room/den")
    await carol.wait_online()
    await carol.wait_room("den")
    await carol.send("carol was here")
    await bob.wait_bodies(["carol was here"])
    await bob.messages().nth(0).hover()
    await expect(delete_button(bob, 0)).to_have_count(0)

    # alice opens the member list of the room and makes bob an admin.
    await alice.page.get_by_role("button", name="Members").click()
    dialog = alice.page.get_by_role("complementary", name="Members of den")
    await expect(dialog.locator("li[data-user]")).to_have_count(3)
    bob_entry = dialog.locator('li[data-user="bob"]')
    await expect(dialog.locator('li[data-user="alice"]')).to_contain_text("owner")
    await expect(dialog.locator('li[data-user="alice"] .member-toggle')).to_be_hidden()
    await bob_entry.get_by_role("button", name="Make admin").click()
    await expect(bob_entry.get_by_role("button", name="Remove admin")).to_be_visible()
    await expect(bob_entry.locator(".member-role")).to_have_text("admin")

    # bob's page learns it live: the line in the timeline, and Delete on carol's message.
    await expect(bob.page.locator("#message-list .member-line").last).to_contain_text(
        "alice made you an admin"
    )
    await bob.messages().nth(0).hover()
    await expect(delete_button(bob, 0)).to_be_visible()
    await delete_message(bob, 0)
    await carol.wait_bodies(["Message deleted"])
    await bob.wait_bodies(["Message deleted"])

    # A member sees no Members buttons to change roles, only the list.
    await bob.page.get_by_role("button", name="Members").click()
    bob_dialog = bob.page.get_by_role("complementary", name="Members of den")
    await expect(bob_dialog.locator("li[data-user]")).to_have_count(3)
    await expect(bob_dialog.get_by_role("button", name="Make admin")).to_have_count(0)
    await bob.page.keyboard.press("Escape")

    # alice takes it back: bob loses Delete on others' messages, live.
    await carol.send("again")
    await bob.wait_bodies(["Message deleted", "again"])
    await bob_entry.get_by_role("button", name="Remove admin").click()
    await expect(bob_entry.get_by_role("button", name="Make admin")).to_be_visible()
    await expect(bob.page.locator("#message-list .member-line").last).to_contain_text(
        "alice made you a member"
    )
    await bob.messages().nth(1).hover()
    await expect(delete_button(bob, 1)).to_have_count(0)
    for page in (alice, bob, carol):
        page.assert_no_errors()
