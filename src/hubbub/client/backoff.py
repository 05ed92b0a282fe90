"""When and how soon the client reconnects: its side of the server's close-code policy
(``protocol.codes``) and a bounded exponential backoff with jitter. Pure: no sockets, no
timers, no randomness of its own (the random number is passed in).
"""

from __future__ import annotations

import enum

from hubbub.protocol.codes import CloseCode

BACKOFF_FIRST = 0.5  # seconds before the first reconnect attempt, at most
BACKOFF_MAX = 30.0  # the ceiling of every wait


class AfterClose(enum.Enum):
    RETRY = "retry"  # reconnect after a backoff, then sync
    SIGN_IN = "sign_in"  # the credential is gone: only a new token helps
    STOP = "stop"  # the same connection would fail the same way again


# Standard codes that say the client itself is at fault: reconnecting repeats the fault.
_CLIENT_FAULTS = frozenset({CloseCode.PROTOCOL_ERROR, CloseCode.INVALID_DATA, CloseCode.TOO_BIG})


def after_close(code: int | None, unauthenticated: bool = False) -> AfterClose:
    """What to do once a connection ended with close ``code`` (None: lost without a close
    frame, which aiohttp reports as 1006). ``unauthenticated``: the server sent an
    ``unauthenticated`` error just before closing."""
    if code == CloseCode.UNAUTHENTICATED or unauthenticated:
        return AfterClose.SIGN_IN
    if code is None:
        return AfterClose.RETRY
    if 4500 <= code <= 4999 or code in _CLIENT_FAULTS:
        return AfterClose.STOP
    return AfterClose.RETRY  # 1000, 1001, 1006, 1011, 1013, 4000-4499


def backoff_delay(
    attempt: int, random: float, first: float = BACKOFF_FIRST, ceiling: float = BACKOFF_MAX
) -> float:
    """The wait before reconnect attempt ``attempt`` (1, 2, …): the bound doubles from
    ``first`` up to ``ceiling``, and the wait is half of it fixed and half ``random``
    (0 ≤ random < 1), so clients dropped together by a restart do not return together."""
    bound = min(ceiling, first * 2.0 ** min(max(attempt, 1) - 1, 62))
    return bound / 2 + random * (bound / 2)


def handshake_action(status: int) -> AfterClose:
    """What to do after the server refused the WebSocket handshake with HTTP ``status``:
    too many connections (429, 503) and a proxy's trouble (5xx) pass; anything else (a
    wrong path, a refused Origin, guests off) would be refused again."""
    if status == 401:
        return AfterClose.SIGN_IN
    if status in (408, 429) or status >= 500:
        return AfterClose.RETRY
    return AfterClose.STOP
