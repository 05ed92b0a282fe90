"""Profiles: display names and statuses, read by anyone signed in, changed by their user over
HTTP (``PATCH /api/v1/me``) and the WebSocket (``profile``), checked as they arrive, and
told (``profile`` notices) to the sessions that share a room with the user and to the
user's other sessions, on every node; ``members`` and ``users`` give profiles."""

from __future__ import annotations

import io
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pg
import pytest
from PIL import Image
from redis_support import two_nodes
from support import (
    Client,
    RunningServer,
    call_api,
    public_room,
    register,
)

from hubbub.files.store import LocalFileStore
from hubbub.files.sweep import sweep
from hubbub.service.actions import PROFILE_CHANGE_BURST, wall_clock_ms
from hubbub.service.profiles import MAX_AVATAR_BYTES

STORAGE_ENGINES = ("sqlite", "postgresql")  # each test with the server, on each (tests/conftest.py)
ROOM = "team"
FAST = 0.02  # the presence flush interval of these tests' servers, in seconds


@pytest.fixture
def fast(server: RunningServer) -> RunningServer:
    server.node.hub.presence.flush_interval = FAST
    return server


async def team(http: aiohttp.ClientSession, server: RunningServer) -> list[str]:
    """alice (the admin: the first account) and bob share ``team``; carol shares no room
    with them."""
    return await public_room(http, server.url, ROOM, ["alice", "bob"], others=["carol"])


async def patch_me(
    http: aiohttp.ClientSession, server: RunningServer, token: str | None, **fields: Any
) -> Any:
    return await call_api(http, "PATCH", f"{server.url}/api/v1/me", token, json=fields)


async def profile_of(
    http: aiohttp.ClientSession, server: RunningServer, token: str, name: str
) -> Any:
    reply = await call_api(http, "GET", f"{server.url}/api/v1/users/{name}", token)
    assert reply.status == 200, reply.body
    return reply.body


async def next_profile(client: Client) -> dict[str, Any]:
    """The next ``profile`` notice (presence frames in between are skipped)."""
    while True:
        frame = await client.next_frame()
        if frame["type"] == "profile":
            assert set(frame) == {"type", "profile"}, frame  # a notice: no re
            return dict(frame["profile"])


async def no_profile_notice(client: Client, server: RunningServer) -> None:
    """What is pending goes out now, and the pong comes behind it: no notice came."""
    server.node.hub.presence.flush()
    await client.ok("ping")
    while not client.frames.empty():
        frame = client.frames.get_nowait()
        assert frame["type"] != "profile", frame


# --- reading and changing ---------------------------------------------------------------


async def test_anyone_signed_in_reads_any_profile_and_a_missing_user_is_not_found(
    server: RunningServer, http: aiohttp.ClientSession
) -> None:
    alice, _, carol = await team(http, server)
    assert await profile_of(http, server, carol, "alice") == {"username": "alice", "admin": True}
    assert await profile_of(http, server, alice, "BOB") == {"username": "bob"}
    missing = await call_api(http, "GET", f"{server.url}/api/v1/users/zed", alice)
    assert (missing.status, missing.body) == (
        404,
        {"code": "not_found", "message": "no user named 'zed'"},
    )
    bad = await call_api(http, "GET", f"{server.url}/api/v1/users/-x", alice)
    assert bad.status == 400 and bad.body["code"] == "bad_request", bad.body


async def test_profiles_need_a_signed_in_user(
    server: RunningServer, http: aiohttp.ClientSession
) -> None:
    await team(http, server)
    api = f"{server.url}/api/v1"
    for method, path, body in (
        ("GET", "/users/alice", None),
        ("GET", "/users/zed", None),
        ("PATCH", "/me", {"display_name": "Mallory"}),
    ):
        for token in (None, "not-a-token"):
            reply = await call_api(http, method, api + path, token, json=body)
            assert reply.status == 401, (method, path, reply.body)
            assert reply.body["code"] == "unauthenticated"
    reader = await register(http, server.url, "dave")
    assert await profile_of(http, server, reader, "alice") == {"username": "alice", "admin": True}


async def test_a_change_is_trimmed_changes_what_it_names_and_empty_clears(
    server: RunningServer, http: aiohttp.ClientSession
) -> None:
    _, bob, carol = await team(http, server)
    named = await patch_me(http, server, bob, display_name="  Bob the Builder \t")
    assert (named.status, named.body) == (
        200,
        {"username": "bob", "display_name": "Bob the Builder"},
    )
    status = await patch_me(http, server, bob, status="fixing it \N{HAMMER AND WRENCH}")
    assert status.body == {
        "username": "bob",
        "display_name": "Bob the Builder",
        "status": "fixing it \N{HAMMER AND WRENCH}",
    }
    assert await profile_of(http, server, carol, "bob") == status.body
    nothing = await patch_me(http, server, bob)
    assert (nothing.status, nothing.body) == (200, status.body)
    cleared = await patch_me(http, server, bob, display_name="   ", status="")
    assert cleared.body == {"username": "bob"}
    assert await profile_of(http, server, carol, "bob") == {"username": "bob"}


BAD_TEXTS = [
    ({"display_name": "x" * 65}, "a display name is at most 64 characters"),
    ({"status": "x" * 141}, "a status is at most 140 characters"),
    ({"display_name": "two\nlines"}, "U+000A"),
    ({"display_name": "nul\x00"}, "U+0000"),
    ({"status": "bell\x07"}, "U+0007"),
    ({"display_name": "admin\u202egnp.exe"}, "U+202E"),
    ({"status": "iso\u2066late"}, "U+2066"),
    ({"status": "line\u2028sep"}, "U+2028"),
    ({"display_name": 5}, "Expected `str | null`"),
    ({"nickname": "x"}, "unknown field"),
]


@pytest.mark.parametrize(("fields", "said"), BAD_TEXTS)
async def test_bad_texts_are_refused_and_change_nothing(
    server: RunningServer, http: aiohttp.ClientSession, fields: dict[str, Any], said: str
) -> None:
    _, bob, _ = await team(http, server)
    before = (await patch_me(http, server, bob, display_name="Bob", status="here")).body
    refused = await patch_me(http, server, bob, **fields)
    assert refused.status == 400 and refused.body["code"] == "bad_request", refused.body
    assert said in refused.body["message"], refused.body
    async with Client.connect(http, server.url, bob) as client:
        if "nickname" not in fields:  # the WebSocket ignores unknown fields, as every request
            over_ws = await client.request("profile", **fields)
            assert over_ws["type"] == "error" and over_ws["code"] == "bad_request", over_ws
            assert said in over_ws["message"], over_ws
    assert await profile_of(http, server, bob, "bob") == before


async def test_lengths_count_code_points_and_emoji_sequences_are_allowed(
    server: RunningServer, http: aiohttp.ClientSession
) -> None:
    _, bob, _ = await team(http, server)
    family = "\N{MAN}\u200d\N{WOMAN}\u200d\N{GIRL}"  # joined by zero-width joiners
    longest = "\N{GRINNING FACE}" * 60 + family[:3] + "\N{GIRL}"  # 64 code points
    assert len(longest) == 64
    ok = await patch_me(http, server, bob, display_name=longest, status="\u00e9" * 140)
    assert ok.status == 200, ok.body
    assert ok.body["display_name"] == longest
    again = await patch_me(http, server, bob, display_name=family)
    assert again.body["display_name"] == family


async def test_profile_changes_are_rate_limited(
    server: RunningServer, http: aiohttp.ClientSession
) -> None:
    _, bob, _ = await team(http, server)
    for n in range(PROFILE_CHANGE_BURST):
        assert (await patch_me(http, server, bob, status=f"s{n}")).status == 200
    refused = await patch_me(http, server, bob, status="one more")
    assert refused.status == 429 and refused.body["code"] == "rate_limited", refused.body
    assert refused.body["retry_after"] > 0
    assert (await profile_of(http, server, bob, "bob"))["status"] == f"s{PROFILE_CHANGE_BURST - 1}"


# --- over the WebSocket -----------------------------------------------------------------


async def test_the_profile_request_answers_the_profile_and_users_reads_many(
    server: RunningServer, http: aiohttp.ClientSession
) -> None:
    alice, bob, carol = await team(http, server)
    async with Client.connect(http, server.url, bob) as client:
        reply = await client.ok("profile", display_name=" Bob ", status="busy")
        assert reply == {
            "type": "profile",
            "re": reply["re"],
            "profile": {"username": "bob", "display_name": "Bob", "status": "busy"},
        }
        only_status = await client.ok("profile", status="")
        assert only_status["profile"] == {"username": "bob", "display_name": "Bob"}
        users = await client.ok("users", users=["Carol", "zed", "bob", "alice", "carol"])
        assert users == {
            "type": "users",
            "re": users["re"],
            "profiles": [
                {"username": "carol"},
                {"username": "bob", "display_name": "Bob"},
                {"username": "alice", "admin": True},
            ],
        }
        assert (await client.ok("users", users=[]))["profiles"] == []
        assert len((await client.ok("users", users=["bob"] * 200))["profiles"]) == 1
        too_many = await client.request("users", users=["bob"] * 201)
        assert too_many["type"] == "error" and too_many["code"] == "bad_request", too_many
        bad_name = await client.request("users", users=["no spaces"])
        assert bad_name["type"] == "error" and bad_name["code"] == "bad_request", bad_name
    del alice, carol


async def test_members_come_with_their_profiles_over_ws_and_http(
    server: RunningServer, http: aiohttp.ClientSession
) -> None:
    alice, bob, _ = await team(http, server)
    await patch_me(http, server, bob, display_name="Bob")
    made_admin = await call_api(
        http, "PUT", f"{server.url}/api/v1/rooms/{ROOM}/roles/bob", alice, json={"role": "admin"}
    )
    assert made_admin.status == 204
    expected = {
        "room": ROOM,
        "users": ["alice", "bob"],
        "profiles": [
            {"username": "alice", "admin": True},
            {"username": "bob", "display_name": "Bob"},
        ],
        "roles": {"alice": "owner", "bob": "admin"},  # the room's: members are left out
    }
    over_http = await call_api(http, "GET", f"{server.url}/api/v1/rooms/{ROOM}/members", alice)
    assert (over_http.status, over_http.body) == (200, expected)
    async with Client.connect(http, server.url, alice) as client:
        reply = await client.ok("members", room=ROOM)
        assert reply == {"type": "members", "re": reply["re"], **expected}


async def test_a_change_reaches_who_shares_a_room_and_the_users_other_sessions_only(
    fast: RunningServer, http: aiohttp.ClientSession
) -> None:
    server = fast
    alice, bob, carol = await team(http, server)
    async with (
        Client.connect(http, server.url, alice, sync={}) as alice_ws,
        Client.connect(http, server.url, bob, sync={}) as bob_ws,
        Client.connect(http, server.url, bob, sync={}) as bob_phone,
        Client.connect(http, server.url, bob) as bob_unsynced,  # follows no room
        Client.connect(http, server.url, carol, sync={}) as carol_ws,
    ):
        changed = await bob_ws.ok("profile", display_name="Bob", status="on call")
        told = {"username": "bob", "display_name": "Bob", "status": "on call"}
        assert changed["profile"] == told
        assert await next_profile(alice_ws) == told
        assert await next_profile(bob_phone) == told
        assert await next_profile(bob_unsynced) == told
        await no_profile_notice(bob_ws, server)  # it has the reply
        await no_profile_notice(carol_ws, server)  # she shares no room with bob

        over_http = await patch_me(http, server, bob, status="back")
        assert over_http.status == 200
        back = {"username": "bob", "display_name": "Bob", "status": "back"}
        for client in (alice_ws, bob_ws, bob_phone):  # over HTTP, every session hears
            assert await next_profile(client) == back
        await no_profile_notice(carol_ws, server)

        # carol joins: from then on she hears of bob's changes.
        await carol_ws.ok("join", room=ROOM)
        await patch_me(http, server, bob, status="hello carol")
        assert (await next_profile(carol_ws))["status"] == "hello carol"


async def test_changes_within_a_flush_interval_reach_a_session_once_the_latest(
    fast: RunningServer, http: aiohttp.ClientSession
) -> None:
    server = fast
    presence = server.node.hub.presence
    alice, bob, _ = await team(http, server)
    async with Client.connect(http, server.url, alice, sync={}) as alice_ws:
        await patch_me(http, server, bob, status="first")  # bob's rooms are read, and kept
        assert await next_profile(alice_ws) == {"username": "bob", "status": "first"}
        presence.flush_interval = 60.0  # from now on flushed by hand
        for n in range(3):
            assert (await patch_me(http, server, bob, status=f"s{n}")).status == 200
        presence.flush()
        assert await next_profile(alice_ws) == {"username": "bob", "status": "s2"}
        await no_profile_notice(alice_ws, server)


async def test_a_session_is_never_told_an_older_profile_than_its_own_change(
    fast: RunningServer, http: aiohttp.ClientSession
) -> None:
    server = fast
    presence = server.node.hub.presence
    _, bob, _ = await team(http, server)
    async with (
        Client.connect(http, server.url, bob, sync={}) as laptop,
        Client.connect(http, server.url, bob, sync={}) as phone,
    ):
        await phone.ok("profile", status="first")  # bob's rooms are read, and kept
        assert await next_profile(laptop) == {"username": "bob", "status": "first"}
        presence.flush_interval = 60.0  # from now on flushed by hand
        await phone.ok("profile", status="from the phone")  # pending for the laptop...
        mine = await laptop.ok("profile", status="from the laptop")  # ... then overtaken
        assert mine["profile"] == {"username": "bob", "status": "from the laptop"}
        presence.flush()
        assert await next_profile(phone) == {"username": "bob", "status": "from the laptop"}
        await no_profile_notice(laptop, server)


# --- avatars ------------------------------------------------------------------------------


def image(
    kind: str, size: tuple[int, int] = (300, 200), color: tuple[int, int, int] = (200, 40, 90)
) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, color).save(out, kind)
    return out.getvalue()


async def put_avatar(
    http: aiohttp.ClientSession, server: RunningServer, token: str | None, data: Any, **kw: Any
) -> Any:
    url = f"{server.url}/api/v1/me/avatar"
    return await call_api(http, "PUT", url, token, data=data, **kw)


async def get_avatar(
    http: aiohttp.ClientSession, server: RunningServer, token: str | None, name: str, **params: str
) -> tuple[int, Any, bytes]:
    headers = {} if token is None else {"Authorization": f"Bearer {token}"}
    url = f"{server.url}/api/v1/users/{name}/avatar"
    async with http.get(url, headers=headers, params=params) as response:
        return response.status, response.headers.copy(), await response.read()


@pytest.mark.parametrize("kind", ["PNG", "JPEG", "GIF", "WEBP"])
async def test_an_avatar_is_kept_as_a_small_webp_that_anyone_signed_in_sees(
    server: RunningServer, http: aiohttp.ClientSession, kind: str
) -> None:
    _, bob, carol = await team(http, server)
    put = await put_avatar(http, server, bob, image(kind))
    assert put.status == 200, put.body
    version = put.body["avatar"]
    assert put.body == {"username": "bob", "avatar": version} and version
    assert await profile_of(http, server, carol, "bob") == put.body

    status, headers, data = await get_avatar(http, server, carol, "bob", v=version)
    assert status == 200
    assert headers["Content-Type"] == "image/webp"
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Cache-Control"] == "private, max-age=31536000, immutable"
    with Image.open(io.BytesIO(data)) as shown:
        assert (shown.format, shown.size) == ("WEBP", (128, 85))
    status, headers, _ = await get_avatar(http, server, carol, "bob")  # no version: revalidate
    assert (status, headers["Cache-Control"]) == (200, "private, no-cache")
    assert headers["Last-Modified"]
    url = f"{server.url}/api/v1/users/bob/avatar"
    again = {"Authorization": f"Bearer {carol}", "If-None-Match": headers["ETag"]}
    async with http.get(url, headers=again) as unchanged:
        assert unchanged.status == 304


async def test_a_new_avatar_has_a_new_version_and_a_removed_one_is_gone(
    fast: RunningServer, http: aiohttp.ClientSession
) -> None:
    server = fast
    alice, bob, _ = await team(http, server)
    async with Client.connect(http, server.url, alice, sync={}) as alice_ws:
        first = (await put_avatar(http, server, bob, image("PNG"))).body["avatar"]
        assert await next_profile(alice_ws) == {"username": "bob", "avatar": first}
        second = (await put_avatar(http, server, bob, image("PNG", (64, 64)))).body["avatar"]
        assert second != first
        assert await next_profile(alice_ws) == {"username": "bob", "avatar": second}
        _, headers, data = await get_avatar(http, server, alice, "bob", v=first)
        assert headers["Cache-Control"] == "private, no-cache"  # an old URL is not kept
        with Image.open(io.BytesIO(data)) as shown:
            assert shown.size == (64, 64)  # smaller than the box: not enlarged

        removed = await call_api(http, "DELETE", f"{server.url}/api/v1/me/avatar", bob)
        assert (removed.status, removed.body) == (200, {"username": "bob"})
        assert await next_profile(alice_ws) == {"username": "bob"}
    status, _, body = await get_avatar(http, server, alice, "bob")
    assert status == 404 and b"has no avatar" in body


async def test_avatars_need_a_signed_in_user_and_missing_ones_are_not_found(
    server: RunningServer, http: aiohttp.ClientSession
) -> None:
    alice, bob, _ = await team(http, server)
    await put_avatar(http, server, bob, image("PNG"))
    for token in (None, "not-a-token"):
        assert (await get_avatar(http, server, token, "bob"))[0] == 401
        assert (await put_avatar(http, server, token, image("PNG"))).status == 401
        deleted = await call_api(http, "DELETE", f"{server.url}/api/v1/me/avatar", token)
        assert deleted.status == 401
    cookie = {"Cookie": f"hubbub_session={alice}"}  # as an <img src> of the page sends it
    async with http.get(f"{server.url}/api/v1/users/bob/avatar", headers=cookie) as by_cookie:
        assert by_cookie.status == 200 and by_cookie.content_type == "image/webp"
    assert (await get_avatar(http, server, bob, "alice"))[0] == 404  # no avatar
    assert (await get_avatar(http, server, bob, "zed"))[0] == 404  # no such user
    assert (await profile_of(http, server, alice, "bob"))["avatar"]


NOT_IMAGES = {
    "text": b"just some words",
    "svg": b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>',
    "pdf": b"%PDF-1.4 not much of a document",
    "bmp": image("BMP"),
    "a png header on garbage": b"\x89PNG\r\n\x1a\n" + b"\x00garbage" * 100,
    "a truncated png": image("PNG")[:200],
}


@pytest.mark.parametrize("what", list(NOT_IMAGES))
async def test_what_is_no_image_we_take_is_refused_and_changes_nothing(
    server: RunningServer, http: aiohttp.ClientSession, what: str
) -> None:
    _, bob, _ = await team(http, server)
    before = (await put_avatar(http, server, bob, image("PNG"))).body
    refused = await put_avatar(http, server, bob, NOT_IMAGES[what])
    assert refused.status == 400 and refused.body["code"] == "bad_request", refused.body
    assert "an avatar is a PNG, JPEG, GIF or WebP image" in refused.body["message"]
    assert await profile_of(http, server, bob, "bob") == before
    empty = await put_avatar(http, server, bob, b"")
    assert empty.status == 400 and empty.body["code"] == "bad_request", empty.body


async def test_an_image_over_the_bound_is_refused_before_or_while_it_is_read(
    server: RunningServer, http: aiohttp.ClientSession
) -> None:
    _, bob, _ = await team(http, server)
    big = image("PNG") + b"\x00" * MAX_AVATAR_BYTES
    announced = await put_avatar(http, server, bob, io.BytesIO(big))  # with Content-Length
    assert announced.status == 413 and announced.body["code"] == "too_large", announced.body
    assert str(MAX_AVATAR_BYTES) in announced.body["message"]

    async def chunks() -> AsyncIterator[bytes]:  # no Content-Length: refused while read
        for start in range(0, len(big), 256 * 1024):
            yield big[start : start + 256 * 1024]

    streamed = await put_avatar(http, server, bob, chunks())
    assert streamed.status == 413 and streamed.body["code"] == "too_large", streamed.body
    assert await profile_of(http, server, bob, "bob") == {"username": "bob"}


async def test_the_file_sweep_keeps_avatars_and_removes_a_replaced_ones_blob(
    server: RunningServer, http: aiohttp.ClientSession
) -> None:
    _, bob, carol = await team(http, server)
    await put_avatar(http, server, bob, image("PNG"))
    await put_avatar(http, server, carol, image("PNG", (50, 50)))
    await put_avatar(http, server, carol, image("GIF", color=(0, 90, 200)))  # another blob
    storage, store = server.node.storage, LocalFileStore(server.config.files_dir)
    # Every blob counts as old enough (no grace): only what is referenced stays.
    swept = await sweep(storage, store, wall_clock_ms(), 3600.0, grace=0.0, wall=time.time() + 1)
    assert swept.blobs == 1  # carol's first avatar
    for name in ("bob", "carol"):
        assert (await get_avatar(http, server, bob, name))[0] == 200
    await call_api(http, "DELETE", f"{server.url}/api/v1/me/avatar", bob)
    swept = await sweep(storage, store, wall_clock_ms(), 3600.0, grace=0.0, wall=time.time() + 1)
    assert swept.blobs == 1
    assert (await get_avatar(http, server, carol, "carol"))[0] == 200


# --- two real nodes: PostgreSQL and Redis --------------------------------------------------


async def test_a_change_on_one_node_reaches_sessions_on_another(
    tmp_path: Path, http: aiohttp.ClientSession
) -> None:
    try:
        async with two_nodes(tmp_path, FAST) as (a, b):
            alice, bob, carol = await team(http, a)
            async with (
                Client.connect(http, b.url, alice, sync={}) as alice_ws,
                Client.connect(http, b.url, bob, sync={}) as bob_elsewhere,
                Client.connect(http, b.url, carol, sync={}) as carol_ws,
            ):
                changed = await patch_me(http, a, bob, display_name="Bob")
                assert changed.status == 200
                assert await next_profile(alice_ws) == {"username": "bob", "display_name": "Bob"}
                assert await next_profile(bob_elsewhere) == changed.body
                await no_profile_notice(carol_ws, b)
    finally:
        pg.drop_created()
