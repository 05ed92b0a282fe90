"""Offline changes are not missed: a member who saw part of a room live, went offline while
others sent, replied, mentioned, edited, deleted and reacted, and then ``sync``ed, holds
exactly the state a fresh reader of ``history`` gets, whatever happened and wherever the
disconnection fell. The client folds what it received with ``core.projection`` (the fold the
browser client mirrors), over a real server and real WebSockets."""

from __future__ import annotations

import asyncio
import tempfile
from pathlib import Path

import aiohttp
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from support import EventLog, config_for, public_room, running_server, until

from hubbub.client import Client, RequestError
from hubbub.core.events import Event
from hubbub.core.projection import RoomState, project

ROOM = "team"
KINDS = ["send", "reply", "mention", "edit", "delete", "react", "unreact"]
OPS = st.lists(
    st.tuples(st.sampled_from(KINDS), st.sampled_from(["alice", "carol"]), st.integers(0, 50)),
    min_size=1,
    max_size=25,
)


async def act(client: Client, kind: str, pick: int, messages: list[int], n: int) -> None:
    """One change by ``client``; refusals (someone else's message, a deleted one) are part
    of the game and change nothing."""
    target = messages[pick % len(messages)] if messages else None
    if kind in ("send", "mention") or target is None:
        body = f"@bob look {n}" if kind == "mention" else f"m{n}"
        messages.append((await client.send(ROOM, body)).seq)
        return
    try:
        match kind:
            case "reply":
                reply = await client.send(
                    ROOM, f"re {n} @bob", client_msg_id=f"r{n}", reply_to=target
                )
                messages.append(reply.seq)
            case "edit":
                await client.edit(ROOM, target, f"edited {n} @bob")
            case "delete":
                await client.delete(ROOM, target)
            case "react" | "unreact":
                await client.react(ROOM, target, ":+1:", on=kind == "react")
    except RequestError:
        pass


async def caught_up(bob: Client, log: EventLog, mark: int) -> None:
    """Until the log holds every room event the client has delivered (``mark``: the seq it
    started from)."""
    await until(lambda: (log.seqs(ROOM) or [mark])[-1] == bob.since()[ROOM])


async def scenario(data_dir: Path, ops: list[tuple[str, str, int]], cut: int) -> None:
    async with running_server(config_for(data_dir)) as server, aiohttp.ClientSession() as http:
        tokens = await public_room(http, server.url, ROOM, ["alice", "bob", "carol"])
        alice_token, bob_token, carol_token = tokens
        async with (
            Client(server.url, token=alice_token) as alice,
            Client(server.url, token=carol_token) as carol,
        ):
            actors = {"alice": alice, "carol": carol}
            messages: list[int] = []
            received: list[Event] = []
            async with Client(server.url, token=bob_token) as bob:  # live from now on
                log = EventLog(bob)
                start = (await bob.history(ROOM)).events  # the joins
                for n, (kind, who, pick) in enumerate(ops[:cut]):
                    await act(actors[who], kind, pick, messages, n)
                last = (await alice.rooms())[0].last_seq
                await until(lambda: bob.since()[ROOM] == last)
                await caught_up(bob, log, start[-1].seq)
                received = start + log.events(ROOM)
                since = bob.since()
            seen = received[-1].seq if received else 0
            assert since == {ROOM: seen}  # what bob will resume from
            for n, (kind, who, pick) in enumerate(ops[cut:], cut):  # bob is offline
                await act(actors[who], kind, pick, messages, n)
            async with Client(server.url, token=bob_token, since=since) as bob:
                log = EventLog(bob)
                await caught_up(bob, log, seen)
                state = project(log.events(ROOM), project(received))
                fresh = (await bob.history(ROOM, limit=200)).events
                assert not log.gaps and bob.repeats == 0  # the gap replayed, nothing twice
        snapshot = project(fresh)
        assert_same_room(state, snapshot)


def assert_same_room(state: RoomState, snapshot: RoomState) -> None:
    assert state.last_seq == snapshot.last_seq
    assert state.messages == snapshot.messages  # bodies, edits, tombstones, quotes
    assert state.reactors == snapshot.reactors
    assert state.threads == snapshot.threads  # reply counts
    assert state.members == snapshot.members


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ops=OPS, cut=st.integers(0, 25))
def test_a_client_that_syncs_after_being_offline_holds_the_fresh_snapshot(
    ops: list[tuple[str, str, int]], cut: int
) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        asyncio.run(scenario(Path(tmp) / "data", ops, min(cut, len(ops))))


def test_the_scenario_covers_every_kind_of_change() -> None:
    """A fixed run through every kind, so the property above is never vacuous."""
    ops = [(k, "alice", 0) for k in KINDS] + [("reply", "carol", 1), ("delete", "alice", 0)]
    with tempfile.TemporaryDirectory() as tmp:
        asyncio.run(scenario(Path(tmp) / "data", ops, 3))
