"""RFC 6455 over raw sockets: each case writes exact bytes and expects an exact close code.

Every case also checks the closing handshake: the server writes exactly one close frame, then
ends the TCP connection itself, without waiting for an answer that may never come (the
close grace is set long, so a server that waited on it would fail the case), and gives the
connection's place under the caps back. The cases run on plain-text guest sockets, which
share the WebSocket layer with ``hubbub.v1`` sockets; the cases about requests use those.
"""

from __future__ import annotations

import asyncio
import struct
import tracemalloc
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from rawws import (
    OP_BINARY,
    OP_CLOSE,
    OP_CONTINUATION,
    OP_PING,
    OP_PONG,
    OP_TEXT,
    Frame,
    RawWebSocket,
    client_frame,
)
from support import (
    RunningServer,
    ServerProcess,
    config_for,
    register,
    running_server,
    until,
)

from hubbub.protocol.wsframe import text_frame
from hubbub.transport.connection import WsConnection

MAX_MESSAGE = 1024
GRACE = 30.0  # long: a close that waited for it would time the test out

# --- the table ------------------------------------------------------------------------------


def close(code: int, reason: bytes = b"") -> bytes:
    return client_frame(OP_CLOSE, struct.pack("!H", code) + reason)


def text(payload: bytes, fin: bool = True) -> bytes:
    return client_frame(OP_TEXT, payload, fin=fin)


@dataclass(frozen=True)
class Case:
    name: str
    sent: bytes  # written in one go after the handshake
    code: int  # the one close code the server answers with


ECHOED = (1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014, 3000, 4999)
NOT_SENDABLE = (0, 999, 1004, 1005, 1006, 1015, 1016, 2000, 2999, 5000, 65535)

CASES = [
    *(Case(f"peer closes with {code}: echoed", close(code), code) for code in ECHOED),
    Case("peer closes with a code and a reason", close(4100, "bye 👋".encode()), 4100),
    Case("peer closes without a code: answered with 1000", client_frame(OP_CLOSE), 1000),
    *(
        Case(f"peer closes with {code}, which no peer may send", close(code), 1002)
        for code in NOT_SENDABLE
    ),
    Case("close payload of one byte", client_frame(OP_CLOSE, b"\x03"), 1002),
    Case("close reason that is not UTF-8", close(1000, b"\xc3\x28"), 1007),
    Case("text that is not UTF-8", text(b"caf\xe9"), 1007),
    Case("invalid UTF-8 in a first fragment fails at once", text(b"ok\xc3\x28", fin=False), 1007),
    Case(
        "invalid UTF-8 across fragments fails before the last",
        text(b"\xe2\x82", fin=False) + client_frame(OP_CONTINUATION, b"\x28", fin=False),
        1007,
    ),
    Case("an unmasked frame", client_frame(OP_TEXT, b"hi", masked=False), 1002),
    Case("reserved bits set", client_frame(OP_TEXT, b"hi", rsv=4), 1002),
    Case("an unknown data opcode", client_frame(0x3, b""), 1002),
    Case("an unknown control opcode", client_frame(0xB, b""), 1002),
    Case("a continuation without a message", client_frame(OP_CONTINUATION, b"x"), 1002),
    Case("a new message inside a fragmented one", text(b"a", fin=False) + text(b"b"), 1002),
    Case("a fragmented ping", client_frame(OP_PING, b"", fin=False), 1002),
    Case("a fragmented close", client_frame(OP_CLOSE, b"\x03\xe8", fin=False), 1002),
    Case("a control frame over 125 bytes", client_frame(OP_PING, b"p" * 126), 1002),
    Case("a message over the bound", client_frame(OP_BINARY, b"b" * (MAX_MESSAGE + 1)), 1009),
    Case(
        "fragments over the bound together",
        client_frame(OP_BINARY, b"b" * 600, fin=False) + client_frame(OP_CONTINUATION, b"b" * 600),
        1009,
    ),
    Case(
        "frames before a bad one are handled first",
        client_frame(OP_PING, b"first") + client_frame(OP_TEXT, b"x", masked=False),
        1002,
    ),
]


def conformance_config(tmp_path: Path, **overrides: Any) -> Any:
    settings: dict[str, Any] = {
        "max_frame_bytes": MAX_MESSAGE,
        "close_timeout": GRACE,
        "slow_consumer_grace": GRACE,
    }
    return config_for(tmp_path, **(settings | overrides))


async def signed_in_raw(server: RunningServer, token: str, **options: Any) -> RawWebSocket:
    ws = await RawWebSocket.connect(server.ws_url, token=token, **options)
    assert (await ws.read_json())["type"] == "ready"
    return ws


def only_connection(server: RunningServer) -> WsConnection:
    (connection,) = server.state.connections
    return connection


async def assert_released(server: RunningServer) -> None:
    """The connection is gone, and its place under the caps given back."""
    await until(lambda: not server.state.connections)
    admission = server.state.admission
    assert (admission.total, admission.guests, admission.users) == (0, {}, {})


def assert_one_close_last(frames: list[Frame], code: int) -> None:
    closes = [f for f in frames if f.opcode == OP_CLOSE]
    assert [f.close_code for f in closes] == [code], frames
    assert frames[-1].opcode == OP_CLOSE, "nothing may follow the close frame"


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
async def test_the_server_answers_with_exactly_one_close_and_ends_tcp(
    tmp_path: Path, case: Case
) -> None:
    async with running_server(conformance_config(tmp_path)) as server:
        ws = await RawWebSocket.connect(server.ws_url, protocol=None)
        await ws.send_raw(case.sent)
        frames = await ws.read_to_eof(timeout=5)  # the server ends TCP; the grace is 30 s
        assert_one_close_last(frames, case.code)
        await ws.close()
        await assert_released(server)


async def test_frames_before_a_bad_frame_in_the_same_write_are_answered_first(
    tmp_path: Path,
) -> None:
    async with (
        running_server(conformance_config(tmp_path)) as server,
        aiohttp.ClientSession() as http,
    ):
        token = await register(http, server.url, "alice")
        ws = await RawWebSocket.connect(server.ws_url, token=token)
        assert (await ws.read_json())["type"] == "ready"
        await ws.send_raw(
            text(b'{"type":"ping","id":7}')
            + client_frame(OP_PING, b"keepalive")
            + client_frame(OP_TEXT, b"x", masked=False)  # the bad one
            + text(b'{"type":"ping","id":8}')  # after it: never parsed
        )
        frames = await ws.read_to_eof(timeout=5)
        assert_one_close_last(frames, 1002)
        replies = [f.json() for f in frames if f.opcode == OP_TEXT]
        assert replies == [{"type": "pong", "re": 7}]
        assert [f.payload for f in frames if f.opcode == OP_PONG] == [b"keepalive"]
        await ws.close()
        await assert_released(server)


async def test_control_frames_inside_a_fragmented_message_are_answered_in_between(
    tmp_path: Path,
) -> None:
    async with (
        running_server(conformance_config(tmp_path)) as server,
        aiohttp.ClientSession() as http,
    ):
        token = await register(http, server.url, "alice")
        ws = await RawWebSocket.connect(server.ws_url, token=token)
        assert (await ws.read_json())["type"] == "ready"
        await ws.send_raw(text(b'{"type":"pi', fin=False) + client_frame(OP_PING, b"mid"))
        pong = await ws.read_frame()
        assert (pong.opcode, pong.payload) == (OP_PONG, b"mid")
        await ws.send_raw(client_frame(OP_CONTINUATION, b'ng","id":1}'))
        assert await ws.read_json() == {"type": "pong", "re": 1}
        await ws.send_raw(close(1000))
        assert_one_close_last(await ws.read_to_eof(timeout=5), 1000)
        await ws.close()


async def test_empty_messages_are_valid(tmp_path: Path) -> None:
    async with (
        running_server(conformance_config(tmp_path)) as server,
        aiohttp.ClientSession() as http,
    ):
        guest = await RawWebSocket.connect(server.ws_url, protocol=None)
        await guest.send_raw(text(b"") + text(b"", fin=False) + client_frame(OP_CONTINUATION))
        await guest.send_raw(client_frame(OP_PING, b"still open?"))
        frames = [await guest.read_frame() for _ in range(3)]  # the two empty lines relayed
        assert frames[-1].opcode == OP_PONG and frames[-1].payload == b"still open?"
        assert all(f.opcode != OP_CLOSE for f in frames)

        token = await register(http, server.url, "alice")
        ws = await RawWebSocket.connect(server.ws_url, token=token)
        assert (await ws.read_json())["type"] == "ready"
        await ws.send_raw(text(b""))
        assert (await ws.read_json())["code"] == "bad_request"
        await ws.send_json({"type": "ping", "id": 2})
        assert await ws.read_json() == {"type": "pong", "re": 2}
        for socket_ in (guest, ws):
            await socket_.close()


async def test_a_flood_of_empty_fragments_ends_with_1009_in_bounded_memory(
    tmp_path: Path,
) -> None:
    # 60 KB: 10 000 empty frames, sent up to 100 times: far past the fragments one message
    # may have, and a million list entries for a server that kept them.
    flood = client_frame(OP_CONTINUATION, fin=False) * 10_000
    async with running_server(conformance_config(tmp_path)) as server:
        ws = await RawWebSocket.connect(server.ws_url, protocol=None)
        await ws.send_raw(text(b"", fin=False))
        closed = asyncio.ensure_future(ws.read_to_eof(timeout=20))
        tracemalloc.start()
        try:
            sent = 0
            while not closed.done() and sent < 100:
                with suppress(ConnectionError):
                    await ws.send_raw(flood)
                sent += 1
                await asyncio.sleep(0)
            frames = await closed
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        assert_one_close_last(frames, 1009)
        assert peak < 2 * 1024 * 1024, f"{peak} bytes traced during the flood"
        await ws.close()
        await assert_released(server)


# --- output that is never read -------------------------------------------------------------


async def flood_pings_without_reading(ws: RawWebSocket, server: RunningServer, bound: int) -> int:
    """Send pings and never read their pongs, until the server cuts the TCP connection.
    Returns the most the server ever held unsent for the socket, checked after each write:
    the bound is checked at each flush, and a read's pongs are flushed at the bound."""
    ws.stop_reading()
    ping = client_frame(OP_PING, b"p" * 125) * 64  # 8 KiB of pings, each asking 127 bytes back
    most = 0
    with suppress(ConnectionError):
        while server.state.connections:
            await ws.send_raw(ping)
            most = max([most, *(c.unsent for c in server.state.connections)])
            assert most <= 2 * bound + 1024, "the server buffered past the bound"
    return most


async def test_pings_never_read_are_bounded_and_the_socket_is_cut_off(tmp_path: Path) -> None:
    config = conformance_config(
        tmp_path, unauthenticated_outbox_bytes=16 * 1024, slow_consumer_grace=0.3
    )
    async with running_server(config) as server:
        ws = await RawWebSocket.connect(server.ws_url, receive_buffer=4096)  # never signs in
        most = await asyncio.wait_for(flood_pings_without_reading(ws, server, 16 * 1024), 20)
        assert most > 0
        assert server.state.slow_consumers_dropped == 1
        await ws.close()
        await assert_released(server)


async def test_a_close_behind_unread_output_is_cut_off_after_the_close_grace(
    tmp_path: Path,
) -> None:
    """The 4401 of a socket that never signs in, behind pongs it never reads, still ends."""
    config = conformance_config(tmp_path, auth_timeout=0.5, close_timeout=0.3)
    async with running_server(config) as server:
        ws = await RawWebSocket.connect(server.ws_url, receive_buffer=4096)
        ws.stop_reading()
        connection = only_connection(server)
        ping = client_frame(OP_PING, b"p" * 125)
        while connection.unsent == 0 and not connection.closing:  # until the kernel is full
            await ws.send_raw(ping * 8)
            await asyncio.sleep(0)
        assert connection.unsent < config.unauthenticated_outbox_bytes  # not a slow consumer
        await until(lambda: connection.closing)  # the 4401 is written behind the pongs
        assert server.state.slow_consumers_dropped == 0
        await assert_released(server)  # aborted after close_timeout, not left to linger
        await ws.close()


# --- liveness -----------------------------------------------------------------------------------


async def test_a_peer_that_never_answers_pings_is_dropped(tmp_path: Path) -> None:
    config = conformance_config(tmp_path, ping_interval=0.2, ping_timeout=0.2)
    async with running_server(config) as server:
        ws = await RawWebSocket.connect(server.ws_url, protocol=None)
        frames = await ws.read_to_eof(timeout=10)  # reads, but never answers
        assert [f.opcode for f in frames] == [OP_PING, OP_CLOSE]
        assert frames[-1].close_code == 1011
        assert frames[-1].payload[2:] == b"ping timeout"
        assert (server.state.pings_sent, server.state.ping_timeouts) == (1, 1)
        await ws.close()
        await assert_released(server)


async def test_a_peer_that_answers_pings_stays_connected(tmp_path: Path) -> None:
    config = conformance_config(tmp_path, ping_interval=0.1, ping_timeout=0.1)
    async with running_server(config) as server:
        ws = await RawWebSocket.connect(server.ws_url, protocol=None)
        for _ in range(5):  # five intervals, each longer than interval + timeout together
            ping = await ws.read_frame()
            assert ping.opcode == OP_PING
            await ws.send_frame(OP_PONG, ping.payload)
        await until(lambda: server.state.pongs_received == 5)
        assert server.state.ping_timeouts == 0
        assert len(server.state.connections) == 1
        await ws.send_raw(close(1000))
        assert_one_close_last(await ws.read_to_eof(timeout=5), 1000)
        await ws.close()


async def test_hubbub_serve_runs_the_liveness_sweep_too(tmp_path: Path) -> None:
    server = ServerProcess(tmp_path, ping_interval=0.2, ping_timeout=10)
    server.start()
    try:
        ws = await RawWebSocket.connect(server.url + "/", protocol=None)
        ping = await ws.read_frame()
        assert ping.opcode == OP_PING
        await ws.close()
    finally:
        server.stop()


async def test_a_close_that_finds_the_buffer_over_its_bound_is_still_the_only_close(
    tmp_path: Path,
) -> None:
    """Closing flushes the queue; passing the bound then must not add a 4000 of its own."""
    config = conformance_config(tmp_path, max_outbox_bytes=64 * 1024, close_timeout=0.5)
    async with running_server(config) as server, aiohttp.ClientSession() as http:
        token = await register(http, server.url, "alice")
        ws = await signed_in_raw(server, token, receive_buffer=4096)
        ws.stop_reading()
        connection = only_connection(server)
        line = text_frame(b"x" * 1000)
        while connection.transport.get_write_buffer_size() == 0:  # until the kernel is full
            connection.send_frame(line)
            await asyncio.sleep(0)
        while connection.unsent <= 64 * 1024:  # queued in this turn, not yet written
            connection.send_frame(line)
        connection.close(1001, "going away")

        ws.writer.transport.resume_reading()  # type: ignore[attr-defined]
        frames = await ws.read_to_eof(timeout=10)
        assert_one_close_last(frames, 1001)
        assert server.state.slow_consumers_dropped == 0
        await ws.close()
        await assert_released(server)
