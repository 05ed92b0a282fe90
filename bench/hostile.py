"""What hostile clients cost the server: memory, and how long their sockets stay open.

Each scenario starts ``hubbub serve`` (from ``--source``, default ./src) on a free port with a
fresh data dir, attacks it from this process over real sockets, samples the server's RSS from
/proc every 100 ms, and reports the peak and when the server ended the attacking sockets.

- ``fragments``: one guest socket sends a text frame without FIN, then zero-length
  continuation frames as fast as it can.
- ``unread-pings``: 20 sockets that never authenticate send pings as fast as they can and
  never read (4 KiB receive buffers), so every pong stays in the server.
- ``trickle``: one HTTP POST whose body arrives one byte every 3 s.

    python bench/hostile.py [--source DIR] [--seconds 30]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from rawws import (  # noqa: E402  (tests/rawws.py: the raw WebSocket client of the tests)
    OP_CONTINUATION,
    OP_PING,
    OP_TEXT,
    RawWebSocket,
    client_frame,
)
from support import ServerProcess  # noqa: E402

Attack = Callable[[str, float], Awaitable[list[float | None]]]


def rss_mib(pid: int) -> float:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


async def until_cut(send: Callable[[], Awaitable[None]], seconds: float, t0: float) -> float | None:
    """Call ``send`` until the server ends the connection (its time since ``t0``) or time ends."""
    try:
        while time.monotonic() - t0 < seconds:
            await send()
    except (ConnectionError, OSError, EOFError):
        return time.monotonic() - t0
    return None


async def fragments(url: str, seconds: float) -> list[float | None]:
    ws = await RawWebSocket.connect(url, protocol=None)
    t0 = time.monotonic()
    await ws.send_raw(client_frame(OP_TEXT, b"", fin=False))
    empties = client_frame(OP_CONTINUATION, b"", fin=False) * 1000
    try:
        return [await until_cut(lambda: ws.send_raw(empties), seconds, t0)]
    finally:
        await ws.close()


async def unread_pings(url: str, seconds: float) -> list[float | None]:
    t0 = time.monotonic()

    async def one() -> float | None:
        ws = await RawWebSocket.connect(url, receive_buffer=4096)
        ws.stop_reading()
        pings = client_frame(OP_PING, b"p" * 125) * 64
        try:
            return await until_cut(lambda: ws.send_raw(pings), seconds, t0)
        finally:
            await ws.close()

    return list(await asyncio.gather(*(one() for _ in range(20))))


async def trickle(url: str, seconds: float) -> list[float | None]:
    host, port = url.removeprefix("http://").rstrip("/").split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    body = b'{"username":"slow","password":"correct horse battery"}'
    writer.write(
        b"POST /api/v1/register HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\n"
        b"Content-Length: %d\r\n\r\n" % (url.encode(), len(body))
    )
    t0 = time.monotonic()

    async def one_byte() -> None:
        writer.write(body[:1])
        await writer.drain()
        try:  # the server's answer (or its end of the connection) within 3 s
            while await asyncio.wait_for(reader.read(65536), 3):
                pass
        except TimeoutError:
            return
        raise EOFError("the server ended the connection")

    try:
        return [await until_cut(one_byte, seconds, t0)]
    finally:
        writer.close()


SCENARIOS: dict[str, Attack] = {
    "fragments": fragments,
    "unread-pings": unread_pings,
    "trickle": trickle,
}


async def measure(name: str, attack: Attack, source: Path, seconds: float) -> str:
    server = ServerProcess(Path(tempfile.mkdtemp(prefix="hubbub-hostile-")))
    server.env["PYTHONPATH"] = str(source)
    server.start()
    try:
        assert server.proc is not None
        pid = server.proc.pid
        before = peak = rss_mib(pid)
        attacking = asyncio.create_task(attack(server.url, seconds))
        while not attacking.done():
            peak = max(peak, rss_mib(pid))
            await asyncio.sleep(0.1)
        cut = attacking.result()
    finally:
        server.stop()
    ended = [t for t in cut if t is not None]
    when = f"last after {max(ended):.1f} s" if ended else f"none within {seconds:.0f} s"
    return f"| {name} | {before:.0f} | {peak:.0f} | {len(ended)} of {len(cut)} ({when}) |"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--source", type=Path, default=ROOT / "src", help="dir holding hubbub/")
    parser.add_argument("--seconds", type=float, default=30.0, help="how long each attack lasts")
    parser.add_argument("--only", choices=list(SCENARIOS), action="append")
    args = parser.parse_args()
    os.environ.setdefault("PYTHONDONTWRITEBYTECODE", "1")
    print(f"hubbub from {args.source}; each attack at most {args.seconds:.0f} s")
    print("| attack | RSS before (MiB) | RSS peak (MiB) | sockets the server ended |")
    print("|---|---|---|---|")
    for name in args.only or SCENARIOS:
        print(asyncio.run(measure(name, SCENARIOS[name], args.source.resolve(), args.seconds)))


if __name__ == "__main__":
    main()
