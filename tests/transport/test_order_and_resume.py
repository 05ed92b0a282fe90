"""Guarantees 3 and 4 over real sockets: per-room order without gaps, and resume with sync."""

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
    RunningServer,
    assert_gapless,
    config_for,
    invite_and_accept,
    invite_over_ws,
    register,
    running_server,
)

STORAGE_ENGINES = ("sqlite", "postgresql")  # each test with the server, on each (tests/conftest.py)


async def pipelined_sends(client: Client, room: str, count: int, tag: str) -> list[dict[str, Any]]:
    """Send ``count`` messages without waiting between them; return their acks."""
    acks = [
        asyncio.ensure_future(client.send(room, f"{tag} {i}", client_msg_id=f"{tag}-{i}"))
        for i in range(count)
    ]
    return list(await asyncio.gather(*acks))


async def test_every_receiver_sees_every_message_in_seq_order_once(
    server: RunningServer, http: aiohttp.ClientSession
) -> None:
    tokens = [await register(http, server.url, f"user{i}") for i in range(5)]
    async with AsyncExitStack() as stack:
        clients = [
            await stack.enter_async_context(Client.connect(http, server.url, token, sync={}))
            for token in tokens
        ]
        await clients[0].ok("create", name="busy")
        for client in clients[1:]:
            await client.ok("join", room="busy")
        senders, receivers = clients[:3], clients[3:]
        acks = await asyncio.gather(
            *(pipelined_sends(c, "busy", 60, f"s{i}") for i, c in enumerate(senders))
        )
        last = max(ack["seq"] for batch in acks for ack in batch)
        for receiver in receivers:
            await receiver.wait_for(lambda c: any(e["seq"] == last for e in c.room_events("busy")))
            events = receiver.room_events("busy")
            assert_gapless(events, start=events[0]["seq"])
            received = {e["msg_id"] for e in events if e["type"] == "message"}
            assert received == {ack["msg_id"] for batch in acks for ack in batch}
        # Each sender's own messages keep the order it sent them in.
        for i, batch in enumerate(acks):
            seqs = [ack["seq"] for ack in batch]
            assert seqs == sorted(seqs), f"sender {i} was reordered"


async def test_a_fresh_connection_gets_no_room_events_until_it_syncs(
    server: RunningServer, http: aiohttp.ClientSession
) -> None:
    alice = await register(http, server.url, "alice")
    async with Client.connect(http, server.url, alice, sync={}) as a:
        await a.ok("create", name="quiet")
        async with Client.connect(http, server.url, alice) as idle:
            await a.send("quiet", "before sync")
            await idle.ok("ping")
            assert idle.room_events("quiet") == []
            synced = await idle.ok("sync", since={})
            # Not named in since: live from the current last_seq, nothing replayed.
            assert synced["rooms"]["quiet"] == {"last_seq": 2, "complete": True}
            assert idle.room_events("quiet") == []
            await a.send("quiet", "after sync")
            await idle.wait_for(lambda c: c.room_events("quiet"))
            assert [e["body"] for e in idle.room_events("quiet")] == ["after sync"]


async def test_resume_replays_exactly_what_was_missed_then_goes_live(
    server: RunningServer, http: aiohttp.ClientSession
) -> None:
    alice, bob = await register(http, server.url, "alice"), await register(http, server.url, "bob")
    async with Client.connect(http, server.url, alice, sync={}) as a:
        await a.ok("create", name="ops")
        async with Client.connect(http, server.url, bob, sync={}) as b:
            await invite_over_ws(a, b, "ops", "bob")
            await a.send("ops", "one")
            await b.wait_for(lambda c: c.room_events("ops", "message"))
            seen = b.room_events("ops")[-1]["seq"]
        missed = [await a.send("ops", f"missed {i}") for i in range(10)]
        async with Client.connect(http, server.url, bob) as b2:
            synced = await b2.ok("sync", since={"ops": seen})
            assert synced["rooms"]["ops"] == {"last_seq": missed[-1]["seq"], "complete": True}
            replayed = b2.room_events("ops")
            assert [e["msg_id"] for e in replayed] == [ack["msg_id"] for ack in missed]
            assert_gapless(replayed, start=seen + 1)
            live = await a.send("ops", "live again")
            await b2.wait_for(lambda c: c.room_events("ops")[-1]["seq"] == live["seq"])
            assert_gapless(b2.room_events("ops"), start=seen + 1)


class HeldReplay:
    """A fault injected into storage: the next ``replay_since`` of ``room`` waits for
    ``read`` before it reads, and for ``deliver`` after, so a test can commit events on
    either side of the replay's snapshot while the resume is provably in the middle."""

    def __init__(self, storage: Any, room: str) -> None:
        self.real = storage.replay_since
        self.room = room
        self.asked = asyncio.Event()  # the resume has started: the room's feed buffers
        self.read = asyncio.Event()
        self.snapshot_taken = asyncio.Event()
        self.deliver = asyncio.Event()
        self.replay: Any = None
        self._used = False

    async def __call__(self, room: str, since: int, bound: int, reader: str | None = None) -> Any:
        if room != self.room or self._used:
            return await self.real(room, since, bound, reader)
        self._used = True
        self.asked.set()
        await self.read.wait()
        self.replay = await self.real(room, since, bound, reader)
        self.snapshot_taken.set()
        await self.deliver.wait()
        return self.replay


async def test_resume_across_the_replay_seam_has_no_gap_and_no_duplicate(
    server: RunningServer, http: aiohttp.ClientSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Events committed while a resume is under way reach the session twice over (live into
    its buffer, and in the replay) or only live: each still arrives exactly once, in order."""
    alice, bob = await register(http, server.url, "alice"), await register(http, server.url, "bob")
    async with Client.connect(http, server.url, alice, sync={}) as a:
        await a.ok("create", name="race")
        await invite_and_accept(http, server.url, "race", alice, "bob", bob)
        early = [await a.send("race", f"early {i}") for i in range(10)]
        seen = 5  # bob saw up to seq 5 before he went away
        held = HeldReplay(server.node.storage, "race")
        monkeypatch.setattr(server.node.storage, "replay_since", held)
        async with Client.connect(http, server.url, bob) as b:
            syncing = asyncio.ensure_future(b.ok("sync", since={"race": seen}))
            await asyncio.wait_for(held.asked.wait(), 10)
            # Committed after buffering began and before the snapshot: live and replayed.
            both = await pipelined_sends(a, "race", 20, "both")
            held.read.set()
            await asyncio.wait_for(held.snapshot_taken.wait(), 10)
            # Committed after the snapshot: only the buffer has them.
            live_only = await pipelined_sends(a, "race", 20, "live")
            assert b.room_events("race") == []  # nothing is sent while the resume is held
            held.deliver.set()
            synced = await asyncio.wait_for(syncing, 10)

            # The seam was crossed on both sides.
            replayed_upto = held.replay.last_seq
            assert replayed_upto == max(ack["seq"] for ack in both)
            assert min(ack["seq"] for ack in live_only) > replayed_upto
            last = max(ack["seq"] for ack in live_only)
            assert synced["rooms"]["race"] == {"last_seq": last, "complete": True}

            after = await a.send("race", "after the resume")
            await b.wait_for(lambda c: any(e["seq"] == after["seq"] for e in c.room_events("race")))
            events = b.room_events("race")
            assert_gapless(events, start=seen + 1)
            missed = [ack for ack in early if ack["seq"] > seen]
            expected = [
                ack["msg_id"]
                for ack in sorted(missed + both + live_only + [after], key=lambda ack: ack["seq"])
            ]
            assert [e["msg_id"] for e in events] == expected


async def test_a_gap_over_the_replay_bound_replays_nothing(
    tmp_path: Path, http: aiohttp.ClientSession
) -> None:
    async with running_server(config_for(tmp_path, replay_bound=10)) as server:
        alice = await register(http, server.url, "alice")
        async with Client.connect(http, server.url, alice, sync={}) as a:
            await a.ok("create", name="flood")
            for i in range(11):
                await a.send("flood", f"m{i}")
            async with Client.connect(http, server.url, alice) as b:
                synced = await b.ok("sync", since={"flood": 1})  # 11 missed > bound of 10
                assert synced["rooms"]["flood"] == {"last_seq": 12, "complete": False}
                await b.ok("ping")
                assert b.room_events("flood") == []
                # Live from last_seq on; the newest page comes from history.
                page = await b.ok("history", room="flood", limit=5)
                assert [e["seq"] for e in page["events"]] == [8, 9, 10, 11, 12]
                assert page["has_more"] is True
                await a.send("flood", "after")
                await b.wait_for(lambda c: c.room_events("flood"))
                assert [e["seq"] for e in b.room_events("flood")] == [13]
            async with Client.connect(http, server.url, alice) as c:
                synced = await c.ok("sync", since={"flood": 3})  # exactly 10 missed: replayed
                assert synced["rooms"]["flood"]["complete"] is True
                assert_gapless(c.room_events("flood"), start=4)
                assert c.room_events("flood")[-1]["seq"] == 13


async def test_a_client_ahead_of_the_server_is_told_to_reload(
    server: RunningServer, http: aiohttp.ClientSession
) -> None:
    alice = await register(http, server.url, "alice")
    async with Client.connect(http, server.url, alice, sync={}) as a:
        await a.ok("create", name="small")
        synced = await a.ok("sync", since={"small": 99})
        assert synced["rooms"]["small"] == {"last_seq": 1, "complete": False}
        await a.send("small", "next")
        await a.wait_for(lambda c: c.room_events("small", "message"))
        assert [e["seq"] for e in a.room_events("small", "message")] == [2]


async def test_a_room_joined_on_another_device_is_followed_live(
    server: RunningServer, http: aiohttp.ClientSession
) -> None:
    alice = await register(http, server.url, "alice")
    async with (
        Client.connect(http, server.url, alice, sync={}) as phone,
        Client.connect(http, server.url, alice, sync={}) as laptop,
    ):
        await phone.ok("create", name="new-room")
        await laptop.wait_for(lambda c: c.room_events("new-room", "member_joined"))
        await phone.send("new-room", "hi")
        await laptop.wait_for(lambda c: c.room_events("new-room", "message"))
        assert_gapless(laptop.room_events("new-room"))
        # Read markers reach the user's other sessions.
        await phone.ok("read", room="new-room", seq=2)
        await laptop.wait_for(lambda c: any(e["type"] == "read" for e in c.events))
        read = next(e for e in laptop.events if e["type"] == "read")
        assert read == {"type": "read", "room": "new-room", "seq": 2}
        # Leaving stops delivery on every session of the user.
        bob = await register(http, server.url, "bob")
        async with Client.connect(http, server.url, bob, sync={}) as b:
            await b.ok("join", room="new-room")
            left = await laptop.ok("leave", room="new-room")
            assert left["room"] == "new-room"
            await b.send("new-room", "after leave")
            await b.wait_for(lambda c: c.room_events("new-room", "message"))
        for device in (phone, laptop):
            await device.ok("ping")
            kinds = [e["type"] for e in device.room_events("new-room")]
            assert kinds[-1] == "member_left"
            assert "after leave" not in [e.get("body") for e in device.room_events("new-room")]


async def test_typing_reaches_the_other_members_only(
    server: RunningServer, http: aiohttp.ClientSession
) -> None:
    alice, bob = await register(http, server.url, "alice"), await register(http, server.url, "bob")
    async with (
        Client.connect(http, server.url, alice, sync={}) as a,
        Client.connect(http, server.url, bob, sync={}) as b,
    ):
        await a.ok("create", name="chat")
        await invite_over_ws(a, b, "chat", "bob")
        await b.wait_for(lambda c: c.room_events("chat"))
        await a.ws.send_str(json.dumps({"type": "typing", "room": "chat"}))
        await b.wait_for(lambda c: any(e["type"] == "typing" for e in c.events))
        assert {"type": "typing", "room": "chat", "user": "alice"} in b.events
        await a.ok("ping")
        assert not any(e["type"] == "typing" for e in a.events)


async def test_a_sync_after_joining_does_not_send_a_live_room_again(
    server: RunningServer, http: aiohttp.ClientSession
) -> None:
    alice, bob = await register(http, server.url, "alice"), await register(http, server.url, "bob")
    async with Client.connect(http, server.url, alice, sync={}) as a:
        await a.ok("create", name="both")
        async with Client.connect(http, server.url, bob) as b:
            await b.ok("join", room="both")  # live here from the reply on, before any sync
            await a.send("both", "one")
            await b.wait_for(lambda c: c.room_events("both", "message"))
            synced = await b.ok("sync", since={})
            assert synced["rooms"]["both"] == {"last_seq": 3, "complete": True}
            await a.send("both", "two")
            await b.wait_for(lambda c: len(c.room_events("both", "message")) == 2)
            assert_gapless(b.room_events("both"), start=3)


async def test_a_refused_sync_leaves_the_connection_unsynced(
    server: RunningServer, http: aiohttp.ClientSession
) -> None:
    alice = await register(http, server.url, "alice")
    async with Client.connect(http, server.url, alice) as a:
        refused = await a.request("sync", since={"nowhere": 0})
        assert refused["code"] == "not_found"
        async with Client.connect(http, server.url, alice) as other:
            await other.ok("create", name="elsewhere")
        await a.ok("ping")
        assert a.room_events("elsewhere") == []  # not following rooms joined elsewhere
