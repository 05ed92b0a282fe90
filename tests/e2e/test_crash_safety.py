"""Guarantees 1-3 under crashes: a server killed with SIGKILL while several clients send.

Four users share four rooms and send as fast as their acks allow, each with ``hubbub.client``
(a message in flight in every room on its WebSocket). The server is killed with SIGKILL at
random moments and restarted on the same data directory. The clients reconnect and send
again every message whose ack they did not get, with the same ``client_msg_id``. At the
end every send has been acknowledged, and the stored history (read over the HTTP API, and
straight from the database, SQLite or PostgreSQL) must hold each acknowledged message
exactly once, with the acknowledged seq and msg_id, in gapless rooms.

The kill moments come from a seeded RNG; the seed is printed (set ``HUBBUB_CRASH_SEED`` to
replay a run's schedule; thread and network timing still vary).
"""

from __future__ import annotations

import asyncio
import contextlib
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

from hubbub.client import Client, ClientError, ConnectionState

USERS = ("ann", "ben", "cat", "dan")
ROOMS = ("crash-a", "crash-b", "crash-c", "crash-d")
IN_FLIGHT = len(ROOMS)  # sends each client keeps unacknowledged: one per room
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
    """One user writing as fast as the acks allow, through ``hubbub.client``: one message in
    flight in each room (``IN_FLIGHT`` on the connection), the next written when its ack
    comes. The client reconnects by itself and sends every message not acknowledged again,
    with the same ``client_msg_id``."""

    def __init__(
        self, url: str, user: str, token: str, rng: random.Random, progress: Progress
    ) -> None:
        self.user = user
        self.rng = rng
        self.progress = progress
        self.client = Client(
            url, token=token, backoff_first=0.02, backoff_max=0.1, on_state=self._changed
        )
        self.acks: dict[str, Ack] = {}
        self.errors: list[BaseException] = []
        self.connections = 0
        # client_msg_id -> when a connection ended with it in flight (it goes out again).
        self.lost_at: dict[str, float] = {}
        self.in_flight_at_loss: list[int] = []
        self._count = 0

    def _changed(self, state: ConnectionState) -> None:
        if state is ConnectionState.CONNECTED:
            self.connections += 1
        elif state is ConnectionState.RECONNECTING:
            # The oldest message of each room is the one on the wire: the outbox sends a
            # room's messages one at a time.
            heads = {entry.room: entry.client_msg_id for entry in reversed(self.client.outbox)}
            now = time.time()
            for client_msg_id in heads.values():
                self.lost_at.setdefault(client_msg_id, now)
            self.in_flight_at_loss.append(len(heads))

    async def run(self, stop: asyncio.Event) -> None:
        async with self.client:
            await asyncio.gather(*(self._write(room, stop) for room in ROOMS))

    async def _write(self, room: str, stop: asyncio.Event) -> None:
        while not stop.is_set():
            self._count += 1
            client_msg_id = f"{self.user}-{self._count}-{self.rng.getrandbits(32):08x}"
            body = f"{self.user} says #{self._count}"
            try:
                sent = await self.client.send(room, body, client_msg_id=client_msg_id)
            except ClientError as exc:
                self.errors.append(exc)
                continue
            assert (sent.room, sent.client_msg_id) == (room, client_msg_id), sent
            assert client_msg_id not in self.acks, (self.acks[client_msg_id], sent)
            self.acks[client_msg_id] = Ack(
                self.user, client_msg_id, sent.room, sent.seq, sent.msg_id, sent.ts, body
            )
            self.progress.bump(self.user)


def kill(server: ServerProcess, outputs: list[str]) -> None:
    """SIGKILL the server and keep what it printed (for the failure report)."""
    server.kill()
    assert server.proc is not None and server.proc.stdout is not None
    outputs.append(server.proc.stdout.read().decode(errors="replace"))
    server.stop()


def crash_after(delay: float, server: ServerProcess, outputs: list[str]) -> None:
    """Wait ``delay`` seconds, then SIGKILL the server."""
    time.sleep(delay)
    kill(server, outputs)


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
            Sender(server.url, user, tokens[user], random.Random(rng.getrandbits(64)), progress)
            for user in USERS
        ]
        tasks = [asyncio.create_task(s.run(stop)) for s in senders]
        for _ in range(KILLS):
            await progress.each_acked(USERS, ACKS_BEFORE_KILL, PROGRESS_TIMEOUT)
            # The kill comes from another thread, so it lands at any point of the clients'
            # and the server's work, not only between two turns of this event loop.
            await asyncio.to_thread(crash_after, rng.uniform(0.0, 0.4), server, outputs)
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
        retried = {cmid for s in senders for cmid in s.lost_at}
        # A retry answered with the ts of a moment before its connection ended was stored
        # before the crash.
        deduplicated = [
            a
            for s in senders
            for a in s.acks.values()
            if a.client_msg_id in s.lost_at and a.ts < s.lost_at[a.client_msg_id] * 1000 - 1
        ]
        in_flight_at_kill = [
            sum(n) for n in zip(*(s.in_flight_at_loss for s in senders), strict=False)
        ]
        print(
            f"{len(acks)} messages acknowledged, {len(retried)} sent again after a crash"
            f" ({len(deduplicated)} already stored), in flight at each kill: {in_flight_at_kill},"
            f" connections per sender: {[s.connections for s in senders]}"
        )
        assert not [e for s in senders for e in s.errors], [s.errors for s in senders]
        assert all(not s.client.outbox for s in senders)
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
