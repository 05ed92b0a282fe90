"""Bot accounts: what they are and the rules of making them. No I/O.

A bot is an account marked as one, made by a server admin (or by anyone, when the server
allows it), and used through its token alone: it has no password, so no sign-in matches it,
and its token does not expire (revoking it is deactivating the bot). Its profile says
``bot``, so that every client can mark what it writes.
"""

from __future__ import annotations

import msgspec

# The password hash of a bot: no argon2 hash, so every password fails against it.
NO_PASSWORD = "!"
# When a bot's token expires: never, in practice (the last millisecond of the year 9999).
NEVER_EXPIRES = 253_402_300_799_999
MAX_BOTS_PER_USER = 20  # live bots a user who is no server admin may have made
MAX_BOTS_LISTED = 1000  # bots in one listing
COMMAND_LINE = ""  # ``created_by`` of a bot made with ``hubbub admin bot create``
ADMIN_ONLY = "only server admins can create bots on this server"


class Bot(msgspec.Struct, frozen=True, kw_only=True):
    """A bot as its maker (or a server admin) sees it."""

    name: str
    created_by: str  # the username of its maker; "" for the command line
    created_at: int  # ms since the epoch
    deactivated: bool = False


def too_many(limit: int) -> str:
    return f"you have {limit} bots already: delete one first"


def no_bot(name: str) -> str:
    """The refusal of a bot one may not manage, or of an account that is no bot."""
    return f"no bot of yours named {name!r}"
