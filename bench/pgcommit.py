"""What PostgreSQL's commits cost here, without hubbub: how many transactions one writer
connection commits per second, what a second writer adds, and what happens when both write
to one room and so wait for one row lock.

    python bench/pgcommit.py [--host 127.0.0.1:5432] [--seconds 3]

Each writer is one asyncpg connection (as each hubbub node has one writer) that repeats: BEGIN,
then per row ``UPDATE rooms SET last_seq = last_seq + 1`` and an INSERT of that seq (hubbub
takes a room's next seq the same way, in one statement), then COMMIT; every statement is a
round trip. A writer alone in its rooms never waits for a lock; writers in one room take turns
from their first UPDATE to their COMMIT (the row lock is held until then). A writer's rows go
to one room, or in turn to ten rooms of its own. Runs in a database of its own, dropped at the
end.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import subprocess
import time
import uuid

import asyncpg

SCHEMA = """
CREATE TABLE rooms (id INT PRIMARY KEY, last_seq BIGINT NOT NULL DEFAULT 0);
CREATE TABLE events (room_id INT, seq BIGINT, body TEXT, PRIMARY KEY (room_id, seq));
INSERT INTO rooms (id) SELECT generate_series(1, 20);
"""
NEXT = (
    "WITH next AS (UPDATE rooms SET last_seq = last_seq + 1 WHERE id = $1 RETURNING last_seq)"
    " INSERT INTO events SELECT $1, last_seq, $2 FROM next"
)
BODY = "x" * 100


async def writer(dsn: str, rooms: list[int], rows: int, until: float, times: list[float]) -> int:
    """Transactions of ``rows`` rows, in ``rooms`` in turn, until ``until``; how many
    committed."""
    db = await asyncpg.connect(dsn)
    done = 0
    try:
        while time.monotonic() < until:
            start = time.perf_counter()
            await db.execute("BEGIN")
            for i in range(rows):
                await db.execute(NEXT, rooms[i % len(rooms)], BODY)
            await db.execute("COMMIT")
            times.append((time.perf_counter() - start) * 1000)
            done += 1
    finally:
        await db.close()
    return done


async def case(dsn: str, writers: int, rooms: str, rows: int, seconds: float) -> str:
    """``rooms``: "one" (every writer in room 1), "own" (one room per writer) or "ten" (ten
    rooms per writer)."""
    times: list[float] = []
    until = time.monotonic() + seconds

    def of(i: int) -> list[int]:
        if rooms == "one":
            return [1]
        if rooms == "own":
            return [1 + i]
        return list(range(1 + 10 * i, 11 + 10 * i))

    counts = await asyncio.gather(*(writer(dsn, of(i), rows, until, times) for i in range(writers)))
    commits = sum(counts) / seconds
    shown = {"one": "one room", "own": "a room each", "ten": "10 rooms each"}[rooms]
    return (
        f"| {writers} | {shown} | {rows} | {commits:.0f} | {commits * rows:.0f} |"
        f" {statistics.median(times):.2f} | {sorted(times)[int(len(times) * 0.99)]:.2f} |"
    )


def pg(tool: str, host: str, *args: str) -> None:
    name, _, port = host.partition(":")
    subprocess.run([tool, "-h", name, "-p", port or "5432", *args], check=True)


async def run(host: str, seconds: float) -> None:
    name = f"hubbub_bench_commit_{uuid.uuid4().hex[:8]}"
    pg("createdb", host, name)
    try:
        dsn = f"postgresql://{host}/{name}"
        db = await asyncpg.connect(dsn)
        await db.execute(SCHEMA)
        await db.close()
        print("| writers | rooms | rows per commit | commits/s | rows/s | p50 ms | p99 ms |")
        print("|---|---|---|---|---|---|---|")
        for writers, rooms, rows in [
            (1, "one", 1),
            (2, "own", 1),
            (2, "one", 1),
            (1, "one", 50),
            (1, "ten", 50),
            (2, "ten", 50),
            (2, "one", 50),
        ]:
            print(await case(dsn, writers, rooms, rows, seconds), flush=True)
    finally:
        pg("dropdb", host, "--if-exists", "--force", name)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1:5432")
    parser.add_argument("--seconds", type=float, default=3.0)
    args = parser.parse_args()
    asyncio.run(run(args.host, args.seconds))


if __name__ == "__main__":
    main()
