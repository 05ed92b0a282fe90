"""Consent over real sockets: invitations wait until their invitee accepts (the ``invited``
notice on every node, ``invitations``, ``accept``, ``decline``, the caps), blocks, and the
DM policy, over the WebSocket and the HTTP API, on each storage engine."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pg
import pytest
from redis_support import two_nodes
from support import (
    Client,
    RunningServer,
    call_api,
    config_for,
    invite_over_ws,
    read_history,
    register,
    running_server,
)

from hubbub.core.consent import MAX_INVITATIONS_PER_INVITER

STORAGE_ENGINES = ("sqlite", "postgresql")  # each test with the server, on each (tests/conftest.py)


@pytest.fixture
async def server(
    tmp_path: Path, storage_url: str
) -> AsyncIterator[RunningServer]:  # buckets wide enough for the caps' tests
    config = config_for(tmp_path / "data", storage_url=storage_url, room_action_burst=10_000.0)
    async with running_server(config) as running:
        yield running


async def users(http: aiohttp.ClientSession, server: RunningServer, *names: str) -> list[str]:
    return [await register(http, server.url, name) for name in names]


async def next_notice(client: Client, kind: str) -> dict[str, Any]:
    """The next notice of ``kind`` (presence frames in between are skipped)."""
    while True:
        frame = await client.next_frame()
        if frame["type"] != "presence":
            assert frame["type"] == kind, frame
            return frame


def drain(client: Client) -> list[dict[str, Any]]:
    frames = []
    while not client.frames.empty():
        frames.append(client.frames.get_nowait())
    return frames


async def api(
    http: aiohttp.ClientSession,
    server: RunningServer,
    token: str,
    method: str,
    path: str,
    body: Any = None,
) -> Any:
    return await call_api(http, method, f"{server.url}/api/v1{path}", token, json=body)


async def test_an_invitation_waits_for_its_invitee(
    server: RunningServer, http: aiohttp.ClientSession
) -> None:
    alice, bob = await users(http, server, "alice", "bob")
    async with (
        Client.connect(http, server.url, alice, sync={}) as a,
        Client.connect(http, server.url, bob, sync={}) as b,
        Client.connect(http, server.url, bob, sync={}) as b_phone,
    ):
        await a.ok("create", name="plan", private=True)
        await a.ok("room_settings", room="plan", topic="the plan")
        before = await read_history(http, server.url, alice, "plan")
        await a.ok("invite", room="plan", user="BOB")
        for session in (b, b_phone):
            notice = await next_notice(session, "invited")
            assert notice == {
                "type": "invited",
                "room": "plan",
                "by": "alice",
                "ts": notice["ts"],
                "private": True,
                "topic": "the plan",
            }
        # Pending: no event in the room, no room for bob.
        assert await read_history(http, server.url, alice, "plan") == before
        assert [r["name"] for r in (await b.ok("rooms"))["rooms"]] == []
        listed = await b.ok("invitations")
        assert listed["invitations"] == [{k: v for k, v in notice.items() if k != "type"}]
        # Again, and to a member: ok, and nothing changes (no second notice).
        await a.ok("invite", room="plan", user="bob")
        await a.ok("invite", room="plan", user="alice")
        assert len((await b.ok("invitations"))["invitations"]) == 1

        joined = await b.ok("accept", room="plan")
        assert (joined["type"], joined["name"], joined["kind"]) == ("room", "plan", "private")
        await a.wait_for(lambda c: c.room_events("plan", "member_joined"))
        event = a.room_events("plan", "member_joined")[-1]
        assert (event["user"], event["by"]) == ("bob", "alice")
        await b.send("plan", "thanks")  # live at once on the session that accepted
        await b_phone.wait_for(lambda c: c.room_events("plan", "message"))
        assert (await b.ok("invitations"))["invitations"] == []
        again = await b.request("accept", room="plan")
        assert (again["code"], again["message"]) == ("not_found", "no invitation to 'plan'")
        await b.ok("ping")
        assert [f for f in drain(b) if f["type"] != "presence"] == []  # none for a member


async def test_a_declined_invitation_leaves_no_trace(
    server: RunningServer, http: aiohttp.ClientSession
) -> None:
    alice, bob = await users(http, server, "alice", "bob")
    async with Client.connect(http, server.url, alice, sync={}) as a:
        await a.ok("create", name="plan", private=True)
        await a.send("plan", "before")
        before = await read_history(http, server.url, alice, "plan")
        await a.ok("invite", room="plan", user="bob")
        declined = await api(http, server, bob, "POST", "/invitations/plan/decline")
        assert declined.status == 204, declined.body
        listed = await api(http, server, bob, "GET", "/invitations")
        assert listed.body == {"invitations": []}
        await a.ok("ping")
        assert await read_history(http, server.url, alice, "plan") == before
        assert [e for e in a.room_events("plan") if e["seq"] > before[-1]["seq"]] == []
        # Accepting a declined invitation: as if there never was one.
        gone = await api(http, server, bob, "POST", "/invitations/plan/accept")
        assert (gone.status, gone.body["message"]) == (404, "no invitation to 'plan'")


async def test_a_ban_meanwhile_ends_an_invitation(
    server: RunningServer, http: aiohttp.ClientSession
) -> None:
    alice, bob = await users(http, server, "alice", "bob")
    async with (
        Client.connect(http, server.url, alice, sync={}) as a,
        Client.connect(http, server.url, bob, sync={}) as b,
    ):
        await a.ok("create", name="town")
        await a.ok("invite", room="town", user="bob")
        await a.ok("ban", room="town", user="bob", reason="no")
        refused = await b.request("accept", room="town")
        assert (refused["code"], refused["message"]) == ("not_found", "no invitation to 'town'")
        assert (await b.ok("invitations"))["invitations"] == []
        again = await a.request("invite", room="town", user="bob")
        assert (again["code"], again["message"]) == ("forbidden", "'bob' is banned from 'town'")


async def test_joining_a_public_room_consumes_its_invitation(
    server: RunningServer, http: aiohttp.ClientSession
) -> None:
    alice, bob = await users(http, server, "alice", "bob")
    async with (
        Client.connect(http, server.url, alice, sync={}) as a,
        Client.connect(http, server.url, bob, sync={}) as b,
    ):
        await a.ok("create", name="town")
        await a.ok("invite", room="town", user="bob")
        await b.ok("join", room="town")
        assert (await b.ok("invitations"))["invitations"] == []
        page = await b.ok("history", room="town")
        joins = [(e["user"], e.get("by")) for e in page["events"]]
        assert joins == [("alice", None), ("bob", None)]


async def test_an_inviter_has_at_most_so_many_pending_invitations(
    server: RunningServer, http: aiohttp.ClientSession
) -> None:
    cap = MAX_INVITATIONS_PER_INVITER
    alice, _ = await users(http, server, "alice", "bob")
    invitees = [f"u{n}" for n in range(cap + 1)]
    await users(http, server, *invitees)
    async with Client.connect(http, server.url, alice) as a:
        await a.ok("create", name="big", private=True)
        for name in invitees[:cap]:
            await a.ok("invite", room="big", user=name)
        refused = await a.request("invite", room="big", user=invitees[cap])
        assert (refused["code"], refused["message"]) == (
            "too_large",
            f"you have {cap} pending invitations; wait until some are accepted or declined",
        )
        over_http = await api(http, server, alice, "POST", "/rooms/big/invite", {"user": "bob"})
        assert over_http.status == 413 and over_http.body["code"] == "too_large"


async def test_a_block_refuses_dms_and_invitations_in_the_policy_s_words(
    server: RunningServer, http: aiohttp.ClientSession
) -> None:
    alice, bob, carol = await users(http, server, "alice", "bob", "carol")
    async with (
        Client.connect(http, server.url, alice, sync={}) as a,
        Client.connect(http, server.url, bob, sync={}) as b,
        Client.connect(http, server.url, carol, sync={}) as c,
    ):
        dm = (await b.ok("dm", user="alice"))["name"]
        await b.send(dm, "hi")
        await b.ok("create", name="club")
        await c.ok("create", name="band")
        # carol's refusals come from the policy, bob's from a block: the same words.
        await a.ok("dm_policy", policy="nobody")
        said_by_policy = [
            await c.request("dm", user="alice"),
            await c.request("invite", room="band", user="alice"),
        ]
        await a.ok("dm_policy", policy="everyone")
        assert (await a.ok("block", user="bob"))["type"] == "ok"
        said_by_block = [
            await b.request("dm", user="alice"),
            await b.request("invite", room="club", user="alice"),
        ]
        for policy, block in zip(said_by_policy, said_by_block, strict=True):
            assert policy["code"] == block["code"] == "forbidden"
            assert policy["message"] == block["message"]
        assert said_by_block[0]["message"] == "'alice' does not accept direct messages from you"
        assert said_by_block[1]["message"] == "'alice' does not accept invitations from you"
        sent = await b.request("send", room=dm, body="hello?", client_msg_id="x1")
        assert (sent["code"], sent["message"]) == ("forbidden", said_by_block[0]["message"])
        over_http = await api(
            http, server, bob, "POST", f"/rooms/{dm}/messages", {"client_msg_id": "x2", "body": "?"}
        )
        assert over_http.status == 403 and over_http.body == {
            "code": "forbidden",
            "message": "'alice' does not accept direct messages from you",
        }
        await a.send(dm, "I still can")  # the blocker is not kept from her own DM
        # Blocking is private: bob sees nothing of it, alice's list shows it.
        assert (await a.ok("blocks"))["users"] == ["bob"]
        assert (await b.ok("blocks"))["users"] == []
        profile = await api(http, server, carol, "GET", "/users/alice")
        assert profile.body == {"username": "alice", "admin": True}
        await a.ok("unblock", user="bob")
        await b.send(dm, "back again")
        await invite_over_ws(b, a, "club", "alice")


async def test_blocks_over_http(server: RunningServer, http: aiohttp.ClientSession) -> None:
    alice, _ = await users(http, server, "alice", "bob")
    for method, path, status in (
        ("PUT", "/me/blocks/Bob", 204),
        ("PUT", "/me/blocks/bob", 204),  # idempotent
        ("PUT", "/me/blocks/zed", 404),
        ("PUT", "/me/blocks/alice", 400),
        ("PUT", "/me/blocks/no%20way", 400),
    ):
        reply = await api(http, server, alice, method, path)
        assert reply.status == status, (path, reply.body)
    listed = await api(http, server, alice, "GET", "/me/blocks")
    assert listed.body == {"users": ["bob"]}
    for _ in range(2):
        gone = await api(http, server, alice, "DELETE", "/me/blocks/bob")
        assert gone.status == 204
    assert (await api(http, server, alice, "GET", "/me/blocks")).body == {"users": []}


@pytest.mark.parametrize("policy", ["everyone", "shared_rooms", "nobody"])
async def test_the_dm_policy(
    server: RunningServer, http: aiohttp.ClientSession, policy: str
) -> None:
    """A new DM room and an invitation from a stranger (carol) and from someone sharing a
    room (bob) get through as alice's policy says; a DM room that exists stays open."""
    alice, bob, carol, dave = await users(http, server, "alice", "bob", "carol", "dave")
    async with (
        Client.connect(http, server.url, alice, sync={}) as a,
        Client.connect(http, server.url, bob, sync={}) as b,
        Client.connect(http, server.url, carol, sync={}) as c,
        Client.connect(http, server.url, dave, sync={}) as d,
    ):
        await a.ok("create", name="home")
        await b.ok("join", room="home")
        existing = (await d.ok("dm", user="alice"))["name"]
        await b.ok("create", name="club")
        await c.ok("create", name="band")
        changed = await api(http, server, alice, "PATCH", "/me", {"dm_policy": policy})
        assert changed.status == 200 and "dm_policy" not in changed.body
        me = await api(http, server, alice, "GET", "/me")
        shown = {} if policy == "everyone" else {"dm_policy": policy}  # the default: absent
        assert me.body == {"username": "alice", "admin": True, **shown}
        assert (await a.ok("dm_policy"))["policy"] == policy
        let_in = {"everyone": {"bob", "carol"}, "shared_rooms": {"bob"}, "nobody": set()}[policy]
        for client, name, room in ((b, "bob", "club"), (c, "carol", "band")):
            opened = await client.request("dm", user="alice")
            invited = await client.request("invite", room=room, user="alice")
            if name in let_in:
                assert opened["type"] == "room" and invited["type"] == "ok", (opened, invited)
            else:
                assert (opened["code"], invited["code"]) == ("forbidden", "forbidden")
        await d.send(existing, "still open")
        expected = sorted(r for n, r in (("bob", "club"), ("carol", "band")) if n in let_in)
        listed = [i["room"] for i in (await a.ok("invitations"))["invitations"]]
        assert sorted(listed) == expected


async def test_the_dm_policy_is_checked_and_private(
    server: RunningServer, http: aiohttp.ClientSession
) -> None:
    alice, bob = await users(http, server, "alice", "bob")
    async with (
        Client.connect(http, server.url, alice, sync={}) as a,
        Client.connect(http, server.url, bob, sync={}) as b,
    ):
        await a.ok("create", name="home")
        await b.ok("join", room="home")
        bad = await a.request("dm_policy", policy="friends")
        assert bad["code"] == "bad_request"
        bad_http = await api(http, server, alice, "PATCH", "/me", {"dm_policy": "friends"})
        assert bad_http.status == 400
        # A profile change beside it: bob hears of the status, never of the policy.
        changed = await api(
            http, server, alice, "PATCH", "/me", {"dm_policy": "nobody", "status": "away"}
        )
        assert changed.body == {"username": "alice", "status": "away", "admin": True}
        notice = await next_notice(b, "profile")
        assert notice["profile"] == changed.body
        assert (await b.ok("users", users=["alice"]))["profiles"] == [changed.body]
        assert (await a.ok("dm_policy"))["policy"] == "nobody"


async def test_the_invitation_notice_reaches_every_node(
    tmp_path: Path, http: aiohttp.ClientSession
) -> None:
    try:
        async with two_nodes(tmp_path) as (node_a, node_b):
            alice = await register(http, node_a.url, "alice")
            bob = await register(http, node_a.url, "bob")
            async with (
                Client.connect(http, node_a.url, alice, sync={}) as a,
                Client.connect(http, node_b.url, bob, sync={}) as b,
            ):
                await a.ok("create", name="plan", private=True)
                await a.ok("invite", room="plan", user="bob")
                notice = await next_notice(b, "invited")
                assert (notice["room"], notice["by"]) == ("plan", "alice")
                await b.ok("accept", room="plan")
                await a.wait_for(lambda c: c.room_events("plan", "member_joined"))
    finally:
        pg.drop_created()
