"""A seed page that only listens is never dropped: Chromium answers the server's pings itself."""

from __future__ import annotations

import asyncio
from pathlib import Path

from chatpage import new_context
from playwright.async_api import Browser, expect
from support import config_for, running_server

SEED_PAGE = Path(__file__).with_name("seed_page.html")
PINGS = 5


async def test_a_listening_seed_page_stays_connected_across_ping_intervals(
    tmp_path: Path, browser: Browser
) -> None:
    config = config_for(tmp_path, ping_interval=0.3, ping_timeout=0.3)
    async with running_server(config) as server:
        seed = await (await new_context(browser)).new_page()
        await seed.goto(f"{SEED_PAGE.as_uri()}#{server.ws_url}")
        await seed.fill("#name", "ann")
        await seed.click("#join button")
        await expect(seed.locator("body")).to_have_attribute("data-connected", "yes")

        # The page sends nothing more; each interval the server pings it and Chromium answers.
        state = server.state
        async with asyncio.timeout(30):
            while state.pongs_received < PINGS:
                await asyncio.sleep(0.05)
        assert state.pings_sent >= PINGS
        assert state.ping_timeouts == 0
        assert len(state.connections) == 1
        assert await seed.evaluate("connection.readyState") == 1  # OPEN

        # And the connection still carries lines both ways.
        await seed.fill("#text", "still here")
        await seed.click("#chat button")
        await expect(seed.locator("#log .line")).to_have_text(["still here"])
