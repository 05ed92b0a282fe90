"""Scenarios across hubbub nodes that share one PostgreSQL database and one Redis channel.

``spread_latency``: one room whose receivers are split evenly over the nodes, one sender on
the first node at a fixed rate; every receiver takes the send time out of the payload, so the
latency of the receivers on the sender's node (same node) and on the others (cross node: via
Redis) come from the same messages of the same run. ``writes``: senders split over the nodes
and over a few rooms, each waiting for its ack before the next send; one room makes every
write take the same room row lock.

Beside the clients' figures, both report the CPU of every node (summed), of the database's
backends and of Redis, and how many transactions PostgreSQL committed. Run through
``loadgen.py`` (``cluster-fanout``, ``cluster-writes``), which sets the accounts up.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
from dataclasses import dataclass
from typing import Any

from loadgen import (
    HubbubJson,
    WsClient,
    close_all,
    cpu_seconds,
    open_many,
    parse_payload,
    payload,
    percentile,
)

WARMUP = 1.0  # seconds of load before measuring
TAIL = 1.0  # seconds after the last fixed-rate send for its deliveries to arrive
STATS_FLUSH = 1.2  # PostgreSQL backends report their counters at most once a second
REDIS_URL = os.environ.get("HUBBUB_BENCH_REDIS", "redis://127.0.0.1:6379/0")


@dataclass
class NodeRef:
    """One node: how to reach it and its pid (for its CPU time)."""

    target: HubbubJson
    pid: int


class Meters:
    """CPU seconds of the nodes, the database's backends and Redis; the database's commits.

    The backends are those connected to the database when ``open`` runs (the nodes' writers
    and pools keep their connections); Redis is measured only when several nodes share it,
    and other users of the same Redis server count too."""

    def __init__(self, nodes: list[NodeRef], database: str | None) -> None:
        self.nodes = nodes
        self.database = database
        self.db: Any = None
        self.backends: list[int] = []
        self.redis: Any = None

    async def open(self) -> None:
        if self.database:
            import asyncpg

            self.db = await asyncpg.connect(self.database)
            rows = await self.db.fetch(
                "SELECT pid FROM pg_stat_activity"
                " WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
            self.backends = [r["pid"] for r in rows]
        if len(self.nodes) > 1:
            import redis.asyncio as aioredis

            self.redis = aioredis.from_url(REDIS_URL)

    async def close(self) -> None:
        if self.db is not None:
            await self.db.close()
        if self.redis is not None:
            await self.redis.aclose()

    def node_cpu(self) -> list[float]:
        return [cpu_seconds(n.pid) for n in self.nodes]

    def database_cpu(self) -> float:
        total = 0.0
        for pid in self.backends:
            with contextlib.suppress(OSError):
                total += cpu_seconds(pid)
        return total

    async def redis_cpu(self) -> float | None:
        if self.redis is None:
            return None
        info = await self.redis.info("cpu")
        return float(info["used_cpu_user"]) + float(info["used_cpu_sys"])

    async def commits(self) -> int | None:
        if self.db is None:
            return None
        await self.db.execute("SELECT pg_stat_clear_snapshot()")
        value = await self.db.fetchval(
            "SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()"
        )
        return int(value)

    async def snapshot(self) -> dict[str, Any]:
        return {
            "t": time.monotonic(),
            "nodes": self.node_cpu(),
            "database": self.database_cpu(),
            "redis": await self.redis_cpu(),
            "loadgen": cpu_seconds(),
        }


def shares(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    """CPU over the window as shares of one core; the nodes' summed and each node's."""
    wall = after["t"] - before["t"]
    nodes = [b - a for a, b in zip(before["nodes"], after["nodes"], strict=True)]
    out: dict[str, Any] = {
        "server_cpu_share": sum(nodes) / wall,
        "loadgen_cpu_share": (after["loadgen"] - before["loadgen"]) / wall,
    }
    if len(nodes) > 1:
        for i, seconds in enumerate(nodes):
            out[f"node{i}_cpu_share"] = seconds / wall
    if before["database"] or after["database"]:
        out["database_cpu_share"] = (after["database"] - before["database"]) / wall
    if before["redis"] is not None:
        out["redis_cpu_share"] = (after["redis"] - before["redis"]) / wall
    return out


def split(count: int, parts: int) -> list[int]:
    return [count // parts + (1 if i < count % parts else 0) for i in range(parts)]


async def spread_latency(
    nodes: list[NodeRef], receivers: int, rate: float, duration: float, database: str | None
) -> dict[str, Any]:
    """``receivers`` in one room split over the nodes; ``rate`` messages/s from node 0."""
    room = "spread"
    groups: list[list[WsClient]] = []
    first = 0
    for node, count in zip(nodes, split(receivers, len(nodes)), strict=True):
        groups.append(await open_many(node.target, room, count, first))
        first += count
    sender = await nodes[0].target.open_sender(receivers)
    meters = Meters(nodes, database)
    await meters.open()
    await asyncio.sleep(0.5)
    interval = 1 / rate
    first_measured = int(WARMUP * rate)  # messages sent before it are the warm-up
    latencies: list[list[float]] = [[] for _ in nodes]

    def hears(into: list[float]) -> Any:
        def on_text(data: bytes) -> None:
            found = parse_payload(data)
            if found is not None and found[1] >= first_measured:
                into.append((time.monotonic_ns() - found[0]) / 1e6)

        return on_text

    for group, into in zip(groups, latencies, strict=True):
        for client in group:
            client.on_text = hears(into)
    loop = asyncio.get_running_loop()
    t0 = loop.time()
    seq = 0
    before: dict[str, Any] = {}
    while loop.time() - t0 < WARMUP + duration:
        if seq == first_measured:
            before = await meters.snapshot()
        sender.send_text(nodes[0].target.message(room, payload(seq), seq))
        seq += 1
        await asyncio.sleep(max(0.0, t0 + seq * interval - loop.time()))
    await asyncio.sleep(TAIL)
    after = await meters.snapshot()
    await meters.close()
    await close_all([*(c for g in groups for c in g), sender])
    messages = seq - first_measured
    expected = messages * receivers
    delivered = sum(len(x) for x in latencies)
    node_cpu = [b - a for a, b in zip(before["nodes"], after["nodes"], strict=True)]
    result: dict[str, Any] = {
        "messages_per_s": messages / duration,
        "deliveries_per_s": delivered / duration,
        "received_share": delivered / expected if expected else None,
        "server_cpu_us_per_delivery": sum(node_cpu) / delivered * 1e6 if delivered else None,
        "server_cpu_us_per_message": sum(node_cpu) / messages * 1e6,
    }
    if len(nodes) > 1:  # the other nodes' share: what each payload costs a node it reaches
        for i, seconds in enumerate(node_cpu):
            result[f"node{i}_cpu_us_per_message"] = seconds / messages * 1e6
    same = latencies[0]
    cross = [v for x in latencies[1:] for v in x]
    result["same_p50_ms"] = percentile(same, 0.5)
    result["same_p99_ms"] = percentile(same, 0.99)
    if cross:
        result["cross_p50_ms"] = percentile(cross, 0.5)
        result["cross_p99_ms"] = percentile(cross, 0.99)
        result["cross_over_same_p50"] = result["cross_p50_ms"] / result["same_p50_ms"]
        result["cross_over_same_p99"] = result["cross_p99_ms"] / result["same_p99_ms"]
    result.update(shares(before, after))
    return result


async def writes(
    nodes: list[NodeRef], senders: int, rooms: int, duration: float, database: str | None
) -> dict[str, Any]:
    """Sender i on node i mod nodes, in room ``hot{i mod rooms}``, one send in flight each."""
    clients = [
        await nodes[i % len(nodes)].target.open_sender(i)  # token i: an account of its own
        for i in range(senders)
    ]
    meters = Meters(nodes, database)
    await meters.open()
    await asyncio.sleep(STATS_FLUSH)  # the setup's commits are in the counter
    commits_0 = await meters.commits()
    loop = asyncio.get_running_loop()
    load_0 = loop.time()
    measure_from = load_0 + WARMUP
    stop_at = measure_from + duration
    acks: list[float] = []
    per_node = [0] * len(nodes)
    total = [0]  # acks over the whole load, warm-up included (for acks per commit)
    errors = [0]

    async def run(index: int, client: WsClient) -> None:
        room = f"hot{index % rooms}".encode()
        waiting: dict[int, asyncio.Future[bool]] = {}

        def on_text(data: bytes) -> None:
            at = data.find(b'"re":')
            if at < 0:
                return
            re = int(data[at + 5 : data.index(b",", at)])
            future = waiting.pop(re, None)
            if future is not None and not future.done():
                future.set_result(not data.startswith(b'{"type":"error"'))

        client.on_text = on_text
        seq = 0
        while loop.time() < stop_at:
            seq += 1
            future: asyncio.Future[bool] = loop.create_future()
            waiting[seq] = future
            sent_at = time.monotonic_ns()
            client.send_text(
                b'{"type":"send","id":%d,"room":"%s","client_msg_id":"%d-%d-%d","body":"%s"}'
                % (seq, room, os.getpid(), index, seq, payload(seq))
            )
            try:
                ok = await asyncio.wait_for(future, 10)
            except TimeoutError:
                errors[0] += 1
                break
            if not ok:
                errors[0] += 1
                continue
            total[0] += 1
            if loop.time() >= measure_from:
                acks.append((time.monotonic_ns() - sent_at) / 1e6)
                per_node[index % len(nodes)] += 1

    async def measure() -> tuple[dict[str, Any], dict[str, Any]]:
        await asyncio.sleep(max(0.0, measure_from - loop.time()))
        before = await meters.snapshot()
        await asyncio.sleep(max(0.0, stop_at - loop.time()))
        return before, await meters.snapshot()

    window = asyncio.ensure_future(measure())
    await asyncio.gather(*(run(i, c) for i, c in enumerate(clients)))
    load_s = loop.time() - load_0
    before, after = await window
    await asyncio.sleep(STATS_FLUSH)
    commits_1 = await meters.commits()
    await meters.close()
    await close_all(clients)
    count = len(acks)
    node_cpu = sum(after["nodes"]) - sum(before["nodes"])
    result: dict[str, Any] = {
        "acked_per_s": count / duration,
        "p50_ms": percentile(acks, 0.5),
        "p99_ms": percentile(acks, 0.99),
        "errors": errors[0],
        "server_cpu_us_per_ack": node_cpu / count * 1e6 if count else None,
    }
    if len(nodes) > 1:
        for i, n in enumerate(per_node):
            result[f"node{i}_acked_per_s"] = n / duration
    if commits_0 is not None and commits_1 is not None:
        commits = commits_1 - commits_0
        result["db_commits_per_s"] = commits / load_s
        result["acks_per_commit"] = total[0] / commits if commits else None
        database_cpu = after["database"] - before["database"]
        result["database_cpu_us_per_ack"] = database_cpu / count * 1e6 if count else None
    result.update(shares(before, after))
    return result
