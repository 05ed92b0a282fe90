"""hubbub's benchmark suite: every server x scenario x parameter, each run on a fresh server.

Each run starts one server as a subprocess on a free 127.0.0.1 port (hubbub with a fresh data
dir; ``hubbub-pg`` also with a fresh PostgreSQL database, ``hubbub-pg-2nodes`` as two nodes on
one fresh database and one Redis channel), waits until it answers, runs ``bench/loadgen.py``
against it with the server's own pid (and the other node's), stops the server, drops the
database and keeps the load generator's JSON. Every case is run ``--runs`` times; the
results file keeps every run and the median and spread (min-max) of each metric, and
``bench/report.py`` turns it into ``docs/performance.md``.

Started by ``bash bench/run``, which installs the peers and this venv first; progress goes to
stderr.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import importlib.metadata
import json
import os
import platform
import resource
import shutil
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
WORK = BENCH / ".work"
sys.path.insert(0, str(BENCH))

import prebuilt  # noqa: E402  (bench/prebuilt.py: the cached databases)
import presence as presence_bench  # noqa: E402  (bench/presence.py)
import report  # noqa: E402  (bench/report.py, beside this file)
import search as search_bench  # noqa: E402  (bench/search.py)

TARGETS = [
    "hubbub-json",
    "hubbub-plain",
    "seed",
    "node-ws",
    "websockets",
    "socketio",
    "hubbub-pg",
    "hubbub-pg-2nodes",
]
PEERS = ["seed", "node-ws", "websockets", "socketio"]
SCENARIOS = [
    "fanout",
    "latency",
    "reqresp",
    "idle",
    "durable",
    "history",
    "mixed",
    "cluster-fanout",
    "cluster-writes",
    "search",
    "presence",
    "uploads",
]
# hubbub on PostgreSQL (a fresh database per run), one node or two sharing it and a Redis
# channel; they run only in the scenarios that compare storages and nodes.
PG_TARGETS = ["hubbub-pg", "hubbub-pg-2nodes"]
SCENARIO_TARGETS = {
    "durable": ["hubbub-json", "hubbub-pg"],
    "history": ["hubbub-json", "hubbub-pg"],
    "mixed": ["hubbub-json"],
    "cluster-fanout": ["hubbub-json", *PG_TARGETS],
    "cluster-writes": ["hubbub-json", *PG_TARGETS],
    "search": ["hubbub-json", "hubbub-pg"],
    "presence": ["hubbub-json"],
    "uploads": ["hubbub-json"],
}
# Scenarios measured by a script of their own instead of loadgen.py (it takes loadgen's first
# arguments); search and presence run on a database built once and cached (bench/prebuilt.py).
SCRIPTS = {"search": "search.py", "presence": "presence.py", "uploads": "uploads.py"}
POSTGRES_HOST = os.environ.get("HUBBUB_BENCH_PG", "127.0.0.1:5432")
REDIS_URL = os.environ.get("HUBBUB_BENCH_REDIS", "redis://127.0.0.1:6379/0")
CLUSTER_RECEIVERS = 200  # one room, split evenly over the nodes
CLUSTER_RATE = 50  # messages/s from one sender on the first node
CLUSTER_PAYLOAD_RATE = 500  # messages/s when the cost of a payload to each node is measured
CLUSTER_SENDERS = 100  # acked sends as fast as acks come, split over the nodes

# Fast account setup (Argon2 at its cheapest that is still real), and rate limits far above
# anything the generator can send, so they never cap the load.
HUBBUB_ENV = {
    "HUBBUB_ARGON2_TIME_COST": "1",
    "HUBBUB_ARGON2_MEMORY_KIB": "8192",
    "HUBBUB_SEND_RATE": "1e9",
    "HUBBUB_SEND_BURST": "1e9",
    "HUBBUB_SIGNUP_BURST": "1e9",
    "HUBBUB_MAX_CONNECTIONS": "100000",  # the benchmark opens up to 10 000 sockets,
    "HUBBUB_MAX_USER_CONNECTIONS_PER_ADDRESS": "100000",  # all from 127.0.0.1
    "HUBBUB_MAX_GUEST_CONNECTIONS_PER_ADDRESS": "100000",
    "HUBBUB_SEARCH_RATE": "1e9",  # the search scenario asks one query after another
    "HUBBUB_SEARCH_BURST": "1e9",
}
HISTORY_ROOM = "big"
HISTORY_USER = "bench0"
HISTORY_PASSWORD = "bench password"  # what loadgen logs in with
# Who reacts to and replies in the big room of the history variants (``build_history_dir``)
HISTORY_REACTORS = ["bench0", "bench1", "bench2"]
HISTORY_EMOJI = ["👍", "🎉", "😄", "👀", ":ship:"]
MIXED_CLIENTS = 100
MIXED_ROOMS = 4
MIXED_RATE = 1000  # ops/s of the fixed-rate regime
GENERATOR_BOUND = 0.9  # loadgen CPU share at which the generator, not the server, is the limit

# hubbub runs from a copy of src/hubbub taken when the suite starts, so that every run measures
# the same code even if the working tree changes meanwhile (see ``snapshot``).
HUBBUB_SOURCE: Path | None = None


def hubbub_env() -> dict[str, str]:
    env = {**os.environ, **HUBBUB_ENV}
    if HUBBUB_SOURCE is not None:
        env["PYTHONPATH"] = os.pathsep.join(
            [str(HUBBUB_SOURCE), *filter(None, [os.environ.get("PYTHONPATH")])]
        )
    return env


def snapshot(into: Path) -> Path:
    """Copy src/hubbub into ``into``/hubbub; returns ``into`` (for PYTHONPATH)."""
    shutil.copytree(
        ROOT / "src" / "hubbub",
        into / "hubbub",
        ignore=shutil.ignore_patterns("__pycache__", "*.pyc"),
    )
    env = {**os.environ, "PYTHONPATH": str(into)}
    found = subprocess.run(
        [sys.executable, "-c", "import hubbub; print(hubbub.__file__)"],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    ).stdout.strip()
    if not Path(found).is_relative_to(into):
        raise RuntimeError(f"hubbub imports from {found}, not from the copy in {into}")
    return into


def log(message: str) -> None:
    stamp = time.strftime("%H:%M:%S")
    print(f"[{stamp}] {message}", file=sys.stderr, flush=True)


# --- the plan -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    """One (scenario, parameter, target): ``args`` go to loadgen after target and scenario."""

    scenario: str  # a section of the report (``--only`` picks these)
    variant: str  # the parameter, e.g. "n=1000"
    target: str
    loadgen_scenario: str
    args: tuple[str, ...]
    timeout: float  # seconds for one loadgen run, setup included
    fill: tuple[str, ...] = ()  # history: what the big room holds beside messages

    @property
    def key(self) -> str:
        return f"{self.scenario}/{self.variant}/{self.target}"


def plan(targets: list[str], only: list[str], quick: bool) -> list[Case]:
    """Every case of the suite, in the order they run (a scenario's targets side by side)."""
    cases: list[Case] = []
    fan_ns = [100] if quick else [100, 1000, 5000]
    short, long_ = ("1", "2") if quick else ("5", "10")

    def add(
        scenario: str,
        variant: str,
        loadgen: str,
        args: list[str],
        timeout: float,
        fill: tuple[str, ...] = (),
    ) -> None:
        allowed = SCENARIO_TARGETS.get(scenario)
        chosen = [t for t in targets if (t in allowed if allowed else t not in PG_TARGETS)]
        for target in chosen:
            extra = list(args)
            if scenario == "reqresp" and target == "hubbub-plain" and variant != "pairs=1":
                continue  # every guest is in lobby: pairs cannot be kept apart
            if scenario == "idle" and target == "hubbub-json":
                extra += ["--users", "100"]
            cases.append(Case(scenario, variant, target, loadgen, tuple(extra), timeout, fill))

    if not only or "fanout" in only:
        for n in fan_ns:
            add("fanout", f"n={n}", "fanout", ["-n", str(n), "--duration", short], 180)
    if not only or "latency" in only:
        for n in fan_ns:
            args = ["-n", str(n), "--rate", "20000", "--duration", long_]
            add("latency", f"n={n}", "latency", args, 180)
    if not only or "reqresp" in only:
        for pairs in [1] if quick else [1, 100]:
            args = ["-n", str(pairs), "--duration", short]
            add("reqresp", f"pairs={pairs}", "reqresp", args, 180)
    if not only or "idle" in only:
        n = 1000 if quick else 10_000
        add("idle", f"n={n}", "idle", ["-n", str(n), "--sources", "8"], 400)
    if not only or "durable" in only:
        for senders in [1, 10] if quick else [1, 10, 100]:
            args = ["-n", str(senders), "--duration", short]
            add("durable", f"senders={senders}", "durable", args, 180)
        rate = ["-n", "10", "--rate", "1000", "--duration", long_]
        add("durable", "senders=10,rate=1000", "durable", rate, 180)
    if not only or "history" in only:
        last = str(history_rows(quick))
        args = ["--room", HISTORY_ROOM, "--last-seq", last, "--duration", short]
        for fill in history_fills():
            variant = ",".join([f"events={last}", *fill])
            add("history", variant, "history", args, 180, fill)
    if not only or "mixed" in only:
        # Plain and mixed phases alternate within each run (bench/mixed.py): the ratio
        # between them holds even when the machine is busy with something else.
        base = ["-n", str(MIXED_CLIENTS), "--rooms", str(MIXED_ROOMS), "--duration"]
        add("mixed", f"clients={MIXED_CLIENTS}", "mixed", [*base, long_], 240)
        rate = [*base, long_, "--rate", str(MIXED_RATE)]
        add("mixed", f"clients={MIXED_CLIENTS},rate={MIXED_RATE}", "mixed", rate, 240)
    if not only or "cluster-fanout" in only:
        receivers = 20 if quick else CLUSTER_RECEIVERS
        # the receivers' view, then the nodes' cost per payload: one receiver per node and
        # many payloads, so that CPU time per message can be read
        for n, rate in [(receivers, CLUSTER_RATE), (2, CLUSTER_PAYLOAD_RATE)]:
            args = ["-n", str(n), "--rate", str(rate), "--duration", short]
            add("cluster-fanout", f"n={n},rate={rate}", "cluster-fanout", args, 180)
    if not only or "cluster-writes" in only:
        senders = 10 if quick else CLUSTER_SENDERS
        for rooms in [1, 10]:
            args = ["-n", str(senders), "--rooms", str(rooms), "--duration", short]
            add("cluster-writes", f"senders={senders},rooms={rooms}", "cluster-writes", args, 180)
    if not only or "search" in only:
        duration = ["--duration", "2", "--rounds", "1"] if quick else ["--duration", "20"]
        add("search", f"messages={search_rows(quick)}", "search", duration, 300)
    if not only or "presence" in only:
        users, rooms = presence_size(quick)
        args = ["-n", str(users), "--rooms", str(rooms)]
        args += ["--rest", "3", "--churn", "6"] if quick else ["--rest", "30", "--churn", "60"]
        add("presence", f"users={users},rooms={rooms}", "presence", args, 600)
    if not only or "uploads" in only:
        n, mib = (2, 5) if quick else (10, 25)
        args = ["-n", str(n), "--mib", str(mib)]
        add("uploads", f"uploads={n},mib={mib}", "uploads", args, 180)
    return cases


def search_rows(quick: bool) -> int:
    return 20_000 if quick else 1_000_000


def presence_size(quick: bool) -> tuple[int, int]:
    """Accounts and rooms of the presence scenario."""
    return (1000, 100) if quick else (10_000, 1000)


def history_rows(quick: bool) -> int:
    return 10_000 if quick else 1_000_000


def history_fills() -> list[tuple[str, ...]]:
    """What the variants of the big room hold beside messages: messages only, reactions,
    and reactions with replies where this tree's schema has replies."""
    migrations = ROOT / "src" / "hubbub" / "storage" / "migrations" / "sqlite"
    threads = any("reply_to" in f.read_text() for f in migrations.glob("*.sql"))
    return [(), ("reactions",), *([("reactions", "replies")] if threads else [])]


# --- servers ----------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def node() -> str:
    found = shutil.which("node")
    if found is None:
        raise RuntimeError("node is not installed")
    return found


class Server:
    """One server process; ``pid`` is the server's own (no shell in between)."""

    def __init__(
        self,
        target: str,
        data_dir: Path | None,
        log_path: Path,
        database: str | None = None,
        broker: str | None = None,
    ) -> None:
        self.target = target
        self.data_dir = data_dir
        self.log_path = log_path
        self.database = database  # a storage URL (PostgreSQL); None: SQLite in the data dir
        self.broker = broker  # a Redis URL shared with other nodes; None: this node only
        self.port = 0
        self.proc: subprocess.Popen[bytes] | None = None

    def command(self) -> list[str]:
        port = str(self.port)
        if self.target.startswith("hubbub"):
            assert self.data_dir is not None
            return [
                sys.executable,
                "-m",
                "hubbub",
                "serve",
                "--port",
                port,
                "--data-dir",
                str(self.data_dir),
                *(["--database", self.database] if self.database else []),
                *(["--broker", self.broker] if self.broker else []),
            ]
        if self.target == "seed":
            return [node(), str(BENCH / "peers" / "seed_server.js"), port]
        if self.target == "node-ws":
            return [node(), str(BENCH / "peers" / "ws_server.js"), port]
        if self.target == "websockets":
            return [sys.executable, str(BENCH / "peers" / "websockets_server.py"), port]
        if self.target == "socketio":
            return [sys.executable, str(BENCH / "peers" / "socketio_server.py"), port]
        raise ValueError(self.target)

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def start(self, timeout: float = 60) -> None:
        env = hubbub_env() if self.target.startswith("hubbub") else dict(os.environ)
        env.setdefault("NODE_PATH", str(WORK / "node_modules"))
        self.port = free_port()
        with open(self.log_path, "ab") as out:
            self.proc = subprocess.Popen(
                self.command(),
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                cwd=ROOT,
                env=env,
                start_new_session=True,
            )
        deadline = time.monotonic() + timeout
        while not self.ready():
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.target} exited with {self.proc.returncode} at start")
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"{self.target} did not answer within {timeout:.0f} s")
            time.sleep(0.1)

    def ready(self) -> bool:
        """hubbub: /healthz answers (it listens before its storage is open); others: accepts."""
        if self.target.startswith("hubbub"):
            try:
                url = f"http://127.0.0.1:{self.port}/healthz"
                with urllib.request.urlopen(url, timeout=2) as response:
                    return bool(response.status == 200)
            except (OSError, urllib.error.URLError):
                return False
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                return True
        except OSError:
            return False

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def stop(self, timeout: float = 15) -> int | None:
        """SIGTERM, then SIGKILL after ``timeout``; returns the exit code."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                log(
                    f"  {self.target} (pid {self.pid}) ignored SIGTERM for {timeout:.0f} s: SIGKILL"
                )
                with contextlib.suppress(ProcessLookupError):
                    self.proc.kill()
                self.proc.wait()
        return self.proc.returncode


@contextlib.contextmanager
def running(target: str, data_dir: Path | None, log_path: Path) -> Iterator[Server]:
    server = Server(target, data_dir, log_path)
    server.start()
    try:
        yield server
    finally:
        server.stop()


# --- PostgreSQL databases, one per run ----------------------------------------------------------


def pg_url(name: str) -> str:
    return f"postgresql://{POSTGRES_HOST}/{name}"


def pg_tool(tool: str, *args: str) -> None:
    host, _, port = POSTGRES_HOST.partition(":")
    command = [tool, "-h", host, "-p", port or "5432", *args]
    done = subprocess.run(command, capture_output=True, text=True, timeout=300)
    if done.returncode != 0:
        raise RuntimeError(f"{tool} {' '.join(args)}: {done.stderr.strip()}")


def create_database(template: str | None = None) -> str:
    """A new empty database (or a copy of ``template``); its name."""
    name = f"hubbub_bench_{uuid.uuid4().hex[:12]}"
    pg_tool("createdb", *(["-T", template] if template else []), name)
    return name


def drop_database(name: str) -> None:
    pg_tool("dropdb", "--if-exists", "--force", name)


def build_history_database(sqlite_dir: Path) -> str:
    """A PostgreSQL database holding what the SQLite template holds, copied with
    ``hubbub migrate-to`` (COPY, one transaction); later runs copy it as their template."""
    name = create_database()
    try:
        hubbub_cli(
            "migrate-to",
            pg_url(name),
            "--database",
            f"sqlite://{sqlite_dir.resolve()}/hubbub.sqlite3",
        )
    except BaseException:
        drop_database(name)
        raise
    return name


# --- hubbub's big room for the history scenario -------------------------------------------------


def hubbub_cli(*args: str) -> None:
    command = [sys.executable, "-m", "hubbub", *args]
    subprocess.run(command, check=True, env=hubbub_env(), cwd=ROOT, capture_output=True)


def post(port: int, path: str, body: dict[str, Any]) -> Any:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}{path}", json.dumps(body).encode(), method="POST"
    )
    request.add_header("Content-Type", "application/json")
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read() or b"null")


def build_history_dir(
    data_dir: Path, rows: int, log_path: Path, fill: tuple[str, ...] = ()
) -> None:
    """A database whose public room ``big`` holds ``rows`` events, messages by ``bench0``.

    The schema comes from ``hubbub migrate`` and the accounts from the server itself (so
    their password hashes are the server's); the room, its members and the events are
    inserted directly, as ``hubbub.storage.sqlite`` writes them: seq 1..rows,
    ``rooms.last_seq`` = rows. With ``"reactions"`` in ``fill``, every 3rd message has 1-3
    reactions (``HISTORY_REACTORS``): their ``reaction_added`` events follow the message, and
    the ``reactions`` table holds them. With ``"replies"``, every 10th message answers the
    message 3 before it, which is its thread's root and counts its replies and the time of
    the last. The room reads as if every event had come through the server.
    """
    users = HISTORY_REACTORS if fill else [HISTORY_USER]
    hubbub_cli("migrate", "--data-dir", str(data_dir))
    with running("hubbub-json", data_dir, log_path) as server:
        for user in users:
            post(server.port, "/api/v1/register", {"username": user, "password": HISTORY_PASSWORD})
    now = time.time_ns() // 1_000_000
    db = sqlite3.connect(data_dir / "hubbub.sqlite3", isolation_level=None)
    try:
        db.execute("PRAGMA synchronous=OFF")
        db.execute("BEGIN")
        (room_id,) = db.execute(
            "INSERT INTO rooms (name, kind, created_by, created_at, last_seq)"
            " VALUES (?, 'public', ?, ?, ?) RETURNING id",
            (HISTORY_ROOM, HISTORY_USER, now - rows, rows),
        ).fetchone()
        db.executemany(
            "INSERT INTO members (room_id, username, read_seq, joined_at) VALUES (?, ?, ?, ?)",
            [(room_id, user, rows, now - rows) for user in users],
        )
        present = {row[1] for row in db.execute("PRAGMA table_info(events)")}
        columns = ["room_id", "seq", "type", "author", "ts", "msg_id", "client_msg_id"]
        columns += ["body", "deleted", "target", "emoji"]
        # what the server stores in a message's row where the schema has the column
        message_defaults = {c: 0 for c in ("replies", "room_mention") if c in present}
        if "replies" in fill:
            if "reply_to" not in present:
                raise RuntimeError("replies asked for, but this schema has no events.reply_to")
            columns += ["reply_to", "thread"]
        columns += list(message_defaults)
        reactions: list[tuple[int, int, str, str]] = []
        roots: dict[int, tuple[int, int]] = {}  # a thread's root seq: (replies, last_reply_at)
        seqs: dict[int, int] = {}  # message number: its seq, for replies to look back
        id_prefix = uuid.uuid4().hex[:16]  # msg_id as the server makes it: prefix + counter

        def row(**values: Any) -> tuple[Any, ...]:
            return tuple(values.get(c) for c in columns)

        def events() -> Iterator[tuple[Any, ...]]:
            seq = message = 0
            while seq < rows:
                seq += 1
                message += 1
                seqs[message] = seq
                head = f"history message {seq:010d} "
                body = head + "x" * (100 - len(head))
                msg_id = f"{id_prefix}{message:016x}"
                ts = now - rows + seq
                author, parent = HISTORY_USER, None
                # every 10th a reply to the message 3 before it (never a reply itself)
                if "replies" in fill and message % 10 == 0:
                    author, parent = HISTORY_REACTORS[1], seqs[message - 3]
                    replies, _ = roots.get(parent, (0, 0))
                    roots[parent] = (replies + 1, ts)
                yield row(
                    room_id=room_id,
                    seq=seq,
                    type="message",
                    author=author,
                    ts=ts,
                    msg_id=msg_id,
                    client_msg_id=msg_id,
                    body=body,
                    deleted=0,
                    reply_to=parent,
                    thread=parent,
                    **message_defaults,
                )
                seqs.pop(message - 3, None)
                if "reactions" not in fill or message % 3:
                    continue
                target = seq
                for j in range(1 + (message // 3) % 3):  # right after it, within ``rows``
                    if seq == rows:
                        break
                    seq += 1
                    user = HISTORY_REACTORS[j]
                    emoji = HISTORY_EMOJI[(message + j) % len(HISTORY_EMOJI)]
                    reactions.append((room_id, target, emoji, user))
                    yield row(
                        room_id=room_id,
                        seq=seq,
                        type="reaction_added",
                        author=user,
                        ts=now - rows + seq,
                        target=target,
                        emoji=emoji,
                    )

        names = ", ".join(columns)
        db.executemany(
            f"INSERT INTO events ({names}) VALUES ({', '.join('?' * len(columns))})", events()
        )
        db.executemany(
            "INSERT INTO reactions (room_id, seq, emoji, username) VALUES (?, ?, ?, ?)",
            reactions,
        )
        db.executemany(  # the roots' reply counters, as each reply's write leaves them
            "UPDATE events SET replies = ?, last_reply_at = ? WHERE room_id = ? AND seq = ?",
            [(n, last, room_id, seq) for seq, (n, last) in roots.items()],
        )
        db.execute("COMMIT")
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        count, top = db.execute(
            "SELECT count(*), max(seq) FROM events WHERE room_id = ?", (room_id,)
        ).fetchone()
        if count != rows or top != rows:
            raise RuntimeError(f"room {HISTORY_ROOM!r} holds {count} events up to seq {top}")
    finally:
        db.close()


# --- running -----------------------------------------------------------------------------------


def time_wait_per_address() -> int:
    """The most loopback sockets in TIME_WAIT on one local address (each has ~28 k ports)."""
    counts: dict[str, int] = {}
    with contextlib.suppress(OSError), open("/proc/net/tcp") as f:
        next(f)
        for line in f:
            parts = line.split()
            if parts[3] == "06":
                address = parts[1].split(":")[0]
                counts[address] = counts.get(address, 0) + 1
    return max(counts.values(), default=0)


def settle(limit: int = 15_000, timeout: float = 70) -> None:
    """Wait until closed connections of earlier runs no longer crowd the ephemeral ports."""
    deadline = time.monotonic() + timeout
    waited = False
    while time_wait_per_address() > limit and time.monotonic() < deadline:
        if not waited:
            log(f"  waiting for TIME_WAIT sockets to expire (> {limit} on one address)")
            waited = True
        time.sleep(2)


@dataclass
class Runner:
    logs: Path
    # one filled data dir per kind of fill (``Case.fill``), made when first needed
    history_templates: dict[tuple[str, ...], Path] = field(default_factory=dict)
    # the same rooms in PostgreSQL: a database per fill, copied for each run
    history_databases: dict[tuple[str, ...], str] = field(default_factory=dict)
    quick: bool = False
    data_root: Path = field(default_factory=lambda: WORK / "data")

    def history_template_dir(self, fill: tuple[str, ...] = ()) -> Path:
        if fill not in self.history_templates:
            rows = history_rows(self.quick)
            template = Path(tempfile.mkdtemp(prefix="history-template-", dir=self.data_root))
            what = " with " + ", ".join(fill) if fill else ""
            log(f"filling room {HISTORY_ROOM!r} with {rows} events{what} for the history scenario")
            started = time.monotonic()
            build_history_dir(template, rows, self.logs / "history-setup.log", fill)
            log(f"  filled in {time.monotonic() - started:.1f} s")
            self.history_templates[fill] = template
        return self.history_templates[fill]

    def history_template_database(self, fill: tuple[str, ...] = ()) -> str:
        if fill not in self.history_databases:
            source = self.history_template_dir(fill)
            log("copying the room into PostgreSQL (hubbub migrate-to)")
            started = time.monotonic()
            self.history_databases[fill] = build_history_database(source)
            log(f"  copied in {time.monotonic() - started:.1f} s")
        return self.history_databases[fill]

    def prebuilt_dir(self, scenario: str) -> Path:
        """The cached database of ``scenario`` (``SCRIPTS``), built first if missing."""
        if scenario == "search":
            rows = search_rows(self.quick)
            name, args, age = search_bench.cache_name(rows), ["--messages", str(rows)], None
        else:
            users, rooms = presence_size(self.quick)
            name = presence_bench.cache_name(users, rooms)
            args, age = ["-n", str(users), "--rooms", str(rooms)], presence_bench.REBUILD_AFTER_DAYS
        return prebuilt.cached(name, BENCH / SCRIPTS[scenario], args, hubbub_env(), log, age)

    def prebuilt_database(self, scenario: str) -> str:
        """A PostgreSQL copy of ``prebuilt_dir``, kept across runs under a name with the
        cache's key (a copy with an older key is dropped); runs copy it."""
        source = self.prebuilt_dir(scenario)
        name = "hubbub_bench_" + source.name.replace("-", "_")
        kind = name.rsplit("_", 1)[0]  # without the key: older copies of the same size go
        host, _, port = POSTGRES_HOST.partition(":")
        listed = command_output(
            "psql", "-h", host, "-p", port or "5432", "-d", "postgres", "-Atc",
            f"SELECT datname FROM pg_database WHERE datname LIKE '{kind}\\_%'",
        )  # fmt: skip
        found = (listed or "").split()
        for stale in found:
            if stale != name:
                drop_database(stale)
        if name not in found:
            log(f"copying {source.relative_to(ROOT)} into PostgreSQL {name} (hubbub migrate-to)")
            started = time.monotonic()
            building = build_history_database(source)
            pg_tool("psql", "-d", "postgres", "-c", f"ALTER DATABASE {building} RENAME TO {name}")
            log(f"  copied in {time.monotonic() - started:.1f} s")
        return name

    def drop_templates(self) -> None:
        for template in self.history_templates.values():
            shutil.rmtree(template, ignore_errors=True)
        for name in self.history_databases.values():
            with contextlib.suppress(Exception):
                drop_database(name)

    def run_once(self, case: Case, index: int) -> dict[str, Any]:
        """One run on a fresh server (or two fresh nodes on a fresh database): {"ok": True,
        "result": {...}} or {"ok": False, "error"}."""
        settle()
        nodes = 2 if case.target == "hubbub-pg-2nodes" else 1
        data_dirs: list[Path] = []
        database: str | None = None
        safe = case.key.replace("/", "_").replace("=", "").replace(",", "_")
        started = time.monotonic()
        record: dict[str, Any] = {"run": index}
        servers: list[Server] = []
        server_log = self.logs / f"{safe}_run{index}.server.log"
        try:
            if case.target in PG_TARGETS:
                template = None
                if case.scenario == "history":
                    template = self.history_template_database(case.fill)
                elif case.scenario in ("search", "presence"):
                    template = self.prebuilt_database(case.scenario)
                database = create_database(template)
                if template is None:  # the schema before any node starts: none races another
                    hubbub_cli("migrate", "--database", pg_url(database))
            if case.target.startswith("hubbub"):
                for _ in range(nodes):
                    data_dirs.append(Path(tempfile.mkdtemp(prefix="hubbub-", dir=self.data_root)))
                if case.scenario == "history" and database is None:
                    data_dirs[0].rmdir()
                    shutil.copytree(self.history_template_dir(case.fill), data_dirs[0])
                if case.scenario in ("search", "presence") and database is None:
                    # The database and its search index (hubbub-search.sqlite3), built with it.
                    for built in self.prebuilt_dir(case.scenario).glob("hubbub*.sqlite3*"):
                        shutil.copy2(built, data_dirs[0])
            broker = None
            if nodes > 1:
                broker = f"{REDIS_URL}?channel=hubbub_bench_{uuid.uuid4().hex[:12]}"
            for i in range(nodes):
                node_log = server_log if i == 0 else server_log.with_suffix(f".node{i}.log")
                servers.append(
                    Server(
                        case.target,
                        data_dirs[i] if data_dirs else None,
                        node_log,
                        pg_url(database) if database else None,
                        broker,
                    )
                )
                servers[-1].start()
            server = servers[0]
            command = [
                sys.executable,
                str(BENCH / SCRIPTS.get(case.scenario, "loadgen.py")),
                "hubbub-json" if case.target in PG_TARGETS else case.target,
                case.loadgen_scenario,
                "--port",
                str(server.port),
                "--pid",
                str(server.pid),
                *(f"--node={s.port}:{s.pid}" for s in servers[1:]),
                *([f"--database={pg_url(database)}"] if database else []),
                *case.args,
            ]
            pids = [s.pid for s in servers]
            before = Usage.now(pids)
            try:
                done = subprocess.run(command, capture_output=True, timeout=case.timeout, cwd=ROOT)
            except subprocess.TimeoutExpired:
                raise RuntimeError(f"loadgen timed out after {case.timeout:.0f} s") from None
            record["usage"] = Usage.now(pids).since(before)
            crashed = [s for s in servers if not s.alive()]
            if done.returncode != 0:
                tail = done.stderr.decode(errors="replace").strip().splitlines()[-3:]
                raise RuntimeError(f"loadgen exited with {done.returncode}: {' | '.join(tail)}")
            if crashed:
                raise RuntimeError(
                    f"a server exited during the run (code {crashed[0].proc.returncode})"  # type: ignore[union-attr]
                )
            lines = done.stdout.decode().strip().splitlines()
            record["result"] = json.loads(lines[-1])
            record["ok"] = True
        except Exception as exc:
            record["ok"] = False
            record["error"] = str(exc) or type(exc).__name__
            for s in servers:
                if s.proc is not None and s.proc.poll() not in (None, 0, -15):
                    record["error"] += (
                        f" (server exit code {s.proc.returncode}; log {s.log_path.name})"
                    )
        finally:
            for s in servers:
                s.stop()
            for data_dir in data_dirs:
                shutil.rmtree(data_dir, ignore_errors=True)
            if database is not None:
                try:
                    drop_database(database)
                except Exception as exc:
                    log(f"  could not drop database {database}: {exc}")
        record["wall_s"] = round(time.monotonic() - started, 1)
        return record


@dataclass(frozen=True)
class Usage:
    """CPU seconds of the whole machine, of one server and of this process's children."""

    wall: float
    busy: float  # every core, user + system + interrupts
    steal: float  # taken by the hypervisor
    server: float
    children: float  # finished children: here, the load generator

    @staticmethod
    def now(pids: list[int]) -> Usage:
        with open("/proc/stat") as f:
            fields = [int(x) for x in f.readline().split()[1:]]
        ticks = os.sysconf("SC_CLK_TCK")
        user, nice, system, _idle, _iowait, irq, softirq, steal = fields[:8]
        server = 0.0  # every node of the run
        for pid in pids:
            with contextlib.suppress(OSError), open(f"/proc/{pid}/stat") as f:
                parts = f.read().rsplit(")", 1)[1].split()
                server += (int(parts[11]) + int(parts[12])) / ticks
        children = resource.getrusage(resource.RUSAGE_CHILDREN)
        return Usage(
            wall=time.monotonic(),
            busy=(user + nice + system + irq + softirq) / ticks,
            steal=steal / ticks,
            server=server,
            children=children.ru_utime + children.ru_stime,
        )

    def since(self, before: Usage) -> dict[str, float]:
        """Shares of one core over the load generator's whole run, setup included.

        ``other`` is what neither the server nor the generator used: this script and anything
        else running on the machine. Much of it means the run was disturbed.
        """
        wall = self.wall - before.wall
        server = self.server - before.server
        generator = self.children - before.children
        busy = self.busy - before.busy
        return {
            "wall_s": round(wall, 2),
            "server_cpu_share": round(server / wall, 3),
            "loadgen_cpu_share": round(generator / wall, 3),
            "other_cpu_share": round(max(0.0, busy - server - generator) / wall, 3),
            "steal_share": round((self.steal - before.steal) / wall, 3),
        }


def summarise(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Median and spread of every numeric metric over the runs that succeeded."""
    ok = [r["result"] for r in runs if r.get("ok")]
    metrics: dict[str, Any] = {}
    for name in sorted({k for result in ok for k in result}):
        values = [
            r[name] for r in ok if isinstance(r.get(name), int | float) and r[name] == r[name]
        ]
        if values:
            metrics[name] = {
                "median": statistics.median(values),
                "min": min(values),
                "max": max(values),
                "n": len(values),
            }
    bound = sum(1 for r in ok if (r.get("loadgen_cpu_share") or 0) >= GENERATOR_BOUND)
    return {
        "runs": len(runs),
        "ok": len(ok),
        "failed": len(runs) - len(ok),
        "generator_bound_runs": bound,
        "metrics": metrics,
    }


# --- the machine ---------------------------------------------------------------------------------


def command_output(*command: str) -> str | None:
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=30, cwd=ROOT)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout.strip() if done.returncode == 0 else None


def machine() -> dict[str, Any]:
    def first(path: str, prefix: str) -> str | None:
        with contextlib.suppress(OSError), open(path) as f:
            for line in f:
                if line.startswith(prefix):
                    return line[len(prefix) :].strip().lstrip(":").strip().strip('"')
        return None

    mem_kib = first("/proc/meminfo", "MemTotal")
    node_modules = WORK / "node_modules"
    node_packages = {}
    for name in ("nodejs-websocket", "ws"):
        with contextlib.suppress(OSError, ValueError):
            node_packages[name] = json.loads((node_modules / name / "package.json").read_text())[
                "version"
            ]
    python_packages = {}
    for name in (
        "hubbub",
        "aiohttp",
        "uvloop",
        "msgspec",
        "websockets",
        "python-socketio",
        "python-engineio",
    ):
        with contextlib.suppress(importlib.metadata.PackageNotFoundError):
            python_packages[name] = importlib.metadata.version(name)
    filesystem = command_output("df", "--output=fstype", str(WORK))
    return {
        "nproc": command_output("nproc"),
        "cpu_model": first("/proc/cpuinfo", "model name"),
        "memory_gib": round(int(mem_kib.split()[0]) / 1024**2, 1) if mem_kib else None,
        "kernel": platform.release(),
        "os": first("/etc/os-release", "PRETTY_NAME=") or command_output("uname", "-o"),
        "python": platform.python_version(),
        "node": command_output(node(), "--version"),
        "filesystem": filesystem.splitlines()[-1].strip() if filesystem else None,
        "open_files_limit": command_output("sh", "-c", "ulimit -n"),
        "python_packages": python_packages,
        "node_packages": node_packages,
        "hubbub_commit": hubbub_commit(),
        "postgresql": postgresql_version(),
        "redis": redis_version(),
    }


def postgresql_version() -> str | None:
    host, _, port = POSTGRES_HOST.partition(":")
    return command_output(
        "psql", "-h", host, "-p", port or "5432", "-d", "postgres", "-Atc", "SHOW server_version"
    )


def redis_version() -> str | None:
    found = command_output("redis-cli", "-u", REDIS_URL, "INFO", "server")
    for line in (found or "").splitlines():
        if line.startswith("redis_version:"):
            return line.split(":", 1)[1].strip()
    return None


def hubbub_commit() -> str | None:
    """HEAD, and whether src/ (what the suite copies and runs) differs from it."""
    head = command_output("git", "rev-parse", "--short=12", "HEAD")
    if head is None:
        return None
    changed = command_output("git", "status", "--porcelain", "--", "src")
    return f"{head} with uncommitted changes in src/" if changed else head


# --- main ----------------------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=3, help="runs of each case (default 3)")
    parser.add_argument(
        "--only",
        action="append",
        choices=SCENARIOS,
        default=[],
        help="run this scenario only (repeatable)",
    )
    parser.add_argument(
        "--targets",
        default=",".join(TARGETS),
        help=f"comma-separated subset of {','.join(TARGETS)}",
    )
    parser.add_argument("--out", type=Path, default=BENCH / "results.json", help="results JSON")
    parser.add_argument(
        "--report",
        type=Path,
        default=ROOT / "docs" / "performance.md",
        help="Markdown report to write",
    )
    parser.add_argument("--no-report", action="store_true", help="write the results JSON only")
    parser.add_argument(
        "--report-only", action="store_true", help="rewrite the report from --out and exit"
    )
    parser.add_argument("--quick", action="store_true", help="smoke test: small N, 1-2 s runs")
    parser.add_argument(
        "--merge",
        action="store_true",
        help="keep the cases of --out that this run does not measure (it replaces the others)",
    )
    args = parser.parse_args()

    if args.report_only:
        results = json.loads(args.out.read_text())
        report.write(results, args.report, BENCH / "notes.md")
        log(f"wrote {args.report}")
        return 0
    targets = [t.strip() for t in args.targets.split(",") if t.strip()]
    unknown = sorted(set(targets) - set(TARGETS))
    if unknown:
        parser.error(f"unknown targets: {', '.join(unknown)}")
    if args.runs < 1:
        parser.error("--runs must be at least 1")
    cases = plan(targets, args.only, args.quick)
    if not cases:
        parser.error("nothing to run for those scenarios and targets")

    WORK.mkdir(exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    logs = WORK / "logs" / stamp
    logs.mkdir(parents=True)
    data_root = WORK / "data"
    data_root.mkdir(exist_ok=True)
    runner = Runner(logs=logs, quick=args.quick, data_root=data_root)

    started = datetime.datetime.now(datetime.UTC)
    t0 = time.monotonic()
    info = machine()
    global HUBBUB_SOURCE
    source = WORK / "source" / stamp
    HUBBUB_SOURCE = snapshot(source)
    log(f"hubbub {info['hubbub_commit']} runs from a copy of src/ in {source.relative_to(ROOT)}")
    log(f"{len(cases)} cases x {args.runs} runs; server logs in {logs.relative_to(ROOT)}")
    results: dict[str, Any] = {
        "command": " ".join(["bash bench/run", *sys.argv[1:]]),
        "started": started.isoformat(timespec="seconds"),
        "finished": None,
        "elapsed_s": None,
        "runs_per_case": args.runs,
        "quick": args.quick,
        "hubbub_env": HUBBUB_ENV,
        "generator_bound_share": GENERATOR_BOUND,
        "machine": info,
        "cases": [],
    }
    by_key = {
        case.key: {
            "scenario": case.scenario,
            "variant": case.variant,
            "target": case.target,
            "loadgen": [case.loadgen_scenario, *case.args],
            "runs": [],
        }
        for case in cases
    }
    results["cases"] = list(by_key.values())
    run = results  # where this run's times go: the whole file, or its entry in merged_runs
    if args.merge and args.out.exists():
        results, run = merged(json.loads(args.out.read_text()), results, by_key)
    try:
        # Case by case, but the runs of one (scenario, variant) interleave their targets, so a
        # slow drift of the machine touches every target alike; history's variants (one
        # target, rooms of different contents) interleave the same way.
        groups: dict[tuple[str, str], list[Case]] = {}
        for case in cases:
            variant = "" if case.scenario == "history" else case.variant
            groups.setdefault((case.scenario, variant), []).append(case)
        total = len(cases) * args.runs
        done = 0
        for group in groups.values():
            for index in range(1, args.runs + 1):
                for case in group:
                    done += 1
                    what = f"{case.scenario} {case.variant} {case.target}"
                    log(f"[{done}/{total}] {what} run {index}")
                    record = runner.run_once(case, index)
                    entry = by_key[case.key]
                    entry["runs"].append(record)
                    entry["summary"] = summarise(entry["runs"])
                    log("  " + describe(record))
                    save(results, args.out)
    finally:
        run["finished"] = datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")
        run["elapsed_s"] = round(time.monotonic() - t0)
        save(results, args.out)
        runner.drop_templates()
        shutil.rmtree(source, ignore_errors=True)
    if not args.no_report:
        report.write(results, args.report, BENCH / "notes.md")
        log(f"wrote {args.out} and {args.report}")
    failures = sum(e["summary"]["failed"] for e in by_key.values() if "summary" in e)
    log(f"finished in {run['elapsed_s'] / 60:.1f} min; {failures} failed runs")
    return 0


def merged(
    old: dict[str, Any], new: dict[str, Any], by_key: dict[str, dict[str, Any]]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """``old`` with the cases of this run: each replaces the case of the same key in its
    place, or comes after the others. The run (command, times, machine) is listed in
    ``merged_runs`` and each of its cases names it; returns the file and that entry."""
    run = {k: v for k, v in new.items() if k != "cases"}
    run["cases"] = list(by_key)
    runs = old.setdefault("merged_runs", [])
    runs.append(run)
    for entry in by_key.values():
        entry["merged_run"] = len(runs) - 1
    cases = []
    for case in old["cases"]:
        key = f"{case['scenario']}/{case['variant']}/{case['target']}"
        cases.append(by_key.get(key, case))
    cases += [entry for key, entry in by_key.items() if not any(c is entry for c in cases)]
    old["cases"] = cases
    return old, run


def describe(record: dict[str, Any]) -> str:
    if not record.get("ok"):
        return f"FAILED after {record['wall_s']} s: {record['error']}"
    shown = ", ".join(
        f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in record["result"].items()
    )
    return f"{shown} ({record['wall_s']} s)"


def save(results: dict[str, Any], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".partial")
    partial.write_text(json.dumps(results, indent=1) + "\n")
    partial.replace(path)


if __name__ == "__main__":
    sys.exit(main())
