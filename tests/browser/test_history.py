"""Scrolling up through a long history: every message once, in order, the view holding still."""

from __future__ import annotations

import asyncio
import json
import uuid

import aiohttp
from chatpage import ChatPage, eventually, new_context, sign_in_over_http
from playwright.async_api import Browser, expect
from support import Client, RunningServer, read_history, register

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
    async with Client.connect(http, server.url, token) as writer:
        await writer.ok("create", name="big")
        # Pipelined: one connection's sends are stored in the order they were sent.
        await asyncio.gather(
            *(
                writer.send("big", f"message {i:03d}", client_msg_id=uuid.uuid4().hex)
                for i in range(MESSAGES)
            )
        )
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
    await eventually(reader.bodies, lambda got: got and got[-1] == "message 499")
    scroller = reader.page.locator("#messages")
    assert await scroller.evaluate("s => s.scrollHeight - s.scrollTop - s.clientHeight < 50")

    status = reader.page.locator("#history-status")
    pages = 0
    while await status.get_attribute("data-state") != "start":
        before = await reader.messages().count()
        await scroller.evaluate("s => { s.scrollTop = 0; }")
        anchor = json.loads(await scroller.evaluate(TOP_ROW))
        await eventually(
            lambda: reader.messages().count(),
            lambda count, before=before: count > before,
            what="older messages loaded",
        )
        await expect(status).not_to_have_attribute("data-state", "loading")
        # The row that was at the top is still where it was: the view did not jump.
        y = await reader.page.evaluate(
            """([key]) => {
              const top = document.querySelector('#messages').getBoundingClientRect().top;
              return document.querySelector(`#message-list > li[data-key="${key}"]`)
                .getBoundingClientRect().top - top;
            }""",
            [anchor["key"]],
        )
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
    reader.assert_no_errors()
