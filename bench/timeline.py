"""What a new message costs the browser page, by how much history the open room holds.

For each version of the page (``before``: ``src/hubbub/web`` as committed in git ``HEAD``;
``after``: the working tree) and each history size, a fresh ``hubbub serve`` gets a room of
that many messages; Debian's Chromium (``/usr/bin/chromium``, never a downloaded one) opens
it and scrolls up until all of it is loaded, then back to the bottom. Then 100 messages
arrive one by one, and the page's own counters (CDP ``Performance.getMetrics``) say what
the arrivals cost: script, layout and style time, and the JS heap and DOM nodes after them.

    .venv/bin/python bench/timeline.py [--sizes 50,3000,30000] [--incoming 100]
        [--versions before,after]

The ``before`` page is served from ``git archive HEAD src/hubbub/web`` by intercepting the
browser's requests for ``/static/`` (the server is the same).
"""

from __future__ import annotations

import argparse
import asyncio
import io
import subprocess
import sys
import tarfile
import tempfile
import uuid
from pathlib import Path
from typing import Any

import aiohttp

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "tests" / "browser"))

from chatpage import ChatPage, new_context, sign_in_over_http  # noqa: E402
from conftest import CHROMIUM, CHROMIUM_ARGS  # noqa: E402  (tests/browser/conftest.py)
from playwright.async_api import BrowserContext, Route, async_playwright  # noqa: E402
from support import Client, ServerProcess, register  # noqa: E402

ROOM = "bench"
METRICS = ("ScriptDuration", "LayoutDuration", "RecalcStyleDuration", "JSHeapUsedSize", "Nodes")

# Scroll to the top until the status says the whole history is loaded.
LOAD_ALL = """
async () => {
  const scroller = document.querySelector('#messages');
  const status = document.querySelector('#history-status');
  const rows = () => document.querySelectorAll('#message-list > li[data-seq]').length;
  const frame = () => new Promise(done => requestAnimationFrame(() => done()));
  while (status.dataset.state !== 'start') {
    const before = rows();
    scroller.scrollTop = 1;
    await frame();
    scroller.scrollTop = 0;
    for (let i = 0; i < 600 && rows() === before && status.dataset.state !== 'start'; i++) {
      await frame();
    }
  }
}
"""

BOTTOM = """
async () => {
  const scroller = document.querySelector('#messages');
  const frame = () => new Promise(done => requestAnimationFrame(() => done()));
  for (let i = 0; i < 3; i++) {
    scroller.scrollTop = scroller.scrollHeight;
    await frame();
  }
}
"""


def committed_web() -> Path:
    """``src/hubbub/web`` as committed in HEAD, in a temporary directory."""
    archive = subprocess.run(
        ["git", "archive", "HEAD", "src/hubbub/web"], cwd=ROOT, check=True, capture_output=True
    ).stdout
    target = Path(tempfile.mkdtemp(prefix="hubbub-web-head-"))
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(target, filter="data")
    return target / "src" / "hubbub" / "web"


async def serve_from(context: BrowserContext, web: Path) -> None:
    """Answer the page's requests for ``/static/…`` from ``web`` instead of the server."""

    async def fulfil(route: Route) -> None:
        name = route.request.url.split("/static/", 1)[1].split("?", 1)[0]
        await route.fulfill(path=str(web / name))

    await context.route("**/static/**", fulfil)


async def seed(writer: Client, messages: int) -> None:
    await writer.ok("create", name=ROOM)
    for start in range(0, messages, 1000):
        count = min(1000, messages - start)
        await asyncio.gather(
            *(
                writer.send(ROOM, f"history {i}", client_msg_id=uuid.uuid4().hex)
                for i in range(start, start + count)
            )
        )


async def measure(web: Path | None, messages: int, incoming: int, browser: Any) -> dict[str, float]:
    server = ServerProcess(Path(tempfile.mkdtemp(prefix="hubbub-timeline-")))
    server.start()
    try:
        async with aiohttp.ClientSession() as http:
            token = await register(http, server.url, "writer")
            async with Client.connect(http, server.url, token) as writer:
                await seed(writer, messages)
                context = await new_context(browser)
                if web is not None:
                    await serve_from(context, web)
                await sign_in_over_http(context, server.url, "reader")
                joined = await context.request.post(f"{server.url}/api/v1/rooms/{ROOM}/join")
                assert joined.status == 200, await joined.text()
                reader = await ChatPage.open(context, server.url, f"/#/room/{ROOM}")
                await reader.wait_online()
                await reader.wait_room(ROOM)
                await reader.page.evaluate(LOAD_ALL)
                await reader.page.evaluate(BOTTOM)
                cdp = await context.new_cdp_session(reader.page)
                await cdp.send("Performance.enable")
                before = await metrics(cdp)
                for i in range(incoming):
                    await writer.send(ROOM, f"incoming {i}")
                last = f"incoming {incoming - 1}"
                # The last row holds the last message (no timeout: the old page is slow).
                await reader.page.wait_for_function(
                    """last => document.querySelector('#message-list').lastElementChild
                         ?.querySelector('.msg-body')?.textContent === last""",
                    arg=last,
                    polling=100,
                    timeout=0,
                )
                await cdp.send("HeapProfiler.collectGarbage")
                after = await metrics(cdp)
                rows = await reader.page.evaluate(
                    "() => document.querySelectorAll('#message-list > li[data-seq]').length"
                )
                reader.assert_no_errors()
                await context.close()
    finally:
        server.stop()
    result = {name: after[name] - before[name] for name in METRICS[:3]}
    result |= {name: after[name] for name in METRICS[3:]}
    result["rows"] = rows
    return result


async def metrics(cdp: Any) -> dict[str, float]:
    reply = await cdp.send("Performance.getMetrics")
    return {m["name"]: float(m["value"]) for m in reply["metrics"] if m["name"] in METRICS}


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="50,3000,30000")
    parser.add_argument("--incoming", type=int, default=100)
    parser.add_argument("--versions", default="before,after")
    args = parser.parse_args()
    sizes = [int(size) for size in args.sizes.split(",")]
    webs = {"before": committed_web(), "after": None}
    print(
        "| page | history | script s | layout s | style s | JS heap MiB | DOM nodes | rows |\n"
        "|---|---:|---:|---:|---:|---:|---:|---:|"
    )
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS
        )
        try:
            for version in args.versions.split(","):
                for size in sizes:
                    r = await measure(webs[version], size, args.incoming, browser)
                    print(
                        f"| {version} | {size} | {r['ScriptDuration']:.3f} "
                        f"| {r['LayoutDuration']:.3f} | {r['RecalcStyleDuration']:.3f} "
                        f"| {r['JSHeapUsedSize'] / 2**20:.1f} | {r['Nodes']:.0f} | {r['rows']} |",
                        flush=True,
                    )
        finally:
            await browser.close()


if __name__ == "__main__":
    asyncio.run(main())
