"""Guarantee 6: a client that stops reading is cut off; everyone else keeps receiving."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import aiohttp
from support import Client, assert_gapless, config_for, register, running_server

from hubbub.protocol.codes import CloseCode
from hubbub.protocol.limits import MAX_BODY_CHARS

STORAGE_ENGINES = ("sqlite", "postgresql")  # on each (tests/conftest.py)


async def test_a_client_that_stops_reading_is_disconnected_and_others_get_everything(
    tmp_path: Path, http: aiohttp.ClientSession, storage_url: str
) -> None:
    config = config_for(
        tmp_path,
        storage_url=storage_url,
        max_outbox_bytes=256 * 1024,
        slow_consumer_grace=30.0,
    )
    async with running_server(config) as server:
        alice = await register(http, server.url, "alice")
        bob = await register(http, server.url, "bob")
        carol = await register(http, server.url, "carol")
        async with (
            Client.connect(http, server.url, alice, sync={}) as sender,
            Client.connect(http, server.url, bob, sync={}) as reader,
        ):
            await sender.ok("create", name="firehose")
            await reader.ok("join", room="firehose")
            # carol joins, syncs, and then never reads again.
            slow = await http.ws_connect(
                server.url + "/",
                protocols=("hubbub.v1",),
                headers={"Authorization": f"Bearer {carol}"},
            )
            assert json.loads((await slow.receive()).data)["type"] == "ready"
            await slow.send_str(json.dumps({"type": "join", "id": 1, "room": "firehose"}))
            assert json.loads((await slow.receive()).data)["type"] == "room"

            body = "x" * MAX_BODY_CHARS
            total = 2500  # ~20 MB: more than the kernel's socket buffers and the bound
            # All in flight at once: the last acks wait behind the whole batch's commits,
            # which on a busy machine takes longer than one request's usual 10 s.
            acks = await asyncio.gather(
                *(
                    sender.request(
                        "send", timeout=60, room="firehose", body=body, client_msg_id=f"m{i}"
                    )
                    for i in range(total)
                )
            )
            assert all(ack["type"] == "sent" for ack in acks), acks[0]
            last = max(ack["seq"] for ack in acks)
            await reader.wait_for(
                lambda c: c.room_events("firehose")[-1]["seq"] == last, timeout=60
            )
            events = reader.room_events("firehose")
            assert len([e for e in events if e["type"] == "message"]) == total
            assert_gapless(events, start=events[0]["seq"])
            assert server.node.hub.connections == 2  # carol is gone from the hub

            # When carol reads again she finds what fitted in the buffers, then the close code.
            received = 0
            while True:
                message = await asyncio.wait_for(slow.receive(), 30)
                if message.type != aiohttp.WSMsgType.TEXT:
                    break
                received += 1
            assert message.type == aiohttp.WSMsgType.CLOSE
            assert slow.close_code == CloseCode.SLOW_CONSUMER
            assert 0 < received < total
            await slow.close()

        async with http.get(server.url + "/metrics") as response:
            assert "hubbub_slow_consumers_dropped_total 1.0" in await response.text()
