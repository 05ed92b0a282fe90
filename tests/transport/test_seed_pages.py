"""The seed's plain-text protocol: pages that send ``start_<name>`` and then text."""

from __future__ import annotations

import asyncio
from pathlib import Path

import aiohttp
import pytest
from support import Client, RunningServer, config_for, register, running_server

from hubbub.protocol.codes import CloseCode
from hubbub.protocol.limits import MAX_BODY_CHARS

FROZEN_MS = 1_700_000_000_000  # a server clock that does not move


async def receive_text(ws: aiohttp.ClientWebSocketResponse) -> str:
    message = await asyncio.wait_for(ws.receive(), 5)
    assert message.type == aiohttp.WSMsgType.TEXT, message
    return str(message.data)


async def test_two_seed_pages_and_a_json_client_see_each_other(
    server: RunningServer, http: aiohttp.ClientSession
) -> None:
    token = await register(http, server.url, "carol")
    async with Client.connect(http, server.url, token, sync={}) as carol:
        await carol.ok("join", room="lobby")
        # Exactly what the demo's pages did: no subprotocol, Origin null (opened as files).
        headers = {"Origin": "null"}
        ann = await http.ws_connect(server.url + "/", headers=headers)
        ben = await http.ws_connect(server.url + "/", headers=headers)
        try:
            await ann.send_str("start_ann")
            assert await receive_text(ben) == "start_ann"  # relayed to the others only
            await ben.send_str("start_ben")
            assert await receive_text(ann) == "start_ben"

            await ann.send_str("hello from ann")
            assert await receive_text(ann) == "hello from ann"  # the sender too
            assert await receive_text(ben) == "hello from ann"
            await carol.wait_for(lambda c: c.room_events("lobby", "message"))
            event = carol.room_events("lobby", "message")[0]
            assert (event["user"], event["body"]) == ("guest:ann", "hello from ann")

            await carol.send("lobby", "hi pages <b>bold</b>")
            assert await receive_text(ann) == "hi pages <b>bold</b>"
            assert await receive_text(ben) == "hi pages <b>bold</b>"

            await ben.send_bytes(b"\x00\x01binary")
            for ws in (ann, ben):
                message = await asyncio.wait_for(ws.receive(), 5)
                assert message.type == aiohttp.WSMsgType.BINARY
                assert message.data == b"\x00\x01binary"

            page = await carol.ok("history", room="lobby")
            stored = [(e["user"], e["body"]) for e in page["events"] if e["type"] == "message"]
            # start_ frames and binary frames are relayed, never stored.
            assert stored == [("guest:ann", "hello from ann"), ("carol", "hi pages <b>bold</b>")]
        finally:
            await ann.close()
            await ben.close()


async def test_a_guest_line_over_the_body_bound_closes_with_1009(
    server: RunningServer, http: aiohttp.ClientSession
) -> None:
    page = await http.ws_connect(server.url + "/")
    await page.send_str("x" * (MAX_BODY_CHARS + 1))
    message = await asyncio.wait_for(page.receive(), 5)
    assert message.type == aiohttp.WSMsgType.CLOSE
    assert page.close_code == CloseCode.TOO_BIG
    page_events = await server.node.storage.history("lobby", None, None, 10)
    assert page_events.events == []


async def test_a_guest_line_holding_nul_closes_with_1007_and_is_not_stored(
    server: RunningServer, http: aiohttp.ClientSession
) -> None:
    page = await http.ws_connect(server.url + "/")
    await page.send_str("before \x00 after")
    message = await asyncio.wait_for(page.receive(), 5)
    assert message.type == aiohttp.WSMsgType.CLOSE
    assert page.close_code == CloseCode.INVALID_DATA
    page_events = await server.node.storage.history("lobby", None, None, 10)
    assert page_events.events == []


async def test_a_flooding_guest_is_closed_with_4029(
    tmp_path: Path, http: aiohttp.ClientSession
) -> None:
    """Three lines fit the burst; the fourth closes the page. The server's clock stands
    still, so however slowly the lines arrive no token is refilled in between."""
    config = config_for(tmp_path, send_rate=1.0, send_burst=3.0)
    async with running_server(config, clock=lambda: FROZEN_MS) as server:
        page = await http.ws_connect(server.url + "/")
        for i in range(10):
            await page.send_str(f"line {i}")
        relayed = []
        while True:
            message = await asyncio.wait_for(page.receive(), 5)
            if message.type != aiohttp.WSMsgType.TEXT:
                break
            relayed.append(message.data)
        assert page.close_code == CloseCode.RATE_LIMITED
        assert relayed == ["line 0", "line 1", "line 2"]


async def test_guests_can_be_turned_off(tmp_path: Path, http: aiohttp.ClientSession) -> None:
    async with running_server(config_for(tmp_path, guests=False)) as server:
        with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
            await http.ws_connect(server.url + "/")
        assert refused.value.status == 403
