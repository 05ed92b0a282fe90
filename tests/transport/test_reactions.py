"""Reactions over the WebSocket and the HTTP API.

Members react to messages; each change is a room event with its own seq that members receive
live; history and ``sync`` show each message's counts and whether the reader reacted; adding
twice is one reaction; a refused reaction stores nothing and leaves the connection open; a
deleted message loses its reactions.
"""

from __future__ import annotations

import sqlite3
from contextlib import closing
from urllib.parse import quote

import aiohttp
from support import Client, RunningServer, call_api, message_at, team_and_outsider

from hubbub.core.reactions import MAX_REACTIONS

ROOM = "team"
UP, TADA = "\N{THUMBS UP SIGN}", "\N{PARTY POPPER}"


def reactions_url(server: RunningServer, seq: int, emoji: str, room: str = ROOM) -> str:
    return f"{server.url}/api/v1/rooms/{room}/messages/{seq}/reactions/{quote(emoji, safe='')}"


async def test_members_see_reactions_live_and_history_counts_them_per_reader(
    server: RunningServer, http: aiohttp.ClientSession
) -> None:
    alice_token, bob_token, _ = await team_and_outsider(server, http)
    async with (
        Client.connect(http, server.url, alice_token, sync={}) as alice,
        Client.connect(http, server.url, bob_token, sync={}) as bob,
    ):
        seq = (await bob.send(ROOM, "lunch?"))["seq"]
        reply = await alice.ok("react", room=ROOM, seq=seq, emoji=UP, on=True)
        assert reply["type"] == "current"
        assert reply["message"]["reactions"] == [{"emoji": UP, "count": 1, "me": True}]
        await bob.wait_for(lambda c: c.room_events(ROOM, "reaction_added"))
        (event,) = bob.room_events(ROOM, "reaction_added")
        assert event == {
            "type": "reaction_added",
            "room": ROOM,
            "seq": seq + 1,
            "ts": event["ts"],
            "user": "alice",
            "target": seq,
            "emoji": UP,
        }
        put = await call_api(http, "PUT", reactions_url(server, seq, UP), bob_token)
        assert put.status == 200, put.body
        assert put.body["reactions"] == [{"emoji": UP, "count": 2, "me": True}]
        await bob.ok("react", room=ROOM, seq=seq, emoji=":tada:", on=True)

        assert (await message_at(alice, seq))["reactions"] == [
            {"emoji": ":tada:", "count": 1, "me": False},
            {"emoji": UP, "count": 2, "me": True},
        ]
        page = await call_api(http, "GET", f"{server.url}/api/v1/rooms/{ROOM}/messages", bob_token)
        (message,) = [e for e in page.body["events"] if e["seq"] == seq]
        assert [r["me"] for r in message["reactions"]] == [True, True]

        removed = await call_api(http, "DELETE", reactions_url(server, seq, UP), bob_token)
        assert removed.status == 200, removed.body
        assert removed.body["reactions"][1] == {"emoji": UP, "count": 1, "me": False}
        await alice.wait_for(lambda c: c.room_events(ROOM, "reaction_removed"))
        (gone,) = alice.room_events(ROOM, "reaction_removed")
        assert gone["user"] == "bob" and gone["target"] == seq and gone["emoji"] == UP


async def test_a_reaction_is_safe_to_retry(
    server: RunningServer, http: aiohttp.ClientSession
) -> None:
    alice_token, bob_token, _ = await team_and_outsider(server, http)
    async with (
        Client.connect(http, server.url, alice_token, sync={}) as alice,
        Client.connect(http, server.url, bob_token, sync={}) as bob,
    ):
        seq = (await alice.send(ROOM, "vote"))["seq"]
        once = await bob.ok("react", room=ROOM, seq=seq, emoji=UP, on=True)
        again = await bob.ok("react", room=ROOM, seq=seq, emoji=UP, on=True)
        assert again["message"] == once["message"]
        put = await call_api(http, "PUT", reactions_url(server, seq, UP), bob_token)
        assert put.status == 200 and put.body == once["message"]
        absent = await bob.ok("react", room=ROOM, seq=seq, emoji=TADA, on=False)
        assert absent["message"] == once["message"]

        await bob.ok("ping")
        await alice.wait_for(lambda c: c.room_events(ROOM, "reaction_added"))
        await alice.ok("ping")  # anything more would be in front of this pong
        assert [e["type"] for e in alice.room_events(ROOM)] == ["message", "reaction_added"]
        assert (await message_at(alice, seq))["reactions"] == [
            {"emoji": UP, "count": 1, "me": False}
        ]


async def test_refused_reactions_store_nothing_and_keep_the_connection(
    server: RunningServer, http: aiohttp.ClientSession
) -> None:
    alice_token, bob_token, carol_token = await team_and_outsider(server, http)
    async with (
        Client.connect(http, server.url, alice_token, sync={}) as alice,
        Client.connect(http, server.url, bob_token, sync={}) as bob,
        Client.connect(http, server.url, carol_token, sync={}) as carol,
    ):
        mine = (await bob.send(ROOM, "bob's"))["seq"]
        gone = (await bob.send(ROOM, "soon gone"))["seq"]
        await bob.ok("delete", room=ROOM, seq=gone)
        dm = (await bob.ok("dm", user="alice"))["name"]
        in_dm = (await alice.send(dm, "hi bob"))["seq"]
        before = (await alice.ok("history", room=ROOM, limit=200))["events"]

        missing = await carol.request("react", room="nowhere", seq=1, emoji=UP, on=True)
        refusals = [
            (carol, ROOM, mine, UP, "forbidden"),  # not a member of a public room
            (carol, dm, in_dm, UP, missing["code"]),  # an outsider: as for a missing room
            (bob, ROOM, gone, UP, "conflict"),
            (bob, ROOM, 1, UP, "not_found"),  # the room's creation, no message
            (bob, ROOM, 999, UP, "not_found"),
            (bob, ROOM, mine, "a", "bad_request"),
            (bob, ROOM, mine, "", "bad_request"),
            (bob, ROOM, mine, ":Nope:", "bad_request"),
            (bob, ROOM, mine, UP + " ", "bad_request"),
            (bob, ROOM, mine, UP * 17, "bad_request"),
        ]
        assert missing["code"] == "not_found"
        for client, room, seq, emoji, code in refusals:
            reply = await client.request("react", room=room, seq=seq, emoji=emoji, on=True)
            assert reply["type"] == "error" and reply["code"] == code, (room, seq, emoji, reply)
        outsider = await call_api(http, "PUT", reactions_url(server, in_dm, UP, dm), carol_token)
        assert outsider.status == 404, outsider.body
        bad = await call_api(http, "PUT", reactions_url(server, mine, "no"), bob_token)
        assert bad.status == 400 and bad.body["code"] == "bad_request", bad.body
        for client in (alice, bob, carol):
            assert (await client.ok("ping"))["type"] == "pong"
        assert (await alice.ok("history", room=ROOM, limit=200))["events"] == before
        assert "reactions" not in (await message_at(bob, in_dm, dm))

        for n in range(MAX_REACTIONS):
            await bob.ok("react", room=ROOM, seq=mine, emoji=f":e{n}:", on=True)
        over = await bob.request("react", room=ROOM, seq=mine, emoji=":one-more:", on=True)
        assert over["type"] == "error" and over["code"] == "conflict", over
        assert len((await message_at(bob, mine))["reactions"]) == MAX_REACTIONS


async def test_a_client_offline_during_reactions_syncs_to_the_history_state(
    server: RunningServer, http: aiohttp.ClientSession
) -> None:
    alice_token, bob_token, _ = await team_and_outsider(server, http)
    async with Client.connect(http, server.url, alice_token, sync={}) as alice:
        seqs = [(await alice.send(ROOM, f"message {n}"))["seq"] for n in range(3)]
        async with Client.connect(http, server.url, bob_token, sync={}) as bob:
            await bob.ok("react", room=ROOM, seq=seqs[0], emoji=UP, on=True)
            since = (await bob.ok("history", room=ROOM, limit=200))["events"][-1]["seq"]
        # bob is offline now
        await alice.ok("react", room=ROOM, seq=seqs[0], emoji=UP, on=True)
        await alice.ok("react", room=ROOM, seq=seqs[1], emoji=TADA, on=True)
        await alice.ok("react", room=ROOM, seq=seqs[2], emoji=TADA, on=True)
        await alice.ok("delete", room=ROOM, seq=seqs[2])
        async with Client.connect(http, server.url, bob_token, sync={ROOM: since}) as bob:
            await bob.ok("ping")
            missed = bob.room_events(ROOM)
            fresh = await message_at(bob, seqs[0])
    assert [(e["type"], e.get("target")) for e in missed] == [
        ("reaction_added", seqs[0]),
        ("reaction_added", seqs[1]),
        ("reaction_added", seqs[2]),
        ("message_deleted", seqs[2]),
    ]
    assert fresh["reactions"] == [{"emoji": UP, "count": 2, "me": True}]


async def test_a_deleted_messages_reactions_are_gone(
    server: RunningServer, http: aiohttp.ClientSession
) -> None:
    alice_token, _, _ = await team_and_outsider(server, http)
    async with Client.connect(http, server.url, alice_token, sync={}) as alice:
        seq = (await alice.send(ROOM, "regrettable"))["seq"]
        await alice.ok("react", room=ROOM, seq=seq, emoji=UP, on=True)
        kept = (await alice.send(ROOM, "fine"))["seq"]
        await alice.ok("react", room=ROOM, seq=kept, emoji=TADA, on=True)
        await alice.ok("delete", room=ROOM, seq=seq)
        tombstone = await message_at(alice, seq)
    assert tombstone["deleted"] is True and "reactions" not in tombstone
    with closing(sqlite3.connect(server.config.data_dir / "hubbub.sqlite3")) as db:
        rows = db.execute("SELECT seq, emoji, username FROM reactions").fetchall()
    assert rows == [(kept, TADA, "alice")]


async def test_the_openapi_document_describes_reactions(
    server: RunningServer, http: aiohttp.ClientSession
) -> None:
    doc = (await call_api(http, "GET", f"{server.url}/api/v1/openapi.json")).body
    path = doc["paths"]["/api/v1/rooms/{room}/messages/{seq}/reactions/{emoji}"]
    assert set(path) == {"put", "delete"}
    names = [p["name"] for p in path["put"]["parameters"]]
    assert names == ["room", "seq", "emoji"]
    assert "409" in path["put"]["responses"]
    reaction = doc["components"]["schemas"]["Reaction"]
    assert set(reaction["properties"]) == {"emoji", "count", "me"}
