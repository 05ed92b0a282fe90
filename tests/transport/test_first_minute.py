"""A new account's first minute over real sockets, on each storage engine: it is put in the
default rooms by ordinary joins, and the first account of a server is its admin."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from support import (
    LANDING_ROOMS,
    PASSWORD,
    Client,
    RunningServer,
    call_api,
    config_for,
    read_history,
    register,
    running_server,
)

from hubbub.config import ConfigError, load
from hubbub.core.models import RoomKind

STORAGE_ENGINES = ("sqlite", "postgresql")


@pytest.fixture
async def server(tmp_path: Path, storage_url: str) -> AsyncIterator[RunningServer]:
    """A server with the default rooms of a real one (the tests' own settings have none)."""
    config = config_for(tmp_path / "data", storage_url=storage_url, default_rooms=LANDING_ROOMS)
    async with running_server(config) as running:
        yield running


def test_the_default_room_of_a_server_is_lobby() -> None:
    assert load(env={}).default_rooms == LANDING_ROOMS == ("lobby",)


async def sign_up(http: aiohttp.ClientSession, url: str, username: str) -> Any:
    """The body of a registration's answer."""
    credentials = {"username": username, "password": PASSWORD}
    async with http.post(f"{url}/api/v1/register", json=credentials) as response:
        assert response.status == 201, await response.text()
        return await response.json()


async def rooms_of(http: aiohttp.ClientSession, url: str, token: str) -> list[str]:
    answer = await call_api(http, "GET", f"{url}/api/v1/rooms", token)
    assert answer.status == 200, answer.body
    return [room["name"] for room in answer.body["rooms"]]


async def me(http: aiohttp.ClientSession, url: str, token: str) -> Any:
    answer = await call_api(http, "GET", f"{url}/api/v1/me", token)
    assert answer.status == 200, answer.body
    return answer.body


async def test_a_new_account_joins_lobby_as_an_ordinary_member(
    server: RunningServer, http: aiohttp.ClientSession
) -> None:
    alice = await register(http, server.url, "alice")
    async with Client.connect(http, server.url, alice, sync={}) as watching:
        registered = await sign_up(http, server.url, "bob")
        assert registered["rooms"] == ["lobby"]  # where the page lands
        # Those in lobby see the join live, as any other.
        await watching.wait_for(
            lambda c: any(e.get("user") == "bob" for e in c.room_events("lobby"))
        )
        (joined,) = [e for e in watching.room_events("lobby") if e.get("user") == "bob"]
        assert joined["type"] == "member_joined"
    bob = registered["token"]
    assert await rooms_of(http, server.url, bob) == ["lobby"]
    history = await read_history(http, server.url, bob, "lobby")
    assert [(e["type"], e["user"]) for e in history] == [
        ("member_joined", "alice"),
        ("member_joined", "bob"),
    ]
    assert "by" not in history[1]  # nobody invited them
    # Signing in again joins nothing more.
    answer = await call_api(
        http,
        "POST",
        f"{server.url}/api/v1/login",
        json={"username": "bob", "password": PASSWORD},
    )
    assert answer.status == 200 and "rooms" not in answer.body
    assert len(await read_history(http, server.url, bob, "lobby")) == 2


async def test_configured_default_rooms_are_created_public_and_joined_in_order(
    tmp_path: Path, storage_url: str, http: aiohttp.ClientSession
) -> None:
    config = config_for(tmp_path / "data", storage_url=storage_url, default_rooms=("News", "help"))
    assert config.default_rooms == ("news", "help")  # names are case-insensitive
    async with running_server(config) as server:
        for name in ("news", "help", "lobby"):  # lobby stays: the guests' room
            room = await server.node.storage.get_room(name)
            assert room is not None and room.kind == RoomKind.PUBLIC
        registered = await sign_up(http, server.url, "alice")
        assert registered["rooms"] == ["news", "help"]
        token = registered["token"]
        assert sorted(await rooms_of(http, server.url, token)) == ["help", "news"]
        for name in ("news", "help"):
            history = await read_history(http, server.url, token, name)
            assert [(e["type"], e["user"]) for e in history] == [("member_joined", "alice")]


async def test_no_default_rooms_joins_nothing(
    tmp_path: Path, storage_url: str, http: aiohttp.ClientSession
) -> None:
    config = config_for(tmp_path / "data", storage_url=storage_url, default_rooms=())
    async with running_server(config) as server:
        registered = await sign_up(http, server.url, "alice")
        assert "rooms" not in registered
        assert await rooms_of(http, server.url, registered["token"]) == []


async def test_a_private_default_room_is_refused_at_startup(
    tmp_path: Path, storage_url: str, http: aiohttp.ClientSession
) -> None:
    data = tmp_path / "data"
    async with running_server(config_for(data, storage_url=storage_url)) as server:
        token = await register(http, server.url, "alice")
        created = await call_api(
            http,
            "POST",
            f"{server.url}/api/v1/rooms",
            token,
            json={"name": "staff", "private": True},
        )
        assert created.status == 201, created.body
    config = config_for(data, storage_url=storage_url, default_rooms=("lobby", "staff"))
    with pytest.raises(ConfigError) as refused:
        async with running_server(config):
            pass
    assert str(refused.value) == "default_rooms has 'staff', which is not a public room"


async def test_the_first_account_is_the_admin_and_the_second_is_not(
    server: RunningServer, http: aiohttp.ClientSession
) -> None:
    first = await register(http, server.url, "alice")
    second = await register(http, server.url, "bob")
    assert await me(http, server.url, first) == {"username": "alice", "admin": True}
    assert await me(http, server.url, second) == {"username": "bob"}


async def test_accounts_registered_at_once_have_exactly_one_admin(
    server: RunningServer, http: aiohttp.ClientSession
) -> None:
    names = [f"user{n}" for n in range(8)]
    tokens = await asyncio.gather(*(register(http, server.url, name) for name in names))
    answers = [await me(http, server.url, token) for token in tokens]
    admins = [a for a in answers if a.get("admin")]
    assert len(admins) == 1
    assert [a for a in answers if a not in admins] == [
        {"username": a["username"]} for a in answers if a not in admins
    ]


def test_default_rooms_are_read_from_the_environment() -> None:
    assert load({}).default_rooms == ("lobby",)
    env = {"HUBBUB_DEFAULT_ROOMS": " welcome, Lobby,welcome "}
    assert load(env).default_rooms == ("welcome", "lobby")
    assert load({"HUBBUB_DEFAULT_ROOMS": ""}).default_rooms == ()
    for bad in ("dm:alice:bob", "no spaces", "-dash", "x" * 65):
        with pytest.raises(ConfigError, match="HUBBUB_DEFAULT_ROOMS has"):
            load({"HUBBUB_DEFAULT_ROOMS": bad})
