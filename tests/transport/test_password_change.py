"""Changing one's password (``POST /api/v1/me/password``): the old password proves it, a
wrong one counts as a failed sign-in of the account, and ``sign_out_others`` revokes every
other token of the user and closes their WebSockets, on every node, while the session that
asked goes on."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import aiohttp
import pg
import pytest
from redis_support import two_nodes
from support import PASSWORD, Client, RunningServer, call_api, register

from hubbub.auth.signins import PAIR_BURST
from hubbub.protocol.codes import CloseCode

STORAGE_ENGINES = ("sqlite", "postgresql")  # each test with the server, on each (tests/conftest.py)
NEW_PASSWORD = "a new and better secret"


async def change(
    http: aiohttp.ClientSession,
    server: RunningServer,
    token: str | None,
    old: str = PASSWORD,
    new: str = NEW_PASSWORD,
    **fields: Any,
) -> Any:
    body = {"old_password": old, "new_password": new, **fields}
    return await call_api(http, "POST", f"{server.url}/api/v1/me/password", token, json=body)


async def login(http: aiohttp.ClientSession, server: RunningServer, password: str) -> Any:
    body = {"username": "alice", "password": password}
    return await call_api(http, "POST", f"{server.url}/api/v1/login", json=body)


async def signed_in(http: aiohttp.ClientSession, server: RunningServer, token: str) -> bool:
    reply = await call_api(http, "GET", f"{server.url}/api/v1/me", token)
    assert reply.status in (200, 401), reply.body
    return reply.status == 200


async def closed_with(client: Client) -> int | None:
    await client.wait_for(lambda c: c.close_code is not None)
    return client.close_code


async def test_the_new_password_replaces_the_old_and_other_tokens_stay_by_default(
    server: RunningServer, http: aiohttp.ClientSession
) -> None:
    alice = await register(http, server.url, "alice")
    laptop = (await login(http, server, PASSWORD)).body["token"]
    changed = await change(http, server, alice)
    assert (changed.status, changed.body) == (204, None)
    assert (await login(http, server, PASSWORD)).status == 401
    assert (await login(http, server, NEW_PASSWORD)).status == 200
    assert await signed_in(http, server, alice) and await signed_in(http, server, laptop)


async def test_signing_out_the_others_revokes_every_other_token_and_closes_its_sockets(
    server: RunningServer, http: aiohttp.ClientSession
) -> None:
    alice = await register(http, server.url, "alice")
    bob = await register(http, server.url, "bob")
    laptop = (await login(http, server, PASSWORD)).body["token"]
    phone = (await login(http, server, PASSWORD)).body["token"]
    async with (
        Client.connect(http, server.url, alice, sync={}) as here,
        Client.connect(http, server.url, laptop, sync={}) as on_laptop,
        Client.connect(http, server.url, phone) as on_phone,
        Client.connect(http, server.url, bob, sync={}) as bobs,
    ):
        changed = await change(http, server, alice, sign_out_others=True)
        assert changed.status == 204, changed.body
        assert await closed_with(on_laptop) == CloseCode.UNAUTHENTICATED
        assert await closed_with(on_phone) == CloseCode.UNAUTHENTICATED
        assert (await here.ok("ping"))["type"] == "pong"  # the session that asked goes on
        assert (await bobs.ok("ping"))["type"] == "pong"  # nobody else's
    assert await signed_in(http, server, alice)
    assert not await signed_in(http, server, laptop)
    assert not await signed_in(http, server, phone)
    assert await signed_in(http, server, bob)
    refused = await call_api(http, "GET", f"{server.url}/api/v1/me", laptop)  # as any revoked token
    assert refused.body == {
        "code": "unauthenticated",
        "message": "a valid session token is required",
    }


async def test_a_wrong_old_password_is_forbidden_and_counted_as_a_failed_sign_in(
    server: RunningServer, http: aiohttp.ClientSession
) -> None:
    alice = await register(http, server.url, "alice")
    laptop = (await login(http, server, PASSWORD)).body["token"]
    for _ in range(PAIR_BURST):
        wrong = await change(http, server, alice, old="not my password", sign_out_others=True)
        assert (wrong.status, wrong.body) == (
            403,
            {"code": "forbidden", "message": "wrong password"},
        )
    # Throttled like failed sign-ins of the account from this address: even the right one.
    throttled = await change(http, server, alice)
    assert throttled.status == 429 and throttled.body["code"] == "rate_limited", throttled.body
    assert "failed sign-ins" in throttled.body["message"]
    assert (await login(http, server, PASSWORD)).status == 429  # the same throttle
    # Nothing changed: the password, and the other token.
    actions = server.node.actions
    assert await actions.passwords.verify(await actions.storage.password_hash("alice"), PASSWORD)
    assert await signed_in(http, server, laptop)


async def test_a_change_needs_a_signed_in_user_and_a_valid_body(
    server: RunningServer, http: aiohttp.ClientSession
) -> None:
    alice = await register(http, server.url, "alice")
    for token in (None, "not-a-token"):
        reply = await change(http, server, token)
        assert reply.status == 401 and reply.body["code"] == "unauthenticated", reply.body
    for body in (
        {"old_password": PASSWORD, "new_password": "short"},
        {"old_password": PASSWORD},
        {"old_password": PASSWORD, "new_password": NEW_PASSWORD, "sign_out_others": "yes"},
        {"old_password": PASSWORD, "new_password": NEW_PASSWORD, "extra": 1},
        {"old_password": PASSWORD, "new_password": "x" * 257},
    ):
        reply = await call_api(http, "POST", f"{server.url}/api/v1/me/password", alice, json=body)
        assert reply.status == 400 and reply.body["code"] == "bad_request", (body, reply.body)
    assert (await login(http, server, PASSWORD)).status == 200  # unchanged


async def test_a_cookie_from_another_site_cannot_change_the_password(
    server: RunningServer, http: aiohttp.ClientSession
) -> None:
    alice = await register(http, server.url, "alice")
    reply = await call_api(
        http,
        "POST",
        f"{server.url}/api/v1/me/password",
        headers={"Cookie": f"hubbub_session={alice}", "Origin": "https://evil.example"},
        json={"old_password": PASSWORD, "new_password": NEW_PASSWORD},
    )
    assert reply.status == 403 and reply.body["code"] == "forbidden", reply.body
    assert (await login(http, server, PASSWORD)).status == 200


async def test_neither_password_nor_token_is_logged(
    server: RunningServer, http: aiohttp.ClientSession, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    alice = await register(http, server.url, "alice")
    await change(http, server, alice, old="wrong but secret", sign_out_others=True)
    await change(http, server, alice, sign_out_others=True)
    logged = "\n".join(record.getMessage() for record in caplog.records)
    for secret in (PASSWORD, NEW_PASSWORD, "wrong but secret", alice):
        assert secret not in logged


# --- two real nodes: PostgreSQL and Redis --------------------------------------------------


async def test_the_other_nodes_close_the_sockets_of_the_tokens_revoked(
    tmp_path: Path, http: aiohttp.ClientSession
) -> None:
    try:
        async with two_nodes(tmp_path) as (a, b):
            alice = await register(http, a.url, "alice")
            laptop = (await login(http, a, PASSWORD)).body["token"]
            async with (
                Client.connect(http, b.url, alice) as same_token_elsewhere,
                Client.connect(http, b.url, laptop) as on_laptop,
            ):
                assert (await change(http, a, alice, sign_out_others=True)).status == 204
                assert await closed_with(on_laptop) == CloseCode.UNAUTHENTICATED
                assert (await same_token_elsewhere.ok("ping"))["type"] == "pong"
            assert not await signed_in(http, b, laptop)
    finally:
        pg.drop_created()


async def test_signing_out_closes_the_tokens_sockets_on_every_node(
    tmp_path: Path, http: aiohttp.ClientSession
) -> None:
    try:
        async with two_nodes(tmp_path) as (a, b):
            alice = await register(http, a.url, "alice")
            laptop = (await login(http, a, PASSWORD)).body["token"]
            async with (
                Client.connect(http, b.url, laptop) as on_laptop,
                Client.connect(http, b.url, alice) as elsewhere,
            ):
                signed_out = await call_api(http, "POST", f"{a.url}/api/v1/logout", laptop, json={})
                assert signed_out.status == 204
                assert await closed_with(on_laptop) == CloseCode.UNAUTHENTICATED
                assert (await elsewhere.ok("ping"))["type"] == "pong"
            assert not await signed_in(http, b, laptop)
    finally:
        pg.drop_created()
