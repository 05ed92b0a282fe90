"""Incoming webhooks: a URL with a secret in it that posts to one room. No I/O.

Each webhook posts as its own bot account, made with it and named after its id
(``hook-<id>``; its display name is the webhook's name), which is a member of the room. The
secret is the credential: only its SHA-256 is kept, as for tokens. A revoked webhook keeps
its row, so its bot's messages stay its own, and its bot leaves the room.
"""

from __future__ import annotations

import msgspec

MAX_WEBHOOKS_PER_ROOM = 20  # live webhooks of one room
PATH = "/hooks"  # where webhooks are posted to: PATH/<id>/<secret>
NOT_FOUND = "no such webhook, or it was revoked"  # a bad id and a bad secret alike
USERNAME_PREFIX = "hook-"


class Webhook(msgspec.Struct, frozen=True, kw_only=True):
    """A live webhook as its room's members see it: no secret."""

    id: str
    room: str
    name: str  # 1-64 characters, as a display name
    username: str  # its bot account, which its messages are from
    created_by: str
    created_at: int  # ms since the epoch


class Payload(msgspec.Struct):
    """What is posted to a webhook: Slack's incoming-webhook payload. ``text`` is the
    message; every other field (``username``, ``blocks``, ``icon_emoji``, ``channel``…) is
    accepted and ignored."""

    text: str


def bot_name(hook_id: str) -> str:
    return f"{USERNAME_PREFIX}{hook_id}"


def too_many(limit: int) -> str:
    return f"this room has {limit} webhooks already: revoke one first"
