"""Display names, avatars and files wherever a message shows: the thread panel, a reply's
quote (of a message of files only too), search results, the `@` list and notifications."""

from __future__ import annotations

import io
import json
import re
import uuid
from typing import Any

import aiohttp
from chatpage import ChatPage, eventually, login_token, two_people_in_a_room
from PIL import Image
from playwright.async_api import Browser, BrowserContext, Locator, expect
from support import RunningServer, bearer, register

AVATAR_SRC = re.compile(r"^/api/v1/users/alice/avatar\?v=.+")
# Headless Chromium shows no notifications: each one made is recorded (as in
# test_mentions_notifications.py), and the page answers that it is hidden when told to.
OBSERVE = """
window.__notes = [];
window.__hidden = false;
window.Notification = class extends window.Notification {
  constructor(title, options = {}) {
    window.__notes.push({ title, body: options.body ?? '' });
    super(title, options);
  }
};
Object.defineProperty(Document.prototype, 'visibilityState', {
  configurable: true,
  get() { return window.__hidden ? 'hidden' : 'visible'; },
});
"""


def png(width: int = 64, height: int = 48) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), (30, 140, 200)).save(out, "PNG")
    return out.getvalue()


def pdf(text: str) -> bytes:
    """A file the server takes for a PDF (by its first bytes)."""
    return b"%PDF-1.4\n" + text.encode() + b"\n%%EOF"


async def upload(
    http: aiohttp.ClientSession, url: str, token: str, room: str, name: str, data: bytes
) -> str:
    """Upload a file to ``room`` as another device would; its id."""
    async with http.post(
        f"{url}/api/v1/rooms/{room}/files", params={"name": name}, data=data, headers=bearer(token)
    ) as response:
        assert response.status == 201, await response.text()
        return str((await response.json())["id"])


async def post(
    http: aiohttp.ClientSession,
    url: str,
    token: str,
    room: str,
    body: str,
    files: tuple[tuple[str, bytes], ...] = (),
    reply_to: int | None = None,
) -> dict[str, Any]:
    """Send a message (with files, maybe as a reply) over the HTTP API; the stored event."""
    ids = [await upload(http, url, token, room, name, data) for name, data in files]
    payload: dict[str, Any] = {"client_msg_id": uuid.uuid4().hex, "body": body, "files": ids}
    if reply_to is not None:
        payload["reply_to"] = reply_to
    async with http.post(
        f"{url}/api/v1/rooms/{room}/messages", json=payload, headers=bearer(token)
    ) as response:
        assert response.status == 201, await response.text()
        return dict(await response.json())


async def set_profile(
    context: BrowserContext, url: str, display_name: str, avatar: bytes | None = None
) -> None:
    patched = await context.request.patch(f"{url}/api/v1/me", data={"display_name": display_name})
    assert patched.ok, await patched.text()
    if avatar is not None:
        put = await context.request.put(f"{url}/api/v1/me/avatar", data=avatar)
        assert put.ok, await put.text()


async def notes(page: ChatPage) -> list[dict[str, Any]]:
    return list(json.loads(await page.page.evaluate("() => JSON.stringify(window.__notes)")))


async def row_of(page: ChatPage, seq: int) -> Locator:
    row = page.page.locator(f'#message-list .msg[data-seq="{seq}"]')
    await expect(row).to_have_count(1)
    return row


async def test_threads_quotes_and_search_show_display_names_avatars_and_files(
    server: RunningServer, browser: Browser, http: aiohttp.ClientSession
) -> None:
    server.node.hub.presence.flush_interval = 0.05  # profile notices without waiting
    alice_context, alice, bob = await two_people_in_a_room(browser, server.url)
    await set_profile(alice_context, server.url, "Alice Liddell", png(40, 40))
    alice_token = await login_token(http, server.url, "alice")
    bob_token = await login_token(http, server.url, "bob")

    # A message of a picture only, from alice; bob answers it from the timeline.
    root = await post(http, server.url, alice_token, "den", "", (("cat.png", png()),))
    root_row = await row_of(bob, root["seq"])
    await expect(root_row.locator(".msg-author")).to_have_text("Alice Liddell")
    # Member lines name people as messages do.
    await expect(bob.page.locator("#message-list .member-line span").first).to_have_text(
        "Alice Liddell joined"
    )
    await expect(
        bob.page.locator("#message-list .member-line .member-name").first
    ).to_have_attribute("title", "@alice")
    await root_row.hover()
    await root_row.locator(".msg-action.reply").click()
    composer_quote = bob.page.locator("#composer-reply")
    await expect(composer_quote.locator(".quote-author")).to_have_text("Alice Liddell")
    await expect(composer_quote.locator(".quote-body")).to_have_text("📎 cat.png")
    await bob.send("nice cat")
    reply = bob.page.locator("#message-list .msg", has_text="nice cat")
    await expect(reply.locator(".msg-body")).to_have_text("nice cat")
    quote = reply.locator(".msg-quote")
    await expect(quote.locator(".quote-author")).to_have_text("Alice Liddell")
    await expect(quote.locator(".quote-author")).to_have_attribute("title", "@alice")
    await expect(quote.locator(".quote-body")).to_have_text("📎 cat.png")
    await expect(quote).to_have_accessible_name("Reply to Alice Liddell 📎 cat.png")

    # In the thread: a reply with text and a file, one of files only, and an answer to it.
    numbers = await post(
        http, server.url, alice_token, "den", "the quarterly numbers",
        (("report.pdf", pdf("numbers")),), reply_to=root["seq"],
    )  # fmt: skip
    two = await post(
        http, server.url, alice_token, "den", "",
        (("a.pdf", pdf("a")), ("b.pdf", pdf("b"))), reply_to=root["seq"],
    )  # fmt: skip
    await post(http, server.url, bob_token, "den", "which one?", reply_to=two["seq"])
    await expect(root_row.locator(".thread-summary")).to_contain_text("4 replies")
    await root_row.locator(".thread-summary").click()
    panel = bob.page.locator("#thread-panel")
    rows = panel.locator("#thread-list .msg")
    await expect(rows).to_have_count(5)
    # Names and avatars as in the timeline: display names, alice's picture, bob's initial.
    await expect(rows.locator(".msg-author")).to_have_text(
        ["Alice Liddell", "bob", "Alice Liddell", "Alice Liddell", "bob"]
    )
    await expect(rows.nth(0).locator(".msg-author")).to_have_attribute("title", "@alice")
    await expect(rows.nth(0).locator(".avatar img")).to_have_attribute("src", AVATAR_SRC)
    await expect(rows.nth(1).locator(".avatar")).to_have_text("B")
    # Files as in the timeline: the root's picture, the cards of the replies'.
    await expect(rows.nth(0).locator(".file-preview img")).to_have_attribute("alt", "cat.png")
    await expect(rows.nth(2).locator(".msg-body")).to_have_text("the quarterly numbers")
    await expect(rows.nth(2).locator(".file-card .file-name")).to_have_text("report.pdf")
    await expect(rows.nth(3).locator(".file-card .file-name")).to_have_text(["a.pdf", "b.pdf"])
    href = await rows.nth(2).locator(".file-card").get_attribute("href")
    assert href is not None and href.startswith("/api/v1/files/")
    # The answer to the message of files only quotes its files.
    await expect(rows.nth(4).locator(".msg-quote .quote-body")).to_have_text("📎 2 files")
    await expect(rows.nth(4).locator(".msg-quote .quote-author")).to_have_text("Alice Liddell")

    # A new display name changes every name shown, in the panel and the quotes, in place.
    await set_profile(alice_context, server.url, "Alice L.")
    await expect(rows.nth(0).locator(".msg-author")).to_have_text("Alice L.")
    await expect(rows.nth(4).locator(".quote-author")).to_have_text("Alice L.")
    await expect(quote.locator(".quote-author")).to_have_text("Alice L.")
    await panel.locator("#thread-close").click()

    # After a reload the quotes come from the server (an empty body): the same text.
    await bob.page.reload()
    await bob.wait_room("den")
    reply = bob.page.locator("#message-list .msg", has_text="nice cat")
    await expect(reply.locator(".msg-quote .quote-body")).to_have_text("📎 cat.png")
    await expect(reply.locator(".msg-quote .quote-author")).to_have_text("Alice L.")
    last = bob.messages().last
    await expect(last.locator(".msg-quote .quote-body")).to_have_text("📎 2 files")

    # Search: the author's display name (the username on hover); a hit with files opens its
    # message, files and all.
    box = bob.page.get_by_role("searchbox", name="Search messages")
    await box.fill("quarterly")
    await box.press("Enter")
    hit = bob.page.locator("#search-results .search-hit")
    await expect(hit).to_have_count(1)
    await expect(hit.locator(".search-author")).to_have_text("Alice L.")
    await expect(hit.locator(".search-author")).to_have_attribute("title", "@alice")
    await expect(hit.locator("mark")).to_have_text("quarterly")
    await hit.click()
    found = await row_of(bob, numbers["seq"])
    await expect(found.locator(".file-card .file-name")).to_have_text("report.pdf")
    await expect(found.locator(".msg-body")).to_have_text("the quarterly numbers")
    for page in (alice, bob):
        page.assert_no_errors()


async def test_the_at_list_and_notifications_say_display_names(
    server: RunningServer, browser: Browser, http: aiohttp.ClientSession
) -> None:
    alice_context, alice, bob = await two_people_in_a_room(browser, server.url)
    bob_context = bob.page.context
    await bob_context.add_init_script(OBSERVE)  # from the reload below on
    await set_profile(alice_context, server.url, "Alice Liddell")
    await set_profile(bob_context, server.url, "Robert Paulson")
    # carol, in den too, without a display name.
    carol_token = await register(http, server.url, "carol")
    async with http.post(
        f"{server.url}/api/v1/rooms/den/join", headers=bearer(carol_token)
    ) as joined:
        assert joined.status == 200, await joined.text()
    # Pages opened now learn the names from the members of den.
    await bob.page.reload()
    await bob.wait_online()
    await bob.wait_room("den")
    await alice.page.reload()
    await alice.wait_online()
    await alice.wait_room("den")

    # The @ list: display names beside usernames; found by a word of a display name; it
    # writes the username.
    composer = alice.page.locator("#composer-input")
    options = alice.page.locator("#composer-input-mentions .mention-option")
    await composer.press_sequentially("hi @")
    await expect(options.locator(".mention-name")).to_have_text(["@bob", "@carol", "@room"])
    await expect(options.nth(0).locator(".mention-display")).to_have_text("Robert Paulson")
    await expect(options.nth(1).locator(".mention-display")).to_have_count(0)
    await composer.press_sequentially("paul")
    await expect(options.locator(".mention-name")).to_have_text(["@bob"])
    await composer.press("Enter")
    await expect(composer).to_have_value("hi @bob ")
    await composer.press_sequentially("and @rob")
    await expect(options.locator(".mention-name")).to_have_text(["@bob"])
    await composer.press("Tab")
    await expect(composer).to_have_value("hi @bob and @bob ")
    await composer.fill("")

    # bob allows notifications and looks away.
    await bob_context.grant_permissions(["notifications"], origin=server.url)
    await bob.page.locator("#notify-enable").click()
    await expect(bob.page.locator("#notify-enable")).to_be_hidden()
    await bob.page.evaluate("() => { window.__hidden = true; }")
    await alice.send("@bob lunch?")
    await eventually(lambda: notes(bob), lambda got: len(got) == 1, what="the mention's note")
    assert (await notes(bob))[0] == {"title": "Alice Liddell in #den", "body": "@bob lunch?"}

    # Files only, in a DM: what was sent, said in words.
    alice_token = await login_token(http, server.url, "alice")
    await alice.open_dm("bob")
    dm = "dm:alice:bob"
    await post(http, server.url, alice_token, dm, "", (("menu.pdf", pdf("menu")),))
    await eventually(lambda: notes(bob), lambda got: len(got) == 2, what="the file's note")
    await post(
        http, server.url, alice_token, dm, "",
        tuple((f"p{i}.pdf", pdf(str(i))) for i in range(3)),
    )  # fmt: skip
    await eventually(lambda: notes(bob), lambda got: len(got) == 3, what="the files' note")
    assert (await notes(bob))[1:] == [
        {"title": "Alice Liddell", "body": "sent a file: menu.pdf"},
        {"title": "Alice Liddell", "body": "sent 3 files"},
    ]
    for page in (alice, bob):
        page.assert_no_errors()
