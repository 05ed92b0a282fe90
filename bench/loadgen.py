"""Load generator for hubbub and its peers: raw WebSocket clients on uvloop, one process.

Every client is a bare ``asyncio.Protocol`` that parses frame headers itself and looks inside
a payload only when a scenario needs a timestamp from it, so the generator's cost per received
frame stays well below the servers' (it reports its own CPU beside theirs). Client frames use
the all-zero masking key, which RFC 6455 allows and which makes masking free.

One run = one target x one scenario; the result is one JSON object on stdout.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import json
import os
import random
import struct
import sys
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import uvloop

MARK = b"BNCH "
PAYLOAD_SIZE = 100
# Connections opened at once: no more than the smallest listen backlog among the servers
# (asyncio's default of 100, which `websockets` keeps), so that no SYN is dropped.
WAVE = 100
TICKS = os.sysconf("SC_CLK_TCK")


# --- measuring ------------------------------------------------------------------------------


def cpu_seconds(pid: int | str = "self") -> float:
    """User + system CPU time of a process (and its threads), from /proc."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def rss_kib(pid: int) -> int:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError("no VmRSS")


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def payload(seq: int, tag: bytes = b"A") -> bytes:
    head = MARK + b"%020d %010d " % (time.monotonic_ns(), seq) + tag + b" "
    return head + b"x" * (PAYLOAD_SIZE - len(head))


def parse_payload(data: bytes) -> tuple[int, int, bytes] | None:
    """(timestamp ns, seq, tag) of a payload found anywhere in a frame, or None."""
    at = data.find(MARK)
    if at < 0:
        return None
    start = at + len(MARK)
    return (
        int(data[start : start + 20]),
        int(data[start + 21 : start + 31]),
        data[start + 32 : start + 33],
    )


# --- a raw WebSocket client ---------------------------------------------------------------


def client_frame(opcode: int, data: bytes) -> bytes:
    """A masked client frame with the zero key (so the payload goes as it is)."""
    n = len(data)
    if n < 126:
        head = struct.pack("!BB", 0x80 | opcode, 0x80 | n)
    elif n < 65536:
        head = struct.pack("!BBH", 0x80 | opcode, 0x80 | 126, n)
    else:
        head = struct.pack("!BBQ", 0x80 | opcode, 0x80 | 127, n)
    return head + b"\x00\x00\x00\x00" + data


class WsClient(asyncio.Protocol):
    """Counts every text frame; hands the payload to ``on_text`` when one is set."""

    def __init__(self, host: str, path: str, headers: dict[str, str]) -> None:
        self.host, self.path, self.headers = host, path, headers
        self.transport: asyncio.Transport | None = None
        self.upgraded = asyncio.get_running_loop().create_future()
        self.closed = asyncio.get_running_loop().create_future()
        self.buf = b""
        self.frames = 0
        self.on_text: Callable[[bytes], None] | None = None
        self.on_chunk: Callable[[int], None] | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport) or hasattr(transport, "write")
        self.transport = transport  # type: ignore[assignment]
        key = base64.b64encode(os.urandom(16)).decode()
        lines = [
            f"GET {self.path} HTTP/1.1",
            f"Host: {self.host}",
            "Upgrade: websocket",
            "Connection: Upgrade",
            f"Sec-WebSocket-Key: {key}",
            "Sec-WebSocket-Version: 13",
            *(f"{k}: {v}" for k, v in self.headers.items()),
        ]
        transport.write(("\r\n".join(lines) + "\r\n\r\n").encode())  # type: ignore[attr-defined]

    def data_received(self, data: bytes) -> None:
        buf = self.buf + data if self.buf else data
        if not self.upgraded.done():
            end = buf.find(b"\r\n\r\n")
            if end < 0:
                self.buf = buf
                return
            status = buf[: buf.find(b"\r\n")]
            if b" 101 " not in status:
                self.upgraded.set_exception(RuntimeError(f"handshake refused: {status!r}"))
                return
            self.upgraded.set_result(None)
            buf = buf[end + 4 :]
        i, n, count = 0, len(buf), 0
        on_text = self.on_text
        while n - i >= 2:
            length = buf[i + 1] & 0x7F
            head = 2
            if length == 126:
                if n - i < 4:
                    break
                length = (buf[i + 2] << 8) | buf[i + 3]
                head = 4
            elif length == 127:
                if n - i < 10:
                    break
                length = int.from_bytes(buf[i + 2 : i + 10], "big")
                head = 10
            end = i + head + length
            if end > n:
                break
            opcode = buf[i] & 0x0F
            if opcode == 1:
                count += 1
                if on_text is not None:
                    on_text(buf[i + head : end])
            elif opcode == 9:  # ping → pong
                self.send(10, buf[i + head : end])
            elif opcode == 8 and self.transport is not None:
                self.transport.close()
            i = end
        self.buf = buf[i:] if i < n else b""
        if count:
            self.frames += count
            if self.on_chunk is not None:
                self.on_chunk(count)

    def send(self, opcode: int, data: bytes) -> None:
        assert self.transport is not None
        self.transport.write(client_frame(opcode, data))

    def send_text(self, data: bytes) -> None:
        self.send(1, data)

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.upgraded.done():
            self.upgraded.set_exception(ConnectionError("closed during the handshake"))
        if not self.closed.done():
            self.closed.set_result(None)


# --- targets: how each server is spoken to ---------------------------------------------------


@dataclass
class Target:
    """One server under test. ``room`` is how connections are grouped."""

    name: str
    host: str
    port: int
    tokens: list[str] = field(default_factory=list)
    local_addrs: list[str] = field(default_factory=lambda: ["127.0.0.1"])
    _next_addr: int = 0

    async def open(self, room: str, index: int) -> WsClient:
        path, headers = self.handshake(room, index)
        addr = self.local_addrs[self._next_addr % len(self.local_addrs)]
        self._next_addr += 1
        loop = asyncio.get_running_loop()
        _, client = await loop.create_connection(
            lambda: WsClient(f"{self.host}:{self.port}", path, headers),
            self.host,
            self.port,
            local_addr=(addr, 0),
        )
        await asyncio.wait_for(client.upgraded, 10)
        await self.join(client, room, index)
        return client

    def handshake(self, room: str, index: int) -> tuple[str, dict[str, str]]:
        return f"/{room}", {}

    async def join(self, client: WsClient, room: str, index: int) -> None:
        """Ready to receive the room's messages when this returns."""

    def message(self, room: str, data: bytes, seq: int) -> bytes:
        return data


async def wait_frames(client: WsClient, count: int, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while client.frames < count:
        if time.monotonic() > deadline:
            raise TimeoutError(f"expected {count} frames, got {client.frames}")
        await asyncio.sleep(0.001)


class PlainTarget(Target):
    """The seed's relays and their peers: a connection's room is its path."""


class HubbubPlain(Target):
    """hubbub's plain-text protocol on ``/``: every guest is in ``lobby``."""

    def handshake(self, room: str, index: int) -> tuple[str, dict[str, str]]:
        # Guests stay anonymous: naming each with start_<name> would relay N x N frames
        # during setup, which is not part of the measured job.
        return "/", {}


class HubbubJson(Target):
    """hubbub.v1: bearer token at the handshake, then ``sync`` to receive the room live."""

    def handshake(self, room: str, index: int) -> tuple[str, dict[str, str]]:
        token = self.tokens[index % len(self.tokens)]
        return "/", {"Sec-WebSocket-Protocol": "hubbub.v1", "Authorization": f"Bearer {token}"}

    async def join(self, client: WsClient, room: str, index: int) -> None:
        await wait_frames(client, 1)  # ready
        client.send_text(b'{"type":"sync","id":1,"since":{}}')
        await wait_frames(client, 2)  # synced
        client.frames = 0

    def message(self, room: str, data: bytes, seq: int) -> bytes:
        return b'{"type":"send","room":"%s","client_msg_id":"%d-%d","body":"%s"}' % (
            room.encode(),
            os.getpid(),
            seq,
            data,
        )

    async def open_sender(self, index: int) -> WsClient:
        """A connection that sends and gets acks but follows no room."""
        path, headers = self.handshake("", index)
        loop = asyncio.get_running_loop()
        _, client = await loop.create_connection(
            lambda: WsClient(f"{self.host}:{self.port}", path, headers), self.host, self.port
        )
        await asyncio.wait_for(client.upgraded, 10)
        await wait_frames(client, 1)
        client.frames = 0
        return client


class SocketIo(Target):
    """python-socketio: Engine.IO v4 over a WebSocket; ``join`` puts the socket in a room."""

    def handshake(self, room: str, index: int) -> tuple[str, dict[str, str]]:
        return "/socket.io/?EIO=4&transport=websocket", {}

    async def join(self, client: WsClient, room: str, index: int) -> None:
        def engine_io(data: bytes) -> None:
            if data == b"2":  # Engine.IO ping
                client.send_text(b"3")

        client.on_text = engine_io
        await wait_frames(client, 1)  # 0{...} open
        client.send_text(b"40")
        await wait_frames(client, 2)  # 40{sid}
        client.send_text(b'42["join","%s"]' % room.encode())
        await wait_frames(client, 3)  # 42["joined"]
        client.frames = 0
        client.on_text = None

    def message(self, room: str, data: bytes, seq: int) -> bytes:
        return b'42["msg","%s"]' % data


TARGETS: dict[str, type[Target]] = {
    "hubbub-json": HubbubJson,
    "hubbub-plain": HubbubPlain,
    "seed": PlainTarget,
    "node-ws": PlainTarget,
    "websockets": PlainTarget,
    "socketio": SocketIo,
}


# --- scenarios ---------------------------------------------------------------------------------


async def open_many(target: Target, room: str, count: int, first: int = 0) -> list[WsClient]:
    clients: list[WsClient] = []
    for start in range(0, count, WAVE):  # in waves, so the accept queue never overflows
        wave = [target.open(room, first + i) for i in range(start, min(count, start + WAVE))]
        clients += await asyncio.gather(*wave)
    return clients


async def open_sender(target: Target, room: str, index: int) -> WsClient:
    if isinstance(target, HubbubJson):
        return await target.open_sender(index)
    return await target.open(room, index)


async def fanout(
    target: Target, pid: int, receivers: int, duration: float, window: int
) -> dict[str, Any]:
    """One sender as fast as it can, with at most ``window`` messages not yet delivered to all."""
    room = "fanout"
    clients = await open_many(target, room, receivers)
    sender = await open_sender(target, room, receivers)
    await asyncio.sleep(0.5)
    delivered = 0
    wake = asyncio.Event()
    sent = 0

    def on_chunk(count: int) -> None:
        nonlocal delivered
        delivered += count
        if (sent * receivers - delivered) < window * receivers // 2:
            wake.set()

    for c in clients:
        c.on_chunk = on_chunk
    deliveries_0 = cpu_0 = gen_0 = t0 = 0.0
    started = False
    loop = asyncio.get_running_loop()
    begin = loop.time()
    warmup = 1.0
    while True:
        now = loop.time()
        if not started and now - begin >= warmup:
            started = True
            deliveries_0, cpu_0, gen_0, t0 = delivered, cpu_seconds(pid), cpu_seconds(), now
        if now - begin >= warmup + duration:
            break
        inflight = sent - delivered / receivers
        if inflight < window:
            burst = b"".join(
                client_frame(1, target.message(room, payload(sent + k), sent + k))
                for k in range(int(window - inflight))
            )
            sent += int(window - inflight)
            assert sender.transport is not None
            sender.transport.write(burst)
        wake.clear()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(wake.wait(), 1.0)
    elapsed = loop.time() - t0
    count = delivered - deliveries_0
    server_cpu = cpu_seconds(pid) - cpu_0
    gen_cpu = cpu_seconds() - gen_0
    await close_all([*clients, sender])
    return {
        "deliveries_per_s": count / elapsed,
        "server_cpu_us_per_delivery": server_cpu / count * 1e6 if count else None,
        "server_cpu_share": server_cpu / elapsed,
        "loadgen_cpu_us_per_delivery": gen_cpu / count * 1e6 if count else None,
        "loadgen_cpu_share": gen_cpu / elapsed,
    }


async def fanout_latency(
    target: Target, pid: int, receivers: int, duration: float, rate: float
) -> dict[str, Any]:
    """A fixed rate of deliveries; end-to-end latency from the timestamp in each payload."""
    room = "latency"
    clients = await open_many(target, room, receivers)
    sender = await open_sender(target, room, receivers)
    await asyncio.sleep(0.5)
    latencies: list[int] = []
    first: dict[int, int] = {}  # message seq -> its first receiver's latency

    def on_text(data: bytes) -> None:
        found = parse_payload(data)
        if found is not None:
            latency = time.monotonic_ns() - found[0]
            latencies.append(latency)
            seq = found[1]
            if latency < first.get(seq, latency + 1):
                first[seq] = latency

    for c in clients:
        c.on_text = on_text
    messages_per_s = rate / receivers
    interval = 1 / messages_per_s
    loop = asyncio.get_running_loop()
    cpu_0, gen_0, t0 = cpu_seconds(pid), cpu_seconds(), loop.time()
    seq = 0
    while loop.time() - t0 < duration:
        sender.send_text(target.message(room, payload(seq), seq))
        seq += 1
        next_at = t0 + seq * interval
        await asyncio.sleep(max(0.0, next_at - loop.time()))
    await asyncio.sleep(1.0)  # let the last ones arrive
    server_cpu = cpu_seconds(pid) - cpu_0
    gen_cpu = cpu_seconds() - gen_0
    await close_all([*clients, sender])
    expected = seq * receivers
    ms = [v / 1e6 for v in latencies]
    return {
        "deliveries_per_s": len(ms) / duration,
        "received_share": len(ms) / expected if expected else None,
        "p50_ms": percentile(ms, 0.5),
        "p90_ms": percentile(ms, 0.9),
        "p99_ms": percentile(ms, 0.99),
        "max_ms": max(ms) if ms else None,
        # the earliest receiver of each message: the server's own path, commit included
        "first_p50_ms": percentile([v / 1e6 for v in first.values()], 0.5),
        "server_cpu_us_per_delivery": server_cpu / len(ms) * 1e6 if ms else None,
        "server_cpu_share": server_cpu / (duration + 1.0),
        "loadgen_cpu_share": gen_cpu / (duration + 1.0),
    }


async def reqresp(target: Target, pid: int, pairs: int, duration: float) -> dict[str, Any]:
    """Pairs ping-ponging through a two-member room each: A sends, B answers, A measures."""
    rtts: list[float] = []
    loop = asyncio.get_running_loop()
    stop_at = [0.0]
    counts = [0]

    async def pair(index: int) -> None:
        room = f"pair{index}"
        a = await target.open(room, 2 * index)
        b = await target.open(room, 2 * index + 1)
        done = asyncio.Event()
        seq = [0]

        def a_hears(data: bytes) -> None:
            found = parse_payload(data)
            if found is None or found[2] != b"B":
                return
            if loop.time() < stop_at[0]:
                if stop_at[0] - loop.time() < duration:  # measuring
                    rtts.append((time.monotonic_ns() - found[0]) / 1e6)
                    counts[0] += 1
                seq[0] += 1
                a.send_text(target.message(room, payload(seq[0], b"A"), seq[0]))
            else:
                done.set()

        def b_hears(data: bytes) -> None:
            found = parse_payload(data)
            if found is None or found[2] != b"A":
                return
            ts, s, _ = found
            head = MARK + b"%020d %010d B " % (ts, s)  # keep A's timestamp: A measures
            reply = head + b"x" * (PAYLOAD_SIZE - len(head))
            b.send_text(target.message(room, reply, 10**9 + s))

        a.on_text, b.on_text = a_hears, b_hears
        await ready.wait()
        a.send_text(target.message(room, payload(0, b"A"), 0))
        await done.wait()
        await close_all([a, b])

    ready = asyncio.Event()
    tasks = [asyncio.ensure_future(pair(i)) for i in range(pairs)]
    await asyncio.sleep(1.0 + pairs * 0.01)
    warmup = 1.0
    stop_at[0] = loop.time() + warmup + duration
    ready.set()
    await asyncio.sleep(warmup)
    cpu_0, gen_0 = cpu_seconds(pid), cpu_seconds()
    await asyncio.sleep(duration)
    server_cpu = cpu_seconds(pid) - cpu_0
    gen_cpu = cpu_seconds() - gen_0
    await asyncio.wait_for(asyncio.gather(*tasks), 30)
    return {
        "round_trips_per_s": counts[0] / duration,
        "p50_ms": percentile(rtts, 0.5),
        "p99_ms": percentile(rtts, 0.99),
        "server_cpu_share": server_cpu / duration,
        "loadgen_cpu_share": gen_cpu / duration,
    }


async def idle(target: Target, pid: int, connections: int) -> dict[str, Any]:
    """Server memory per connection that is authenticated (where that applies) and in a room."""
    await asyncio.sleep(0.5)
    before = rss_kib(pid)
    clients = await open_many(target, "idle", connections)
    await asyncio.sleep(2.0)
    after = rss_kib(pid)
    alive = sum(1 for c in clients if not c.closed.done())
    await close_all(clients)
    return {
        "connections": alive,
        "rss_before_kib": before,
        "rss_after_kib": after,
        "kib_per_connection": (after - before) / connections,
    }


async def durable(
    target: Target, pid: int, senders: int, duration: float, rate: float | None
) -> dict[str, Any]:
    """Senders as fast as acks allow (``rate`` None), or at a fixed total rate; ack latency."""
    assert isinstance(target, HubbubJson)
    clients = [await target.open_sender(i) for i in range(senders)]
    loop = asyncio.get_running_loop()
    acks: list[float] = []
    errors = [0]  # error replies: answered, but not acks
    stop_at = loop.time() + 1.0 + duration
    measure_from = loop.time() + 1.0

    async def run(index: int, client: WsClient) -> None:
        pending: dict[int, int] = {}
        acked = asyncio.Event()
        seq = 0

        def on_text(data: bytes) -> None:
            at = data.find(b'"re":')
            if at < 0:
                return
            re = int(data[at + 5 : data.index(b",", at)])
            sent_at = pending.pop(re, None)
            if data.startswith(b'{"type":"error"'):
                errors[0] += 1
            elif sent_at is not None and loop.time() >= measure_from:
                acks.append((time.monotonic_ns() - sent_at) / 1e6)
            acked.set()

        client.on_text = on_text
        interval = senders / rate if rate else 0.0
        start = loop.time()
        while loop.time() < stop_at:
            seq += 1
            pending[seq] = time.monotonic_ns()
            frame = (
                b'{"type":"send","id":%d,"room":"durable","client_msg_id":"%d-%d-%d","body":"%s"}'
                % (
                    seq,
                    os.getpid(),
                    index,
                    seq,
                    payload(seq),
                )
            )
            client.send_text(frame)
            if rate:
                await asyncio.sleep(max(0.0, start + seq * interval - loop.time()))
            else:
                while seq in pending and loop.time() < stop_at + 5:
                    acked.clear()
                    try:
                        await asyncio.wait_for(acked.wait(), 5)
                    except TimeoutError:
                        break
        await asyncio.sleep(0.5)

    cpu_0, gen_0 = cpu_seconds(pid), cpu_seconds()
    await asyncio.gather(*(run(i, c) for i, c in enumerate(clients)))
    server_cpu = cpu_seconds(pid) - cpu_0
    gen_cpu = cpu_seconds() - gen_0
    await close_all(clients)
    return {
        "acked_per_s": len(acks) / duration,
        "p50_ms": percentile(acks, 0.5),
        "p99_ms": percentile(acks, 0.99),
        "max_ms": max(acks) if acks else None,
        "server_cpu_share": server_cpu / (duration + 1.5),
        "loadgen_cpu_share": gen_cpu / (duration + 1.5),
        "errors": errors[0],
    }


async def history(
    target: Target, pid: int, room: str, last_seq: int, duration: float
) -> dict[str, Any]:
    """One client asking for random 50-message pages of a huge room, one at a time."""
    assert isinstance(target, HubbubJson)
    client = await target.open_sender(0)
    loop = asyncio.get_running_loop()
    got = asyncio.Event()
    client.on_text = lambda data: got.set()
    rng = random.Random(7)
    times: list[float] = []
    end = loop.time() + duration
    gen_0 = cpu_seconds()
    request_id = 0
    while loop.time() < end:
        request_id += 1
        before = rng.randint(51, last_seq + 1)
        got.clear()
        t = time.monotonic_ns()
        client.send_text(
            b'{"type":"history","id":%d,"room":"%s","before":%d,"limit":50}'
            % (request_id, room.encode(), before)
        )
        await got.wait()
        times.append((time.monotonic_ns() - t) / 1e6)
    gen_cpu = cpu_seconds() - gen_0
    await close_all([client])
    return {
        "pages": len(times),
        "p50_ms": percentile(times, 0.5),
        "p99_ms": percentile(times, 0.99),
        "loadgen_cpu_share": gen_cpu / duration,
    }


async def ping(target: Target, pid: int, duration: float) -> dict[str, Any]:
    """hubbub's transport alone: ``ping`` → ``pong`` on one connection, nothing stored."""
    assert isinstance(target, HubbubJson)
    client = await target.open_sender(0)
    loop = asyncio.get_running_loop()
    got = asyncio.Event()
    client.on_text = lambda data: got.set()
    times: list[float] = []
    end = loop.time() + duration
    request_id = 0
    while loop.time() < end:
        request_id += 1
        got.clear()
        t = time.monotonic_ns()
        client.send_text(b'{"type":"ping","id":%d}' % request_id)
        await got.wait()
        times.append((time.monotonic_ns() - t) / 1e6)
    await close_all([client])
    return {
        "round_trips": len(times),
        "p50_ms": percentile(times, 0.5),
        "p99_ms": percentile(times, 0.99),
    }


async def close_all(clients: list[WsClient]) -> None:
    for c in clients:
        if c.transport is not None and not c.transport.is_closing():
            c.send(8, struct.pack("!H", 1000))
            c.transport.close()
    await asyncio.sleep(0.2)


# --- setup of hubbub accounts ----------------------------------------------------------------


def hubbub_accounts(base: str, count: int, rooms: list[str]) -> list[str]:
    """``count`` accounts, each a member of every room in ``rooms``; returns their tokens."""

    def call(path: str, body: dict[str, Any] | None, token: str | None = None) -> Any:
        request = urllib.request.Request(base + path, method="POST")
        request.add_header("Content-Type", "application/json")
        if token:
            request.add_header("Authorization", f"Bearer {token}")
        data = json.dumps(body or {}).encode()
        try:
            with urllib.request.urlopen(request, data, timeout=30) as response:
                raw = response.read()
        except urllib.error.HTTPError as exc:
            if exc.code == 409:
                return None
            raise
        return json.loads(raw) if raw else None

    tokens = []
    for i in range(count):
        name = f"bench{i}"
        reply = call("/api/v1/register", {"username": name, "password": "bench password"})
        if reply is None:
            reply = call("/api/v1/login", {"username": name, "password": "bench password"})
        tokens.append(reply["token"])
    for room in rooms:
        call("/api/v1/rooms", {"name": room}, tokens[0])
        for token in tokens[1:]:
            call(f"/api/v1/rooms/{room}/join", None, token)
    return tokens


# --- command line ------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("target", choices=sorted(TARGETS))
    parser.add_argument(
        "scenario",
        choices=[
            "fanout",
            "latency",
            "reqresp",
            "idle",
            "durable",
            "history",
            "ping",
            "mixed",
            "cluster-fanout",
            "cluster-writes",
        ],
    )
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--pid", type=int, required=True, help="the server's pid, for /proc")
    parser.add_argument(
        "-n", type=int, default=1000, help="receivers, pairs, connections or senders"
    )
    parser.add_argument("--duration", type=float, default=5.0)
    parser.add_argument("--window", type=int, default=256)
    parser.add_argument("--rate", type=float, default=None)
    parser.add_argument("--room", default="big")
    parser.add_argument("--last-seq", type=int, default=0)
    parser.add_argument("--users", type=int, default=0, help="hubbub accounts to spread over")
    parser.add_argument("--sources", type=int, default=1, help="127.0.0.x source addresses")
    parser.add_argument("--rooms", type=int, default=1, help="rooms of the mixed scenario")
    parser.add_argument(
        "--node",
        action="append",
        default=[],
        metavar="PORT:PID",
        help="another hubbub node on the same database and broker (cluster scenarios)",
    )
    parser.add_argument("--database", help="the nodes' PostgreSQL URL, for its statistics")
    args = parser.parse_args()

    target = TARGETS[args.target](args.target, "127.0.0.1", args.port)
    target.local_addrs = [f"127.0.0.{i + 1}" for i in range(args.sources)]
    if isinstance(target, HubbubJson) and args.scenario not in ("history", "ping"):
        rooms = {
            "fanout": ["fanout"],
            "latency": ["latency"],
            "idle": ["idle"],
            "durable": ["durable"],
            "mixed": [f"mixed{i}" for i in range(args.rooms)],
            "cluster-fanout": ["spread"],
            "cluster-writes": [f"hot{i}" for i in range(args.rooms)],
        }
        room_list = rooms.get(args.scenario, [f"pair{i}" for i in range(args.n)])
        if args.scenario == "reqresp":
            tokens = hubbub_accounts(f"http://127.0.0.1:{args.port}", 2 * args.n, [])
            # each pair in its own two-member private room
            for i in range(args.n):
                _pair_room(
                    f"http://127.0.0.1:{args.port}",
                    tokens[2 * i],
                    f"pair{i}",
                    f"bench{2 * i + 1}",
                    tokens[2 * i + 1],
                )
            target.tokens = tokens
        else:
            # mixed: an account per client, so that each toggles its own reactions
            own = ("mixed", "cluster-writes")
            users = args.n if args.scenario in own else args.users or 100
            target.tokens = hubbub_accounts(f"http://127.0.0.1:{args.port}", users, room_list)
    elif isinstance(target, HubbubJson):
        target.tokens = hubbub_accounts(f"http://127.0.0.1:{args.port}", 1, [])

    async def run() -> dict[str, Any]:
        if args.scenario == "fanout":
            return await fanout(target, args.pid, args.n, args.duration, args.window)
        if args.scenario == "latency":
            return await fanout_latency(
                target, args.pid, args.n, args.duration, args.rate or 20_000
            )
        if args.scenario == "reqresp":
            return await reqresp(target, args.pid, args.n, args.duration)
        if args.scenario == "idle":
            return await idle(target, args.pid, args.n)
        if args.scenario == "durable":
            return await durable(target, args.pid, args.n, args.duration, args.rate)
        if args.scenario == "mixed":
            import mixed  # bench/mixed.py, beside this file

            rooms = [f"mixed{i}" for i in range(args.rooms)]
            return await mixed.mixed(target, args.pid, args.n, rooms, args.duration, args.rate)
        if args.scenario == "ping":
            return await ping(target, args.pid, args.duration)
        if args.scenario.startswith("cluster"):
            import cluster  # bench/cluster.py, beside this file

            nodes = [cluster.NodeRef(target, args.pid)]
            for spec in args.node:
                port, pid = (int(x) for x in spec.split(":"))
                other = HubbubJson(target.name, target.host, port, target.tokens)
                nodes.append(cluster.NodeRef(other, pid))
            if args.scenario == "cluster-fanout":
                return await cluster.spread_latency(
                    nodes, args.n, args.rate or 50, args.duration, args.database
                )
            return await cluster.writes(nodes, args.n, args.rooms, args.duration, args.database)
        return await history(target, args.pid, args.room, args.last_seq, args.duration)

    result = uvloop.run(run())
    json.dump(result, sys.stdout)
    print()


def _pair_room(base: str, token: str, room: str, other: str, other_token: str) -> None:
    """The private room of a pair: made, ``other`` invited, and the invitation accepted (a
    room made before answers 409, an invitation accepted before 404)."""
    for who, path, body in (
        (token, "/api/v1/rooms", {"name": room, "private": True}),
        (token, f"/api/v1/rooms/{room}/invite", {"user": other}),
        (other_token, f"/api/v1/invitations/{room}/accept", {}),
    ):
        request = urllib.request.Request(base + path, json.dumps(body).encode(), method="POST")
        request.add_header("Content-Type", "application/json")
        request.add_header("Authorization", f"Bearer {who}")
        try:
            urllib.request.urlopen(request, timeout=30).read()
        except urllib.error.HTTPError as exc:
            if exc.code not in (409, 404):
                raise


if __name__ == "__main__":
    main()
