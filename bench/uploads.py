"""Upload throughput and the server's memory: ``-n`` parallel uploads of ``--mib`` MiB each.

``uploads.py hubbub-json uploads --port P --pid PID``: ``-n`` accounts, members of one room
``files``, each send one file of random bytes (so nothing in it looks like an image, and no
two are alike) at the same moment as the raw body of ``POST
/api/v1/rooms/files/files?name=…`` with its Content-Length, over a connection of its own.
One account per upload: the server runs at most ``HUBBUB_MAX_UPLOADS_PER_USER`` (4) of one
user's uploads at once. The server's RSS is sampled every 20 ms from ``/proc/<pid>/status``:
before (after a second of rest), its peak during the uploads, and 2 s after the last answer.
Throughput is the bytes of the uploads that were answered 201 over the wall time from the
first request to the last answer; beside it, what the disk takes of the same bytes written
straight to files by as many threads (``disk_rate``), right after.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))

from loadgen import cpu_seconds, hubbub_accounts, percentile, rss_kib  # noqa: E402

NAME = "uploads"
ROOM = "files"
MIB = 1024 * 1024
SAMPLE_EVERY = 0.02


def disk_rate(bodies: list[bytes]) -> float:
    """MiB/s of the same bodies written by as many threads straight to files (64 KiB at a
    time, each flushed, then an fsync), on the filesystem of the servers' data dirs: the bound
    the disk sets, measured right after the uploads, under the same load on the machine."""
    where = BENCH / ".work" if (BENCH / ".work").is_dir() else None
    with tempfile.TemporaryDirectory(prefix="uploads-disk-", dir=where) as folder:

        def write(index: int) -> None:
            data = memoryview(bodies[index])
            with open(Path(folder) / f"{index}", "wb") as f:
                for at in range(0, len(data), 65536):
                    f.write(data[at : at + 65536])
                    f.flush()
                os.fsync(f.fileno())

        started = time.monotonic()
        threads = [threading.Thread(target=write, args=(i,)) for i in range(len(bodies))]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        return sum(map(len, bodies)) / MIB / (time.monotonic() - started)


async def measure(port: int, pid: int, uploads: int, mib: int) -> dict[str, Any]:
    import aiohttp

    base = f"http://127.0.0.1:{port}"
    tokens = await asyncio.to_thread(hubbub_accounts, base, uploads, [ROOM])
    bodies = [os.urandom(mib * MIB) for _ in range(uploads)]
    await asyncio.sleep(1.0)
    rss_before = rss_kib(pid)
    peak = [rss_before]
    sampling = True

    async def sample() -> None:
        while sampling:
            with contextlib.suppress(OSError):
                peak[0] = max(peak[0], rss_kib(pid))
            await asyncio.sleep(SAMPLE_EVERY)

    sampler = asyncio.ensure_future(sample())
    times: list[float] = []
    statuses: list[int] = []
    loop = asyncio.get_running_loop()

    async def upload(http: aiohttp.ClientSession, index: int) -> None:
        headers = {
            "Authorization": f"Bearer {tokens[index]}",
            "Content-Type": "application/octet-stream",
            "Content-Length": str(len(bodies[index])),
        }
        url = f"/api/v1/rooms/{ROOM}/files"
        t = loop.time()
        async with http.post(
            url, params={"name": f"upload{index}.bin"}, data=bodies[index], headers=headers
        ) as response:
            answer = await response.read()
        statuses.append(response.status)
        if response.status == 201:
            times.append(loop.time() - t)
            size = json.loads(answer).get("size")
            if size != len(bodies[index]):
                raise RuntimeError(f"upload {index}: the server counted {size} bytes")
        else:
            print(f"upload {index}: HTTP {response.status} {answer[:200]!r}", file=sys.stderr)

    connector = aiohttp.TCPConnector(limit=uploads, force_close=True)
    timeout = aiohttp.ClientTimeout(total=300)
    async with aiohttp.ClientSession(base, connector=connector, timeout=timeout) as http:
        cpu_0, gen_0, t0 = cpu_seconds(pid), cpu_seconds(), loop.time()
        await asyncio.gather(*(upload(http, i) for i in range(uploads)))
        wall = loop.time() - t0
        server_cpu, gen_cpu = cpu_seconds(pid) - cpu_0, cpu_seconds() - gen_0
    await asyncio.sleep(2.0)
    sampling = False
    await sampler
    rss_after = rss_kib(pid)
    stored_mib = mib * len(times)
    disk = await asyncio.to_thread(disk_rate, bodies)
    return {
        "uploads": uploads,
        "ok": len(times),
        "failed": uploads - len(times),
        "mib_per_s": stored_mib / wall,
        "wall_s": wall,
        "upload_p50_s": percentile(times, 0.5),
        "upload_max_s": max(times) if times else None,
        "rss_before_kib": rss_before,
        "rss_peak_kib": peak[0],
        "rss_after_kib": rss_after,
        "rss_peak_growth_mib": (peak[0] - rss_before) / 1024,
        "rss_after_growth_mib": (rss_after - rss_before) / 1024,
        "disk_mib_per_s": disk,
        "over_disk": stored_mib / wall / disk,
        "server_cpu_ms_per_mib": server_cpu / stored_mib * 1000 if stored_mib else None,
        "server_cpu_share": server_cpu / wall,
        "loadgen_cpu_share": gen_cpu / wall,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("target")
    parser.add_argument("scenario", choices=[NAME])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--pid", type=int, required=True, help="the server's pid, for /proc")
    parser.add_argument("-n", type=int, default=10, help="parallel uploads")
    parser.add_argument("--mib", type=int, default=25, help="MiB per upload")
    args = parser.parse_args()
    result = asyncio.run(measure(args.port, args.pid, args.n, args.mib))
    if result["failed"]:
        json.dump(result, sys.stderr)
        raise SystemExit(f"{result['failed']} of {result['uploads']} uploads failed")
    json.dump(result, sys.stdout)
    print()


if __name__ == "__main__":
    main()
