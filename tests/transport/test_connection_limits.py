"""The caps on connections, the front door's refusals and the HTTP body timeout, on real sockets.

Refusals written by the front door are HTTP responses like any other: a ``{code, message}``
JSON body and the same security headers as aiohttp's.
"""

from __future__ import annotations

import asyncio
import json
import logging
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from rawws import HandshakeRefused, RawWebSocket
from support import RunningServer, config_for, register, running_server, until

from hubbub.protocol.codes import CloseCode
from hubbub.protocol.handshake import MAX_HEAD
from hubbub.transport.admission import Admission, CapReached, Place
from hubbub.transport.app import LINGERING_TIME
from hubbub.transport.security import SECURITY_HEADERS


def assert_security_headers(headers: dict[str, str]) -> None:
    for name, value in SECURITY_HEADERS.items():
        assert headers.get(name.lower()) == value, (name, headers)


async def refused(url: str, **kwargs: Any) -> HandshakeRefused:
    with pytest.raises(HandshakeRefused) as info:
        await RawWebSocket.connect(url, **kwargs)
    return info.value


async def signed_in(server: RunningServer, token: str) -> RawWebSocket:
    ws = await RawWebSocket.connect(server.ws_url, token=token)
    assert (await ws.read_json())["type"] == "ready"
    return ws


def counts(server: RunningServer) -> tuple[int, dict[str, int], dict[str, int]]:
    admission = server.state.admission
    return admission.total, admission.guests, admission.users


async def exchange(
    port: int, request: bytes, timeout: float = 5.0
) -> tuple[int, dict[str, str], bytes]:
    """One raw HTTP exchange: the status, headers and body of the answer."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(request)
        await writer.drain()
        answer = await asyncio.wait_for(reader.read(), timeout)
    finally:
        writer.close()
    return parse_answer(answer)


def parse_answer(answer: bytes) -> tuple[int, dict[str, str], bytes]:
    head, _, body = answer.partition(b"\r\n\r\n")
    status_line, *lines = head.decode("latin-1").split("\r\n")
    headers = {}
    for line in lines:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return int(status_line.split()[1]), headers, body


def port_of(server: RunningServer) -> int:
    return int(server.url.rsplit(":", 1)[1])


# --- caps ---------------------------------------------------------------------------------------


async def test_the_global_cap_refuses_with_503_until_a_place_is_free(tmp_path: Path) -> None:
    async with running_server(config_for(tmp_path, max_connections=2)) as server:
        first = await RawWebSocket.connect(server.ws_url, protocol=None)
        second = await RawWebSocket.connect(server.ws_url)  # not signed in yet
        refusal = await refused(server.ws_url, protocol=None)
        assert refusal.status == 503
        assert json.loads(refusal.body) == {
            "code": "unavailable",
            "message": "the server has too many connections",
        }
        assert_security_headers(refusal.headers)

        await first.close()
        await until(lambda: counts(server)[0] == 1)
        third = await RawWebSocket.connect(server.ws_url, protocol=None)
        for ws in (second, third):
            await ws.close()
        await until(lambda: counts(server) == (0, {}, {}))


async def test_guests_and_sockets_not_signed_in_share_a_cap_per_address(tmp_path: Path) -> None:
    config = config_for(tmp_path, max_guest_connections_per_address=2)
    async with running_server(config) as server, aiohttp.ClientSession() as http:
        tokens = [await register(http, server.url, name) for name in ("alice", "bob")]
        async with AsyncExitStack() as stack:
            # Signed-in sockets do not count against the guests' cap...
            for token in tokens:
                stack.push_async_callback((await signed_in(server, token)).close)
            guest = await RawWebSocket.connect(server.ws_url, protocol=None)
            stack.push_async_callback(guest.close)
            waiting = await RawWebSocket.connect(server.ws_url)  # no credential yet
            assert counts(server) == (4, {"127.0.0.1": 2}, {"127.0.0.1": 2})
            # ...but a third guest or unauthenticated socket from the address does.
            for protocol in (None, "hubbub.v1"):
                refusal = await refused(server.ws_url, protocol=protocol)
                assert refusal.status == 429
                assert json.loads(refusal.body)["code"] == "rate_limited"
                assert_security_headers(refusal.headers)

            # Signing in moves the socket to the signed-in count and frees a guest's place.
            await waiting.send_json({"type": "auth", "id": 1, "token": tokens[0]})
            assert (await waiting.read_json())["type"] == "ready"
            stack.push_async_callback(waiting.close)
            assert counts(server) == (4, {"127.0.0.1": 1}, {"127.0.0.1": 3})
            another = await RawWebSocket.connect(server.ws_url, protocol=None)
            stack.push_async_callback(another.close)
        await until(lambda: counts(server) == (0, {}, {}))


async def test_signing_in_past_the_address_cap_closes_with_1013(tmp_path: Path) -> None:
    config = config_for(tmp_path, max_user_connections_per_address=1)
    async with running_server(config) as server, aiohttp.ClientSession() as http:
        token = await register(http, server.url, "alice")
        first = await signed_in(server, token)
        second = await RawWebSocket.connect(server.ws_url, token=token)
        frames, close = await second.read_until_close()
        assert frames == []  # never `ready`
        assert close.close_code == CloseCode.TRY_AGAIN_LATER
        assert close.payload[2:] == b"too many connections from this address"
        await second.send_close(close.close_code)
        await second.close()
        await until(lambda: counts(server) == (1, {}, {"127.0.0.1": 1}))

        await first.close()
        await until(lambda: counts(server) == (0, {}, {}))
        third = await signed_in(server, token)  # the place was given back
        await third.close()


async def test_places_are_given_back_on_every_path(tmp_path: Path) -> None:
    config = config_for(
        tmp_path, max_guest_connections_per_address=1, auth_timeout=0.2, close_timeout=0.2
    )
    async with running_server(config) as server:
        # A bad token: refused after the handshake, with 4401.
        bad = await RawWebSocket.connect(server.ws_url, token="not-a-token")
        _, close = await bad.read_until_close()
        assert close.close_code == CloseCode.UNAUTHENTICATED
        await bad.close()
        await until(lambda: counts(server) == (0, {}, {}))
        # No auth frame in time: 4401 again, and the peer never answers the close.
        silent = await RawWebSocket.connect(server.ws_url)
        await until(lambda: counts(server) == (0, {}, {}))
        await silent.close()
        # A guest that just goes away.
        guest = await RawWebSocket.connect(server.ws_url, protocol=None)
        await guest.close()
        await until(lambda: counts(server) == (0, {}, {}))
        # A refused handshake takes no place at all.
        holder = await RawWebSocket.connect(server.ws_url, protocol=None)
        assert (await refused(server.ws_url, protocol=None)).status == 429
        assert counts(server) == (1, {"127.0.0.1": 1}, {})
        await holder.close()


# --- the front door -----------------------------------------------------------------------------


def upgrade_head(extra: str = "", target: str = "/") -> bytes:
    return (
        f"GET {target} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
        "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
        f"Sec-WebSocket-Version: 13\r\n{extra}\r\n"
    ).encode("latin-1")


@pytest.mark.parametrize("kind", ["websocket", "http"])
async def test_a_head_over_16_kib_in_one_write_is_refused_with_431(
    server: RunningServer, kind: str
) -> None:
    padding = "".join(f"X-Pad-{i}: {'p' * 1000}\r\n" for i in range(MAX_HEAD // 1000 + 1))
    request = (
        upgrade_head(padding)
        if kind == "websocket"
        else f"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n{padding}\r\n".encode()
    )
    assert len(request) > MAX_HEAD
    status, headers, body = await exchange(port_of(server), request)
    assert status == 431
    assert json.loads(body)["code"] == "too_large"
    assert_security_headers(headers)


async def test_front_door_refusals_carry_the_security_headers(server: RunningServer) -> None:
    status, headers, body = await exchange(port_of(server), upgrade_head(target="/nowhere"))
    assert status == 404
    assert json.loads(body) == {"code": "not_found", "message": "WebSockets are served on /"}
    assert_security_headers(headers)


@pytest.mark.parametrize("kind", ["websocket", "http"])
async def test_control_characters_in_a_head_are_400_without_a_traceback(
    server: RunningServer, kind: str, caplog: pytest.LogCaptureFixture
) -> None:
    header = "X-Note: a\x00b\r\n"
    request = (
        upgrade_head(header)
        if kind == "websocket"
        else f"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n{header}\r\n".encode()
    )
    with caplog.at_level(logging.DEBUG):
        status, headers, body = await exchange(port_of(server), request)
    assert status == 400
    assert json.loads(body)["code"] == "bad_request"
    assert_security_headers(headers)
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING or r.exc_info]


async def test_an_https_origin_is_not_a_plain_http_servers_own(tmp_path: Path) -> None:
    listed = "https://chat.example"
    async with (
        running_server(config_for(tmp_path, allowed_origins=(listed,))) as server,
        aiohttp.ClientSession() as http,
    ):
        token = await register(http, server.url, "alice")
        host = server.url.removeprefix("http://")

        async def with_cookie(origin: str) -> RawWebSocket:
            headers = {"Cookie": f"hubbub_session={token}", "Origin": origin}
            return await RawWebSocket.connect(server.ws_url, headers=headers)

        refusal = await refused(
            server.ws_url,
            headers={"Cookie": f"hubbub_session={token}", "Origin": f"https://{host}"},
        )
        assert refusal.status == 403
        assert_security_headers(refusal.headers)
        for origin in (f"http://{host}", listed):
            ws = await with_cookie(origin)
            assert (await ws.read_json())["type"] == "ready"
            await ws.close()


# --- HTTP bodies ----------------------------------------------------------------------------------


async def test_a_trickling_http_body_gets_408_in_time(tmp_path: Path) -> None:
    async with running_server(config_for(tmp_path, http_body_timeout=0.5)) as server:
        reader, writer = await asyncio.open_connection("127.0.0.1", port_of(server))
        body = json.dumps({"username": "slowpoke", "password": "correct horse battery"}).encode()
        writer.write(
            b"POST /api/v1/register HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            b"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n" % len(body)
        )

        async def trickle() -> None:  # one byte at a time, far slower than the timeout allows
            for byte in body:
                writer.write(bytes([byte]))
                await writer.drain()
                await asyncio.sleep(0.2)

        trickling = asyncio.create_task(trickle())
        try:
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)
            status, headers, _ = parse_answer(head)
            response = await reader.readexactly(int(headers["content-length"]))
            assert not trickling.done()  # answered before the body was whole
            # and the connection ends soon after, though the body still trickles in
            assert await asyncio.wait_for(reader.read(), LINGERING_TIME + 3) == b""
            assert not trickling.done()
        finally:
            trickling.cancel()
            writer.close()
        assert status == 408
        assert json.loads(response) == {
            "code": "timeout",
            "message": "the request body took too long",
        }
        assert_security_headers(headers)


def test_a_place_is_given_back_exactly_once() -> None:
    admission = Admission(max_total=3, max_users_per_address=1, max_guests_per_address=2)
    first = admission.admit("a")
    second = admission.admit("a")
    with pytest.raises(CapReached) as address_cap:
        admission.admit("a")
    assert not address_cap.value.server_wide
    signed_in = admission.sign_in("a", first)
    assert signed_in is Place.USER
    assert admission.sign_in("a", second) is None  # the address's signed-in cap: nothing moves
    assert (admission.total, admission.guests, admission.users) == (2, {"a": 1}, {"a": 1})
    admission.admit("b")
    with pytest.raises(CapReached) as server_cap:
        admission.admit("c")
    assert server_cap.value.server_wide

    released = admission.release("a", signed_in)
    assert admission.release("a", released) is Place.NONE  # a second release changes nothing
    assert (admission.total, admission.guests, admission.users) == (2, {"a": 1, "b": 1}, {})
