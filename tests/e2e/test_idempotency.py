"""Guarantee 2: the same ``(user, client_msg_id)`` is stored once, and every send of it gets
the same ``sent`` (same seq, msg_id and ts): concurrently, across connections, across a
restart, and over the HTTP API. Another user's identical client_msg_id is another message.

Sending one id again after its ``sent`` is what a client does after a restart, so those
tests send as one does, with ``hubbub.client``. The concurrent ones write the same id in
several frames before any reply, which a client's outbox never does (it holds one id once):
they check the server's frames with the wire-level ``support.Client``."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from support import Client, ServerProcess, read_history, register

import hubbub.client
from hubbub.protocol.messages import SentOut

ROOM = "idem"
SENT_FIELDS = ("room", "seq", "msg_id", "client_msg_id", "ts")
STORAGE_ENGINES = ("sqlite", "postgresql")  # every test, on each (tests/conftest.py)


@pytest.fixture
def server(tmp_path: Path, storage_url: str) -> Iterator[ServerProcess]:
    process = ServerProcess(tmp_path / "data", storage_url=storage_url)
    try:
        process.start()
        yield process
    finally:
        process.stop()


async def setup_users(http: aiohttp.ClientSession, url: str) -> dict[str, str]:
    """alice and bob, both members of the public room ``idem``; their tokens."""
    tokens = {user: await register(http, url, user) for user in ("alice", "bob")}
    status, body = await api(http, url, tokens["alice"], "POST", "/rooms", {"name": ROOM})
    assert status == 201, body
    status, body = await api(http, url, tokens["bob"], "POST", f"/rooms/{ROOM}/join")
    assert status == 200, body
    return tokens


async def api(
    http: aiohttp.ClientSession,
    url: str,
    token: str,
    method: str,
    path: str,
    body: dict[str, Any] | None = None,
) -> tuple[int, Any]:
    async with http.request(
        method, f"{url}/api/v1{path}", json=body, headers={"Authorization": f"Bearer {token}"}
    ) as response:
        return response.status, await response.json()


def sent_of(reply: dict[str, Any] | SentOut) -> tuple[Any, ...]:
    """A ``sent`` (a frame, or ``hubbub.client``'s) as its fields."""
    if isinstance(reply, SentOut):
        return tuple(getattr(reply, name) for name in SENT_FIELDS)
    assert reply["type"] == "sent", reply
    return tuple(reply[name] for name in SENT_FIELDS)


def stored_with(events: list[dict[str, Any]], client_msg_id: str) -> list[dict[str, Any]]:
    return [e for e in events if e["type"] == "message" and e.get("client_msg_id") == client_msg_id]


def send_fields(client_msg_id: str, body: str) -> dict[str, Any]:
    """A ``send`` request's fields."""
    return {"room": ROOM, "client_msg_id": client_msg_id, "body": body}


def post_fields(client_msg_id: str, body: str) -> dict[str, Any]:
    """A ``POST /rooms/{room}/messages`` body."""
    return {"client_msg_id": client_msg_id, "body": body}


async def assert_delivered_once(
    observers: list[Client], sender: Client, client_msg_id: str
) -> dict[str, Any]:
    """Each observer got exactly one live ``message`` with this client_msg_id.

    A marker sent afterwards comes later in the room's order, so once an observer has it, a
    second copy of the message would have arrived too."""
    marker = await sender.send(ROOM, "marker")
    copies = []
    for observer in observers:
        await observer.wait_for(
            lambda c: any(e.get("msg_id") == marker["msg_id"] for e in c.room_events(ROOM))
        )
        copies = stored_with(observer.room_events(ROOM), client_msg_id)
        assert len(copies) == 1, copies
    return copies[0]


async def test_two_frames_back_to_back_on_one_connection_store_one_message(
    server: ServerProcess, http: aiohttp.ClientSession
) -> None:
    tokens = await setup_users(http, server.url)
    client_msg_id = uuid.uuid4().hex
    async with (
        Client.connect(http, server.url, tokens["alice"], sync={}) as alice,
        Client.connect(http, server.url, tokens["bob"], sync={}) as bob,
    ):
        before = await read_history(http, server.url, tokens["alice"], ROOM)
        # Both frames are written before either reply is awaited.
        first, second = await asyncio.gather(
            alice.request("send", **send_fields(client_msg_id, "once")),
            alice.request("send", **send_fields(client_msg_id, "once")),
        )
        assert first["re"] != second["re"]
        assert sent_of(first) == sent_of(second)
        assert first["seq"] == before[-1]["seq"] + 1
        delivered = await assert_delivered_once([bob, alice], alice, client_msg_id)
        assert (delivered["seq"], delivered["msg_id"]) == (first["seq"], first["msg_id"])

    after = await read_history(http, server.url, tokens["alice"], ROOM)
    stored = stored_with(after, client_msg_id)
    assert len(stored) == 1, stored
    assert (stored[0]["seq"], stored[0]["msg_id"], stored[0]["ts"]) == (
        first["seq"],
        first["msg_id"],
        first["ts"],
    )
    # Only the message and the marker were added.
    assert [e["seq"] for e in after] == list(range(1, len(before) + 3))


async def test_two_connections_of_one_user_sending_the_same_id_store_one_message(
    server: ServerProcess, http: aiohttp.ClientSession
) -> None:
    tokens = await setup_users(http, server.url)
    client_msg_id = uuid.uuid4().hex
    async with (
        Client.connect(http, server.url, tokens["alice"], sync={}) as one,
        Client.connect(http, server.url, tokens["alice"], sync={}) as two,
        Client.connect(http, server.url, tokens["bob"], sync={}) as bob,
    ):
        before = await read_history(http, server.url, tokens["alice"], ROOM)
        replies = await asyncio.gather(
            one.request("send", **send_fields(client_msg_id, "from one")),
            two.request("send", **send_fields(client_msg_id, "from two")),
            one.request("send", **send_fields(client_msg_id, "from one")),
            two.request("send", **send_fields(client_msg_id, "from two")),
        )
        assert len({sent_of(reply) for reply in replies}) == 1, replies
        # bob, and each of alice's sessions, get the message once.
        delivered = await assert_delivered_once([bob, one, two], one, client_msg_id)
        assert (delivered["seq"], delivered["msg_id"]) == (replies[0]["seq"], replies[0]["msg_id"])

    after = await read_history(http, server.url, tokens["alice"], ROOM)
    stored = stored_with(after, client_msg_id)
    assert len(stored) == 1, stored
    assert stored[0]["seq"] == replies[0]["seq"] == before[-1]["seq"] + 1
    assert stored[0]["body"] in ("from one", "from two")
    assert [e["seq"] for e in after] == list(range(1, len(before) + 3))


@pytest.mark.parametrize("stop", ["terminate", "kill"])
async def test_resend_after_a_restart_gets_the_same_sent_and_stores_nothing(
    server: ServerProcess, http: aiohttp.ClientSession, stop: str
) -> None:
    tokens = await setup_users(http, server.url)
    client_msg_id = uuid.uuid4().hex
    async with hubbub.client.Client(server.url, token=tokens["alice"]) as alice:
        first = await alice.send(ROOM, "before the restart", client_msg_id=client_msg_id)
    before = await read_history(http, server.url, tokens["alice"], ROOM)

    if stop == "terminate":
        assert server.terminate() == 0
    else:
        server.kill()
    server.stop()
    await asyncio.to_thread(server.start)

    async with hubbub.client.Client(server.url, token=tokens["alice"]) as alice:
        again = await alice.send(ROOM, "before the restart", client_msg_id=client_msg_id)
        # A retry's body is not looked at: the stored message is the answer.
        other_body = await alice.send(ROOM, "changed", client_msg_id=client_msg_id)
    assert sent_of(again) == sent_of(first)
    assert sent_of(other_body) == sent_of(first)
    status, body = await api(
        http,
        server.url,
        tokens["alice"],
        "POST",
        f"/rooms/{ROOM}/messages",
        post_fields(client_msg_id, "before the restart"),
    )
    assert status == 200, body
    assert tuple(body[name] for name in SENT_FIELDS) == sent_of(first)
    after = await read_history(http, server.url, tokens["alice"], ROOM)
    assert after == before
    assert stored_with(after, client_msg_id)[0]["body"] == "before the restart"

    # The room goes on from where it was: the next new message takes the next seq.
    async with hubbub.client.Client(server.url, token=tokens["alice"]) as alice:
        new = await alice.send(ROOM, "after the restart")
    assert new.seq == first.seq + 1


async def test_http_duplicate_post_returns_200_with_the_same_body(
    server: ServerProcess, http: aiohttp.ClientSession
) -> None:
    tokens = await setup_users(http, server.url)
    token = tokens["alice"]
    path = f"/rooms/{ROOM}/messages"
    client_msg_id = uuid.uuid4().hex
    before = await read_history(http, server.url, token, ROOM)

    status, created = await api(
        http, server.url, token, "POST", path, post_fields(client_msg_id, "hi")
    )
    assert status == 201, created
    assert set(created) == set(SENT_FIELDS)
    assert created["client_msg_id"] == client_msg_id
    assert created["seq"] == before[-1]["seq"] + 1
    status, repeated = await api(
        http, server.url, token, "POST", path, post_fields(client_msg_id, "hi")
    )
    assert status == 200, repeated
    assert repeated == created

    # The WebSocket gets the same answer for that id.
    async with hubbub.client.Client(server.url, token=token) as alice:
        reply = await alice.send(ROOM, "hi", client_msg_id=client_msg_id)
    assert sent_of(reply) == tuple(created[name] for name in SENT_FIELDS)

    # Concurrent POSTs of a new id: exactly one creates it, all get the same body.
    concurrent_id = uuid.uuid4().hex
    results = await asyncio.gather(
        *(
            api(http, server.url, token, "POST", path, post_fields(concurrent_id, "race"))
            for _ in range(4)
        )
    )
    assert sorted(status for status, _ in results) == [200, 200, 200, 201], results
    assert all(body == results[0][1] for _, body in results), results

    after = await read_history(http, server.url, token, ROOM)
    assert len(stored_with(after, client_msg_id)) == 1
    assert len(stored_with(after, concurrent_id)) == 1
    assert [e["seq"] for e in after] == list(range(1, len(before) + 3))


async def test_the_same_id_from_another_user_is_another_message(
    server: ServerProcess, http: aiohttp.ClientSession
) -> None:
    tokens = await setup_users(http, server.url)
    client_msg_id = uuid.uuid4().hex
    async with (
        hubbub.client.Client(server.url, token=tokens["alice"]) as alice,
        hubbub.client.Client(server.url, token=tokens["bob"]) as bob,
    ):
        from_alice = await alice.send(ROOM, "alice's", client_msg_id=client_msg_id)
        from_bob = await bob.send(ROOM, "bob's", client_msg_id=client_msg_id)
        # And each one's retry still finds their own message.
        alice_again = await alice.send(ROOM, "alice's", client_msg_id=client_msg_id)
        bob_again = await bob.send(ROOM, "bob's", client_msg_id=client_msg_id)
    assert from_alice.msg_id != from_bob.msg_id
    assert from_bob.seq == from_alice.seq + 1
    assert sent_of(alice_again) == sent_of(from_alice)
    assert sent_of(bob_again) == sent_of(from_bob)

    # Over HTTP too: each user's duplicate POST finds their own message.
    for user, theirs in (("alice", from_alice), ("bob", from_bob)):
        status, body = await api(
            http,
            server.url,
            tokens[user],
            "POST",
            f"/rooms/{ROOM}/messages",
            post_fields(client_msg_id, "again"),
        )
        assert status == 200, body
        assert tuple(body[name] for name in SENT_FIELDS) == sent_of(theirs)

    stored = stored_with(await read_history(http, server.url, tokens["bob"], ROOM), client_msg_id)
    assert [(e["user"], e["body"], e["seq"], e["msg_id"]) for e in stored] == [
        ("alice", "alice's", from_alice.seq, from_alice.msg_id),
        ("bob", "bob's", from_bob.seq, from_bob.msg_id),
    ]
