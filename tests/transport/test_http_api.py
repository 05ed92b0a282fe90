"""The HTTP API over real HTTP on 127.0.0.1: accounts, rooms, history, posting, the OpenAPI
document, and the plain endpoints (page, health, metrics)."""

from __future__ import annotations

import json
import re
import uuid
from http.cookies import SimpleCookie
from typing import Any

import aiohttp
import pytest
from prometheus_client.parser import text_string_to_metric_families
from support import PASSWORD, Client, RunningServer, register

from hubbub.protocol import limits
from hubbub.transport.http_api import ENDPOINTS
from hubbub.transport.openapi import build_openapi

API = "/api/v1"
ALICE_ADMIN = {"username": "alice", "admin": True}  # the first account is the server's admin
JSON = {"Content-Type": "application/json"}  # register, login and logout take nothing else


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def call(
    http: aiohttp.ClientSession,
    method: str,
    url: str,
    token: str | None = None,
    headers: dict[str, str] | None = None,
    **kwargs: Any,
) -> tuple[int, Any]:
    """``(status, body)``: JSON decoded when the answer is JSON, else the text."""
    all_headers = (bearer(token) if token else {}) | (headers or {})
    async with http.request(method, url, headers=all_headers, **kwargs) as response:
        if response.content_type == "application/json":
            return response.status, await response.json()
        return response.status, await response.text()


class Api:
    """One signed-in user of a running server."""

    def __init__(self, http: aiohttp.ClientSession, server: RunningServer, token: str) -> None:
        self.http = http
        self.base = server.url + API
        self.token = token

    async def get(self, path: str, **kwargs: Any) -> tuple[int, Any]:
        return await call(self.http, "GET", self.base + path, self.token, **kwargs)

    async def post(self, path: str, body: Any = None, **kwargs: Any) -> tuple[int, Any]:
        if body is not None:
            kwargs["json"] = body
        return await call(self.http, "POST", self.base + path, self.token, **kwargs)

    async def ok(self, method: str, path: str, body: Any = None, status: int = 200) -> Any:
        if method == "GET":
            got, answer = await self.get(path)
        else:
            got, answer = await self.post(path, body)
        assert got == status, (method, path, got, answer)
        return answer


async def signed_in(http: aiohttp.ClientSession, server: RunningServer, *names: str) -> list[Api]:
    return [Api(http, server, await register(http, server.url, name)) for name in names]


def session_cookie(response: aiohttp.ClientResponse) -> Any:
    jar: SimpleCookie = SimpleCookie()
    for header in response.headers.getall("Set-Cookie", []):
        jar.load(header)
    assert "hubbub_session" in jar, response.headers
    return jar["hubbub_session"]


# --- accounts -------------------------------------------------------------------------------


async def test_register_login_me_and_logout(
    server: RunningServer, http: aiohttp.ClientSession
) -> None:
    url = server.url + API
    credentials = {"username": "Alice", "password": PASSWORD}
    async with http.post(url + "/register", json=credentials) as response:
        assert response.status == 201
        registered = await response.json()
        cookie = session_cookie(response)
    assert registered["user"] == {"username": "alice"}  # names are case-insensitive
    token = registered["token"]
    assert cookie.value == token
    assert cookie["httponly"] is True
    assert cookie["samesite"].lower() == "strict"
    assert cookie["path"] == "/"

    assert await call(http, "GET", url + "/me", token) == (200, ALICE_ADMIN)
    status, error = await call(http, "GET", url + "/me")
    assert status == 401 and error["code"] == "unauthenticated"
    status, error = await call(http, "GET", url + "/me", "not-a-token")
    assert status == 401 and error["code"] == "unauthenticated"

    status, error = await call(http, "POST", url + "/register", json=credentials)
    assert status == 409 and error["code"] == "conflict"
    wrong = {"username": "alice", "password": "not the password"}
    status, error = await call(http, "POST", url + "/login", json=wrong)
    assert status == 401 and error["code"] == "unauthenticated"

    async with http.post(url + "/login", json=credentials) as response:
        assert response.status == 200
        second = (await response.json())["token"]
        assert session_cookie(response).value == second
    assert second != token

    async with http.post(url + "/logout", headers=bearer(token) | JSON) as response:
        assert response.status == 204
        cleared = session_cookie(response)
        assert cleared.value == "" or cleared["max-age"] == "0"
    status, error = await call(http, "GET", url + "/me", token)
    assert status == 401 and error["code"] == "unauthenticated"
    # Only that session ended.
    assert await call(http, "GET", url + "/me", second) == (200, ALICE_ADMIN)


async def test_the_session_cookie_authenticates_same_origin_requests_only(
    server: RunningServer, http: aiohttp.ClientSession
) -> None:
    token = await register(http, server.url, "alice")
    url = server.url + API
    cookie = {"Cookie": f"hubbub_session={token}"}
    assert await call(http, "GET", url + "/me", headers=cookie) == (200, ALICE_ADMIN)

    own = {"Origin": server.url} | cookie
    status, room = await call(http, "POST", url + "/rooms", headers=own, json={"name": "mine"})
    assert status == 201 and room["name"] == "mine"
    foreign = {"Origin": "https://evil.example"} | cookie
    status, error = await call(
        http, "POST", url + "/rooms", headers=foreign, json={"name": "theirs"}
    )
    assert status == 403 and error["code"] == "forbidden"

    assert (await call(http, "POST", url + "/logout", headers=cookie | JSON))[0] == 204
    status, _ = await call(http, "GET", url + "/me", headers=cookie)
    assert status == 401


@pytest.mark.parametrize("path", ["/register", "/login", "/logout"])
async def test_signing_in_and_out_takes_same_origin_json_only(
    server: RunningServer, http: aiohttp.ClientSession, path: str
) -> None:
    """Against login CSRF: what a cross-site form can send is refused, and nothing is set."""
    token = await register(http, server.url, "alice")
    url = server.url + API + path
    credentials = json.dumps(
        {"username": "alice" if path != "/register" else "mallory", "password": PASSWORD}
    )
    cookie = {"Cookie": f"hubbub_session={token}"}
    for content_type in ("text/plain", "application/x-www-form-urlencoded", None):
        headers = cookie | ({"Content-Type": content_type} if content_type else {})
        async with http.post(url, data=credentials.encode(), headers=headers) as response:
            assert response.status == 415, (content_type, await response.text())
            body = await response.json()
            assert body["code"] == "bad_request" and set(body) == {"code", "message"}
            assert "Set-Cookie" not in response.headers
    foreign = cookie | JSON | {"Origin": "https://evil.example"}
    async with http.post(url, data=credentials.encode(), headers=foreign) as response:
        assert response.status == 403
        assert (await response.json())["code"] == "forbidden"
        assert "Set-Cookie" not in response.headers
    # None of that signed anyone in or out.
    status, _ = await call(
        http,
        "POST",
        server.url + API + "/login",
        json={"username": "mallory", "password": PASSWORD},
    )
    assert status == 401
    assert await call(http, "GET", server.url + API + "/me", token) == (200, ALICE_ADMIN)
    # The page's own origin is fine.
    own = cookie | JSON | {"Origin": server.url}
    async with http.post(url, data=credentials.encode(), headers=own) as response:
        assert response.status in (200, 201, 204), await response.text()


# --- rooms ----------------------------------------------------------------------------------


async def test_create_list_join_leave_and_directory(
    server: RunningServer, http: aiohttp.ClientSession
) -> None:
    alice, bob = await signed_in(http, server, "alice", "bob")
    room = await alice.ok("POST", "/rooms", {"name": "General"}, status=201)
    assert room == {
        "name": "general",
        "kind": "public",
        "last_seq": 1,
        "read_seq": 1,
        "unread": 0,
        "unread_mentions": 0,
        "role": "owner",
        "title": "",
        "topic": "",
        "retention_days": None,
    }
    status, error = await alice.post("/rooms", {"name": "general"})
    assert status == 409 and error["code"] == "conflict"
    for bad in ({"name": "no spaces"}, {"name": ""}, {"name": "x", "extra": 1}, {}):
        status, error = await alice.post("/rooms", bad)
        assert status == 400 and error["code"] == "bad_request", bad
    await alice.ok("POST", "/rooms", {"name": "hideout", "private": True}, status=201)

    mine = await alice.ok("GET", "/rooms")
    assert [(r["name"], r["kind"]) for r in mine["rooms"]] == [
        ("general", "public"),
        ("hideout", "private"),
    ]
    assert await bob.ok("GET", "/rooms") == {"rooms": []}
    directory = await bob.ok("GET", "/directory")
    assert {r["name"]: r["members"] for r in directory["rooms"]} == {"general": 1, "lobby": 0}

    joined = await bob.ok("POST", "/rooms/general/join")
    assert joined["name"] == "general" and joined["last_seq"] == 2 and joined["read_seq"] == 2
    assert joined["role"] == "member"
    assert (await bob.ok("POST", "/rooms/GENERAL/join"))["last_seq"] == 2  # already in
    assert await bob.ok("GET", "/rooms/general/members") == {
        "room": "general",
        "users": ["alice", "bob"],
        "profiles": [{"username": "alice", "admin": True}, {"username": "bob"}],
        "roles": {"alice": "owner"},
    }
    directory = await bob.ok("GET", "/directory")
    assert {r["name"]: r["members"] for r in directory["rooms"]}["general"] == 2

    status, error = await bob.post("/rooms/nowhere/join")
    assert status == 404 and error["code"] == "not_found"
    status, _ = await bob.post("/rooms/hideout/join")
    assert status == 404  # a private room looks like a missing one

    assert (await bob.post("/rooms/general/leave"))[0] == 204
    assert await alice.ok("GET", "/rooms/general/members") == {
        "room": "general",
        "users": ["alice"],
        "profiles": [{"username": "alice", "admin": True}],
        "roles": {"alice": "owner"},
    }
    # A public room's members are visible to anyone signed in, as its history is.
    status, members = await bob.get("/rooms/general/members")
    assert (status, members["users"]) == (200, ["alice"])
    history = await alice.ok("GET", "/rooms/general/messages")
    assert [(e["type"], e.get("user")) for e in history["events"]] == [
        ("member_joined", "alice"),
        ("member_joined", "bob"),
        ("member_left", "bob"),
    ]


async def test_private_rooms_invitations_and_members(
    server: RunningServer, http: aiohttp.ClientSession
) -> None:
    alice, bob, carol = await signed_in(http, server, "alice", "bob", "carol")
    await alice.ok("POST", "/rooms", {"name": "secret", "private": True}, status=201)
    for outsider in (bob, carol):
        for path in ("/rooms/secret/members", "/rooms/secret/messages"):
            status, error = await outsider.get(path)
            assert status == 404 and error["code"] == "not_found", path
        status, _ = await outsider.post(
            "/rooms/secret/messages", {"client_msg_id": "x", "body": "y"}
        )
        assert status == 404
        status, _ = await outsider.post("/rooms/secret/invite", {"user": "dave"})
        assert status == 404

    assert (await alice.post("/rooms/secret/invite", {"user": "Bob"}))[0] == 204
    status, error = await bob.get("/rooms/secret/members")  # pending: still outside
    assert status == 404 and error["code"] == "not_found"
    invitations = (await bob.ok("GET", "/invitations"))["invitations"]
    assert [(i["room"], i["by"], i["private"]) for i in invitations] == [("secret", "alice", True)]
    accepted = await bob.ok("POST", "/invitations/secret/accept")
    assert accepted["name"] == "secret" and accepted["kind"] == "private"
    assert await bob.ok("GET", "/rooms/secret/members") == {
        "room": "secret",
        "users": ["alice", "bob"],
        "profiles": [{"username": "alice", "admin": True}, {"username": "bob"}],
        "roles": {"alice": "owner"},
    }
    assert "secret" in [r["name"] for r in (await bob.ok("GET", "/rooms"))["rooms"]]
    # Now a member, bob may invite too; nobody can invite a user who does not exist.
    assert (await bob.post("/rooms/secret/invite", {"user": "carol"}))[0] == 204
    await carol.ok("POST", "/invitations/secret/accept")
    status, error = await bob.post("/rooms/secret/invite", {"user": "nobody"})
    assert status == 404 and error["code"] == "not_found"
    history = await carol.ok("GET", "/rooms/secret/messages")
    assert [(e["type"], e["user"], e.get("by")) for e in history["events"]] == [
        ("member_joined", "alice", None),
        ("member_joined", "bob", "alice"),
        ("member_joined", "carol", "bob"),
    ]
    directory = await carol.ok("GET", "/directory")
    assert "secret" not in [r["name"] for r in directory["rooms"]]


async def test_direct_messages(server: RunningServer, http: aiohttp.ClientSession) -> None:
    alice, bob, carol = await signed_in(http, server, "alice", "bob", "carol")
    room = await bob.ok("POST", "/dm", {"user": "alice"})
    assert room["name"] == "dm:alice:bob" and room["kind"] == "dm" and room["last_seq"] == 2
    again = await alice.ok("POST", "/dm", {"user": "BOB"})
    assert again["name"] == "dm:alice:bob" and again["last_seq"] == 2
    assert await alice.ok("GET", "/rooms/dm:alice:bob/members") == {
        "room": "dm:alice:bob",
        "users": ["alice", "bob"],
        "profiles": [{"username": "alice", "admin": True}, {"username": "bob"}],
        "roles": {},  # a DM has no owner
    }
    # Either order of the two names is the same room.
    await alice.ok(
        "POST", "/rooms/dm:bob:alice/messages", {"client_msg_id": "d1", "body": "psst"}, 201
    )
    page = await bob.ok("GET", "/rooms/dm:alice:bob/messages")
    assert [e.get("body") for e in page["events"]] == [None, None, "psst"]
    status, _ = await carol.get("/rooms/dm:alice:bob/messages")
    assert status == 404
    status, _ = await carol.post("/rooms/dm:alice:bob/join")
    assert status == 404
    status, error = await alice.post("/rooms/dm:alice:bob/invite", {"user": "carol"})
    assert status == 403 and error["code"] == "forbidden"
    status, error = await alice.post("/rooms/dm:alice:bob/leave")
    assert status == 403
    status, error = await alice.post("/dm", {"user": "nobody"})
    assert status == 404 and error["code"] == "not_found"


# --- messages ---------------------------------------------------------------------------------


async def test_history_paging_over_250_messages(
    server: RunningServer, http: aiohttp.ClientSession
) -> None:
    (alice,) = await signed_in(http, server, "alice")
    await alice.ok("POST", "/rooms", {"name": "busy"}, status=201)
    for i in range(250):
        sent = await alice.ok(
            "POST", "/rooms/busy/messages", {"client_msg_id": f"m{i}", "body": f"n{i}"}, 201
        )
        assert sent["seq"] == i + 2
    everything = list(range(1, 252))

    default = await alice.ok("GET", "/rooms/busy/messages")
    assert default["room"] == "busy" and default["has_more"]
    assert [e["seq"] for e in default["events"]] == everything[-limits.DEFAULT_HISTORY_LIMIT :]

    seqs: list[int] = []
    query = "?limit=100"
    while True:
        page = await alice.ok("GET", "/rooms/busy/messages" + query)
        got = [e["seq"] for e in page["events"]]
        assert got == sorted(got)
        seqs = got + seqs
        if not page["has_more"]:
            break
        query = f"?limit=100&before={got[0]}"
    assert seqs == everything
    assert len(seqs) == len(set(seqs))

    seqs = []
    after = 0
    while True:
        page = await alice.ok("GET", f"/rooms/busy/messages?after={after}&limit=200")
        got = [e["seq"] for e in page["events"]]
        seqs += got
        if not page["has_more"]:
            break
        after = got[-1]
    assert seqs == everything

    page = await alice.ok("GET", "/rooms/busy/messages?before=52&limit=200")
    assert [e["seq"] for e in page["events"]] == list(range(1, 52)) and not page["has_more"]
    first = page["events"][0]
    assert first["type"] == "member_joined" and first["user"] == "alice"
    assert [e["body"] for e in page["events"][1:]] == [f"n{i}" for i in range(50)]
    assert page["events"][1]["client_msg_id"] == "m0"

    for bad in ("limit=0", "limit=201", "limit=ten", "before=-1", "before=5&after=2", "x=1"):
        status, error = await alice.get("/rooms/busy/messages?" + bad)
        assert status == 400 and error["code"] == "bad_request", bad


async def test_post_a_message_idempotently(
    server: RunningServer, http: aiohttp.ClientSession
) -> None:
    alice, bob = await signed_in(http, server, "alice", "bob")
    await alice.ok("POST", "/rooms", {"name": "talk"}, status=201)
    message = {"client_msg_id": str(uuid.uuid4()), "body": "hello"}
    status, sent = await alice.post("/rooms/talk/messages", message)
    assert status == 201
    assert sent["room"] == "talk" and sent["seq"] == 2
    assert sent["client_msg_id"] == message["client_msg_id"]
    assert sent["msg_id"] and isinstance(sent["ts"], int)
    status, again = await alice.post("/rooms/talk/messages", message)
    assert (status, again) == (200, sent)
    status, retried = await alice.post("/rooms/talk/messages", message | {"body": "hello?"})
    assert (status, retried) == (200, sent)
    # The repeat's 200 is in the document too, with the body of the first answer's 201.
    responses = build_openapi()["paths"][API + "/rooms/{room}/messages"]["post"]["responses"]
    assert responses["200"]["content"] == responses["201"]["content"]

    page = await alice.ok("GET", "/rooms/talk/messages")
    messages = [e for e in page["events"] if e["type"] == "message"]
    assert len(messages) == 1
    assert messages[0] | {"room": "talk"} == {
        "type": "message",
        "room": "talk",
        "seq": sent["seq"],
        "msg_id": sent["msg_id"],
        "client_msg_id": message["client_msg_id"],
        "user": "alice",
        "body": "hello",
        "ts": sent["ts"],
    }

    status, error = await bob.post("/rooms/talk/messages", {"client_msg_id": "b", "body": "hi"})
    assert status == 403 and error["code"] == "forbidden"  # join a public room first
    too_long = "x" * (limits.MAX_BODY_CHARS + 1)
    for bad in (
        {"client_msg_id": "c", "body": ""},
        {"client_msg_id": "c", "body": too_long},
        {"client_msg_id": "c" * (limits.MAX_CLIENT_MSG_ID + 1), "body": "x"},
        {"body": "x"},
        {"client_msg_id": "c", "body": "x", "extra": True},
    ):
        status, error = await alice.post("/rooms/talk/messages", bad)
        assert status == 400 and error["code"] == "bad_request"
    status, error = await alice.post("/rooms/talk/messages", data=b"{not json")
    assert status == 400 and error["code"] == "bad_request"
    assert (await alice.ok("GET", "/rooms/talk/messages"))["events"][-1]["seq"] == 2


async def test_read_marker(server: RunningServer, http: aiohttp.ClientSession) -> None:
    alice, bob = await signed_in(http, server, "alice", "bob")
    await alice.ok("POST", "/rooms", {"name": "r"}, status=201)
    await bob.ok("POST", "/rooms/r/join")
    for i in range(4):
        await alice.ok("POST", "/rooms/r/messages", {"client_msg_id": f"c{i}", "body": "x"}, 201)
    (info,) = [r for r in (await bob.ok("GET", "/rooms"))["rooms"] if r["name"] == "r"]
    assert (info["last_seq"], info["read_seq"], info["unread"]) == (6, 2, 4)
    assert await bob.ok("POST", "/rooms/r/read", {"seq": 4}) == {"room": "r", "read_seq": 4}
    assert await bob.ok("POST", "/rooms/r/read", {"seq": 3}) == {"room": "r", "read_seq": 4}
    assert await bob.ok("POST", "/rooms/r/read", {"seq": 99}) == {"room": "r", "read_seq": 6}
    assert all(r["unread"] == 0 for r in (await bob.ok("GET", "/rooms"))["rooms"])


# --- the OpenAPI document -------------------------------------------------------------------


def _refs(node: Any) -> list[str]:
    if isinstance(node, dict):
        found = [node["$ref"]] if isinstance(node.get("$ref"), str) else []
        return found + [r for value in node.values() for r in _refs(value)]
    if isinstance(node, list):
        return [r for value in node for r in _refs(value)]
    return []


def _meta(annotated: Any) -> Any:
    return annotated.__metadata__[0]


async def test_openapi_document(server: RunningServer, http: aiohttp.ClientSession) -> None:
    async with http.get(server.url + API + "/openapi.json") as response:
        assert response.status == 200
        assert response.content_type == "application/json"
        doc = await response.json()
    assert doc == json.loads(json.dumps(build_openapi()))

    assert re.fullmatch(r"3\.1\.\d+", doc["openapi"])
    assert doc["info"]["title"] and doc["info"]["version"]
    schemas = doc["components"]["schemas"]
    assert all(re.fullmatch(r"[A-Za-z0-9._-]+", name) for name in schemas)

    expected = {(e.path, e.method.lower()) for e in ENDPOINTS}
    documented = {(path, method) for path, ops in doc["paths"].items() for method in ops}
    assert documented == expected
    operation_ids = []
    for e in ENDPOINTS:
        op = doc["paths"][e.path][e.method.lower()]
        operation_ids.append(op["operationId"])
        assert op["summary"] == e.summary
        assert str(e.status) in op["responses"]
        if e.repeat_status is not None:
            assert str(e.repeat_status) in op["responses"]
        assert all("description" in r for r in op["responses"].values())
        params = op.get("parameters", [])
        assert all({"name", "in", "schema"} <= p.keys() for p in params)
        in_path = sorted(p["name"] for p in params if p["in"] == "path")
        assert in_path == sorted(re.findall(r"{(\w+)}", e.path))
        assert all(p["required"] is True for p in params if p["in"] == "path")
        if e.body is not None:
            body = op["requestBody"]["content"]["application/json"]["schema"]
            assert body == {"$ref": f"#/components/schemas/{e.body.__name__}"}
        elif e.raw_body is not None:
            raw = {"schema": {"type": "string", "format": "binary"}}
            assert op["requestBody"]["content"] == {e.raw_body: raw}
        else:
            assert "requestBody" not in op
        if e.query is not None:
            in_query = {p["name"] for p in params if p["in"] == "query"}
            assert in_query == set(schemas[e.query.__name__]["properties"])
        if e.response is not None:
            ok = op["responses"][str(e.status)]["content"]["application/json"]["schema"]
            assert ok == {"$ref": f"#/components/schemas/{e.response.__name__}"}
        assert ("security" in op) == e.auth
    assert len(operation_ids) == len(set(operation_ids))
    for ref in _refs(doc):
        assert ref.startswith("#/components/schemas/")
        assert ref.removeprefix("#/components/schemas/") in schemas, ref
    for scheme in {name for op in _operations(doc) for s in op.get("security", []) for name in s}:
        assert scheme in doc["components"]["securitySchemes"]

    # The request types carry the bounds of protocol/limits.py.
    credentials = schemas["Credentials"]
    assert credentials["required"] == ["username", "password"]
    assert credentials["additionalProperties"] is False
    username = credentials["properties"]["username"]
    assert username["pattern"] == _meta(limits.Username).pattern
    assert re.fullmatch(username["pattern"], "alice.b-2") and not re.fullmatch(
        username["pattern"], "-alice"
    )
    password = credentials["properties"]["password"]
    assert (password["minLength"], password["maxLength"]) == (
        limits.MIN_PASSWORD,
        limits.MAX_PASSWORD,
    )
    message = schemas["NewMessage"]["properties"]
    # Empty only beside files: checked after decoding (protocol.limits.check_message).
    assert "minLength" not in message["body"]
    assert message["body"]["maxLength"] == limits.MAX_BODY_CHARS
    assert message["files"]["maxItems"] == limits.MAX_FILES
    assert message["client_msg_id"]["maxLength"] == limits.MAX_CLIENT_MSG_ID
    assert schemas["NewRoom"]["properties"]["name"]["pattern"] == _meta(limits.RoomName).pattern
    assert schemas["UserRef"]["properties"]["user"]["pattern"] == _meta(limits.Username).pattern
    assert schemas["ReadMarker"]["properties"]["seq"]["minimum"] == 0
    limit = schemas["HistoryQuery"]["properties"]["limit"]
    assert (limit["minimum"], limit["maximum"], limit["default"]) == (
        1,
        limits.MAX_HISTORY_LIMIT,
        limits.DEFAULT_HISTORY_LIMIT,
    )


def _operations(doc: dict[str, Any]) -> list[dict[str, Any]]:
    return [op for ops in doc["paths"].values() for op in ops.values()]


async def test_every_documented_route_is_served(
    server: RunningServer, http: aiohttp.ClientSession
) -> None:
    """Each route of the table answers its method: the authenticated ones refuse a request
    without credentials with 401, the others validate their body (400)."""
    for e in ENDPOINTS:
        path = e.path.replace("{room}", "general").replace("{seq}", "1").replace("{user}", "bob")
        path = path.replace("{emoji}", "%F0%9F%91%8D").replace("{root}", "1")
        path = path.replace("{file}", "f1").replace("{name}", "f.txt")
        path = path.replace("{id}", "i1").replace("{address}", "10.0.0.1")
        path = path.replace("{hook}", "h1").replace("{secret}", "s1")
        status, answer = await call(http, e.method, server.url + path, data=b"{}", headers=JSON)
        if e.auth:
            assert (status, answer["code"]) == (401, "unauthenticated"), e.path
        elif e.body is not None:
            assert (status, answer["code"]) == (400, "bad_request"), e.path
        else:
            assert status == e.status, e.path


# --- WebSocket delivery -----------------------------------------------------------------------


async def test_a_message_posted_over_http_reaches_a_websocket_client(
    server: RunningServer, http: aiohttp.ClientSession
) -> None:
    alice, bob = await signed_in(http, server, "alice", "bob")
    await alice.ok("POST", "/rooms", {"name": "general"}, status=201)
    await bob.ok("POST", "/rooms/general/join")
    async with Client.connect(http, server.url, bob.token, sync={}) as client:
        sent = await alice.ok(
            "POST", "/rooms/general/messages", {"client_msg_id": "c-1", "body": "over http"}, 201
        )
        await client.wait_for(lambda c: c.room_events("general", "message"))
        (event,) = client.room_events("general")
        assert event == {
            "type": "message",
            "room": "general",
            "seq": sent["seq"],
            "msg_id": sent["msg_id"],
            "client_msg_id": "c-1",
            "user": "alice",
            "body": "over http",
            "ts": sent["ts"],
        }

        # A room joined over HTTP while connected is live on the socket from the join on.
        await alice.ok("POST", "/rooms", {"name": "later"}, status=201)
        await bob.ok("POST", "/rooms/later/join")
        await alice.ok(
            "POST", "/rooms/later/messages", {"client_msg_id": "c-2", "body": "again"}, 201
        )
        await client.wait_for(lambda c: c.room_events("later", "message"))
        later = client.room_events("later")
        assert [(e["type"], e["seq"]) for e in later] == [("member_joined", 2), ("message", 3)]
        assert later[-1]["body"] == "again"


# --- the page, health and metrics -------------------------------------------------------------


async def test_security_headers(server: RunningServer, http: aiohttp.ClientSession) -> None:
    for path, status in (("/", 200), (API + "/me", 401), ("/no/such/page", 404)):
        async with http.get(server.url + path) as response:
            assert response.status == status, path
            if path == "/":
                assert response.content_type == "text/html"
            headers = response.headers
            assert headers["X-Content-Type-Options"] == "nosniff", path
            csp = [d.strip() for d in headers["Content-Security-Policy"].split(";")]
            assert "frame-ancestors 'none'" in csp, path


async def test_healthz_and_metrics(server: RunningServer, http: aiohttp.ClientSession) -> None:
    assert await call(http, "GET", server.url + "/healthz") == (200, {"status": "ok"})

    async def connections() -> float:
        async with http.get(server.url + "/metrics") as response:
            assert response.status == 200
            assert response.content_type == "text/plain"
            text = await response.text()
        families = {f.name: f for f in text_string_to_metric_families(text)}
        assert families["hubbub_connections"].type == "gauge"
        return float(families["hubbub_connections"].samples[0].value)

    assert await connections() == 0
    token = await register(http, server.url, "alice")
    async with Client.connect(http, server.url, token, sync={}):
        assert await connections() == 1


@pytest.mark.parametrize("path", ["/healthz", "/metrics", API + "/openapi.json"])
async def test_plain_endpoints_need_no_credentials(
    server: RunningServer, http: aiohttp.ClientSession, path: str
) -> None:
    async with http.get(server.url + path) as response:
        assert response.status == 200
