"""hubbub.client against a real in-process server over real sockets: typed replies and
events, typed errors, a credential that stops the client at once, the persisted outbox
across two client instances, and the echo bot example."""

from __future__ import annotations

import asyncio
import importlib.util
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from client.client_support import Gate
from support import (
    PASSWORD,
    EventLog,
    RunningServer,
    call_api,
    free_port,
    read_history,
    team_and_outsider,
    until,
)

from hubbub.client import (
    AuthFailed,
    Client,
    ConnectionState,
    RequestError,
    SendFailed,
)
from hubbub.core.events import Message, MessageEdited, ReactionAdded
from hubbub.protocol.messages import SentOut

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


async def test_requests_and_events_are_the_servers_types(
    server: RunningServer, http: aiohttp.ClientSession
) -> None:
    alice, bob, _ = await team_and_outsider(server, http)
    async with Client(server.url, token=alice) as client:
        log = EventLog(client)
        sent = await client.send("TEAM", "hello @bob")
        assert isinstance(sent, SentOut)
        assert sent.room == "team"
        reacted = await client.react("team", sent.seq, "👍")
        assert [(r.emoji, r.count, r.me) for r in reacted.reactions] == [("👍", 1, True)]
        edited = await client.edit("team", sent.seq, "hello again")
        assert edited.body == "hello again" and edited.edited_at is not None
        posted = await call_api(
            http,
            "POST",
            f"{server.url}/api/v1/rooms/team/messages",
            bob,
            json={"client_msg_id": "b1", "body": "from bob"},
        )
        assert posted.status == 201, posted.body
        await until(lambda: len(log.messages("team")) == 2)
        first, second = log.messages("team")
        assert (first.seq, first.body, first.mentions) == (sent.seq, "hello @bob", ("bob",))
        assert (second.user, second.body) == ("bob", "from bob")
        kinds = [type(item) for item in log.items]
        assert kinds == [Message, ReactionAdded, MessageEdited, Message]
        history = await client.history("team", after=sent.seq - 1)
        assert [type(e) for e in history.events] == kinds
        seen = [e.seq for e in log.items if isinstance(e, Message | ReactionAdded | MessageEdited)]
        assert [e.seq for e in history.events] == seen
        assert {room.name for room in await client.rooms()} == {"team"}
        members = await client.members("team")
        assert members.users == ["alice", "bob"]
        found = await client.search("again")
        assert [(hit.seq, hit.ranges) for hit in found.results] == [(sent.seq, [(6, 11)])]
        assert client.since() == {"team": sent.seq + 3}
        await log.stop()


async def test_refusals_are_typed_errors(
    server: RunningServer, http: aiohttp.ClientSession
) -> None:
    _, _, carol = await team_and_outsider(server, http)
    async with Client(server.url, token=carol) as client:
        with pytest.raises(RequestError) as refused:
            await client.send("team", "let me in")
        assert refused.value.code == "forbidden"
        assert client.outbox == []  # refused for good: not retried
        with pytest.raises(RequestError) as missing:
            await client.history("no-such-room")
        assert (missing.value.code, missing.value.message) == (
            "not_found",
            "no room named 'no-such-room'",
        )
        with pytest.raises(RequestError) as blank:  # checked here, as the server checks it
            client.enqueue("team", "   ")
        assert blank.value.code == "bad_request"
        with pytest.raises(RequestError) as short:
            await client.search("ab")
        assert short.value.code == "bad_request"
        # A message nobody awaits that the server refuses comes as SendFailed.
        log = EventLog(client)
        key = client.enqueue("team", "fire and forget")
        await until(lambda: bool(log.items))
        (failed,) = log.items
        assert isinstance(failed, SendFailed)
        assert (failed.client_msg_id, failed.room, failed.error.code) == (key, "team", "forbidden")
        await log.stop()


async def test_a_bad_token_stops_at_once(server: RunningServer) -> None:
    gate = Gate()
    states: list[ConnectionState] = []
    async with gate.session() as session:
        client = Client(
            server.url, token="x" * 43, session=session, on_state=states.append, backoff_first=0.01
        )
        with pytest.raises(AuthFailed) as failed:
            async with client:
                pass
        assert failed.value.close_code == 4401
        assert states == [ConnectionState.CLOSED]
        assert len(gate.requests) == 1  # one handshake, no retry loop
        with pytest.raises(AuthFailed):
            async for _ in client.events():
                pass


async def test_password_sign_in_and_a_wrong_one(
    server: RunningServer, http: aiohttp.ClientSession
) -> None:
    await team_and_outsider(server, http)
    async with Client(server.url, username="Alice", password=PASSWORD) as client:
        assert client.user == "alice"
        assert (await client.join("team")).name == "team"
    gate = Gate()
    async with gate.session() as session:
        wrong = Client(server.url, username="alice", password="not the password", session=session)
        with pytest.raises(AuthFailed) as failed:
            await wrong.connect()
        await wrong.close()
    assert (failed.value.status, failed.value.code) == (401, "unauthenticated")
    assert [url.rsplit("/", 1)[-1] for url in gate.requests] == ["login"]  # once, no socket


async def test_a_persisted_outbox_is_sent_by_the_next_client(
    server: RunningServer, http: aiohttp.ClientSession, tmp_path: Path
) -> None:
    alice, _, _ = await team_and_outsider(server, http)
    path = tmp_path / "outbox.jsonl"
    nowhere = f"http://127.0.0.1:{free_port()}"  # no server: nothing is acknowledged
    first = Client(nowhere, token=alice, outbox_path=path, backoff_first=0.01, backoff_max=0.05)
    first.start()
    keys = [first.enqueue("team", f"queued {n}") for n in range(3)]
    await first.close()
    assert [
        entry.client_msg_id for entry in Client(nowhere, token=alice, outbox_path=path).outbox
    ] == keys
    # The first one was stored after all (its ack lost): sent again, it is stored once.
    stored = await call_api(
        http,
        "POST",
        f"{server.url}/api/v1/rooms/team/messages",
        alice,
        json={"client_msg_id": keys[0], "body": "queued 0"},
    )
    assert stored.status == 201
    async with Client(server.url, token=alice, outbox_path=path) as second:
        await until(lambda: not second.outbox)
    assert path.read_bytes() == b""
    bodies = [e["body"] for e in await read_history(http, server.url, alice, "team") if "body" in e]
    assert bodies == ["queued 0", "queued 1", "queued 2"]


def _echo_bot() -> Any:
    spec = importlib.util.spec_from_file_location("echo_bot", EXAMPLES / "echo_bot.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


async def test_the_echo_bot_echoes(server: RunningServer, http: aiohttp.ClientSession) -> None:
    alice, bot, _ = await team_and_outsider(server, http)  # "bob" is the bot
    task = asyncio.create_task(_echo_bot().main(server.url, "team", token=bot))
    try:
        async with Client(server.url, token=alice) as client:
            log = EventLog(client)
            await until(lambda: _follows(server, "bob", "team"))  # the bot has resumed
            await client.send("team", "!echo ping")
            await client.send("team", "hi @bob")
            await client.send("team", "not for the bot")
            await until(lambda: _bodies_of(log, "bob") == ["ping", "hi @bob"])
            await client.send("team", "!echo last")  # ordered: nothing else came between
            await until(lambda: _bodies_of(log, "bob")[-1:] == ["last"])
            assert _bodies_of(log, "bob") == ["ping", "hi @bob", "last"]
            await log.stop()
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    assert task.cancelled()  # it ran until stopped, and stopped cleanly


def _follows(server: RunningServer, user: str, room: str) -> bool:
    return any(session.user == user for session, _ in server.node.hub.followers(room))


def _bodies_of(log: EventLog, user: str) -> list[str]:
    return [message.body for message in log.messages("team") if message.user == user]


async def test_a_revoked_token_stops_the_client(
    server: RunningServer, http: aiohttp.ClientSession
) -> None:
    alice, _, _ = await team_and_outsider(server, http)
    gate = Gate()
    states: list[ConnectionState] = []
    async with gate.session() as session:
        client = Client(
            server.url, token=alice, session=session, on_state=states.append, backoff_first=0.01
        )
        async with client:
            log = EventLog(client)
            out = await call_api(
                http,
                "POST",
                f"{server.url}/api/v1/logout",
                alice,
                headers={"Content-Type": "application/json"},
            )
            assert out.status == 204
            await until(lambda: client.state is ConnectionState.CLOSED)
            with pytest.raises(AuthFailed):
                await client.rooms()
            await until(lambda: log.error is not None)
            assert isinstance(log.error, AuthFailed) and log.error.close_code == 4401
        assert states == [ConnectionState.CONNECTED, ConnectionState.CLOSED]
        assert len(gate.requests) == 1  # not one attempt more with the dead token


async def test_with_a_password_a_revoked_token_is_replaced(
    server: RunningServer, http: aiohttp.ClientSession
) -> None:
    alice, _, _ = await team_and_outsider(server, http)
    gate = Gate()
    states: list[ConnectionState] = []
    async with (
        gate.session() as session,
        Client(
            server.url,
            username="alice",
            password=PASSWORD,
            session=session,
            on_state=states.append,
            backoff_first=0.01,
        ) as client,
    ):
        # Every other token of alice's is revoked: the client's socket closes with 4401.
        changed = await call_api(
            http,
            "POST",
            f"{server.url}/api/v1/me/password",
            alice,
            json={"old_password": PASSWORD, "new_password": PASSWORD, "sign_out_others": True},
        )
        assert changed.status == 204, changed.body
        await until(lambda: states.count(ConnectionState.CONNECTED) == 2)
        assert (await client.join("team")).name == "team"
    kinds = [url.rsplit("/", 1)[-1] for url in gate.requests]
    assert kinds == ["login", "", "login", ""]  # signed in once more, then one socket
    assert states == [
        ConnectionState.CONNECTED,
        ConnectionState.RECONNECTING,
        ConnectionState.CONNECTED,
        ConnectionState.CLOSED,
    ]
