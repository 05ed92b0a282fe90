"""The cost of presence: 10 000 signed-in connections over 1 000 rooms, at rest and in churn.

The database (``build``): 10 000 accounts ``p00000``… and 1 000 public rooms ``pr0000``…;
each account is a member of 2-4 rooms (3 on average, so a room has about 30 members and a
user shares a room with about 90 others). Accounts, rooms, memberships and one session token
per account are written through ``SQLiteStorage`` and cached in ``bench/.cache`` (see
``prebuilt``) with ``tokens.json``; the tokens are made again after 20 days (they last 30).

The measurement (``presence.py hubbub-json presence --port P --pid PID``): ``--workers``
processes (each with its open-files limit raised to the hard one, each from its own
127.0.0.x address) open one connection per account with its token and ask for ``sync``, so
every connection hears of the presence of the users it shares a room with. Once all are
open and the first notices are out, three phases follow, on one schedule for all workers:

- *rest* (``--rest`` s): nothing happens; the server's CPU is what 10 000 connections and
  their liveness pings cost;
- *churn* (``--churn`` s): ``--share`` of the users change state at evenly spaced times,
  half of them by saying ``idle {away: true}``, half by closing their connection and opening
  a new one (with ``sync``) 2 s later (``--changes idle`` or ``reconnect``: all one way); the
  window is measured 2 s beyond the last change so that the last notices are out.

Per phase: the server's CPU (user + system, from ``/proc/<pid>/stat``) per second of wall
time, and the ``presence`` frames each connection received.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import multiprocessing
import random
import resource
import sys
import time
from functools import partial
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))

import prebuilt  # noqa: E402  (bench/prebuilt.py, beside this file)

NAME = "presence"
PASSWORD = "bench password"
BATCH = 5000
SEED = 20261128
TOKEN_DAYS = 30
REBUILD_AFTER_DAYS = 20  # before the tokens expire
RECONNECT_AFTER = 2.0  # seconds between a churning user's close and its new connection
TAIL = 2.0  # seconds measured after the last change, for its notices to go out
WAVE = 50  # connections a worker opens at once
PRESENCE = b'{"type":"presence"'


def cache_name(users: int, rooms: int) -> str:
    return f"{NAME}-{users}-{rooms}"


def user_name(i: int) -> str:
    return f"p{i:05d}"


# --- the database -----------------------------------------------------------------------------


async def build(out: Path, users: int, rooms: int) -> None:
    from hubbub.auth.passwords import Passwords
    from hubbub.auth.tokens import new_token, token_hash
    from hubbub.core.models import RoomKind
    from hubbub.storage.sqlite import SQLiteStorage

    rng = random.Random(SEED)
    names = [user_name(i) for i in range(users)]
    room_names = [f"pr{r:04d}" for r in range(rooms)]
    membership = {u: rng.sample(room_names, rng.randint(2, 4)) for u in names}
    members: dict[str, list[str]] = {room: [] for room in room_names}
    for user, theirs in membership.items():
        for room in theirs:
            members[room].append(user)
    storage = SQLiteStorage(out / prebuilt.DATABASE)
    await storage.open()
    now = time.time_ns() // 1_000_000
    tokens = {u: new_token() for u in names}
    try:
        password = await Passwords(time_cost=1, memory_kib=8192).hash(PASSWORD)
        await prebuilt.in_batches(
            (partial(storage.create_user, u, password, now) for u in names), BATCH
        )
        creators = {room: (who[0] if who else names[0]) for room, who in members.items()}
        await prebuilt.in_batches(
            (
                partial(storage.create_room, r, RoomKind.PUBLIC, creators[r], now)
                for r in room_names
            ),
            BATCH,
        )
        joins = [(r, u) for r, who in members.items() for u in who if u != creators[r]]
        await prebuilt.in_batches(
            (partial(storage.add_member, room, user, now, None) for room, user in joins), BATCH
        )
        expires = now + TOKEN_DAYS * 86_400_000
        await prebuilt.in_batches(
            (partial(storage.create_token, token_hash(tokens[u]), u, now, expires) for u in names),
            BATCH,
        )
    finally:
        await storage.close()
    about = {"users": users, "rooms": rooms, "memberships": sum(map(len, members.values()))}
    (out / "tokens.json").write_text(json.dumps({**about, "tokens": tokens}) + "\n")


# --- one worker process: a share of the connections -------------------------------------------


class Slot:
    """One user's connection (a new one after a reconnect) and what it received."""

    def __init__(self, user: str, token: str) -> None:
        self.user, self.token = user, token
        self.client: Any = None
        self.frames = [0, 0, 0, 0]  # presence frames by phase: setup, rest, churn, after
        self.entries = [0, 0, 0, 0]  # users named in them


class Worker:
    def __init__(self, port: int, address: str, slots: list[Slot]) -> None:
        self.port, self.address, self.slots = port, address, slots
        self.phase = 0
        self.failures = 0

    async def open(self, slot: Slot) -> None:
        from loadgen import WsClient

        loop = asyncio.get_running_loop()
        headers = {"Sec-WebSocket-Protocol": "hubbub.v1", "Authorization": f"Bearer {slot.token}"}
        ready = loop.create_future()
        synced = loop.create_future()

        def on_text(data: bytes) -> None:
            if data.startswith(PRESENCE):
                slot.frames[self.phase] += 1
                slot.entries[self.phase] += data.count(b'":"') - 1  # less "type":"presence"
            elif not ready.done():
                ready.set_result(None)
            elif data.startswith(b'{"type":"synced"') and not synced.done():
                synced.set_result(None)

        def made() -> WsClient:
            client = WsClient(f"127.0.0.1:{self.port}", "/", headers)
            client.on_text = on_text  # before any byte arrives: ready may come with the 101
            return client

        _, client = await loop.create_connection(
            made, "127.0.0.1", self.port, local_addr=(self.address, 0)
        )
        for step, awaited in (("handshake", client.upgraded), ("ready", ready), ("sync", synced)):
            if step == "sync":
                client.send_text(b'{"type":"sync","id":1,"since":{}}')
            try:
                await asyncio.wait_for(asyncio.shield(awaited), 60)
            except TimeoutError:
                raise TimeoutError(f"{slot.user}: no {step} within 60 s") from None
        slot.client = client

    async def open_all(self) -> None:
        for start in range(0, len(self.slots), WAVE):
            await asyncio.gather(*(self.open(s) for s in self.slots[start : start + WAVE]))

    async def change(self, at: float, slot: Slot, kind: str) -> None:
        await asyncio.sleep(max(0.0, at - time.monotonic()))
        if kind == "idle":
            slot.client.send_text(b'{"type":"idle","away":true}')
            return
        close(slot.client)
        await asyncio.sleep(RECONNECT_AFTER)
        try:
            await self.open(slot)
        except (OSError, TimeoutError, RuntimeError, ConnectionError) as exc:
            self.failures += 1
            print(f"reconnect of {slot.user}: {type(exc).__name__}: {exc}", file=sys.stderr)

    async def phases(self, times: list[float]) -> None:
        for phase, at in enumerate(times, start=1):
            await asyncio.sleep(max(0.0, at - time.monotonic()))
            self.phase = phase


def close(client: Any) -> None:
    if client.transport is not None and not client.transport.is_closing():
        client.send(8, (1000).to_bytes(2, "big"))
        client.transport.close()


def worker_main(port: int, address: str, users: list[tuple[str, str]], pipe: Connection) -> None:
    import uvloop

    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    worker = Worker(port, address, [Slot(u, t) for u, t in users])

    async def run() -> dict[str, Any]:
        loop = asyncio.get_running_loop()
        started = time.monotonic()
        await worker.open_all()
        pipe.send({"connected": len(worker.slots), "connect_s": time.monotonic() - started})
        schedule = await loop.run_in_executor(None, pipe.recv)
        tasks = [asyncio.ensure_future(worker.phases(schedule["phases"]))]
        tasks += [
            asyncio.ensure_future(worker.change(at, worker.slots[i], kind))
            for at, i, kind in schedule["changes"]
        ]
        await asyncio.gather(*tasks)
        await asyncio.sleep(0.5)
        churn = [s.frames[2] for s in worker.slots]
        for slot in worker.slots:
            close(slot.client)
        await asyncio.sleep(0.5)
        return {
            "frames": [sum(s.frames[p] for s in worker.slots) for p in range(4)],
            "entries": [sum(s.entries[p] for s in worker.slots) for p in range(4)],
            "max_churn_frames": max(churn, default=0),
            "failures": worker.failures,
        }

    try:
        pipe.send(uvloop.run(run()))
    except BaseException as exc:
        pipe.send({"error": f"{type(exc).__name__}: {exc}"})
        raise


# --- the coordinator ----------------------------------------------------------------------------


def cpu_seconds(pid: int) -> float:
    from loadgen import cpu_seconds as read

    return read(pid)


def sleep_until(at: float) -> None:
    time.sleep(max(0.0, at - time.monotonic()))


def measure(
    port: int,
    pid: int,
    users: int,
    rooms: int,
    workers: int,
    rest: float,
    churn: float,
    share: float,
    kinds: list[str],
) -> dict[str, Any]:
    from loadgen import rss_kib

    about = json.loads((prebuilt.cache_dir(cache_name(users, rooms)) / "tokens.json").read_text())
    accounts = sorted(about["tokens"].items())
    context = multiprocessing.get_context("fork")
    pipes: list[Connection] = []
    processes = []
    started, cpu_start = time.monotonic(), cpu_seconds(pid)
    for w in range(workers):
        mine, theirs = context.Pipe()
        share_of = accounts[w::workers]
        process = context.Process(
            target=worker_main, args=(port, f"127.0.0.{w + 2}", share_of, theirs), daemon=True
        )
        process.start()
        pipes.append(mine)
        processes.append(process)
    try:
        hello = []
        for pipe in pipes:
            if not pipe.poll(300):
                raise TimeoutError("a worker did not connect its users within 300 s")
            hello.append(pipe.recv())
        errors = [h["error"] for h in hello if "error" in h]
        if errors:
            raise RuntimeError(errors[0])
        connect_s = time.monotonic() - started
        connected = sum(h["connected"] for h in hello)
        connect_cpu = cpu_seconds(pid) - cpu_start
        rng = random.Random(SEED)
        changers = rng.sample(range(len(accounts)), int(len(accounts) * share))
        rest_at = time.monotonic() + 3.0  # the notices of the last connections go out first
        churn_at = rest_at + rest
        end_at = churn_at + churn + TAIL
        schedule: list[dict[str, Any]] = [
            {"phases": [rest_at, churn_at, end_at], "changes": []} for _ in range(workers)
        ]
        for k, index in enumerate(changers):
            at = churn_at + churn * (k + 0.5) / len(changers)
            kind = kinds[k % len(kinds)]
            schedule[index % workers]["changes"].append((at, index // workers, kind))
        for pipe, plan in zip(pipes, schedule, strict=True):
            pipe.send(plan)
        load = [p.pid for p in processes if p.pid is not None]
        sleep_until(rest_at)
        cpu_rest_0, gen_0 = cpu_seconds(pid), sum(map(cpu_seconds, load))
        rss_rest = rss_kib(pid)
        sleep_until(churn_at)
        cpu_churn_0 = cpu_seconds(pid)
        sleep_until(end_at)
        cpu_end, gen_end = cpu_seconds(pid), sum(map(cpu_seconds, load))
        rss_end = rss_kib(pid)
        reports = []
        for pipe in pipes:
            if not pipe.poll(60):
                raise TimeoutError("a worker did not report within 60 s of the end")
            reports.append(pipe.recv())
        errors = [r["error"] for r in reports if "error" in r]
        if errors:
            raise RuntimeError(errors[0])
    finally:
        for process in processes:
            process.join(10)
            if process.is_alive():
                process.kill()
    rest_share = (cpu_churn_0 - cpu_rest_0) / rest
    churn_window = churn + TAIL
    churn_share = (cpu_end - cpu_churn_0) / churn_window
    frames = [sum(r["frames"][p] for r in reports) for p in range(4)]
    entries = [sum(r["entries"][p] for r in reports) for p in range(4)]
    changes = len(changers)
    return {
        "users": len(accounts),
        "connected": connected,
        "connect_s": connect_s,
        "server_cpu_ms_per_connect": connect_cpu / connected * 1000,
        "server_cpu_rest_share": rest_share,
        "server_cpu_churn_share": churn_share,
        "churn_over_rest": churn_share / rest_share if rest_share else None,
        "changes": changes,
        "server_cpu_us_per_change": (churn_share - rest_share) * churn_window / changes * 1e6,
        "presence_frames_per_client_rest": frames[1] / connected,
        "presence_frames_per_client_churn": frames[2] / connected,
        "presence_entries_per_client_churn": entries[2] / connected,
        "presence_frames_max_client_churn": max(r["max_churn_frames"] for r in reports),
        "presence_frames_per_change": frames[2] / changes,
        "reconnect_failures": sum(r["failures"] for r in reports),
        "rss_rest_kib": rss_rest,
        "rss_end_kib": rss_end,
        "loadgen_cpu_share": (gen_end - gen_0) / (end_at - rest_at),
    }


def main() -> None:
    if sys.argv[1:2] == ["build"]:
        parser = argparse.ArgumentParser(description="build the presence database")
        parser.add_argument("command")
        parser.add_argument("out", type=Path)
        parser.add_argument("-n", type=int, default=10_000, help="accounts")
        parser.add_argument("--rooms", type=int, default=1000)
        args = parser.parse_args()
        asyncio.run(build(args.out, args.n, args.rooms))
        return
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("target")
    parser.add_argument("scenario", choices=[NAME])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--pid", type=int, required=True, help="the server's pid, for /proc")
    parser.add_argument("-n", type=int, default=10_000, help="connected users")
    parser.add_argument("--rooms", type=int, default=1000)
    parser.add_argument("--workers", type=int, default=4, help="client processes")
    parser.add_argument("--rest", type=float, default=30.0, help="seconds at rest")
    parser.add_argument("--churn", type=float, default=60.0, help="seconds of changes")
    parser.add_argument("--share", type=float, default=0.1, help="users who change state")
    parser.add_argument(
        "--changes",
        choices=["both", "idle", "reconnect"],
        default="both",
        help="how users change: every other one each way (both), or all one way",
    )
    args = parser.parse_args()
    with contextlib.redirect_stdout(sys.stderr):
        kinds = ["idle", "reconnect"] if args.changes == "both" else [args.changes]
        result = measure(
            args.port,
            args.pid,
            args.n,
            args.rooms,
            args.workers,
            args.rest,
            args.churn,
            args.share,
            kinds,
        )
    json.dump(result, sys.stdout)
    print()


if __name__ == "__main__":
    main()
