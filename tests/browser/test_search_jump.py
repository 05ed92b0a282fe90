"""A search result opens its room around the message: in view, marked, paged both ways until
the room's newest messages, which then behave as usual."""

from __future__ import annotations

import asyncio
import json
from functools import partial

import aiohttp
from chatpage import ChatPage, eventually, new_context, sign_in_over_http
from playwright.async_api import Browser, expect
from support import RunningServer, register

from hubbub.client import Client


def newer_than(last: str, got: list[str]) -> bool:
    """Newer messages came below ``last``, or the newest of all is shown."""
    return got[-1] != last or got[-1] == "message 299"


MESSAGES = 300
NEEDLE = 40  # "needle 040" instead of "message 040"

# Every row that gets the brief mark, by seq: recorded as it happens (it lasts a moment).
WATCH_FLASH = """
() => {
  window.flashed = [];
  new MutationObserver((changes) => {
    for (const change of changes) {
      const node = change.target;
      if (node.classList?.contains('flash')) window.flashed.push(Number(node.dataset.seq));
    }
  }).observe(document.getElementById('message-list'),
             {subtree: true, attributes: true, attributeFilter: ['class']});
}
"""

IN_VIEW = """
(row) => {
  const view = document.getElementById('messages').getBoundingClientRect();
  const box = row.getBoundingClientRect();
  return box.top >= view.top && box.bottom <= view.bottom;
}
"""


def body(i: int) -> str:
    return f"needle {i:03d}" if i == NEEDLE else f"message {i:03d}"


async def seqs_shown(page: ChatPage) -> list[int]:
    value = await page.page.eval_on_selector_all(
        "#message-list > li[data-seq]", "rows => JSON.stringify(rows.map(r => +r.dataset.seq))"
    )
    return list(json.loads(value))


async def search(reader: ChatPage, query: str) -> None:
    box = reader.page.get_by_role("searchbox", name="Search messages")
    await box.fill(query)
    await box.press("Enter")


async def test_a_search_result_opens_the_room_around_it_and_pages_both_ways(
    server: RunningServer, browser: Browser, http: aiohttp.ClientSession
) -> None:
    token = await register(http, server.url, "writer")
    async with Client(server.url, token=token) as writer:
        await writer.create("big")
        # Written at once: the outbox sends a room's messages in the order they were written.
        await asyncio.gather(*(writer.send("big", body(i)) for i in range(MESSAGES)))
        context = await new_context(browser)
        await sign_in_over_http(context, server.url, "reader")
        joined = await context.request.post(f"{server.url}/api/v1/rooms/big/join")
        assert joined.status == 200, await joined.text()
        reader = await ChatPage.open(context, server.url, "/#/room/big")
        await reader.wait_online()
        await reader.wait_room("big")
        await eventually(reader.bodies, lambda got: bool(got) and got[-1] == "message 299")
        await reader.page.evaluate(WATCH_FLASH)
        page = reader.page

        await search(reader, "needle")
        hit = page.locator("#search-results .search-hit")
        await expect(hit).to_have_count(1)
        target = int(await hit.get_attribute("data-seq") or 0)
        await hit.click()
        await expect(page.locator("#dlg-search")).not_to_be_visible()

        # The message, with its neighbours on both sides, in view and marked.
        row = page.locator(f'#message-list > li[data-seq="{target}"]')
        await expect(row.locator(".msg-body")).to_have_text("needle 040")
        assert await row.evaluate(IN_VIEW)
        await eventually(
            lambda: page.evaluate("window.flashed"), lambda got: target in got, what="marked"
        )
        bodies = await reader.bodies()
        assert "message 039" in bodies and "message 041" in bodies
        assert "message 299" not in bodies  # not the room's end: a part around the message
        marker = page.locator("#new-messages")
        await expect(marker).to_be_visible()
        await expect(marker).to_have_text("Newest messages ↓")

        # Up: older messages come above, the view holding still, down to the first one.
        scroller = page.locator("#messages")
        status = page.locator("#history-status")
        for _ in range(10):
            if await status.get_attribute("data-state") == "start":
                break
            await scroller.evaluate("s => { s.scrollTop = 0; }")
            await expect(status).not_to_have_attribute("data-state", "loading")
        await expect(status).to_have_attribute("data-state", "start")
        await eventually(reader.bodies, lambda got: got[0] == "message 000", what="the first")

        # Down: newer pages until the room's end, each message once, in order.
        for _ in range(20):
            if not await marker.is_visible():
                break
            last = (await reader.bodies())[-1]
            await scroller.evaluate("s => { s.scrollTop = s.scrollHeight; }")
            await eventually(
                reader.bodies,
                partial(newer_than, last),
                what="newer messages loaded",
            )
        await expect(marker).to_be_hidden()
        assert await reader.bodies() == [body(i) for i in range(MESSAGES)]
        shown = await seqs_shown(reader)
        assert shown == list(range(shown[0], shown[-1] + 1))  # each once, no hole

        # At the end again: a new message shows at the bottom, the view following it.
        await scroller.evaluate("s => { s.scrollTop = s.scrollHeight; }")
        await writer.send("big", "live one")
        await eventually(reader.bodies, lambda got: got[-1] == "live one", what="live message")
        assert await scroller.evaluate("s => s.scrollHeight - s.scrollTop - s.clientHeight < 50")

        # A result among the messages held: scrolled to and marked, the room as it is.
        await search(reader, "needle")
        await hit.click()
        await eventually(
            lambda: page.evaluate("window.flashed.length"), lambda n: n >= 2, what="marked again"
        )
        assert await row.evaluate(IN_VIEW)
        await expect(marker).to_have_text("New messages ↓")
        assert (await reader.bodies())[-1] == "live one"
    reader.assert_no_errors()
    await context.close()


async def test_a_result_in_a_thread_opens_its_thread(
    server: RunningServer, browser: Browser, http: aiohttp.ClientSession
) -> None:
    token = await register(http, server.url, "writer")
    async with Client(server.url, token=token) as writer:
        await writer.create("big")
        root = await writer.send("big", "the root of it")
        await writer.send("big", "a haystack reply", reply_to=root.seq)
        await asyncio.gather(*(writer.send("big", body(i)) for i in range(120)))
    context = await new_context(browser)
    await sign_in_over_http(context, server.url, "reader")
    assert (await context.request.post(f"{server.url}/api/v1/rooms/big/join")).ok
    reader = await ChatPage.open(context, server.url, "/#/room/big")
    await reader.wait_online()
    await reader.wait_room("big")
    await search(reader, "haystack")
    await reader.page.locator("#search-results .search-hit").click()
    panel = reader.page.locator("#thread-panel")
    await expect(panel).to_be_visible()
    await expect(panel.locator(".thread-root .msg-body")).to_have_text("the root of it")
    await expect(panel.locator("#thread-list .msg-body").last).to_have_text("a haystack reply")
    bodies = await reader.bodies()
    assert "a haystack reply" in bodies and "message 119" not in bodies

    # "Newest messages" goes back to the room's end.
    await panel.get_by_role("button", name="Close the thread").click()
    await reader.page.get_by_role("button", name="Newest messages ↓").click()
    await eventually(reader.bodies, lambda got: got[-1] == "message 119", what="the end")
    scroller = reader.page.locator("#messages")
    assert await scroller.evaluate("s => s.scrollHeight - s.scrollTop - s.clientHeight < 50")

    # Writing from a message far back: the room's end is shown, with what was sent.
    await search(reader, "haystack")
    await reader.page.locator("#search-results .search-hit").click()
    await expect(panel).to_be_visible()
    await panel.get_by_role("button", name="Close the thread").click()
    assert "message 119" not in await reader.bodies()
    await reader.send("back to now")
    await eventually(reader.bodies, lambda got: got[-2:] == ["message 119", "back to now"])
    reader.assert_no_errors()
    await context.close()
