"""Blocking in the browser: from the profile dialog, private, and a blocked user's messages
folded in the timeline behind "Show"; unblocking unfolds them."""

from __future__ import annotations

from chatpage import ChatPage, new_context
from playwright.async_api import Browser, expect
from support import RunningServer


async def test_a_blocked_user_s_messages_are_folded(
    server: RunningServer, browser: Browser
) -> None:
    alice = await ChatPage.open(await new_context(browser), server.url)
    bob = await ChatPage.open(await new_context(browser), server.url)
    await alice.sign_up("alice")
    await bob.sign_up("bob")
    await alice.wait_online()
    await bob.wait_online()
    await alice.create_room("town")
    await bob.join_from_directory("town")
    await bob.send("before the block")
    await alice.wait_bodies(["before the block"])

    # alice blocks bob from his profile (a click on his name in a message).
    await alice.page.locator("#message-list .msg-author[data-profile=bob]").first.click()
    block = alice.page.locator("#profile-block")
    await expect(block).to_have_text("Block")
    await block.click()
    await expect(block).to_have_text("Unblock")
    await alice.page.keyboard.press("Escape")

    folded = alice.page.locator("#message-list .msg.blocked")
    await expect(folded).to_have_count(1)  # what was shown already folds too
    await bob.send("<b>after</b> the block")
    await expect(folded).to_have_count(2)
    notes = alice.page.locator("#message-list .blocked-note")
    await expect(notes.first).to_have_text("Message from a blocked user — Show")
    await expect(folded.last.locator(".msg-body")).to_be_hidden()
    # bob sees nothing of it: his messages went out as ever.
    await expect(bob.messages("sent")).to_have_count(2)

    await folded.last.locator("button.show-blocked").click()
    await expect(alice.page.locator("#message-list .msg-body").last).to_have_text(
        "<b>after</b> the block"
    )
    await expect(alice.page.locator("#message-list .msg-body b")).to_have_count(0)
    await expect(folded).to_have_count(1)

    # Unblocking in the profile dialog unfolds them all (his name shows once unfolded).
    await folded.first.locator("button.show-blocked").click()
    await alice.page.locator("#message-list .msg-author[data-profile=bob]").first.click()
    await alice.page.locator("#profile-block").click()
    await expect(alice.page.locator("#profile-block")).to_have_text("Block")
    await alice.page.keyboard.press("Escape")
    await bob.send("after all")
    await alice.wait_bodies(["before the block", "<b>after</b> the block", "after all"])
    await expect(folded).to_have_count(0)
    alice.assert_no_errors()
    bob.assert_no_errors()
