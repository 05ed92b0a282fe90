"""Editing and deleting messages, and room roles, over the WebSocket and the HTTP API.

Only the author edits; the author, the room's owner or an admin deletes; the owner gives
roles. Each change is a room event with its own seq that members receive live; history and
``sync`` show messages as they stand now; a retry changes nothing; a refused change stores
nothing and leaves the connection open; a deleted body is in no reply and no table.
"""

from __future__ import annotations

import sqlite3
from contextlib import closing
from typing import Any

import aiohttp
import msgspec
from support import Client, RunningServer, call_api, public_room

from hubbub.core.events import Event
from hubbub.core.projection import project

ROOM = "team"


async def team(server: RunningServer, http: aiohttp.ClientSession) -> list[str]:
    """``team``, public, owned by alice, with bob and carol in it; their tokens."""
    return await public_room(http, server.url, ROOM, ["alice", "bob", "carol"])


async def history(client: Client) -> list[dict[str, Any]]:
    return list((await client.ok("history", room=ROOM, limit=200))["events"])


def state_of(events: list[dict[str, Any]]) -> Any:
    """The projection of events as a client received them."""
    return project(msgspec.convert(events, list[Event]))


async def test_members_see_edits_and_deletes_live_and_history_shows_the_current_state(
    server: RunningServer, http: aiohttp.ClientSession
) -> None:
    alice_token, bob_token, _ = await team(server, http)
    async with (
        Client.connect(http, server.url, alice_token, sync={}) as alice,
        Client.connect(http, server.url, bob_token, sync={}) as bob,
    ):
        sent = await bob.send(ROOM, "helo")
        seq = sent["seq"]
        edited = await bob.ok("edit", room=ROOM, seq=seq, body="hello")
        assert edited["type"] == "current"
        message = edited["message"]
        assert message["body"] == "hello" and message["seq"] == seq
        assert isinstance(message["edited_at"], int) and "deleted" not in message
        await alice.wait_for(lambda c: c.room_events(ROOM, "message_edited"))
        (event,) = alice.room_events(ROOM, "message_edited")
        assert event == {
            "type": "message_edited",
            "room": ROOM,
            "seq": seq + 1,
            "ts": message["edited_at"],
            "user": "bob",
            "target": seq,
            "body": "hello",
        }
        assert (await history(alice))[seq - 1] == message

        deleted = await alice.ok("delete", room=ROOM, seq=seq)  # as the room's owner
        tombstone = deleted["message"]
        assert tombstone["deleted"] is True and "body" not in tombstone
        assert "edited_at" not in tombstone
        await bob.wait_for(lambda c: c.room_events(ROOM, "message_deleted"))
        (gone,) = bob.room_events(ROOM, "message_deleted")
        assert gone["seq"] == seq + 2 and gone["target"] == seq and gone["user"] == "alice"
        events = await history(bob)
        assert [e["seq"] for e in events] == list(range(1, seq + 3))  # gapless
        assert events[seq - 1] == tombstone
        assert "body" not in events[seq]  # the edit's body went with the message
        assert state_of(bob.room_events(ROOM)).messages == state_of(events).messages


async def test_edit_delete_and_role_are_safe_to_retry(
    server: RunningServer, http: aiohttp.ClientSession
) -> None:
    alice_token, bob_token, _ = await team(server, http)
    api = f"{server.url}/api/v1/rooms/{ROOM}"
    async with (
        Client.connect(http, server.url, alice_token, sync={}) as alice,
        Client.connect(http, server.url, bob_token, sync={}) as bob,
    ):
        seq = (await alice.send(ROOM, "first"))["seq"]
        once = await alice.ok("edit", room=ROOM, seq=seq, body="second")
        again = await alice.ok("edit", room=ROOM, seq=seq, body="second")
        assert again["message"] == once["message"]
        over_http = await call_api(
            http, "PATCH", f"{api}/messages/{seq}", alice_token, json={"body": "second"}
        )
        assert over_http.status == 200 and over_http.body == once["message"]

        for _ in range(2):
            assert (await alice.ok("role", room=ROOM, user="bob", role="admin"))["type"] == "ok"
        put = await call_api(http, "PUT", f"{api}/roles/bob", alice_token, json={"role": "admin"})
        assert put.status == 204, put.body

        first = await bob.ok("delete", room=ROOM, seq=seq)  # as an admin
        assert (await bob.ok("delete", room=ROOM, seq=seq))["message"] == first["message"]
        deleted = await call_api(http, "DELETE", f"{api}/messages/{seq}", alice_token)
        assert deleted.status == 200 and deleted.body == first["message"]

        await bob.ok("ping")
        await alice.wait_for(lambda c: c.room_events(ROOM, "message_deleted"))
        await alice.ok("ping")  # anything more would be in front of this pong
        kinds = [e["type"] for e in alice.room_events(ROOM)]
        assert kinds == ["message", "message_edited", "role_changed", "message_deleted"]
        assert [e["type"] for e in await history(alice)][-4:] == kinds


async def test_refused_changes_store_nothing_and_keep_the_connection(
    server: RunningServer, http: aiohttp.ClientSession
) -> None:
    alice_token, bob_token, carol_token = await team(server, http)
    async with (
        Client.connect(http, server.url, alice_token, sync={}) as alice,
        Client.connect(http, server.url, bob_token, sync={}) as bob,
        Client.connect(http, server.url, carol_token, sync={}) as carol,
    ):
        mine = (await bob.send(ROOM, "bob's"))["seq"]
        gone = (await bob.send(ROOM, "soon gone"))["seq"]
        await bob.ok("delete", room=ROOM, seq=gone)
        before = await history(alice)
        dm = (await bob.ok("dm", user="alice"))["name"]
        alice_in_dm = (await alice.send(dm, "hi bob"))["seq"]

        refusals = [
            (carol, "edit", {"seq": mine, "body": "carol's now"}, "forbidden"),
            (carol, "delete", {"seq": mine}, "forbidden"),
            (carol, "role", {"user": "bob", "role": "admin"}, "forbidden"),
            (bob, "role", {"user": "bob", "role": "admin"}, "forbidden"),
            (alice, "edit", {"seq": mine, "body": "the owner's now"}, "forbidden"),
            (bob, "edit", {"seq": gone, "body": "back"}, "conflict"),
            (bob, "edit", {"seq": 1, "body": "a join"}, "not_found"),
            (bob, "delete", {"seq": 1}, "not_found"),
            (bob, "delete", {"seq": 999}, "not_found"),
            (alice, "role", {"user": "alice", "role": "member"}, "bad_request"),
            (alice, "role", {"user": "dave", "role": "admin"}, "not_found"),
        ]
        for client, kind, fields, code in refusals:
            reply = await client.request(kind, room=ROOM, **fields)
            assert reply["type"] == "error" and reply["code"] == code, (kind, fields, reply)
        for kind, fields in (("delete", {"seq": alice_in_dm}), ("role", {"user": "alice"})):
            reply = await bob.request(kind, room=dm, **({"role": "admin"} | fields))
            assert reply["type"] == "error" and reply["code"] == "forbidden", reply
        for client in (alice, bob, carol):
            assert (await client.ok("ping"))["type"] == "pong"
        assert await history(alice) == before
        dm_events = (await bob.ok("history", room=dm))["events"]
        assert dm_events[-1]["seq"] == alice_in_dm and dm_events[-1]["body"] == "hi bob"


async def test_a_client_offline_during_edits_and_deletes_syncs_to_the_history_state(
    server: RunningServer, http: aiohttp.ClientSession
) -> None:
    alice_token, bob_token, _ = await team(server, http)
    async with Client.connect(http, server.url, alice_token, sync={}) as alice:
        seqs = [(await alice.send(ROOM, f"message {n}"))["seq"] for n in range(4)]
        async with Client.connect(http, server.url, bob_token, sync={}) as bob:
            seen = await history(bob)
            await alice.ok("edit", room=ROOM, seq=seqs[0], body="edited while bob watched")
            await bob.wait_for(lambda c: c.room_events(ROOM, "message_edited"))
            received = seen + bob.room_events(ROOM)
        # bob is offline now
        await alice.ok("edit", room=ROOM, seq=seqs[1], body="edited while bob was away")
        await alice.ok("edit", room=ROOM, seq=seqs[2], body="edited, then deleted")
        await alice.ok("delete", room=ROOM, seq=seqs[2])
        await alice.ok("delete", room=ROOM, seq=seqs[0])
        since = received[-1]["seq"]
        async with Client.connect(http, server.url, bob_token, sync={ROOM: since}) as bob:
            await bob.ok("ping")
            received += bob.room_events(ROOM)
            fresh = await history(bob)
    assert [e["seq"] for e in received] == [e["seq"] for e in fresh]
    assert state_of(received) == state_of(fresh)
    assert "edited, then deleted" not in str(fresh) and "edited, then deleted" not in str(
        received[-4:]
    )


async def test_a_deleted_body_is_in_no_reply_and_no_table(
    server: RunningServer, http: aiohttp.ClientSession
) -> None:
    alice_token, bob_token, _ = await team(server, http)
    secret, edited = "zq-secret-first-draft @bob", "zq-secret-second-draft"
    async with Client.connect(http, server.url, alice_token, sync={}) as alice:
        seq = (await alice.send(ROOM, secret))["seq"]
        await alice.ok("edit", room=ROOM, seq=seq, body=edited + " @bob")
        # A reply quotes it, and a reaction counts on it, until it is deleted.
        await alice.ok("send", room=ROOM, body="zq-kept", client_msg_id="kept", reply_to=seq)
        await alice.ok("react", room=ROOM, seq=seq, emoji=":eyes:", on=True)
        await alice.ok("delete", room=ROOM, seq=seq)
    async with Client.connect(http, server.url, bob_token, sync={ROOM: 0}) as bob:
        await bob.ok("ping")
        replies = [bob.room_events(ROOM), await history(bob)]
    page = await call_api(http, "GET", f"{server.url}/api/v1/rooms/{ROOM}/messages", bob_token)
    replies.append(page.body)
    for reply in replies:
        assert "zq-kept" in str(reply)
        assert secret not in str(reply) and edited not in str(reply)

    with closing(sqlite3.connect(server.config.data_dir / "hubbub.sqlite3")) as db:
        tables = [n for (n,) in db.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        cells = [
            value
            for table in tables
            for row in db.execute(f'SELECT * FROM "{table}"')
            for value in row
            if isinstance(value, str)
        ]
        mentions = db.execute("SELECT count(*) FROM mentions").fetchone()[0]
        reactions = db.execute("SELECT count(*) FROM reactions").fetchone()[0]
    assert "zq-kept" in cells
    assert not [c for c in cells if "zq-secret" in c]
    assert (mentions, reactions) == (0, 0)


async def test_the_openapi_document_describes_edit_delete_and_role(
    server: RunningServer, http: aiohttp.ClientSession
) -> None:
    doc = (await call_api(http, "GET", f"{server.url}/api/v1/openapi.json")).body
    message = doc["paths"]["/api/v1/rooms/{room}/messages/{seq}"]
    assert set(message) == {"patch", "delete"}
    seq = [p for p in message["patch"]["parameters"] if p["name"] == "seq"]
    assert seq == [{"name": "seq", "in": "path", "required": True, "schema": ANY_SEQ}]
    assert "200" in message["patch"]["responses"] and "409" in message["patch"]["responses"]
    role = doc["paths"]["/api/v1/rooms/{room}/roles/{user}"]["put"]
    assert "204" in role["responses"]
    schemas = doc["components"]["schemas"]
    assert schemas["NewRole"]["properties"]["role"] == {"$ref": "#/components/schemas/Role"}
    assert schemas["Role"]["enum"] == ["admin", "member"]
    assert schemas["NewBody"]["properties"]["body"]["maxLength"] == 8000


ANY_SEQ = {"type": "integer", "minimum": 0}
