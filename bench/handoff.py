"""What the hand-offs around hubbub's storage writer cost: the event loop puts a job on the
writer thread's queue, the thread takes it and hands the result back with
``call_soon_threadsafe`` (the path of every write, without the commit), measured from the put
to the callback on the loop. Back to back, then at the paces of the fixed-rate scenario (200,
20 and 4 hand-offs a second), where both threads sleep between jobs and each wake-up starts
cold.

    python bench/handoff.py
"""

from __future__ import annotations

import asyncio
import queue
import statistics
import threading
import time
from collections.abc import Callable

import uvloop

BACK_TO_BACK = 2000
PACED_SECONDS = 4.0  # per pace


def writer(jobs: queue.Queue[Callable[[], None] | None]) -> None:
    while (job := jobs.get()) is not None:
        job()


async def round_trip(loop: asyncio.AbstractEventLoop, jobs: queue.Queue[object]) -> float:
    """One hand-off there and back; its milliseconds."""
    done = loop.create_future()
    start = time.perf_counter()
    jobs.put(lambda: loop.call_soon_threadsafe(done.set_result, None))
    await done
    return (time.perf_counter() - start) * 1000


def report(label: str, times: list[float]) -> None:
    times.sort()
    print(
        f"{label}: p50 {statistics.median(times) * 1000:.0f} µs,"
        f" p99 {times[int(len(times) * 0.99)] * 1000:.0f} µs"
    )


async def main() -> None:
    loop = asyncio.get_running_loop()
    jobs: queue.Queue[object] = queue.Queue()
    thread = threading.Thread(target=writer, args=(jobs,), daemon=True)
    thread.start()
    report("back to back", [await round_trip(loop, jobs) for _ in range(BACK_TO_BACK)])
    for rate in (200, 20, 4):
        times = []
        interval = 1 / rate
        next_at = time.perf_counter()
        for _ in range(int(PACED_SECONDS * rate)):
            next_at += interval
            await asyncio.sleep(max(0.0, next_at - time.perf_counter()))
            times.append(await round_trip(loop, jobs))
        report(f"{rate:3d} hand-offs/s", times)
    jobs.put(None)
    thread.join()


if __name__ == "__main__":
    uvloop.run(main())
