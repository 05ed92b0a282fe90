"""WebSocket close codes, and whether a client should reconnect after each.

The ranges carry the policy: 1000-range codes are the standard ones, 4000-4499 mean
"reconnect (with backoff) and ``sync``", 4500-4999 mean "do not reconnect as you are".
4401 is the exception the protocol fixes for a missing or bad credential: reconnect only
with a new token.
"""

from __future__ import annotations

import enum


class CloseCode(enum.IntEnum):
    NORMAL = 1000
    GOING_AWAY = 1001  # server shutting down: reconnect with backoff
    PROTOCOL_ERROR = 1002  # a frame that breaks RFC 6455
    INVALID_DATA = 1007  # a text frame that is not UTF-8
    TOO_BIG = 1009  # a frame above the configured size
    INTERNAL = 1011  # also: no sign of life within the ping timeout
    TRY_AGAIN_LATER = 1013  # too many signed-in connections from the address
    SLOW_CONSUMER = 4000  # outgoing buffer over its bound: reconnect and sync
    RATE_LIMITED = 4029  # a plain-text guest sending too fast: reconnect after a pause
    UNAUTHENTICATED = 4401  # get a new token before reconnecting
    GUESTS_OFF = 4503  # a plain-text guest: a server admin turned guests off
    GUEST_BANNED = 4504  # a plain-text guest: a server admin banned the guest's address
