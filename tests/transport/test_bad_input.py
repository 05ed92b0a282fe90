"""Bad input, unauthenticated clients and cross-site handshakes.

A malformed request gets ``bad_request`` (with its ``id`` as ``re`` when the id could be read),
changes nothing and leaves the connection open. What cannot be a request at all (too big, not
UTF-8, no credentials) closes the connection with the protocol's code. Either way the server
stays up for everyone else.
"""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from rawws import OP_CONTINUATION, OP_TEXT, HandshakeRefused, RawWebSocket
from support import (
    PASSWORD,
    ApiReply,
    Client,
    RunningServer,
    call_api,
    config_for,
    register,
    running_server,
)

from hubbub.protocol.handshake import MAX_HEAD
from hubbub.protocol.limits import MAX_BODY_CHARS, MAX_CLIENT_MSG_ID, MAX_HISTORY_LIMIT

ROOM = "team"
TOO_LONG_ROOM = "r" * 65  # room names are at most 64 characters
TOO_LONG_USER = "u" * 33  # usernames are at most 32 characters
DEEP = "[" * 5000 + "]" * 5000  # valid JSON, nested far deeper than any request


def frame(**fields: Any) -> str:
    return json.dumps(fields)


def send(**fields: Any) -> str:
    """A ``send`` to ROOM that would be stored, with ``fields`` changed."""
    request = {
        "type": "send",
        "id": "bad-send",
        "room": ROOM,
        "client_msg_id": uuid.uuid4().hex,
        "body": "should not be stored",
    }
    request.update(fields)
    return json.dumps({k: v for k, v in request.items() if v is not None})


def without(field: str) -> str:
    request = json.loads(send())
    del request[field]
    return json.dumps(request)


BAD_FRAMES = [
    # not JSON, or not a JSON object: no id can be read
    pytest.param('{"type": "ping", "id": "x"', None, id="truncated-json"),
    pytest.param('{"type": "ping", "id": "x"} {}', None, id="trailing-garbage"),
    pytest.param("", None, id="empty-frame"),
    pytest.param("hello", None, id="plain-text"),
    pytest.param('{"type": "ping", "id": "x", "n": NaN}', None, id="nan"),
    pytest.param('[{"type": "ping", "id": "x"}]', None, id="json-array"),
    pytest.param('"ping"', None, id="json-string"),
    pytest.param("42", None, id="json-number"),
    pytest.param("null", None, id="json-null"),
    pytest.param(frame(type="ping", id={"an": "object"}), None, id="id-is-an-object"),
    pytest.param(frame(type="ping", id=True), None, id="id-is-a-bool"),
    pytest.param('{"type": "ping", "id": "x", "pad": ' + DEEP + "}", None, id="deeply-nested"),
    pytest.param('{"type": "ping", "id": ' + DEEP + "}", None, id="deeply-nested-id"),
    # unknown or missing type
    pytest.param(frame(type="bogus", id="t1"), "t1", id="unknown-type"),
    pytest.param(frame(type="", id="t2"), "t2", id="empty-type"),
    pytest.param(frame(type=7, id="t3"), "t3", id="type-is-a-number"),
    pytest.param(frame(id="t4", room=ROOM), "t4", id="no-type"),
    pytest.param(frame(type="SEND", id="t5", room=ROOM), "t5", id="type-wrong-case"),
    # wrong field types
    pytest.param(send(body=123), "bad-send", id="body-is-a-number"),
    pytest.param(send(body=["a"]), "bad-send", id="body-is-a-list"),
    pytest.param(send(room=5), "bad-send", id="room-is-a-number"),
    pytest.param(send(client_msg_id=17), "bad-send", id="client-msg-id-is-a-number"),
    pytest.param(frame(type="create", id=9, name="new", private="yes"), 9, id="private-not-bool"),
    pytest.param(frame(type="history", id="h", room=ROOM, limit="10"), "h", id="limit-string"),
    pytest.param(frame(type="history", id="h", room=ROOM, limit=10.5), "h", id="limit-float"),
    pytest.param(frame(type="history", id="h", room=ROOM, before=-1), "h", id="before-negative"),
    pytest.param(frame(type="read", id="r", room=ROOM, seq="1"), "r", id="seq-string"),
    pytest.param(frame(type="read", id="r", room=ROOM, seq=-1), "r", id="seq-negative"),
    pytest.param(frame(type="sync", id="s", since=[ROOM]), "s", id="since-is-a-list"),
    pytest.param(frame(type="sync", id="s", since={ROOM: "1"}), "s", id="since-seq-string"),
    pytest.param(frame(type="sync", id="s", since={ROOM: -1}), "s", id="since-seq-negative"),
    pytest.param(frame(type="dm", id="d", user=["bob"]), "d", id="dm-user-is-a-list"),
    # missing fields
    pytest.param(without("body"), "bad-send", id="send-without-body"),
    pytest.param(without("client_msg_id"), "bad-send", id="send-without-client-msg-id"),
    pytest.param(without("room"), "bad-send", id="send-without-room"),
    pytest.param(frame(type="invite", id="i", room=ROOM), "i", id="invite-without-user"),
    pytest.param(frame(type="read", id="r", room=ROOM), "r", id="read-without-seq"),
    pytest.param(frame(type="create", id="c"), "c", id="create-without-name"),
    pytest.param(frame(type="history", id="h"), "h", id="history-without-room"),
    # out-of-range values
    pytest.param(frame(type="history", id="h", room=ROOM, limit=0), "h", id="limit-0"),
    pytest.param(frame(type="history", id="h", room=ROOM, limit=-5), "h", id="limit-negative"),
    pytest.param(
        frame(type="history", id="h", room=ROOM, limit=MAX_HISTORY_LIMIT + 1),
        "h",
        id="limit-over-max",
    ),
    pytest.param(send(body="x" * (MAX_BODY_CHARS + 1)), "bad-send", id="body-over-max"),
    pytest.param(send(body="é" * (MAX_BODY_CHARS + 1)), "bad-send", id="body-over-max-2-bytes"),
    pytest.param(send(body=""), "bad-send", id="body-empty"),
    pytest.param(send(body=" \n\t\u3000 "), "bad-send", id="body-only-whitespace"),
    pytest.param(send(body="a\x00b"), "bad-send", id="body-with-nul"),
    pytest.param(send(client_msg_id="c\x00"), "bad-send", id="client-msg-id-with-nul"),
    pytest.param(send(reply_to=-1), "bad-send", id="reply-to-negative"),
    # seqs past SQLite's integers (2**63 - 1 is the largest)
    pytest.param(frame(type="history", id="h", room=ROOM, before=2**63), "h", id="before-2**63"),
    pytest.param(frame(type="history", id="h", room=ROOM, after=2**64), "h", id="after-2**64"),
    pytest.param(frame(type="read", id="r", room=ROOM, seq=2**63), "r", id="read-seq-2**63"),
    pytest.param(frame(type="sync", id="s", since={ROOM: 10**30}), "s", id="since-10**30"),
    pytest.param(send(client_msg_id="c" * (MAX_CLIENT_MSG_ID + 1)), "bad-send", id="cmid-long"),
    pytest.param(send(client_msg_id=""), "bad-send", id="client-msg-id-empty"),
    # bad names
    pytest.param(frame(type="create", id="c", name=TOO_LONG_ROOM), "c", id="create-long-name"),
    pytest.param(frame(type="create", id="c", name="two words"), "c", id="create-space"),
    pytest.param(frame(type="create", id="c", name="-dash"), "c", id="create-leading-dash"),
    pytest.param(frame(type="create", id="c", name=""), "c", id="create-empty-name"),
    pytest.param(frame(type="join", id="j", room=TOO_LONG_ROOM), "j", id="join-long-name"),
    pytest.param(frame(type="history", id="h", room=TOO_LONG_ROOM), "h", id="history-long"),
    pytest.param(send(room=TOO_LONG_ROOM), "bad-send", id="send-long-room-name"),
    pytest.param(send(room="team/../lobby"), "bad-send", id="send-room-with-slash"),
    pytest.param(frame(type="dm", id="d", user=TOO_LONG_USER), "d", id="dm-long-user"),
    pytest.param(frame(type="dm", id="d", user="bob smith"), "d", id="dm-user-with-space"),
    pytest.param(
        frame(type="invite", id="i", room=ROOM, user=TOO_LONG_USER), "i", id="invite-long-user"
    ),
    pytest.param(frame(type="sync", id="s", since={TOO_LONG_ROOM: 0}), "s", id="sync-long-room"),
    # edit, delete and role
    pytest.param(frame(type="edit", id="e", room=ROOM, body="x"), "e", id="edit-without-seq"),
    pytest.param(frame(type="edit", id="e", room=ROOM, seq=2), "e", id="edit-without-body"),
    pytest.param(frame(type="edit", id="e", room=ROOM, seq=2, body=""), "e", id="edit-empty"),
    pytest.param(
        frame(type="edit", id="e", room=ROOM, seq=2, body="x" * (MAX_BODY_CHARS + 1)),
        "e",
        id="edit-body-over-max",
    ),
    pytest.param(frame(type="edit", id="e", room=ROOM, seq="2", body="x"), "e", id="edit-seq-str"),
    pytest.param(frame(type="edit", id="e", seq=2, body="x"), "e", id="edit-without-room"),
    pytest.param(frame(type="delete", id="d", room=ROOM), "d", id="delete-without-seq"),
    pytest.param(frame(type="delete", id="d", room=ROOM, seq=-2), "d", id="delete-seq-negative"),
    pytest.param(frame(type="delete", id="d", room=ROOM, seq=2**63), "d", id="delete-seq-2**63"),
    pytest.param(
        frame(type="role", id="r", room=ROOM, user="bob", role="owner"), "r", id="role-owner"
    ),
    pytest.param(frame(type="role", id="r", room=ROOM, user="bob"), "r", id="role-without-role"),
    pytest.param(frame(type="role", id="r", room=ROOM, role="admin"), "r", id="role-without-user"),
    pytest.param(
        frame(type="role", id="r", room=ROOM, user=TOO_LONG_USER, role="admin"),
        "r",
        id="role-long-user",
    ),
    # a second auth on an authenticated connection
    pytest.param(frame(type="auth", id="a", token="whatever"), "a", id="auth-again"),
]


async def snapshot(client: Client) -> dict[str, Any]:
    """Everything a bad request could have changed, as this user sees it."""
    rooms = await client.ok("rooms")
    directory = await client.ok("directory")
    team = await client.ok("history", room=ROOM, limit=MAX_HISTORY_LIMIT)
    lobby = await client.ok("history", room="lobby", limit=MAX_HISTORY_LIMIT)
    return {
        "rooms": rooms["rooms"],
        "directory": directory["rooms"],
        "team": team["events"],
        "lobby": lobby["events"],
    }


async def assert_healthy(http: aiohttp.ClientSession, server: RunningServer) -> None:
    async with http.get(f"{server.url}/healthz") as response:
        assert response.status == 200
        assert (await response.json())["status"] == "ok"


@pytest.mark.parametrize(("data", "re"), BAD_FRAMES)
async def test_bad_request_changes_nothing_and_keeps_the_connection(
    server: RunningServer, http: aiohttp.ClientSession, data: str, re: str | int | None
) -> None:
    token = await register(http, server.url, "alice")
    await register(http, server.url, "bob")
    async with Client.connect(http, server.url, token, sync={}) as alice:
        await alice.ok("create", name=ROOM, private=False)
        await alice.send(ROOM, "before")
        before = await snapshot(alice)
        events_before = list(alice.events)

        await alice.ws.send_str(data)
        error = await alice.next_frame()
        assert error["type"] == "error", error
        assert error["code"] == "bad_request", error
        assert isinstance(error["message"], str) and error["message"], error
        assert error.get("re") == re, error
        assert set(error) <= {"type", "re", "code", "message"}, error

        assert (await alice.ok("ping"))["type"] == "pong"
        assert alice.frames.empty(), "more than one reply to one bad frame"
        assert await snapshot(alice) == before
        assert alice.events == events_before
    await assert_healthy(http, server)


@pytest.mark.parametrize("rid", [0, -7, 2**53, "", "ü-ñ 🙂", 1.5, -0.25, 1e3])
async def test_any_json_string_or_number_is_an_id(
    server: RunningServer, http: aiohttp.ClientSession, rid: Any
) -> None:
    token = await register(http, server.url, "alice")
    async with Client.connect(http, server.url, token) as alice:
        await alice.ws.send_str(json.dumps({"type": "ping", "id": rid}))
        reply = await alice.next_frame()
        assert reply == {"type": "pong", "re": rid}


async def test_binary_frame_gets_bad_request(
    server: RunningServer, http: aiohttp.ClientSession
) -> None:
    token = await register(http, server.url, "alice")
    async with Client.connect(http, server.url, token) as alice:
        await alice.ws.send_bytes(frame(type="ping", id="b").encode())
        error = await alice.next_frame("error")
        assert error["code"] == "bad_request"
        assert (await alice.ok("ping"))["type"] == "pong"


async def test_body_at_the_limit_is_stored(
    server: RunningServer, http: aiohttp.ClientSession
) -> None:
    """The control for ``body-over-max``: the bound is on characters, and it is inclusive."""
    token = await register(http, server.url, "alice")
    async with Client.connect(http, server.url, token, sync={}) as alice:
        await alice.ok("create", name=ROOM, private=False)
        body = "é" * MAX_BODY_CHARS
        sent = await alice.send(ROOM, body)
        page = await alice.ok("history", room=ROOM)
        assert page["events"][-1]["body"] == body
        assert page["events"][-1]["seq"] == sent["seq"]


# --- frames that close the connection ---------------------------------------------------------


def padded(size: int, **fields: Any) -> bytes:
    """A JSON request of exactly ``size`` bytes (the padding is a field the server ignores)."""
    head = json.dumps({**fields, "pad": ""}).encode()
    data = head[:-2] + b"x" * (size - len(head)) + head[-2:]
    assert len(data) == size
    return data


async def test_frame_above_the_bound_closes_with_1009(
    server: RunningServer, http: aiohttp.ClientSession
) -> None:
    token = await register(http, server.url, "alice")
    limit = server.config.max_frame_bytes
    async with Client.connect(http, server.url, token, sync={}) as alice:
        await alice.ok("create", name=ROOM, private=False)
        big = padded(limit + 1, type="send", room=ROOM, client_msg_id="big", body="too big")
        await alice.ws.send_str(big.decode())
        await alice.wait_for(lambda c: c.close_code is not None)
        assert alice.close_code == 1009
        assert not [e for e in alice.events if e.get("client_msg_id") == "big"]
    async with Client.connect(http, server.url, token) as alice:
        page = await alice.ok("history", room=ROOM)
        assert [e for e in page["events"] if e["type"] == "message"] == []
    await assert_healthy(http, server)


async def test_frame_at_the_bound_is_accepted(
    server: RunningServer, http: aiohttp.ClientSession
) -> None:
    """Only frames *above* the configured size are refused."""
    token = await register(http, server.url, "alice")
    limit = server.config.max_frame_bytes
    ws = await RawWebSocket.connect(server.url, token=token)
    try:
        assert (await ws.read_json())["type"] == "ready"
        await ws.send_text(padded(limit, type="ping", id="at-limit"))
        reply = await ws.read_frame()
        assert reply.close_code is None, f"closed with {reply.close_code}"
        assert reply.json() == {"type": "pong", "re": "at-limit"}
    finally:
        await ws.close()


async def test_message_fragmented_above_the_bound_closes_with_1009(
    server: RunningServer, http: aiohttp.ClientSession
) -> None:
    """Small frames do not get a big message past the bound."""
    token = await register(http, server.url, "alice")
    half = server.config.max_frame_bytes // 2 + 1
    ws = await RawWebSocket.connect(server.url, token=token)
    try:
        assert (await ws.read_json())["type"] == "ready"
        await ws.send_frame(OP_TEXT, b'{"type": "ping", "pad": "' + b"x" * half, fin=False)
        await ws.send_frame(OP_CONTINUATION, b"x" * half + b'"}', fin=True)
        _, close = await ws.read_until_close()
        assert close.close_code == 1009
    finally:
        await ws.close()
    await assert_healthy(http, server)


INVALID_UTF8 = [
    pytest.param(b"\xff\xfe", id="never-valid-bytes"),
    pytest.param(b"\x80", id="lone-continuation"),
    pytest.param(b"\xc0\xaf", id="overlong-slash"),
    pytest.param(b"\xed\xa0\x80", id="encoded-surrogate"),
    pytest.param(b"\xf4\x90\x80\x80", id="above-u10ffff"),
    pytest.param(b"\xe2\x82", id="truncated-sequence"),
]


@pytest.mark.parametrize("bad", INVALID_UTF8)
async def test_text_frame_that_is_not_utf8_closes_with_1007(
    server: RunningServer, http: aiohttp.ClientSession, bad: bytes
) -> None:
    token = await register(http, server.url, "alice")
    async with Client.connect(http, server.url, token) as alice:
        await alice.ok("create", name=ROOM, private=False)
    ws = await RawWebSocket.connect(server.url, token=token)
    try:
        assert (await ws.read_json())["type"] == "ready"
        request = b'{"type": "send", "id": "u", "room": "team", "client_msg_id": "u8", "body": "'
        await ws.send_text(request + b"caf" + bad + b'"}')
        frames, close = await ws.read_until_close()
        assert close.close_code == 1007
        assert [f.json() for f in frames] == []
    finally:
        await ws.close()
    async with Client.connect(http, server.url, token) as alice:
        page = await alice.ok("history", room=ROOM)
        assert [e for e in page["events"] if e["type"] == "message"] == []
    await assert_healthy(http, server)


# --- authentication --------------------------------------------------------------------------


async def until_close(ws: aiohttp.ClientWebSocketResponse) -> tuple[list[Any], int | None]:
    """The text frames a connection receives before it is closed, and the close code."""

    async def read() -> list[Any]:
        return [json.loads(m.data) async for m in ws if m.type == aiohttp.WSMsgType.TEXT]

    frames = await asyncio.wait_for(read(), 10)
    return frames, ws.close_code


async def json_ws(
    http: aiohttp.ClientSession, server: RunningServer, headers: dict[str, str] | None = None
) -> aiohttp.ClientWebSocketResponse:
    return await http.ws_connect(server.ws_url, protocols=("hubbub.v1",), headers=headers or {})


def assert_unauthenticated(frames: list[Any], code: int | None) -> None:
    assert len(frames) == 1, frames
    assert frames[0]["type"] == "error", frames
    assert frames[0]["code"] == "unauthenticated", frames
    assert code == 4401


FIRST_FRAMES = [
    pytest.param(frame(type="ping", id="p"), id="ping"),
    pytest.param(
        frame(type="send", id="s", room="lobby", client_msg_id="anon", body="anyone?"), id="send"
    ),
    pytest.param(frame(type="sync", id="s", since={}), id="sync"),
    pytest.param('{"type": "auth", "token": ', id="malformed-json"),
    pytest.param(frame(type="auth", id="a"), id="auth-without-token"),
    pytest.param(frame(type="auth", id="a", token=""), id="auth-empty-token"),
    pytest.param(frame(type="auth", id="a", token=12345), id="auth-token-not-a-string"),
    pytest.param('{"type": "auth", "token": "t", "pad": ' + DEEP + "}", id="deeply-nested"),
]


@pytest.mark.parametrize("first", FIRST_FRAMES)
async def test_without_credentials_anything_but_auth_is_refused(
    server: RunningServer, http: aiohttp.ClientSession, first: str
) -> None:
    token = await register(http, server.url, "alice")
    ws = await json_ws(http, server)
    await ws.send_str(first)
    assert_unauthenticated(*await until_close(ws))
    async with Client.connect(http, server.url, token) as alice:
        lobby = await alice.ok("history", room="lobby")
        assert lobby["events"] == []
    await assert_healthy(http, server)


async def test_binary_first_frame_is_refused(
    server: RunningServer, http: aiohttp.ClientSession
) -> None:
    token = await register(http, server.url, "alice")
    ws = await json_ws(http, server)
    await ws.send_bytes(frame(type="auth", token=token).encode())
    assert_unauthenticated(*await until_close(ws))


async def test_bad_bearer_token_is_refused(
    server: RunningServer, http: aiohttp.ClientSession
) -> None:
    await register(http, server.url, "alice")
    ws = await json_ws(http, server, {"Authorization": "Bearer not-a-token"})
    assert_unauthenticated(*await until_close(ws))


async def test_revoked_token_is_refused(server: RunningServer, http: aiohttp.ClientSession) -> None:
    token = await register(http, server.url, "alice")
    out = await call_api(
        http,
        "POST",
        f"{server.url}/api/v1/logout",
        token,
        headers={"Content-Type": "application/json"},
    )
    assert out.status == 204
    ws = await json_ws(http, server, {"Authorization": f"Bearer {token}"})
    assert_unauthenticated(*await until_close(ws))
    ws = await json_ws(http, server)
    await ws.send_str(frame(type="auth", id="a", token=token))
    assert_unauthenticated(*await until_close(ws))


async def test_bad_token_in_auth_frame_is_refused(
    server: RunningServer, http: aiohttp.ClientSession
) -> None:
    token = await register(http, server.url, "alice")
    ws = await json_ws(http, server)
    await ws.send_str(frame(type="auth", id="a", token=token[::-1]))
    assert_unauthenticated(*await until_close(ws))


@pytest.mark.parametrize("rid", ["auth-1", 7])
async def test_good_token_in_auth_frame_gets_ready(
    server: RunningServer, http: aiohttp.ClientSession, rid: str | int
) -> None:
    token = await register(http, server.url, "alice")
    ws = await json_ws(http, server)
    try:
        await ws.send_str(frame(type="auth", id=rid, token=token))
        ready = await ws.receive_json(timeout=10)
        assert ready == {"type": "ready", "re": rid, "user": "alice"}
        await ws.send_str(frame(type="ping", id="p"))
        assert await ws.receive_json(timeout=10) == {"type": "pong", "re": "p"}
    finally:
        await ws.close()


async def login(http: aiohttp.ClientSession, url: str, username: str, password: str) -> ApiReply:
    return await call_api(
        http, "POST", f"{url}/api/v1/login", json={"username": username, "password": password}
    )


async def test_wrong_password_and_unknown_user_look_alike_and_are_throttled(
    server: RunningServer, http: aiohttp.ClientSession
) -> None:
    await register(http, server.url, "alice")
    await register(http, server.url, "bob")
    wrong = "not the password"
    known = await login(http, server.url, "alice", wrong)
    unknown = await login(http, server.url, "nobody", wrong)
    for reply in (known, unknown):
        assert reply.status == 401
        assert reply.content_type == "application/json"
        assert reply.body["code"] == "unauthenticated"
        assert "Set-Cookie" not in reply.headers
    assert known.body == unknown.body

    statuses: dict[str, list[int]] = {}
    last: dict[str, ApiReply] = {}
    for name in ("alice", "nobody"):
        statuses[name] = []
        for _ in range(40):
            reply = await login(http, server.url, name, wrong)
            statuses[name].append(reply.status)
            last[name] = reply
            if reply.status != 401:
                break
    assert statuses["alice"] == statuses["nobody"]
    assert statuses["alice"][-1] == 429, statuses
    assert set(statuses["alice"][:-1]) <= {401}
    for reply in last.values():
        assert reply.body["code"] == "rate_limited"
        assert set(reply.body) == {"code", "message", "retry_after"}
        assert reply.body["retry_after"] > 0
        assert int(reply.headers["Retry-After"]) >= 1
    assert last["alice"].body.keys() == last["nobody"].body.keys()

    # The throttled account stays throttled, even for the right password; others do not.
    locked = await login(http, server.url, "alice", PASSWORD)
    assert locked.status == 429 and locked.body["code"] == "rate_limited"
    assert "Set-Cookie" not in locked.headers
    fine = await login(http, server.url, "bob", PASSWORD)
    assert fine.status == 200, fine.body
    await assert_healthy(http, server)


async def test_register_validation_and_conflict(
    server: RunningServer, http: aiohttp.ClientSession
) -> None:
    url = f"{server.url}/api/v1/register"
    await register(http, server.url, "alice")
    for name in ("alice", "ALICE"):
        taken = await call_api(http, "POST", url, json={"username": name, "password": PASSWORD})
        assert taken.status == 409, taken.body
        assert taken.body["code"] == "conflict"
        assert set(taken.body) == {"code", "message"}
        assert "Set-Cookie" not in taken.headers
    for body in (
        {"username": TOO_LONG_USER, "password": PASSWORD},
        {"username": "bad name", "password": PASSWORD},
        {"username": "carol", "password": "short"},
        {"username": "carol"},
        {"username": "carol", "password": PASSWORD, "admin": True},
    ):
        refused = await call_api(http, "POST", url, json=body)
        assert refused.status == 400, (body, refused.body)
        assert refused.body["code"] == "bad_request"
        assert set(refused.body) == {"code", "message"}
    # None of the refused sign-ups made an account.
    for name in (TOO_LONG_USER[:32], "carol"):
        attempt = await login(http, server.url, name, PASSWORD)
        assert attempt.status == 401, attempt.body


# --- cross-site WebSocket hijacking -----------------------------------------------------------


async def register_with_cookie(http: aiohttp.ClientSession, url: str, name: str) -> str:
    """A new account's session cookie, as a ``Cookie`` header value."""
    async with http.post(
        f"{url}/api/v1/register", json={"username": name, "password": PASSWORD}
    ) as response:
        assert response.status == 201
        token = (await response.json())["token"]
        cookies = list(response.cookies.values())
    assert len(cookies) == 1, cookies
    morsel = cookies[0]
    assert morsel.value == token
    assert morsel["httponly"]
    assert morsel["samesite"].lower() == "strict"
    return f"{morsel.key}={morsel.value}"


async def handshake(
    server: RunningServer, protocol: str | None, **headers: str
) -> tuple[RawWebSocket | None, HandshakeRefused | None]:
    try:
        return await RawWebSocket.connect(server.url, protocol=protocol, headers=headers), None
    except HandshakeRefused as refused:
        return None, refused


@pytest.mark.parametrize("origin", ["https://evil.example", "null", "http://127.0.0.1:1"])
async def test_cookie_handshake_from_a_foreign_origin_is_refused(
    server: RunningServer, http: aiohttp.ClientSession, origin: str
) -> None:
    cookie = await register_with_cookie(http, server.url, "alice")
    ws, refused = await handshake(server, "hubbub.v1", Cookie=cookie, Origin=origin)
    if ws is not None:
        await ws.close()
    assert refused is not None, "a cross-site page got a WebSocket authenticated by the cookie"
    assert refused.status == 403
    assert json.loads(refused.body)["code"] == "forbidden"
    await assert_healthy(http, server)


async def test_cookie_handshake_from_our_own_origin_works(
    server: RunningServer, http: aiohttp.ClientSession
) -> None:
    cookie = await register_with_cookie(http, server.url, "alice")
    ws, refused = await handshake(server, "hubbub.v1", Cookie=cookie, Origin=server.url)
    assert refused is None, refused
    assert ws is not None
    try:
        assert await ws.read_json() == {"type": "ready", "user": "alice"}
    finally:
        await ws.close()


async def test_cookie_handshake_from_a_configured_origin_works(
    tmp_path: Path, http: aiohttp.ClientSession
) -> None:
    config = config_for(tmp_path / "other", allowed_origins=("https://chat.example",))
    async with running_server(config) as server:
        cookie = await register_with_cookie(http, server.url, "alice")
        ws, refused = await handshake(
            server, "hubbub.v1", Cookie=cookie, Origin="https://chat.example"
        )
        assert refused is None, refused
        assert ws is not None
        try:
            assert (await ws.read_json())["type"] == "ready"
        finally:
            await ws.close()
        ws, refused = await handshake(
            server, "hubbub.v1", Cookie=cookie, Origin="https://evil.example"
        )
        if ws is not None:
            await ws.close()
        assert refused is not None and refused.status == 403


async def test_bearer_handshake_is_not_bound_to_an_origin(
    server: RunningServer, http: aiohttp.ClientSession
) -> None:
    """Only an ambient credential (the cookie) can be abused cross-site."""
    token = await register(http, server.url, "alice")
    ws, refused = await handshake(
        server, "hubbub.v1", Authorization=f"Bearer {token}", Origin="https://elsewhere.example"
    )
    assert refused is None, refused
    assert ws is not None
    try:
        assert (await ws.read_json())["type"] == "ready"
    finally:
        await ws.close()


@pytest.mark.parametrize(
    "headers",
    [
        pytest.param({"Origin": "null"}, id="local-file"),
        pytest.param({"Origin": "https://evil.example", "Cookie": "COOKIE"}, id="foreign-cookie"),
    ],
)
async def test_plain_text_guests_connect_from_any_origin(
    server: RunningServer, http: aiohttp.ClientSession, headers: dict[str, str]
) -> None:
    token = await register(http, server.url, "alice")
    if "Cookie" in headers:
        headers = headers | {"Cookie": await register_with_cookie(http, server.url, "bob")}
    ws, refused = await handshake(server, None, **headers)
    assert refused is None, refused
    assert ws is not None
    try:
        await ws.send_text("start_tester")
        await ws.send_text("hello from a file")
        echoed = await ws.read_frame()
        assert echoed.opcode == OP_TEXT
        assert echoed.payload == b"hello from a file"
    finally:
        await ws.close()
    async with Client.connect(http, server.url, token) as alice:
        page = await alice.ok("history", room="lobby")
        messages = [(e["user"], e["body"]) for e in page["events"] if e["type"] == "message"]
        assert messages == [("guest:tester", "hello from a file")]


# --- the HTTP API's errors ------------------------------------------------------------------


def assert_error(reply: ApiReply, status: int, code: str) -> None:
    assert reply.status == status, (reply.status, reply.body)
    assert reply.content_type == "application/json"
    assert isinstance(reply.body, dict), reply.body
    assert set(reply.body) == {"code", "message"}, reply.body
    assert reply.body["code"] == code, reply.body
    assert isinstance(reply.body["message"], str) and reply.body["message"]


async def test_http_api_errors_are_json_with_the_right_status(
    server: RunningServer, http: aiohttp.ClientSession
) -> None:
    token = await register(http, server.url, "alice")
    api = f"{server.url}/api/v1"
    messages = f"{api}/rooms/{ROOM}/messages"
    created = await call_api(http, "POST", f"{api}/rooms", token, json={"name": ROOM})
    assert created.status == 201
    posted = await call_api(
        http, "POST", messages, token, json={"client_msg_id": "ok-1", "body": "kept"}
    )
    assert posted.status == 201
    as_json = {"Content-Type": "application/json"}

    bad_bodies: list[Any] = [
        b'{"client_msg_id": "x", "body": ',
        b"",
        b"[]",
        b'"hello"',
        {"client_msg_id": "x", "body": 5},
        {"client_msg_id": "x"},
        {"body": "no id"},
        {"client_msg_id": "x", "body": "y", "extra": 1},
        {"client_msg_id": "x", "body": "x" * (MAX_BODY_CHARS + 1)},
        {"client_msg_id": "x", "body": ""},
        {"client_msg_id": "c" * (MAX_CLIENT_MSG_ID + 1), "body": "y"},
    ]
    for body in bad_bodies:
        if isinstance(body, bytes):
            reply = await call_api(http, "POST", messages, token, data=body, headers=as_json)
        else:
            reply = await call_api(http, "POST", messages, token, json=body)
        assert_error(reply, 400, "bad_request")

    for params in (
        {"limit": "0"},
        {"limit": str(MAX_HISTORY_LIMIT + 1)},
        {"limit": "ten"},
        {"before": "-1"},
        {"before": "5", "after": "1"},
        {"sort": "desc"},
    ):
        assert_error(
            await call_api(http, "GET", messages, token, params=params), 400, "bad_request"
        )
    for name in (TOO_LONG_ROOM, "two words", ""):
        reply = await call_api(http, "POST", f"{api}/rooms", token, json={"name": name})
        assert_error(reply, 400, "bad_request")
    for user in (TOO_LONG_USER, "bob smith"):
        reply = await call_api(http, "POST", f"{api}/dm", token, json={"user": user})
        assert_error(reply, 400, "bad_request")
    reply = await call_api(http, "POST", f"{api}/rooms/{ROOM}/read", token, json={"seq": -1})
    assert_error(reply, 400, "bad_request")

    assert_error(await call_api(http, "GET", f"{api}/me"), 401, "unauthenticated")
    assert_error(await call_api(http, "GET", f"{api}/me", "not-a-token"), 401, "unauthenticated")
    reply = await call_api(http, "POST", messages, json={"client_msg_id": "y", "body": "anon"})
    assert_error(reply, 401, "unauthenticated")

    assert_error(await call_api(http, "GET", f"{api}/rooms/ghost/members", token), 404, "not_found")
    reply = await call_api(
        http, "POST", f"{api}/rooms/ghost/messages", token, json={"client_msg_id": "g", "body": "?"}
    )
    assert_error(reply, 404, "not_found")
    reply = await call_api(http, "POST", f"{api}/dm", token, json={"user": "nobody"})
    assert_error(reply, 404, "not_found")
    assert_error(await call_api(http, "GET", f"{api}/no-such-endpoint", token), 404, "not_found")

    reply = await call_api(http, "POST", f"{api}/rooms", token, json={"name": ROOM.upper()})
    assert_error(reply, 409, "conflict")

    huge = {"client_msg_id": "huge", "body": "x" * (server.config.max_frame_bytes + 1)}
    reply = await call_api(http, "POST", messages, token, json=huge)
    assert_error(reply, 413, "too_large")

    # Nothing of the above was stored, and the server still answers.
    page = await call_api(http, "GET", messages, token)
    assert page.status == 200
    bodies = [e["body"] for e in page.body["events"] if e["type"] == "message"]
    assert bodies == ["kept"]
    mine = await call_api(http, "GET", f"{api}/rooms", token)
    assert [r["name"] for r in mine.body["rooms"]] == [ROOM]
    await assert_healthy(http, server)


async def test_a_long_url_gets_the_apis_json_errors(
    server: RunningServer, http: aiohttp.ClientSession
) -> None:
    """A URL over aiohttp's 8190-byte line bound but within the head's 16 KiB reaches the API
    (it answered in plain text before); a longer one gets the front door's JSON 431."""
    token = await register(http, server.url, "alice")
    search = f"{server.url}/api/v1/search"
    reply = await call_api(http, "GET", search, token, params={"query": "q" * 10_000})
    assert_error(reply, 400, "bad_request")
    assert "100" in reply.body["message"]  # the query's bound, as the API words it
    reply = await call_api(http, "GET", search, token, params={"query": "q" * (MAX_HEAD + 1)})
    assert_error(reply, 431, "too_large")
    await assert_healthy(http, server)


async def test_server_survives_a_barrage_of_bad_input(
    server: RunningServer, http: aiohttp.ClientSession
) -> None:
    """Everything above at once, on one server: it still serves a normal client afterwards."""
    token = await register(http, server.url, "alice")
    async with Client.connect(http, server.url, token, sync={}) as alice:
        await alice.ok("create", name=ROOM, private=False)
        for param in BAD_FRAMES:
            data = param.values[0]
            assert isinstance(data, str)
            await alice.ws.send_str(data)
        replies = [await alice.next_frame() for _ in BAD_FRAMES]
        assert {r["type"] for r in replies} == {"error"}
        assert (await alice.ok("ping"))["type"] == "pong"

    closers: list[bytes] = [
        padded(server.config.max_frame_bytes + 1, type="ping"),
        b'{"type": "ping", "id": "\xff"}',
    ]
    for data in closers:
        ws = await RawWebSocket.connect(server.url, token=token)
        await ws.read_json()
        await ws.send_text(data)
        _, close = await ws.read_until_close()
        assert close.close_code is not None
        await ws.close()
    for first in FIRST_FRAMES:  # (the exact close codes are checked one by one above)
        ws_plain = await json_ws(http, server)
        first_frame = first.values[0]
        assert isinstance(first_frame, str)
        await ws_plain.send_str(first_frame)
        _, code = await until_close(ws_plain)
        assert code is not None

    async with Client.connect(http, server.url, token, sync={}) as alice:
        sent = await alice.send(ROOM, "still here")
        page = await alice.ok("history", room=ROOM)
        assert [e["body"] for e in page["events"] if e["type"] == "message"] == ["still here"]
        assert page["events"][-1]["seq"] == sent["seq"]
    await assert_healthy(http, server)


# --- edges: huge seqs, bytes that are not UTF-8 in credentials, blank bodies -----------------

MAX_SEQ = 2**63 - 1  # SQLite's largest integer


async def test_seqs_past_sqlites_integers_are_bad_requests_over_http(
    server: RunningServer, http: aiohttp.ClientSession, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, "hubbub")
    token = await register(http, server.url, "alice")
    api = f"{server.url}/api/v1"
    assert (await call_api(http, "POST", f"{api}/rooms", token, json={"name": ROOM})).status == 201
    messages, read = f"{api}/rooms/{ROOM}/messages", f"{api}/rooms/{ROOM}/read"
    for query in ({"before": str(2**63)}, {"after": "99999999999999999999999"}):
        assert_error(await call_api(http, "GET", messages, token, params=query), 400, "bad_request")
    assert_error(await call_api(http, "POST", read, token, json={"seq": 2**63}), 400, "bad_request")
    # The largest seq there can be is still a valid cursor and marker.
    page = await call_api(http, "GET", messages, token, params={"before": str(MAX_SEQ)})
    assert page.status == 200 and [e["seq"] for e in page.body["events"]] == [1]
    marker = await call_api(http, "POST", read, token, json={"seq": MAX_SEQ})
    assert marker.body == {"room": ROOM, "read_seq": 1}
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info]


async def test_the_largest_seq_is_valid_over_the_websocket(
    server: RunningServer, http: aiohttp.ClientSession
) -> None:
    """The control for the seqs refused above: 2**63 - 1 itself passes validation."""
    token = await register(http, server.url, "alice")
    async with Client.connect(http, server.url, token) as alice:
        await alice.ok("create", name=ROOM, private=False)
        page = await alice.ok("history", room=ROOM, before=MAX_SEQ)
        assert [e["seq"] for e in page["events"]] == [1]
        await alice.ok("read", room=ROOM, seq=MAX_SEQ)
        synced = await alice.ok("sync", since={ROOM: MAX_SEQ})
        assert synced["rooms"][ROOM] == {"last_seq": 1, "complete": False}


async def raw_http(server: RunningServer, head: bytes) -> tuple[int, bytes]:
    """One request written byte for byte; the status and the body of the answer."""
    port = int(server.url.rsplit(":", 1)[1])
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(head)
        answer = await asyncio.wait_for(reader.read(), 10)
    finally:
        writer.close()
    status_line, _, rest = answer.partition(b"\r\n")
    return int(status_line.split()[1]), rest.partition(b"\r\n\r\n")[2]


@pytest.mark.parametrize(
    "credential",
    [b"Authorization: Bearer \xff\xfe\x80", b"Cookie: hubbub_session=\xff\xfe\x80"],
    ids=["bearer", "cookie"],
)
async def test_credentials_that_are_not_utf8_get_401_over_http(
    server: RunningServer, caplog: pytest.LogCaptureFixture, credential: bytes
) -> None:
    caplog.set_level(logging.INFO, "hubbub")
    for method, path in ((b"GET", b"/api/v1/me"), (b"POST", b"/api/v1/rooms/lobby/join")):
        head = method + b" " + path + b" HTTP/1.1\r\nHost: x\r\n" + credential + b"\r\n\r\n"
        status, body = await raw_http(server, head)
        assert status == 401, body
        assert json.loads(body)["code"] == "unauthenticated"
    logout = (
        b"POST /api/v1/logout HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        b"Content-Length: 0\r\n" + credential + b"\r\n\r\n"
    )
    assert (await raw_http(server, logout))[0] == 204  # nothing to revoke
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info]


async def test_a_bearer_token_that_is_not_utf8_closes_the_websocket_with_4401(
    server: RunningServer,
) -> None:
    port = int(server.url.rsplit(":", 1)[1])
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(
            b"GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
            b"Sec-WebSocket-Protocol: hubbub.v1\r\nAuthorization: Bearer \xff\xfe\x80\r\n\r\n"
        )
        await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)
        ws = RawWebSocket(reader, writer, 101)
        frames, close = await ws.read_until_close()
        assert [f.json()["code"] for f in frames] == ["unauthenticated"]
        assert close.close_code == 4401
    finally:
        writer.close()


async def test_a_body_of_only_whitespace_is_refused_over_http(
    server: RunningServer, http: aiohttp.ClientSession
) -> None:
    token = await register(http, server.url, "alice")
    api = f"{server.url}/api/v1"
    await call_api(http, "POST", f"{api}/rooms/lobby/join", token)
    for body in (" ", "\n\n", "\t \u3000", "nul \x00 inside"):
        reply = await call_api(
            http,
            "POST",
            f"{api}/rooms/lobby/messages",
            token,
            json={"client_msg_id": uuid.uuid4().hex, "body": body},
        )
        assert_error(reply, 400, "bad_request")
    page = await call_api(http, "GET", f"{api}/rooms/lobby/messages", token)
    assert [e for e in page.body["events"] if e["type"] == "message"] == []


async def test_bad_edits_deletes_and_roles_over_http_are_bad_requests(
    server: RunningServer, http: aiohttp.ClientSession
) -> None:
    token = await register(http, server.url, "alice")
    await register(http, server.url, "bob")
    api = f"{server.url}/api/v1/rooms/{ROOM}"
    assert (
        await call_api(http, "POST", f"{server.url}/api/v1/rooms", token, json={"name": ROOM})
    ).status == 201
    posted = await call_api(
        http, "POST", f"{api}/messages", token, json={"client_msg_id": "k", "body": "kept"}
    )
    assert posted.status == 201
    seq = posted.body["seq"]
    for path, body in (
        (f"messages/{seq}", {}),
        (f"messages/{seq}", {"body": ""}),
        (f"messages/{seq}", {"body": "x" * (MAX_BODY_CHARS + 1)}),
        (f"messages/{seq}", {"body": "y", "extra": 1}),
        ("messages/two", {"body": "y"}),
        ("messages/-1", {"body": "y"}),
        (f"messages/{2**63}", {"body": "y"}),
    ):
        assert_error(
            await call_api(http, "PATCH", f"{api}/{path}", token, json=body), 400, "bad_request"
        )
    for path in ("messages/two", "messages/-1", f"messages/{2**63}"):
        assert_error(await call_api(http, "DELETE", f"{api}/{path}", token), 400, "bad_request")
    for path, body in (
        ("roles/bob", {"role": "owner"}),
        ("roles/bob", {}),
        ("roles/bob%20smith", {"role": "admin"}),
        (f"roles/{TOO_LONG_USER}", {"role": "admin"}),
    ):
        assert_error(
            await call_api(http, "PUT", f"{api}/{path}", token, json=body), 400, "bad_request"
        )
    page = await call_api(http, "GET", f"{api}/messages", token)
    assert [e["type"] for e in page.body["events"]] == ["member_joined", "message"]
    assert page.body["events"][1]["body"] == "kept" and "edited_at" not in page.body["events"][1]
    await assert_healthy(http, server)
