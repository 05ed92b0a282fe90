"""Guarantee 5: nobody reads, searches, syncs, sends or replies to, edits, deletes or reacts
in, reads the threads of, gives roles in, moderates (kick, ban, mute, settings), or learns the
members of a room they are not in; a mention of a non-member tells them nothing.

alice and bob share a private room and a DM; carol is the outsider. For every request she can
make about those rooms, over the WebSocket and over the HTTP API, she gets ``not_found`` in
exactly the shape a room that does not exist gets, nothing about the rooms changes, and none of
their events reach her.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import aiohttp
import pytest
from file_samples import image
from support import Client, RunningServer, call_api, config_for, register, running_server

from hubbub.core.models import normalize_room

STORAGE_ENGINES = ("sqlite", "postgresql")  # each test with the server, on each (tests/conftest.py)
PRIVATE = "secret"
DM = "dm:alice:bob"
# How carol may name them: room references are case-insensitive, a DM's users in any order.
PRIVATE_REFS = [("secret", PRIVATE), ("SeCrEt", PRIVATE)]
DM_REFS = [("dm:alice:bob", DM), ("DM:Bob:Alice", DM)]
MISSING = "ghost"  # no such room
MISSING_DM = "dm:alice:zed"  # no such room (and no user zed)
CASES = [(PRIVATE_REFS, MISSING), (DM_REFS, MISSING_DM)]

WS_KINDS = [
    "history",
    "sync",
    "send",
    "join",
    "invite",
    "read",
    "typing",
    "members",
    "leave",
    "edit",
    "delete",
    "role",
    "react",
    "reply",
    "thread",
    "search",
    "kick",
    "ban",
    "unban",
    "mute",
    "unmute",
    "room_settings",
    "bans",
    "accept",
    "decline",
]
MESSAGE_SEQ = 3  # each room's message: after alice's and bob's member_joined


@dataclass
class World:
    url: str
    alice: str
    bob: str
    carol: str
    events: dict[str, list[dict[str, Any]]]  # each room's events once set up


@pytest.fixture
async def world(server: RunningServer, http: aiohttp.ClientSession) -> World:
    return await build_world(server, http)


async def build_world(server: RunningServer, http: aiohttp.ClientSession) -> World:
    url = server.url
    alice = await register(http, url, "alice")
    bob = await register(http, url, "bob")
    carol = await register(http, url, "carol")
    api = f"{url}/api/v1"
    created = await call_api(
        http, "POST", f"{api}/rooms", alice, json={"name": PRIVATE, "private": True}
    )
    assert created.status == 201, created.body
    assert created.body["kind"] == "private"
    invited = await call_api(
        http, "POST", f"{api}/rooms/{PRIVATE}/invite", alice, json={"user": "bob"}
    )
    assert invited.status == 204, invited.body
    accepted = await call_api(http, "POST", f"{api}/invitations/{PRIVATE}/accept", bob)
    assert accepted.status == 200, accepted.body
    dm = await call_api(http, "POST", f"{api}/dm", alice, json={"user": "bob"})
    assert dm.status == 200, dm.body
    assert dm.body["name"] == DM and dm.body["kind"] == "dm"
    for room, token, body in ((PRIVATE, alice, "the plan"), (DM, bob, "just between us")):
        posted = await call_api(
            http,
            "POST",
            f"{api}/rooms/{quote(room)}/messages",
            token,
            json={"client_msg_id": uuid.uuid4().hex, "body": body},
        )
        assert posted.status == 201, posted.body
    events = {room: await history_as(http, url, alice, room) for room in (PRIVATE, DM)}
    assert [e["body"] for e in events[PRIVATE] if e["type"] == "message"] == ["the plan"]
    assert [e["body"] for e in events[DM] if e["type"] == "message"] == ["just between us"]
    return World(url, alice, bob, carol, events)


async def history_as(
    http: aiohttp.ClientSession, url: str, token: str, room: str
) -> list[dict[str, Any]]:
    reply = await call_api(
        http, "GET", f"{url}/api/v1/rooms/{quote(room)}/messages", token, params={"limit": 200}
    )
    assert reply.status == 200, reply.body
    assert reply.body["has_more"] is False
    return list(reply.body["events"])


async def assert_rooms_untouched(http: aiohttp.ClientSession, world: World) -> None:
    """The rooms still hold exactly what they held, with the same two members, and carol's
    view of the server shows neither of them."""
    api = f"{world.url}/api/v1"
    for room in (PRIVATE, DM):
        assert await history_as(http, world.url, world.alice, room) == world.events[room]
        members = await call_api(http, "GET", f"{api}/rooms/{quote(room)}/members", world.bob)
        assert members.status == 200, members.body
        assert members.body["users"] == ["alice", "bob"]
    mine = await call_api(http, "GET", f"{api}/rooms", world.carol)
    assert mine.status == 200
    assert mine.body["rooms"] == []
    directory = await call_api(http, "GET", f"{api}/directory", world.carol)
    assert directory.status == 200
    listed = {room["name"] for room in directory.body["rooms"]}
    assert PRIVATE not in listed and DM not in listed


def ws_fields(kind: str, room: str) -> dict[str, Any]:
    if kind == "sync":
        return {"since": {room: 0}}
    if kind == "send":
        return {"room": room, "body": "let me in", "client_msg_id": uuid.uuid4().hex}
    if kind == "invite":
        return {"room": room, "user": "carol"}
    if kind == "read":
        return {"room": room, "seq": 1}
    if kind == "edit":
        return {"room": room, "seq": MESSAGE_SEQ, "body": "mine now"}
    if kind == "delete":
        return {"room": room, "seq": MESSAGE_SEQ}
    if kind == "role":
        return {"room": room, "user": "carol", "role": "admin"}
    if kind == "react":
        return {"room": room, "seq": MESSAGE_SEQ, "emoji": "\N{THUMBS UP SIGN}", "on": True}
    if kind == "reply":
        return {**ws_fields("send", room), "reply_to": MESSAGE_SEQ}
    if kind == "thread":
        return {"room": room, "root": MESSAGE_SEQ}
    if kind == "search":
        return {"room": room, "query": "the plan"}
    if kind in ("kick", "ban", "unban", "mute", "unmute"):
        return {"room": room, "user": "bob"}
    if kind == "room_settings":
        return {
            "room": room,
            "topic": "mine now",
            "private": False,
            "title": "Mine now",
            "retention_days": 1,
        }
    return {"room": room}


def ws_type(kind: str) -> str:
    """The request type of a ``WS_KINDS`` entry (a reply is a ``send``)."""
    return "send" if kind == "reply" else kind


def blanked(reply: dict[str, Any], names: tuple[str, ...], drop: tuple[str, ...]) -> Any:
    """The reply with the room's name (as given or canonical) blanked out, ``drop`` removed."""
    text = json.dumps({k: v for k, v in reply.items() if k not in drop}, sort_keys=True)
    for name in sorted(names, key=len, reverse=True):
        text = text.replace(json.dumps(name)[1:-1], "<ROOM>")
    return json.loads(text)


def assert_like_missing(
    reply: dict[str, Any],
    names: tuple[str, ...],
    missing_reply: dict[str, Any],
    missing: str,
    drop: tuple[str, ...] = (),
) -> None:
    assert reply.get("code") == "not_found", reply
    assert blanked(reply, names, drop) == blanked(missing_reply, (missing,), drop), (
        reply,
        missing_reply,
    )


def awaiting_reply(client: Client, request_id: str) -> asyncio.Future[dict[str, Any]]:
    """What will hold a reply to ``request_id`` if one comes (for a request sent by hand)."""
    answer: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
    client.replies[request_id] = answer
    return answer


# --- over the WebSocket --------------------------------------------------------------------


@pytest.mark.parametrize("kind", WS_KINDS)
async def test_outsider_gets_the_not_found_of_a_missing_room(
    world: World, http: aiohttp.ClientSession, kind: str
) -> None:
    async with Client.connect(http, world.url, world.carol, sync={}) as carol:
        for refs, missing in CASES:
            missing_reply = await carol.request(ws_type(kind), **ws_fields(kind, missing))
            assert missing_reply["type"] == "error", missing_reply
            assert missing_reply["code"] == "not_found", missing_reply
            assert set(missing_reply) == {"type", "re", "code", "message"}, missing_reply
            for ref, canonical in refs:
                reply = await carol.request(ws_type(kind), **ws_fields(kind, ref))
                assert reply["type"] == "error", (ref, reply)
                assert_like_missing(reply, (ref, canonical), missing_reply, missing, ("re",))
        assert (await carol.ok("ping"))["type"] == "pong"
        assert carol.events == []
    await assert_rooms_untouched(http, world)


async def test_typing_is_silent_for_members_and_not_found_for_outsiders(
    world: World, http: aiohttp.ClientSession
) -> None:
    async with (
        Client.connect(http, world.url, world.alice, sync={}) as alice,
        Client.connect(http, world.url, world.bob, sync={}) as bob,
        Client.connect(http, world.url, world.carol, sync={}) as carol,
    ):
        answer = awaiting_reply(alice, "t-1")
        await alice.ws.send_str(json.dumps({"type": "typing", "id": "t-1", "room": PRIVATE}))
        await bob.wait_for(lambda c: any(e["type"] == "typing" for e in c.events))
        assert [e for e in bob.events if e["type"] == "typing"] == [
            {"type": "typing", "room": PRIVATE, "user": "alice"}
        ]
        await alice.ok("ping")  # answered in order: a reply to t-1 would be here by now
        assert not answer.done(), f"a successful typing got a reply: {answer.result()}"
        assert alice.frames.empty(), "a successful typing got a frame"

        refused = await carol.request("typing", room=PRIVATE)
        assert refused["type"] == "error" and refused["code"] == "not_found", refused
        await bob.ok("ping")
        assert [e["user"] for e in bob.events if e["type"] == "typing"] == ["alice"]


async def test_outsider_receives_none_of_the_rooms_events(
    world: World, http: aiohttp.ClientSession
) -> None:
    dave = await register(http, world.url, "dave")
    async with (
        Client.connect(http, world.url, world.alice, sync={}) as alice,
        Client.connect(http, world.url, world.alice, sync={}) as alice_phone,
        Client.connect(http, world.url, world.bob, sync={}) as bob,
        Client.connect(http, world.url, world.carol, sync={}) as carol,
    ):
        for room in (PRIVATE, DM):  # naming the rooms in sync does not subscribe her either
            refused = await carol.request("sync", since={room: 0})
            assert refused["type"] == "error" and refused["code"] == "not_found", refused
        for i in range(5):
            await alice.send(PRIVATE, f"secret {i}")
            await bob.send(PRIVATE, f"reply {i}")
            await alice.send(DM, f"dm {i}")
            await bob.send(DM, f"dm back {i}")
        await alice.ok("invite", room=PRIVATE, user="dave")
        accepted = await call_api(
            http, "POST", f"{world.url}/api/v1/invitations/{PRIVATE}/accept", dave
        )
        assert accepted.status == 200, accepted.body
        await alice.ok("edit", room=PRIVATE, seq=MESSAGE_SEQ, body="the new plan")
        await alice.ok("role", room=PRIVATE, user="bob", role="admin")
        await alice.ok("delete", room=DM, seq=MESSAGE_SEQ + 1)  # her "dm 0"
        # Mentions of carol, who is in neither room, and of everyone: she hears nothing.
        await alice.send(PRIVATE, "@carol @bob @room have a look")
        await bob.ok("send", room=DM, body="@carol ?", client_msg_id="m1", reply_to=MESSAGE_SEQ)
        await alice.ok("react", room=PRIVATE, seq=MESSAGE_SEQ, emoji=":eyes:", on=True)
        await alice.ws.send_str(json.dumps({"type": "typing", "room": DM}))
        await alice.ok("read", room=PRIVATE, seq=4)

        def everything_arrived(c: Client) -> bool:
            return (
                len(c.room_events(PRIVATE, "message")) == 11
                and len(c.room_events(PRIVATE, "mention")) == 1
                and len(c.room_events(PRIVATE, "reaction_added")) == 1
                and len(c.room_events(PRIVATE, "member_joined")) == 1
                and len(c.room_events(PRIVATE, "message_edited")) == 1
                and len(c.room_events(PRIVATE, "role_changed")) == 1
                and len(c.room_events(DM, "message_deleted")) == 1
                and len(c.room_events(DM, "message")) == 11
                and any(e["type"] == "typing" for e in c.events)
            )

        await bob.wait_for(everything_arrived)
        await alice_phone.wait_for(lambda c: any(e["type"] == "read" for e in c.events))

        # Whatever the server queued for carol meanwhile is in front of this pong.
        assert (await carol.ok("ping"))["type"] == "pong"
        assert carol.events == []
        assert carol.frames.empty(), carol.frames
        rooms = await carol.ok("rooms")
        assert rooms["rooms"] == []


async def test_sync_naming_a_hidden_room_replays_nothing(
    world: World, http: aiohttp.ClientSession
) -> None:
    """Even next to a room she is in, a hidden room in ``since`` gets her none of its events."""
    async with Client.connect(http, world.url, world.carol) as carol:
        await carol.ok("create", name="mine", private=False)
        reply = await carol.request("sync", since={"mine": 0, PRIVATE: 0, DM: 0})
        assert reply["type"] == "error" and reply["code"] == "not_found", reply
        await carol.ok("ping")
        assert [e["room"] for e in carol.events if e.get("room") in (PRIVATE, DM)] == []


# --- over the HTTP API ---------------------------------------------------------------------

HTTP_CALLS: dict[str, tuple[str, str, Any]] = {
    "messages GET": ("GET", "messages", None),
    "messages POST": ("POST", "messages", "message"),
    "join": ("POST", "join", None),
    "members": ("GET", "members", None),
    "read": ("POST", "read", {"seq": 1}),
    "invite": ("POST", "invite", {"user": "carol"}),
    "leave": ("POST", "leave", None),
    "edit": ("PATCH", f"messages/{MESSAGE_SEQ}", {"body": "mine now"}),
    "delete": ("DELETE", f"messages/{MESSAGE_SEQ}", None),
    "role": ("PUT", "roles/carol", {"role": "admin"}),
    "react": ("PUT", f"messages/{MESSAGE_SEQ}/reactions/%F0%9F%91%8D", None),
    "reply": ("POST", "messages", "reply"),
    "thread": ("GET", f"threads/{MESSAGE_SEQ}", None),
    "upload": ("POST", "files?name=x.txt", None),
    "kick": ("DELETE", "members/bob", None),
    "ban": ("PUT", "bans/bob", {"reason": "no"}),
    "unban": ("DELETE", "bans/bob", None),
    "mute": ("PUT", "mutes/bob", {}),
    "unmute": ("DELETE", "mutes/bob", None),
    "bans": ("GET", "bans", None),
    "room_settings": (
        "PATCH",
        "",
        {"topic": "mine now", "private": False, "title": "Mine now", "retention_days": 1},
    ),
    "webhooks GET": ("GET", "webhooks", None),
    "webhooks POST": ("POST", "webhooks", {"name": "Spy"}),
    "webhook DELETE": ("DELETE", "webhooks/0123456789ab", None),
    "outgoing-webhooks GET": ("GET", "outgoing-webhooks", None),
    "outgoing-webhooks POST": (
        "POST",
        "outgoing-webhooks",
        {"name": "Spy", "url": "https://example.org/in", "trigger": "all"},
    ),
    "outgoing-webhook DELETE": ("DELETE", "outgoing-webhooks/0123456789ab", None),
    "outgoing-webhook deliveries": ("GET", "outgoing-webhooks/0123456789ab/deliveries", None),
}


@pytest.mark.parametrize("call", list(HTTP_CALLS))
async def test_outsider_gets_the_not_found_of_a_missing_room_over_http(
    world: World, http: aiohttp.ClientSession, call: str
) -> None:
    method, action, body = HTTP_CALLS[call]

    async def attempt(room: str) -> Any:
        payload = body
        if body == "message":
            payload = {"client_msg_id": uuid.uuid4().hex, "body": "let me in"}
        if body == "reply":
            payload = {"client_msg_id": uuid.uuid4().hex, "body": "me too", "reply_to": 3}
        path = f"{world.url}/api/v1/rooms/{quote(room, safe=':')}"
        reply = await call_api(
            http, method, f"{path}/{action}" if action else path, world.carol, json=payload
        )
        assert reply.status == 404, (room, reply.status, reply.body)
        assert reply.content_type == "application/json"
        assert set(reply.body) == {"code", "message"}, reply.body
        return reply.body

    for refs, missing in CASES:
        missing_body = await attempt(missing)
        assert missing_body["code"] == "not_found"
        for ref, canonical in refs:
            assert_like_missing(await attempt(ref), (ref, canonical), missing_body, missing)
    await assert_rooms_untouched(http, world)


async def test_an_outsider_revoking_a_real_webhook_gets_the_not_found_of_a_missing_room(
    world: World, http: aiohttp.ClientSession
) -> None:
    api = f"{world.url}/api/v1"
    made = await call_api(
        http, "POST", f"{api}/rooms/{PRIVATE}/webhooks", world.alice, json={"name": "CI"}
    )
    assert made.status == 201, made.body
    replies = []
    for room in (PRIVATE, MISSING):
        reply = await call_api(
            http, "DELETE", f"{api}/rooms/{room}/webhooks/{made.body['id']}", world.carol
        )
        assert reply.status == 404, reply.body
        replies.append(reply.body)
    assert_like_missing(replies[0], (PRIVATE,), replies[1], MISSING)
    listed = await call_api(http, "GET", f"{api}/rooms/{PRIVATE}/webhooks", world.bob)
    assert [hook["id"] for hook in listed.body["webhooks"]] == [made.body["id"]]


async def test_outsider_searches_find_nothing_of_the_rooms_over_http(
    world: World, http: aiohttp.ClientSession
) -> None:
    """Naming a room, the ``not_found`` of a missing one; naming none, her own rooms only."""

    async def search(token: str, **params: str) -> Any:
        reply = await call_api(
            http, "GET", f"{world.url}/api/v1/search", token, params={"query": "the", **params}
        )
        return reply.status, reply.body

    for refs, missing in CASES:
        status, missing_body = await search(world.carol, room=missing)
        assert (status, missing_body["code"]) == (404, "not_found")
        for ref, canonical in refs:
            status, body = await search(world.carol, room=ref)
            assert status == 404
            assert_like_missing(body, (ref, canonical), missing_body, missing)
    assert await search(world.carol, query="the plan") == (
        200,
        {"query": "the plan", "results": [], "has_more": False, "next": None},
    )
    # A cursor naming a message of a room she is not in: as one naming no message at all.
    missing_cursor = await search(world.carol, before="1:1:no-such-room")
    assert missing_cursor[0] == 400
    assert await search(world.carol, before=f"1:1:{PRIVATE}") == missing_cursor
    status, body = await search(world.bob, query="between us")
    assert status == 200 and [r["room"] for r in body["results"]] == [DM]
    await assert_rooms_untouched(http, world)


# --- what members and non-members of visible rooms may do -----------------------------------


async def test_nobody_can_be_invited_into_a_dm(world: World, http: aiohttp.ClientSession) -> None:
    async with Client.connect(http, world.url, world.alice, sync={}) as alice:
        refused = await alice.request("invite", room=DM, user="carol")
        assert refused["type"] == "error" and refused["code"] == "forbidden", refused
    over_http = await call_api(
        http, "POST", f"{world.url}/api/v1/rooms/{DM}/invite", world.bob, json={"user": "carol"}
    )
    assert over_http.status == 403, over_http.body
    assert over_http.body["code"] == "forbidden"
    await assert_rooms_untouched(http, world)


async def test_public_room_history_is_open_but_posting_needs_joining(
    world: World, http: aiohttp.ClientSession
) -> None:
    api = f"{world.url}/api/v1"
    async with (
        Client.connect(http, world.url, world.alice, sync={}) as alice,
        Client.connect(http, world.url, world.carol, sync={}) as carol,
    ):
        await alice.ok("create", name="town", private=False)
        await alice.send("town", "welcome, all")

        refused = await carol.request("send", room="town", body="hi", client_msg_id="c-1")
        assert refused["type"] == "error" and refused["code"] == "forbidden", refused
        over_http = await call_api(
            http,
            "POST",
            f"{api}/rooms/town/messages",
            world.carol,
            json={"client_msg_id": "c-2", "body": "hi"},
        )
        assert over_http.status == 403, over_http.body
        assert over_http.body["code"] == "forbidden"

        page = await carol.ok("history", room="town")
        assert [e["body"] for e in page["events"] if e["type"] == "message"] == ["welcome, all"]
        assert page["events"] == await history_as(http, world.url, world.carol, "town")

        # Joining is what was missing: the same request now goes through.
        await carol.ok("join", room="town")
        sent = await carol.send("town", "hi", client_msg_id="c-1")
        assert sent["room"] == "town"
        page = await alice.ok("history", room="town")
        assert [(e["user"], e["body"]) for e in page["events"] if e["type"] == "message"] == [
            ("alice", "welcome, all"),
            ("carol", "hi"),
        ]


async def test_members_of_a_private_room_can_invite(
    world: World, http: aiohttp.ClientSession
) -> None:
    dave = await register(http, world.url, "dave")
    erin = await register(http, world.url, "erin")
    async with (
        Client.connect(http, world.url, world.alice, sync={}) as alice,
        Client.connect(http, world.url, dave, sync={}) as dave_ws,
    ):
        # bob did not create the room; being a member is enough.
        async with Client.connect(http, world.url, world.bob) as bob:
            assert (await bob.ok("invite", room=PRIVATE, user="dave"))["type"] == "ok"
        notice = await dave_ws.next_frame("invited")
        assert (notice["room"], notice["by"], notice["private"]) == (PRIVATE, "bob", True)
        await dave_ws.ok("accept", room=PRIVATE)
        await dave_ws.wait_for(lambda c: c.room_events(PRIVATE, "member_joined"))
        joined = dave_ws.room_events(PRIVATE, "member_joined")[0]
        assert joined["user"] == "dave" and joined["by"] == "bob"

        page = await dave_ws.ok("history", room=PRIVATE)
        assert "the plan" in [e.get("body") for e in page["events"]]
        await dave_ws.send(PRIVATE, "thanks for having me")
        await alice.wait_for(lambda c: c.room_events(PRIVATE, "message"))
        assert alice.room_events(PRIVATE, "message")[0]["user"] == "dave"

    invited = await call_api(
        http,
        "POST",
        f"{world.url}/api/v1/rooms/{PRIVATE}/invite",
        world.alice,
        json={"user": "erin"},
    )
    assert invited.status == 204, invited.body
    accepted = await call_api(
        http, "POST", f"{world.url}/api/v1/invitations/{PRIVATE}/accept", erin
    )
    assert accepted.status == 200, accepted.body
    members = await call_api(http, "GET", f"{world.url}/api/v1/rooms/{PRIVATE}/members", erin)
    assert members.status == 200, members.body
    assert members.body["users"] == ["alice", "bob", "dave", "erin"]

    # carol is still outside.
    outside = await call_api(
        http, "GET", f"{world.url}/api/v1/rooms/{PRIVATE}/members", world.carol
    )
    assert outside.status == 404 and outside.body["code"] == "not_found"


@pytest.fixture
async def roomy_world(
    tmp_path: Path, storage_url: str, http: aiohttp.ClientSession
) -> AsyncIterator[World]:
    """The world, on a server whose buckets let one test make every request of them all."""
    config = config_for(
        tmp_path / "data",
        storage_url=storage_url,
        room_action_burst=10_000.0,
        send_burst=10_000.0,
        search_burst=10_000.0,
        read_burst=10_000.0,
    )
    async with running_server(config) as server:
        yield await build_world(server, http)


async def test_a_pending_invitation_gives_no_access(
    roomy_world: World, http: aiohttp.ClientSession
) -> None:
    """Invited to the private room but not in it yet, carol gets what an outsider gets for
    every request, over the WebSocket and over HTTP; once she accepts, she is a member."""
    world = roomy_world
    api = f"{world.url}/api/v1"
    invited = await call_api(
        http, "POST", f"{api}/rooms/{PRIVATE}/invite", world.alice, json={"user": "carol"}
    )
    assert invited.status == 204, invited.body
    for kind in WS_KINDS:
        if kind not in ("accept", "decline"):
            await test_outsider_gets_the_not_found_of_a_missing_room(world, http, kind)
    for call in HTTP_CALLS:
        await test_outsider_gets_the_not_found_of_a_missing_room_over_http(world, http, call)
    await test_outsider_searches_find_nothing_of_the_rooms_over_http(world, http)
    await test_files_tell_an_outsider_nothing(world, http)
    accepted = await call_api(http, "POST", f"{api}/invitations/{PRIVATE}/accept", world.carol)
    assert accepted.status == 200, accepted.body
    page = await call_api(http, "GET", f"{api}/rooms/{PRIVATE}/messages", world.carol)
    assert page.status == 200 and "the plan" in [e.get("body") for e in page.body["events"]]


@pytest.mark.parametrize("action", ["accept", "decline"])
async def test_an_invitation_not_sent_answers_as_a_missing_room_over_http(
    world: World, http: aiohttp.ClientSession, action: str
) -> None:
    bodies = {}
    for room in (MISSING, PRIVATE, "SeCrEt", "lobby", MISSING_DM, DM):
        reply = await call_api(
            http,
            "POST",
            f"{world.url}/api/v1/invitations/{quote(room, safe=':')}/{action}",
            world.carol,
        )
        assert reply.status == 404, (room, reply.body)
        bodies[room] = reply.body
    for room, body in bodies.items():
        assert_like_missing(body, (room, normalize_room(room)), bodies[MISSING], MISSING)
    await assert_rooms_untouched(http, world)


# --- refusals that must not tell a hidden room from a missing one ----------------------------


async def test_a_reused_client_msg_id_tells_an_outsider_nothing(
    world: World, http: aiohttp.ClientSession
) -> None:
    """carol's id is taken by her own message elsewhere: that must not turn the answer for a
    hidden room into ``conflict`` while a missing room says ``not_found``."""
    api = f"{world.url}/api/v1"
    async with Client.connect(http, world.url, world.carol, sync={}) as carol:
        await carol.ok("create", name="mine", private=False)
        await carol.send("mine", "mine", client_msg_id="used")
        for refs, missing in CASES:
            fields: dict[str, Any] = {"body": "let me in", "client_msg_id": "used"}
            missing_reply = await carol.request("send", room=missing, **fields)
            assert missing_reply["code"] == "not_found", missing_reply
            for ref, canonical in refs:
                reply = await carol.request("send", room=ref, **fields)
                assert_like_missing(reply, (ref, canonical), missing_reply, missing, ("re",))
        await carol.ok("leave", room="mine")  # her message, and so her id, stay
    for refs, missing in CASES:
        bodies = {}
        for ref in [missing, *(ref for ref, _ in refs)]:
            answer = await call_api(
                http,
                "POST",
                f"{api}/rooms/{quote(ref, safe=':')}/messages",
                world.carol,
                json={"client_msg_id": "used", "body": "let me in"},
            )
            assert answer.status == 404, (ref, answer.body)
            bodies[ref] = answer.body
        for ref, canonical in refs:
            assert_like_missing(bodies[ref], (ref, canonical), bodies[missing], missing)
    await assert_rooms_untouched(http, world)


async def test_a_taken_name_answers_alike_for_private_and_public_rooms(
    world: World, http: aiohttp.ClientSession
) -> None:
    """Room names are one namespace: ``create`` of a taken name is ``conflict``, and the
    answer for a private room's name is the answer for a public room's, word for word."""
    async with Client.connect(http, world.url, world.carol) as carol:
        public = await carol.request("create", name="lobby")
        hidden = await carol.request("create", name="SeCrEt", private=True)
    assert public["code"] == hidden["code"] == "conflict", (public, hidden)
    assert blanked(hidden, ("SeCrEt", PRIVATE), ("re",)) == blanked(public, ("lobby",), ("re",))
    await assert_rooms_untouched(http, world)


async def test_leaving_a_public_room_one_is_not_in_says_so(
    world: World, http: aiohttp.ClientSession
) -> None:
    """A public room is visible, so ``forbidden`` ("you are not in ...") and not the
    ``not_found`` that private rooms and DMs one is not in still get."""
    async with Client.connect(http, world.url, world.carol) as carol:
        refused = await carol.request("leave", room="LOBBY")
        assert (refused["code"], refused["message"]) == ("forbidden", "you are not in 'lobby'")
        for room in (PRIVATE, DM, MISSING):
            assert (await carol.request("leave", room=room))["code"] == "not_found"
    over_http = await call_api(http, "POST", f"{world.url}/api/v1/rooms/lobby/leave", world.carol)
    assert over_http.status == 403 and over_http.body["code"] == "forbidden", over_http.body


@pytest.fixture
async def tight_world(tmp_path: Path, http: aiohttp.ClientSession) -> AsyncIterator[World]:
    """The world, on a server whose room-action, read and typing buckets are nearly empty."""
    slow = 0.001  # per second: nothing refills during a test
    config = config_for(
        tmp_path / "data",
        room_action_burst=3.0,  # alice's create, invite and dm setting the world up
        room_action_rate=slow,
        read_burst=1.0,
        read_rate=slow,
        typing_burst=1.0,
        typing_rate=slow,
    )
    async with running_server(config) as server:
        yield await build_world(server, http)


RATE_LIMITED_KINDS = ["join", "leave", "invite", "read"]


async def test_rate_limited_refusals_tell_an_outsider_nothing(
    tight_world: World, http: aiohttp.ClientSession
) -> None:
    """The rate is checked before any storage work, so past it a hidden room and a missing
    room get the same ``rate_limited``; before it, the same ``not_found``."""
    world = tight_world
    async with Client.connect(http, world.url, world.carol, sync={}) as carol:
        for kind in ("join", "join", "join", "read"):  # what her buckets hold
            reply = await carol.request(kind, **ws_fields(kind, MISSING))
            assert reply["code"] == "not_found", reply
        for kind in RATE_LIMITED_KINDS:
            for refs, missing in CASES:
                missing_reply = await carol.request(kind, **ws_fields(kind, missing))
                assert missing_reply["code"] == "rate_limited", (kind, missing_reply)
                for ref, canonical in refs:
                    reply = await carol.request(kind, **ws_fields(kind, ref))
                    assert reply["code"] == "rate_limited", (kind, reply)
                    drop = ("re", "retry_after")
                    assert blanked(reply, (ref, canonical), drop) == blanked(
                        missing_reply, (missing,), drop
                    )
        # Typing: one hint per room here. The first is refused alike, the next is dropped
        # alike, without a word.
        for room in (MISSING, PRIVATE, MISSING_DM, DM):
            first = await carol.request("typing", **ws_fields("typing", room))
            assert first["code"] == "not_found", first
            answer = awaiting_reply(carol, "t")
            await carol.ws.send_str(json.dumps({"type": "typing", "id": "t", "room": room}))
            assert (await carol.ok("ping"))["type"] == "pong"
            assert not answer.done(), f"a dropped typing got a reply: {answer.result()}"
            assert carol.frames.empty()
        assert carol.events == []
    for path in ("join", "read"):
        bodies = {}
        for room in (MISSING, PRIVATE, DM):
            refused = await call_api(
                http,
                "POST",
                f"{world.url}/api/v1/rooms/{quote(room, safe=':')}/{path}",
                world.carol,
                json={"seq": 1} if path == "read" else None,
            )
            assert refused.status == 429, (room, refused.body)
            assert int(refused.headers["Retry-After"]) >= 1
            bodies[room] = {k: v for k, v in refused.body.items() if k != "retry_after"}
        assert bodies[PRIVATE] == bodies[DM] == bodies[MISSING], bodies
    await assert_rooms_untouched(http, world)


# --- profiles: any signed-in user sees any user, nobody else sees anything ------------------

PROFILE_CALLS = [
    ("GET", "/users/alice"),
    ("GET", "/users/zed"),
    ("GET", "/users/alice/avatar"),
    ("GET", "/users/zed/avatar"),
    ("PATCH", "/me"),
    ("PUT", "/me/avatar"),
    ("DELETE", "/me/avatar"),
    ("POST", "/me/password"),
    # Consent: whom one blocks, one's invitations (to a room that exists or not).
    ("GET", "/me/blocks"),
    ("PUT", "/me/blocks/alice"),
    ("DELETE", "/me/blocks/alice"),
    ("GET", "/invitations"),
    ("POST", f"/invitations/{PRIVATE}/accept"),
    ("POST", f"/invitations/{MISSING}/accept"),
    ("POST", f"/invitations/{PRIVATE}/decline"),
]


@pytest.mark.parametrize(("method", "path"), PROFILE_CALLS)
async def test_profiles_are_closed_to_anyone_not_signed_in(
    world: World, http: aiohttp.ClientSession, method: str, path: str
) -> None:
    """An existing user and a missing one, an avatar or none: the same 401 for all."""
    for token in (None, "not-a-token"):
        reply = await call_api(http, method, f"{world.url}/api/v1{path}", token, data=b"{}")
        assert (reply.status, reply.body) == (
            401,
            {"code": "unauthenticated", "message": "a valid session token is required"},
        ), (method, path, token)


@pytest.mark.parametrize(
    "kind", ["users", "profile", "invitations", "blocks", "block", "dm_policy", "accept"]
)
async def test_profile_requests_need_an_authenticated_socket(
    world: World, http: aiohttp.ClientSession, kind: str
) -> None:
    by_kind: dict[str, dict[str, Any]] = {
        "users": {"users": ["alice"]},
        "profile": {"status": "x"},
        "block": {"user": "alice"},
        "dm_policy": {"policy": "nobody"},
        "accept": {"room": PRIVATE},
    }
    fields = by_kind.get(kind, {})
    async with http.ws_connect(world.url + "/", protocols=("hubbub.v1",)) as ws:
        await ws.send_str(json.dumps({"type": kind, "id": 1, **fields}))
        refused = json.loads((await ws.receive()).data)
        assert refused["code"] == "unauthenticated" and "re" not in refused, refused
        await ws.receive()
        assert ws.close_code == 4401
    async with Client.connect(http, world.url, world.bob) as bob:
        assert (await bob.ok("users", users=["alice"]))["profiles"] == [
            {"username": "alice", "admin": True}
        ]


async def test_an_outsider_sees_the_profiles_anyone_sees_and_no_members(
    world: World, http: aiohttp.ClientSession
) -> None:
    """Profiles tell nothing of rooms: carol reads alice's and bob's as bob does, while the
    members of their rooms stay ``not_found`` for her."""
    api = f"{world.url}/api/v1"
    for name in ("alice", "bob"):
        as_carol = await call_api(http, "GET", f"{api}/users/{name}", world.carol)
        as_bob = await call_api(http, "GET", f"{api}/users/{name}", world.bob)
        assert (as_carol.status, as_carol.body) == (as_bob.status, as_bob.body)
    async with Client.connect(http, world.url, world.carol) as carol:
        seen = await carol.ok("users", users=["alice", "bob", "zed"])
        assert [p["username"] for p in seen["profiles"]] == ["alice", "bob"]
        for refs, missing in CASES:
            missing_reply = await carol.request("members", room=missing)
            for ref, canonical in refs:
                reply = await carol.request("members", room=ref)
                assert_like_missing(reply, (ref, canonical), missing_reply, missing, ("re",))
    await assert_rooms_untouched(http, world)


# --- files: an outsider gets what a missing file gets ---------------------------------------


async def test_files_tell_an_outsider_nothing(world: World, http: aiohttp.ClientSession) -> None:
    """Downloads and thumbnails of the rooms' files, sent or pending, answer carol as a
    missing file does; so does naming them in her own messages, or naming one room's file
    in another room's message."""
    api = f"{world.url}/api/v1"
    ids = {}
    for room, token in ((PRIVATE, world.alice), (DM, world.bob)):
        uploaded = await call_api(
            http,
            "POST",
            f"{api}/rooms/{quote(room, safe=':')}/files",
            token,
            params={"name": "p.png"},
            data=image("PNG"),
        )
        assert uploaded.status == 201, uploaded.body
        ids[room] = uploaded.body["id"]
    sent = await call_api(
        http,
        "POST",
        f"{api}/rooms/{PRIVATE}/messages",
        world.alice,
        json={"client_msg_id": uuid.uuid4().hex, "body": "", "files": [ids[PRIVATE]]},
    )
    assert sent.status == 201, sent.body
    missing = "M" * 22
    for suffix in ("", "/thumb", "/p.png"):
        gone = await call_api(http, "GET", f"{api}/files/{missing}{suffix}", world.carol)
        assert (gone.status, gone.body["code"]) == (404, "not_found")
        # carol sees neither; alice does not see bob's pending file either
        for token, file_id in (
            (world.carol, ids[PRIVATE]),
            (world.carol, ids[DM]),
            (world.alice, ids[DM]),
        ):
            reply = await call_api(http, "GET", f"{api}/files/{file_id}{suffix}", token)
            assert reply.status == 404, (suffix, reply.body)
            assert reply.body["message"].replace(file_id, missing) == gone.body["message"]
            assert reply.body["code"] == gone.body["code"]
    mine = await call_api(http, "POST", f"{api}/rooms", world.carol, json={"name": "mine"})
    assert mine.status == 201

    async def send(token: str, room: str, file_id: str) -> Any:
        reply = await call_api(
            http,
            "POST",
            f"{api}/rooms/{quote(room, safe=':')}/messages",
            token,
            json={"client_msg_id": uuid.uuid4().hex, "body": "", "files": [file_id]},
        )
        assert reply.status == 404, reply.body
        return reply.body

    for token, room in ((world.carol, "mine"), (world.alice, DM), (world.bob, PRIVATE)):
        expected = await send(token, room, missing)
        for file_id in ids.values():
            refused = await send(token, room, file_id)
            assert refused["message"].replace(file_id, missing) == expected["message"]


# --- the server's settings: server admins only ------------------------------------------------

ADMIN_CALLS = [
    ("GET", "/admin/settings", None),
    ("PATCH", "/admin/settings", {"registration": "open", "guests": False}),
    ("POST", "/admin/invites", {"expires_in": 3600}),
    ("GET", "/admin/invites", None),
    ("DELETE", "/admin/invites/some-id", None),
    ("GET", "/admin/guest-bans", None),
    ("POST", "/admin/guest-bans", {"address": "10.0.0.1"}),
    ("DELETE", "/admin/guest-bans/10.0.0.1", None),
]


async def test_server_settings_refuse_others_as_the_audit_log_does(
    world: World, http: aiohttp.ClientSession
) -> None:
    """bob and carol get the audit log's 403, anyone not signed in a 401, and nothing of
    the settings, invite links or guest bans changes; the registration mode is public."""
    api = f"{world.url}/api/v1"
    audit = await call_api(http, "GET", f"{api}/admin/audit", world.carol)
    assert (audit.status, audit.body["code"]) == (403, "forbidden")
    for method, path, body in ADMIN_CALLS:
        for token in (world.bob, world.carol):
            reply = await call_api(http, method, api + path, token, json=body)
            assert (reply.status, reply.body["code"]) == (403, "forbidden"), (method, path)
            assert reply.body.keys() == audit.body.keys()
        anonymous = await call_api(http, method, api + path, None, json=body)
        assert (anonymous.status, anonymous.body["code"]) == (401, "unauthenticated"), path
    settings = await call_api(http, "GET", f"{api}/admin/settings", world.alice)
    assert settings.body["set"] == {"registration": None, "guests": None}
    invites = await call_api(http, "GET", f"{api}/admin/invites", world.alice)
    bans = await call_api(http, "GET", f"{api}/admin/guest-bans", world.alice)
    assert (invites.body, bans.body) == ({"invites": []}, {"bans": []})
    public = await call_api(http, "GET", f"{api}/registration")
    assert (public.status, public.body) == (200, {"mode": "open"})


# --- server accounts: a server admin's, and nobody else's ----------------------------------

ACCOUNT_CALLS = [
    ("GET", "/admin/users", None),
    ("POST", "/admin/users/bob/role", {"role": "admin"}),
    ("POST", "/admin/users/carol/role", {"role": "admin"}),
    ("POST", "/admin/users/alice/role", {"role": "member"}),
    ("POST", "/admin/users/zed/role", {"role": "admin"}),
    ("POST", "/admin/users/alice/deactivate", None),
    ("POST", "/admin/users/zed/deactivate", None),
    ("POST", "/admin/users/alice/reactivate", None),
]


async def test_server_accounts_refuse_others_as_the_audit_log_does(
    world: World, http: aiohttp.ClientSession
) -> None:
    """bob and carol get the audit log's 403 for every account request, even about a user
    who does not exist, anyone not signed in a 401, and no account changes."""
    api = f"{world.url}/api/v1"
    audit = await call_api(http, "GET", f"{api}/admin/audit", world.carol)
    assert (audit.status, audit.body["code"]) == (403, "forbidden")
    before = await call_api(http, "GET", f"{api}/admin/users", world.alice)
    assert before.status == 200
    for method, path, body in ACCOUNT_CALLS:
        for token in (world.bob, world.carol):
            reply = await call_api(http, method, api + path, token, json=body)
            assert (reply.status, reply.body["code"]) == (403, "forbidden"), (method, path)
            assert reply.body.keys() == audit.body.keys()
        for anonymous_token in (None, "not-a-token"):
            anonymous = await call_api(http, method, api + path, anonymous_token, json=body)
            assert (anonymous.status, anonymous.body["code"]) == (401, "unauthenticated"), path
    after = await call_api(http, "GET", f"{api}/admin/users", world.alice)
    assert after.body == before.body
    assert [(a["username"], a["role"], a["deactivated"]) for a in after.body["accounts"]] == [
        ("alice", "admin", False),
        ("bob", "member", False),
        ("carol", "member", False),
    ]
    log = await call_api(http, "GET", f"{api}/admin/audit", world.alice)
    assert log.body["entries"] == []
