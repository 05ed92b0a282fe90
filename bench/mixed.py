"""A conversation workload for hubbub.v1: sends, reactions, edits and deletes, each awaiting
its reply, measured beside plain sends on the same server and the same connections.

Each of N clients is signed in as its own account, a member of one of a few rooms; it sends
(70 %), toggles a reaction on one of its room's recent messages (15 %), edits one of its own
earlier messages (10 %) or deletes one (5 %). A send is answered by ``sent`` (after its
commit), the others by ``current``; replies are matched to requests by ``id``/``re``.

A run alternates short phases on the same connections: plain sends only, then the mix, and
so on (``ROUNDS`` of each, ``duration`` measured seconds of each workload in all). Comparing
phases of one run keeps the ratio mixed ÷ plain meaningful when other processes share the
machine: a burst of other work falls on both sides alike. Either each client keeps one
operation in flight (``rate`` None: saturated), or the clients together offer a fixed total
rate, each at its own evenly spaced times, and the latency of the replies is what counts.
"""

from __future__ import annotations

import asyncio
import os
import random
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from loadgen import PAYLOAD_SIZE, WsClient, close_all, cpu_seconds, percentile

KINDS = ("send", "react", "edit", "delete")
MIX = {"send": 0.70, "react": 0.15, "edit": 0.10, "delete": 0.05}
PLAIN = {"send": 1.0}
EMOJI = ("👍", "🎉", "😄", "👀", ":ship:")  # few, so no message nears the 20-emoji cap
ROUNDS = 5  # plain, mixed, plain, mixed, ...
WARMUP = 0.5  # seconds at the start of each phase that are not measured
PREFILL = 5  # messages each client sends before the first phase (something to react to)
RECENT = 200  # a room's messages that reactions choose from: the newest ones
OWN_RECENT = 20  # a client edits one of its newest own messages


@dataclass
class Phase:
    """What one phase (all its rounds) measured."""

    latencies: dict[str, list[float]] = field(default_factory=lambda: {k: [] for k in KINDS})
    errors: dict[str, int] = field(default_factory=lambda: dict.fromkeys(KINDS, 0))
    seconds: float = 0.0  # measured time, summed over rounds
    server_cpu: float = 0.0
    fallbacks: int = 0  # edits, deletes or reactions sent as sends: no message to act on


@dataclass
class Room:
    name: str
    recent: deque[int] = field(default_factory=lambda: deque(maxlen=RECENT))
    deleted: set[int] = field(default_factory=set)  # deleted, or a delete is on its way


class Client:
    """One connection and what its user knows: its own live messages and its reactions."""

    def __init__(self, index: int, ws: WsClient, room: Room, rng: random.Random) -> None:
        self.index, self.ws, self.room, self.rng = index, ws, room, rng
        self.own: list[int] = []
        self.reacted: set[tuple[int, bytes]] = set()
        self.pending: dict[int, tuple[str, int, asyncio.Future[None] | None]] = {}
        self.next_id = 0
        self.phase: Phase | None = None  # where replies are recorded; None: not measured
        ws.on_text = self.on_reply

    def on_reply(self, data: bytes) -> None:
        at = data.find(b'"re":')
        if at < 0:
            return
        re = int(data[at + 5 : data.index(b",", at)])
        found = self.pending.pop(re, None)
        if found is None:
            return
        kind, sent_ns, done = found
        failed = data.startswith(b'{"type":"error"')
        if kind == "send" and not failed:
            at = data.index(b'"seq":', at)
            seq = int(data[at + 6 : data.index(b",", at)])
            self.own.append(seq)
            self.room.recent.append(seq)
        phase = self.phase
        if phase is not None:
            if failed:
                phase.errors[kind] += 1
            else:
                phase.latencies[kind].append((time.monotonic_ns() - sent_ns) / 1e6)
        if done is not None and not done.done():
            done.set_result(None)

    def issue(self, kind: str, wait: bool) -> asyncio.Future[None] | None:
        """Send one operation of ``kind`` (a send if there is nothing to act on)."""
        frame = self.request(kind)
        if frame is None:
            kind = "send"
            frame = self.request(kind)
            if self.phase is not None:
                self.phase.fallbacks += 1
        assert frame is not None
        done = asyncio.get_running_loop().create_future() if wait else None
        self.pending[self.next_id] = (kind, time.monotonic_ns(), done)
        self.ws.send_text(frame)
        return done

    def request(self, kind: str) -> bytes | None:
        self.next_id += 1
        rid, room = self.next_id, self.room.name.encode()
        if kind == "send":
            return b'{"type":"send","id":%d,"room":"%s","client_msg_id":"%d-%d-%d","body":"%s"}' % (
                rid,
                room,
                os.getpid(),
                self.index,
                rid,
                body(rid, b"sent"),
            )
        if kind == "react":
            seq = self.recent_message()
            if seq is None:
                return None
            emoji = self.rng.choice(EMOJI).encode()
            on = (seq, emoji) not in self.reacted
            (self.reacted.add if on else self.reacted.discard)((seq, emoji))
            return b'{"type":"react","id":%d,"room":"%s","seq":%d,"emoji":"%s","on":%s}' % (
                rid,
                room,
                seq,
                emoji,
                b"true" if on else b"false",
            )
        if kind == "edit":
            if not self.own:
                return None
            seq = self.rng.choice(self.own[-OWN_RECENT:])
            return b'{"type":"edit","id":%d,"room":"%s","seq":%d,"body":"%s"}' % (
                rid,
                room,
                seq,
                body(rid, b"edited"),
            )
        if kind == "delete":
            if not self.own:
                return None
            seq = self.own.pop(self.rng.randrange(len(self.own)))
            self.room.deleted.add(seq)
            return b'{"type":"delete","id":%d,"room":"%s","seq":%d}' % (rid, room, seq)
        raise ValueError(kind)

    def recent_message(self) -> int | None:
        recent, deleted = self.room.recent, self.room.deleted
        for _ in range(8):
            if not recent:
                return None
            seq = recent[self.rng.randrange(len(recent))]
            if seq not in deleted:
                return seq
        return None


def body(rid: int, tag: bytes) -> bytes:
    head = b"%s %d %d " % (tag, time.monotonic_ns(), rid)
    return head + b"x" * (PAYLOAD_SIZE - len(head))


def choose(rng: random.Random, mix: dict[str, float]) -> str:
    kinds = list(mix)
    return rng.choices(kinds, weights=[mix[k] for k in kinds])[0]


async def run_phase(
    clients: list[Client],
    mix: dict[str, float],
    phase: Phase,
    pid: int,
    duration: float,
    rate: float | None,
) -> None:
    """One phase: ``WARMUP`` s unmeasured, then ``duration`` s whose replies are recorded."""
    loop = asyncio.get_running_loop()
    start = loop.time()
    measure_from, stop_at = start + WARMUP, start + WARMUP + duration

    async def saturated(client: Client) -> None:
        while loop.time() < stop_at:
            done = client.issue(choose(client.rng, mix), wait=True)
            assert done is not None
            try:
                await asyncio.wait_for(done, 10)
            except TimeoutError:
                return

    async def paced(client: Client) -> None:
        assert rate
        interval = len(clients) / rate
        at = start + interval * client.index / len(clients)  # spread over the interval
        while at < stop_at:
            await asyncio.sleep(max(0.0, at - loop.time()))
            client.issue(choose(client.rng, mix), wait=False)
            at += interval

    async def measure() -> None:
        await asyncio.sleep(max(0.0, measure_from - loop.time()))
        for c in clients:
            c.phase = phase
        cpu_0 = cpu_seconds(pid)
        await asyncio.sleep(max(0.0, stop_at - loop.time()))
        for c in clients:
            c.phase = None
        phase.server_cpu += cpu_seconds(pid) - cpu_0
        phase.seconds += loop.time() - measure_from

    drive = saturated if rate is None else paced
    await asyncio.gather(measure(), *(drive(c) for c in clients))
    # Replies still on their way belong to no phase; let them land before the next one.
    deadline = loop.time() + 10
    while any(c.pending for c in clients) and loop.time() < deadline:
        await asyncio.sleep(0.01)


async def mixed(
    target: Any, pid: int, clients: int, rooms: list[str], duration: float, rate: float | None
) -> dict[str, Any]:
    """Plain and mixed phases, ``ROUNDS`` of each, on ``clients`` connections; ``duration``
    is the measured time of each workload, over all its phases."""
    shared = [Room(name) for name in rooms]
    sockets = [await target.open_sender(i) for i in range(clients)]
    group = [
        Client(i, ws, shared[i % len(shared)], random.Random(i)) for i, ws in enumerate(sockets)
    ]
    for _ in range(PREFILL):
        await asyncio.gather(*(c.issue("send", wait=True) for c in group))  # type: ignore[misc]
    plain, mix = Phase(), Phase()
    gen_0, t0 = cpu_seconds(), time.monotonic()
    for _ in range(ROUNDS):
        await run_phase(group, PLAIN, plain, pid, duration / ROUNDS, rate)
        await run_phase(group, MIX, mix, pid, duration / ROUNDS, rate)
    gen_share = (cpu_seconds() - gen_0) / (time.monotonic() - t0)
    lost = sum(len(c.pending) for c in group)
    await close_all(sockets)
    result: dict[str, Any] = {}
    result.update(summary("plain", plain))
    result.update(summary("mixed", mix))
    for kind in KINDS:
        result.update(summary(f"mixed_{kind}", mix, kind))
    result["ops_ratio"] = ratio(result["mixed_ops_per_s"], result["plain_ops_per_s"])
    result["p50_ratio"] = ratio(result["mixed_p50_ms"], result["plain_p50_ms"])
    result["p99_ratio"] = ratio(result["mixed_p99_ms"], result["plain_p99_ms"])
    result["cpu_per_op_ratio"] = ratio(
        result["mixed_server_cpu_us_per_op"], result["plain_server_cpu_us_per_op"]
    )
    result["mixed_fallbacks"] = mix.fallbacks
    result["unanswered"] = lost
    result["loadgen_cpu_share"] = gen_share
    if rate:
        result["offered_per_s"] = rate
    return result


def summary(prefix: str, phase: Phase, kind: str | None = None) -> dict[str, Any]:
    kinds = KINDS if kind is None else (kind,)
    times = [t for k in kinds for t in phase.latencies[k]]
    out: dict[str, Any] = {
        f"{prefix}_ops_per_s": len(times) / phase.seconds if phase.seconds else None,
        f"{prefix}_p50_ms": percentile(times, 0.5) if times else None,
        f"{prefix}_p99_ms": percentile(times, 0.99) if times else None,
        f"{prefix}_max_ms": max(times) if times else None,
        f"{prefix}_errors": sum(phase.errors[k] for k in kinds),
    }
    if kind is None:
        out[f"{prefix}_server_cpu_share"] = phase.server_cpu / phase.seconds
        out[f"{prefix}_server_cpu_us_per_op"] = (
            phase.server_cpu / len(times) * 1e6 if times else None
        )
    return out


def ratio(a: float | None, b: float | None) -> float | None:
    return None if a is None or not b else a / b
