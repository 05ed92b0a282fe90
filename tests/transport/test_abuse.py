"""Abuse paths: everything that makes the server write is rate-limited, a revoked token loses
its WebSockets at once, and guessing passwords neither works nor locks the owner out.

Every server here runs with small buckets (``config_for`` overrides) whose refill is too slow
to matter during a test, so the limits show as exact counts.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from rawws import OP_BINARY, OP_TEXT, Frame, RawWebSocket
from support import (
    PASSWORD,
    ApiReply,
    Client,
    RunningServer,
    call_api,
    config_for,
    invite_over_ws,
    register,
    running_server,
)

from hubbub.auth.signins import (
    ACCOUNT_FREE_FAILURES,
    BACKOFF_CAP,
    FORGET,
    PAIR_BURST,
    PAIR_RATE,
    RECENT,
    SignInThrottle,
)
from hubbub.errors import RateLimited
from hubbub.protocol.codes import CloseCode

SLOW = 0.001  # a refill rate (per second) that adds nothing during a test
JSON = {"Content-Type": "application/json"}


@asynccontextmanager
async def server_with(tmp_path: Path, **overrides: Any) -> AsyncIterator[RunningServer]:
    async with running_server(config_for(tmp_path / "data", **overrides)) as server:
        yield server


# --- plain-text guests: renames, empty lines and binary frames ----------------------------------


async def read_until_close(ws: RawWebSocket) -> tuple[list[Frame], int | None]:
    frames, close = await ws.read_until_close()
    return frames, close.close_code


GUEST_FRAMES = {
    "binary": (OP_BINARY, b"\x00\x01blob"),
    "rename": (OP_TEXT, b"start_mallory"),
    "empty line": (OP_TEXT, b""),
}


@pytest.mark.parametrize("kind", list(GUEST_FRAMES))
async def test_a_guest_relaying_too_fast_is_closed_with_4029(tmp_path: Path, kind: str) -> None:
    """Each relayed frame goes out once per guest: past the address's relay bucket the
    sender is closed with 4029, and the others got exactly what was accepted."""
    opcode, payload = GUEST_FRAMES[kind]
    async with server_with(tmp_path, guest_relay_burst=3.0, guest_relay_rate=SLOW) as server:
        watcher = await RawWebSocket.connect(server.url, protocol=None)
        flooder = await RawWebSocket.connect(server.url, protocol=None)
        try:
            for _ in range(10):
                await flooder.send_frame(opcode, payload)
            _, code = await read_until_close(flooder)
            assert code == CloseCode.RATE_LIMITED
            # A stored line of the watcher's own comes back behind whatever was relayed.
            await watcher.send_text("still here")
            relayed = []
            while (frame := await watcher.read_frame()).payload != b"still here":
                relayed.append((frame.opcode, frame.payload))
            assert relayed == [(opcode, payload)] * 3
        finally:
            await watcher.close()
            await flooder.close()


async def test_an_empty_guest_line_is_relayed_and_not_stored(
    server: RunningServer, http: aiohttp.ClientSession
) -> None:
    """As the seed's server did: to every plain-text client, the sender too; never stored."""
    ann = await RawWebSocket.connect(server.url, protocol=None)
    ben = await RawWebSocket.connect(server.url, protocol=None)
    try:
        await ann.send_text(b"")
        for ws in (ann, ben):
            frame = await ws.read_frame()
            assert (frame.opcode, frame.payload) == (OP_TEXT, b"")
    finally:
        await ann.close()
        await ben.close()
    page = await server.node.storage.history("lobby", None, None, 10)
    assert page.events == []


# --- typing, read, and the room actions ----------------------------------------------------------


async def test_typing_past_its_bucket_is_dropped_before_anything_is_read(
    tmp_path: Path, http: aiohttp.ClientSession
) -> None:
    async with server_with(tmp_path, typing_burst=2.0, typing_rate=SLOW) as server:
        alice_token = await register(http, server.url, "alice")
        bob_token = await register(http, server.url, "bob")
        async with (
            Client.connect(http, server.url, alice_token, sync={}) as alice,
            Client.connect(http, server.url, bob_token, sync={}) as bob,
        ):
            await alice.ok("create", name="team")
            await invite_over_ws(alice, bob, "team", "bob")
            await bob.wait_for(lambda c: c.room_events("team"))
            for _ in range(5):
                await alice.ws.send_str(json.dumps({"type": "typing", "room": "team"}))
            await alice.ok("ping")
            await bob.ok("ping")  # behind every notice the server sent bob
            assert [e["type"] for e in bob.events if e["type"] == "typing"] == ["typing"] * 2

            # Past the bucket nothing is even looked up: a missing room gets no not_found.
            first = await alice.request("typing", room="ghost")
            second = await alice.request("typing", room="ghost")
            assert first["code"] == second["code"] == "not_found"
            for _ in range(3):
                await alice.ws.send_str(json.dumps({"type": "typing", "id": "t", "room": "ghost"}))
            assert (await alice.ok("ping"))["type"] == "pong"
            assert alice.frames.empty(), "a typing past the bucket was answered"


async def test_read_markers_are_rate_limited(tmp_path: Path, http: aiohttp.ClientSession) -> None:
    async with server_with(tmp_path, read_burst=2.0, read_rate=SLOW) as server:
        token = await register(http, server.url, "alice")
        async with Client.connect(http, server.url, token) as alice:
            await alice.ok("create", name="team")
            await alice.ok("read", room="team", seq=1)
            await alice.ok("read", room="team", seq=1)
            refused = await alice.request("read", room="team", seq=1)
            assert refused["code"] == "rate_limited", refused
            assert refused["retry_after"] > 0
        # One bucket per user, over HTTP too.
        reply = await call_api(
            http, "POST", f"{server.url}/api/v1/rooms/team/read", token, json={"seq": 1}
        )
        assert_429(reply)


def assert_429(reply: ApiReply) -> None:
    assert reply.status == 429, reply.body
    assert reply.body["code"] == "rate_limited"
    assert reply.body["retry_after"] > 0
    assert int(reply.headers["Retry-After"]) >= 1


async def test_room_actions_share_one_bucket(tmp_path: Path, http: aiohttp.ClientSession) -> None:
    """create, join, leave, dm and invite: together, one bucket per user."""
    async with server_with(tmp_path, room_action_burst=5.0, room_action_rate=SLOW) as server:
        alice_token = await register(http, server.url, "alice")
        bob_token = await register(http, server.url, "bob")
        async with Client.connect(http, server.url, alice_token) as alice:
            await alice.ok("create", name="team")
            await alice.ok("join", room="lobby")
            await alice.ok("leave", room="lobby")
            await alice.ok("dm", user="bob")
            await alice.ok("invite", room="team", user="bob")
            room_actions: list[tuple[str, dict[str, Any]]] = [
                ("create", {"name": "another"}),
                ("join", {"room": "lobby"}),
                ("leave", {"room": "team"}),
                ("dm", {"user": "alice"}),
                ("invite", {"room": "team", "user": "carol"}),
            ]
            for kind, fields in room_actions:
                refused = await alice.request(kind, **fields)
                assert refused["code"] == "rate_limited", (kind, refused)
            assert [r["name"] for r in (await alice.ok("rooms"))["rooms"]] == [
                "dm:alice:bob",
                "team",
            ]
        api = f"{server.url}/api/v1"
        assert_429(await call_api(http, "POST", f"{api}/rooms", alice_token, json={"name": "x"}))
        assert_429(await call_api(http, "POST", f"{api}/rooms/lobby/join", alice_token))
        # Another user's bucket is full.
        joined = await call_api(http, "POST", f"{api}/rooms/lobby/join", bob_token)
        assert joined.status == 200, joined.body


# --- logout closes the token's WebSockets -------------------------------------------------------


async def logout(http: aiohttp.ClientSession, url: str, headers: dict[str, str]) -> None:
    reply = await call_api(http, "POST", f"{url}/api/v1/logout", headers=headers | JSON)
    assert reply.status == 204, reply.body


async def open_three_ways(url: str, token: str) -> list[RawWebSocket]:
    """The same token on a bearer handshake, a cookie handshake and an ``auth`` frame."""
    bearer = await RawWebSocket.connect(url, token=token)
    cookie = await RawWebSocket.connect(url, headers={"Cookie": f"hubbub_session={token}"})
    framed = await RawWebSocket.connect(url)
    await framed.send_json({"type": "auth", "token": token})
    sockets = [bearer, cookie, framed]
    for ws in sockets:
        assert (await ws.read_json())["type"] == "ready"
        await ws.send_json({"type": "sync", "id": "s", "since": {}})
        assert (await ws.read_json())["type"] == "synced"
    return sockets


@pytest.mark.parametrize("revoked_by", ["bearer", "cookie"])
async def test_logout_closes_every_websocket_of_the_token_with_4401(
    server: RunningServer, http: aiohttp.ClientSession, revoked_by: str
) -> None:
    token = await register(http, server.url, "alice")
    bob_token = await register(http, server.url, "bob")
    async with http.post(
        f"{server.url}/api/v1/login", json={"username": "alice", "password": PASSWORD}
    ) as response:
        second = (await response.json())["token"]  # alice on another device
    async with (
        Client.connect(http, server.url, bob_token, sync={}) as bob,
        Client.connect(http, server.url, second, sync={}) as other_device,
    ):
        sockets = await open_three_ways(server.url, token)
        await bob.ok("dm", user="alice")
        await other_device.wait_for(lambda c: c.room_events("dm:alice:bob"))
        for ws in sockets:  # each follows alice's rooms: it hears of the DM
            assert (await ws.read_json())["type"] == "member_joined"

        credential = (
            {"Authorization": f"Bearer {token}"}
            if revoked_by == "bearer"
            else {"Cookie": f"hubbub_session={token}"}
        )
        await logout(http, server.url, credential)
        assert server.node.hub.connections == 2  # bob and the other device: left at once
        for ws in sockets:  # closed before logout answered: nothing can come after it
            frames, code = await read_until_close(ws)
            assert code == CloseCode.UNAUTHENTICATED
            assert frames == []
            # What they send now is not acted on.
            await ws.send_json(
                {"type": "send", "room": "dm:alice:bob", "client_msg_id": "x", "body": "!"}
            )
            await ws.send_close()
            with pytest.raises(EOFError):
                await ws.read_frame()
            await ws.close()

        await bob.send("dm:alice:bob", "secret after logout")
        await other_device.wait_for(lambda c: c.room_events("dm:alice:bob", "message"))
        page = await other_device.ok("history", room="dm:alice:bob")
        assert [e["body"] for e in page["events"] if e["type"] == "message"] == [
            "secret after logout"
        ]
        assert (await other_device.ok("ping"))["type"] == "pong"  # the other token lives


async def test_a_connection_authenticating_while_its_token_is_revoked_is_closed(
    server: RunningServer, http: aiohttp.ClientSession
) -> None:
    """An ``auth`` and a logout at the same moment: whichever wins, the socket does not stay
    open with the revoked token."""
    for _ in range(10):
        token = await register(http, server.url, f"u{uuid.uuid4().hex[:8]}")
        ws = await RawWebSocket.connect(server.url)
        await ws.send_json({"type": "auth", "token": token})
        await logout(http, server.url, {"Authorization": f"Bearer {token}"})
        frames, code = await read_until_close(ws)
        assert code == CloseCode.UNAUTHENTICATED
        assert [f.json()["type"] for f in frames] in (
            [],
            ["ready"],
            ["error"],
        )
        await ws.close()


# --- guessing passwords ---------------------------------------------------------------------------


@asynccontextmanager
async def from_address(address: str) -> AsyncIterator[aiohttp.ClientSession]:
    """An HTTP client whose connections come from ``address`` (any of 127.0.0.0/8)."""
    connector = aiohttp.TCPConnector(local_addr=(address, 0))
    async with aiohttp.ClientSession(connector=connector) as http:
        yield http


async def login(http: aiohttp.ClientSession, url: str, username: str, password: str) -> ApiReply:
    return await call_api(
        http, "POST", f"{url}/api/v1/login", json={"username": username, "password": password}
    )


def without_retry_after(reply: ApiReply) -> tuple[int, dict[str, Any]]:
    return reply.status, {k: v for k, v in reply.body.items() if k != "retry_after"}


async def fail_from(url: str, name: str, address: str, attempts: int) -> list[ApiReply]:
    async with from_address(address) as attacker:
        return [await login(attacker, url, name, "not the password") for _ in range(attempts)]


async def guess_until_held_back(url: str, name: str, first: int) -> list[ApiReply]:
    """Two addresses fail 5 times and are refused the 6th (10 failures for the account);
    six fresh addresses fail once each (16: the account now holds back for 32 s)."""
    replies = []
    for n in (first, first + 1):
        replies += await fail_from(url, name, f"127.0.0.{n}", 6)
    for n in range(first + 2, first + 8):
        replies += await fail_from(url, name, f"127.0.0.{n}", 1)
    return replies


async def test_guessing_from_many_addresses_does_not_lock_the_owner_out(
    server: RunningServer, http: aiohttp.ClientSession
) -> None:
    await register(http, server.url, "alice")
    replies = await guess_until_held_back(server.url, "alice", 2)
    statuses = [r.status for r in replies]
    assert statuses == ([401] * 5 + [429]) * 2 + [401] * 6, statuses
    # An address that just failed is held back by the account, though it has tokens left,
    # and even with the right password; so is one whose own bucket is empty.
    for address in ("127.0.0.9", "127.0.0.2"):
        async with from_address(address) as attacker:
            held = await login(attacker, server.url, "alice", PASSWORD)
        assert held.status == 429 and held.body["code"] == "rate_limited", held.body
        assert held.body["retry_after"] > 1
        assert "Set-Cookie" not in held.headers
    # The owner, from an address without failures, signs in at once, as often as needed.
    for _ in range(3):
        owner = await login(http, server.url, "alice", PASSWORD)
        assert owner.status == 200, owner.body


async def test_unknown_user_and_wrong_password_are_throttled_alike(
    server: RunningServer, http: aiohttp.ClientSession
) -> None:
    """The same answers, attempt by attempt, through every throttle."""
    await register(http, server.url, "alice")
    answers = {}
    for name, first in (("alice", 10), ("nobody", 20)):
        replies = await guess_until_held_back(server.url, name, first)
        replies += await fail_from(server.url, name, f"127.0.0.{first + 7}", 2)
        answers[name] = [without_retry_after(r) for r in replies]
    assert answers["alice"] == answers["nobody"]
    statuses = [status for status, _ in answers["alice"]]
    assert statuses == ([401] * 5 + [429]) * 2 + [401] * 6 + [429] * 2, statuses


async def test_concurrent_guesses_cannot_overrun_the_bucket(server: RunningServer) -> None:
    """Each attempt takes its token before the password is checked."""
    async with from_address("127.0.0.30") as setup:
        await register(setup, server.url, "alice")
    async with from_address("127.0.0.31") as attacker:
        replies = await asyncio.gather(
            *(login(attacker, server.url, "alice", "not the password") for _ in range(12))
        )
    assert sorted(r.status for r in replies) == [401] * 5 + [429] * 7


# --- the sign-in throttle over time (its own clock: minutes pass at once) --------------------


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def fail(throttle: SignInThrottle, account: str, address: str) -> None:
    throttle.begin(account, address)
    throttle.failed(account, address)


def refused_for(throttle: SignInThrottle, account: str, address: str) -> float | None:
    """The ``retry_after`` of a refused attempt (which takes nothing), or None."""
    try:
        throttle.begin(account, address)
    except RateLimited as exc:
        return exc.retry_after
    throttle.succeeded(account, address)
    return None


def test_the_account_delay_doubles_up_to_its_cap_and_spares_clean_addresses() -> None:
    clock = Clock()
    throttle = SignInThrottle(clock)
    for n in range(ACCOUNT_FREE_FAILURES):  # from as many addresses: no hold yet
        fail(throttle, "alice", f"a{n}")
    assert refused_for(throttle, "alice", "a0") is None
    fail(throttle, "alice", "a0")
    assert refused_for(throttle, "alice", "a0") == 1.0
    # Once the delay is over, an address that failed gets one attempt, and one at a time.
    clock.now += 1.0
    throttle.begin("alice", "a0")
    assert refused_for(throttle, "alice", "a0") == 1.0
    throttle.failed("alice", "a0")
    assert refused_for(throttle, "alice", "a0") == 2.0
    delays = []
    for n in range(15):
        fail(throttle, "alice", f"b{n}")  # fresh addresses are never held back
        delays.append(refused_for(throttle, "alice", f"b{n}"))
    assert delays[:5] == [4.0, 8.0, 16.0, 32.0, 64.0]
    assert delays[-1] == BACKOFF_CAP == max(d or 0.0 for d in delays)
    assert refused_for(throttle, "alice", "owner") is None
    assert refused_for(throttle, "bob", "b0") is None  # other accounts are not held
    # 15 minutes after its last attempt an address counts as clean again.
    clock.now += RECENT
    assert refused_for(throttle, "alice", "b0") is None


def test_failures_are_forgotten_and_a_right_password_gives_back_its_tokens() -> None:
    clock = Clock()
    throttle = SignInThrottle(clock)
    for _ in range(PAIR_BURST - 1):
        fail(throttle, "alice", "home")
    for _ in range(3):  # right passwords take nothing
        assert refused_for(throttle, "alice", "home") is None
    fail(throttle, "alice", "home")
    retry_after = refused_for(throttle, "alice", "home")
    assert retry_after is not None and retry_after == pytest.approx(1 / PAIR_RATE)
    clock.now += 1 / PAIR_RATE
    assert refused_for(throttle, "alice", "home") is None

    for n in range(ACCOUNT_FREE_FAILURES + 5):
        fail(throttle, "carol", f"x{n}")
    assert refused_for(throttle, "carol", "x3") is not None
    clock.now += FORGET + 1  # an hour without failures: the account starts afresh
    fail(throttle, "carol", "x3")
    assert refused_for(throttle, "carol", "x3") is None
