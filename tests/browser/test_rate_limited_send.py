"""A message the server asks to slow down for says so, and goes once the wait is over."""

from __future__ import annotations

import asyncio
import json
import re
from pathlib import Path

from chatpage import ChatPage, new_context, sign_in_over_http
from playwright.async_api import Browser, WebSocketRoute, expect
from support import config_for, running_server


async def test_a_rate_limited_message_says_why_it_waits_and_goes_after_retry_after(
    tmp_path: Path, browser: Browser
) -> None:
    # Two messages at once, then one every 2.5 s.
    config = config_for(tmp_path / "data", send_rate=0.4, send_burst=2)
    async with running_server(config) as server:
        context = await new_context(browser)
        await sign_in_over_http(context, server.url, "alice")
        assert (await context.request.post(f"{server.url}/api/v1/rooms", data={"name": "den"})).ok

        # Every frame between the page and the server, with when it passed.
        clock = asyncio.get_running_loop().time
        sends: list[tuple[float, str, str]] = []  # (time, client_msg_id, body)
        refusals: list[tuple[float, int, float]] = []  # (time, request id, retry_after)
        ids: dict[int, str] = {}

        def route(ws: WebSocketRoute) -> None:
            server_ws = ws.connect_to_server()

            def from_page(message: str | bytes) -> None:
                frame = json.loads(message)
                if frame.get("type") == "send":
                    sends.append((clock(), frame["client_msg_id"], frame["body"]))
                    ids[frame["id"]] = frame["client_msg_id"]
                server_ws.send(message)

            def from_server(message: str | bytes) -> None:
                frame = json.loads(message)
                if frame.get("code") == "rate_limited":
                    refusals.append((clock(), frame["re"], frame["retry_after"]))
                ws.send(message)

            ws.on_message(from_page)
            server_ws.on_message(from_server)

        page = await context.new_page()
        await page.route_web_socket(server.ws_url, route)
        alice = ChatPage(page, server.url)
        await page.goto(server.url + "/#/room/den")
        await alice.wait_online()
        await alice.wait_room("den")

        await alice.send("one")
        await alice.send("two")
        await expect(alice.messages("sent")).to_have_count(2)
        await alice.send("three")
        waiting = alice.messages("pending").locator(".msg-state")
        await expect(waiting).to_have_text(
            re.compile(r"^Waiting — sending too fast, retrying in [123] s$")
        )
        # Written while waiting: it queues behind, and says so too.
        await alice.send("four")
        await expect(waiting).to_have_count(2)
        await expect(waiting.nth(1)).to_contain_text("Waiting — sending too fast")
        # The seconds count down.
        await expect(waiting.first).to_have_text("Waiting — sending too fast, retrying in 1 s")

        await expect(alice.messages("sent")).to_have_count(4, timeout=20_000)
        assert await alice.bodies() == ["one", "two", "three", "four"]
        # Sent in the order written, each resent only after the wait the server asked for.
        cids = {body: cid for _, cid, body in sends}
        firsts = [next(t for t, cid, _ in sends if cid == cids[b]) for b in cids]
        assert list(cids) == ["one", "two", "three", "four"]
        assert firsts == sorted(firsts)
        assert refusals, "the server never refused a message"
        for when, request_id, retry_after in refusals:
            cid = ids[request_id]
            resent = [t for t, c, _ in sends if c == cid and t > when]
            assert resent, f"{cid} was not sent again"
            assert resent[0] - when >= retry_after - 0.05
        # No tight loop: each message went at most twice.
        assert max(sum(1 for _, c, _ in sends if c == cid) for cid in cids.values()) <= 2
        alice.assert_no_errors()
        await context.close()
