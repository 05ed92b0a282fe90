"""Replies and threads between two people: a reply shows its quote live and after a reload,
the thread panel pages a thread and sends replies that the other side sees live, quotes
follow their parent's edit and delete, and hostile text in quotes and threads stays text."""

from __future__ import annotations

import json
import uuid
from typing import Any

import aiohttp
from chatpage import (
    ChatPage,
    eventually,
    login_token,
    new_context,
    sign_in_over_http,
    two_people_in_a_room,
)
from playwright.async_api import Browser, Locator, expect
from support import RunningServer, bearer, read_history, register


async def post(
    http: aiohttp.ClientSession,
    url: str,
    token: str,
    body: str,
    reply_to: int | None = None,
    room: str = "den",
) -> dict[str, Any]:
    """Send a message over the HTTP API, as another device or a bot would."""
    payload: dict[str, Any] = {"client_msg_id": uuid.uuid4().hex, "body": body}
    if reply_to is not None:
        payload["reply_to"] = reply_to
    async with http.post(
        f"{url}/api/v1/rooms/{room}/messages", json=payload, headers=bearer(token)
    ) as response:
        assert response.status == 201, await response.text()
        return dict(await response.json())


async def hover_action(page: ChatPage, row: Locator, action: str) -> None:
    await row.hover()
    await row.locator(f".msg-action.{action}").click()


def quotes(page: ChatPage) -> Locator:
    return page.page.locator("#message-list .msg .msg-quote")


async def test_a_reply_shows_its_quote_live_and_after_a_reload(
    server: RunningServer, browser: Browser, http: aiohttp.ClientSession
) -> None:
    _, alice, bob = await two_people_in_a_room(browser, server.url)
    await alice.send("hello there\nsecond line")
    await bob.wait_bodies(["hello there\nsecond line"])
    first = bob.messages().nth(0)
    parent_seq = int(await first.get_attribute("data-seq") or 0)

    # Reply shows the quote above the box; Esc and ✕ both cancel it.
    composer_quote = bob.page.locator("#composer-reply")
    await hover_action(bob, first, "reply")
    await expect(composer_quote).to_be_visible()
    await expect(composer_quote.locator(".quote-author")).to_have_text("alice")
    await expect(composer_quote.locator(".quote-body")).to_have_text("hello there")
    await expect(bob.page.locator("#composer-input")).to_be_focused()
    await bob.page.locator("#composer-input").press("Escape")
    await expect(composer_quote).to_be_hidden()
    await hover_action(bob, first, "reply")
    await composer_quote.locator(".reply-cancel").click()
    await expect(composer_quote).to_be_hidden()
    await bob.send("not a reply")

    await hover_action(bob, first, "reply")
    await bob.send("hi back")
    await expect(composer_quote).to_be_hidden()
    for page in (alice, bob):
        await page.wait_bodies(["hello there\nsecond line", "not a reply", "hi back"])
        # Only the reply has a quote: the parent's author and first line.
        await expect(quotes(page)).to_have_count(1)
        reply_row = page.messages().nth(2)
        await expect(reply_row.locator(".msg-quote .quote-author")).to_have_text("alice")
        await expect(reply_row.locator(".msg-quote .quote-body")).to_have_text("hello there")
        await expect(page.messages().nth(0).locator(".thread-summary")).to_contain_text(
            "1 reply · last reply"
        )

    # Stored as a reply, in the parent's thread.
    token = await login_token(http, server.url, "alice")
    stored = [e for e in await read_history(http, server.url, token, "den") if "body" in e]
    assert stored[-1]["body"] == "hi back"
    assert stored[-1]["reply_to"] == parent_seq
    assert stored[-1]["thread"] == parent_seq
    assert "reply_to" not in stored[-2]

    # After a reload: the same quote and count, from history.
    await alice.page.reload()
    await alice.wait_room("den")
    await alice.wait_bodies(["hello there\nsecond line", "not a reply", "hi back"])
    await expect(quotes(alice).locator(".quote-body")).to_have_text(["hello there"])
    await expect(alice.messages().nth(0).locator(".thread-summary")).to_contain_text("1 reply")
    # A click on the quote brings the parent into view, marked.
    await quotes(alice).first.click()
    await expect(alice.messages().nth(0)).to_have_class("msg flash")
    for page in (alice, bob):
        page.assert_no_errors()


async def test_a_reply_written_offline_is_sent_as_a_reply_when_back(
    server: RunningServer, browser: Browser, http: aiohttp.ClientSession
) -> None:
    alice_context, alice, bob = await two_people_in_a_room(browser, server.url)
    await bob.send("the question")
    await alice.wait_bodies(["the question"])
    await alice_context.set_offline(True)
    await hover_action(alice, alice.messages().nth(0), "reply")
    await alice.send("the answer")
    # Pending, with its quote, and kept (reply and all) in the outbox.
    pending = alice.messages("pending")
    await expect(pending.locator(".msg-quote .quote-body")).to_have_text("the question")
    outbox = await alice.page.evaluate("() => localStorage.getItem('hubbub:outbox:alice')")
    assert [e["reply_to"] for e in json.loads(outbox)] == [
        int(await alice.messages().nth(0).get_attribute("data-seq") or 0)
    ]
    await alice_context.set_offline(False)
    await bob.wait_bodies(["the question", "the answer"])
    await expect(bob.messages().nth(1).locator(".msg-quote .quote-body")).to_have_text(
        "the question"
    )
    await expect(bob.messages().nth(0).locator(".thread-summary")).to_contain_text("1 reply")

    # bob away: a reply to the old root, a new root and its reply. The sync brings the new
    # root as it is now (one reply): its reply is not counted again.
    bob_context = bob.page.context
    await bob_context.set_offline(True)
    await expect(bob.page.locator("#conn-banner")).to_have_attribute("data-state", "offline")
    await hover_action(alice, alice.messages().nth(0), "reply")
    await alice.send("and more")
    await alice.send("a new topic")
    await alice.wait_bodies(["the question", "the answer", "and more", "a new topic"])
    await hover_action(alice, alice.messages().nth(3), "reply")
    await alice.send("on it")
    await bob_context.set_offline(False)
    await bob.wait_online()
    await bob.wait_bodies(["the question", "the answer", "and more", "a new topic", "on it"])
    await expect(bob.messages().nth(0).locator(".thread-summary")).to_contain_text("2 replies")
    await expect(bob.messages().nth(3).locator(".thread-summary")).to_contain_text("1 reply ·")
    for page in (alice, bob):
        page.assert_no_errors()


async def test_the_thread_panel_pages_the_thread_and_its_replies_arrive_live(
    server: RunningServer, browser: Browser, http: aiohttp.ClientSession
) -> None:
    _, alice, bob = await two_people_in_a_room(browser, server.url)
    await alice.send("the root")
    await bob.wait_bodies(["the root"])
    root_seq = int(await bob.messages().nth(0).get_attribute("data-seq") or 0)
    # 55 replies from another of bob's devices: more than one page of the thread.
    token = await login_token(http, server.url, "bob")
    for i in range(1, 56):
        await post(http, server.url, token, f"reply {i}", reply_to=root_seq)
    summary = bob.messages().nth(0).locator(".thread-summary")
    await expect(summary).to_contain_text("55 replies")

    # After a reload alice holds the newest page of the room only, not the root: a click on
    # a reply's quote opens the thread, which pages its replies itself.
    await alice.page.reload()
    await alice.wait_room("den")
    await expect(alice.messages().last.locator(".msg-body")).to_have_text("reply 55")
    await alice.messages().last.locator(".msg-quote").click()
    panel = alice.page.locator("#thread-panel")
    await expect(panel).to_be_visible()
    thread_rows = panel.locator("#thread-list .msg")
    await expect(panel.locator(".thread-root .msg-body")).to_have_text("the root")
    await expect(panel.locator(".thread-count")).to_have_text("55 replies")
    await expect(thread_rows).to_have_count(51)  # the root and the newest 50 replies
    await expect(thread_rows.nth(1).locator(".msg-body")).to_have_text("reply 6")
    await expect(thread_rows.last.locator(".msg-body")).to_have_text("reply 55")
    # Replies to the root quote nothing in the panel: they are under it.
    await expect(panel.locator(".msg-quote")).to_have_count(0)
    await panel.get_by_role("button", name="Load older replies").click()
    await expect(thread_rows).to_have_count(56)
    await expect(thread_rows.nth(1).locator(".msg-body")).to_have_text("reply 1")
    await expect(panel.locator(".thread-more")).to_have_count(0)

    # bob, who holds the whole thread, opens it from the root's actions and answers in it.
    await hover_action(bob, bob.messages().nth(0), "thread")
    bob_panel = bob.page.locator("#thread-panel")
    await expect(bob_panel.locator("#thread-list .msg")).to_have_count(56)
    await expect(bob_panel.locator(".thread-more")).to_have_count(0)
    await expect(bob.page.locator("#thread-input")).to_be_focused()
    await bob.page.locator("#thread-input").fill("from the panel")
    await bob.page.locator("#thread-input").press("Enter")
    await expect(bob.page.locator("#thread-input")).to_have_value("")
    await expect(thread_rows.last.locator(".msg-body")).to_have_text("from the panel")
    await expect(thread_rows).to_have_count(57)
    await expect(panel.locator(".thread-count")).to_have_text("56 replies")
    await expect(bob_panel.locator(".thread-count")).to_have_text("56 replies")
    await expect(summary).to_contain_text("56 replies")
    # It is a room message as well, quoting the root.
    last = alice.messages().last
    await expect(last.locator(".msg-body")).to_have_text("from the panel")
    await expect(last.locator(".msg-quote .quote-body")).to_have_text("the root")

    # Esc closes the panel, ✕ too.
    await alice.page.locator("#thread-input").press("Escape")
    await expect(panel).to_be_hidden()
    await bob_panel.locator("#thread-close").click()
    await expect(bob_panel).to_be_hidden()
    for page in (alice, bob):
        page.assert_no_errors()


async def test_a_phone_shows_the_thread_over_the_whole_screen(
    server: RunningServer, browser: Browser, http: aiohttp.ClientSession
) -> None:
    token = await register(http, server.url, "carol")
    rooms = f"{server.url}/api/v1/rooms"
    async with http.post(rooms, json={"name": "den"}, headers=bearer(token)) as r:
        assert r.status == 201
    root = await post(http, server.url, token, "on the go")
    await post(http, server.url, token, "a reply", reply_to=root["seq"])
    context = await new_context(browser, viewport={"width": 390, "height": 760}, has_touch=True)
    await sign_in_over_http(context, server.url, "carol", register=False)
    phone = await ChatPage.open(context, server.url, "/#/room/den")
    await phone.wait_online()
    await phone.wait_room("den")
    await phone.messages().nth(0).locator(".thread-summary").click()
    panel = phone.page.locator("#thread-panel")
    await expect(panel.locator("#thread-list .msg")).to_have_count(2)
    box = await panel.bounding_box()
    assert box is not None and box["x"] == 0 and box["width"] == 390, box
    await panel.locator("#thread-close").click()
    await expect(panel).to_be_hidden()
    phone.assert_no_errors()


async def test_a_quote_follows_its_parent_edited_then_deleted(
    server: RunningServer, browser: Browser, http: aiohttp.ClientSession
) -> None:
    _, alice, bob = await two_people_in_a_room(browser, server.url)
    await alice.send("the original")
    await bob.wait_bodies(["the original"])
    await hover_action(bob, bob.messages().nth(0), "reply")
    await bob.send("an answer")
    await alice.wait_bodies(["the original", "an answer"])
    parent_seq = await alice.messages().nth(0).get_attribute("data-seq")
    # bob follows the thread in the panel too.
    await bob.messages().nth(0).locator(".thread-summary").click()
    bob_panel = bob.page.locator("#thread-panel")
    await expect(bob_panel.locator(".thread-root .msg-body")).to_have_text("the original")

    token = await login_token(http, server.url, "alice")
    messages = f"{server.url}/api/v1/rooms/den/messages"
    async with http.patch(
        f"{messages}/{parent_seq}", json={"body": "the edit\nmore"}, headers=bearer(token)
    ) as edited:
        assert edited.status == 200, await edited.text()
    await expect(bob.messages().nth(1).locator(".msg-quote .quote-body")).to_have_text("the edit")
    root_body = bob_panel.locator(".thread-root .msg-body")
    await expect(root_body).to_have_text("the edit\nmore (edited)")

    async with http.delete(f"{messages}/{parent_seq}", headers=bearer(token)) as deleted:
        assert deleted.status == 200, await deleted.text()
    reply_quote = bob.messages().nth(1).locator(".msg-quote")
    await expect(reply_quote.locator(".quote-body")).to_have_text("Message deleted")
    await expect(reply_quote).to_have_class("msg-quote deleted")
    await expect(bob_panel.locator(".thread-root .msg-body")).to_have_text("Message deleted")
    # The thread has lost its root: no more replies to it.
    await expect(bob.page.locator("#thread-send")).to_be_disabled()

    # The same after a reload, from history.
    await bob.page.reload()
    await bob.wait_room("den")
    await bob.wait_bodies(["Message deleted", "an answer"])
    await expect(bob.messages().nth(1).locator(".msg-quote .quote-body")).to_have_text(
        "Message deleted"
    )
    for page in (alice, bob):
        page.assert_no_errors()


# Runs before the page's own scripts: any payload that executes leaves a mark.
TRAP = """
window.__xss = [];
window.xss = (n) => window.__xss.push(n);
"""
HOSTILE = ["<img src=x onerror=xss(1)>", "[x](javascript:xss(2))", "<script>xss(3)</script>"]


async def test_hostile_text_in_quotes_and_threads_runs_nothing(
    server: RunningServer, browser: Browser, http: aiohttp.ClientSession
) -> None:
    context = await new_context(browser)
    await context.add_init_script(TRAP)
    mallory = await register(http, server.url, "mallory")
    async with http.post(
        f"{server.url}/api/v1/rooms", json={"name": "den"}, headers=bearer(mallory)
    ) as r:
        assert r.status == 201
    root = await post(http, server.url, mallory, HOSTILE[0])
    for body in HOSTILE[1:]:
        parent = await post(http, server.url, mallory, body, reply_to=root["seq"])
        await post(http, server.url, mallory, "answer", reply_to=parent["seq"])
    await post(http, server.url, mallory, "answer", reply_to=root["seq"])

    await sign_in_over_http(context, server.url, "alice")
    assert (await context.request.post(f"{server.url}/api/v1/rooms/den/join")).ok
    alice = await ChatPage.open(context, server.url, "/#/room/den")
    await alice.wait_online()
    await alice.wait_room("den")
    await expect(alice.messages()).to_have_count(6)
    await expect(quotes(alice).locator(".quote-body")).to_have_text(
        [HOSTILE[0], HOSTILE[1], HOSTILE[0], HOSTILE[2], HOSTILE[0]]
    )
    await alice.messages().nth(0).locator(".thread-summary").click()
    panel = alice.page.locator("#thread-panel")
    await expect(panel.locator("#thread-list .msg")).to_have_count(6)
    await expect(panel.locator(".msg-quote .quote-body")).to_have_text([HOSTILE[1], HOSTILE[2]])
    report = json.loads(
        await alice.page.evaluate(
            """() => JSON.stringify({
                xss: window.__xss,
                images: document.querySelectorAll('img').length,
                scripts: document.scripts.length,
                links: [...document.querySelectorAll('#message-list a, #thread-panel a')]
                  .map(a => a.protocol),
                handlers: [...document.querySelectorAll('*')].flatMap(
                  n => [...n.attributes].filter(a => a.name.startsWith('on')).map(a => a.name)),
            })"""
        )
    )
    assert report == {"xss": [], "images": 0, "scripts": 1, "links": [], "handlers": []}
    # Clicking what looks like a link in the thread does nothing either.
    await panel.locator(".thread-root .msg-body").click()
    await eventually(lambda: alice.page.evaluate("() => window.__xss.length"), lambda n: n == 0, 1)
    alice.assert_no_errors()
