"""Test helpers: a real server on 127.0.0.1 (in this process or as a subprocess) and clients.

Every server listens on a free port of 127.0.0.1, keeps its data in a temporary directory and
is stopped (subprocesses by their pid) when the test ends.

Two kinds of client: a test that acts as a user or an application would (sets up rooms,
sends, waits for messages to arrive, resumes after a restart) uses ``hubbub.client``, with
``EventLog`` to gather what it receives; a test that checks the server's frames (exact
replies and error codes, frame shapes, close codes, the order of raw frames) uses ``Client``
below, which shows the protocol as dicts, frame by frame.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web

import hubbub.client
from hubbub.broker.base import Broker, GapListener, Notice, Payload, Subscriber
from hubbub.broker.memory import MemoryBroker
from hubbub.client import Gap, Item
from hubbub.config import Config
from hubbub.core.events import Event, Message
from hubbub.service.actions import Clock, wall_clock_ms
from hubbub.service.node import Node
from hubbub.transport.app import create_app
from hubbub.transport.context import STATE, ServerState
from hubbub.transport.front import listen

PASSWORD = "correct horse battery"

# Fast argon2id parameters for tests (the same algorithm, less memory and time).
TEST_SETTINGS: dict[str, Any] = {
    "argon2_time_cost": 1,
    "argon2_memory_kib": 8192,
    "send_rate": 100_000.0,
    "send_burst": 100_000.0,
    "signup_burst": 10_000.0,
    # A new account joins no room unless a test asks (tests of the first minute do, with the
    # server's default, LANDING_ROOMS): the others count their rooms from nothing.
    "default_rooms": (),
}
LANDING_ROOMS = ("lobby",)  # Config's default_rooms


def env_text(value: Any) -> str:
    """A setting as a ``HUBBUB_*`` variable holds it (a list is comma-separated)."""
    return ",".join(value) if isinstance(value, tuple) else str(value)


def config_for(data_dir: Path, **overrides: Any) -> Config:
    return Config(data_dir=data_dir, port=0, **(TEST_SETTINGS | overrides))


@dataclass
class RunningServer:
    url: str
    node: Node
    config: Config
    state: ServerState  # the open WebSockets, the caps and counters (in-process servers)

    @property
    def ws_url(self) -> str:
        return self.url.replace("http", "ws", 1) + "/"


@asynccontextmanager
async def running_server(
    config: Config, clock: Clock = wall_clock_ms, broker: Broker | None = None
) -> AsyncIterator[RunningServer]:
    """The real app on a real socket of 127.0.0.1, with a real SQLite file; ``clock`` (in
    ms) is the time its rate limits, tokens and events see; ``broker`` (by default the
    in-process one) is the node's."""
    config.data_dir.mkdir(parents=True, exist_ok=True)
    async with Node(config, broker=broker, clock=clock) as node:
        app = create_app(node)
        runner = web.AppRunner(app, access_log=None, shutdown_timeout=1)
        await runner.setup()
        assert runner.server is not None
        sock = socket.create_server(("127.0.0.1", 0))
        server = await listen(app[STATE], runner.server, sock)
        port = sock.getsockname()[1]
        try:
            yield RunningServer(f"http://127.0.0.1:{port}", node, config, app[STATE])
        finally:
            server.close()
            await runner.cleanup()


async def until(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    """Until ``condition()`` holds; an in-process server runs in this loop meanwhile."""
    async with asyncio.timeout(timeout):
        while not condition():
            await asyncio.sleep(0.005)


class Recorder:
    """An ``on_events`` sink that keeps every call (one per commit) separately."""

    def __init__(self) -> None:
        self.calls: list[list[Event]] = []

    def __call__(self, events: list[Event]) -> None:
        self.calls.append(list(events))

    @property
    def events(self) -> list[Event]:
        return [event for call in self.calls for event in call]


class FaultyBroker(Broker):
    """The real in-process broker with faults injected into the events of ``room``: each
    seq in ``lose`` is never published, each in ``delay`` is published after the next
    commit's events (out of order), each in ``repeat`` is published twice; with
    ``lose_notices``, no notice is published. What it did is kept, to check it happened."""

    def __init__(
        self,
        room: str = "",
        lose: Iterable[int] = (),
        delay: Iterable[int] = (),
        repeat: Iterable[int] = (),
        lose_notices: bool = False,
    ) -> None:
        self.real = MemoryBroker()
        self.room = room
        self.lose, self.delay, self.repeat = set(lose), set(delay), set(repeat)
        self.lose_notices = lose_notices
        self.lost: list[int] = []
        self.delayed: list[int] = []
        self.repeated: list[int] = []
        self._late: list[Event] = []

    async def open(self) -> None:
        await self.real.open()

    async def close(self) -> None:
        await self.real.close()

    def subscribe(self, subscriber: Subscriber, on_gap: GapListener | None = None) -> None:
        self.real.subscribe(subscriber, on_gap)

    def publish(self, payload: Payload) -> None:
        if isinstance(payload, Notice):
            if not self.lose_notices:
                self.real.publish(payload)
            return
        out, late = [], self._late
        self._late = []
        for event in payload:
            if event.room != self.room:
                out.append(event)
            elif event.seq in self.lose:
                self.lost.append(event.seq)
            elif event.seq in self.delay:
                self.delayed.append(event.seq)
                self._late.append(event)
            else:
                out.append(event)
                if event.seq in self.repeat:
                    self.repeated.append(event.seq)
                    out.append(event)
        self.real.publish(out + late)  # what was held back comes after its successors


class ServerClock:
    """The server's time in ms (``running_server(config, clock=…)``), moved on by a test
    instead of waiting."""

    def __init__(self, now: int | None = None) -> None:
        self.now = wall_clock_ms() if now is None else now

    def __call__(self) -> int:
        return self.now


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class ServerProcess:
    """``hubbub serve`` as a subprocess, started and stopped by its pid."""

    def __init__(self, data_dir: Path, port: int | None = None, **settings: Any) -> None:
        self.data_dir = data_dir
        self.port = port or free_port()
        self.env = dict(os.environ)
        for key, value in (TEST_SETTINGS | settings).items():
            self.env[f"HUBBUB_{key.upper()}"] = env_text(value)
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 20.0) -> None:
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "hubbub",
                "serve",
                "--port",
                str(self.port),
                "--data-dir",
                str(self.data_dir),
                "--log-level",
                "warning",
            ],
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return
            except OSError:
                if self.proc.poll() is not None:
                    output = self.proc.stdout.read().decode() if self.proc.stdout else ""
                    self.stop()  # its pipe closed here, not left to the garbage collector
                    raise RuntimeError(f"server exited: {output}") from None
                time.sleep(0.05)
        raise RuntimeError("server did not start in time")

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.wait()

    def terminate(self, timeout: float = 15.0) -> int:
        assert self.proc is not None
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGTERM)
        try:
            return self.proc.wait(timeout)
        finally:
            self.kill()

    def stop(self) -> None:
        self.kill()
        if self.proc is not None and self.proc.stdout is not None:
            self.proc.stdout.close()


async def register(http: aiohttp.ClientSession, url: str, username: str) -> str:
    """A new account's token."""
    async with http.post(
        f"{url}/api/v1/register", json={"username": username, "password": PASSWORD}
    ) as response:
        assert response.status == 201, await response.text()
        return str((await response.json())["token"])


class EventLog:
    """Every item a ``hubbub.client.Client``'s ``events()`` yields, in order, gathered by a
    task of its own (which ends when the client is closed); and the client's changes of
    state from then on (none while its connection holds)."""

    def __init__(self, client: hubbub.client.Client) -> None:
        self.items: list[Item] = []
        self.error: BaseException | None = None
        self.states: list[hubbub.client.ConnectionState] = []
        client.add_state_listener(self.states.append)
        self._task = asyncio.get_running_loop().create_task(self._gather(client))

    async def _gather(self, client: hubbub.client.Client) -> None:
        try:
            async for item in client.events():
                self.items.append(item)
        except Exception as exc:
            self.error = exc

    def events(self, room: str) -> list[Event]:
        """The room events of ``room``, in the order they were delivered."""
        return [i for i in self.items if isinstance(i, Event) and i.room == room]

    def seqs(self, room: str) -> list[int]:
        return [event.seq for event in self.events(room)]

    def messages(self, room: str) -> list[Message]:
        return [i for i in self.items if isinstance(i, Message) and i.room == room]

    def bodies(self, room: str) -> list[str]:
        return [message.body for message in self.messages(room)]

    @property
    def gaps(self) -> list[Gap]:
        return [i for i in self.items if isinstance(i, Gap)]

    async def stop(self) -> None:
        self._task.cancel()
        await asyncio.gather(self._task, return_exceptions=True)


class Client:
    """The wire-level hubbub.v1 client, for tests that check the server's frames: requests
    with ids and their replies (``error`` included) as dicts, a log of events as they came,
    the close code. A test that acts as a user or an application uses ``hubbub.client``
    (with ``EventLog``) instead."""

    _ids = itertools.count(1)

    def __init__(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        self.ws = ws
        self.frames: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.replies: dict[Any, asyncio.Future[dict[str, Any]]] = {}
        self.events: list[dict[str, Any]] = []  # room events and notices, in arrival order
        self.event_arrived = asyncio.Event()
        self.close_code: int | None = None
        self._reader = asyncio.create_task(self._read())

    @classmethod
    @asynccontextmanager
    async def connect(
        cls, http: aiohttp.ClientSession, url: str, token: str, sync: dict[str, int] | None = None
    ) -> AsyncIterator[Client]:
        ws = await http.ws_connect(
            url + "/", protocols=("hubbub.v1",), headers={"Authorization": f"Bearer {token}"}
        )
        client = cls(ws)
        try:
            ready = await client.next_frame("ready")
            assert ready["type"] == "ready"
            if sync is not None:
                await client.request("sync", since=sync)
            yield client
        finally:
            await client.close()

    async def _read(self) -> None:
        async for message in self.ws:
            if message.type != aiohttp.WSMsgType.TEXT:
                continue
            frame = json.loads(message.data)
            future = self.replies.pop(frame.get("re"), None) if "re" in frame else None
            if future is not None and not future.done():
                future.set_result(frame)
            elif "seq" in frame or frame["type"] in ("typing", "read"):
                self.events.append(frame)
                self.event_arrived.set()
            else:
                await self.frames.put(frame)
        self.close_code = self.ws.close_code
        self.event_arrived.set()

    async def next_frame(self, kind: str | None = None, timeout: float = 5.0) -> dict[str, Any]:
        frame = await asyncio.wait_for(self.frames.get(), timeout)
        if kind is not None:
            assert frame["type"] == kind, frame
        return frame

    async def request(self, type_: str, timeout: float = 10.0, **fields: Any) -> dict[str, Any]:
        """Send a request and return its reply (which may be an ``error``)."""
        rid = next(self._ids)
        future = asyncio.get_running_loop().create_future()
        self.replies[rid] = future
        await self.ws.send_str(json.dumps({"type": type_, "id": rid, **fields}))
        return await asyncio.wait_for(future, timeout)

    async def ok(self, type_: str, **fields: Any) -> dict[str, Any]:
        reply = await self.request(type_, **fields)
        assert reply["type"] != "error", reply
        return reply

    async def send(self, room: str, body: str, client_msg_id: str | None = None) -> dict[str, Any]:
        return await self.ok(
            "send", room=room, body=body, client_msg_id=client_msg_id or uuid.uuid4().hex
        )

    def room_events(self, room: str, type_: str | None = None) -> list[dict[str, Any]]:
        return [
            e
            for e in self.events
            if e.get("room") == room and "seq" in e and (type_ is None or e["type"] == type_)
        ]

    async def wait_for(self, predicate: Any, timeout: float = 10.0) -> None:
        """Until ``predicate(self)`` holds (checked as events arrive)."""
        deadline = asyncio.get_running_loop().time() + timeout
        while not predicate(self):
            remaining = deadline - asyncio.get_running_loop().time()
            if remaining <= 0:
                raise TimeoutError("condition not met; events: " + repr(self.events[-5:]))
            self.event_arrived.clear()
            if predicate(self):
                break
            with suppress(TimeoutError):
                await asyncio.wait_for(self.event_arrived.wait(), remaining)

    async def close(self) -> None:
        await self.ws.close()
        try:
            await asyncio.wait_for(self._reader, 5)
        except (TimeoutError, asyncio.CancelledError):
            self._reader.cancel()


def assert_gapless(events: Sequence[dict[str, Any] | Event], start: int = 1) -> None:
    """Seqs run start, start+1, … with no hole and no repeat (frames or ``Event``s)."""
    seqs = [e.seq if isinstance(e, Event) else e["seq"] for e in events]
    assert seqs == list(range(start, start + len(seqs))), seqs


async def read_history(
    http: aiohttp.ClientSession, url: str, token: str, room: str
) -> list[dict[str, Any]]:
    """Every event of a room over the HTTP API, oldest first, paging forward 200 at a time."""
    events: list[dict[str, Any]] = []
    after = 0
    while True:
        async with http.get(
            f"{url}/api/v1/rooms/{room}/messages",
            params={"after": after, "limit": 200},
            headers={"Authorization": f"Bearer {token}"},
        ) as response:
            assert response.status == 200, await response.text()
            page = await response.json()
        assert page["room"] == room, page
        assert len(page["events"]) <= 200
        events.extend(page["events"])
        if not page["has_more"]:
            return events
        assert page["events"], page
        after = page["events"][-1]["seq"]


async def public_room(
    http: aiohttp.ClientSession,
    url: str,
    room: str,
    members: Sequence[str],
    others: Sequence[str] = (),
) -> list[str]:
    """A public ``room`` created by the first of ``members``, which the rest join; ``others``
    are registered but not in it. The tokens of ``members`` then ``others``, in order."""
    tokens = [await register(http, url, name) for name in [*members, *others]]
    created = await call_api(http, "POST", f"{url}/api/v1/rooms", tokens[0], json={"name": room})
    assert created.status == 201, created.body
    for token in tokens[1 : len(members)]:
        joined = await call_api(http, "POST", f"{url}/api/v1/rooms/{room}/join", token)
        assert joined.status == 200, joined.body
    return tokens


async def invite_and_accept(
    http: aiohttp.ClientSession, url: str, room: str, inviter: str, invitee: str, token: str
) -> dict[str, Any]:
    """The owner of ``inviter`` invites ``invitee`` (whose token is ``token``) to ``room``, who
    accepts, over the HTTP API: a member from then on. The room as the invitee sees it."""
    api = f"{url}/api/v1"
    invited = await call_api(
        http, "POST", f"{api}/rooms/{room}/invite", inviter, json={"user": invitee}
    )
    assert invited.status == 204, invited.body
    accepted = await call_api(http, "POST", f"{api}/invitations/{room}/accept", token)
    assert accepted.status == 200, accepted.body
    return dict(accepted.body)


async def invite_over_ws(inviter: Client, invitee: Client, room: str, user: str) -> dict[str, Any]:
    """``inviter`` invites ``user`` (signed in on ``invitee``) to ``room``, who accepts: the
    reply to ``accept``, the room as the invitee sees it."""
    await inviter.ok("invite", room=room, user=user)
    return await invitee.ok("accept", room=room)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@dataclass
class ApiReply:
    """An HTTP API answer: its status, its JSON body (None when empty) and its headers."""

    status: int
    body: Any
    headers: Any
    content_type: str


async def call_api(
    http: aiohttp.ClientSession, method: str, url: str, token: str | None = None, **kwargs: Any
) -> ApiReply:
    """One HTTP request to ``url``, as the owner of ``token`` if one is given."""
    headers = dict(kwargs.pop("headers", None) or {})
    if token is not None:
        headers |= bearer(token)
    async with http.request(method, url, headers=headers, **kwargs) as response:
        raw = await response.read()
        body = json.loads(raw) if raw else None
        return ApiReply(response.status, body, response.headers.copy(), response.content_type)


async def api(
    http: aiohttp.ClientSession,
    server: RunningServer,
    token: str | None,
    method: str,
    path: str,
    body: Any = None,
    **params: Any,
) -> tuple[int, Any]:
    """``call_api`` on a path of the server's ``/api/v1``: the status and the JSON body."""
    reply = await call_api(
        http, method, f"{server.url}/api/v1{path}", token, json=body, params=params
    )
    return reply.status, reply.body


async def team_and_outsider(server: RunningServer, http: aiohttp.ClientSession) -> list[str]:
    """``team``, public, owned by alice, with bob in it; carol is registered, not a member.
    Their tokens."""
    return await public_room(http, server.url, "team", ["alice", "bob"], others=["carol"])


async def message_at(client: Client, seq: int, room: str = "team") -> dict[str, Any]:
    """The message ``seq`` as ``client`` reads it in the room's history now."""
    events = (await client.ok("history", room=room, limit=200))["events"]
    (found,) = [e for e in events if e["seq"] == seq]
    return dict(found)
