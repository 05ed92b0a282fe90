"""``hubbub chat`` driven headless (Textual's ``run_test`` on an 80 by 24 screen) against a real
server: signing in, the room list's unread counts, paging history, sending, seeing another
user's message, reacting, editing, DMs; and a server restart (``hubbub serve`` as a
subprocess on a fixed port and data dir) while a message is typed: it arrives once."""

from __future__ import annotations

import asyncio
import stat
import uuid
from collections.abc import Iterable
from pathlib import Path

import aiohttp
from support import (
    PASSWORD,
    EventLog,
    RunningServer,
    ServerProcess,
    call_api,
    public_room,
    read_history,
    register,
    until,
)
from textual.pilot import Pilot
from textual.widgets import Input, OptionList

from hubbub.chat.app import ChatApp
from hubbub.chat.config import Session, Store
from hubbub.chat.screens import SignInScreen
from hubbub.client import Client, ConnectionState
from hubbub.core.events import MessageEdited

FAST = {"backoff_first": 0.05, "backoff_max": 0.2}
SIZE = (80, 24)


def rows(app: ChatApp, widget: str) -> list[str]:
    """The text of each row of the room list or the timeline, as drawn."""
    options = app.query_one(widget, OptionList).options
    return [option.prompt.plain if hasattr(option.prompt, "plain") else "" for option in options]


def keys(text: str) -> Iterable[str]:
    return ("space" if char == " " else char for char in text)


async def say(pilot: Pilot[None], text: str) -> None:
    composer = pilot.app.query_one("#composer", Input)
    composer.focus()
    composer.value = text
    await pilot.press("enter")


def asks_for_username(app: ChatApp) -> bool:
    """The sign-in screen is up, its username field focused: keys pressed now land there."""
    focused = app.focused
    return isinstance(app.screen, SignInScreen) and focused is not None and focused.id == "username"


def connected(app: ChatApp) -> bool:
    return app.client is not None and app.client.state is ConnectionState.CONNECTED


async def post(http: aiohttp.ClientSession, url: str, token: str, room: str, body: str) -> None:
    sent = await call_api(
        http,
        "POST",
        f"{url}/api/v1/rooms/{room}/messages",
        token,
        json={"body": body, "client_msg_id": uuid.uuid4().hex},
    )
    assert sent.status == 201, sent.body


async def test_sign_in_rooms_history_send_and_see_others(
    server: RunningServer, http: aiohttp.ClientSession, tmp_path: Path
) -> None:
    url = server.url
    _, bob = await public_room(http, url, "team", ["alice", "bob"])
    for n in range(60):  # more than a page
        await post(http, url, bob, "team", f"old {n}")
    carol = await register(http, url, "carol")
    await call_api(http, "POST", f"{url}/api/v1/rooms", carol, json={"name": "aaa"})
    store = Store(tmp_path / "config")
    app = ChatApp(url, store, client_options=FAST)
    async with app.run_test(size=SIZE) as pilot:
        await until(lambda: asks_for_username(app))
        await pilot.press(*keys("alice"), "enter", *keys("wrong password"), "enter")
        why = app.screen.query_one("#why")
        await until(lambda: "password" in str(why.render()).lower())
        assert store.session(url) is None
        await pilot.press(*keys(PASSWORD), "enter")
        await until(lambda: connected(app) and "team" in app.state.rooms)
        saved = store.session(url)
        assert saved is not None and saved.user == "alice"
        assert stat.S_IMODE((tmp_path / "config" / "sessions.json").stat().st_mode) == 0o600

        # The only room is open, its newest page shown; older pages on PageUp at the top.
        await until(lambda: any(row.endswith(" old 59") for row in rows(app, "#timeline")))
        assert not any(row.endswith(" old 9") for row in rows(app, "#timeline"))
        for _ in range(30):
            if any("the start of the room" in row for row in rows(app, "#timeline")):
                break
            await pilot.press("pageup")
            await pilot.pause()
        await until(lambda: "the start of the room" in rows(app, "#timeline")[0])
        assert sum(" old " in row for row in rows(app, "#timeline")) == 60
        timeline = app.query_one("#timeline", OptionList)
        timeline.scroll_home(animate=False)
        await pilot.pause()
        await post(http, url, bob, "team", "while alice reads")  # does not yank the view
        await until(lambda: any("while alice reads" in row for row in rows(app, "#timeline")))
        await pilot.pause()
        assert timeline.scroll_y == 0 and timeline.max_scroll_y > 0

        async with Client(url, token=bob) as bob_client:
            log = EventLog(bob_client)
            await say(pilot, "hello from the terminal")
            await until(lambda: "hello from the terminal" in log.bodies("team"))
            await bob_client.send("team", "hi alice")
            await until(lambda: any("bob hi alice" in row for row in rows(app, "#timeline")))

            await say(pilot, "/react 👍")
            await until(
                lambda: any(row.endswith("hi alice  👍 1") for row in rows(app, "#timeline"))
            )

            await pilot.press("ctrl+e")
            composer = app.query_one("#composer", Input)
            assert composer.value == "/edit hello from the terminal"
            await say(pilot, "/edit hello, edited")
            await until(lambda: any(isinstance(e, MessageEdited) for e in log.events("team")))
            await until(
                lambda: any("hello, edited (edited)" in row for row in rows(app, "#timeline"))
            )

        # A message in a room not open counts as unread in the list.
        await say(pilot, "/join aaa")
        await until(lambda: app.state.current == "aaa")
        await pilot.press("ctrl+n")
        await until(lambda: app.state.current == "team")
        await post(http, url, carol, "aaa", "psst")
        await until(lambda: rows(app, "#rooms")[0] == "#aaa 1")
        await pilot.press("ctrl+p")
        await until(lambda: rows(app, "#rooms")[0] == "#aaa")
        await until(lambda: any("carol psst" in row for row in rows(app, "#timeline")))

        # A DM.
        await say(pilot, "/dm carol")
        await until(lambda: app.state.current == "dm:alice:carol")
        await until(lambda: "@carol" in rows(app, "#rooms"))
        await say(pilot, "just us")
        await until(lambda: any("alice just us" in row for row in rows(app, "#timeline")))

        await say(pilot, "/frobnicate")
        assert "unknown command" in app.state.notice
        assert app.query_one("#composer", Input).value == "/frobnicate"  # kept to fix


async def test_a_message_typed_while_the_server_restarts_arrives_once(tmp_path: Path) -> None:
    server = ServerProcess(tmp_path / "data")
    server.start()
    try:
        async with aiohttp.ClientSession() as http:
            alice, bob = await public_room(http, server.url, "team", ["alice", "bob"])
            store = Store(tmp_path / "config")
            store.remember(Session(server.url, "alice", alice))
            app = ChatApp(server.url, store, client_options=FAST)
            async with app.run_test(size=SIZE) as pilot:
                await until(lambda: connected(app) and app.state.current == "team")

                assert await asyncio.to_thread(server.terminate) == 0
                server.stop()
                await until(lambda: "reconnecting" in str(app.query_one("#status").render()))
                await say(pilot, "typed while the server was away")
                outbox = store.outbox_path(server.url, "alice")
                assert "typed while the server was away" in outbox.read_text()
                await until(lambda: any("(sending…)" in row for row in rows(app, "#timeline")))

                await asyncio.to_thread(server.start)
                await post(http, server.url, bob, "team", "welcome back")
                await until(lambda: not app.state.pending, timeout=20)
                await until(lambda: any("bob welcome back" in r for r in rows(app, "#timeline")))
                typed = "alice typed while the server was away"
                await until(lambda: any(typed in r for r in rows(app, "#timeline")))
                # Drawn once acknowledged: the timeline catches up with the state.
                await until(lambda: not any("(sending…)" in r for r in rows(app, "#timeline")))
                shown = rows(app, "#timeline")
                assert sum(typed in r for r in shown) == 1
                assert "connected" in str(app.query_one("#status").render())
                assert outbox.read_text() == ""

                # Typed while the server is away, and the client quits before it is back:
                # the outbox file keeps it, and the next start sends it.
                assert await asyncio.to_thread(server.terminate) == 0
                server.stop()
                await until(lambda: "reconnecting" in str(app.query_one("#status").render()))
                await say(pilot, "typed, then the client quit")
            assert "typed, then the client quit" in outbox.read_text()
            await asyncio.to_thread(server.start)
            app = ChatApp(server.url, store, client_options=FAST)
            async with app.run_test(size=SIZE):
                await until(lambda: connected(app) and not app.state.pending, timeout=20)
                await until(
                    lambda: any("then the client quit" in r for r in rows(app, "#timeline"))
                )
            history = await read_history(http, server.url, alice, "team")
            bodies = [e["body"] for e in history if e["type"] == "message"]
            assert bodies.count("typed while the server was away") == 1
            assert bodies.count("typed, then the client quit") == 1
            assert outbox.read_text() == ""
    finally:
        server.stop()


async def test_a_token_the_server_refuses_is_forgotten_and_sign_in_asked_again(
    server: RunningServer, http: aiohttp.ClientSession, tmp_path: Path
) -> None:
    await register(http, server.url, "alice")
    store = Store(tmp_path / "config")
    store.remember(Session(server.url, "alice", "revoked-or-made-up"))
    app = ChatApp(server.url, store, client_options=FAST)
    async with app.run_test(size=SIZE) as pilot:
        await until(lambda: asks_for_username(app))
        assert store.session(server.url) is None
        assert "sign in again" in str(app.screen.query_one("#why").render())
        await pilot.press(*keys("alice"), "enter", *keys(PASSWORD), "enter")
        await until(lambda: connected(app))
        saved = store.session(server.url)
        assert saved is not None and saved.token != "revoked-or-made-up"
