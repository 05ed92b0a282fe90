"""One rule each, wherever it is applied: the bearer header and the Origin check (the HTTP
API and the WebSocket front door call the same two functions), the table of error statuses
(the HTTP API's errors, aiohttp's refusals, the handshake's refusals), and the name patterns.
"""

from __future__ import annotations

import json
from typing import Any

import aiohttp
import pytest
from support import PASSWORD, Client, RunningServer, call_api, register

from hubbub.core.models import USERNAME_RE
from hubbub.errors import (
    STATUSES,
    BadRequest,
    Conflict,
    Forbidden,
    HubbubError,
    NotFound,
    RateLimited,
    Unauthenticated,
    Unavailable,
    status_of,
)
from hubbub.protocol.handshake import refusal
from hubbub.protocol.messages import ProtocolError
from hubbub.transport.context import is_allowed_origin, parse_bearer


@pytest.mark.parametrize(
    ("header", "token"),
    [
        ("Bearer abc", "abc"),
        ("bearer  abc ", "abc"),
        ("BEARER abc", "abc"),
        ("Bearer", None),
        ("Bearer ", None),
        ("Basic abc", None),
        ("abc", None),
        ("", None),
    ],
)
def test_the_token_of_an_authorization_header(header: str, token: str | None) -> None:
    assert parse_bearer(header) == token


@pytest.mark.parametrize(
    ("origin", "allowed"),
    [
        (None, True),  # not a browser page
        ("http://chat.example:8001", True),  # our own
        ("https://chat.example:8001", False),  # TLS ended before us: not our own unless listed
        ("http://chat.example", False),
        ("https://app.example", True),  # listed
        ("null", False),
        ("", False),
    ],
)
def test_an_origin_is_ours_or_listed(origin: str | None, allowed: bool) -> None:
    assert is_allowed_origin(origin, "http", "chat.example:8001", ("https://app.example",)) is (
        allowed
    )


def test_each_error_takes_its_code_from_the_status_table() -> None:
    codes: dict[type[HubbubError], str] = {
        HubbubError: "internal",
        BadRequest: "bad_request",
        ProtocolError: "bad_request",
        Unauthenticated: "unauthenticated",
        Forbidden: "forbidden",
        NotFound: "not_found",
        Conflict: "conflict",
        RateLimited: "rate_limited",
        Unavailable: "unavailable",
    }
    for error, code in codes.items():
        assert (error.code, STATUSES[error.http_status].code) == (code, code), error


def test_a_status_missing_from_the_table_is_internal_from_500_up() -> None:
    assert status_of(418).code == "bad_request"
    assert status_of(502).code == "internal"


@pytest.mark.parametrize("status", sorted(STATUSES))
def test_a_handshake_refusal_says_the_tables_phrase_and_code(status: int) -> None:
    head, _, body = refusal(status, "why").partition(b"\r\n\r\n")
    code, phrase = STATUSES[status]
    assert head.startswith(f"HTTP/1.1 {status} {phrase}\r\n".encode())
    assert json.loads(body) == {"code": code, "message": "why"}


async def test_the_http_api_and_the_handshake_give_a_status_the_same_code(
    server: RunningServer, http: aiohttp.ClientSession
) -> None:
    """405 from aiohttp's router and 405 from the front door: one table, one code."""
    over_http = await call_api(http, "DELETE", f"{server.url}/api/v1/register")
    with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
        await http.ws_connect(server.url + "/", method="POST")
    assert (over_http.status, refused.value.status) == (405, 405)
    assert over_http.body["code"] == STATUSES[405].code


def test_a_username_is_one_pattern() -> None:
    assert USERNAME_RE.match("alice.b-2")
    for bad in ("-alice", "alice\n", "a b", "x" * 33, ""):
        assert not USERNAME_RE.match(bad), bad


@pytest.mark.parametrize("name", ["alice\n", "Alice\n"])
async def test_a_username_with_a_trailing_newline_is_refused(
    server: RunningServer, http: aiohttp.ClientSession, name: str
) -> None:
    """It would look exactly like another user's name."""
    reply = await call_api(
        http,
        "POST",
        f"{server.url}/api/v1/register",
        json={"username": name, "password": PASSWORD},
    )
    assert reply.status == 400 and reply.body["code"] == "bad_request", reply.body


async def test_a_name_with_a_trailing_newline_is_refused_over_the_websocket(
    server: RunningServer, http: aiohttp.ClientSession
) -> None:
    token = await register(http, server.url, "alice")
    await register(http, server.url, "bob")
    async with Client.connect(http, server.url, token, sync={}) as alice:
        with_newlines: list[tuple[str, dict[str, Any]]] = [
            ("create", {"name": "den\n"}),
            ("dm", {"user": "bob\n"}),
            ("join", {"room": "lobby\n"}),
        ]
        for kind, fields in with_newlines:
            reply = await alice.request(kind, **fields)
            assert reply["type"] == "error" and reply["code"] == "bad_request", (kind, reply)
        rooms = await alice.ok("rooms")
        assert rooms["rooms"] == []
