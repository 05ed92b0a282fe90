"""What a durable commit costs on this disk: SQLite in WAL mode with synchronous=FULL, the
settings hubbub uses, committing 1, 10 and 100 small inserts at a time.

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
        for _ in range(200):
            start = time.perf_counter()
            db.execute("BEGIN IMMEDIATE")
            for _ in range(batch):
                seq += 1
                db.execute("INSERT INTO t VALUES (1, ?, ?)", (seq, "x" * 100))
            db.execute("COMMIT")
            times.append((time.perf_counter() - start) * 1000)
        times.sort()
        print(
            f"{batch:3d} inserts per commit: p50 {statistics.median(times):.3f} ms,"
            f" p99 {times[int(len(times) * 0.99)]:.3f} ms"
        )


if __name__ == "__main__":
    main()
