"""A user's profile as pure data, and the rules of the texts its user writes. No I/O.

The username stays the identity; the display name and status are what the user chose to be
shown. Both are trimmed, counted in code points, and hold no character that could break or
disguise the text around them: control characters, line and paragraph separators, surrogates,
and the bidirectional embeddings, overrides and isolates (which can reorder what follows a
name on screen). Zero-width joiners stay allowed: emoji sequences need them.
"""

from __future__ import annotations

import unicodedata

import msgspec

MAX_DISPLAY_NAME = 64  # code points
MAX_STATUS = 140  # code points
# The bidirectional embeddings, overrides (U+202A-U+202E) and isolates (U+2066-U+2069).
_BIDI_CONTROLS = frozenset(map(chr, (*range(0x202A, 0x202F), *range(0x2066, 0x206A))))
_REFUSED_CATEGORIES = frozenset(("Cc", "Cs", "Zl", "Zp"))


class Profile(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """What anyone signed in may read of a user."""

    username: str
    display_name: str = ""  # "" = none: show the username
    status: str = ""
    avatar: str = ""  # "" = none; else a short token that changes with the avatar
    admin: bool = False  # a server admin
    deactivated: bool = False  # the account is deactivated: it cannot sign in
    bot: bool = False  # a bot account (see `core.bots`)


def shown_text(value: str, limit: int, what: str) -> str:
    """``value`` trimmed, or ``ValueError`` naming ``what`` if it is longer than ``limit``
    code points or holds a character that is refused. "" clears it."""
    text = value.strip()
    if len(text) > limit:
        raise ValueError(f"{what} is at most {limit} characters")
    for char in text:
        if char in _BIDI_CONTROLS or unicodedata.category(char) in _REFUSED_CATEGORIES:
            raise ValueError(
                f"{what} cannot hold control characters, line breaks or"
                f" bidirectional controls (U+{ord(char):04X})"
            )
    return text


def display_name(value: str) -> str:
    return shown_text(value, MAX_DISPLAY_NAME, "a display name")


def status(value: str) -> str:
    return shown_text(value, MAX_STATUS, "a status")
