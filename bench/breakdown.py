"""Where a message's time goes before its first receiver has it: the fixed-rate fan-out of
``loadgen.py … latency`` against a hubbub server with timing hooks in it, stage by stage.

    python bench/breakdown.py [hubbub-plain|hubbub-json] [-n RECEIVERS] [--duration S]

The server runs in a process of its own, started from this file with hooks wrapped around
hubbub's functions (nothing in hubbub knows of them). For each message it stamps, on the
clock the load generator puts in the payload (``CLOCK_MONOTONIC``, shared by the processes):

- *to the server*: from the sender's timestamp to the frame's handling by the server;
- *to the writer*: from there to the start of its commit on the writer thread;
- *commit*: ``BEGIN`` to ``COMMIT`` done, and of it the ``COMMIT`` (the fsync) alone;
- *back on the loop*: from the commit's end to the event loop's callback with its events;
- *first write*: from there to the first receiver's frame written to its socket.

Printed: p50, p90 and p99 of each stage, in µs, and the load generator's own figures. The
hooks cost a little time of their own, so the sum runs slightly above an unhooked server's.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
MARK = "BNCH "  # loadgen.py's payloads: MARK, then the send time in ns (20 digits)
STAGES = ("to the server", "to the writer", "commit", "COMMIT", "back on the loop", "first write")
ENV = {  # as the suite runs hubbub: no rate limits, cheap password hashing, room for sockets
    "HUBBUB_ARGON2_TIME_COST": "1",
    "HUBBUB_ARGON2_MEMORY_KIB": "8192",
    "HUBBUB_SEND_RATE": "1e9",
    "HUBBUB_SEND_BURST": "1e9",
    "HUBBUB_SIGNUP_BURST": "1e9",
    "HUBBUB_MAX_CONNECTIONS": "100000",
    "HUBBUB_MAX_USER_CONNECTIONS_PER_ADDRESS": "100000",
    "HUBBUB_MAX_GUEST_CONNECTIONS_PER_ADDRESS": "100000",
}


# --- in the server's process -------------------------------------------------------------------


class _Timed:
    """A connection to SQLite that times its ``COMMIT`` statements."""

    def __init__(self, db: sqlite3.Connection, commits: list[int]) -> None:
        self._db = db
        self._commits = commits

    def execute(self, sql: str, *args: Any) -> Any:
        if sql != "COMMIT":
            return self._db.execute(sql, *args)
        started = time.monotonic_ns()
        try:
            return self._db.execute(sql, *args)
        finally:
            self._commits.append(time.monotonic_ns() - started)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._db, name)


def serve(argv: list[str], out: Path) -> None:
    """Run ``hubbub serve`` with the hooks; write the stamps to ``out`` when it stops."""
    from hubbub import cli
    from hubbub.storage import sqlite as sq
    from hubbub.transport import connection as conn

    received: list[tuple[int, int]] = []  # (payload ts, handled)
    batches: list[tuple[int, int]] = []  # (commit start, commit end) on the writer thread
    commits: list[int] = []  # COMMIT alone, ns
    finished: list[int] = []  # the loop's callback after each commit
    first: list[int] = []  # the first write of each fan-out
    armed = [False]

    def on_message(original: Any) -> Any:
        def hooked(self: Any, opcode: int, payload: str | bytes) -> None:
            if isinstance(payload, str) and (at := payload.find(MARK)) >= 0:
                start = at + len(MARK)
                received.append((int(payload[start : start + 20]), time.monotonic_ns()))
            original(self, opcode, payload)

        return hooked

    conn.JsonConnection.on_message = on_message(conn.JsonConnection.on_message)  # type: ignore[method-assign]
    conn.PlainConnection.on_message = on_message(conn.PlainConnection.on_message)  # type: ignore[method-assign]

    connect = sq.connect
    sq.connect = lambda path, create=True: _Timed(connect(path, create), commits)  # type: ignore[assignment,return-value]

    commit_batch = sq.SQLiteStorage._commit_batch

    def timed_batch(self: Any, db: Any, batch: Any) -> Any:
        started = time.monotonic_ns()
        try:
            return commit_batch(self, db, batch)
        finally:
            batches.append((started, time.monotonic_ns()))

    sq.SQLiteStorage._commit_batch = timed_batch  # type: ignore[method-assign]

    finish = sq.SQLiteStorage._finish

    def timed_finish(self: Any, batch: Any, results: Any, events: Any) -> None:
        finished.append(time.monotonic_ns())
        armed[0] = bool(events)
        finish(self, batch, results, events)
        armed[0] = False

    sq.SQLiteStorage._finish = timed_finish  # type: ignore[method-assign]

    send = conn.WsConnection.send

    def first_send(self: Any, message: Any) -> None:
        send(self, message)
        if armed[0]:
            armed[0] = False
            first.append(time.monotonic_ns())

    conn.WsConnection.send = first_send  # type: ignore[method-assign]
    try:
        cli.main(argv)
    finally:
        stamps = {
            "received": received,
            "batches": batches,
            "commits": commits,
            "finished": finished,
            "first": first,
        }
        out.write_text(json.dumps(stamps))


# --- in the driver's process -------------------------------------------------------------------


def stages(stamps: dict[str, Any], skip: int) -> dict[str, list[float]]:
    """Each message's stages in µs: its commit is the first to start after it arrived (one
    message per commit at these rates), and so on down the path."""
    from bisect import bisect_left

    batches, finished, first = stamps["batches"], stamps["finished"], stamps["first"]
    starts = [b[0] for b in batches]
    found: dict[str, list[float]] = {name: [] for name in STAGES}
    commits = stamps["commits"][-len(batches) :] if batches else []
    for ts, handled in stamps["received"][skip:]:
        i = bisect_left(starts, handled)
        if i >= len(batches):
            continue
        begin, end = batches[i]
        j = bisect_left(finished, end)
        k = bisect_left(first, finished[j]) if j < len(finished) else len(first)
        if k >= len(first):
            continue
        found["to the server"].append((handled - ts) / 1e3)
        found["to the writer"].append((begin - handled) / 1e3)
        found["commit"].append((end - begin) / 1e3)
        found["COMMIT"].append(commits[i] / 1e3)
        found["back on the loop"].append((finished[j] - end) / 1e3)
        found["first write"].append((first[k] - finished[j]) / 1e3)
    return found


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


def quantiles(values: list[float]) -> str:
    return " ".join(f"{percentile(values, q):8.0f}" for q in (0.5, 0.9, 0.99))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@contextlib.contextmanager
def hooked_server(script: str, out: Path) -> Iterator[tuple[int, int]]:
    """A fresh database and ``python script --serve out serve …`` on it, healthy: its pid
    and port. Stopped gracefully on leaving (so that it writes ``out``)."""
    env = {**os.environ, **ENV}
    data, port = out.parent / "data", free_port()
    command = [sys.executable, "-m", "hubbub", "migrate", "--data-dir", str(data)]
    subprocess.run(command, check=True, env=env, capture_output=True)
    serve_args = ["serve", "--port", str(port), "--data-dir", str(data)]
    server = subprocess.Popen(
        [sys.executable, script, "--serve", str(out), *serve_args],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        for _ in range(300):
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1)
                break
            except OSError:
                time.sleep(0.1)
        yield server.pid, port
    finally:
        server.send_signal(signal.SIGINT)  # serve stops gracefully
        server.wait(30)


def drive(target: str, receivers: int, duration: float) -> None:
    env = {**os.environ, **ENV}
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder) / "stamps.json"
        with hooked_server(__file__, out) as (pid, port):
            rate = ["--rate", "20000", "--duration", str(duration)]
            loadgen = [sys.executable, str(BENCH / "loadgen.py"), target, "latency"]
            run = [*loadgen, "-n", str(receivers), *rate, "--port", str(port)]
            result = subprocess.run(
                [*run, "--pid", str(pid)], check=True, env=env, capture_output=True
            )
        stamps = json.loads(out.read_text())
    print(f"{target}, N = {receivers}, {20000 // receivers} msgs/s, {duration:g} s")
    print("loadgen:", result.stdout.decode().strip())
    found = stages(stamps, skip=int(20000 / receivers))  # the first second warms up
    print(f"{'stage':18} {'p50 µs':>8} {'p90 µs':>8} {'p99 µs':>8}   ({len(found['commit'])} msgs)")
    for name, values in found.items():
        print(f"{name:18} {quantiles(values)}")
    path = [name for name in STAGES if name != "COMMIT"]  # COMMIT is part of the commit
    total = [sum(parts) for parts in zip(*(found[name] for name in path), strict=True)]
    print(
        f"{'the whole path':18} "
        + " ".join(f"{percentile(total, q):8.0f}" for q in (0.5, 0.9, 0.99))
    )


def main() -> None:
    if len(sys.argv) > 2 and sys.argv[1] == "--serve":
        serve(sys.argv[3:], Path(sys.argv[2]))
        return
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("target", nargs="?", default="hubbub-plain")
    parser.add_argument("-n", type=int, default=1000, help="receivers")
    parser.add_argument("--duration", type=float, default=10.0)
    args = parser.parse_args()
    drive(args.target, args.n, args.duration)


if __name__ == "__main__":
    main()
