"""When the real storage fails, every client hears about it and nothing hangs.

The faults are real: a table renamed away by another connection (every read of it fails),
the database file removed, the writer thread killed by a job that raises ``SystemExit``, and a
subscriber of committed events that raises. Each case checks what the client sees (error
code, HTTP status, close code) within a bounded wait.
"""

from __future__ import annotations

import asyncio
import logging
import os
import sqlite3
import struct
from collections.abc import Iterator
from contextlib import closing, contextmanager
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from rawws import RawWebSocket
from support import Client, RunningServer, call_api, register

from hubbub.broker.base import Payload
from hubbub.core.events import Event
from hubbub.errors import Unavailable
from hubbub.storage.sqlite import SQLiteStorage


def database(server: RunningServer) -> Path:
    return server.config.data_dir / "hubbub.sqlite3"


@contextmanager
def table_gone(server: RunningServer, table: str) -> Iterator[None]:
    """Another connection renames ``table`` away: every read of it fails, on any connection."""
    with closing(sqlite3.connect(database(server), isolation_level=None)) as other:
        other.execute(f"ALTER TABLE {table} RENAME TO {table}_gone")
        try:
            yield
        finally:
            other.execute(f"ALTER TABLE {table}_gone RENAME TO {table}")


@contextmanager
def file_removed(server: RunningServer) -> Iterator[None]:
    """The database file is gone for every connection opened from now on."""
    path = database(server)
    saved = path.with_suffix(".saved")
    os.rename(path, saved)
    try:
        yield
    finally:
        os.rename(saved, path)


async def kill_writer(server: RunningServer) -> None:
    """A fault injected through the normal write path: a job that ends the writer thread."""
    storage = server.node.storage
    assert isinstance(storage, SQLiteStorage)

    def job(db: sqlite3.Connection, events: list[Event]) -> None:
        raise SystemExit("injected fault")

    with pytest.raises(Unavailable):
        await asyncio.wait_for(storage._submit(job), 10)


async def health(http: aiohttp.ClientSession, server: RunningServer) -> tuple[int, Any]:
    reply = await call_api(http, "GET", server.url + "/healthz")
    return reply.status, reply.body


async def until_healthy(http: aiohttp.ClientSession, server: RunningServer) -> None:
    """Ask /healthz every few milliseconds until it answers 200 (at most 20 s)."""
    async with asyncio.timeout(20):
        while (await health(http, server))[0] != 200:
            await asyncio.sleep(0.02)


def close_of(frame: Any) -> tuple[int, str]:
    return struct.unpack("!H", frame.payload[:2])[0], frame.payload[2:].decode()


# --- authentication ------------------------------------------------------------------------


@pytest.mark.parametrize("credential", ["bearer", "cookie", "auth frame"])
async def test_authentication_while_storage_fails_is_unavailable_then_1011(
    server: RunningServer, http: aiohttp.ClientSession, credential: str
) -> None:
    token = await register(http, server.url, "alice")
    with table_gone(server, "tokens"):
        if credential == "bearer":
            ws = await RawWebSocket.connect(server.url, token=token)
        elif credential == "cookie":
            ws = await RawWebSocket.connect(
                server.url, headers={"Cookie": f"hubbub_session={token}"}
            )
        else:
            ws = await RawWebSocket.connect(server.url)
            await ws.send_json({"type": "auth", "id": 1, "token": token})
        try:
            frames, close = await ws.read_until_close(timeout=10)
            await ws.send_close(1011)
            assert await ws.read_to_eof(timeout=10) == []  # and then TCP ends: no zombie
        finally:
            await ws.close()
    [error] = [frame.json() for frame in frames]
    assert error["type"] == "error" and error["code"] == "unavailable", error
    assert error.get("re") == (1 if credential == "auth frame" else None)
    assert close_of(close) == (1011, "storage unavailable")


async def test_http_authentication_while_storage_fails_is_503(
    server: RunningServer, http: aiohttp.ClientSession
) -> None:
    token = await register(http, server.url, "alice")
    with table_gone(server, "tokens"):
        reply = await call_api(http, "GET", server.url + "/api/v1/rooms", token)
    assert reply.status == 503, reply
    assert reply.body["code"] == "unavailable"


# --- requests ------------------------------------------------------------------------------


async def test_a_request_while_reads_fail_is_unavailable_and_the_connection_stays(
    server: RunningServer, http: aiohttp.ClientSession, caplog: pytest.LogCaptureFixture
) -> None:
    token = await register(http, server.url, "alice")
    async with Client.connect(http, server.url, token, sync={}) as client:
        await client.ok("join", room="lobby")
        caplog.set_level(logging.INFO, "hubbub")
        with table_gone(server, "members"):
            for _ in range(3):
                reply = await client.request("rooms")
                assert reply["type"] == "error" and reply["code"] == "unavailable", reply
            http_reply = await call_api(http, "GET", server.url + "/api/v1/rooms", token)
            assert http_reply.status == 503 and http_reply.body["code"] == "unavailable"
            assert (await client.ok("ping"))["type"] == "pong"
        rooms = await client.ok("rooms")
        assert [room["name"] for room in rooms["rooms"]] == ["lobby"]
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1, [r.getMessage() for r in errors]  # once, and no traceback storm
    assert errors[0].exc_info is None


async def test_healthz_is_503_while_the_database_file_is_gone(
    server: RunningServer, http: aiohttp.ClientSession
) -> None:
    with file_removed(server):  # open connections still reach it; health sees it moved
        status, body = await health(http, server)
        assert status == 503, body
        assert body["status"] == "unavailable"
    assert await health(http, server) == (200, {"status": "ok"})


# --- the writer ----------------------------------------------------------------------------


async def test_a_dead_writer_is_unavailable_everywhere_until_it_restarts(
    server: RunningServer, http: aiohttp.ClientSession, caplog: pytest.LogCaptureFixture
) -> None:
    token = await register(http, server.url, "alice")
    async with Client.connect(http, server.url, token, sync={}) as client:
        await client.ok("join", room="lobby")
        caplog.set_level(logging.INFO, "hubbub")
        await kill_writer(server)
        with file_removed(server):  # and it cannot restart while the file is gone
            sent = await client.request("send", room="lobby", client_msg_id="m1", body="hi")
            assert sent["type"] == "error" and sent["code"] == "unavailable", sent
            created = await client.request("create", name="new", private=False)
            assert created["type"] == "error" and created["code"] == "unavailable", created
            posted = await call_api(
                http,
                "POST",
                server.url + "/api/v1/rooms/lobby/messages",
                token,
                json={"client_msg_id": "m2", "body": "hi"},
            )
            assert posted.status == 503 and posted.body["code"] == "unavailable", posted
            status, body = await health(http, server)
            assert status == 503 and body["status"] == "unavailable", body
            guest = await RawWebSocket.connect(server.url, protocol=None)
            try:
                await guest.send_text("hello from a guest")
                _, close = await guest.read_until_close(timeout=10)
                assert close_of(close)[0] == 1011
            finally:
                await guest.close()
        await until_healthy(http, server)
        sent = await client.request("send", room="lobby", client_msg_id="m1", body="hi")
        assert sent["type"] == "sent", sent
    stopped = [r for r in caplog.records if "writer stopped" in r.getMessage()]
    assert len(stopped) == 1  # logged once, not once per refused write


async def test_a_sync_that_fails_midway_leaves_no_room_holding_its_events(
    server: RunningServer, http: aiohttp.ClientSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The replay read fails after the rooms were listed: the next sync still makes them live."""
    token = await register(http, server.url, "alice")
    created = await call_api(
        http, "POST", server.url + "/api/v1/rooms", token, json={"name": "den"}
    )
    assert created.status == 201, created
    storage = server.node.storage
    replay_since = storage.replay_since

    async def failing_once(room: str, since: int, bound: int, reader: str | None = None) -> Any:
        monkeypatch.setattr(storage, "replay_since", replay_since)
        raise Unavailable("storage is unavailable; try again later")

    monkeypatch.setattr(storage, "replay_since", failing_once)
    async with Client.connect(http, server.url, token) as client:
        failed = await client.request("sync", since={})
        assert failed["type"] == "error" and failed["code"] == "unavailable", failed
        await client.ok("sync", since={})  # names no room: "den" must not stay buffered
        await call_api(
            http,
            "POST",
            server.url + "/api/v1/rooms/den/messages",
            token,
            json={"client_msg_id": "m1", "body": "hello"},
        )
        await client.wait_for(lambda c: c.room_events("den", "message"))
        [message] = client.room_events("den", "message")
        assert message["body"] == "hello"


# --- publishing ----------------------------------------------------------------------------


async def test_a_failing_publish_answers_unavailable_and_a_retry_gets_the_stored_message(
    server: RunningServer, http: aiohttp.ClientSession
) -> None:
    failing = False

    def subscriber(payload: Payload) -> None:
        if failing:
            raise RuntimeError("a subscriber failed")

    server.node.broker.subscribe(subscriber)
    token = await register(http, server.url, "alice")
    async with Client.connect(http, server.url, token, sync={}) as client:
        await client.ok("join", room="lobby")
        failing = True
        reply = await client.request("send", room="lobby", client_msg_id="m1", body="hi")
        assert reply["type"] == "error" and reply["code"] == "unavailable", reply
        posted = await call_api(
            http,
            "POST",
            server.url + "/api/v1/rooms/lobby/messages",
            token,
            json={"client_msg_id": "m2", "body": "hi"},
        )
        assert posted.status == 503 and posted.body["code"] == "unavailable", posted
        failing = False
        retried = await client.request("send", room="lobby", client_msg_id="m1", body="hi")
        assert retried["type"] == "sent", retried
        assert (await client.ok("ping"))["type"] == "pong"
