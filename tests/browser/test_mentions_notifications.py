"""Mentions and notifications: the `@` list in the box, a mention marked in its row and
counted in the sidebar, the tab's title and icon; a desktop notification for a mention or a
DM while the page is hidden, none from a muted room.

Headless Chromium shows no notifications: an init script wraps ``window.Notification`` and
records each one made (it still makes it), and makes ``document.visibilityState`` answer
what the test says, as when another tab or window is in front.
"""

from __future__ import annotations

import json
import re
from typing import Any

from chatpage import ChatPage, eventually, new_context, sign_in_over_http
from playwright.async_api import Browser, BrowserContext, expect
from support import RunningServer

MENTIONED = re.compile(r"\bmentioned\b")
MUTED = re.compile(r"\bmuted\b")
OBSERVE = """
window.__notes = [];
window.__noteObjects = [];
window.__hidden = false;
const Real = window.Notification;
class Observed extends Real {
  constructor(title, options = {}) {
    window.__notes.push({ title, body: options.body ?? '' });
    super(title, options);
    window.__noteObjects.push(this);
  }
}
window.Notification = Observed;
Object.defineProperty(Document.prototype, 'visibilityState', {
  configurable: true,
  get() { return window.__hidden ? 'hidden' : 'visible'; },
});
"""


async def three_in_a_room(browser: Browser, url: str) -> tuple[ChatPage, ChatPage, BrowserContext]:
    """alice and bob in ``den`` and ``lounge``, and carol in ``den``; alice looks at ``den``,
    bob (who may be notified) at ``lounge``."""
    alice_context = await new_context(browser)
    bob_context = await new_context(browser)
    await bob_context.add_init_script(OBSERVE)
    carol_context = await new_context(browser)
    for context, name in ((alice_context, "alice"), (bob_context, "bob"), (carol_context, "carol")):
        await sign_in_over_http(context, url, name)
    for room in ("den", "lounge"):
        assert (await alice_context.request.post(f"{url}/api/v1/rooms", data={"name": room})).ok
        assert (await bob_context.request.post(f"{url}/api/v1/rooms/{room}/join")).ok
    assert (await carol_context.request.post(f"{url}/api/v1/rooms/den/join")).ok
    await carol_context.close()
    alice = await ChatPage.open(alice_context, url, "/#/room/den")
    bob = await ChatPage.open(bob_context, url, "/#/room/lounge")
    for page, room in ((alice, "den"), (bob, "lounge")):
        await page.wait_online()
        await page.wait_room(room)
    return alice, bob, bob_context


async def notes(page: ChatPage) -> list[dict[str, Any]]:
    return list(json.loads(await page.page.evaluate("() => JSON.stringify(window.__notes)")))


async def test_a_mention_is_offered_marked_and_counted(
    server: RunningServer, browser: Browser
) -> None:
    alice, bob, _ = await three_in_a_room(browser, server.url)

    # The @ list: the room's members but the writer, and @room; arrows and Enter pick.
    composer = alice.page.locator("#composer-input")
    options = alice.page.locator("#composer-input-mentions .mention-option")
    await composer.press_sequentially("hey @")
    await expect(options.locator(".mention-name")).to_have_text(["@bob", "@carol", "@room"])
    await composer.press_sequentially("b")
    await expect(options.locator(".mention-name")).to_have_text(["@bob"])
    await composer.press("Escape")
    await expect(options).to_have_count(0)
    await expect(composer).to_have_value("hey @b")
    await composer.press("Backspace")
    await composer.press_sequentially("c")
    await expect(options).to_have_count(1)
    await composer.press("Backspace")
    await expect(options).to_have_count(3)
    await composer.press("ArrowDown")
    await composer.press("ArrowUp")
    await composer.press("ArrowUp")  # wraps to the last: @room
    await expect(alice.page.locator(".mention-option.active")).to_have_text(
        "@roomeveryone in this room"
    )
    await composer.press("ArrowDown")  # wraps back to the first: @bob
    await composer.press("Enter")  # picks, does not send
    await expect(composer).to_have_value("hey @bob ")
    await expect(options).to_have_count(0)
    await composer.press_sequentially("look, and @ca")
    await composer.press("Tab")
    await expect(composer).to_have_value("hey @bob look, and @carol ")
    await composer.press("Enter")  # the list is closed: this sends
    await expect(composer).to_have_value("")

    # bob, reading another room: the room's count, its mention count, the title and icon.
    await expect(bob.badge("den")).to_have_text("1")
    await expect(bob.room_link("den").locator(".mention-count")).to_have_text("@1")
    await expect(bob.page).to_have_title("(1) hubbub")
    icon = bob.page.locator('link[rel="icon"]')
    await expect(icon).to_have_attribute("data-badge", "m1")
    assert (await icon.get_attribute("href") or "").startswith("data:image/png;base64,")
    # A message that mentions someone else counts as unread only.
    await alice.send("only @carol")
    await expect(bob.badge("den")).to_have_text("2")
    await expect(bob.room_link("den").locator(".mention-count")).to_have_text("@1")
    await expect(bob.page).to_have_title("(2) hubbub")

    # Opening the room: the row that calls bob is marked, his name in it too; counts clear.
    await bob.open_room("den")
    await bob.wait_bodies(["hey @bob look, and @carol", "only @carol"])
    await expect(bob.messages().nth(0)).to_have_class(MENTIONED)
    await expect(bob.messages().nth(0).locator(".mention-me")).to_have_text("@bob")
    await expect(bob.messages().nth(1)).not_to_have_class(MENTIONED)
    await expect(bob.room_link("den").locator(".mention-count")).to_be_hidden()
    await expect(bob.page).to_have_title("hubbub")
    await expect(icon).to_have_attribute("data-badge", "plain")
    # alice's own mention of @room is not marked for her.
    await alice.send("@room lunch?")
    await expect(bob.messages().nth(2)).to_have_class(MENTIONED)
    await expect(alice.messages().nth(2)).not_to_have_class(MENTIONED)

    # After a reload the server's counts say the same.
    await bob.open_room("lounge")
    await alice.send("again @bob")
    await expect(bob.room_link("den").locator(".mention-count")).to_have_text("@1")
    await bob.page.reload()
    await bob.wait_room("lounge")
    await expect(bob.room_link("den").locator(".mention-count")).to_have_text("@1")
    await expect(bob.badge("den")).to_have_text("1")
    for page in (alice, bob):
        page.assert_no_errors()


async def test_notifications_for_mentions_and_dms_while_hidden_and_none_when_muted(
    server: RunningServer, browser: Browser
) -> None:
    alice, bob, bob_context = await three_in_a_room(browser, server.url)
    # Nothing is asked before the user says so; once allowed, the control goes.
    enable = bob.page.locator("#notify-enable")
    await expect(enable).to_have_text("Enable notifications")
    await bob_context.grant_permissions(["notifications"], origin=server.url)
    # Dispatched, not clicked: any redraw after the grant already hides the control.
    await enable.dispatch_event("click")
    await expect(enable).to_be_hidden()

    # Visible: nothing is shown, whatever arrives.
    await alice.send("@bob while you look")
    await expect(bob.badge("den")).to_have_text("1")
    # Hidden: a mention, then a DM, each notified once as plain text.
    await bob.page.evaluate("() => { window.__hidden = true; }")
    await alice.send("@bob <b>are</b> you there?")
    await alice.send("no mention here")
    await eventually(lambda: notes(bob), lambda got: len(got) == 1, what="one notification")
    assert await notes(bob) == [{"title": "alice in #den", "body": "@bob <b>are</b> you there?"}]
    await alice.open_dm("bob")
    await alice.send("psst")
    await eventually(lambda: notes(bob), lambda got: len(got) == 2, what="the DM's notification")
    assert (await notes(bob))[1] == {"title": "alice", "body": "psst"}

    # A click on the notification brings the page to the room.
    await bob.page.evaluate("() => window.__noteObjects[0].dispatchEvent(new Event('click'))")
    await expect(bob.room_link("den")).to_have_attribute("aria-current", "page")

    # The tab shows again (as a real one does after that click): den is read.
    await bob.page.evaluate(
        "() => { window.__hidden = false; document.dispatchEvent(new Event('visibilitychange')); }"
    )
    await expect(bob.room_link("den").locator(".mention-count")).to_be_hidden()

    # Muted: no notification from den, though its mentions are counted; the entry is dimmed.
    mute = bob.page.locator("#mute-room")
    await mute.click()
    await expect(mute).to_have_text("Unmute")
    await expect(mute).to_have_attribute("aria-pressed", "true")
    await expect(bob.room_link("den")).to_have_class(MUTED)
    await bob.open_room("lounge")
    await bob.page.evaluate("() => { window.__hidden = true; }")
    await alice.page.goto(f"{server.url}/#/room/den")
    await alice.wait_room("den")
    await alice.send("@bob muted?")
    await expect(bob.room_link("den").locator(".mention-count")).to_have_text("@1")
    # The DM is not muted: its next message is notified, and it comes after den's mention.
    await alice.open_dm("bob")
    await alice.send("still here")
    await eventually(lambda: notes(bob), lambda got: len(got) == 3, what="the DM's notification")
    assert [n["body"] for n in await notes(bob)] == [
        "@bob <b>are</b> you there?",
        "psst",
        "still here",
    ]
    # The mute is remembered.
    await bob.page.reload()
    await bob.wait_room("lounge")
    await expect(bob.room_link("den")).to_have_class(MUTED)
    for page in (alice, bob):
        page.assert_no_errors()
