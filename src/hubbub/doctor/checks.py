"""The doctor's checks of one deployment from outside, each as a client would see it: HTTP,
TLS, the WebSocket upgrade, the Origin, a ping, and a socket kept idle. Each returns an
``Outcome``; what a failure means is ``advice``'s."""

from __future__ import annotations

import asyncio
import contextlib
import json
import ssl
import statistics
import time
from datetime import UTC, datetime
from typing import Any

import aiohttp

from hubbub.doctor import advice
from hubbub.doctor.report import Hop, Outcome, fail, milliseconds, ok, skip
from hubbub.doctor.sockets import (
    ENDED,
    HANDSHAKE_TIMEOUT,
    REPLY_TIMEOUT,
    SUBPROTOCOL,
    Refused,
    Unreachable,
    close_quietly,
    ended,
    handshake,
    ping,
)
from hubbub.doctor.target import Target

HTTP_TIMEOUT = aiohttp.ClientTimeout(total=10)
OPENAPI_TITLE = "hubbub HTTP API"  # transport/openapi.py
SESSION_COOKIE = "hubbub_session"  # transport/context.py
PINGS = 5
MAX_BODY = 1 << 20  # the OpenAPI document is about 90 KiB
# A cookie no server knows: the Origin rule is applied before the cookie is looked at, so
# a 101 says the Origin passed (the connection then closes with 4401, as it should).
PROBE_COOKIE = f"{SESSION_COOKIE}=hubbub-doctor-origin-probe"


async def check_tls(target: Target) -> Outcome:
    """The certificate, as a browser checks it, and how long it has left."""
    context = ssl.create_default_context()
    try:
        async with asyncio.timeout(HANDSHAKE_TIMEOUT):
            _, writer = await asyncio.open_connection(
                target.host, target.port, ssl=context, server_hostname=target.host
            )
    except ssl.SSLCertVerificationError as exc:
        return advice.bad_certificate(target, exc.verify_message or str(exc))
    except ssl.SSLError as exc:
        return advice.bad_certificate(target, exc.reason or str(exc))
    except TimeoutError:
        why = f"no TLS answer within {HANDSHAKE_TIMEOUT:.0f} s (does this port speak https?)"
        return advice.unreachable("tls", target, why)
    except OSError as exc:
        return advice.unreachable("tls", target, exc.strerror or str(exc))
    try:
        tls = writer.get_extra_info("ssl_object")
        version = tls.version() if tls is not None else "TLS"
        cert = tls.getpeercert() if tls is not None else None
    finally:
        writer.close()
        with contextlib.suppress(OSError, ssl.SSLError):
            await writer.wait_closed()
    if not cert or "notAfter" not in cert:
        return ok("tls", f"{version}, certificate for {target.host} accepted")
    ends = ssl.cert_time_to_seconds(str(cert["notAfter"]))
    days = int((ends - time.time()) // 86400)
    until = datetime.fromtimestamp(ends, UTC).date().isoformat()
    return ok("tls", f"{version}, certificate for {target.host} valid until {until} ({days} days)")


async def check_http(session: aiohttp.ClientSession, target: Target) -> Outcome:
    """``GET /healthz`` answers hubbub's JSON, and ``/api/v1/openapi.json`` is hubbub's."""
    started = time.monotonic()
    health = await _get(session, target, "/healthz")
    if isinstance(health, Outcome):
        return health
    status, headers, body = health
    if status in (301, 302, 303, 307, 308):
        return advice.redirected(target, headers.get("Location", "another URL"))
    if status in (502, 504):
        return advice.upstream_down("http", status)
    said = _json(body)
    if status == 503 and isinstance(said, dict) and said.get("status") == "unavailable":
        return advice.unhealthy(str(said.get("reason", "no reason given")))
    healthy = status == 200 and isinstance(said, dict) and said.get("status") == "ok"
    elapsed = time.monotonic() - started
    api = await _get(session, target, "/api/v1/openapi.json")
    if isinstance(api, Outcome):
        return api
    document = _json(api[2])
    info = document.get("info") if isinstance(document, dict) else None
    if api[0] != 200 or not isinstance(info, dict) or info.get("title") != OPENAPI_TITLE:
        what = f"GET /api/v1/openapi.json answered {api[0]}"
        if not healthy:
            kind = headers.get("Content-Type", "no Content-Type")
            what = f"GET /healthz answered {status} ({kind})"
        return advice.not_hubbub("http", what)
    if not healthy:
        return advice.health_hidden(status)
    version = info.get("version", "?")
    return ok("http", f"/healthz is ok and this is hubbub {version} ({milliseconds(elapsed)})")


async def _get(
    session: aiohttp.ClientSession, target: Target, path: str
) -> tuple[int, dict[str, str], bytes] | Outcome:
    url = f"{target.http_url}{path}"
    try:
        async with session.get(url, allow_redirects=False, timeout=HTTP_TIMEOUT) as response:
            body = b""
            while len(body) < MAX_BODY and (piece := await response.content.read(MAX_BODY)):
                body += piece
            return response.status, dict(response.headers), body
    except (aiohttp.ClientSSLError, ssl.SSLError) as exc:
        return advice.bad_certificate(target, str(exc))
    except TimeoutError:
        return advice.unreachable("http", target, f"GET {path} got no answer within 10 s")
    except (aiohttp.ClientError, OSError) as exc:
        return advice.unreachable("http", target, f"GET {path}: {exc}")


def _json(body: bytes) -> Any:
    try:
        return json.loads(body)
    except ValueError:
        return None


async def check_websocket(session: aiohttp.ClientSession, target: Target) -> Outcome:
    """The upgrade goes through: 101, with hubbub.v1 selected."""
    started = time.monotonic()
    ws = await handshake(session, target)
    if isinstance(ws, Refused):
        return advice.handshake_refused("websocket", ws.status, target)
    if isinstance(ws, Unreachable):
        return advice.unreachable("websocket", target, ws.reason)
    elapsed = time.monotonic() - started
    selected = ws.protocol
    await close_quietly(ws)
    if selected != SUBPROTOCOL:
        return advice.no_subprotocol()
    return ok("websocket", f"the upgrade got 101 with {SUBPROTOCOL} ({milliseconds(elapsed)})")


async def check_origin(
    session: aiohttp.ClientSession, target: Target, token: str | None = None
) -> Outcome:
    """A page of ``target``'s origin may open its WebSocket with its session cookie (the
    browser client's way). Without a token, a cookie no one has shows the same."""
    cookie = f"{SESSION_COOKIE}={token}" if token else PROBE_COOKIE
    refused = await _origin_status(session, target, target.origin, cookie)
    if refused is None:
        return ok("origin", f"a page of {target.origin} may open its WebSocket")
    if refused != 403:
        return advice.handshake_refused("origin", refused, target)
    takes_http = False
    if target.https:  # is it the scheme hubbub takes for its own?
        takes_http = (
            await _origin_status(session, target, f"http://{target.netloc}", cookie) is None
        )
    return advice.origin_refused(target, takes_http)


async def _origin_status(
    session: aiohttp.ClientSession, target: Target, origin: str, cookie: str
) -> int | None:
    """None when a handshake with this Origin and cookie got 101, else its status (0: none)."""
    ws = await handshake(session, target, headers={"Origin": origin, "Cookie": cookie})
    if isinstance(ws, Refused):
        return ws.status
    if isinstance(ws, Unreachable):
        return 0
    await close_quietly(ws)
    return None


async def check_ping(session: aiohttp.ClientSession, target: Target) -> Outcome:
    """Round trips of WebSocket pings through the proxy to hubbub and back."""
    ws = await handshake(session, target)
    if not isinstance(ws, aiohttp.ClientWebSocketResponse):
        return fail("ping", "the WebSocket did not open again", Hop.PROXY_HUBBUB)
    times = []
    try:
        for n in range(PINGS):
            started = time.monotonic()
            if await ping(ws, f"doctor-{n}".encode()) is not None:
                return fail(
                    "ping",
                    f"no pong within {REPLY_TIMEOUT:.0f} s: frames are held back on the way",
                    Hop.PROXY_HUBBUB,
                    "the proxy must pass WebSocket frames both ways as they come",
                    *advice.UPGRADE_LINES,
                )
            times.append(time.monotonic() - started)
    finally:
        await close_quietly(ws)
    spread = f"{milliseconds(min(times))} to {milliseconds(max(times))}"
    return ok("ping", f"round trip {milliseconds(statistics.median(times))} ({spread})")


class IdleSocket:
    """A WebSocket opened now and left without a frame from this side (pings of the server
    answered, as a browser does) for ``idle`` seconds; then a ping must still come back.

    Signed in with ``token`` it is a hubbub.v1 connection; without, a plain-text guest's,
    the only kind hubbub keeps open without a credential."""

    def __init__(self, session: aiohttp.ClientSession, target: Target, idle: float) -> None:
        self._session, self._target, self._idle = session, target, idle

    async def run(self, token: str | None) -> Outcome:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        ws = await handshake(
            self._session, self._target, json_protocol=bool(token), headers=headers
        )
        if isinstance(ws, Refused) and ws.status == 403 and not token:
            return skip("idle", "guests are turned off here: give --user or --token-stdin")
        if isinstance(ws, Refused):
            return advice.handshake_refused("idle", ws.status, self._target)
        if isinstance(ws, Unreachable):
            return advice.unreachable("idle", self._target, ws.reason)
        try:
            return await self._wait(ws)
        finally:
            await close_quietly(ws)

    async def _wait(self, ws: aiohttp.ClientWebSocketResponse) -> Outcome:
        started = time.monotonic()
        deadline = started + self._idle
        while (left := deadline - time.monotonic()) > 0:
            try:
                message = await ws.receive(timeout=left)
            except TimeoutError:
                break
            if message.type is aiohttp.WSMsgType.PING:
                with contextlib.suppress(aiohttp.ClientError, OSError):
                    await ws.pong(message.data)  # a socket gone shows in the next receive
            elif message.type in ENDED:
                return advice.idle_cut(time.monotonic() - started, ended(message).code)
        end = await ping(ws, b"doctor-after-idle")
        if end is not None:
            return advice.idle_cut(time.monotonic() - started, end.code)
        return ok("idle", f"a WebSocket idle for {self._idle:g} s is still open")
