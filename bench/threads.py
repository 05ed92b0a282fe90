"""Where a hubbub server's CPU goes in the fixed-rate fan-out of ``loadgen.py … latency``:
its threads' CPU time per message and per delivery.

    python bench/threads.py [hubbub-plain|hubbub-json] [-n RECEIVERS] [--duration S]

The server runs in a process of its own, started from this file, which gives each Python
thread its name in the kernel as well (``prctl``), so that ``/proc`` tells the threads
apart: the event loop (``MainThread``), SQLite's writer, the search indexer, the WAL
checkpointer, the readers. Each thread's time on a CPU (``/proc/…/task/…/schedstat``,
exact, not sampled by the tick) is read after the first third of the run and again after
the second, while the load is steady.
"""

from __future__ import annotations

import argparse
import ctypes
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any

from breakdown import ENV, free_port

BENCH = Path(__file__).resolve().parent
PR_SET_NAME = 15


def serve(argv: list[str]) -> None:
    """Run ``hubbub serve``; every thread started from here on names itself in the kernel."""
    from hubbub import cli

    libc = ctypes.CDLL(None)
    bootstrap = threading.Thread._bootstrap_inner  # type: ignore[attr-defined]

    def named(self: threading.Thread) -> None:
        name = self.name.removeprefix("hubbub-sqlite-").removeprefix("hubbub-")
        libc.prctl(PR_SET_NAME, name.encode()[:15], 0, 0, 0)
        bootstrap(self)

    threading.Thread._bootstrap_inner = named  # type: ignore[attr-defined]
    cli.main(argv)


def threads(pid: int) -> dict[str, int]:
    """Each thread's name (the event loop's is ``MainThread``) and its ns on a CPU so far."""
    found: dict[str, int] = {}
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            name = Path(f"/proc/{pid}/task/{tid}/comm").read_text().strip()
            ns = int(Path(f"/proc/{pid}/task/{tid}/schedstat").read_text().split()[0])
        except OSError:  # the thread ended meanwhile
            continue
        if tid == str(pid):
            name = "MainThread"
        found[name] = found.get(name, 0) + ns
    return found


def drive(target: str, receivers: int, duration: float) -> None:
    env = {**os.environ, **ENV}
    rate = 20000 // receivers
    with tempfile.TemporaryDirectory() as folder:
        data, port = Path(folder) / "data", free_port()
        command = [sys.executable, "-m", "hubbub", "migrate", "--data-dir", str(data)]
        subprocess.run(command, check=True, env=env, capture_output=True)
        serve_args = ["serve", "--port", str(port), "--data-dir", str(data)]
        server = subprocess.Popen(
            [sys.executable, __file__, "--serve", *serve_args],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            for _ in range(300):
                try:
                    urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1)
                    break
                except OSError:
                    time.sleep(0.1)
            loadgen = [sys.executable, str(BENCH / "loadgen.py"), target, "latency"]
            run = [*loadgen, "-n", str(receivers), "--rate", "20000"]
            generator = subprocess.Popen(
                [*run, "--duration", str(duration), "--port", str(port), "--pid", str(server.pid)],
                env=env,
                stdout=subprocess.PIPE,
            )
            time.sleep(duration / 3)
            before, started = threads(server.pid), time.monotonic()
            time.sleep(duration / 3)
            after, ended = threads(server.pid), time.monotonic()
            out, _ = generator.communicate()
        finally:
            server.send_signal(signal.SIGINT)  # serve stops gracefully
            server.wait(30)
    messages = rate * (ended - started)
    print(f"{target}, N = {receivers}, {rate} msgs/s, {duration:g} s")
    print("loadgen:", out.decode().strip())
    print(f"{'thread':16} {'µs/message':>11} {'µs/delivery':>12}")
    total = 0.0
    rows: list[tuple[str, float]] = []
    for name, ns in after.items():
        spent = (ns - before.get(name, 0)) / 1e3 / messages
        total += spent
        rows.append((name, spent))
    for name, spent in sorted(rows, key=lambda row: -row[1]):
        if spent >= 0.5:
            print(f"{name:16} {spent:11.0f} {spent / receivers:12.2f}")
    print(f"{'all':16} {total:11.0f} {total / receivers:12.2f}")


def main(argv: Any = None) -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--serve":
        serve(sys.argv[2:])
        return
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("target", nargs="?", default="hubbub-plain")
    parser.add_argument("-n", type=int, default=100, help="receivers")
    parser.add_argument("--duration", type=float, default=15.0)
    args = parser.parse_args(argv)
    drive(args.target, args.n, args.duration)


if __name__ == "__main__":
    main()
