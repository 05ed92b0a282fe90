"""What a durable commit costs on this disk: SQLite in WAL mode with synchronous=FULL, the
settings hubbub uses, committing 1, 10 and 100 small inserts at a time, back to back; then
one insert per commit at the paces of the fixed-rate scenario (200, 20 and 4 commits a second),
where the machine idles between commits and each one starts cold. Beside each time, the CPU
the thread spent per commit (``time.thread_time``: the kernel's share of the write and the
sync counts; for the paced rows also the CPU of waking up between commits).

    python bench/fsync.py [directory]

Every hubbub message is acknowledged only after such a commit, so this is the floor under
its ack latency and under a round trip through a room (two messages, two commits).
"""

from __future__ import annotations

import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path

COMMITS = 200  # per row, back to back
PACED_SECONDS = 4.0  # per pace


def commit(db: sqlite3.Connection, seq: int, batch: int) -> float:
    """One transaction of ``batch`` inserts from ``seq`` on; its milliseconds."""
    start = time.perf_counter()
    db.execute("BEGIN IMMEDIATE")
    for k in range(batch):
        db.execute("INSERT INTO t VALUES (1, ?, ?)", (seq + k, "x" * 100))
    db.execute("COMMIT")
    return (time.perf_counter() - start) * 1000


def report(label: str, times: list[float], cpu: float) -> None:
    """``cpu``: the thread's CPU seconds over all of ``times``."""
    count = len(times)
    times.sort()
    print(
        f"{label}: p50 {statistics.median(times):.3f} ms,"
        f" p99 {times[int(count * 0.99)]:.3f} ms, CPU {cpu / count * 1e6:.0f} µs per commit"
    )


def main() -> None:
    folder = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(tempfile.mkdtemp())
    db = sqlite3.connect(folder / "fsync.sqlite3", isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=FULL")
    db.execute(
        "CREATE TABLE IF NOT EXISTS t"
        " (room INTEGER, seq INTEGER, body TEXT, PRIMARY KEY (room, seq))"
    )
    seq = 0
    for batch in (1, 10, 100):
        times = []
        cpu = time.thread_time()
        for _ in range(COMMITS):
            times.append(commit(db, seq, batch))
            seq += batch
        report(f"{batch:3d} inserts per commit", times, time.thread_time() - cpu)
    for rate in (200, 20, 4):
        times = []
        interval = 1 / rate
        cpu = time.thread_time()
        next_at = time.perf_counter()
        for _ in range(int(PACED_SECONDS * rate)):
            next_at += interval
            time.sleep(max(0.0, next_at - time.perf_counter()))
            times.append(commit(db, seq, 1))
            seq += 1
        report(f"  1 insert, {rate:3d} commits/s", times, time.thread_time() - cpu)
    # The same pace without the commits: what waking up alone costs.
    cpu = time.thread_time()
    next_at = time.perf_counter()
    for _ in range(int(PACED_SECONDS * 200)):
        next_at += 1 / 200
        time.sleep(max(0.0, next_at - time.perf_counter()))
    woken = (time.thread_time() - cpu) / (PACED_SECONDS * 200) * 1e6
    print(f"no commit,  200 wake-ups/s: CPU {woken:.0f} µs per wake-up")


if __name__ == "__main__":
    main()
