"""An image's preview takes its final size before its thumbnail arrives, so the timeline
does not jump when it does; a phone shows it within the screen's width."""

from __future__ import annotations

import asyncio
import io
import uuid

import aiohttp
from chatpage import ChatPage, eventually, new_context, sign_in_over_http
from PIL import Image
from playwright.async_api import Browser, Route, expect
from support import RunningServer, call_api, register


def png(width: int, height: int) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), (30, 120, 200)).save(out, "PNG")
    # Padded past what the server may hold in a write buffer: its size is not the point.
    return out.getvalue() + bytes(64 * 1024)


async def post_image(
    http: aiohttp.ClientSession, url: str, token: str, width: int, height: int
) -> None:
    """A message of ``token``'s user in ``den`` carrying one PNG, over the HTTP API."""
    uploaded = await call_api(
        http, "POST", f"{url}/api/v1/rooms/den/files?name=wide.png", token, data=png(width, height)
    )
    assert uploaded.status == 201, uploaded.body
    assert uploaded.body["thumb"] is True, uploaded.body
    sent = await call_api(
        http,
        "POST",
        f"{url}/api/v1/rooms/den/messages",
        token,
        json={"client_msg_id": str(uuid.uuid4()), "body": "", "files": [uploaded.body["id"]]},
    )
    assert sent.status in (200, 201), sent.body


async def test_a_preview_is_its_final_size_before_its_thumbnail_arrives(
    server: RunningServer, browser: Browser, http: aiohttp.ClientSession
) -> None:
    alice = await register(http, server.url, "alice")
    created = await call_api(
        http, "POST", f"{server.url}/api/v1/rooms", alice, json={"name": "den"}
    )
    assert created.status == 201, created.body

    context = await new_context(browser)
    await sign_in_over_http(context, server.url, "bob")
    assert (await context.request.post(f"{server.url}/api/v1/rooms/den/join")).ok
    # The thumbnails are held back until the test lets them through.
    release = asyncio.Event()

    async def hold(route: Route) -> None:
        await release.wait()
        await route.continue_()

    await context.route("**/api/v1/files/*/thumb", hold)
    bob = await ChatPage.open(context, server.url, "/#/room/den")
    await bob.wait_online()
    await bob.wait_room("den")

    await post_image(http, server.url, alice, 1000, 500)
    preview = bob.page.locator("#message-list .file-preview")
    await expect(preview).to_have_count(1)
    thumb = preview.locator("img")
    assert not await thumb.evaluate("i => i.complete && i.naturalWidth > 0")
    before = await thumb.bounding_box()
    height_before = await bob.page.locator("#messages").evaluate("n => n.scrollHeight")
    assert before is not None and (round(before["width"]), round(before["height"])) == (360, 180)

    release.set()
    await eventually(
        lambda: thumb.evaluate("i => i.complete && i.naturalWidth"), bool, what="thumb loaded"
    )
    after = await thumb.bounding_box()
    assert after is not None and (after["width"], after["height"]) == (
        before["width"],
        before["height"],
    )
    assert await bob.page.locator("#messages").evaluate("n => n.scrollHeight") == height_before
    bob.assert_no_errors()


async def test_a_phone_fits_a_preview_to_its_width(
    server: RunningServer, browser: Browser, http: aiohttp.ClientSession
) -> None:
    alice = await register(http, server.url, "alice")
    created = await call_api(
        http, "POST", f"{server.url}/api/v1/rooms", alice, json={"name": "den"}
    )
    assert created.status == 201, created.body
    context = await new_context(browser, viewport={"width": 320, "height": 640}, is_mobile=True)
    await sign_in_over_http(context, server.url, "pat")
    assert (await context.request.post(f"{server.url}/api/v1/rooms/den/join")).ok
    await post_image(http, server.url, alice, 2000, 1000)
    page = await ChatPage.open(context, server.url, "/#/room/den")
    await page.wait_online()
    await page.wait_room("den")
    thumb = page.page.locator("#message-list .file-preview img")
    await eventually(lambda: thumb.evaluate("i => i.complete && i.naturalWidth"), bool)
    box = await thumb.bounding_box()
    assert box is not None and box["x"] + box["width"] <= 320
    # Narrower than reserved, and still of the image's proportions.
    assert abs(box["width"] / box["height"] - 2) < 0.05, box
    overflow = await page.page.evaluate(
        "document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert overflow == 0
    # The lightbox fits the screen too.
    await thumb.click()
    full = page.page.locator("#lightbox-image")
    await expect(full).to_be_visible()
    full_box = await full.bounding_box()
    assert full_box is not None and full_box["x"] >= 0 and full_box["x"] + full_box["width"] <= 320
    await page.page.keyboard.press("Escape")
    await expect(page.page.locator("#lightbox")).to_be_hidden()
    page.assert_no_errors()
