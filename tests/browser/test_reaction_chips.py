"""Reactions in the page: chips under a message with counts and the reader's own highlighted,
picked from a small emoji picker (mouse, keyboard, or a long press on a touch screen), live
for everyone, kept across a reload and caught up after a reconnect; refusals shown in the
row."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from chatpage import ChatPage, new_context, sign_in_over_http, two_people_in_a_room
from playwright.async_api import Browser, BrowserContext, Locator, expect
from support import RunningServer

UP = "👍"
TADA = "🎉"
JOY = "😂"
PIZZA = "🍕"


def chip(page: ChatPage, index: int, emoji: str) -> Locator:
    """The reaction chip of ``emoji`` under the ``index``-th message shown."""
    return page.messages().nth(index).locator(f'.reactions .reaction[data-emoji="{emoji}"]')


async def expect_chip(page: ChatPage, index: int, emoji: str, count: int, mine: bool) -> None:
    shown = chip(page, index, emoji)
    await expect(shown.locator(".reaction-count")).to_have_text(str(count))
    await expect(shown).to_have_attribute("aria-pressed", "true" if mine else "false")


async def chip_emoji(page: ChatPage, index: int) -> list[str]:
    """The emoji of the chips under the ``index``-th message, in the order shown."""
    emoji = page.messages().nth(index).locator(".reaction-emoji")
    found: list[str] = await emoji.all_text_contents()
    return found


def picker(page: ChatPage) -> Locator:
    return page.page.get_by_role("dialog", name="Choose a reaction")


async def react_with_picker(page: ChatPage, index: int, name: str) -> None:
    """Hover the message, click React, pick the emoji called ``name``."""
    row = page.messages().nth(index)
    await row.hover()
    await row.get_by_role("button", name="React", exact=True).click()
    await picker(page).get_by_role("button", name=name, exact=True).click()
    await expect(picker(page)).to_have_count(0)


async def test_reactions_are_live_for_both_and_kept_after_a_reload(
    server: RunningServer, browser: Browser
) -> None:
    _, alice, bob = await two_people_in_a_room(browser, server.url)
    await alice.send("lunch?")
    await bob.wait_bodies(["lunch?"])

    await react_with_picker(alice, 0, "thumbs up")
    await expect_chip(alice, 0, UP, 1, mine=True)
    await expect_chip(bob, 0, UP, 1, mine=False)

    await bob.page.reload()
    await bob.wait_online()
    await bob.wait_room("den")
    await expect_chip(bob, 0, UP, 1, mine=False)

    # bob adds his by clicking the same chip: two, highlighted for him.
    await chip(bob, 0, UP).click()
    await expect_chip(bob, 0, UP, 2, mine=True)
    await expect_chip(alice, 0, UP, 2, mine=True)

    # alice takes hers back.
    await chip(alice, 0, UP).click()
    await expect_chip(alice, 0, UP, 1, mine=False)
    await expect_chip(bob, 0, UP, 1, mine=True)

    # bob takes his back: no reaction left, no chips.
    await chip(bob, 0, UP).click()
    for page in (alice, bob):
        await expect(page.messages().nth(0).locator(".reactions")).to_have_count(0)
        page.assert_no_errors()


async def test_reactions_made_while_offline_show_after_the_reconnect(
    server: RunningServer, browser: Browser
) -> None:
    _, alice, bob = await two_people_in_a_room(browser, server.url)
    await alice.send("before")
    await bob.wait_bodies(["before"])
    bob_context = bob.page.context

    # bob's page loses its connection (it drops the socket on the `offline` event).
    await bob_context.set_offline(True)
    await expect(bob.page.locator("#conn-banner")).to_have_attribute("data-state", "offline")
    await react_with_picker(alice, 0, "party popper")
    await alice.send("while away")
    await react_with_picker(alice, 1, "thumbs up")
    await expect_chip(alice, 1, UP, 1, mine=True)

    # Back: the sync replays a reaction to a message bob held, and a new message that comes
    # with its count and also its reaction event, which must not be counted twice.
    await bob_context.set_offline(False)
    await bob.wait_online()
    await bob.wait_bodies(["before", "while away"])
    await expect_chip(bob, 0, TADA, 1, mine=False)
    await expect_chip(bob, 1, UP, 1, mine=False)

    # And it stays live after that.
    await chip(bob, 1, UP).click()
    await expect_chip(alice, 1, UP, 2, mine=True)
    await expect_chip(bob, 1, UP, 2, mine=True)
    for page in (alice, bob):
        page.assert_no_errors()


async def test_the_emoji_picker_by_keyboard(server: RunningServer, browser: Browser) -> None:
    _, alice, bob = await two_people_in_a_room(browser, server.url)
    await alice.send("keys only")
    await bob.wait_bodies(["keys only"])
    row = alice.messages().nth(0)
    react = row.get_by_role("button", name="React", exact=True)

    # The row's actions are buttons in the tab order; Enter opens the picker on its first
    # emoji.
    await react.focus()
    await expect(react).to_be_visible()  # shown on keyboard focus, not only on hover
    await alice.page.keyboard.press("Enter")
    grid = picker(alice)
    await expect(grid.get_by_role("button", name="thumbs up", exact=True)).to_be_focused()
    await alice.page.keyboard.press("ArrowRight")
    await expect(grid.get_by_role("button", name="red heart", exact=True)).to_be_focused()
    await alice.page.keyboard.press("ArrowDown")  # one row of eight further
    await expect(grid.get_by_role("button", name="fire", exact=True)).to_be_focused()
    await alice.page.keyboard.press("ArrowUp")
    await alice.page.keyboard.press("ArrowLeft")
    await expect(grid.get_by_role("button", name="thumbs up", exact=True)).to_be_focused()

    # Esc closes it and gives the focus back, sending nothing.
    await alice.page.keyboard.press("Escape")
    await expect(grid).to_have_count(0)
    await expect(react).to_be_focused()

    await alice.page.keyboard.press("Enter")
    await alice.page.keyboard.press("ArrowRight")
    await alice.page.keyboard.press("ArrowRight")
    await alice.page.keyboard.press("Enter")
    await expect_chip(alice, 0, JOY, 1, mine=True)
    await expect_chip(bob, 0, JOY, 1, mine=False)
    # The row was made again with its reaction: the focus is on its React button still.
    await expect(
        alice.messages().nth(0).get_by_role("button", name="React", exact=True)
    ).to_be_focused()

    # "+" next to the chips opens it too; End is the last emoji. Chips are in code point
    # order (🍕 U+1F355 before 😂 U+1F602).
    await alice.messages().nth(0).get_by_role("button", name="Add reaction").click()
    await expect(grid.get_by_role("button", name="thumbs up", exact=True)).to_be_focused()
    await alice.page.keyboard.press("End")
    await expect(grid.get_by_role("button", name="pizza", exact=True)).to_be_focused()
    await alice.page.keyboard.press("Enter")
    await expect_chip(bob, 0, PIZZA, 1, mine=False)
    assert await chip_emoji(bob, 0) == [PIZZA, JOY]
    await expect(alice.messages().nth(0).get_by_role("button", name="Add reaction")).to_be_focused()
    for page in (alice, bob):
        page.assert_no_errors()


async def test_a_refused_reaction_is_shown_in_the_row_and_names_are_text(
    server: RunningServer, browser: Browser
) -> None:
    alice_context, alice, bob = await two_people_in_a_room(browser, server.url)
    await alice.send("popular")
    await bob.wait_bodies(["popular"])
    seq = await alice.messages().nth(0).get_attribute("data-seq")
    reactions = f"{server.url}/api/v1/rooms/den/messages/{seq}/reactions"

    # Markup as a name is no emoji: the server refuses it.
    hostile = quote(":<img src=x onerror=alert(1)>:", safe="")
    refused = await alice_context.request.put(f"{reactions}/{hostile}")
    assert refused.status == 400, await refused.text()

    # bob fills the message with the 20 different emoji it may hold, by name.
    bob_context = bob.page.context
    for n in range(20):
        added = await bob_context.request.put(f"{reactions}/{quote(f':e{n}:', safe='')}")
        assert added.status == 200, await added.text()
    chips = alice.messages().nth(0).locator(".reactions .reaction[data-emoji]")
    await expect(chips).to_have_count(20)
    await expect_chip(alice, 0, ":e0:", 1, mine=False)
    await expect(alice.messages().nth(0).locator(".reactions img")).to_have_count(0)

    # A 21st: refused, and said so in the row.
    await alice.messages().nth(0).get_by_role("button", name="Add reaction").click()
    await picker(alice).get_by_role("button", name="fire", exact=True).click()
    await expect(alice.messages().nth(0).get_by_role("alert")).to_have_text(
        "Could not react: a message holds at most 20 different reactions"
    )
    # One it has already is still added.
    await chip(alice, 0, ":e5:").click()
    await expect_chip(bob, 0, ":e5:", 2, mine=True)
    for page in (alice, bob):
        page.assert_no_errors()


async def touch_press(context: BrowserContext, page: ChatPage, target: Locator) -> None:
    """Put a finger on ``target`` and keep it there until the action sheet opens."""
    box = await target.bounding_box()
    assert box is not None
    point: dict[str, Any] = {"x": box["x"] + 40, "y": box["y"] + box["height"] / 2}
    cdp = await context.new_cdp_session(page.page)
    await cdp.send("Input.dispatchTouchEvent", {"type": "touchStart", "touchPoints": [point]})
    await expect(page.page.get_by_role("menu", name="Message actions")).to_be_visible()
    await cdp.send("Input.dispatchTouchEvent", {"type": "touchEnd", "touchPoints": []})
    await cdp.detach()


async def test_a_long_press_opens_the_actions_on_a_touch_screen(
    server: RunningServer, browser: Browser
) -> None:
    _, alice, bob = await two_people_in_a_room(browser, server.url)
    await bob.send("tap and hold")
    await alice.wait_bodies(["tap and hold"])
    phone = await new_context(browser, has_touch=True)
    await sign_in_over_http(phone, server.url, "bob", register=False)
    bob_phone = await ChatPage.open(phone, server.url, "/#/room/den")
    await bob_phone.wait_online()
    await bob_phone.wait_room("den")
    await bob_phone.wait_bodies(["tap and hold"])

    row = bob_phone.messages().nth(0)
    await touch_press(phone, bob_phone, row.locator(".msg-body"))
    sheet = bob_phone.page.get_by_role("menu", name="Message actions")
    items = await sheet.get_by_role("menuitem").all_text_contents()
    assert items[0] == "React" and items[-1] == "Cancel"
    assert {"Edit", "Delete"} <= set(items), items
    await sheet.get_by_role("menuitem", name="React").tap()
    await expect(sheet).to_have_count(0)
    await picker(bob_phone).get_by_role("button", name="eyes", exact=True).tap()
    await expect_chip(alice, 0, "👀", 1, mine=False)
    await expect_chip(bob_phone, 0, "👀", 1, mine=True)

    # Edit from the sheet opens the row's editor.
    await touch_press(phone, bob_phone, row.locator(".msg-body"))
    await sheet.get_by_role("menuitem", name="Edit").tap()
    editor = row.get_by_role("textbox", name="Edit message")
    await expect(editor).to_have_value("tap and hold")
    await editor.fill("held")
    await editor.press("Enter")
    await alice.wait_bodies(["held (edited)"])

    # On someone else's message a member can neither edit nor delete (Cancel closes).
    await alice.send("from alice")
    await bob_phone.wait_bodies(["held (edited)", "from alice"])
    await touch_press(phone, bob_phone, bob_phone.messages().nth(1).locator(".msg-body"))
    items = await sheet.get_by_role("menuitem").all_text_contents()
    assert "React" in items and not {"Edit", "Delete"} & set(items), items
    await sheet.get_by_role("menuitem", name="Cancel").tap()
    await expect(sheet).to_have_count(0)
    for page in (alice, bob, bob_phone):
        page.assert_no_errors()
