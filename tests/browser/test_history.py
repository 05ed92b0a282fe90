"""Scrolling up through a long history: every message once, in order, the view holding still."""

from __future__ import annotations

import asyncio
import json

import aiohttp
from chatpage import ChatPage, eventually, new_context, sign_in_over_http
from playwright.async_api import Browser, expect
from support import RunningServer, read_history, register

from hubbub.client import Client

MESSAGES = 500

# The first row (not a day divider) at the top of the timeline, and where it is on screen.
TOP_ROW = """
scroller => {
  const top = scroller.getBoundingClientRect().top;
  const row = [...scroller.querySelectorAll('#message-list > li:not(.day)')]
    .find(li => li.getBoundingClientRect().bottom > top);
  return JSON.stringify({key: row.dataset.key, y: row.getBoundingClientRect().top - top});
}
"""


async def test_scrolling_up_loads_all_history_in_order_without_jumping(
    server: RunningServer, browser: Browser, http: aiohttp.ClientSession
) -> None:
    token = await register(http, server.url, "writer")
    async with Client(server.url, token=token) as writer:
        await writer.create("big")
        # Written at once: the outbox sends a room's messages in the order they were written.
        await asyncio.gather(*(writer.send("big", f"message {i:03d}") for i in range(MESSAGES)))
    context = await new_context(browser)
    await sign_in_over_http(context, server.url, "reader")
    joined = await context.request.post(f"{server.url}/api/v1/rooms/big/join")
    assert joined.status == 200, await joined.text()
    stored = await read_history(http, server.url, token, "big")
    expected = [e["body"] for e in stored if e["type"] == "message"]
    assert sorted(expected) == [f"message {i:03d}" for i in range(MESSAGES)]

    reader = await ChatPage.open(context, server.url, "/#/room/big")
    await reader.wait_online()
    await reader.wait_room("big")
    # The newest page first, scrolled to the bottom.
    await eventually(reader.bodies, lambda got: bool(got) and got[-1] == "message 499")
    scroller = reader.page.locator("#messages")
    assert await scroller.evaluate("s => s.scrollHeight - s.scrollTop - s.clientHeight < 50")

    status = reader.page.locator("#history-status")
    pages = 0
    while await status.get_attribute("data-state") != "start":
        before = await reader.messages().count()
        await scroller.evaluate("s => { s.scrollTop = 0; }")
        anchor = json.loads(await scroller.evaluate(TOP_ROW))

        def grew(count: int, before: int = before) -> bool:
            return count > before

        await eventually(lambda: reader.messages().count(), grew, what="older messages loaded")
        await expect(status).not_to_have_attribute("data-state", "loading")
        # The row that was at the top is still where it was: the view did not jump.
        y = await row_y(reader, anchor["key"])
        assert abs(y - anchor["y"]) <= 2, (anchor, y)
        pages += 1
        assert pages < 20

    assert pages >= 4  # 500 messages came in several pages
    assert await reader.bodies() == expected
    seqs = json.loads(
        await reader.page.eval_on_selector_all(
            "#message-list > li[data-seq]", "rows => JSON.stringify(rows.map(r => +r.dataset.seq))"
        )
    )
    assert seqs == list(range(1, len(stored) + 1))  # every event once, in order: no gap
    await expect(status).to_have_text("This is the very beginning of the conversation.")

    # Reading in the middle, a new message does not pull the view down: a button says so.
    marker = reader.page.locator("#new-messages")
    await scroller.evaluate("s => { s.scrollTop = s.scrollHeight / 2; }")
    await next_frame(reader)  # the page has seen the scroll
    anchor = json.loads(await scroller.evaluate(TOP_ROW))
    async with Client(server.url, token=token) as writer:
        await writer.send("big", "a new one")
    await eventually(reader.bodies, lambda got: got[-1] == "a new one")
    await expect(marker).to_be_visible()
    assert abs(await row_y(reader, anchor["key"]) - anchor["y"]) <= 2
    await marker.click()
    await expect(marker).to_be_hidden()
    assert await scroller.evaluate("s => s.scrollHeight - s.scrollTop - s.clientHeight < 50")
    reader.assert_no_errors()


async def row_y(page: ChatPage, key: str) -> float:
    """Where the row ``key`` is, from the top of the visible timeline."""
    return float(
        await page.page.evaluate(
            """([key]) => {
              const top = document.querySelector('#messages').getBoundingClientRect().top;
              return document.querySelector(`#message-list > li[data-key="${key}"]`)
                .getBoundingClientRect().top - top;
            }""",
            [key],
        )
    )


async def next_frame(page: ChatPage) -> None:
    """Until the browser has drawn a frame (scroll events are handled before)."""
    await page.page.evaluate(
        "() => new Promise(done => requestAnimationFrame(() => requestAnimationFrame(done)))"
    )
