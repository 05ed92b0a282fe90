"""Guarantees 1-3 under crashes: a server killed with SIGKILL while several clients send.

Four users share two rooms and send as fast as their acks allow, each with a few sends in
flight on a real WebSocket. The server is killed with SIGKILL at random moments and restarted
on the same data directory. Senders reconnect and retry every send whose ack they did not get,
with the same ``client_msg_id``. At the end every send has been acknowledged, and the stored
history (read over the HTTP API, and straight from the database, SQLite or PostgreSQL) must
hold each acknowledged message exactly once, with the acknowledged seq and msg_id, in gapless
rooms.

The kill moments come from a seeded RNG; the seed is printed (set ``HUBBUB_CRASH_SEED`` to
replay a run's schedule; thread and network timing still vary).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import random
import sqlite3
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg
from support import ServerProcess, read_history, register

USERS = ("ann", "ben", "cat", "dan")
ROOMS = ("crash-a", "crash-b")
IN_FLIGHT = 4  # sends each client keeps unacknowledged on its connection
KILLS = 6
ACKS_BEFORE_KILL = 10  # after each restart, every sender gets this many acks before a kill
PROGRESS_TIMEOUT = 20.0
DRAIN_TIMEOUT = 30.0
STORAGE_ENGINES = ("sqlite", "postgresql")  # the test runs on each (tests/conftest.py)
EVENTS_QUERY = (
    "SELECT r.name, e.seq, e.type, e.author, e.ts, e.msg_id, e.client_msg_id, e.body"
    " FROM events e JOIN rooms r ON r.id = e.room_id ORDER BY r.name, e.seq"
)


@dataclass(frozen=True)
class Ack:
    user: str
    client_msg_id: str
    room: str
    seq: int
    msg_id: str
    ts: int
    body: str


class Progress:
    """Acks per user, and a way to wait until every user has made some more."""

    def __init__(self) -> None:
        self.acks: Counter[str] = Counter()
        self.changed = asyncio.Event()

    def bump(self, user: str) -> None:
        self.acks[user] += 1
        self.changed.set()

    async def each_acked(self, users: tuple[str, ...], more: int, timeout: float) -> None:
        """Until every user got ``more`` acks on top of what they have now."""
        target = {user: self.acks[user] + more for user in users}
        deadline = asyncio.get_running_loop().time() + timeout
        while any(self.acks[user] < n for user, n in target.items()):
            remaining = deadline - asyncio.get_running_loop().time()
            if remaining <= 0:
                raise AssertionError(f"no progress: acks {dict(self.acks)}, waiting for {target}")
            self.changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.changed.wait(), remaining)


class Sender:
    """One user sending pipelined messages; reconnects and retries unacknowledged sends."""

    def __init__(
        self,
        http: aiohttp.ClientSession,
        url: str,
        user: str,
        token: str,
        rng: random.Random,
        progress: Progress,
    ) -> None:
        self.http = http
        self.url = url
        self.user = user
        self.token = token
        self.rng = rng
        self.progress = progress
        self.unacked: dict[str, tuple[str, str]] = {}  # client_msg_id -> (room, body)
        self.acks: dict[str, Ack] = {}
        self.errors: list[dict[str, Any]] = []
        self.inconsistent: list[tuple[Ack, Ack]] = []
        self.sent_at: dict[str, list[float]] = {}  # client_msg_id -> wall times it was sent
        self.connections = 0
        self.retries = 0
        self._count = 0

    async def run(self, stop: asyncio.Event) -> None:
        while not (stop.is_set() and not self.unacked):
            try:
                ws = await self.http.ws_connect(
                    self.url + "/",
                    protocols=("hubbub.v1",),
                    headers={"Authorization": f"Bearer {self.token}"},
                )
            except (aiohttp.ClientError, OSError):
                await asyncio.sleep(0.02)  # the server is down: try again shortly
                continue
            self.connections += 1
            try:
                await self._converse(ws, stop)
            finally:
                await ws.close()

    async def _converse(self, ws: aiohttp.ClientWebSocketResponse, stop: asyncio.Event) -> None:
        try:
            ready = await ws.receive(timeout=10)
        except (TimeoutError, aiohttp.ClientError, OSError):
            return
        if ready.type != aiohttp.WSMsgType.TEXT:
            return  # the server died during the handshake
        assert json.loads(ready.data)["type"] == "ready", ready.data
        window = asyncio.Semaphore(IN_FLIGHT)
        writer = asyncio.create_task(self._write(ws, window, stop))
        try:
            async for message in ws:
                if message.type != aiohttp.WSMsgType.TEXT:
                    continue
                frame = json.loads(message.data)
                if frame["type"] == "sent":
                    self._acknowledged(frame)
                    window.release()
                elif frame["type"] == "error" and frame.get("re") in self.unacked:
                    self.errors.append(frame)
                    del self.unacked[frame["re"]]
                    window.release()
                elif "re" in frame:
                    self.errors.append(frame)
        except (aiohttp.ClientError, OSError):
            pass  # the server was killed
        finally:
            writer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await writer

    async def _write(
        self, ws: aiohttp.ClientWebSocketResponse, window: asyncio.Semaphore, stop: asyncio.Event
    ) -> None:
        try:
            for client_msg_id in list(self.unacked):  # first the retries, in their order
                await window.acquire()
                self.retries += 1
                await self._send(ws, client_msg_id)
            while not stop.is_set():
                await window.acquire()
                if stop.is_set():
                    window.release()
                    break
                self._count += 1
                client_msg_id = f"{self.user}-{self._count}-{self.rng.getrandbits(32):08x}"
                room = self.rng.choice(ROOMS)
                self.unacked[client_msg_id] = (room, f"{self.user} says #{self._count}")
                await self._send(ws, client_msg_id)
            for _ in range(IN_FLIGHT):  # stopping: wait until everything in flight is acked
                await window.acquire()
            await ws.close()
        except (aiohttp.ClientError, ConnectionError):
            pass  # the server was killed; the reader sees the connection end

    async def _send(self, ws: aiohttp.ClientWebSocketResponse, client_msg_id: str) -> None:
        room, body = self.unacked[client_msg_id]
        self.sent_at.setdefault(client_msg_id, []).append(time.time())
        frame = {
            "type": "send",
            "id": client_msg_id,
            "room": room,
            "client_msg_id": client_msg_id,
            "body": body,
        }
        await ws.send_str(json.dumps(frame))

    def _acknowledged(self, frame: dict[str, Any]) -> None:
        client_msg_id = frame["client_msg_id"]
        assert frame["re"] == client_msg_id, frame
        if client_msg_id not in self.unacked:
            self.errors.append({"unexpected": frame})
        room, body = self.unacked.pop(client_msg_id, (frame["room"], ""))
        ack = Ack(
            self.user,
            client_msg_id,
            frame["room"],
            frame["seq"],
            frame["msg_id"],
            frame["ts"],
            body,
        )
        assert ack.room == room, (ack, room)
        earlier = self.acks.get(client_msg_id)
        if earlier is not None and earlier != ack:
            self.inconsistent.append((earlier, ack))
        self.acks[client_msg_id] = ack
        self.progress.bump(self.user)


def kill(server: ServerProcess, outputs: list[str]) -> None:
    """SIGKILL the server and keep what it printed (for the failure report)."""
    server.kill()
    assert server.proc is not None and server.proc.stdout is not None
    outputs.append(server.proc.stdout.read().decode(errors="replace"))
    server.stop()


def crash_after(
    delay: float, server: ServerProcess, outputs: list[str], senders: list[Sender]
) -> int:
    """Wait ``delay`` seconds, then SIGKILL the server; how many sends were unacknowledged."""
    time.sleep(delay)
    in_flight = sum(len(s.unacked) for s in senders)
    kill(server, outputs)
    return in_flight


def check_stored(
    where: str,
    stored: dict[str, list[dict[str, Any]]],
    acks: list[Ack],
) -> None:
    """The invariants, for events as ``{room: [events in seq order]}`` from one witness."""
    for room, events in stored.items():
        seqs = [e["seq"] for e in events]
        assert seqs == list(range(1, len(seqs) + 1)), f"{where}: {room} seqs have holes: {seqs}"
    messages = [e for events in stored.values() for e in events if e["type"] == "message"]
    keys = Counter((e["user"], e["client_msg_id"]) for e in messages)
    twice = {key: n for key, n in keys.items() if n > 1}
    assert not twice, f"{where}: client_msg_ids stored more than once: {twice}"
    by_key = {(e["user"], e["client_msg_id"]): e for e in messages}
    lost = [a for a in acks if (a.user, a.client_msg_id) not in by_key]
    assert not lost, f"{where}: {len(lost)} acknowledged messages lost, e.g. {lost[:3]}"
    for ack in acks:
        event = by_key[ack.user, ack.client_msg_id]
        assert (event["room"], event["seq"], event["msg_id"], event["ts"], event["body"]) == (
            ack.room,
            ack.seq,
            ack.msg_id,
            ack.ts,
            ack.body,
        ), f"{where}: stored {event} but acknowledged {ack}"
    # Every send was eventually acknowledged, so nothing else may have been stored.
    unacked = set(by_key) - {(a.user, a.client_msg_id) for a in acks}
    assert not unacked, f"{where}: messages stored that were never acknowledged: {unacked}"


def read_database(path: Path) -> dict[str, list[dict[str, Any]]]:
    """The events table, straight from the file, read-only."""
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        last_seqs = dict(db.execute("SELECT name, last_seq FROM rooms").fetchall())
        rows = db.execute(EVENTS_QUERY).fetchall()
        (integrity,) = db.execute("PRAGMA integrity_check").fetchone()
    finally:
        db.close()
    assert integrity == "ok", integrity
    return by_room(rows, last_seqs)


async def read_postgres(url: str) -> dict[str, list[dict[str, Any]]]:
    """The events table, straight from the PostgreSQL database."""
    db = await asyncpg.connect(url)
    try:
        last_seqs = {name: seq for name, seq in await db.fetch("SELECT name, last_seq FROM rooms")}
        rows = [tuple(row) for row in await db.fetch(EVENTS_QUERY)]
    finally:
        await db.close()
    return by_room(rows, last_seqs)


def by_room(rows: list[Any], last_seqs: dict[str, int]) -> dict[str, list[dict[str, Any]]]:
    """The rows of ``EVENTS_QUERY`` as events by room; each room's last_seq is its count."""
    stored: dict[str, list[dict[str, Any]]] = {}
    for room, seq, type_, author, ts, msg_id, client_msg_id, body in rows:
        stored.setdefault(room, []).append(
            {
                "room": room,
                "seq": seq,
                "type": type_,
                "user": author,
                "ts": ts,
                "msg_id": msg_id,
                "client_msg_id": client_msg_id,
                "body": body,
            }
        )
    for room, events in stored.items():
        assert last_seqs[room] == len(events), (room, last_seqs[room], len(events))
    return stored


async def test_sigkill_under_concurrent_senders_loses_and_duplicates_nothing(
    tmp_path: Path, http: aiohttp.ClientSession, storage_url: str
) -> None:
    seed = int(os.environ.get("HUBBUB_CRASH_SEED") or random.SystemRandom().getrandbits(32))
    print(f"crash-safety seed: {seed} (rerun with HUBBUB_CRASH_SEED={seed})")
    rng = random.Random(seed)
    data_dir = tmp_path / "data"
    server = ServerProcess(data_dir, storage_url=storage_url)
    outputs: list[str] = []
    stop = asyncio.Event()
    tasks: list[asyncio.Task[None]] = []
    try:
        await asyncio.to_thread(server.start)
        tokens = {user: await register(http, server.url, user) for user in USERS}
        for room in ROOMS:
            async with http.post(
                f"{server.url}/api/v1/rooms",
                json={"name": room, "private": False},
                headers={"Authorization": f"Bearer {tokens[USERS[0]]}"},
            ) as response:
                assert response.status == 201, await response.text()
            for user in USERS[1:]:
                async with http.post(
                    f"{server.url}/api/v1/rooms/{room}/join",
                    headers={"Authorization": f"Bearer {tokens[user]}"},
                ) as response:
                    assert response.status == 200, await response.text()

        progress = Progress()
        senders = [
            Sender(
                http, server.url, user, tokens[user], random.Random(rng.getrandbits(64)), progress
            )
            for user in USERS
        ]
        tasks = [asyncio.create_task(s.run(stop)) for s in senders]
        in_flight_at_kill = []
        for _ in range(KILLS):
            await progress.each_acked(USERS, ACKS_BEFORE_KILL, PROGRESS_TIMEOUT)
            # The kill comes from another thread, so it lands at any point of the clients'
            # and the server's work, not only between two turns of this event loop.
            in_flight = await asyncio.to_thread(
                crash_after, rng.uniform(0.0, 0.4), server, outputs, senders
            )
            in_flight_at_kill.append(in_flight)
            await asyncio.sleep(rng.uniform(0.0, 0.2))  # down for a while: connects are refused
            await asyncio.to_thread(server.start)

        await progress.each_acked(USERS, ACKS_BEFORE_KILL, PROGRESS_TIMEOUT)
        stop.set()
        done, _ = await asyncio.wait(tasks, timeout=DRAIN_TIMEOUT)
        assert len(done) == len(tasks), "senders did not get every message acknowledged"
        for task in done:
            task.result()

        # Everything acknowledged is durable, also across one more crash.
        kill(server, outputs)
        await asyncio.to_thread(server.start)

        acks = [ack for s in senders for ack in s.acks.values()]
        retried = {cmid for s in senders for cmid, times in s.sent_at.items() if len(times) > 1}
        # A retry answered with the ts of an earlier send was stored before the crash.
        deduplicated = [
            a
            for s in senders
            for a in s.acks.values()
            if a.client_msg_id in retried and a.ts < s.sent_at[a.client_msg_id][-1] * 1000 - 1
        ]
        print(
            f"{len(acks)} messages acknowledged, {sum(s.retries for s in senders)} sends retried"
            f" ({len(retried)} messages, {len(deduplicated)} already stored),"
            f" in flight at each kill: {in_flight_at_kill},"
            f" connections per sender: {[s.connections for s in senders]}"
        )
        assert not [e for s in senders for e in s.errors], [s.errors for s in senders]
        assert not [i for s in senders for i in s.inconsistent], "one message, two different acks"
        # The crashes did hit the senders: each reconnected after each kill, and some sends
        # were in flight (and so retried) when the server died.
        assert all(s.connections >= KILLS + 1 for s in senders)
        assert sum(in_flight_at_kill) > 0 and retried

        token = tokens[USERS[0]]
        over_http = {room: await read_history(http, server.url, token, room) for room in ROOMS}
        async with http.get(
            f"{server.url}/api/v1/rooms", headers={"Authorization": f"Bearer {token}"}
        ) as response:
            assert response.status == 200
            rooms = {r["name"]: r for r in (await response.json())["rooms"]}
        for room in ROOMS:
            assert rooms[room]["last_seq"] == len(over_http[room])
        check_stored("HTTP API", over_http, acks)

        kill(server, outputs)
        if storage_url:
            on_disk, witness = await read_postgres(storage_url), "PostgreSQL database"
        else:
            on_disk, witness = read_database(data_dir / "hubbub.sqlite3"), "SQLite file"
        assert set(on_disk) >= set(ROOMS)
        check_stored(witness, on_disk, acks)
    except BaseException:
        print("server output:\n" + "\n---\n".join(o for o in outputs if o))
        raise
    finally:
        stop.set()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        server.stop()
