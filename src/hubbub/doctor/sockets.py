"""WebSockets as a browser opens them, for the doctor: the handshake's outcome as a value,
and a hubbub.v1 connection that keeps what it receives and matches replies to requests."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import ssl
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import aiohttp

from hubbub.doctor.target import Target

SUBPROTOCOL = "hubbub.v1"
HANDSHAKE_TIMEOUT = 10.0
REPLY_TIMEOUT = 10.0
MAX_MESSAGE = 1 << 20  # a frame from the server; hubbub's largest replies are far smaller
MAX_FRAMES = 10_000  # frames a connection keeps, the newest


@dataclass(frozen=True)
class Refused:
    """The handshake got an HTTP status other than 101."""

    status: int


@dataclass(frozen=True)
class Unreachable:
    """No handshake answer at all: the connection failed, TLS failed, or time ran out."""

    reason: str
    tls: bool = False


async def handshake(
    session: aiohttp.ClientSession,
    target: Target,
    *,
    json_protocol: bool = True,
    headers: Mapping[str, str] | None = None,
) -> aiohttp.ClientWebSocketResponse | Refused | Unreachable:
    """Open a WebSocket to ``/`` offering hubbub.v1 (or nothing: a plain-text guest).
    Pings are answered by the caller (``autoping`` off), so pongs can be timed."""
    try:
        async with asyncio.timeout(HANDSHAKE_TIMEOUT):
            return await session.ws_connect(
                target.ws_url,
                protocols=(SUBPROTOCOL,) if json_protocol else (),
                headers=dict(headers or {}),
                autoping=False,
                compress=0,
                max_msg_size=MAX_MESSAGE,
            )
    except aiohttp.WSServerHandshakeError as exc:
        return Refused(exc.status)
    except (aiohttp.ClientSSLError, ssl.SSLError) as exc:
        return Unreachable(str(exc), tls=True)
    except TimeoutError:
        return Unreachable(f"no answer within {HANDSHAKE_TIMEOUT:.0f} s")
    except (aiohttp.ClientError, OSError) as exc:
        return Unreachable(str(exc) or type(exc).__name__)


@dataclass(frozen=True)
class Ended:
    """The socket ended: ``code`` of the close frame, or None when it was cut without one
    (or no answer came in time)."""

    code: int | None


_SEND_FAILED = (aiohttp.ClientError, OSError)  # writing to a socket that is gone


async def ping(ws: aiohttp.ClientWebSocketResponse, payload: bytes) -> Ended | None:
    """Send a WebSocket ping and wait for its pong (answering the peer's pings meanwhile):
    None when it came, else how the socket ended."""
    try:
        await ws.ping(payload)
        async with asyncio.timeout(REPLY_TIMEOUT):
            while True:
                message = await ws.receive()
                if message.type is aiohttp.WSMsgType.PONG and message.data == payload:
                    return None
                if message.type is aiohttp.WSMsgType.PING:
                    await ws.pong(message.data)
                elif message.type in ENDED:
                    return ended(message)
    except (TimeoutError, *_SEND_FAILED):
        return Ended(None)


def ended(message: aiohttp.WSMessage) -> Ended:
    """How a socket ended, from the message that said so."""
    if message.type is aiohttp.WSMsgType.CLOSE and isinstance(message.data, int):
        return Ended(message.data)
    return Ended(None)


ENDED = (
    aiohttp.WSMsgType.CLOSE,
    aiohttp.WSMsgType.CLOSING,
    aiohttp.WSMsgType.CLOSED,
    aiohttp.WSMsgType.ERROR,
)


async def close_quietly(ws: aiohttp.ClientWebSocketResponse) -> None:
    try:
        async with asyncio.timeout(3):
            await ws.close()
    except (TimeoutError, aiohttp.ClientError, OSError):
        pass


class Live:
    """A signed-in hubbub.v1 connection: every frame it receives is kept in ``frames``;
    ``request`` sends one with an id and waits for the reply."""

    _ids = itertools.count(1)

    def __init__(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        self.ws = ws
        self.frames: list[dict[str, Any]] = []
        self.close_code: int | None = None
        self.closed = asyncio.Event()
        self._changed = asyncio.Condition()
        self._reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        try:
            while True:
                message = await self.ws.receive()
                if message.type is aiohttp.WSMsgType.PING:
                    await self.ws.pong(message.data)
                    continue
                if message.type in ENDED:
                    break
                if message.type is aiohttp.WSMsgType.TEXT:
                    frame = json.loads(message.data)
                    if isinstance(frame, dict):
                        async with self._changed:
                            self.frames.append(frame)
                            del self.frames[:-MAX_FRAMES]
                            self._changed.notify_all()
        except (aiohttp.ClientError, OSError, ValueError):
            pass
        finally:
            self.close_code = self.ws.close_code
            self.closed.set()
            async with self._changed:
                self._changed.notify_all()

    async def wait_for(
        self, predicate: Callable[[dict[str, Any]], bool], timeout: float = REPLY_TIMEOUT
    ) -> dict[str, Any] | None:
        """The first frame received that ``predicate`` accepts, or None if the time ran out
        or the connection closed before one came."""
        try:
            async with asyncio.timeout(timeout), self._changed:
                while True:
                    for frame in self.frames:
                        if predicate(frame):
                            return frame
                    if self.closed.is_set():
                        return None
                    await self._changed.wait()
        except TimeoutError:
            return None

    async def request(self, type_: str, **fields: Any) -> dict[str, Any] | None:
        """The reply to a request (an ``error`` frame included), or None."""
        request_id = f"doctor-{next(self._ids)}"
        try:
            await self.ws.send_str(json.dumps({"type": type_, "id": request_id, **fields}))
        except _SEND_FAILED:
            return None
        return await self.wait_for(lambda frame: frame.get("re") == request_id)

    async def close(self) -> None:
        await close_quietly(self.ws)
        self._reader.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._reader
