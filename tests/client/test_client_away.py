"""hubbub.client while away from a real in-process server: the server drops its sockets
(1001, as when it shuts down) and the client's reconnect is held at a gate while others
act. It then resumes, says so when the server cannot replay what it missed (``Gap``),
resumes the rooms it still is in when it was removed from one, and keeps its messages in
order through ``rate_limited`` answers."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import aiohttp
from client.client_support import Gate
from support import (
    EventLog,
    RunningServer,
    call_api,
    config_for,
    read_history,
    running_server,
    team_and_outsider,
    until,
)

from hubbub.client import Client, ConnectionState, Gap, Removed
from hubbub.core.events import MemberKicked
from hubbub.protocol.codes import CloseCode


@asynccontextmanager
async def _away(server: RunningServer, client: Client, gate: Gate) -> AsyncIterator[None]:
    """The client cut off (its sockets closed by the server, its reconnect held) for the
    body of the block, then back and resumed."""
    gate.open.clear()
    for connection in list(server.state.connections):
        connection.close(CloseCode.GOING_AWAY, "going away")
    await until(lambda: client.state is ConnectionState.RECONNECTING)
    yield
    gate.open.set()
    await client.wait_connected(10)


async def _post(http: aiohttp.ClientSession, server: RunningServer, token: str, n: int) -> int:
    posted = await call_api(
        http,
        "POST",
        f"{server.url}/api/v1/rooms/team/messages",
        token,
        json={"client_msg_id": f"bob-{n}", "body": f"bob {n}"},
    )
    assert posted.status == 201, posted.body
    return int(posted.body["seq"])


def _client(server: RunningServer, token: str, session: aiohttp.ClientSession) -> Client:
    return Client(server.url, token=token, session=session, backoff_first=0.02, backoff_max=0.1)


async def test_a_gap_too_long_to_replay_is_told(tmp_path: Path) -> None:
    gate = Gate()
    config = config_for(tmp_path / "data", replay_bound=3)
    async with (
        running_server(config) as server,
        aiohttp.ClientSession() as http,
        gate.session() as session,
    ):
        alice, bob, _ = await team_and_outsider(server, http)
        async with _client(server, alice, session) as client:
            log = EventLog(client)
            await _post(http, server, bob, 0)
            await until(lambda: log.bodies("team") == ["bob 0"])
            async with _away(server, client, gate):
                seqs = [await _post(http, server, bob, n) for n in range(1, 6)]
            await until(lambda: any(isinstance(item, Gap) for item in log.items))
            last = await _post(http, server, bob, 6)
            await until(lambda: log.bodies("team")[-1:] == ["bob 6"])
            await log.stop()
        gaps = [item for item in log.items if isinstance(item, Gap)]
        assert gaps == [Gap(room="team", last_seq=seqs[-1])]
        assert log.bodies("team") == ["bob 0", "bob 6"]  # nothing of the gap, nothing twice
        assert client.since() == {"team": last}


async def test_removed_from_a_room_while_away(
    server: RunningServer, http: aiohttp.ClientSession
) -> None:
    gate = Gate()
    alice, bob, _ = await team_and_outsider(server, http)
    other = await call_api(http, "POST", f"{server.url}/api/v1/rooms", alice, json={"name": "x"})
    assert other.status == 201
    joined = await call_api(http, "POST", f"{server.url}/api/v1/rooms/x/join", bob)
    assert joined.status == 200
    async with gate.session() as session, _client(server, bob, session) as client:
        log = EventLog(client)
        await client.send("team", "hi")
        await client.send("x", "hi x")
        async with _away(server, client, gate):
            kicked = await call_api(
                http, "DELETE", f"{server.url}/api/v1/rooms/team/members/bob", alice
            )
            assert kicked.status == 204, kicked.body
            await call_api(
                http,
                "POST",
                f"{server.url}/api/v1/rooms/x/messages",
                alice,
                json={"client_msg_id": "a1", "body": "while away"},
            )
        # sync named team, which bob is no longer in: resumed with the rooms he is in.
        await until(lambda: log.bodies("x")[-1:] == ["while away"])
        assert set(client.since()) == {"x"}
        assert [i for i in log.items if isinstance(i, Removed | MemberKicked)] == [
            Removed(room="team")  # the kick itself is not his to read any more
        ]
        await log.stop()


async def test_rate_limited_messages_keep_their_order(tmp_path: Path) -> None:
    config = config_for(tmp_path / "data", send_rate=50.0, send_burst=2.0)
    async with running_server(config) as server, aiohttp.ClientSession() as http:
        alice, _, _ = await team_and_outsider(server, http)
        async with Client(server.url, token=alice) as client:
            keys = [client.enqueue("team", f"m{n}") for n in range(8)]
            await until(lambda: not client.outbox)
        assert server.state.rate_limited  # the retries were needed
        history = await read_history(http, server.url, alice, "team")
        sent = [(e["client_msg_id"], e["body"]) for e in history if e["type"] == "message"]
        assert sent == [(key, f"m{n}") for n, key in enumerate(keys)]
