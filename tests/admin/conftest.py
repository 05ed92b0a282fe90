"""The ``hubbub admin`` tests' fixtures: a data dir that a real server filled with every kind
of row, and fresh PostgreSQL databases (``admin_support`` runs the command)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import aiohttp
import pg
import pytest
from file_samples import image
from support import call_api, config_for, public_room, register, running_server

from hubbub.client import Client


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A fresh, empty PostgreSQL database, dropped after the test."""
    yield pg.fresh_database()
    pg.drop_created()


@pytest.fixture
async def filled(tmp_path: Path) -> Path:
    """A data dir whose SQLite database holds every kind of row (rooms of each kind,
    members with roles and read markers, messages, replies in a thread, edits, a delete,
    reactions, mentions, a file attached and one pending, profiles and an avatar), written
    by a real server that is stopped again."""
    data_dir = tmp_path / "filled"
    async with (
        running_server(config_for(data_dir)) as server,
        aiohttp.ClientSession() as http,
    ):
        url, api = server.url, f"{server.url}/api/v1"
        alice, bob = await public_room(http, url, "team", ["alice", "bob"])
        carol = await register(http, url, "carol")
        file = await call_api(
            http,
            "POST",
            f"{api}/rooms/team/files",
            alice,
            params={"name": "a.png"},
            data=image("PNG"),
        )
        assert file.status == 201, file.body
        pending = await call_api(
            http,
            "POST",
            f"{api}/rooms/team/files",
            bob,
            params={"name": "b.png"},
            data=image("PNG", color="blue"),
        )
        assert pending.status == 201, pending.body
        profile = await call_api(
            http, "PATCH", f"{api}/me", bob, json={"display_name": "Bob B.", "status": "here"}
        )
        assert profile.status == 200, profile.body
        avatar = await call_api(http, "PUT", f"{api}/me/avatar", carol, data=image("PNG"))
        assert avatar.status == 200, avatar.body
        async with Client(url, token=alice) as a, Client(url, token=bob) as b:
            root = await a.send("team", "hello @bob")
            await a.send("team", "with a file", files=[file.body["id"]])
            reply = await b.send("team", "hi", reply_to=root.seq)
            await b.edit("team", reply.seq, "hi there @alice")
            await a.react("team", root.seq, "\N{THUMBS UP SIGN}")
            await b.react("team", root.seq, "\N{EYES}")
            gone = await a.send("team", "oops")
            await b.react("team", gone.seq, "\N{EYES}")
            await a.delete("team", gone.seq)
            await a.request("role", room="team", user="bob", role="admin")
            await b.read("team", reply.seq)
            await a.create("plan", private=True)
            await a.invite("plan", "carol")
            accepted = await call_api(http, "POST", f"{api}/invitations/plan/accept", carol)
            assert accepted.status == 200, accepted.body
            await a.send("plan", "secret")
        dm = await call_api(http, "POST", f"{api}/dm", alice, json={"user": "bob"})
        assert dm.status == 200, dm.body
    return data_dir
