"""Files over real sockets against a real server: uploads streamed and bounded, downloads served
safely and only to those who may see them, and what a failed upload leaves (nothing)."""

from __future__ import annotations

import asyncio
import json
import os
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from file_samples import HTML, image
from support import (
    ApiReply,
    Client,
    RunningServer,
    ServerProcess,
    bearer,
    call_api,
    config_for,
    public_room,
    running_server,
    team_and_outsider,
)

from hubbub.files.store import LocalFileStore
from hubbub.files.sweep import GRACE, sweep

STORAGE_ENGINES = ("sqlite", "postgresql")  # tests/conftest.py runs each test on each
API = "/api/v1"
MiB = 1024 * 1024


# --- helpers ---------------------------------------------------------------------------------


async def upload(
    http: aiohttp.ClientSession,
    url: str,
    token: str,
    content: Any,
    name: str = "photo.png",
    room: str = "team",
) -> ApiReply:
    return await call_api(
        http, "POST", f"{url}{API}/rooms/{room}/files", token, params={"name": name}, data=content
    )


async def uploaded(
    http: aiohttp.ClientSession, url: str, token: str, content: bytes, name: str = "photo.png"
) -> dict[str, Any]:
    reply = await upload(http, url, token, content, name)
    assert reply.status == 201, reply.body
    return dict(reply.body)


async def fetch(
    http: aiohttp.ClientSession, url: str, token: str, path: str, **headers: str
) -> tuple[int, bytes, Any]:
    async with http.get(f"{url}{API}/files/{path}", headers=bearer(token) | headers) as response:
        return response.status, await response.read(), response.headers.copy()


async def post(
    http: aiohttp.ClientSession, url: str, token: str, body: str, files: list[str]
) -> ApiReply:
    payload = {"client_msg_id": uuid.uuid4().hex, "body": body, "files": files}
    return await call_api(http, "POST", f"{url}{API}/rooms/team/messages", token, json=payload)


def files_on_disk(root: Path) -> tuple[list[str], list[str]]:
    """The blobs and the temporary files under a files dir."""
    store = LocalFileStore(root)
    return sorted(d for d, _ in store.blobs()), sorted(os.listdir(store.temp_dir))


async def until(condition: Any, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.02)


async def raw_request(url: str, head: str) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    host, port = url.removeprefix("http://").split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    writer.write(head.encode())
    await writer.drain()
    return reader, writer


def upload_head(url: str, token: str, extra: str, room: str = "team") -> str:
    host = url.removeprefix("http://")
    return (
        f"POST {API}/rooms/{room}/files?name=big.bin HTTP/1.1\r\nHost: {host}\r\n"
        f"Authorization: Bearer {token}\r\n{extra}\r\n"
    )


@pytest.fixture
async def tokens(server: RunningServer, http: aiohttp.ClientSession) -> list[str]:
    """alice and bob in ``team``; carol outside it."""
    return await team_and_outsider(server, http)


# --- upload, send, download --------------------------------------------------------------------


async def test_upload_send_and_download(
    server: RunningServer, http: aiohttp.ClientSession, tokens: list[str]
) -> None:
    alice, bob, carol = tokens
    url = server.url
    png = image("PNG", (800, 400))
    info = await uploaded(http, url, alice, png)
    assert info.keys() == {"id", "name", "size", "type", "width", "height", "thumb"}
    assert (info["name"], info["size"], info["type"]) == ("photo.png", len(png), "image/png")
    assert (info["width"], info["height"], info["thumb"]) == (800, 400, True)
    file_id = info["id"]

    # Pending: its uploader's alone.
    assert (await fetch(http, url, alice, file_id))[:2] == (200, png)
    missing = await fetch(http, url, bob, "no-such-file")
    for token in (bob, carol):
        status, body, _ = await fetch(http, url, token, file_id)
        assert status == 404
        assert json.loads(body)["code"] == "not_found"
        assert json.loads(body.replace(file_id.encode(), b"no-such-file")) == json.loads(missing[1])

    async with (
        Client.connect(http, url, alice, sync={}) as alice_ws,
        Client.connect(http, url, bob, sync={}) as bob_ws,
    ):
        sent = await alice_ws.ok("send", room="team", body="", client_msg_id="c1", files=[file_id])
        await bob_ws.wait_for(lambda c: c.room_events("team", "message"))
    (event,) = bob_ws.room_events("team", "message")
    assert event["seq"] == sent["seq"] and "body" not in event  # "" is left out
    assert event["files"] == [info]
    page = await call_api(http, "GET", f"{url}{API}/rooms/team/messages", bob)
    assert page.body["events"][-1]["files"] == [info]

    # Sent: every member's, nobody else's.
    for token in (alice, bob):
        status, body, headers = await fetch(http, url, token, file_id)
        assert (status, body) == (200, png)
        status, body, headers = await fetch(http, url, token, f"{file_id}/thumb")
        assert status == 200 and headers["Content-Type"] == "image/webp"
        assert body[:4] == b"RIFF" and body[8:12] == b"WEBP"
        assert (await fetch(http, url, token, f"{file_id}/any-name.png"))[:2] == (200, png)
    assert (await fetch(http, url, carol, file_id))[0] == 404
    assert (await fetch(http, url, carol, f"{file_id}/thumb"))[0] == 404


async def test_download_headers_and_ranges(
    server: RunningServer, http: aiohttp.ClientSession, tokens: list[str]
) -> None:
    alice = tokens[0]
    png = image("PNG")
    text = b"0123456789" * 100
    pic = await uploaded(http, server.url, alice, png, "Grüße 1.png")
    doc = await uploaded(http, server.url, alice, text, "notes.txt")
    status, _, headers = await fetch(http, server.url, alice, pic["id"])
    assert status == 200
    assert headers["Content-Type"] == "image/png"
    assert headers["Content-Disposition"] == "inline; filename*=UTF-8''Gr%C3%BC%C3%9Fe%201.png"
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Content-Security-Policy"] == "sandbox; default-src 'none'"
    assert headers["Cache-Control"].startswith("private, max-age=")
    assert int(headers["Content-Length"]) == len(png)
    status, body, headers = await fetch(http, server.url, alice, doc["id"], Range="bytes=10-29")
    assert status == 206
    assert body == text[10:30]
    assert headers["Content-Range"] == f"bytes 10-29/{len(text)}"
    assert headers["Content-Type"] == "text/plain"
    assert headers["Content-Disposition"] == "attachment; filename*=UTF-8''notes.txt"
    assert headers["Content-Security-Policy"] == "sandbox; default-src 'none'"
    assert (await fetch(http, server.url, alice, f"{doc['id']}/thumb"))[0] == 404  # no image


async def test_a_file_that_only_claims_to_be_an_image_is_an_attachment(
    server: RunningServer, http: aiohttp.ClientSession, tokens: list[str]
) -> None:
    alice = tokens[0]
    info = await uploaded(http, server.url, alice, HTML, "x.png")
    assert (info["type"], info.get("thumb", False)) == ("text/plain", False)
    fake_png = b"\x89PNG\r\n\x1a\n" + HTML  # the signature, then no image at all
    fake = await uploaded(http, server.url, alice, fake_png, "y.png")
    assert fake["type"] == "application/octet-stream" and "width" not in fake
    for file_id in (info["id"], fake["id"]):
        _, _, headers = await fetch(http, server.url, alice, file_id)
        assert headers["Content-Disposition"].startswith("attachment;")
        assert headers["Content-Type"] != "text/html"


async def test_a_path_in_the_name_goes_nowhere(
    server: RunningServer, http: aiohttp.ClientSession, tokens: list[str], tmp_path: Path
) -> None:
    alice = tokens[0]
    before = sorted(p.name for p in tmp_path.iterdir())
    info = await uploaded(
        http, server.url, alice, b"#!/bin/sh\necho hi\n", "../../../../tmp/evil.sh"
    )
    assert info["name"] == "evil.sh"
    assert sorted(p.name for p in tmp_path.iterdir()) == before
    blobs, temps = files_on_disk(server.config.files_dir)
    assert len(blobs) == 1 and temps == []
    _, _, headers = await fetch(http, server.url, alice, info["id"])
    assert headers["Content-Disposition"] == "attachment; filename*=UTF-8''evil.sh"
    for name in ("..", "", "\x00\x1b"):
        assert (await uploaded(http, server.url, alice, b"x", name))["name"] == "file"


async def test_the_same_content_twice_is_two_files_and_one_blob(
    server: RunningServer, http: aiohttp.ClientSession, tokens: list[str]
) -> None:
    alice = tokens[0]
    first = await uploaded(http, server.url, alice, image("JPEG"), "a.jpg")
    second = await uploaded(http, server.url, alice, image("JPEG"), "b.jpg")
    assert first["id"] != second["id"] and first["type"] == "image/jpeg"
    blobs, _ = files_on_disk(server.config.files_dir)
    assert len(blobs) == 2  # the content and its thumbnail, once each


# --- sending files -------------------------------------------------------------------------------


async def test_what_a_message_may_carry(
    server: RunningServer, http: aiohttp.ClientSession, tokens: list[str]
) -> None:
    alice, bob, _ = tokens
    url = server.url
    mine = [
        (await uploaded(http, url, alice, bytes([i]) * 10, f"{i}.bin"))["id"] for i in range(11)
    ]
    bobs = (await uploaded(http, url, bob, b"bob's", "b.txt"))["id"]
    assert (await post(http, url, alice, "", [])).status == 400  # neither text nor files
    assert (await post(http, url, alice, "  ", [])).status == 400
    assert (await post(http, url, alice, "", mine)).status == 400  # eleven
    assert (await post(http, url, alice, "", [mine[0], mine[0]])).status == 400
    refused = await post(http, url, alice, "not hers", [bobs])
    assert (refused.status, refused.body["code"]) == (404, "not_found")
    missing = await post(http, url, alice, "no such", ["x" * 22])
    assert missing.status == 404
    assert refused.body["message"].replace(bobs, "x" * 22) == missing.body["message"]
    ten = await post(http, url, alice, "", mine[:10])
    assert ten.status == 201, ten.body
    again = await post(http, url, alice, "once more", [mine[0]])
    assert (again.status, again.body["code"]) == (409, "conflict")
    history = await call_api(http, "GET", f"{url}{API}/rooms/team/messages", bob)
    messages = [e for e in history.body["events"] if e["type"] == "message"]
    assert [[f["id"] for f in m["files"]] for m in messages] == [mine[:10]]


async def test_a_deleted_message_takes_its_files_along(
    server: RunningServer, http: aiohttp.ClientSession, tokens: list[str]
) -> None:
    alice, bob, _ = tokens
    url = server.url
    info = await uploaded(http, url, alice, image("GIF"), "a.gif")
    sent = await post(http, url, alice, "look", [info["id"]])
    assert (await fetch(http, url, bob, f"{info['id']}/thumb"))[0] == 200
    deleted = await call_api(
        http, "DELETE", f"{url}{API}/rooms/team/messages/{sent.body['seq']}", alice
    )
    assert deleted.status == 200 and "files" not in deleted.body
    for token in (alice, bob):
        for path in (info["id"], f"{info['id']}/thumb", f"{info['id']}/a.gif"):
            assert (await fetch(http, url, token, path))[0] == 404
    history = await call_api(http, "GET", f"{url}{API}/rooms/team/messages", bob)
    assert all("files" not in e for e in history.body["events"])


# --- bounds and failures --------------------------------------------------------------------------


async def test_an_empty_upload_and_an_outsiders_are_refused(
    server: RunningServer, http: aiohttp.ClientSession, tokens: list[str]
) -> None:
    alice, _, carol = tokens
    empty = await upload(http, server.url, alice, b"")
    assert (empty.status, empty.body["code"]) == (400, "bad_request")
    outsider = await upload(http, server.url, carol, b"let me in")
    ghost = await upload(http, server.url, carol, b"let me in", room="ghost")
    assert (outsider.status, outsider.body["code"]) == (404, "not_found")
    assert outsider.body["message"].replace("team", "ghost") == ghost.body["message"]
    assert files_on_disk(server.config.files_dir) == ([], [])


async def test_a_content_length_over_the_bound_is_refused_before_the_body(
    tmp_path: Path, http: aiohttp.ClientSession
) -> None:
    config = config_for(tmp_path / "data", max_file_bytes=1000)
    async with running_server(config) as server:
        alice = (await public_room(http, server.url, "team", ["alice"]))[0]
        head = upload_head(server.url, alice, "Content-Length: 1001\r\n")
        reader, writer = await raw_request(server.url, head)  # and not a byte of body
        try:
            status_line = await asyncio.wait_for(reader.readline(), 5)
            assert status_line.startswith(b"HTTP/1.1 413"), status_line
            rest = await asyncio.wait_for(reader.read(), 5)
            assert b'"code":"too_large"' in rest and b"1000 bytes" in rest
        finally:
            writer.close()
        assert files_on_disk(config.files_dir) == ([], [])


async def test_a_chunked_body_over_the_bound_is_cut_and_memory_stays_flat(
    tmp_path: Path, http: aiohttp.ClientSession
) -> None:
    """The server (its own process) streams to disk: neither a refused 64 MiB body nor an
    accepted 40 MiB one grows its resident memory by anything like their size."""
    server = ServerProcess(tmp_path / "data", max_file_bytes=48 * MiB)
    server.start()
    try:
        assert server.proc is not None
        alice = (await public_room(http, server.url, "team", ["alice"]))[0]
        await uploaded(http, server.url, alice, b"warm up", "w.txt")
        before = rss_bytes(server.proc.pid)

        async def body(size: int) -> AsyncIterator[bytes]:
            chunk = os.urandom(MiB)
            for _ in range(size // MiB):
                yield chunk

        refused = await upload(http, server.url, alice, body(64 * MiB), "big.bin")
        assert (refused.status, refused.body["code"]) == (413, "too_large")
        assert rss_bytes(server.proc.pid) - before < 16 * MiB
        accepted = await upload(http, server.url, alice, body(40 * MiB), "fine.bin")
        assert accepted.status == 201, accepted.body
        assert accepted.body["size"] == 40 * MiB
        assert rss_bytes(server.proc.pid) - before < 16 * MiB
        blobs, temps = files_on_disk(tmp_path / "data" / "files")
        assert len(blobs) == 2 and temps == []  # the warm-up and the 40 MiB: no partial one
    finally:
        server.stop()


def rss_bytes(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS")


@pytest.mark.parametrize("framing", ["length", "chunked"])
async def test_a_killed_upload_leaves_nothing(
    server: RunningServer, http: aiohttp.ClientSession, tokens: list[str], framing: str
) -> None:
    alice = tokens[0]
    root = server.config.files_dir
    extra = (
        "Content-Length: 10485760\r\n" if framing == "length" else "Transfer-Encoding: chunked\r\n"
    )
    _, writer = await raw_request(server.url, upload_head(server.url, alice, extra))
    piece = os.urandom(256 * 1024)
    for _ in range(4):
        writer.write(piece if framing == "length" else b"40000\r\n" + piece + b"\r\n")
    await writer.drain()
    temp_dir = LocalFileStore(root).temp_dir
    await until(lambda: any(p.stat().st_size > 0 for p in temp_dir.iterdir()))
    writer.transport.abort()  # the client dies mid-body
    await until(lambda: files_on_disk(root) == ([], []))
    assert await server.node.storage.file_usage("alice") == 0
    assert (await uploaded(http, server.url, alice, b"after", "a.txt"))["size"] == 5


async def test_a_stalled_body_times_out_a_slow_one_does_not(
    tmp_path: Path, http: aiohttp.ClientSession
) -> None:
    config = config_for(tmp_path / "data", http_body_timeout=0.5)
    async with running_server(config) as server:
        alice = (await public_room(http, server.url, "team", ["alice"]))[0]
        stall = asyncio.Event()

        async def stalled() -> AsyncIterator[bytes]:
            yield b"a beginning"
            await stall.wait()  # never set: the client goes quiet
            yield b"never"

        reply = await upload(http, server.url, alice, stalled())
        assert (reply.status, reply.body["code"]) == (408, "timeout")
        await until(lambda: files_on_disk(config.files_dir) == ([], []))

        async def slow() -> AsyncIterator[bytes]:
            for _ in range(8):  # 1.6 s in all, never 0.5 s without a byte
                yield b"x" * 100
                await asyncio.sleep(0.2)

        reply = await upload(http, server.url, alice, slow(), "slow.txt")
        assert reply.status == 201 and reply.body["size"] == 800


async def test_uploads_at_once_per_user_are_bounded(
    tmp_path: Path, http: aiohttp.ClientSession, storage_url: str
) -> None:
    config = config_for(tmp_path / "data", max_uploads_per_user=2, storage_url=storage_url)
    async with running_server(config) as server:
        alice, bob = await public_room(http, server.url, "team", ["alice", "bob"])
        release = asyncio.Event()
        started = 0

        async def held() -> AsyncIterator[bytes]:
            nonlocal started
            yield b"first part"
            started += 1
            await release.wait()
            yield b", then the rest"

        running = [asyncio.create_task(upload(http, server.url, alice, held())) for _ in range(2)]
        temp_dir = LocalFileStore(config.files_dir).temp_dir
        await until(lambda: started == 2 and len(list(temp_dir.iterdir())) == 2)
        third = await upload(http, server.url, alice, b"one too many")
        assert (third.status, third.body["code"]) == (429, "rate_limited")
        assert (await upload(http, server.url, bob, b"bob's own")).status == 201
        release.set()
        assert [r.status for r in await asyncio.gather(*running)] == [201, 201]
        assert (await upload(http, server.url, alice, b"now there is room")).status == 201


async def test_the_quota_counts_live_files(
    tmp_path: Path, http: aiohttp.ClientSession, storage_url: str
) -> None:
    config = config_for(tmp_path / "data", file_quota_bytes=1000, storage_url=storage_url)
    async with running_server(config) as server:
        alice = (await public_room(http, server.url, "team", ["alice"]))[0]
        first = await uploaded(http, server.url, alice, b"a" * 600, "a.txt")
        over = await upload(http, server.url, alice, b"b" * 600, "b.txt")  # Content-Length
        assert (over.status, over.body["code"]) == (413, "too_large")
        assert "quota" in over.body["message"] and "1000" in over.body["message"]

        async def chunked() -> AsyncIterator[bytes]:
            yield b"c" * 600

        over = await upload(http, server.url, alice, chunked(), "c.txt")  # checked on write
        assert (over.status, over.body["code"]) == (413, "too_large")
        assert "quota" in over.body["message"]
        sent = await post(http, server.url, alice, "", [first["id"]])
        await call_api(
            http, "DELETE", f"{server.url}{API}/rooms/team/messages/{sent.body['seq']}", alice
        )
        assert (await upload(http, server.url, alice, b"d" * 600, "d.txt")).status == 201


# --- the sweep ------------------------------------------------------------------------------


async def test_the_sweep_removes_orphans_and_nothing_else(
    server: RunningServer, http: aiohttp.ClientSession, tokens: list[str]
) -> None:
    alice, bob, _ = tokens
    url, config = server.url, server.config
    kept = await uploaded(http, url, alice, image("PNG", (50, 50), "green"), "kept.png")
    await post(http, url, alice, "sent", [kept["id"]])
    dropped = await uploaded(http, url, alice, image("PNG", (50, 50), "blue"), "late.png")
    assert len(files_on_disk(config.files_dir)[0]) == 4  # two contents, two thumbnails
    store = LocalFileStore(config.files_dir)
    later = server.node.actions.clock() + round(config.pending_file_ttl * 1000) + 1
    swept = await sweep(
        server.node.storage, store, later, config.pending_file_ttl, wall=time.time() + 2 * GRACE
    )
    assert (swept.pending, swept.blobs) == (1, 2)
    assert len(files_on_disk(config.files_dir)[0]) == 2
    assert (await fetch(http, url, alice, dropped["id"]))[0] == 404
    assert (await fetch(http, url, bob, kept["id"]))[0] == 200
    assert (await fetch(http, url, bob, f"{kept['id']}/thumb"))[0] == 200
    refused = await post(http, url, alice, "too late", [dropped["id"]])
    assert refused.status == 404


async def test_the_files_routes_are_in_the_openapi_document(
    server: RunningServer, http: aiohttp.ClientSession
) -> None:
    async with http.get(f"{server.url}{API}/openapi.json") as response:
        doc = await response.json()
    upload_op = doc["paths"][f"{API}/rooms/{{room}}/files"]["post"]
    assert "application/octet-stream" in upload_op["requestBody"]["content"]
    assert upload_op["responses"]["201"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/FileInfo"
    }
    assert [p["name"] for p in upload_op["parameters"]] == ["room", "name"]
    for path in ("/files/{file}", "/files/{file}/thumb", "/files/{file}/{name}"):
        op = doc["paths"][API + path]["get"]
        assert "206" in op["responses"], path
