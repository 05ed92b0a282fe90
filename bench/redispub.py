"""What Redis pub/sub costs a hubbub node, without hubbub: the rate at which one publisher
that awaits each ``PUBLISH`` (as the broker's sender task does) gets payloads out, the same
with 64 ``PUBLISH`` per round trip (a pipeline), and the CPU time each payload costs the
publishing process, every subscribing process (redis-py's ``get_message`` loop, as the
broker reads) and Redis.

    python bench/redispub.py [--url redis://127.0.0.1:6379/0] [--seconds 3] [--subscribers 2]

Payloads are 300 bytes, about an event of a 100-byte message as the broker encodes it. Each
subscriber is a process of its own that counts what it gets on a fresh channel and reports
its CPU time; Redis's CPU time counts everything else that uses that server meanwhile.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import time
import uuid

import redis.asyncio as aioredis

PAYLOAD = b"x" * 300
PIPELINE = 64


def cpu() -> float:
    times = os.times()
    return times.user + times.system


async def subscribe(url: str, channel: str) -> None:
    """Count messages until "stop"; print the count and CPU seconds spent while receiving."""
    client = aioredis.from_url(url)
    pubsub = client.pubsub()
    await pubsub.subscribe(channel)
    count, started = 0, None
    while True:
        message = await pubsub.get_message(timeout=10)
        if message is None or message["type"] != "message":
            if message is not None:
                print("ready", flush=True)
            continue
        if message["data"] == b"stop":
            break
        if started is None:
            started = cpu()
        count += 1
    print(json.dumps({"count": count, "cpu_s": cpu() - (started or cpu())}), flush=True)
    await pubsub.aclose()
    await client.aclose()


async def publish(url: str, seconds: float, subscribers: int, batch: int) -> str:
    channel = f"hubbub_bench_pub_{uuid.uuid4().hex[:8]}"
    procs = [
        subprocess.Popen(
            [sys.executable, __file__, "--url", url, "--subscribe", channel],
            stdout=subprocess.PIPE,
            text=True,
        )
        for _ in range(subscribers)
    ]
    try:
        for p in procs:
            assert p.stdout is not None
            p.stdout.readline()  # subscribed
        client = aioredis.from_url(url)
        redis_0 = await redis_cpu(client)
        cpu_0, t0, sent = cpu(), time.monotonic(), 0
        while time.monotonic() - t0 < seconds:
            if batch == 1:
                await client.publish(channel, PAYLOAD)
            else:
                async with client.pipeline(transaction=False) as pipe:
                    for _ in range(batch):
                        pipe.publish(channel, PAYLOAD)
                    await pipe.execute()
            sent += batch
        elapsed, spent = time.monotonic() - t0, cpu() - cpu_0
        redis_spent = await redis_cpu(client) - redis_0
        await client.publish(channel, b"stop")
        await client.aclose()
        got = [json.loads(p.communicate(timeout=60)[0].splitlines()[-1]) for p in procs]
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()
    received = min(g["count"] for g in got)
    sub_us = max(g["cpu_s"] / g["count"] * 1e6 for g in got if g["count"])
    return (
        f"| {batch} | {sent / elapsed:.0f} | {spent / sent * 1e6:.1f} | {sub_us:.1f} |"
        f" {redis_spent / sent * 1e6:.1f} | {received / sent * 100:.0f} % |"
    )


async def redis_cpu(client: aioredis.Redis) -> float:
    info = await client.info("cpu")
    return float(info["used_cpu_user"]) + float(info["used_cpu_sys"])


async def run(url: str, seconds: float, subscribers: int) -> None:
    print(f"{subscribers} subscriber processes")
    print(
        "| PUBLISH per round trip | payloads/s | publisher µs/payload | subscriber µs/payload |"
        " Redis µs/payload | received |"
    )
    print("|---|---|---|---|---|---|")
    for batch in (1, PIPELINE):
        print(await publish(url, seconds, subscribers, batch), flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--url", default="redis://127.0.0.1:6379/0")
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--subscribers", type=int, default=2)
    parser.add_argument("--subscribe", metavar="CHANNEL", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.subscribe:
        asyncio.run(subscribe(args.url, args.subscribe))
    else:
        asyncio.run(run(args.url, args.seconds, args.subscribers))


if __name__ == "__main__":
    main()
