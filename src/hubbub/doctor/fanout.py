"""The message check, with an account: a message sent on one of several connections must reach
every one of them live. A load balancer spreads the connections over the nodes, so a node
that does not hear the others (no shared broker) shows as connections that never get it.

The message goes to a private room of the doctor's own, made for the check and left after
it, so nobody else sees anything.
"""

from __future__ import annotations

import asyncio
import secrets
import time
from typing import Any

import aiohttp

from hubbub.doctor import advice
from hubbub.doctor.report import Hop, Outcome, Status, fail, milliseconds, ok
from hubbub.doctor.sockets import Live, Refused, Unreachable, handshake
from hubbub.doctor.target import Target

CONNECTIONS = 8
ARRIVAL_TIMEOUT = 10.0
HTTP_TIMEOUT = aiohttp.ClientTimeout(total=10)
BODY = "hubbub doctor: checking live delivery (this room is the doctor's own)"


def refused(check: str, found: str) -> Outcome:
    """A failure of the doctor's own credentials, not of a hop of the deployment."""
    return Outcome(check, Status.FAIL, found)


async def sign_in(
    session: aiohttp.ClientSession, target: Target, username: str, password: str
) -> str | Outcome:
    """A new session token of ``username`` (signed out again by ``sign_out``)."""
    try:
        async with session.post(
            f"{target.http_url}/api/v1/login",
            json={"username": username, "password": password},
            timeout=HTTP_TIMEOUT,
        ) as response:
            said: Any = await response.json(content_type=None)
            status = response.status
    except (aiohttp.ClientError, OSError, TimeoutError, ValueError) as exc:
        return fail("sign-in", f"POST /api/v1/login failed: {exc}", Hop.CLIENT_PROXY)
    if status == 200 and isinstance(said, dict) and isinstance(said.get("token"), str):
        return str(said["token"])
    message = said.get("message", "") if isinstance(said, dict) else ""
    return refused("sign-in", f"POST /api/v1/login answered {status}: {message}".rstrip(": "))


async def check_token(session: aiohttp.ClientSession, target: Target, token: str) -> Outcome | None:
    """None if ``token`` (given with --token-stdin) is a valid session, else why not."""
    try:
        async with session.get(
            f"{target.http_url}/api/v1/me",
            headers={"Authorization": f"Bearer {token}"},
            timeout=HTTP_TIMEOUT,
        ) as response:
            status = response.status
    except (aiohttp.ClientError, OSError, TimeoutError) as exc:
        return fail("sign-in", f"GET /api/v1/me failed: {exc}", Hop.CLIENT_PROXY)
    if status == 200:
        return None
    return refused("sign-in", f"the token is refused: GET /api/v1/me answered {status}")


async def sign_out(session: aiohttp.ClientSession, target: Target, token: str) -> None:
    """Revoke the token ``sign_in`` made (its WebSockets are closed already)."""
    try:
        async with session.post(
            f"{target.http_url}/api/v1/logout",
            headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
            timeout=HTTP_TIMEOUT,
        ):
            pass
    except (aiohttp.ClientError, OSError, TimeoutError):
        pass  # the token lapses by itself; nothing else to do


async def check_messages(
    session: aiohttp.ClientSession, target: Target, token: str, connections: int = CONNECTIONS
) -> Outcome:
    lives: list[Live] = []
    try:
        opened = await asyncio.gather(*(_open(session, target, token) for _ in range(connections)))
        for item in opened:
            if isinstance(item, Live):
                lives.append(item)
        for item in opened:
            if isinstance(item, Refused):
                return advice.handshake_refused("messages", item.status, target)
            if isinstance(item, Unreachable):
                return advice.unreachable("messages", target, item.reason)
        signed_in = [live for live in lives if live.close_code is None]
        if not signed_in:
            return refused("messages", "the token is refused (closed with 4401)")
        if len(signed_in) < len(lives):
            return advice.token_refused(len(lives) - len(signed_in), len(lives))
        return await _through_every_connection(lives)
    finally:
        await asyncio.gather(*(live.close() for live in lives))


async def _open(session: aiohttp.ClientSession, target: Target, token: str) -> Any:
    """A connection signed in with ``token`` (its ``close_code`` set if it was refused),
    or why none opened."""
    ws = await handshake(session, target, headers={"Authorization": f"Bearer {token}"})
    if not isinstance(ws, aiohttp.ClientWebSocketResponse):
        return ws
    live = Live(ws)
    await live.wait_for(lambda frame: frame.get("type") == "ready")  # or the 4401 close
    return live


async def _through_every_connection(lives: list[Live]) -> Outcome:
    first = lives[0]
    # With `sync` sent, a connection follows every room its user joins from then on, on
    # whichever node it is: the new room's events must reach them all.
    synced = await asyncio.gather(*(live.request("sync", since={}) for live in lives))
    for reply in synced:
        if reply is None or reply.get("type") != "synced":
            return _refused_request("sync", reply)
    room = f"doctor-{secrets.token_hex(6)}"
    created = await first.request("create", name=room, private=True)
    if created is None or created.get("type") != "room":
        return _refused_request("create", created)
    try:
        client_msg_id = f"doctor-{secrets.token_hex(12)}"
        started = time.monotonic()
        sent = await first.request("send", room=room, client_msg_id=client_msg_id, body=BODY)
        if sent is None or sent.get("type") != "sent":
            return _refused_request("send", sent)

        async def arrival(live: Live) -> float | None:
            frame = await live.wait_for(
                lambda f: f.get("type") == "message" and f.get("client_msg_id") == client_msg_id,
                ARRIVAL_TIMEOUT,
            )
            return None if frame is None else time.monotonic() - started

        arrivals = await asyncio.gather(*(arrival(live) for live in lives))
    finally:
        await first.request("leave", room=room)  # the room is left with no member
    reached = [t for t in arrivals if t is not None]
    if len(reached) < len(lives):
        return advice.missed_messages(len(reached), len(lives))
    return ok(
        "messages",
        f"a message sent on one of {len(lives)} connections reached all {len(lives)}"
        f" (the last in {milliseconds(max(reached))})",
    )


def _refused_request(request: str, reply: dict[str, Any] | None) -> Outcome:
    if reply is None:
        return fail(
            "messages",
            f"no answer to `{request}` within 10 s",
            Hop.PROXY_HUBBUB,
            "see the nodes' journals (journalctl -u 'hubbub*')",
        )
    code, message = reply.get("code", "?"), reply.get("message", "")
    hop = Hop.HUBBUB_DATABASE if code == "unavailable" else Hop.PROXY_HUBBUB
    return fail(
        "messages",
        f"`{request}` was refused: {code} ({message})",
        hop,
        "see the nodes' journals (journalctl -u 'hubbub*')",
    )
