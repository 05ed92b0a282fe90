"""Searching messages over the WebSocket and the HTTP API: the rooms one is in, newest first,
a page at a time, with where the query occurs in each body; bad input is refused and the
connection stays open."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import aiohttp
from support import Client, RunningServer, call_api, config_for, public_room, running_server

STORAGE_ENGINES = ("sqlite", "postgresql")  # each test with the server, on each
ROOM = "team"
SHORT = "search needs at least 3 characters"


def cursor(result: dict[str, Any]) -> str:
    return f"{result['ts']}:{result['seq']}:{result['room']}"


async def search_http(
    http: aiohttp.ClientSession, server: RunningServer, token: str, **params: Any
) -> tuple[int, Any]:
    reply = await call_api(http, "GET", f"{server.url}/api/v1/search", token, params=params)
    return reply.status, reply.body


async def test_search_over_websocket_and_http_alike_with_ranges_and_pages(
    server: RunningServer, http: aiohttp.ClientSession
) -> None:
    alice_token, bob_token = await public_room(http, server.url, ROOM, ["alice", "bob"])
    async with (
        Client.connect(http, server.url, alice_token, sync={}) as alice,
        Client.connect(http, server.url, bob_token, sync={}) as bob,
    ):
        for body in ("今天我们去吃饭", "Lunch at noon? noon!", "<b>NOON</b> it is", "later"):
            await bob.send(ROOM, body)
        reply = await alice.ok("search", query="Noon")
        assert reply["type"] == "search" and reply["query"] == "Noon"
        assert reply["has_more"] is False
        results = reply["results"]
        assert [(r["room"], r["user"], r["body"], r["ranges"]) for r in results] == [
            (ROOM, "bob", "<b>NOON</b> it is", [[3, 7]]),
            (ROOM, "bob", "Lunch at noon? noon!", [[9, 13], [15, 19]]),
        ]
        assert results[0]["seq"] > results[1]["seq"]
        (cjk,) = (await alice.ok("search", query="我们去", room="TEAM"))["results"]
        assert cjk["body"] == "今天我们去吃饭" and cjk["ranges"] == [[2, 5]]

        status, body = await search_http(http, server, alice_token, query="Noon")
        assert status == 200
        assert body == {k: v for k, v in reply.items() if k not in ("type", "re")}

        assert reply["next"] is None
        first = await alice.ok("search", query="noon", limit=1)
        assert first["results"] == results[:1] and first["has_more"] is True
        assert isinstance(first["next"], str)
        second = await alice.ok("search", query="noon", limit=1, before=first["next"])
        assert second["results"] == results[1:] and second["has_more"] is False
        assert second["next"] is None
        status, body = await search_http(
            http, server, alice_token, query="noon", limit=1, before=first["next"]
        )
        assert (status, body["results"], body["next"]) == (200, results[1:], None)
        # The cursor of the last result, as older clients write it, goes on from there too.
        older = await alice.ok("search", query="noon", limit=1, before=cursor(results[0]))
        assert older["results"] == results[1:]


async def test_bad_searches_are_refused_and_the_connection_stays_open(
    server: RunningServer, http: aiohttp.ClientSession
) -> None:
    (alice_token,) = await public_room(http, server.url, ROOM, ["alice"])
    bad: list[dict[str, Any]] = [
        {"query": ""},
        {"query": "ab"},
        {"query": "x" * 101},
        {"query": "abc", "limit": 0},
        {"query": "abc", "limit": 51},
        {"query": "abc", "before": "yesterday"},
        {"query": "abc", "before": "1795552061000:99:team"},  # no such message
        {"query": "ab\x00c"},  # no message holds a NUL; SQLite's index failed on one (503)
    ]
    async with Client.connect(http, server.url, alice_token, sync={}) as alice:
        for fields in bad:
            reply = await alice.request("search", **fields)
            assert (reply["type"], reply["code"]) == ("error", "bad_request"), (fields, reply)
            if len(fields["query"]) < 3:
                assert reply["message"] == SHORT
            if "\x00" in fields["query"]:
                assert "NUL" in reply["message"], reply
        assert (await alice.ok("ping"))["type"] == "pong"
    for fields in bad:
        status, body = await search_http(http, server, alice_token, **fields)
        assert (status, body["code"]) == (400, "bad_request"), (fields, body)
    status, body = await search_http(http, server, alice_token)
    assert (status, body["code"]) == (400, "bad_request")


async def test_searches_are_rate_limited_per_user(
    tmp_path: Path, http: aiohttp.ClientSession
) -> None:
    config = config_for(tmp_path, search_burst=2.0, search_rate=0.001)
    async with running_server(config, clock=lambda: 1_000_000) as server:
        alice_token, bob_token = await public_room(http, server.url, ROOM, ["alice", "bob"])
        async with Client.connect(http, server.url, alice_token) as alice:
            assert (await alice.request("search", query="ab"))["code"] == "bad_request"  # free
            for _ in range(2):
                assert (await alice.request("search", query="abc"))["type"] == "search"
            refused = await alice.request("search", query="abc")
            assert (refused["type"], refused["code"]) == ("error", "rate_limited"), refused
            assert refused["retry_after"] > 0
        status, body = await search_http(http, server, alice_token, query="abc")
        assert (status, body["code"]) == (429, "rate_limited")
        assert (await search_http(http, server, bob_token, query="abc"))[0] == 200  # his own
