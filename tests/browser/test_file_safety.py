"""Uploaded files are never run by a browser: a file named x.png that is really HTML, and an
SVG with a script, opened directly or embedded in the chat page, execute nothing.

Each hostile file, if it ever ran with the page's cookie, would create a room named after it
(seen by the server) and mark the window; neither happens, and no dialog opens.
"""

from __future__ import annotations

import contextlib
import json
from typing import Any

import aiohttp
from chatpage import ChatPage, eventually, new_context, sign_in_over_http
from file_samples import image
from playwright.async_api import Browser, Dialog, Page
from playwright.async_api import Error as PlaywrightError
from support import RunningServer, call_api, register

# What a hostile file runs: a request with the visitor's cookie, a mark on the window.
SCRIPT = (
    "window.top.__pwned = (window.top.__pwned || []).concat('{name}');"
    "fetch('/api/v1/rooms', {{method: 'POST', headers: {{'Content-Type': 'application/json'}},"
    " body: JSON.stringify({{name: '{name}'}})}});"
    "alert('{name}');"
)


def html(name: str) -> bytes:
    script = SCRIPT.format(name=name)
    return f"<!doctype html><html><body><script>{script}</script>hi</body></html>".encode()


def svg(name: str) -> bytes:
    script = SCRIPT.format(name=name)
    return (
        '<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10" onload="'
        + script.replace('"', "&quot;")
        + f'"><script>{script}</script><rect width="10" height="10"/></svg>'
    ).encode()


HOSTILE = {
    "pwned-png": ("x.png", html),
    "pwned-svg": ("x.svg", svg),
    "pwned-html": ("x.html", html),
}


async def test_hostile_files_run_nothing(
    server: RunningServer, browser: Browser, http: aiohttp.ClientSession
) -> None:
    url = server.url
    context = await new_context(browser, accept_downloads=True)
    await sign_in_over_http(context, url, "alice")
    created = await context.request.post(f"{url}/api/v1/rooms", data={"name": "team"})
    assert created.ok
    ids: dict[str, str] = {}
    for marker, (name, make) in HOSTILE.items():
        uploaded = await context.request.post(
            f"{url}/api/v1/rooms/team/files?name={name}",
            data=make(marker),
            headers={"Content-Type": "text/html"},  # ignored: the content decides
        )
        assert uploaded.status == 201, await uploaded.text()
        info = await uploaded.json()
        assert info["type"] == "text/plain" and "thumb" not in info, info
        ids[marker] = info["id"]
    picture = await context.request.post(
        f"{url}/api/v1/rooms/team/files?name=ok.png", data=image("PNG", (30, 20))
    )
    assert picture.status == 201
    ids["picture"] = (await picture.json())["id"]

    dialogs: list[str] = []

    # Opened directly: downloaded, not rendered.
    page = await context.new_page()
    page.on("dialog", lambda d: _dismiss(d, dialogs))
    for marker in ("pwned-png", "pwned-svg", "pwned-html"):
        name = HOSTILE[marker][0]
        file_url = f"{url}/api/v1/files/{ids[marker]}"
        for opened in (file_url, f"{file_url}/{name}"):  # the nicer URL: the same answer
            async with page.expect_download() as started:
                with contextlib.suppress(PlaywrightError):  # "Download is starting"
                    await page.goto(opened)
            download = await started.value
            assert download.suggested_filename == name
            await download.cancel()
    assert await page.evaluate("window.__pwned === undefined")

    # Embedded in the chat page itself: as images, frames, objects; none runs.
    alice = await ChatPage.open(context, url, "/#/room/team")
    alice.page.on("dialog", lambda d: _dismiss(d, dialogs))
    loaded = await alice.page.evaluate(EMBED, {k: f"/api/v1/files/{v}" for k, v in ids.items()})
    outcome = json.loads(loaded)
    assert outcome["images"] == {
        "pwned-png": "error",
        "pwned-svg": "error",
        "pwned-html": "error",
        "picture": "load",
    }
    assert outcome["pwned"] is None
    await _settled(alice.page)
    assert await alice.page.evaluate("window.__pwned === undefined")
    assert dialogs == []
    mallory = await register(http, url, "mallory")
    for marker in HOSTILE:
        found = await call_api(http, "GET", f"{url}/api/v1/rooms/{marker}/members", mallory)
        assert found.status == 404, f"{marker} ran: it created its room"
    await context.close()


def _dismiss(dialog: Dialog, dialogs: list[str]) -> Any:
    dialogs.append(dialog.message)
    return dialog.dismiss()


async def _settled(page: Page) -> None:
    """Until every frame the page embedded has loaded or failed (nothing left pending)."""
    await eventually(
        lambda: page.evaluate("window.__embedded_settled === true"),
        lambda done: bool(done),
        what="embedded files settled",
    )


# Each file as <img>, <iframe>, <object> and <embed> in the page; resolves with how each
# image fared once every image has loaded or failed.
EMBED = """
async (urls) => {
  const images = {};
  const waits = [];
  for (const [name, url] of Object.entries(urls)) {
    const img = document.createElement('img');
    waits.push(new Promise((done) => {
      img.onload = () => { images[name] = 'load'; done(); };
      img.onerror = () => { images[name] = 'error'; done(); };
    }));
    img.src = url;
    document.body.append(img);
    for (const tag of ['iframe', 'object', 'embed']) {
      const element = document.createElement(tag);
      if (tag === 'object') element.data = url; else element.src = url;
      element.style.width = '20px';
      element.style.height = '20px';
      waits.push(new Promise((done) => {
        element.addEventListener('load', done);
        element.addEventListener('error', done);
        setTimeout(done, 3000);  // a refused frame may fire neither
      }));
      document.body.append(element);
    }
  }
  await Promise.all(waits);
  window.__embedded_settled = true;
  return JSON.stringify({images, pwned: window.__pwned ?? null});
}
"""
