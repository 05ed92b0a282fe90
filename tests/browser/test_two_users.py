"""Two people sign up in two browsers, share a private room and a DM, and talk."""

from __future__ import annotations

from chatpage import ChatPage, new_context
from playwright.async_api import Browser, expect
from support import RunningServer


async def test_two_users_talk_in_a_private_room_and_a_dm(
    server: RunningServer, browser: Browser
) -> None:
    alice = await ChatPage.open(await new_context(browser), server.url)
    bob_context = await new_context(browser)
    bob = await ChatPage.open(bob_context, server.url)
    await alice.sign_up("alice")
    await bob.sign_up("bob")
    await alice.wait_online()
    await bob.wait_online()

    # alice makes a private room and invites bob; the invitation appears in bob's sidebar
    # by itself, and once he accepts it there, the room is in his list.
    await alice.create_room("team", private=True)
    await expect(alice.page.locator("#room-label")).to_have_text("team")
    await expect(alice.page.locator("#room-icon")).to_have_class("room-icon private")
    await expect(alice.page.locator("#room-sub")).to_have_text("Private room · 1 member")
    await alice.invite("bob")
    await expect(bob.invitation("team")).to_contain_text("from alice")
    await expect(bob.room_link("team")).to_have_count(0)
    await bob.accept_invitation("team")
    await expect(bob.badge("team")).to_be_hidden()  # joining is not a message

    # A message bob has not seen yet is counted, and the count rises.
    await alice.send("hi bob")
    await expect(bob.badge("team")).to_have_text("1")
    await alice.send("are you there?")
    await expect(bob.badge("team")).to_have_text("2")
    await expect(bob.page).to_have_title("(2) hubbub")

    # Opening the room shows the messages and clears the count.
    await bob.open_room("team")
    await bob.wait_bodies(["hi bob", "are you there?"])
    await expect(bob.badge("team")).to_be_hidden()
    await expect(bob.page).to_have_title("hubbub")
    # Consecutive messages of one author form one group: one name, one avatar.
    await expect(bob.page.locator("#message-list .msg:not(.grouped)")).to_have_count(1)
    await expect(bob.page.locator("#message-list .msg-author")).to_have_text(["alice"])

    # bob types: alice sees it; bob answers: alice sees the answer.
    await bob.page.locator("#composer-input").press_sequentially("yes, h")
    await expect(alice.page.locator("#typing")).to_have_text("bob is typing…")
    await bob.page.locator("#composer-input").fill("")
    await bob.send("yes, here")
    await alice.wait_bodies(["hi bob", "are you there?", "yes, here"])
    await expect(alice.page.locator("#message-list .msg-author")).to_have_text(["alice", "bob"])
    await expect(alice.messages("sent")).to_have_count(3)
    # The typing hint goes when bob's message arrives.
    await expect(alice.page.locator("#typing")).to_have_text("")

    # Shift+Enter makes a new line; Enter sends.
    composer = bob.page.locator("#composer-input")
    await composer.press_sequentially("line one")
    await composer.press("Shift+Enter")
    await composer.press_sequentially("line two")
    await composer.press("Enter")
    await alice.wait_bodies(["hi bob", "are you there?", "yes, here", "line one\nline two"])

    # A DM: bob has a second tab open on the team room. alice writes to bob; both tabs
    # count it; bob reads it in the first tab, and the second tab's count clears too.
    bob_tab2 = await ChatPage.open(bob_context, server.url, "/#/room/team")
    await bob_tab2.wait_online()
    await alice.open_dm("bob")
    await expect(alice.page.locator("#room-label")).to_have_text("bob")
    await expect(alice.page.locator("#room-icon")).to_be_hidden()
    await alice.send("psst, a secret")
    await alice.send("and another")
    for tab in (bob, bob_tab2):
        await expect(tab.badge("dm:alice:bob")).to_have_text("2")
        await expect(tab.room_link("dm:alice:bob")).to_contain_text("alice")
    await bob.open_room("dm:alice:bob")
    await bob.wait_bodies(["psst, a secret", "and another"])
    await expect(bob.badge("dm:alice:bob")).to_be_hidden()
    await expect(bob_tab2.badge("dm:alice:bob")).to_be_hidden()
    await expect(bob_tab2.page).to_have_title("hubbub")

    # alice sees what bob wrote in the DM too.
    await bob.send("got it")
    await alice.wait_bodies(["psst, a secret", "and another", "got it"])

    for page in (alice, bob, bob_tab2):
        page.assert_no_errors()
