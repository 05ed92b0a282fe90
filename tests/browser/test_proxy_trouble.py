"""A proxy in front of the server that breaks WebSockets while HTTP works: the page says
plainly that live updates are not getting through and whom to tell, instead of spinning on
"Reconnecting…"; once the proxy is fixed it is online again."""

from __future__ import annotations

from chatpage import TIMEOUT_MS, ChatPage, eventually, new_context, sign_in_over_http
from playwright.async_api import Browser, expect
from reverse_proxy import ReverseProxy
from support import RunningServer

NOTICE = (
    "Live updates are not getting through — messages may only appear after a refresh. This is"
    " usually the server's proxy configuration: tell the server's admin to run “hubbub doctor”."
)


async def test_a_proxy_that_drops_the_upgrade_header_gets_a_plain_notice(
    server: RunningServer, browser: Browser
) -> None:
    async with ReverseProxy([server.url], drop_upgrade=True) as proxy:
        context = await new_context(browser)
        await sign_in_over_http(context, proxy.url, "alice")  # HTTP gets through
        created = await context.request.post(f"{proxy.url}/api/v1/rooms", data={"name": "den"})
        assert created.status == 201
        alice = await ChatPage.open(context, proxy.url, "/#/room/den")
        banner = alice.page.locator("#conn-banner")
        await expect(banner).to_have_attribute("data-state", "trouble", timeout=TIMEOUT_MS)
        await expect(alice.page.locator("#conn-text")).to_have_text(NOTICE)
        await expect(alice.page.locator("#conn-dot")).to_have_attribute(
            "data-state", "trouble", timeout=TIMEOUT_MS
        )

        # The admin fixes the proxy; "Retry now" (or the next attempt) gets the page online.
        proxy.drop_upgrade = False
        await alice.page.click("#conn-retry")
        await alice.wait_online()
        await alice.send("through at last")
        await alice.wait_bodies(["through at last"])
        alice.assert_no_errors()


async def test_a_proxy_that_keeps_cutting_sockets_gets_the_same_notice(
    server: RunningServer, browser: Browser
) -> None:
    # The server pings a silent socket after 20 s; this proxy cuts one after 1 s of silence.
    async with ReverseProxy([server.url], read_timeout=1.0) as proxy:
        context = await new_context(browser)
        await sign_in_over_http(context, proxy.url, "alice")
        alice = await ChatPage.open(context, proxy.url)
        await expect(alice.page.locator("#conn-banner")).to_have_attribute(
            "data-state", "trouble", timeout=TIMEOUT_MS
        )
        await expect(alice.page.locator("#conn-text")).to_have_text(NOTICE)
        assert proxy.cut >= 3  # sockets that had opened, cut one after another
        alice.assert_no_errors()


async def test_a_server_that_is_down_behind_its_proxy_is_no_proxy_trouble(
    server: RunningServer, browser: Browser
) -> None:
    """WebSockets failing while HTTP fails too is the server away: "Reconnecting", as ever."""
    async with ReverseProxy([server.url]) as proxy:
        context = await new_context(browser)
        await sign_in_over_http(context, proxy.url, "alice")
        alice = await ChatPage.open(context, proxy.url)
        await alice.wait_online()
        proxy.upstreams = [("127.0.0.1", 1)]  # nothing listens there: every request gets 502
        # Away and back: the socket is dropped, and the page connects again.
        await alice.page.evaluate("window.dispatchEvent(new Event('offline'))")
        await alice.page.evaluate("window.dispatchEvent(new Event('online'))")

        # Attempts that never open (a 502 each), each from the third on followed by a
        # /healthz that gets a 502 too: by the 5th answer (the fourth attempt) the first
        # /healthz was answered seconds ago.
        async def bad_gateways() -> int:
            return proxy.bad_gateways

        await eventually(bad_gateways, lambda n: n >= 5, timeout=30, what="five 502s")
        await expect(alice.page.locator("#conn-banner")).to_have_attribute(
            "data-state", "reconnecting"
        )
        await expect(alice.page.locator("#conn-text")).to_contain_text("Reconnecting in")
