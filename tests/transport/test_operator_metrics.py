"""``/metrics`` after a scripted workload: each counter and histogram moved by exactly what
the workload did, read from a real server over real sockets, on each storage engine."""

from __future__ import annotations

import asyncio
from pathlib import Path

import aiohttp
import pytest
from prometheus_client.parser import text_string_to_metric_families
from rawws import OP_BINARY, HandshakeRefused, RawWebSocket
from support import Client, call_api, config_for, public_room, running_server, until

from hubbub.protocol.codes import CloseCode
from hubbub.transport.context import SESSION_COOKIE

STORAGE_ENGINES = ("sqlite", "postgresql")  # on each (tests/conftest.py)

SLOW = 0.001  # a refill rate (per second) that adds nothing during a test
MESSAGES = 20
FOLLOWERS = ("alice", "bob", "carol")  # alice sends; all three follow the room

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


async def scrape(http: aiohttp.ClientSession, url: str) -> Samples:
    async with http.get(url + "/metrics") as response:
        assert response.status == 200
        text = await response.text()
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def moved(before: Samples, after: Samples, name: str, **labels: str) -> float:
    return value(after, name, **labels) - value(before, name, **labels)


def buckets(samples: Samples, name: str) -> list[tuple[float, float]]:
    found = [
        (float(dict(labels)["le"]), v)
        for (sample, labels), v in samples.items()
        if sample == name + "_bucket"
    ]
    return sorted(found)


def assert_histogram(samples: Samples, name: str) -> None:
    """Cumulative buckets that end with +Inf holding every observation."""
    counts = [count for _, count in buckets(samples, name)]
    assert counts == sorted(counts), counts
    assert buckets(samples, name)[-1] == (float("inf"), value(samples, name + "_count"))


async def test_counters_and_histograms_follow_a_scripted_workload(
    tmp_path: Path, http: aiohttp.ClientSession, storage_url: str
) -> None:
    config = config_for(
        tmp_path,
        storage_url=storage_url,
        search_rate=SLOW,
        search_burst=1.0,
        guest_relay_rate=SLOW,
        guest_relay_burst=1.0,
    )
    async with running_server(config) as server:
        url = server.url
        alice, bob, carol = await public_room(http, url, "team", FOLLOWERS)
        async with (
            Client.connect(http, url, alice, sync={}) as sender,
            Client.connect(http, url, bob, sync={}) as second,
            Client.connect(http, url, carol, sync={}) as third,
        ):
            followers = (sender, second, third)
            before = await scrape(http, url)
            assert value(before, "hubbub_connections", protocol="hubbub.v1") == 3
            assert value(before, "hubbub_connections", protocol="plain") == 0
            assert value(before, "hubbub_sessions") == 3

            # N messages to a room with M followers: N events committed, N*M frames.
            await asyncio.gather(*(sender.send("team", f"hello {i}") for i in range(MESSAGES)))
            for client in followers:
                await client.wait_for(lambda c: len(c.room_events("team", "message")) == MESSAGES)
            frames = MESSAGES * len(followers)
            await until(lambda: server.node.hub.delivery_latency.count >= frames)
            after = await scrape(http, url)
            assert moved(before, after, "hubbub_events_committed_total") == MESSAGES
            assert moved(before, after, "hubbub_events_delivered_total") == frames
            latency = "hubbub_delivery_latency_seconds"
            assert moved(before, after, latency + "_count") == frames
            assert_histogram(after, latency)
            assert 0 <= moved(before, after, latency + "_sum") < 10 * frames
            # Every send is one write; the writer groups them into 1 to N commits.
            assert moved(before, after, "hubbub_commit_batch_size_sum") == MESSAGES
            commits = moved(before, after, "hubbub_commit_batch_size_count")
            assert 1 <= commits <= MESSAGES
            assert moved(before, after, "hubbub_commit_seconds_count") == commits
            assert_histogram(after, "hubbub_commit_batch_size")
            assert_histogram(after, "hubbub_commit_seconds")
            assert value(after, "hubbub_commits_failed_total") == 0
            assert value(after, "hubbub_outbox_bytes") >= 0

            # A rate-limited request on each protocol, and plain errors over HTTP.
            assert (await sender.request("search", query="hello"))["type"] != "error"
            refused = await sender.request("search", query="hello")
            assert (refused["type"], refused["code"]) == ("error", "rate_limited")
            search = f"{url}/api/v1/search?query=hello"
            assert (await call_api(http, "GET", search, bob)).status == 200
            assert (await call_api(http, "GET", search, bob)).status == 429
            assert (await call_api(http, "GET", f"{url}/api/v1/me")).status == 401
            assert (await call_api(http, "GET", f"{url}/no/such/page")).status == 404
            limited = await scrape(http, url)
            assert value(limited, "hubbub_rate_limited_total", protocol="ws", kind="search") == 1
            http_search = {"protocol": "http", "kind": "GET /api/v1/search"}
            assert value(limited, "hubbub_rate_limited_total", **http_search) == 1
            for protocol, code in (
                ("ws", "rate_limited"),
                ("http", "rate_limited"),
                ("http", "unauthenticated"),
                ("http", "not_found"),
            ):
                errors = value(limited, "hubbub_errors_total", protocol=protocol, code=code)
                assert errors == 1, (protocol, code)

        # A guest: counted as plain while connected; past its relay bucket, closed with 4029.
        guest = await RawWebSocket.connect(url, protocol=None)
        try:
            await until(lambda: server.node.hub.guests == 1)
            with_guest = await scrape(http, url)
            assert value(with_guest, "hubbub_connections", protocol="plain") == 1
            # Its line is stored in lobby and relayed back to it: one event, one frame.
            await guest.send_text(b"hi there")
            assert b"hi there" in (await guest.read_frame()).payload
            await until(lambda: server.node.hub.delivery_latency.count >= frames + 1)
            relayed = await scrape(http, url)
            assert moved(with_guest, relayed, "hubbub_events_committed_total") == 1
            assert moved(with_guest, relayed, "hubbub_events_delivered_total") == 1
            assert moved(with_guest, relayed, "hubbub_delivery_latency_seconds_count") == 1
            for _ in range(2):
                await guest.send_frame(OP_BINARY, b"\x00blob")
            _, close = await guest.read_until_close()
            assert close.close_code == CloseCode.RATE_LIMITED
        finally:
            await guest.close()
        await until(lambda: not server.state.connections)
        last = await scrape(http, url)
        assert value(last, "hubbub_rate_limited_total", protocol="plain", kind="relay") == 1
        assert value(last, "hubbub_ws_closes_total", code=str(int(CloseCode.RATE_LIMITED))) == 1
        assert value(last, "hubbub_connections", protocol="hubbub.v1") == 0
        assert value(last, "hubbub_connections", protocol="plain") == 0
        assert value(last, "hubbub_outbox_bytes") == 0

        # Handshakes the front door refuses, by status: a foreign page with the cookie, a
        # wrong path.
        foreign = {"Origin": "https://elsewhere.example", "Cookie": f"{SESSION_COOKIE}=x"}
        for headers, path, expected in ((foreign, "/", 403), ({}, "/chat", 404)):
            with pytest.raises(HandshakeRefused) as handshake:
                await RawWebSocket.connect(url + path, protocol="hubbub.v1", headers=headers)
            assert handshake.value.status == expected
        turned_away = await scrape(http, url)
        for label in ("403", "404"):
            assert moved(last, turned_away, "hubbub_handshakes_refused_total", status=label) == 1
