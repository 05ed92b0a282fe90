"""Replies, threads and mentions over the WebSocket and the HTTP API.

A reply is an ordinary message of its room that names its parent: it joins the parent's
thread, quotes the parent as the parent stands when the reply is shown, and is counted on the
thread's root. Mentions of members are kept with the message, told to the mentioned once, and
counted as unread mentions until read. Refused replies store nothing and leave the connection
open.
"""

from __future__ import annotations

import uuid
from typing import Any

import aiohttp
from support import (
    Client,
    RunningServer,
    call_api,
    message_at,
    register,
    team_and_outsider,
)

ROOM = "team"


async def reply(client: Client, parent: int, body: str, room: str = ROOM) -> dict[str, Any]:
    return await client.request(
        "send", room=room, body=body, client_msg_id=uuid.uuid4().hex, reply_to=parent
    )


async def room_info(client: Client, room: str = ROOM) -> dict[str, Any]:
    (info,) = [r for r in (await client.ok("rooms"))["rooms"] if r["name"] == room]
    return dict(info)


async def test_a_reply_quotes_its_parent_and_counts_on_the_root_live_and_in_history(
    server: RunningServer, http: aiohttp.ClientSession
) -> None:
    alice_token, bob_token, _ = await team_and_outsider(server, http)
    async with (
        Client.connect(http, server.url, alice_token, sync={}) as alice,
        Client.connect(http, server.url, bob_token, sync={}) as bob,
    ):
        root = (await alice.send(ROOM, "who is up for lunch?"))["seq"]
        first = await reply(bob, root, "me")
        assert first["type"] == "sent", first
        await alice.wait_for(lambda c: len(c.room_events(ROOM, "message")) == 2)
        live = alice.room_events(ROOM, "message")[-1]
        assert live["reply_to"] == root and live["thread"] == root
        assert live["quote"] == {"user": "alice", "body": "who is up for lunch?"}

        # A reply to a reply joins the same thread (one level deep) and quotes its parent.
        second = await reply(alice, first["seq"], "great, 12:30")
        shown = await message_at(bob, second["seq"])
        assert (shown["reply_to"], shown["thread"]) == (first["seq"], root)
        assert shown["quote"] == {"user": "bob", "body": "me"}

        top = await message_at(bob, root)
        assert top["replies"] == 2 and top["last_reply_at"] == shown["ts"]
        assert "quote" not in top and "thread" not in top

        # The quote follows its parent: an edit, then a delete.
        await bob.ok("edit", room=ROOM, seq=first["seq"], body="me! " + "x" * 300)
        assert (await message_at(alice, second["seq"]))["quote"] == {
            "user": "bob",
            "body": "me! " + "x" * 196,  # the first 200 code points
        }
        await bob.ok("delete", room=ROOM, seq=first["seq"])
        assert (await message_at(alice, second["seq"]))["quote"] == {
            "user": "bob",
            "body": "",
            "deleted": True,
        }
        await bob.wait_for(lambda c: len(c.room_events(ROOM, "message_deleted")) == 1)
        (gone,) = bob.room_events(ROOM, "message_deleted")
        assert gone["target"] == first["seq"] and gone["thread"] == root
        top = await message_at(bob, root)
        assert top["replies"] == 1 and top["last_reply_at"] == shown["ts"]
        tombstone = await message_at(bob, first["seq"])
        assert tombstone["deleted"] is True and "quote" not in tombstone
        assert tombstone["thread"] == root

        # Replying to a deleted message is refused; the connection goes on.
        refused = await reply(alice, first["seq"], "too late")
        assert (refused["type"], refused["code"]) == ("error", "conflict"), refused
        assert (await alice.ok("ping"))["type"] == "pong"


async def test_a_thread_pages_its_replies_oldest_first(
    server: RunningServer, http: aiohttp.ClientSession
) -> None:
    alice_token, bob_token, _ = await team_and_outsider(server, http)
    async with (
        Client.connect(http, server.url, alice_token, sync={}) as alice,
        Client.connect(http, server.url, bob_token) as bob,
    ):
        root = (await alice.send(ROOM, "release notes"))["seq"]
        other = (await alice.send(ROOM, "unrelated"))["seq"]
        seqs = []
        for i in range(5):
            seqs.append((await reply(bob, root, f"note {i}"))["seq"])
            await reply(bob, other, f"other {i}")
        page = await alice.ok("thread", room=ROOM, root=root, limit=3)
        assert page["type"] == "thread" and page["room"] == ROOM
        assert page["root"]["seq"] == root and page["root"]["replies"] == 5
        assert [e["seq"] for e in page["events"]] == seqs[2:]
        assert page["has_more"] is True
        older = await alice.ok("thread", room=ROOM, root=root, before=seqs[2], limit=3)
        assert [e["body"] for e in older["events"]] == ["note 0", "note 1"]
        assert older["has_more"] is False
        assert all(e["quote"]["body"] == "release notes" for e in older["events"])

        # The same over HTTP, for bots; and a reply posted over HTTP.
        posted = await call_api(
            http,
            "POST",
            f"{server.url}/api/v1/rooms/{ROOM}/messages",
            bob_token,
            json={"client_msg_id": "h1", "body": "from a bot", "reply_to": root},
        )
        assert posted.status == 201, posted.body
        got = await call_api(
            http,
            "GET",
            f"{server.url}/api/v1/rooms/{ROOM}/threads/{root}",
            alice_token,
            params={"limit": 2},
        )
        assert got.status == 200, got.body
        assert [e["body"] for e in got.body["events"]] == ["note 4", "from a bot"]
        assert got.body["root"]["replies"] == 6 and got.body["has_more"] is True

        # A reply has no thread of its own; a non-message is no root.
        assert (await alice.ok("thread", room=ROOM, root=seqs[0]))["events"] == []
        missing = await alice.request("thread", room=ROOM, root=1)  # member_joined
        assert (missing["type"], missing["code"]) == ("error", "not_found"), missing
        # Replies stay ordinary events: history has them all, in seq order.
        events = (await alice.ok("history", room=ROOM, limit=200))["events"]
        assert [e["seq"] for e in events] == list(range(1, events[-1]["seq"] + 1))


async def test_bad_replies_are_refused_with_their_error_and_store_nothing(
    server: RunningServer, http: aiohttp.ClientSession
) -> None:
    alice_token, *_ = await team_and_outsider(server, http)
    async with Client.connect(http, server.url, alice_token, sync={}) as alice:
        await alice.ok("create", name="elsewhere")
        there = (await alice.send("elsewhere", "in another room"))["seq"]
        here = (await alice.send(ROOM, "here"))["seq"]
        last = await room_info(alice)
        assert there == 2  # in team, seq 2 is bob's member_joined
        for parent, code in [
            (999, "not_found"),  # no such seq
            (1, "not_found"),  # member_joined: not a message
            (there, "not_found"),  # a message of another room, not of this one
            (-1, "bad_request"),
            ("3", "bad_request"),
        ]:
            refused = await reply(alice, parent, "hm")
            assert (refused["type"], refused["code"]) == ("error", code), (parent, refused)
        assert (await room_info(alice))["last_seq"] == last["last_seq"]
        # A retry of a stored reply gets its sent even after its parent is deleted.
        cid = uuid.uuid4().hex
        first = await alice.ok("send", room=ROOM, body="re", client_msg_id=cid, reply_to=here)
        await alice.ok("delete", room=ROOM, seq=here)
        again = await alice.ok("send", room=ROOM, body="re", client_msg_id=cid, reply_to=here)
        assert again["seq"] == first["seq"]
        assert (await alice.ok("ping"))["type"] == "pong"


async def test_mentions_notify_members_once_and_count_until_read(
    server: RunningServer, http: aiohttp.ClientSession
) -> None:
    alice_token, bob_token, carol_token = await team_and_outsider(server, http)
    async with (
        Client.connect(http, server.url, alice_token, sync={}) as alice,
        Client.connect(http, server.url, bob_token, sync={}) as bob,
        Client.connect(http, server.url, bob_token, sync={}) as bob_phone,
        Client.connect(http, server.url, carol_token, sync={}) as carol,
    ):
        sent = await alice.send(ROOM, "@Bob and @carol, see `@alice` and this, @alice.")
        await bob.wait_for(lambda c: c.room_events(ROOM, "mention"))
        await bob_phone.wait_for(lambda c: c.room_events(ROOM, "mention"))
        (notice,) = bob.room_events(ROOM, "mention")
        assert notice == {"type": "mention", "room": ROOM, "seq": sent["seq"], "user": "alice"}
        stored = await message_at(bob, sent["seq"])
        assert stored["mentions"] == ["bob"]  # carol is no member; alice is the author
        assert "room_mention" not in stored

        info = await room_info(bob)
        assert (info["unread"], info["unread_mentions"]) == (1, 1)
        await alice.send(ROOM, "no mention here")
        everyone = await alice.send(ROOM, "@room lunch")  # 2 members: anyone may
        assert (await message_at(bob, everyone["seq"]))["room_mention"] is True
        await bob.wait_for(lambda c: len(c.room_events(ROOM, "mention")) == 2)
        info = await room_info(bob)
        assert (info["unread"], info["unread_mentions"]) == (3, 2)
        assert (await room_info(alice))["unread_mentions"] == 0  # her own @room

        # An edit finds the new body's mentions and tells nobody again.
        await alice.ok("edit", room=ROOM, seq=sent["seq"], body="never mind")
        await bob.wait_for(lambda c: c.room_events(ROOM, "message_edited"))
        (edit,) = bob.room_events(ROOM, "message_edited")
        assert "mentions" not in edit
        assert (await room_info(bob))["unread_mentions"] == 1
        await alice.ok("edit", room=ROOM, seq=sent["seq"], body="@bob after all")
        await bob.wait_for(lambda c: len(c.room_events(ROOM, "message_edited")) == 2)
        assert bob.room_events(ROOM, "message_edited")[-1]["mentions"] == ["bob"]
        assert (await room_info(bob))["unread_mentions"] == 2
        # A delete takes the message out of both counts.
        await alice.ok("delete", room=ROOM, seq=everyone["seq"])
        info = await room_info(bob)
        assert (info["unread"], info["unread_mentions"]) == (2, 1)

        await bob.ok("read", room=ROOM, seq=info["last_seq"] + 5)
        info = await room_info(bob)
        assert (info["unread"], info["unread_mentions"]) == (0, 0)

        await alice.ok("ping")
        assert len(bob.room_events(ROOM, "mention")) == 2  # none for the edits
        assert carol.events == []  # not a member: nothing at all
        assert not alice.room_events(ROOM, "mention")


async def test_in_a_dm_every_unread_message_is_a_mention(
    server: RunningServer, http: aiohttp.ClientSession
) -> None:
    alice_token = await register(http, server.url, "alice")
    bob_token = await register(http, server.url, "bob")
    async with (
        Client.connect(http, server.url, alice_token, sync={}) as alice,
        Client.connect(http, server.url, bob_token, sync={}) as bob,
    ):
        dm = (await alice.ok("dm", user="bob"))["name"]
        for body in ("hi", "are you there?"):
            await alice.send(dm, body)
        info = await room_info(bob, dm)
        assert (info["unread"], info["unread_mentions"], info["role"]) == (2, 2, "member")
        await bob.ok("read", room=dm, seq=info["last_seq"])
        assert (await room_info(bob, dm))["unread_mentions"] == 0


async def test_rooms_tell_each_member_their_role(
    server: RunningServer, http: aiohttp.ClientSession
) -> None:
    alice_token, bob_token, carol_token = await team_and_outsider(server, http)
    async with (
        Client.connect(http, server.url, alice_token) as alice,
        Client.connect(http, server.url, bob_token) as bob,
        Client.connect(http, server.url, carol_token) as carol,
    ):
        await carol.ok("join", room=ROOM)
        assert (await room_info(alice))["role"] == "owner"
        assert (await room_info(bob))["role"] == "member"
        await alice.ok("role", room=ROOM, user="bob", role="admin")
        assert (await room_info(bob))["role"] == "admin"
        assert (await room_info(carol))["role"] == "member"


async def test_room_is_no_username(server: RunningServer, http: aiohttp.ClientSession) -> None:
    async with http.post(
        f"{server.url}/api/v1/register", json={"username": "Room", "password": "x" * 12}
    ) as response:
        assert response.status == 400
        assert "reserved" in (await response.json())["message"]
