"""Make docs/screenshot.png: the browser client in the middle of a realistic conversation.

Starts ``hubbub serve`` on a free port with a throw-away data directory, has a few people
talk in rooms and DMs over the HTTP API, then photographs alice's page with the system's
Chromium (Playwright, nothing downloaded).

    python scripts/screenshot.py [--out docs/screenshot.png] [--dark]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import aiohttp
from playwright.async_api import async_playwright

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = os.environ.get("HUBBUB_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
PASSWORD = "a long demo password"
PEOPLE = ["alice", "bob", "carol", "dan"]

GENERAL = [
    ("alice", "Morning all! Staging is green again."),
    ("bob", "Nice. What was it in the end?"),
    ("alice", "A **stale migration lock**. Write-up: https://wiki.example.org/incidents/42"),
    ("carol", "Thanks for writing it down!"),
    ("carol", "Are we still on for the release on Thursday?"),
    ("bob", "Yes, if the checklist is done by Wednesday noon."),
    ("dan", "I'll take the changelog."),
    ("alice", "Great, I'll write the announcement."),
    ("bob", "Draft of the release notes: https://docs.example.org/release-notes/0.4"),
    ("carol", "Looks good. One nit: the upgrade section should mention `--no-guests`."),
    ("bob", "Good catch, fixed. @alice can you check the _announcement_ wording?"),
    ("dan", "Lunch at 12:30?"),
]
# Replies to dan's lunch question (the last message above), and reactions: (who, emoji, body).
LUNCH_REPLIES = [("carol", "In."), ("alice", "Same, see you there.")]
REACTIONS = [
    ("bob", "\N{PARTY POPPER}", "Morning all! Staging is green again."),
    ("carol", "\N{PARTY POPPER}", "Morning all! Staging is green again."),
    ("dan", "\N{THUMBS UP SIGN}", "Morning all! Staging is green again."),
    ("alice", "\N{THUMBS UP SIGN}", "I'll take the changelog."),
]
DESIGN = [
    ("carol", "New icons are in the Figma file."),
    ("carol", "Dark mode contrast is fixed as well."),
    ("dan", "They look great!"),
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(data_dir: Path, port: int) -> subprocess.Popen[bytes]:
    env = os.environ | {
        "HUBBUB_ARGON2_TIME_COST": "1",
        "HUBBUB_ARGON2_MEMORY_KIB": "8192",
        "HUBBUB_SIGNUP_BURST": "100",
    }
    command = [sys.executable, "-m", "hubbub", "serve", "--port", str(port)]
    command += ["--data-dir", str(data_dir), "--log-level", "warning"]
    proc = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return proc
        except OSError:
            if proc.poll() is not None:
                raise RuntimeError("hubbub serve exited") from None
            time.sleep(0.05)
    proc.kill()
    raise RuntimeError("hubbub serve did not start")


class Api:
    """The HTTP API, as each person."""

    def __init__(self, http: aiohttp.ClientSession, url: str) -> None:
        self.http = http
        self.url = url
        self.tokens: dict[str, str] = {}

    async def call(self, who: str | None, method: str, path: str, body: object = None) -> object:
        headers = {"Authorization": f"Bearer {self.tokens[who]}"} if who else {}
        async with self.http.request(
            method, f"{self.url}/api/v1/{path}", json=body, headers=headers
        ) as response:
            if response.status >= 400:
                raise RuntimeError(f"{method} {path}: {response.status} {await response.text()}")
            text = await response.text()
            return json.loads(text) if text else None

    async def register(self, who: str) -> None:
        reply = await self.call(None, "POST", "register", {"username": who, "password": PASSWORD})
        assert isinstance(reply, dict)
        self.tokens[who] = reply["token"]

    async def say(self, who: str, room: str, body: str, reply_to: int | None = None) -> int:
        message = {"client_msg_id": uuid.uuid4().hex, "body": body, "reply_to": reply_to}
        reply = await self.call(who, "POST", f"rooms/{room}/messages", message)
        assert isinstance(reply, dict)
        return int(reply["seq"])

    async def read(self, who: str, room: str, seq: int) -> None:
        await self.call(who, "POST", f"rooms/{room}/read", {"seq": seq})


async def converse(api: Api) -> None:
    for who in PEOPLE:
        await api.register(who)
    await api.call("alice", "POST", "rooms", {"name": "general"})
    await api.call("carol", "POST", "rooms", {"name": "design"})
    await api.call("dan", "POST", "rooms", {"name": "random"})
    for who in ("bob", "carol", "dan"):
        await api.call(who, "POST", "rooms/general/join")
    for who in ("alice", "dan"):
        await api.call(who, "POST", "rooms/design/join")
    await api.call("alice", "POST", "rooms/random/join")
    await api.call("bob", "POST", "rooms", {"name": "launch", "private": True})
    await api.call("bob", "POST", "rooms/launch/invite", {"user": "alice"})
    await api.call("alice", "POST", "invitations/launch/accept")

    said = {body: await api.say(who, "general", body) for who, body in GENERAL}
    lunch = said[GENERAL[-1][1]]
    for who, body in LUNCH_REPLIES:
        await api.say(who, "general", body, reply_to=lunch)
    for who, emoji, body in REACTIONS:
        await api.call(who, "PUT", f"rooms/general/messages/{said[body]}/reactions/{emoji}")
    for who, body in DESIGN:
        await api.say(who, "design", body)
    await api.say("bob", "launch", "The embargo lifts Thursday 9:00.")
    await api.call("alice", "POST", "dm", {"user": "bob"})
    await api.say("bob", "dm:alice:bob", "Got a minute after lunch?")
    seq = await api.say("alice", "dm:alice:bob", "Sure, 13:30 works.")
    await api.read("alice", "dm:alice:bob", seq)
    await api.read("alice", "random", 100)
    await api.call("carol", "POST", "dm", {"user": "alice"})
    await api.say("carol", "dm:alice:carol", "Can you review the icon PR?")


async def bob_types(http: aiohttp.ClientSession, url: str, token: str) -> None:
    """bob starts typing in general, over his own WebSocket."""
    ws = await http.ws_connect(
        url.replace("http", "ws", 1) + "/",
        protocols=("hubbub.v1",),
        headers={"Authorization": f"Bearer {token}"},
    )
    ready = await ws.receive_json()
    assert ready["type"] == "ready", ready
    await ws.send_json({"type": "typing", "room": "general"})
    await ws.send_json({"type": "ping", "id": 1})
    pong = await ws.receive_json()  # the hint was handled before it
    assert pong["type"] == "pong", pong
    await ws.close()


async def photograph(url: str, api: Api, out: Path, dark: bool) -> None:
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        context = await browser.new_context(
            viewport={"width": 1280, "height": 800},
            color_scheme="dark" if dark else "light",
            device_scale_factor=1,
        )
        login = await context.request.post(
            f"{url}/api/v1/login", data={"username": "alice", "password": PASSWORD}
        )
        assert login.ok, await login.text()
        page = await context.new_page()
        await page.goto(f"{url}/#/room/general")
        await page.wait_for_selector("#conn-banner[data-state=online]", state="attached")
        # (Selectors only: the page's CSP rightly refuses the eval behind wait_for_function.)
        shown = len(GENERAL) + len(LUNCH_REPLIES)
        await page.locator("#message-list .msg").nth(shown - 1).wait_for()
        await page.wait_for_selector('.room-link[data-room="design"] .badge:not([hidden])')
        await bob_types(api.http, url, api.tokens["bob"])
        await page.wait_for_selector("#typing:not(:empty)")
        await page.locator("#composer-input").fill("Sounds good, ")
        await page.locator("#composer-input").blur()
        out.parent.mkdir(parents=True, exist_ok=True)
        await page.screenshot(path=str(out))
        await browser.close()


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshot.png")
    parser.add_argument("--dark", action="store_true", help="the dark theme")
    args = parser.parse_args()
    port = free_port()
    with tempfile.TemporaryDirectory() as data_dir:
        server = start_server(Path(data_dir), port)
        try:
            url = f"http://127.0.0.1:{port}"
            async with aiohttp.ClientSession() as http:
                api = Api(http, url)
                await converse(api)
                await photograph(url, api, args.out, args.dark)
        finally:
            os.kill(server.pid, signal.SIGTERM)
            server.wait(15)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    asyncio.run(main())
