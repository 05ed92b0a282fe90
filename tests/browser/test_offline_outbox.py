"""Messages written offline: shown at once as pending, delivered once when back, kept across
a reload."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import aiohttp
from chatpage import ChatPage, eventually, stored_messages, two_people_in_a_room
from playwright.async_api import Browser, Route, WebSocketRoute, expect
from support import RunningServer, ServerProcess


async def test_messages_written_offline_are_sent_once_when_back(
    server: RunningServer, browser: Browser, http: aiohttp.ClientSession
) -> None:
    alice_context, alice, bob = await two_people_in_a_room(browser, server.url)
    await alice.send("online first")
    await bob.wait_bodies(["online first"])

    # The browser goes offline. Chromium keeps the WebSocket open when emulating this; the
    # page drops it on the `offline` event, so what the user sees is right at once.
    await alice_context.set_offline(True)
    await expect(alice.page.locator("#conn-banner")).to_have_attribute("data-state", "offline")
    await expect(alice.page.locator("#conn-text")).to_contain_text("offline")

    offline = ["offline one", "offline two", "offline three"]
    for text in offline:
        await alice.send(text)
    await expect(alice.messages("pending")).to_have_count(3)
    assert await alice.shown() == [("sent", "online first")] + [("pending", t) for t in offline]
    await expect(alice.page.locator("#message-list .msg-state.pending").first).to_have_text(
        "Pending"
    )

    await alice_context.set_offline(False)
    await alice.wait_online()
    await expect(alice.messages("pending")).to_have_count(0)
    assert await alice.shown() == [("sent", "online first")] + [("sent", t) for t in offline]
    await bob.wait_bodies(["online first", *offline])
    assert await stored_messages(http, server.url) == ["online first", *offline]
    alice.assert_no_errors()
    bob.assert_no_errors()


class PageCache:
    """The page's files and its ``GET /api/v1/me``, served while the server is down as last
    fetched from it, the way a browser loads an offline-capable page from its cache; other
    requests are refused as a stopped server refuses them. The WebSocket is not routed: it
    meets the stopped server itself."""

    def __init__(self) -> None:
        self.server_up = True
        self._saved: dict[str, tuple[int, dict[str, str], bytes]] = {}

    async def route(self, route: Route) -> None:
        request = route.request
        if self.server_up:
            response = await route.fetch()
            body = await response.body()
            if request.method == "GET" and response.status == 200:
                self._saved[request.url] = (response.status, response.headers, body)
            await route.fulfill(response=response, body=body)
        elif request.method == "GET" and request.url in self._saved:
            status, headers, body = self._saved[request.url]
            await route.fulfill(status=status, headers=headers, body=body)
        else:
            await route.abort("connectionrefused")


async def retry_now(chat: ChatPage) -> None:
    """What "Retry now" does. Clicked from script: the page's own retry may have connected
    while the server was starting, and then the button is hidden (a retry is harmless)."""
    await chat.page.evaluate("document.getElementById('conn-retry').click()")


async def test_pending_messages_survive_a_reload(
    tmp_path: Path, browser: Browser, http: aiohttp.ClientSession
) -> None:
    server = ServerProcess(tmp_path / "data")
    await asyncio.to_thread(server.start)
    try:
        alice_context, alice, bob = await two_people_in_a_room(browser, server.url)
        cache = PageCache()
        await alice_context.route("**/*", cache.route)
        # A page served from the cache has no address of its own, so Chromium's Local
        # Network Access checks would keep its WebSocket from 127.0.0.1: allow it.
        await alice_context.grant_permissions(["local-network-access"])
        await alice.page.reload()  # the page as the cache will serve it
        await alice.wait_online()

        # The server stops (its sockets close with 1001): every reconnect is refused.
        assert await asyncio.to_thread(server.terminate) == 0
        cache.server_up = False
        await expect(alice.page.locator("#conn-banner")).to_have_attribute(
            "data-state", "reconnecting"
        )
        for text in ("kept 1", "kept 2"):
            await alice.send(text)
        await expect(alice.messages("pending")).to_have_count(2)

        await alice.page.reload()
        # After the reload, with no server: the room and its pending messages are there.
        await expect(alice.page.locator("#conn-banner")).to_have_attribute(
            "data-state", "reconnecting"
        )
        await expect(alice.room_link("den")).to_be_visible()
        assert await alice.shown() == [("pending", "kept 1"), ("pending", "kept 2")]

        server.stop()
        server = ServerProcess(tmp_path / "data", port=server.port)
        await asyncio.to_thread(server.start)
        cache.server_up = True
        for page in (alice, bob):
            await retry_now(page)  # instead of waiting out the backoff
            await page.wait_online()
        await expect(alice.messages("pending")).to_have_count(0)
        await alice.wait_bodies(["kept 1", "kept 2"])
        await bob.wait_bodies(["kept 1", "kept 2"])
        assert await eventually(
            lambda: stored_messages(http, server.url), lambda got: len(got) >= 2
        ) == ["kept 1", "kept 2"]
        alice.assert_no_errors()
        bob.assert_no_errors()
    finally:
        server.stop()


async def test_a_refused_message_can_be_retried(server: RunningServer, browser: Browser) -> None:
    _, alice, bob = await two_people_in_a_room(browser, server.url)

    # Between alice's page and the server: while `refuse` is set, her sends are answered
    # with an error instead of reaching the server (as a refusal would be).
    refuse = True

    def route(ws: WebSocketRoute) -> None:
        to_server = ws.connect_to_server()

        def from_page(message: str | bytes) -> None:
            frame = json.loads(message)
            if refuse and frame.get("type") == "send":
                ws.send(
                    json.dumps(
                        {"type": "error", "re": frame["id"], "code": "forbidden", "message": "no"}
                    )
                )
            else:
                to_server.send(message)

        ws.on_message(from_page)

    await alice.page.route_web_socket(server.ws_url, route)
    await alice.page.reload()
    await alice.wait_online()
    await alice.send("refused at first")
    failed = alice.messages("failed")
    await expect(failed).to_have_count(1)
    await expect(failed.locator(".msg-state")).to_contain_text("Not sent")

    refuse = False
    await failed.get_by_role("button", name="Retry").click()
    await expect(alice.messages("sent")).to_have_count(1)
    assert await alice.shown() == [("sent", "refused at first")]
    await bob.wait_bodies(["refused at first"])

    # Discard drops a refused message for good.
    refuse = True
    await alice.send("never mind")
    await expect(alice.messages("failed")).to_have_count(1)
    await alice.messages("failed").get_by_role("button", name="Discard").click()
    await expect(alice.messages("failed")).to_have_count(0)
    await alice.page.reload()
    await alice.wait_online()
    await alice.wait_bodies(["refused at first"])
    alice.assert_no_errors()
    bob.assert_no_errors()
