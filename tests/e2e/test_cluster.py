"""Three ``hubbub serve`` processes on one PostgreSQL database and one Redis channel, under
load and under faults: every client, whichever node it is on, gets every room's events in seq
order, once each, with no hole, and nothing acknowledged is ever lost or stored twice.

Each node is a real process on its own port with its own data dir; nothing is shared between
them but PostgreSQL and Redis, as between machines. Faults are real ones: Redis connections
killed with ``CLIENT KILL`` (and Redis kept out of reach through a relay that refuses new
connections), a node killed with SIGKILL, PostgreSQL backends ended with
``pg_terminate_backend``. Each test stops every process it started, by pid, and drops its
database.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import signal
import threading
from collections import Counter
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import aiohttp
import asyncpg
import pg
import redis.asyncio as aioredis
from redis_support import Relay, require_redis, unique_channel
from support import (
    Client,
    ServerProcess,
    assert_gapless,
    bearer,
    call_api,
    read_history,
    register,
    until,
)

NODES = 3
REQUEST_TIMEOUT = 10.0  # a reply slower than this is a hang
CONVERGE_TIMEOUT = 20.0  # for every client to have every event
PROGRESS_TIMEOUT = 20.0  # for senders to get some more acks
WINDOW = 3  # sends each client keeps in flight
LOST = (ConnectionError, aiohttp.ClientError)  # what a client sees when its node goes away


# --- the cluster --------------------------------------------------------------------------------


class Node:
    """One ``hubbub serve`` process; what it prints is kept (a full pipe would stall it) and
    shown when a test fails."""

    def __init__(self, index: int, process: ServerProcess) -> None:
        self.index = index
        self.process = process
        self.output: list[bytes] = []
        self._drain: threading.Thread | None = None

    @property
    def url(self) -> str:
        return self.process.url

    @property
    def alive(self) -> bool:
        return self.process.proc is not None and self.process.proc.poll() is None

    def start(self) -> None:
        self.process.start()
        proc = self.process.proc
        assert proc is not None and proc.stdout is not None
        stdout = proc.stdout
        self._drain = threading.Thread(target=lambda: self.output.extend(stdout), daemon=True)
        self._drain.start()

    def kill(self) -> None:
        """SIGKILL, by pid; then its output is read to the end."""
        self.process.kill()
        if self._drain is not None:
            self._drain.join(5)

    def stop(self) -> None:
        self.kill()
        self.process.stop()


@dataclass
class Cluster:
    nodes: list[Node]
    database: str  # its URL
    channel: str  # the Redis channel; each node's Redis connections are named <channel>-<index>

    def live_node_from(self, index: int) -> Node:
        """The node ``index`` if it is alive, else the next live one."""
        for step in range(len(self.nodes)):
            node = self.nodes[(index + step) % len(self.nodes)]
            if node.alive:
                return node
        raise AssertionError("no node is alive")

    def output(self) -> str:
        return "\n".join(
            f"--- node {n.index}:\n" + b"".join(n.output).decode(errors="replace")
            for n in self.nodes
        )


def with_query(url: str, **params: str) -> str:
    parts = urlsplit(url)
    query = [*parse_qsl(parts.query), *params.items()]
    return urlunsplit(parts._replace(query=urlencode(query)))


@asynccontextmanager
async def cluster(tmp_path: Path, relays: Sequence[Relay] = ()) -> AsyncIterator[Cluster]:
    """``NODES`` nodes on a new database and a new Redis channel, started together; node i
    reaches Redis through ``relays[i]`` when relays are given."""
    redis = require_redis()
    database = pg.fresh_database()
    channel = unique_channel()
    nodes = []
    for index in range(NODES):
        via = relays[index].url if relays else redis
        broker = with_query(via, channel=channel, client_name=f"{channel}-{index}")
        process = ServerProcess(tmp_path / f"node{index}", storage_url=database, broker=broker)
        nodes.append(Node(index, process))
    running = Cluster(nodes, database, channel)
    try:
        await asyncio.gather(*(asyncio.to_thread(node.start) for node in nodes))
        yield running
    except BaseException:
        for node in nodes:
            node.kill()
        print(running.output())
        raise
    finally:
        for node in nodes:
            node.stop()
        pg.drop_created()


# --- clients --------------------------------------------------------------------------------------


class Peer(Client):
    """A ``Client`` whose unanswered requests fail as soon as its connection ends."""

    async def _read(self) -> None:
        try:
            await super()._read()
        finally:
            for future in self.replies.values():
                if not future.done():
                    future.set_exception(ConnectionResetError("the connection ended"))
                    future.exception()  # a request no longer awaited must not log it
            self.replies.clear()

    @property
    def connected(self) -> bool:
        return not self._reader.done()

    async def ready(self) -> bool:
        """Whether ``ready`` came (False: the server closed the connection first)."""
        frame = asyncio.ensure_future(self.frames.get())
        done, _ = await asyncio.wait(
            {frame, self._reader}, timeout=REQUEST_TIMEOUT, return_when=asyncio.FIRST_COMPLETED
        )
        if frame not in done:
            frame.cancel()
            if self._reader in done:
                return False
            raise TimeoutError("no ready from the server")
        assert frame.result()["type"] == "ready", frame.result()
        return True


@dataclass
class Member:
    """A user with one connection at a time, what it received over all of them, and an
    outbox: every message written but not yet acknowledged, sent again with its
    ``client_msg_id`` after a reconnect or an ``unavailable``."""

    name: str
    token: str
    node: int  # where it connects first
    rooms: tuple[str, ...]
    peer: Peer | None = None
    at: int = -1  # the node of the connection
    earlier: list[dict[str, Any]] = field(default_factory=list)  # events of closed connections
    pending: dict[str, tuple[str, str]] = field(default_factory=dict)  # cmid -> (room, body)
    acks: dict[str, dict[str, Any]] = field(default_factory=dict)  # cmid -> its ``sent``
    sends: Counter[str] = field(default_factory=Counter)  # cmid -> times sent
    unavailable: int = 0  # ``unavailable`` replies
    connections: int = 0
    closes: list[int | None] = field(default_factory=list)  # codes of connections it lost
    _written: int = 0

    def events(self, room: str) -> list[dict[str, Any]]:
        current = self.peer.events if self.peer is not None else []
        return [e for e in self.earlier + current if e.get("room") == room and "seq" in e]

    def last_seq(self, room: str) -> int:
        events = self.events(room)
        return int(events[-1]["seq"]) if events else 0

    @property
    def connected(self) -> bool:
        return self.peer is not None and self.peer.connected

    async def connect(self, http: aiohttp.ClientSession, node: Node) -> None:
        """A new connection to ``node`` that resumes every room from the last seq seen;
        tried again while the node answers ``unavailable`` or closes it."""
        if self.peer is not None and not self.peer.connected:
            self.closes.append(self.peer.close_code)
        await self.disconnect()
        since = {room: self.last_seq(room) for room in self.rooms}
        for attempt in itertools.count():
            peer: Peer | None = None
            try:
                ws = await http.ws_connect(
                    node.url + "/", protocols=("hubbub.v1",), headers=bearer(self.token)
                )
                peer = Peer(ws)
                self.connections += 1
                if await peer.ready():
                    synced = await peer.request("sync", timeout=REQUEST_TIMEOUT, since=since)
                    if synced["type"] == "synced":
                        assert all(r["complete"] for r in synced["rooms"].values()), synced
                        self.peer, self.at = peer, node.index
                        return
                    assert synced["code"] == "unavailable", synced
            except LOST:
                pass
            finally:
                if peer is not None and peer is not self.peer:
                    await peer.close()  # what a failed sync replayed comes again on the next
            await backoff(attempt)

    async def disconnect(self) -> None:
        if self.peer is not None:
            await self.peer.close()
            self.earlier.extend(self.peer.events)
            self.peer = None

    def write(self, room: str) -> str:
        """A new message in the outbox; its client_msg_id."""
        self._written += 1
        client_msg_id = f"{self.name}-{self._written}"
        self.pending[client_msg_id] = (room, f"{self.name} #{self._written} in {room}")
        return client_msg_id

    async def deliver(self, client_msg_id: str) -> None:
        """Send an outbox message until it is acknowledged (``unavailable``: again, after a
        backoff). Raises one of ``LOST`` if the connection ends first."""
        room, body = self.pending[client_msg_id]
        for attempt in itertools.count():
            assert self.peer is not None
            self.sends[client_msg_id] += 1
            reply = await self.peer.request(
                "send",
                timeout=REQUEST_TIMEOUT,
                room=room,
                body=body,
                client_msg_id=client_msg_id,
            )
            if reply["type"] == "sent":
                assert (reply["room"], reply["client_msg_id"]) == (room, client_msg_id), reply
                assert client_msg_id not in self.acks, (self.acks[client_msg_id], reply)
                self.acks[client_msg_id] = reply
                del self.pending[client_msg_id]
                return
            assert reply["type"] == "error" and reply["code"] == "unavailable", reply
            self.unavailable += 1
            await backoff(attempt)

    async def pump(self, stop: asyncio.Event, window: int = WINDOW) -> None:
        """Keep ``window`` sends in flight (the outbox first, then new messages round the
        rooms) until ``stop``, then until the outbox is empty. Raises one of ``LOST`` when
        the connection ends."""
        retries = list(self.pending)
        rooms = itertools.cycle(self.rooms)

        async def sender() -> None:
            while True:
                if retries:
                    client_msg_id = retries.pop(0)
                elif not stop.is_set():
                    client_msg_id = self.write(next(rooms))
                else:
                    return
                await self.deliver(client_msg_id)

        tasks = [asyncio.create_task(sender()) for _ in range(window)]
        try:
            await asyncio.gather(*tasks)
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)


async def backoff(attempt: int) -> None:
    """A client's pause before it tries again, as the protocol asks after ``unavailable``."""
    await asyncio.sleep(min(0.01 * 2**attempt, 0.25))


async def members_in_rooms(
    http: aiohttp.ClientSession,
    running: Cluster,
    count: int,
    rooms: tuple[str, ...],
) -> list[Member]:
    """``count`` users, user i registered on and connected to node i % NODES, all in every
    room (the first creates them), each connection synced from seq 0: it gets each room
    from its first event. They write in every room."""
    members = []
    for i in range(count):
        node = running.nodes[i % NODES]
        name = f"user{i}"
        token = await register(http, node.url, name)
        members.append(Member(name, token, node.index, rooms))
    for room in rooms:
        owner = members[0]
        created = await call_api(
            http, "POST", f"{running.nodes[0].url}/api/v1/rooms", owner.token, json={"name": room}
        )
        assert created.status == 201, created.body
        for member in members[1:]:
            url = f"{running.nodes[member.node].url}/api/v1/rooms/{room}/join"
            joined = await call_api(http, "POST", url, member.token)
            assert joined.status == 200, joined.body
    await asyncio.gather(*(m.connect(http, running.nodes[m.node]) for m in members))
    return members


async def keep_sending(
    http: aiohttp.ClientSession, running: Cluster, member: Member, stop: asyncio.Event
) -> None:
    """``pump`` until ``stop``; whenever the connection ends, reconnect (to the member's node,
    or the next live one) and go on, the outbox first."""
    while True:
        if not member.connected:
            await member.connect(http, running.live_node_from(member.node))
        try:
            await member.pump(stop)
            return
        except LOST:
            continue


def acked(members: Sequence[Member]) -> int:
    return sum(len(m.acks) for m in members)


async def more_acks(members: Sequence[Member], more: int) -> None:
    """Until each of ``members`` has ``more`` acks than now."""
    target = [len(m.acks) + more for m in members]
    await progress(
        members, lambda: all(len(m.acks) >= n for m, n in zip(members, target, strict=True))
    )


async def progress(members: Sequence[Member], condition: Callable[[], bool]) -> None:
    """Until ``condition()`` holds; if senders stall, say how far they got."""
    try:
        await until(condition, PROGRESS_TIMEOUT)
    except TimeoutError:
        acks = {m.name: len(m.acks) for m in members}
        unavailable = {m.name: m.unavailable for m in members}
        raise AssertionError(
            f"senders stalled for {PROGRESS_TIMEOUT}s: acks {acks}, unavailable {unavailable}"
        ) from None


# --- the checks -------------------------------------------------------------------------------


def view(event: dict[str, Any]) -> tuple[Any, ...]:
    """What live delivery and history must agree on."""
    keys = ("seq", "type", "user", "ts", "msg_id", "client_msg_id", "body")
    return tuple(event.get(key) for key in keys)


async def everyone_has_everything(
    http: aiohttp.ClientSession, running: Cluster, members: Sequence[Member]
) -> dict[str, list[dict[str, Any]]]:
    """Once no one sends any more: the history of every room, read from every live node,
    is gapless and the same; every member received exactly that, in order, once each (a
    member whose connection was closed reconnects and resumes); every acknowledged message
    is stored once, as acknowledged, and nothing else is. Returns the history."""
    rooms = members[0].rooms
    token = members[0].token
    live = [node for node in running.nodes if node.alive]
    history = {room: await read_history(http, live[0].url, token, room) for room in rooms}
    for room, events in history.items():
        assert_gapless(events)
        for node in live[1:]:
            elsewhere = await read_history(http, node.url, token, room)
            assert [view(e) for e in elsewhere] == [view(e) for e in events], node.index
    last = {room: len(events) for room, events in history.items()}

    async def converged() -> None:
        while not all(m.last_seq(r) >= last[r] for m in members for r in rooms):
            for member in members:
                if not member.connected:  # closed by its node (storage failed under it)
                    await member.connect(http, running.live_node_from(member.node))
            await asyncio.sleep(0.005)

    try:
        await asyncio.wait_for(converged(), CONVERGE_TIMEOUT)
    except TimeoutError:
        behind = {m.name: {r: (m.last_seq(r), last[r]) for r in rooms} for m in members}
        raise AssertionError(f"not every member has every event: {behind}") from None
    for member in members:
        for room in rooms:
            received = member.events(room)
            assert_gapless(received)
            assert [view(e) for e in received] == [view(e) for e in history[room]], member.name

    messages = [e for events in history.values() for e in events if e["type"] == "message"]
    stored = Counter((e["user"], e["client_msg_id"]) for e in messages)
    assert not [key for key, n in stored.items() if n > 1], "stored twice"
    by_key = {(e["user"], e["client_msg_id"]): e for e in messages}
    for member in members:
        assert not member.pending, (member.name, member.pending)
        for client_msg_id, ack in member.acks.items():
            event = by_key.pop((member.name, client_msg_id))
            assert (event["room"], event["seq"], event["msg_id"], event["ts"]) == (
                ack["room"],
                ack["seq"],
                ack["msg_id"],
                ack["ts"],
            )
    assert not by_key, f"stored but never acknowledged: {list(by_key)[:5]}"
    return history


@asynccontextmanager
async def sending(
    http: aiohttp.ClientSession, running: Cluster, members: Sequence[Member]
) -> AsyncIterator[asyncio.Event]:
    """Every member sends (``keep_sending``) inside the block; setting the event it gives
    stops them, and leaving the block waits until every one is acknowledged."""
    stop = asyncio.Event()
    tasks = [asyncio.create_task(keep_sending(http, running, m, stop)) for m in members]
    try:
        yield stop
        stop.set()
        done, _ = await asyncio.wait(tasks, timeout=CONVERGE_TIMEOUT)
        assert len(done) == len(tasks), "senders did not get every message acknowledged"
        for task in done:
            task.result()
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


@asynccontextmanager
async def members_on(
    http: aiohttp.ClientSession,
    running: Cluster,
    count: int,
    rooms: tuple[str, ...],
) -> AsyncIterator[list[Member]]:
    members = await members_in_rooms(http, running, count, rooms)
    try:
        yield members
    finally:
        for member in members:
            await member.disconnect()


# --- 1: several nodes under load -------------------------------------------------------------


async def test_clients_on_three_nodes_see_every_room_in_order_once_and_history_agrees(
    tmp_path: Path, http: aiohttp.ClientSession
) -> None:
    """Six clients, two per node, all in three rooms, each with a few sends in flight: a
    few hundred messages, every room written from every node at once."""
    rooms = ("red", "green", "blue")
    async with (
        cluster(tmp_path) as running,
        members_on(http, running, 6, rooms) as members,
    ):
        async with sending(http, running, members):
            await progress(members, lambda: acked(members) >= 300)
        history = await everyone_has_everything(http, running, members)
        assert sum(len(h) for h in history.values()) >= 300
        for room in rooms:  # every room had senders on every node
            authors = {e["user"] for e in history[room] if e["type"] == "message"}
            assert len(authors) == 6, authors


# --- 2: Redis connections cut ---------------------------------------------------------------


async def redis_clients(prefix: str, kind: str) -> list[dict[str, Any]]:
    """The Redis connections (``normal`` or ``pubsub``) of the nodes named ``prefix-…``."""
    async with aioredis.from_url(require_redis()) as admin:
        clients = await admin.client_list(_type=kind)
    return [c for c in clients if str(c.get("name", "")).startswith(prefix + "-")]


async def kill_redis_clients(prefix: str) -> dict[str, int]:
    """``CLIENT KILL`` every connection of the nodes, subscriptions and the others alike;
    how many of each kind were killed."""
    killed = {}
    async with aioredis.from_url(require_redis()) as admin:
        for kind in ("pubsub", "normal"):
            clients = await admin.client_list(_type=kind)
            ours = [c for c in clients if str(c.get("name", "")).startswith(prefix + "-")]
            killed[kind] = sum([await admin.client_kill_filter(_id=c["id"]) for c in ours])
    return killed


async def until_subscribed(running: Cluster, nodes: range) -> None:
    """Until exactly ``nodes`` hold a subscription in Redis."""
    expected = {f"{running.channel}-{i}" for i in nodes}
    async with asyncio.timeout(CONVERGE_TIMEOUT):
        while {c["name"] for c in await redis_clients(running.channel, "pubsub")} != expected:
            await asyncio.sleep(0.01)


async def test_redis_connections_killed_mid_load_lose_no_event(
    tmp_path: Path, http: aiohttp.ClientSession
) -> None:
    """The nodes' Redis connections are killed while everyone sends; then, with everyone
    paused, killed again while no node can reach Redis (each reaches it through a relay that
    now refuses connections) and a batch is sent on node 0 alone: it cannot cross Redis,
    yet the other nodes' clients get it, from storage, once Redis is back."""
    rooms = ("alpha", "beta")
    relays = [Relay(require_redis()) for _ in range(NODES)]
    async with AsyncExitStack() as stack:
        for relay in relays:
            await relay.start()
            stack.push_async_callback(relay.stop)
        running = await stack.enter_async_context(cluster(tmp_path, relays))
        members = await stack.enter_async_context(members_on(http, running, 6, rooms))
        await until_subscribed(running, range(NODES))

        # Mid-load: every connection killed while sends are in flight on every node.
        async with sending(http, running, members):
            await more_acks(members, 10)
            killed = await kill_redis_clients(running.channel)
            assert killed["pubsub"] == NODES and killed["normal"] >= 1, killed
            await more_acks(members, 10)
        await everyone_has_everything(http, running, members)
        await until_subscribed(running, range(NODES))

        # Redis out of reach: node 0's batch cannot cross; its own clients have it at once.
        for relay in relays:
            relay.refuse()
        killed = await kill_redis_clients(running.channel)
        assert killed["pubsub"] == NODES, killed
        on_node_0 = [m for m in members if m.node == 0]
        elsewhere = [m for m in members if m.node != 0]
        before = {room: members[0].last_seq(room) for room in rooms}
        batch = [(m, m.write(room)) for m in on_node_0 for room in rooms for _ in range(5)]
        await asyncio.gather(*(m.deliver(client_msg_id) for m, client_msg_id in batch))
        after = {room: before[room] + 5 * len(on_node_0) for room in rooms}
        await until(lambda: all(m.last_seq(r) == after[r] for m in on_node_0 for r in rooms))
        assert await redis_clients(running.channel, "pubsub") == []  # still out of reach
        assert all(m.last_seq(r) == before[r] for m in elsewhere for r in rooms), "it crossed"

        for relay in relays:
            await relay.start()
        await everyone_has_everything(http, running, members)  # repaired from storage
        await until_subscribed(running, range(NODES))

        # And live again, across nodes.
        async with sending(http, running, members):
            await more_acks(members, 5)
        await everyone_has_everything(http, running, members)


# --- 3: a node killed -----------------------------------------------------------------------


async def test_a_node_killed_mid_load_loses_nothing_acknowledged_and_stores_nothing_twice(
    tmp_path: Path, http: aiohttp.ClientSession
) -> None:
    """Node 2 is stopped (SIGSTOP) while its clients send, each of them sends one more
    message that it can therefore never have answered, and it is killed (SIGKILL). Its
    clients reconnect to node 0, ``sync`` from the last seq they saw, and send their outbox
    again with the same client_msg_ids."""
    rooms = ("north", "south")
    async with (
        cluster(tmp_path) as running,
        members_on(http, running, 6, rooms) as members,
    ):
        doomed = running.nodes[2]
        on_doomed = [m for m in members if m.node == doomed.index]
        async with sending(http, running, members):
            await more_acks(members, 10)
            assert doomed.process.proc is not None
            os.kill(doomed.process.proc.pid, signal.SIGSTOP)
            last_words = [(m, m.write(rooms[0])) for m in on_doomed]
            unanswerable = [asyncio.create_task(m.deliver(cmid)) for m, cmid in last_words]
            await until(lambda: all(m.sends[cmid] == 1 for m, cmid in last_words))
            in_flight = {m.name: set(m.pending) for m in on_doomed}
            doomed.kill()
            for outcome in await asyncio.gather(*unanswerable, return_exceptions=True):
                assert isinstance(outcome, LOST), outcome
            await more_acks(members, 10)  # its clients too, on another node
        assert all(m.at == 0 for m in on_doomed), [m.at for m in on_doomed]
        await everyone_has_everything(http, running, members)
        for member, client_msg_id in last_words:
            assert member.sends[client_msg_id] == 2  # sent again, stored once (checked above)
        resent = sum(m.sends[c] > 1 for m in on_doomed for c in in_flight[m.name])
        print(f"unacknowledged when node 2 died: {in_flight}; {resent} of them sent again")


# --- 4: PostgreSQL connections ended ----------------------------------------------------------


async def terminate_backends(database_url: str) -> int:
    """End every connection to the test database (the nodes' writers and readers); how
    many were ended."""
    name = urlsplit(database_url).path.lstrip("/")
    admin = await asyncpg.connect(pg.SERVER, timeout=pg.CONNECT_TIMEOUT)
    try:
        ended = await admin.fetchval(
            # The targets first, fenced: no other connection may be ended, wherever the
            # planner would put the call among the conditions.
            "WITH targets AS MATERIALIZED (SELECT pid FROM pg_stat_activity"
            " WHERE datname = $1 AND pid <> pg_backend_pid())"
            " SELECT count(*) FILTER (WHERE pg_terminate_backend(pid)) FROM targets",
            name,
        )
    finally:
        await admin.close()
    return int(ended)


async def until_healthy(http: aiohttp.ClientSession, node: Node) -> None:
    async with asyncio.timeout(CONVERGE_TIMEOUT):
        while True:
            async with http.get(f"{node.url}/healthz") as response:
                if response.status == 200 and (await response.json())["status"] == "ok":
                    return
            await asyncio.sleep(0.01)


async def test_postgres_connections_ended_mid_load_lose_nothing_and_nodes_recover(
    tmp_path: Path, http: aiohttp.ClientSession
) -> None:
    """Three times while everyone sends, every PostgreSQL connection of the nodes is ended.
    Sends are answered (``sent``, or ``unavailable`` and sent again), none hangs; the same
    processes then serve as before: healthy, and sends succeed at the first try."""
    rooms = ("east", "west")
    async with (
        cluster(tmp_path) as running,
        members_on(http, running, 6, rooms) as members,
    ):
        pids = [node.process.proc.pid for node in running.nodes if node.process.proc]
        ended = []
        async with sending(http, running, members):
            for _ in range(3):
                await more_acks(members, 5)
                ended.append(await terminate_backends(running.database))
                assert ended[-1] >= NODES, ended  # at least each node's writer
            await more_acks(members, 10)  # under load, without a restart
        for node in running.nodes:
            await until_healthy(http, node)
        assert [node.process.proc.pid for node in running.nodes if node.process.proc] == pids
        assert all(node.alive for node in running.nodes)

        for member in members:
            if not member.connected:
                await member.connect(http, running.nodes[member.node])
        unavailable = sum(m.unavailable for m in members)
        await asyncio.gather(*(m.deliver(m.write(rooms[1])) for m in members))
        assert sum(m.unavailable for m in members) == unavailable  # each at the first try
        await everyone_has_everything(http, running, members)
        print(
            f"connections ended: {ended}; {unavailable} sends answered unavailable;"
            f" connections closed by the nodes: {[m.closes for m in members]}"
        )
