"""A long room: a new message adds one row and touches no other; far history is forgotten
at the bottom and paged back in when scrolled to."""

from __future__ import annotations

import asyncio
import json

import aiohttp
from chatpage import ChatPage, eventually, new_context, sign_in_over_http
from playwright.async_api import Browser
from support import RunningServer, register

from hubbub.client import Client

MESSAGES = 3000
KEEP_EVENTS = 1000  # store.js: the events a room keeps while the view is at the bottom

SEQS_SHOWN = (
    "() => JSON.stringify([...document.querySelectorAll('#message-list > li[data-seq]')]"
    ".map(li => +li.dataset.seq))"
)

# Counts what is added to and removed from the list, and keeps one row node to compare.
WATCH = """
([key]) => {
  window.kept = document.querySelector(`#message-list > li[data-key="${key}"]`);
  window.changes = {added: [], removed: 0};
  new MutationObserver(records => {
    for (const r of records) {
      for (const node of r.addedNodes) window.changes.added.push(node.dataset.key);
      window.changes.removed += r.removedNodes.length;
    }
  }).observe(document.querySelector('#message-list'), {childList: true, subtree: true});
}
"""

SAME_NODE = """
([key]) => window.kept === document.querySelector(`#message-list > li[data-key="${key}"]`)
"""


async def seqs_shown(page: ChatPage) -> list[int]:
    return list(json.loads(await page.page.evaluate(SEQS_SHOWN)))


async def scroll_up_until(page: ChatPage, done: str) -> list[int]:
    """Scroll to the top again and again (each time an older page loads) until `done(seqs)`."""
    scroller = page.page.locator("#messages")
    for _ in range(40):
        seqs = await seqs_shown(page)
        if await page.page.evaluate(f"seqs => ({done})(seqs)", seqs):
            return seqs
        await scroller.evaluate("s => { s.scrollTop = 0; }")
        count = len(seqs)

        def grew(now: list[int], count: int = count) -> bool:
            return len(now) > count

        await eventually(lambda: seqs_shown(page), grew)
    raise AssertionError("history did not load")


async def test_a_long_room_appends_one_row_and_forgets_far_history(
    server: RunningServer, browser: Browser, http: aiohttp.ClientSession
) -> None:
    token = await register(http, server.url, "writer")
    async with Client(server.url, token=token, outbox_limit=MESSAGES) as writer:
        await writer.create("long")
        await asyncio.gather(*(writer.send("long", f"line {i}") for i in range(MESSAGES)))
        context = await new_context(browser)
        await sign_in_over_http(context, server.url, "reader")
        joined = await context.request.post(f"{server.url}/api/v1/rooms/long/join")
        assert joined.status == 200, await joined.text()
        reader = await ChatPage.open(context, server.url, "/#/room/long")
        await reader.wait_online()
        await reader.wait_room("long")
        shown = await eventually(lambda: seqs_shown(reader), lambda seqs: len(seqs) >= 50)
        newest = shown[-1]

        # A new message: one row is added, nothing is removed or remade.
        await reader.page.evaluate(WATCH, [f"s:{shown[-1]}"])
        await writer.send("long", "one more")
        await eventually(reader.bodies, lambda got: got[-1] == "one more")
        changes = await reader.page.evaluate("() => window.changes")
        assert changes == {"added": [f"s:{newest + 1}"], "removed": 0}
        assert await reader.page.evaluate(SAME_NODE, [f"s:{newest}"])

        # Read back beyond what is kept, then return to the bottom: the oldest rows go.
        read = await scroll_up_until(reader, f"seqs => seqs.length > {KEEP_EVENTS}")
        await reader.page.locator("#messages").evaluate("s => { s.scrollTop = s.scrollHeight; }")
        kept = await eventually(
            lambda: seqs_shown(reader), lambda seqs: len(seqs) <= KEEP_EVENTS, what="far rows gone"
        )
        assert kept == list(range(newest + 2 - len(kept), newest + 2))  # the newest, gapless
        assert kept[0] > read[0]
        assert await reader.page.locator("#history-status").get_attribute("data-state") == "more"

        # Scrolling up again pages the forgotten rows back in, each once, in order.
        again = await scroll_up_until(reader, f"seqs => seqs[0] <= {read[0]}")
        assert again == list(range(again[0], newest + 2))
        reader.assert_no_errors()
        await context.close()
