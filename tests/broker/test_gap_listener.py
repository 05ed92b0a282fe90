"""A broker's ``on_gap`` on one node, over real sockets and SQLite: when the broker says it
may have lost payloads, the hub reads each followed room's last seq and repairs the feeds
that are behind, even when no later event would ever show the hole."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from support import Client, assert_gapless, config_for, register, running_server, until

from hubbub.broker.base import Broker, GapListener, Payload, Subscriber
from hubbub.broker.memory import MemoryBroker


class SilentlyLosingBroker(Broker):
    """The in-process broker, except that while ``losing`` it drops committed events without
    a word, until ``tell_gap`` calls its gap listeners, as a broker between nodes does
    once its subscription is back."""

    def __init__(self) -> None:
        self.real = MemoryBroker()
        self.losing = False
        self.lost: list[int] = []
        self._gap_listeners: list[GapListener] = []

    async def open(self) -> None:
        await self.real.open()

    async def close(self) -> None:
        await self.real.close()

    def subscribe(self, subscriber: Subscriber, on_gap: GapListener | None = None) -> None:
        self.real.subscribe(subscriber)
        if on_gap is not None:
            self._gap_listeners.append(on_gap)

    def publish(self, payload: Payload) -> None:
        if self.losing and isinstance(payload, list):
            self.lost.extend(event.seq for event in payload)
            return
        self.real.publish(payload)

    def tell_gap(self) -> None:
        for listener in self._gap_listeners:
            listener()


async def test_a_gap_told_by_the_broker_is_repaired_from_storage_in_every_followed_room(
    tmp_path: Path, http: aiohttp.ClientSession
) -> None:
    broker = SilentlyLosingBroker()
    async with running_server(config_for(tmp_path), broker=broker) as server:
        alice = await register(http, server.url, "alice")
        bob = await register(http, server.url, "bob")
        async with (
            Client.connect(http, server.url, alice, sync={}) as a,
            Client.connect(http, server.url, bob, sync={}) as b,
        ):
            for room in ("one", "two"):
                await a.ok("create", name=room)
                await b.ok("join", room=room)
            await a.ok("create", name="quiet")  # nothing lost there: nothing to repair
            broker.losing = True
            lost = [await a.send(room, f"lost in {room}") for room in ("one", "two", "one")]
            broker.losing = False
            assert sorted(broker.lost) == sorted(ack["seq"] for ack in lost)
            assert not [e for e in b.events if e.get("type") == "message"]

            broker.tell_gap()
            for client in (a, b):
                await client.wait_for(lambda c: len(c.room_events("one", "message")) == 2)
                await client.wait_for(lambda c: len(c.room_events("two", "message")) == 1)
                for room in ("one", "two"):
                    events = client.room_events(room)
                    assert_gapless(events, start=events[0]["seq"])  # once each, in order
            assert [e["body"] for e in b.room_events("one", "message")] == ["lost in one"] * 2
            assert a.frames.empty() and b.frames.empty()  # repaired whole: no `synced`


class StaleReads:
    """Storage reads of one room that return what they read only once ``release`` is set:
    a repair whose read began before a gap was told finishes after it."""

    def __init__(self, storage: Any, room: str) -> None:
        self.real_replay, self.real_room = storage.replay_since, storage.get_room
        self.room = room
        self.replays = 0
        self.room_reads = 0
        self.release = asyncio.Event()

    async def replay_since(
        self, room: str, since: int, bound: int, reader: str | None = None
    ) -> Any:
        replay = await self.real_replay(room, since, bound, reader)
        if room == self.room and not self.release.is_set():
            self.replays += 1
            await self.release.wait()
        return replay

    async def get_room(self, name: str) -> Any:
        found = await self.real_room(name)
        self.room_reads += 1
        return found


async def test_a_repair_whose_read_began_before_a_gap_checks_its_room_again(
    tmp_path: Path, http: aiohttp.ClientSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    broker = SilentlyLosingBroker()
    async with running_server(config_for(tmp_path), broker=broker) as server:
        alice = await register(http, server.url, "alice")
        bob = await register(http, server.url, "bob")
        async with (
            Client.connect(http, server.url, alice, sync={}) as a,
            Client.connect(http, server.url, bob, sync={}) as b,
        ):
            await a.ok("create", name="r")  # seq 1
            await b.ok("join", room="r")  # seq 2
            broker.losing = True
            await a.send("r", "lost before")  # seq 3
            broker.losing = False
            storage = server.node.storage
            stale = StaleReads(storage, "r")
            monkeypatch.setattr(storage, "replay_since", stale.replay_since)
            monkeypatch.setattr(storage, "get_room", stale.get_room)
            await a.send("r", "shows the hole")  # seq 4: both feeds start a repair
            await until(lambda: stale.replays == 2)  # both have read: up to seq 4
            broker.losing = True
            last = await a.send("r", "lost after their reads")  # seq 5
            broker.losing = False
            broker.tell_gap()
            await until(lambda: stale.room_reads == 1)  # checked: both feeds were buffering
            stale.release.set()
            for client in (a, b):
                await client.wait_for(lambda c: last["seq"] in [e["seq"] for e in c.events])
                events = client.room_events("r")
                assert_gapless(events, start=events[0]["seq"])
                assert events[-1]["seq"] == last["seq"] == 5
