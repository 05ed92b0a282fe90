"""Presence: online, away and offline, told to the users who share a room, batched.

A user is online while any of their sessions is open and one of them has not said idle,
away when all of them have, offline with none. Only users sharing a room with them hear of
it, in ``presence`` frames (at most one per connection per flush interval); the reply to
``sync`` says who is online or away. Across nodes, each node says
what it knows of its own sessions, and a node not heard of for a while is forgotten.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiohttp
import msgspec
import pg
import pytest
from redis_support import two_nodes
from support import Client, RunningServer, public_room, register

from hubbub.broker.base import Audience, Notice
from hubbub.core.presence import Contributions, State, combine, node_state
from hubbub.service.presence import NodePresence

ROOM = "team"
FAST = 0.02  # the flush interval of these tests' servers, in seconds


class Watcher:
    """The presence frames a client received, in order, and the states they add up to."""

    def __init__(self, client: Client, server: RunningServer) -> None:
        self.client = client
        self.presence = server.node.hub.presence
        self.frames: list[dict[str, str]] = []
        self.states: dict[str, str] = {}

    def seen(self, user: str) -> list[str]:
        """Each state of ``user`` the client was told, in order."""
        return [frame[user] for frame in self.frames if user in frame]

    async def until(self, user: str, state: str) -> None:
        """Until the client has been told ``user`` is ``state``."""
        while self.states.get(user, "offline") != state:
            await self.read_one()

    async def read_one(self) -> None:
        frame = await self.client.next_frame()
        if frame["type"] == "presence":
            users: dict[str, str] = frame["users"]
            self.frames.append(users)
            self.states.update(users)

    async def nothing_more(self, flush: bool = True) -> None:
        """Nothing more is on its way: what is pending is sent now (``flush``), and a ping's
        pong comes after all that was queued before it, so no presence frame is left unread
        once it is here."""
        if flush:
            self.presence.flush()
        await self.client.ok("ping")
        while not self.client.frames.empty():
            await self.read_one()


@asynccontextmanager
async def watching(
    http: aiohttp.ClientSession, server: RunningServer, token: str
) -> AsyncIterator[Watcher]:
    """A synced client; the presence in the reply to ``sync`` is its first "frame"."""
    async with Client.connect(http, server.url, token) as client:
        watcher = Watcher(client, server)
        synced = await client.ok("sync", since={})
        watcher.frames.append(synced.get("presence", {}))
        watcher.states.update(watcher.frames[0])
        yield watcher


@pytest.fixture
def fast(server: RunningServer) -> RunningServer:
    server.node.hub.presence.flush_interval = FAST
    return server


async def team(http: aiohttp.ClientSession, server: RunningServer) -> list[str]:
    """alice and bob share ``team``; carol shares no room with them."""
    return await public_room(http, server.url, ROOM, ["alice", "bob"], others=["carol"])


async def idle(client: Client, away: bool) -> None:
    await client.ws.send_json({"type": "idle", "away": away})
    await client.ok("ping")  # handled in order: the idle report is taken into account


async def test_who_shares_a_room_sees_a_user_come_online_and_nobody_else_does(
    fast: RunningServer, http: aiohttp.ClientSession
) -> None:
    alice_token, bob_token, carol_token = await team(http, fast)
    async with watching(http, fast, bob_token) as bob, watching(http, fast, carol_token) as carol:
        assert bob.frames == [{}] and carol.frames == [{}]  # nobody else online yet
        async with Client.connect(http, fast.url, alice_token):
            await bob.until("alice", "online")
            assert carol.states == {} and "carol" not in bob.states
            await carol.nothing_more()
            assert carol.frames == [{}]
        await bob.until("alice", "offline")
        await carol.nothing_more()
        assert carol.frames == [{}]


async def test_a_user_stays_online_until_the_last_session_closes(
    fast: RunningServer, http: aiohttp.ClientSession
) -> None:
    alice_token, bob_token, _ = await team(http, fast)
    async with watching(http, fast, bob_token) as bob:
        async with Client.connect(http, fast.url, alice_token):
            async with Client.connect(http, fast.url, alice_token):
                await bob.until("alice", "online")
            await bob.nothing_more()  # one session closed, one left: no change
            assert bob.seen("alice") == ["online"]
        await bob.until("alice", "offline")
        assert bob.seen("alice") == ["online", "offline"]


async def test_a_user_is_away_only_when_every_session_says_idle(
    fast: RunningServer, http: aiohttp.ClientSession
) -> None:
    alice_token, bob_token, _ = await team(http, fast)
    async with (
        watching(http, fast, bob_token) as bob,
        Client.connect(http, fast.url, alice_token) as phone,
        Client.connect(http, fast.url, alice_token) as laptop,
    ):
        await bob.until("alice", "online")
        await idle(phone, away=True)
        await bob.nothing_more()
        assert bob.seen("alice") == ["online"]  # the laptop is still in use
        await idle(laptop, away=True)
        await bob.until("alice", "away")
        await idle(phone, away=False)
        await bob.until("alice", "online")
        assert bob.seen("alice") == ["online", "away", "online"]


async def test_synced_tells_the_presence_of_who_shares_a_room(
    fast: RunningServer, http: aiohttp.ClientSession
) -> None:
    alice_token, bob_token, carol_token = await team(http, fast)
    dave_token = await register(http, fast.url, "dave")
    async with Client.connect(http, fast.url, dave_token) as dave:
        await dave.ok("dm", user="carol")  # carol and dave share only their DM
        async with (
            Client.connect(http, fast.url, alice_token) as alice,
            Client.connect(http, fast.url, carol_token),
        ):
            await idle(alice, away=True)
            async with watching(http, fast, bob_token) as bob:
                assert bob.frames == [{"alice": "away"}]  # carol and dave: in no room of bob's
            async with watching(http, fast, dave_token) as second:
                assert second.frames == [{"carol": "online"}]


async def test_opening_a_dm_tells_each_side_of_the_other(
    fast: RunningServer, http: aiohttp.ClientSession
) -> None:
    _, bob_token, carol_token = await team(http, fast)
    async with watching(http, fast, bob_token) as bob, watching(http, fast, carol_token) as carol:
        assert bob.frames == [{}] and carol.frames == [{}]  # no room in common yet
        await carol.client.ok("dm", user="bob")
        await bob.until("carol", "online")
        await carol.until("bob", "online")
        await idle(carol.client, away=True)
        await bob.until("carol", "away")


async def test_changes_within_a_flush_interval_reach_a_connection_as_one_frame(
    fast: RunningServer, http: aiohttp.ClientSession
) -> None:
    presence = fast.node.hub.presence
    alice_token, bob_token, _ = await team(http, fast)
    async with (
        watching(http, fast, bob_token) as bob,
        Client.connect(http, fast.url, alice_token) as alice,
    ):
        await bob.until("alice", "online")
        presence.flush_interval = 3600.0  # from now on flushed only by hand
        published = notices_of(fast)
        for change in range(21):  # away and back ten times, then away
            await alice.ws.send_json({"type": "idle", "away": change % 2 == 0})
        await alice.ok("ping")  # handled in order: all 21 were taken into account
        await bob.nothing_more(flush=False)
        assert bob.frames == [{}, {"alice": "online"}]  # nothing before the flush
        presence.flush()
        await bob.until("alice", "away")
        await bob.nothing_more()
        assert bob.frames == [{}, {"alice": "online"}, {"alice": "away"}]  # 21 changes, 1 frame
        assert published == [NodePresence(users={"alice": State.AWAY})]  # and 1 notice


def notices_of(server: RunningServer) -> list[NodePresence]:
    """The presence notices ``server``'s node publishes from now on."""
    published: list[NodePresence] = []

    def listen(payload: Any) -> None:
        presence = isinstance(payload, Notice) and payload.audience is Audience.PRESENCE
        if presence and payload.origin == server.node.hub.node_id:
            published.append(msgspec.json.decode(payload.data, type=NodePresence))

    server.node.broker.subscribe(listen)
    return published


def say(server: RunningServer, node: str, content: NodePresence) -> None:
    """What another node ``node`` would publish."""
    data = msgspec.json.encode(content)
    notice = Notice(audience=Audience.PRESENCE, name="", data=data, origin=node)
    server.node.broker.publish(notice)


async def test_a_user_online_on_another_node_is_forgotten_when_that_node_goes_silent(
    fast: RunningServer, http: aiohttp.ClientSession
) -> None:
    _, bob_token, _ = await team(http, fast)
    presence = fast.node.hub.presence
    async with watching(http, fast, bob_token) as bob:
        say(fast, "elsewhere", NodePresence(users={"alice": State.AWAY}))
        await bob.until("alice", "away")
        presence.node_timeout = 3600.0
        presence.beat()  # heard of a moment ago: kept
        await bob.nothing_more()
        assert bob.seen("alice") == ["away"]
        presence.node_timeout = 0.0
        presence.beat()  # not heard of since: taken for dead
        await bob.until("alice", "offline")
        say(fast, "elsewhere", NodePresence(users={"alice": State.ONLINE}))
        await bob.until("alice", "online")
        say(fast, "elsewhere", NodePresence(full=True))  # that node stops: nobody left there
        await bob.until("alice", "offline")


async def test_a_starting_node_is_told_who_is_online_on_the_others(
    fast: RunningServer, http: aiohttp.ClientSession
) -> None:
    alice_token, _, _ = await team(http, fast)
    told = notices_of(fast)
    async with Client.connect(http, fast.url, alice_token) as alice:
        await alice.ok("ping")
        say(fast, "newcomer", NodePresence(ask=True))
        assert told[-1] == NodePresence(users={"alice": State.ONLINE}, full=True)
        assert NodePresence(ask=True, to="newcomer") in told  # and asks it in turn
        told.clear()
        say(fast, "newcomer", NodePresence(ask=True, to="someone else"))
        assert told == []


# --- the aggregation, as pure functions --------------------------------------------------


def test_a_node_state_is_away_only_when_every_session_there_is_idle() -> None:
    assert node_state(0, 0) is State.OFFLINE
    assert node_state(2, 1) is State.ONLINE
    assert node_state(2, 2) is State.AWAY
    assert combine([]) is State.OFFLINE
    assert combine([State.AWAY, State.ONLINE]) is State.ONLINE
    assert combine([State.AWAY, State.OFFLINE]) is State.AWAY


def test_contributions_combine_nodes_and_forget_a_silent_one() -> None:
    states = Contributions()
    assert states.set("a", "alice", State.AWAY)
    assert states.set("b", "alice", State.ONLINE)
    assert not states.set("a", "alice", State.AWAY)  # no change
    assert states.state("alice") is State.ONLINE
    states.heard("a", 0.0)
    states.heard("b", 10.0)
    assert states.expire(now=20.0, timeout=15.0, keep="b") == []  # a: its part is away
    assert states.state("alice") is State.ONLINE
    assert states.expire(now=40.0, timeout=15.0, keep="a") == ["alice"]  # b is gone
    assert states.state("alice") is State.OFFLINE  # a was forgotten at 20.0 too
    assert not states.knows("a") and not states.knows("b")
    assert states.users_of("a") == {} and states.users_of("b") == {}


def test_a_full_report_replaces_what_a_node_said() -> None:
    states = Contributions()
    states.set("a", "alice", State.ONLINE)
    states.set("a", "bob", State.ONLINE)
    changed = states.replace("a", {"bob": State.AWAY, "carol": State.ONLINE})
    assert sorted(changed) == ["alice", "bob", "carol"]
    assert states.users_of("a") == {"bob": State.AWAY, "carol": State.ONLINE}
    assert states.forget("a") == ["bob", "carol"]


# --- two real nodes: PostgreSQL and Redis ------------------------------------------------


@pytest.fixture
def _drop_test_databases() -> Iterator[None]:
    yield
    pg.drop_created()


@pytest.mark.usefixtures("_drop_test_databases")
async def test_bob_on_one_node_sees_alice_on_another_come_and_go(
    tmp_path: Path, http: aiohttp.ClientSession
) -> None:
    async with two_nodes(tmp_path, FAST) as (a, b):
        alice_token, bob_token, _ = await team(http, a)
        async with watching(http, b, bob_token) as bob:
            async with Client.connect(http, a.url, alice_token) as alice:
                await bob.until("alice", "online")
                await idle(alice, away=True)
                await bob.until("alice", "away")
                async with Client.connect(http, b.url, alice_token):  # on bob's node too
                    await bob.until("alice", "online")
                await bob.until("alice", "away")
            await bob.until("alice", "offline")
        assert bob.seen("alice") == ["online", "away", "online", "away", "offline"]
