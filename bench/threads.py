"""Where a hubbub server's CPU goes, thread by thread, and how its writer spends a batch: in
the fixed-rate fan-out of ``loadgen.py … latency`` or in ``loadgen.py … durable``.

    python bench/threads.py [hubbub-plain|hubbub-json] [-n RECEIVERS] [--duration S]
    python bench/threads.py hubbub-json --senders 100 [--duration S]

The server runs in a process of its own, started from this file, which gives each Python
thread its name in the kernel as well (``prctl``), so that ``/proc`` tells the threads
apart: the event loop (``MainThread``), SQLite's writer, the search indexer, the WAL
checkpointer, the readers. Each thread's time on a CPU (``/proc/…/task/…/schedstat``,
exact, not sampled by the tick) is read after the first third of the run and again after
the second, while the load is steady.

The writer's batches are timed too (hooks around hubbub's functions, as in
``breakdown.py``): per batch of the steady part, its messages, its wall time and the writer's
CPU time (``time.thread_time``), and the wall time of its ``INSERT`` of events, of its
``COMMIT`` and of its other statements. Wall time beyond CPU time is waiting: for the disk,
for a core, or for the interpreter's lock.
"""

from __future__ import annotations

import argparse
import ctypes
import json
import os
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from breakdown import ENV, hooked_server

BENCH = Path(__file__).resolve().parent
PR_SET_NAME = 15
PARTS = ("INSERT", "COMMIT", "other")  # the writer's statements, by what they do


# --- in the server's process -------------------------------------------------------------------


class _Timed:
    """A connection to SQLite that adds each statement's wall time to ``spent``."""

    def __init__(self, db: sqlite3.Connection, spent: dict[str, float]) -> None:
        self._db = db
        self._spent = spent

    def execute(self, sql: str, *args: Any) -> Any:
        started = time.perf_counter()
        try:
            return self._db.execute(sql, *args)
        finally:
            part = sql if sql == "COMMIT" else "INSERT" if sql.startswith("INSERT") else "other"
            self._spent[part] += time.perf_counter() - started

    def __getattr__(self, name: str) -> Any:
        return getattr(self._db, name)


def serve(argv: list[str], out: Path) -> None:
    """Run ``hubbub serve``; every thread started from here on names itself in the kernel;
    write the writer's batches to ``out`` when it stops."""
    from hubbub import cli
    from hubbub.storage import sqlite as sq

    libc = ctypes.CDLL(None)
    bootstrap = threading.Thread._bootstrap_inner  # type: ignore[attr-defined]

    def named(self: threading.Thread) -> None:
        name = self.name.removeprefix("hubbub-sqlite-").removeprefix("hubbub-")
        libc.prctl(PR_SET_NAME, name.encode()[:15], 0, 0, 0)
        bootstrap(self)

    threading.Thread._bootstrap_inner = named  # type: ignore[attr-defined]

    spent = dict.fromkeys(PARTS, 0.0)  # the batch at hand's statements, wall seconds
    batches: list[list[float]] = []  # size, wall, CPU, then PARTS
    connect = sq.connect
    sq.connect = lambda path, create=True: _Timed(connect(path, create), spent)  # type: ignore[assignment,return-value]
    commit_batch = sq.SQLiteStorage._commit_batch

    def timed_batch(self: Any, db: Any, batch: Any) -> Any:
        spent.update(dict.fromkeys(PARTS, 0.0))
        wall, cpu = time.perf_counter(), time.thread_time()
        try:
            return commit_batch(self, db, batch)
        finally:
            cpu, wall = time.thread_time() - cpu, time.perf_counter() - wall
            batches.append([len(batch), wall, cpu, *(spent[part] for part in PARTS)])

    sq.SQLiteStorage._commit_batch = timed_batch  # type: ignore[method-assign]
    try:
        cli.main(argv)
    finally:
        out.write_text(json.dumps(batches))


# --- in the driver's process -------------------------------------------------------------------


def threads(pid: int) -> dict[str, int]:
    """Each thread's name (the event loop's is ``MainThread``) and its ns on a CPU so far."""
    found: dict[str, int] = {}
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            name = Path(f"/proc/{pid}/task/{tid}/comm").read_text().strip()
            ns = int(Path(f"/proc/{pid}/task/{tid}/schedstat").read_text().split()[0])
        except OSError:  # the thread ended meanwhile
            continue
        if tid == str(pid):
            name = "MainThread"
        found[name] = found.get(name, 0) + ns
    return found


def drive(target: str, receivers: int, senders: int, duration: float) -> None:
    env = {**os.environ, **ENV}
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder) / "batches.json"
        with hooked_server(__file__, out) as (pid, port):
            loadgen = [sys.executable, str(BENCH / "loadgen.py"), target]
            if senders:
                run = [*loadgen, "durable", "-n", str(senders)]
            else:
                run = [*loadgen, "latency", "-n", str(receivers), "--rate", "20000"]
            generator = subprocess.Popen(
                [*run, "--duration", str(duration), "--port", str(port), "--pid", str(pid)],
                env=env,
                stdout=subprocess.PIPE,
            )
            time.sleep(duration / 3 + (1 if senders else 0))  # durable: a second of warm-up
            before, started = threads(pid), time.monotonic()
            time.sleep(duration / 3)
            after, ended = threads(pid), time.monotonic()
            result, _ = generator.communicate()
        batches = json.loads(out.read_text())
    figures = json.loads(result)
    if senders:
        rate = figures["acked_per_s"]
        print(f"{target}, durable, {senders} senders, {duration:g} s")
    else:
        rate = 20000 / receivers
        print(f"{target}, N = {receivers}, {rate:g} msgs/s, {duration:g} s")
    print("loadgen:", result.decode().strip())
    messages = rate * (ended - started)
    per = max(receivers, 1) if not senders else 1
    print(f"{'thread':16} {'µs/message':>11}" + ("" if senders else f" {'µs/delivery':>12}"))
    rows = sorted(
        ((name, (ns - before.get(name, 0)) / 1e3 / messages) for name, ns in after.items()),
        key=lambda row: -row[1],
    )
    for name, spent in [*[row for row in rows if row[1] >= 0.5], ("all", sum(r[1] for r in rows))]:
        print(f"{name:16} {spent:11.1f}" + ("" if senders else f" {spent / per:12.2f}"))
    steady = batches[len(batches) // 3 : 2 * len(batches) // 3]
    if steady:
        sizes = [b[0] for b in steady]
        count = sum(sizes)
        print(
            f"writer: {len(steady)} batches, messages per batch mean {count / len(steady):.1f},"
            f" median {statistics.median(sizes):g}"
        )
        for i, name in enumerate(["wall", "CPU", *(f"{p} wall" for p in PARTS)], start=1):
            total = sum(b[i] for b in steady)
            print(
                f"  {name:12} {total / len(steady) * 1e3:7.3f} ms per batch,"
                f" {total / count * 1e6:6.1f} µs per message"
            )


def main() -> None:
    if len(sys.argv) > 2 and sys.argv[1] == "--serve":
        serve(sys.argv[3:], Path(sys.argv[2]))
        return
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("target", nargs="?", default="hubbub-plain")
    parser.add_argument("-n", type=int, default=100, help="receivers (fan-out at a fixed rate)")
    parser.add_argument("--senders", type=int, default=0, help="durable sends instead")
    parser.add_argument("--duration", type=float, default=15.0)
    args = parser.parse_args()
    drive(args.target, args.n, args.senders, args.duration)


if __name__ == "__main__":
    main()
