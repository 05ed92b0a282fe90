"""What may be a reaction. Pure functions.

An emoji is one short cluster of emoji code points (1 to 16 of them, with no ASCII letter,
digit or space: that admits skin tones, flags and joined sequences without a grapheme
table), or a short name such as ``:thumbsup:``. A message holds at most ``MAX_REACTIONS``
distinct emoji, so its row of reactions stays short whoever reacts.
"""

from __future__ import annotations

import re
import unicodedata

MAX_REACTIONS = 20
MAX_EMOJI_CODE_POINTS = 16
EMOJI_RULE = "emoji must be one emoji (1 to 16 code points) or a :name: of 1 to 32 [a-z0-9_+-]"
_NAME = re.compile(r":[a-z0-9_+-]{1,32}:")


def is_emoji(text: str) -> bool:
    """A short name, or 1 to 16 code points with at least one symbol (category So) and no
    ASCII letter or digit, no space and no control character."""
    if _NAME.fullmatch(text):
        return True
    return (
        1 <= len(text) <= MAX_EMOJI_CODE_POINTS
        and any(unicodedata.category(c) == "So" for c in text)
        and not any(_refused(c) for c in text)
    )


def _refused(c: str) -> bool:
    return (c.isascii() and c.isalnum()) or c.isspace() or unicodedata.category(c) == "Cc"
