"""Outgoing webhooks over the real server, delivering to a real receiver: an aiohttp server
on 127.0.0.1 in the test (the server's config allows private addresses for it).

Deliveries are signed (the test recomputes the HMAC) and carry the message; each trigger
fires on what it should, a bot's message on nothing; a failing receiver is tried again with
backoff (its deliveries show the attempts), a 400 is not; a receiver that hangs delays
neither the room's members nor the room's other hooks, and a full queue is recorded; a
receiver's reply ``text`` is posted back as the hook's bot. Hooks pointing at non-public
addresses, or at no http(s) URL, are refused unless the config allows private ones. Only
those who run the room make, list and revoke hooks; an outsider gets a missing room's answer.

``root`` is the first account (a server admin, in no room); ``alice`` owns the private room
``ops``, ``bob`` is a plain member of it, ``carol`` is in no room."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import socket
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from support import (
    Client,
    RunningServer,
    call_api,
    config_for,
    free_port,
    invite_and_accept,
    register,
    running_server,
)

from hubbub.core import outgoing

STORAGE_ENGINES = ("sqlite", "postgresql")
RETRY_DELAY = 0.05


@dataclass
class Hit:
    path: str
    headers: dict[str, str]
    body: bytes
    at: float  # monotonic

    @property
    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Receiver:
    """What the test's receiver was sent, by path; how it answers is set per path."""

    url: str = ""
    hits: list[Hit] = field(default_factory=list)
    failures: dict[str, int] = field(default_factory=dict)  # 500s left to answer
    gate: asyncio.Event = field(default_factory=asyncio.Event)  # holds /hang
    arrived: asyncio.Event = field(default_factory=asyncio.Event)

    def at(self, path: str) -> list[Hit]:
        return [hit for hit in self.hits if hit.path == path]

    async def handle(self, request: web.Request) -> web.StreamResponse:
        hit = Hit(request.path, dict(request.headers), await request.read(), time.monotonic())
        self.hits.append(hit)
        self.arrived.set()
        if request.path == "/hang":
            await self.gate.wait()
        if self.failures.get(request.path, 0) > 0:
            self.failures[request.path] -= 1
            return web.Response(status=500, text="a body that is never recorded")
        if request.path == "/bad":
            return web.Response(status=400, text="no")
        if request.path == "/down":
            return web.Response(status=503)
        if request.path == "/reply":
            return web.json_response({"text": "pong from outside", "ignored": [1]})
        if request.path == "/junk":
            return web.Response(status=200, body=b"{not json", content_type="application/json")
        return web.Response(status=200, text="ok")


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    found = Receiver()
    app = web.Application()
    app.router.add_route("POST", "/{tail:.*}", found.handle)
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.5)
    await runner.setup()
    sock = socket.create_server(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    await web.SockSite(runner, sock).start()
    found.url = f"http://127.0.0.1:{port}"
    try:
        yield found
    finally:
        found.gate.set()
        await runner.cleanup()


@pytest.fixture
async def server(tmp_path: Path, storage_url: str) -> AsyncIterator[RunningServer]:
    config = config_for(
        tmp_path / "data",
        storage_url=storage_url,
        outgoing_webhooks_allow_private=True,
        outgoing_webhook_retry_delay=RETRY_DELAY,
        outgoing_webhook_timeout=5.0,
    )
    async with running_server(config) as running:
        yield running


@dataclass
class Team:
    server: RunningServer
    http: aiohttp.ClientSession
    root: str
    alice: str
    bob: str
    carol: str

    async def api(self, token: str, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        url = f"{self.server.url}/api/v1{path}"
        reply = await call_api(self.http, method, url, token, json=body)
        return reply.status, reply.body

    async def hook(self, url: str, trigger: str = "all", **fields: Any) -> dict[str, Any]:
        body = {"name": "Relay", "url": url, "trigger": trigger, **fields}
        status, made = await self.api(self.alice, "POST", "/rooms/ops/outgoing-webhooks", body)
        assert status == 201, made
        return dict(made)

    async def say(self, body: str, reply_to: int | None = None) -> int:
        message: dict[str, Any] = {"client_msg_id": uuid.uuid4().hex, "body": body}
        if reply_to is not None:
            message["reply_to"] = reply_to
        status, sent = await self.api(self.alice, "POST", "/rooms/ops/messages", message)
        assert status == 201, sent
        return int(sent["seq"])

    async def deliveries(self, hook_id: str) -> list[dict[str, Any]]:
        path = f"/rooms/ops/outgoing-webhooks/{hook_id}/deliveries"
        status, listed = await self.api(self.alice, "GET", path)
        assert status == 200, listed
        return list(listed["deliveries"])


async def setup_team(server: RunningServer, http: aiohttp.ClientSession) -> Team:
    root = await register(http, server.url, "root")
    alice, bob, carol = [await register(http, server.url, n) for n in ("alice", "bob", "carol")]
    made = await call_api(
        http, "POST", f"{server.url}/api/v1/rooms", alice, json={"name": "ops", "private": True}
    )
    assert made.status == 201, made.body
    await invite_and_accept(http, server.url, "ops", alice, "bob", bob)
    return Team(server, http, root, alice, bob, carol)


@pytest.fixture
async def team(server: RunningServer, http: aiohttp.ClientSession) -> Team:
    return await setup_team(server, http)


async def eventually(check: Callable[[], Awaitable[bool]], timeout: float = 10.0) -> None:
    """Until ``check()`` holds, asked again as the receiver hears something (or soon)."""
    async with asyncio.timeout(timeout):
        while not await check():
            await asyncio.sleep(0.01)


async def hits(receiver: Receiver, path: str, count: int) -> list[Hit]:
    async def enough() -> bool:
        return len(receiver.at(path)) >= count

    await eventually(enough)
    return receiver.at(path)


def verified(hit: Hit, secret: str) -> dict[str, Any]:
    """The delivery's payload, once its signature is checked as a receiver would."""
    timestamp = hit.headers["X-Hubbub-Timestamp"]
    assert abs(int(timestamp) - time.time()) < 60
    signed = timestamp.encode() + b"." + hit.body
    expected = "v1=" + hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(hit.headers["X-Hubbub-Signature"], expected)
    assert hit.headers["Content-Type"] == "application/json"
    return dict(hit.json)


async def test_deliveries_are_signed_and_each_trigger_fires_as_it_says(
    team: Team, receiver: Receiver
) -> None:
    assert (await team.api(team.alice, "PATCH", "/me", {"display_name": "Alice A."}))[0] == 200
    every = await team.hook(receiver.url + "/all")
    mention = await team.hook(receiver.url + "/mention", "mention")
    words = await team.hook(receiver.url + "/words", "words", words=["deploy", "Ship"])
    assert set(every) == {"hook", "secret"} and len(every["secret"]) >= 40
    assert every["hook"]["username"] == "hook-" + every["hook"]["id"]
    assert words["hook"]["words"] == ["deploy", "ship"]
    bot = mention["hook"]["username"]
    status, listed = await team.api(team.alice, "GET", "/rooms/ops/outgoing-webhooks")
    assert status == 200 and "secret" not in json.dumps(listed)
    assert [h["hook"]["id"] for h in listed["webhooks"]] == [
        every["hook"]["id"],
        mention["hook"]["id"],
        words["hook"]["id"],
    ]
    status, members = await team.api(team.alice, "GET", "/rooms/ops/members")
    assert bot in members["users"]

    hello = await team.say("hello everyone")
    called = await team.say(f"hey @{bot}, look")
    deploy = await team.say("Deploy now please")
    reply = await team.say("ship it", reply_to=hello)
    # A bot's message fires nothing, whatever it says: here an incoming webhook's.
    status, incoming = await team.api(team.alice, "POST", "/rooms/ops/webhooks", {"name": "CI"})
    assert status == 201
    async with team.http.post(incoming["url"], json={"text": f"deploy @{bot}"}) as posted:
        assert posted.status == 200
    last = await team.say(f"deploy the last one, @{bot}")

    sent_all = await hits(receiver, "/all", 5)
    sent_mention = await hits(receiver, "/mention", 2)
    sent_words = await hits(receiver, "/words", 3)
    assert [verified(h, every["secret"])["message"]["seq"] for h in sent_all] == [
        hello,
        called,
        deploy,
        reply,
        last,
    ]
    assert [verified(h, mention["secret"])["message"]["seq"] for h in sent_mention] == [
        called,
        last,
    ]
    payloads = [verified(h, words["secret"]) for h in sent_words]
    assert [(p["message"]["seq"], p["trigger_word"]) for p in payloads] == [
        (deploy, "Deploy"),
        (reply, "ship"),
        (last, "deploy"),
    ]
    first = verified(sent_all[0], every["secret"])
    assert first["id"] == every["hook"]["id"] and first["room"] == "ops"
    assert "trigger_word" not in first
    message = first["message"]
    assert set(message) == {"seq", "id", "user", "display_name", "body", "ts"}
    assert (message["user"], message["display_name"], message["body"]) == (
        "alice",
        "Alice A.",
        "hello everyone",
    )
    threaded = verified(sent_all[3], every["secret"])["message"]
    assert (threaded["reply_to"], threaded["thread"]) == (hello, hello)
    # No other delivery is on its way: the last message came after everything else.
    assert len(receiver.hits) == 10

    async def recorded() -> bool:
        return len(await team.deliveries(every["hook"]["id"])) == 5

    await eventually(recorded)
    kept = await team.deliveries(every["hook"]["id"])
    assert [d["seq"] for d in kept] == [last, reply, deploy, called, hello]
    assert all(d["status"] == 200 and d["attempts"] == 1 and "error" not in d for d in kept)


async def test_failures_are_tried_again_with_backoff_and_a_400_is_not(
    team: Team, receiver: Receiver
) -> None:
    receiver.failures["/flaky"] = 2
    flaky = await team.hook(receiver.url + "/flaky")
    bad = await team.hook(receiver.url + "/bad")
    down = await team.hook(receiver.url + "/down")
    closed = await team.hook(f"http://127.0.0.1:{free_port()}/nobody")
    seq = await team.say("is anyone there?")

    async def settled() -> bool:
        hooks = (flaky, bad, down, closed)
        return all([await team.deliveries(h["hook"]["id"]) for h in hooks])

    await eventually(settled)
    [flaky_kept] = await team.deliveries(flaky["hook"]["id"])
    assert (flaky_kept["seq"], flaky_kept["attempts"], flaky_kept["status"]) == (seq, 3, 200)
    assert "error" not in flaky_kept
    tries = receiver.at("/flaky")
    assert len(tries) == 3
    # Backoff: the base delay, then twice it (timed by the receiver, so never shorter).
    assert tries[1].at - tries[0].at >= RETRY_DELAY * 0.9
    assert tries[2].at - tries[1].at >= 2 * RETRY_DELAY * 0.9
    assert flaky_kept["duration_ms"] >= 3 * RETRY_DELAY * 1000 * 0.9
    [bad_kept] = await team.deliveries(bad["hook"]["id"])
    assert (bad_kept["attempts"], bad_kept["status"], bad_kept["error"]) == (1, 400, "HTTP 400")
    assert len(receiver.at("/bad")) == 1
    attempts = team.server.config.outgoing_webhook_attempts
    [down_kept] = await team.deliveries(down["hook"]["id"])
    assert (down_kept["attempts"], down_kept["status"]) == (attempts, 503)
    assert len(receiver.at("/down")) == attempts
    [closed_kept] = await team.deliveries(closed["hook"]["id"])
    assert closed_kept["attempts"] == attempts and "status" not in closed_kept
    assert closed_kept["error"].startswith("cannot connect")
    # Nothing of the receivers' bodies is kept.
    assert "never recorded" not in json.dumps(await team.deliveries(flaky["hook"]["id"]))


async def test_a_hanging_receiver_delays_no_member_nor_other_hook(
    team: Team, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(outgoing, "QUEUE_BOUND", 2)  # hooks made from here on queue 2
    hang = await team.hook(receiver.url + "/hang")
    fast = await team.hook(receiver.url + "/fast")
    async with (
        Client.connect(team.http, team.server.url, team.alice) as alice,
        Client.connect(team.http, team.server.url, team.bob, sync={"ops": 0}) as bob,
    ):
        first = (await alice.send("ops", "one"))["seq"]
        await hits(receiver, "/hang", 1)  # held there from now on
        second = (await alice.send("ops", "two"))["seq"]
        await bob.wait_for(lambda c: any(e.get("seq") == second for e in c.room_events("ops")))
        sent = await hits(receiver, "/fast", 2)
        assert [h.json["message"]["seq"] for h in sent] == [first, second]
        assert len(receiver.at("/hang")) == 1
        # Two wait behind the one held; the next finds the queue full and is dropped.
        third = (await alice.send("ops", "three"))["seq"]
        dropped = (await alice.send("ops", "four"))["seq"]
        await hits(receiver, "/fast", 4)

        async def recorded() -> bool:
            return bool(await team.deliveries(hang["hook"]["id"]))

        await eventually(recorded)
        [full] = await team.deliveries(hang["hook"]["id"])
        assert (full["seq"], full["attempts"], full["error"]) == (dropped, 0, "queue full")
        receiver.gate.set()
        held = await hits(receiver, "/hang", 3)
        assert [h.json["message"]["seq"] for h in held] == [first, second, third]
    assert fast["hook"]["id"] != hang["hook"]["id"]


async def test_a_reply_is_posted_back_as_the_hooks_bot(team: Team, receiver: Receiver) -> None:
    replying = await team.hook(receiver.url + "/reply", "words", words=["ping"])
    junk = await team.hook(receiver.url + "/junk", "words", words=["ping"])
    bot = replying["hook"]["username"]
    async with Client.connect(team.http, team.server.url, team.bob, sync={"ops": 0}) as bob:
        seq = await team.say("ping the outside")

        def answered(c: Client) -> bool:
            return any(e.get("user") == bot for e in c.room_events("ops", "message"))

        await bob.wait_for(answered)
        [answer] = [e for e in bob.room_events("ops", "message") if e["user"] == bot]
        assert answer["body"] == "pong from outside" and answer["seq"] > seq

    async def recorded() -> bool:
        hooks = (junk, replying)
        return all([await team.deliveries(h["hook"]["id"]) for h in hooks])

    await eventually(recorded)
    [kept] = await team.deliveries(junk["hook"]["id"])
    assert (kept["status"], kept["error"]) == (200, "reply ignored: the reply is not JSON")
    [ok] = await team.deliveries(replying["hook"]["id"])
    assert (ok["status"], ok["attempts"], "error" in ok) == (200, 1, False)
    assert len(receiver.at("/reply")) == 1  # the bot's reply fired no hook


REFUSED = [
    "http://127.0.0.1:{port}/x",
    "http://10.0.0.1/",
    "http://[::1]/",
    "http://169.254.169.254/latest/meta-data/",
    "http://localhost:{port}/",
    "http://[::ffff:127.0.0.1]/",
    "http://0.0.0.0/",
]
NOT_HTTP = ["ftp://example.org/", "file:///etc/passwd", "gopher://127.0.0.1/", "127.0.0.1:80"]


async def test_non_public_and_non_http_targets_are_refused_unless_allowed(
    tmp_path: Path, http: aiohttp.ClientSession
) -> None:
    port = free_port()
    async with running_server(config_for(tmp_path / "strict")) as strict:
        team = await setup_team(strict, http)
        for url in [u.format(port=port) for u in REFUSED] + NOT_HTTP:
            body = {"name": "Leak", "url": url}
            status, refused = await team.api(
                team.alice, "POST", "/rooms/ops/outgoing-webhooks", body
            )
            assert (status, refused["code"]) == (400, "bad_request"), (url, refused)
            if url in NOT_HTTP:
                assert "http" in refused["message"]
            else:
                assert "may not point to" in refused["message"], refused
        status, listed = await team.api(team.alice, "GET", "/rooms/ops/outgoing-webhooks")
        assert (status, listed["webhooks"]) == (200, [])
        status, members = await team.api(team.alice, "GET", "/rooms/ops/members")
        assert sorted(members["users"]) == ["alice", "bob"]  # no bot was made
    # Allowed: loopback targets are taken (and nothing is sent: no message follows).
    allowed = config_for(tmp_path / "open", outgoing_webhooks_allow_private=True)
    async with running_server(allowed) as lenient:
        team = await setup_team(lenient, http)
        for url in (f"http://127.0.0.1:{port}/x", f"http://localhost:{port}/", "http://[::1]:1/"):
            await team.hook(url)
        for url in NOT_HTTP:
            body = {"name": "Leak", "url": url}
            status, _ = await team.api(team.alice, "POST", "/rooms/ops/outgoing-webhooks", body)
            assert status == 400


async def test_a_hook_made_while_private_targets_were_allowed_sends_nothing_once_they_are_not(
    tmp_path: Path, http: aiohttp.ClientSession, receiver: Receiver
) -> None:
    data = tmp_path / "data"
    async with running_server(config_for(data, outgoing_webhooks_allow_private=True)) as lenient:
        team = await setup_team(lenient, http)
        made = await team.hook(receiver.url + "/kept")
    async with running_server(config_for(data)) as strict:  # the same database, stricter
        team.server = strict
        await team.say("for the receiver, once allowed")

        async def recorded() -> bool:
            return bool(await team.deliveries(made["hook"]["id"]))

        await eventually(recorded)
        [delivery] = await team.deliveries(made["hook"]["id"])
        assert (delivery["attempts"], delivery["error"]) == (0, "the address is not public")
        assert receiver.at("/kept") == []


async def test_only_those_who_run_the_room_manage_its_hooks(team: Team, receiver: Receiver) -> None:
    made = await team.hook(receiver.url + "/x")
    hook_id = made["hook"]["id"]
    base = "/rooms/{room}/outgoing-webhooks"
    calls = [
        ("POST", base, {"name": "Spy", "url": receiver.url + "/spy"}),
        ("GET", base, None),
        ("GET", base + f"/{hook_id}/deliveries", None),
        ("DELETE", base + f"/{hook_id}", None),
    ]
    for method, path, body in calls:
        # A plain member: refused, and told so.
        status, refused = await team.api(team.bob, method, path.format(room="ops"), body)
        assert (status, refused["code"]) == (403, "forbidden"), (method, path, refused)
        # An outsider: as a missing room.
        status, hidden = await team.api(team.carol, method, path.format(room="ops"), body)
        status_missing, missing = await team.api(
            team.carol, method, path.format(room="ghost"), body
        )
        assert (status, status_missing) == (404, 404), (method, path, hidden)
        assert hidden == {
            "code": "not_found",
            "message": missing["message"].replace("ghost", "ops"),
        }
    status, listed = await team.api(team.alice, "GET", base.format(room="ops"))
    assert [h["hook"]["id"] for h in listed["webhooks"]] == [hook_id]
    # A server admin in no room may; the hook's creator revokes it, its bot leaves.
    status, seen = await team.api(team.root, "GET", base.format(room="ops"))
    assert status == 200 and len(seen["webhooks"]) == 1
    status, _ = await team.api(team.alice, "DELETE", base.format(room="ops") + f"/{hook_id}")
    assert status == 204
    status, gone = await team.api(team.alice, "DELETE", base.format(room="ops") + f"/{hook_id}")
    assert (status, gone["code"]) == (404, "not_found")
    status, members = await team.api(team.alice, "GET", "/rooms/ops/members")
    assert made["hook"]["username"] not in members["users"]


async def test_hooks_are_checked_capped_and_kept_out_of_dms(team: Team, receiver: Receiver) -> None:
    path = "/rooms/ops/outgoing-webhooks"
    url = receiver.url + "/x"
    bad = [
        {"name": "", "url": url},
        {"name": "x" * 65, "url": url},
        {"name": "W", "url": url, "trigger": "words"},  # no words
        {"name": "W", "url": url, "trigger": "words", "words": ["two words"]},
        {"name": "W", "url": url, "trigger": "words", "words": ["w"] * 11},
        {"name": "A", "url": url, "trigger": "all", "words": ["w"]},
        {"name": "A", "url": url, "trigger": "sometimes"},
        {"name": "A", "url": url + "x" * outgoing.MAX_URL_CHARS},
        {"name": "A", "url": url, "secret": "mine"},
    ]
    for body in bad:
        status, refused = await team.api(team.alice, "POST", path, body)
        assert (status, refused["code"]) == (400, "bad_request"), (body, refused)
    for n in range(outgoing.MAX_PER_ROOM):
        await team.hook(f"{url}/{n}")
    status, refused = await team.api(team.alice, "POST", path, {"name": "One more", "url": url})
    assert (status, refused["code"]) == (413, "too_large")
    status, dm = await team.api(team.alice, "POST", "/dm", {"user": "bob"})
    assert status == 200, dm
    status, refused = await team.api(
        team.alice, "POST", f"/rooms/{dm['name']}/outgoing-webhooks", {"name": "D", "url": url}
    )
    assert (status, refused["code"]) == (400, "bad_request")
