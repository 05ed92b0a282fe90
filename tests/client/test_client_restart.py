"""hubbub.client across a server restart (``hubbub serve`` as a subprocess, stopped with
SIGTERM and started again on the same port and data dir): it reconnects by itself, resumes
with ``sync``, and delivers every event exactly once and in order, those another user sent
while it was away included; messages written while the server was down are sent once each
when it is back."""

from __future__ import annotations

import asyncio
from pathlib import Path

import aiohttp
from client.client_support import Gate
from support import EventLog, ServerProcess, call_api, public_room, read_history, until

from hubbub.client import Client, ConnectionState
from hubbub.core.events import Message


async def _post(http: aiohttp.ClientSession, url: str, token: str, key: str, body: str) -> None:
    posted = await call_api(
        http,
        "POST",
        f"{url}/api/v1/rooms/team/messages",
        token,
        json={"client_msg_id": key, "body": body},
    )
    assert posted.status == 201, posted.body


async def test_resume_across_a_restart(tmp_path: Path) -> None:
    server = ServerProcess(tmp_path / "data")
    server.start()
    gate = Gate()
    states: list[ConnectionState] = []
    try:
        async with aiohttp.ClientSession() as http, gate.session() as session:
            alice, bob = await public_room(http, server.url, "team", ["alice", "bob"])
            client = Client(
                server.url,
                token=alice,
                session=session,
                on_state=states.append,
                backoff_first=0.05,
                backoff_max=0.2,
            )
            async with client:
                log = EventLog(client)
                for n in range(3):
                    await _post(http, server.url, bob, f"before-{n}", f"before {n}")
                await until(lambda: len(log.messages("team")) == 3)

                gate.open.clear()  # from now on the client cannot reach the server
                assert await asyncio.to_thread(server.terminate) == 0
                server.stop()  # its output pipe closed before the next process
                await until(lambda: client.state is ConnectionState.RECONNECTING)
                queued = [client.enqueue("team", f"queued {n}") for n in range(3)]
                await asyncio.to_thread(server.start)
                for n in range(3):  # sent by bob while alice is away
                    await _post(http, server.url, bob, f"away-{n}", f"away {n}")
                gate.open.set()

                await until(lambda: len(log.messages("team")) == 9, timeout=20)
                await until(lambda: not client.outbox)
                await log.stop()
            assert states == [
                ConnectionState.CONNECTED,
                ConnectionState.RECONNECTING,
                ConnectionState.CONNECTED,
                ConnectionState.CLOSED,
            ]
            messages = log.messages("team")
            seqs = [item.seq for item in log.items if isinstance(item, Message)]
            assert seqs == list(range(seqs[0], seqs[0] + 9))  # in order, none missing, none twice
            assert client.repeats == 0  # and the resume sent nothing twice
            assert [m.body for m in messages] == [
                *(f"before {n}" for n in range(3)),
                *(f"away {n}" for n in range(3)),
                *(f"queued {n}" for n in range(3)),
            ]
            assert [m.client_msg_id for m in messages[6:]] == queued
            history = await read_history(http, server.url, alice, "team")
            stored = [e["body"] for e in history if e["type"] == "message"]
            assert stored == [m.body for m in messages]  # each queued message stored once
    finally:
        server.stop()
