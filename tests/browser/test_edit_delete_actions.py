"""The page's own Edit and Delete: an inline editor, Up arrow in an empty composer, Esc that
cancels without asking the server, a confirmation before deleting; the other side sees the
change live, and has no actions on messages that are not its own."""

from __future__ import annotations

import json
from typing import Any

from chatpage import ChatPage, two_people_in_a_room
from playwright.async_api import Browser, WebSocket, WebSocketRoute, expect
from support import RunningServer


def record_requests(page: ChatPage) -> list[str]:
    """The `type` of every frame the page sends on WebSockets opened from now on."""
    sent: list[str] = []

    def on_socket(socket: WebSocket) -> None:
        def on_frame(payload: Any) -> None:
            if isinstance(payload, str):
                sent.append(str(json.loads(payload).get("type")))

        socket.on("framesent", on_frame)

    page.page.on("websocket", on_socket)
    return sent


async def test_edit_in_place_and_with_up_arrow(server: RunningServer, browser: Browser) -> None:
    _, alice, bob = await two_people_in_a_room(browser, server.url)
    await alice.send("helo")
    await alice.send("second")
    await bob.wait_bodies(["helo", "second"])

    first = alice.messages().nth(0)
    await first.hover()
    await first.get_by_role("button", name="Edit").click()
    editor = first.get_by_role("textbox", name="Edit message")
    await expect(editor).to_have_value("helo")
    await editor.fill("hello")
    await editor.press("Enter")
    await bob.wait_bodies(["hello (edited)", "second"])
    await alice.wait_bodies(["hello (edited)", "second"])

    # Up in the empty composer edits the last message; Shift+Enter is a new line.
    composer = alice.page.locator("#composer-input")
    await composer.focus()
    await composer.press("ArrowUp")
    last = alice.messages().nth(1).get_by_role("textbox", name="Edit message")
    await expect(last).to_be_focused()
    await expect(last).to_have_value("second")
    await last.press("End")
    await last.press("Shift+Enter")
    await last.type("line")
    await last.press("Enter")
    await bob.wait_bodies(["hello (edited)", "second\nline (edited)"])
    await expect(composer).to_be_focused()

    # Bob, a member, can neither edit nor delete alice's messages (he may react to them).
    await bob.messages().nth(0).hover()
    await expect(bob.page.locator("#message-list .msg-action.edit")).to_have_count(0)
    await expect(bob.messages().nth(0).get_by_role("button", name="Delete")).to_have_count(0)
    for page in (alice, bob):
        page.assert_no_errors()


async def test_escape_cancels_without_a_request_and_bad_bodies_stay_local(
    server: RunningServer, browser: Browser
) -> None:
    _, alice, bob = await two_people_in_a_room(browser, server.url)
    await alice.send("keep me")
    sent = record_requests(alice)
    await alice.page.reload()
    await alice.wait_online()
    await alice.wait_room("den")
    await alice.wait_bodies(["keep me"])

    composer = alice.page.locator("#composer-input")
    await composer.press("ArrowUp")
    editor = alice.messages().nth(0).get_by_role("textbox", name="Edit message")
    await editor.fill("   ")
    await editor.press("Enter")
    await expect(alice.messages().nth(0)).to_contain_text("A message cannot be empty")
    await editor.fill("x" * 8001)
    await editor.press("Enter")
    await expect(alice.messages().nth(0)).to_contain_text("8 000 characters at most — 1 too many")
    await editor.fill("changed my mind")
    await editor.press("Escape")
    await expect(editor).to_have_count(0)
    await alice.wait_bodies(["keep me"])
    # A request made after the cancel: once it is answered, any edit would have been sent.
    await alice.send("after")
    await bob.wait_bodies(["keep me", "after"])
    assert "send" in sent
    assert "edit" not in sent
    for page in (alice, bob):
        page.assert_no_errors()


async def test_delete_asks_first_and_both_pages_show_it(
    server: RunningServer, browser: Browser
) -> None:
    _, alice, bob = await two_people_in_a_room(browser, server.url)
    await alice.send("oops")
    await alice.send("fine")
    await bob.wait_bodies(["oops", "fine"])

    row = alice.messages().nth(0)
    await row.hover()
    await row.get_by_role("button", name="Delete").click()
    question = row.get_by_role("alertdialog", name="Delete this message?")
    await question.get_by_role("button", name="Cancel").click()
    await expect(question).to_have_count(0)
    await alice.wait_bodies(["oops", "fine"])

    await row.hover()
    await row.get_by_role("button", name="Delete").click()
    await question.get_by_role("button", name="Delete").click()
    await alice.wait_bodies(["Message deleted", "fine"])
    await bob.wait_bodies(["Message deleted", "fine"])
    # A deleted message has no actions left.
    await expect(alice.messages().nth(0).locator(".msg-action")).to_have_count(0)
    for page in (alice, bob):
        page.assert_no_errors()


async def refuse(page: ChatPage, request: str, code: str, message: str) -> None:
    """From now on (and after a reload), the server's answer to every ``request`` frame is
    this error; every other frame passes through to the real server unchanged."""

    async def route(ws: WebSocketRoute) -> None:
        server = ws.connect_to_server()

        def from_page(payload: str | bytes) -> None:
            frame = json.loads(payload)
            if frame.get("type") == request:
                error = {"type": "error", "re": frame["id"], "code": code, "message": message}
                ws.send(json.dumps(error))
            else:
                server.send(payload)

        ws.on_message(from_page)

    await page.page.route_web_socket(lambda url: True, route)
    await page.page.reload()
    await page.wait_online()
    await page.wait_room("den")


async def test_refused_edit_and_delete_are_shown_in_the_row(
    server: RunningServer, browser: Browser
) -> None:
    _, alice, bob = await two_people_in_a_room(browser, server.url)
    await alice.send("first")
    await bob.wait_bodies(["first"])
    await refuse(alice, "edit", "conflict", "message 2 is deleted")
    await alice.wait_bodies(["first"])

    await alice.page.locator("#composer-input").press("ArrowUp")
    row = alice.messages().nth(0)
    editor = row.get_by_role("textbox", name="Edit message")
    await editor.fill("changed")
    await editor.press("Enter")
    await expect(row).to_contain_text("Could not edit: message 2 is deleted")
    # The editor stays open, with the text, so nothing typed is lost.
    await expect(editor).to_have_value("changed")
    await editor.press("Escape")

    await refuse(alice, "delete", "forbidden", "only its author can delete it")
    row = alice.messages().nth(0)
    await row.hover()
    await row.get_by_role("button", name="Delete").click()
    await row.get_by_role("alertdialog").get_by_role("button", name="Delete").click()
    await expect(row.get_by_role("alert")).to_have_text(
        "Could not delete: only its author can delete it"
    )
    await bob.wait_bodies(["first"])
    for page in (alice, bob):
        page.assert_no_errors()
