"""Signing in and out over the HTTP API (``POST /api/v1/login``, ``POST /api/v1/logout``),
so that the token can be kept in the config dir and used by ``hubbub.client`` next time.
Nothing here logs, and no error message carries the password or the token."""

from __future__ import annotations

import aiohttp
import msgspec

from hubbub.chat.config import Session, normal_url
from hubbub.transport.http_api import Credentials, ErrorOut, SessionOut

TIMEOUT = aiohttp.ClientTimeout(total=15)


class SignInError(Exception):
    """Why signing in failed, in words for the user."""


async def sign_in(http: aiohttp.ClientSession, url: str, username: str, password: str) -> Session:
    base = normal_url(url)
    body = msgspec.json.encode(Credentials(username, password))
    try:
        async with http.post(
            f"{base}/api/v1/login",
            data=body,
            headers={"Content-Type": "application/json"},
            timeout=TIMEOUT,
        ) as response:
            data = await response.read()
    except (aiohttp.ClientError, OSError, TimeoutError) as exc:
        raise SignInError(f"cannot reach {base}: {type(exc).__name__}") from None
    if response.status == 200:
        answer = msgspec.json.decode(data, type=SessionOut)
        return Session(base, answer.user.username, answer.token)
    try:
        message = msgspec.json.decode(data, type=ErrorOut).message
    except msgspec.MsgspecError:
        message = f"the server answered HTTP {response.status}"
    raise SignInError(message)


async def sign_out(http: aiohttp.ClientSession, session: Session) -> bool:
    """Revoke the token on its server; False if that could not be done."""
    try:
        async with http.post(
            f"{session.url}/api/v1/logout",
            headers={
                "Authorization": f"Bearer {session.token}",
                "Content-Type": "application/json",  # the API's rule for every POST
            },
            timeout=TIMEOUT,
        ) as response:
            return response.status in (204, 401)  # revoked now, or refused already
    except (aiohttp.ClientError, OSError, TimeoutError):
        return False
