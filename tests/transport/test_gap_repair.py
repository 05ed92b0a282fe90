"""Gap repair on the live path, over real sockets, with a broker that loses, delays and
repeats events on purpose (as a broker between nodes may): every connection still receives
each room's events exactly once, in order, with no hole. Ephemeral notices take the broker's
path too, so a broker that loses them loses them for every node."""

from __future__ import annotations

import asyncio
import json
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from support import (
    Client,
    FaultyBroker,
    RunningServer,
    assert_gapless,
    config_for,
    register,
    running_server,
)

from hubbub.errors import Unavailable


def seqs(client: Client, room: str) -> list[int]:
    return [e["seq"] for e in client.room_events(room)]


async def pipelined(client: Client, room: str, count: int, tag: str) -> list[dict[str, Any]]:
    sends = [client.send(room, f"{tag} {i}", client_msg_id=f"{tag}-{i}") for i in range(count)]
    return list(await asyncio.gather(*sends))


async def test_lost_delayed_and_repeated_events_reach_everyone_once_in_order(
    tmp_path: Path, http: aiohttp.ClientSession
) -> None:
    # Seqs 1-4 are the room's member_joined events; the faults hit messages only.
    broker = FaultyBroker(
        "lossy", lose={7, 12, 13, 25, 40, 41, 42, 60}, delay={9, 20, 33, 50}, repeat={15, 30, 51}
    )
    async with running_server(config_for(tmp_path), broker=broker) as server:
        tokens = [await register(http, server.url, name) for name in ("ann", "bo", "cy", "di")]
        async with AsyncExitStack() as stack:
            clients = [
                await stack.enter_async_context(Client.connect(http, server.url, t, sync={}))
                for t in tokens
            ]
            await clients[0].ok("create", name="lossy")
            await clients[0].ok("create", name="clean")
            for client in clients[1:]:
                await client.ok("join", room="lossy")
                await client.ok("join", room="clean")
            acks = await asyncio.gather(
                pipelined(clients[0], "lossy", 35, "a"),
                pipelined(clients[1], "lossy", 35, "b"),
                pipelined(clients[2], "clean", 30, "c"),
            )
            last = await clients[3].send("lossy", "the end")  # past every fault
            for client in clients:
                await client.wait_for(lambda c: last["seq"] in seqs(c, "lossy"))
                events = client.room_events("lossy")
                assert_gapless(events, start=events[0]["seq"])  # once each, in order
                assert events[-1]["seq"] == last["seq"]
                sent = {ack["msg_id"] for ack in acks[0] + acks[1]} | {last["msg_id"]}
                assert {e["msg_id"] for e in events if e["type"] == "message"} == sent
                clean = client.room_events("clean")
                assert_gapless(clean, start=clean[0]["seq"])
            # The faults happened: what was lost reached everyone from storage.
            assert sorted(broker.lost) == [7, 12, 13, 25, 40, 41, 42, 60]
            assert broker.delayed and broker.repeated
            for client in clients:
                assert set(broker.lost) <= set(seqs(client, "lossy"))
                assert not any(f.get("type") == "synced" for f in drain(client))


def drain(client: Client) -> list[dict[str, Any]]:
    """Frames that were neither replies nor events, taken from the client."""
    frames = []
    while not client.frames.empty():
        frames.append(client.frames.get_nowait())
    return frames


class HeldReplay:
    """A gate on storage's ``replay_since`` for one room: reads wait for ``release``, so a
    test can act while repairs are under way."""

    def __init__(self, storage: Any, room: str) -> None:
        self.real = storage.replay_since
        self.room = room
        self.asked = asyncio.Event()
        self.release = asyncio.Event()

    async def __call__(self, room: str, since: int, bound: int, reader: str | None = None) -> Any:
        if room == self.room and not self.release.is_set():
            self.asked.set()
            await self.release.wait()
        return await self.real(room, since, bound, reader)


async def test_a_repair_holds_back_its_room_only_and_then_sends_in_order(
    tmp_path: Path, http: aiohttp.ClientSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    broker = FaultyBroker("slow", lose={3})
    async with running_server(config_for(tmp_path), broker=broker) as server:
        alice, bob = (
            await register(http, server.url, "alice"),
            await register(http, server.url, "bob"),
        )
        async with (
            Client.connect(http, server.url, alice, sync={}) as a,
            Client.connect(http, server.url, bob, sync={}) as b,
        ):
            await a.ok("create", name="slow")  # seq 1
            await a.ok("create", name="other")
            await b.ok("join", room="slow")  # seq 2
            await b.ok("join", room="other")
            held = HeldReplay(server.node.storage, "slow")
            monkeypatch.setattr(server.node.storage, "replay_since", held)
            lost = await a.send("slow", "lost on the way")  # seq 3: never published
            assert lost["seq"] == 3
            after = [await a.send("slow", f"after {i}") for i in range(3)]  # seqs 4-6
            await asyncio.wait_for(held.asked.wait(), 10)  # seq 4 showed the hole
            # While the repair waits, its room sends nothing more; everything else flows.
            await a.send("other", "meanwhile")
            for client, before_the_hole in ((a, [1, 2]), (b, [2])):
                await client.wait_for(lambda c: c.room_events("other", "message"))
                assert seqs(client, "slow") == before_the_hole
            await a.ws.send_str(json.dumps({"type": "typing", "room": "slow"}))
            await b.wait_for(lambda c: any(e["type"] == "typing" for e in c.events))
            held.release.set()
            for client in (a, b):
                await client.wait_for(lambda c: after[-1]["seq"] in seqs(c, "slow"))
                events = client.room_events("slow")
                assert_gapless(events, start=events[0]["seq"])
                assert [e["msg_id"] for e in events if e["type"] == "message"] == [
                    ack["msg_id"] for ack in [lost, *after]
                ]


async def test_a_hole_longer_than_the_replay_bound_is_skipped_and_said_as_sync_says_it(
    tmp_path: Path, http: aiohttp.ClientSession
) -> None:
    broker = FaultyBroker("flood", lose=range(3, 10))  # 7 events lost, the bound is 5
    async with running_server(config_for(tmp_path, replay_bound=5), broker=broker) as server:
        alice, bob = (
            await register(http, server.url, "alice"),
            await register(http, server.url, "bob"),
        )
        async with (
            Client.connect(http, server.url, alice, sync={}) as a,
            Client.connect(http, server.url, bob, sync={}) as b,
        ):
            await a.ok("create", name="flood")  # seq 1
            await b.ok("join", room="flood")  # seq 2
            for i in range(7):
                await a.send("flood", f"lost {i}")  # seqs 3-9
            shown = await a.send("flood", "past the hole")  # seq 10: shows the hole
            for client in (a, b):
                told = await client.next_frame("synced")
                assert told == {
                    "type": "synced",
                    "rooms": {"flood": {"last_seq": shown["seq"], "complete": False}},
                }
            live = await a.send("flood", "live again")
            for client in (a, b):
                await client.wait_for(lambda c: live["seq"] in seqs(c, "flood"))
                assert seqs(client, "flood")[-1:] == [live["seq"]]
                assert not set(range(3, 11)) & set(seqs(client, "flood"))  # nothing of it


async def test_a_repair_that_cannot_read_storage_closes_the_connection_to_resume(
    tmp_path: Path, http: aiohttp.ClientSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    broker = FaultyBroker("dark", lose={3})
    async with running_server(config_for(tmp_path), broker=broker) as server:
        alice = await register(http, server.url, "alice")
        async with Client.connect(http, server.url, alice, sync={}) as a:
            await a.ok("create", name="dark")
            await a.send("dark", "lost")  # seq 2: published

            async def unreadable(room: str, since: int, bound: int) -> Any:
                raise Unavailable("the storage cannot be read")

            monkeypatch.setattr(server.node.storage, "replay_since", unreadable)
            await a.send("dark", "lost on the way")  # seq 3: never published
            shows_the_hole = {"type": "send", "room": "dark", "client_msg_id": "4", "body": "b"}
            await a.ws.send_str(json.dumps(shows_the_hole))  # seq 4; its `sent` may not come
            await a.wait_for(lambda c: c.close_code is not None)
            assert a.close_code == 1011
            assert seqs(a, "dark") == [1, 2]


async def test_typing_read_and_guest_relays_go_through_the_broker(
    tmp_path: Path, http: aiohttp.ClientSession
) -> None:
    """With a broker that loses every notice, no notice arrives: they take the broker's
    path, the one that reaches other nodes. Committed events still flow."""
    broker = FaultyBroker(lose_notices=True)
    async with running_server(config_for(tmp_path), broker=broker) as server:
        await guests_and_sessions_see_notices(server, http, expect_notices=False)


async def test_notices_arrive_through_a_working_broker(
    server: RunningServer, http: aiohttp.ClientSession
) -> None:
    await guests_and_sessions_see_notices(server, http, expect_notices=True)


async def guests_and_sessions_see_notices(
    server: RunningServer, http: aiohttp.ClientSession, expect_notices: bool
) -> None:
    alice = await register(http, server.url, "alice")
    headers = {"Origin": "null"}
    async with (
        Client.connect(http, server.url, alice, sync={}) as phone,
        Client.connect(http, server.url, alice, sync={}) as laptop,
        http.ws_connect(server.url + "/", headers=headers) as ann,
        http.ws_connect(server.url + "/", headers=headers) as ben,
    ):
        await phone.ok("join", room="lobby")
        await phone.ws.send_str(json.dumps({"type": "typing", "room": "lobby"}))
        await phone.ok("read", room="lobby", seq=2)
        await ann.send_str("start_ann")
        await phone.send("lobby", "committed")  # always arrives: after the notices
        await laptop.wait_for(lambda c: c.room_events("lobby", "message"))
        message = await asyncio.wait_for(ben.receive(), 5)
        notices = [e["type"] for e in laptop.events if e["type"] in ("typing", "read")]
        if expect_notices:
            assert notices == ["typing", "read"]
            assert message.data == "start_ann"
            assert (await asyncio.wait_for(ben.receive(), 5)).data == "committed"
        else:
            assert notices == []
            assert message.data == "committed"
        assert (await asyncio.wait_for(ann.receive(), 5)).data == "committed"  # not its own
