"""Who a message calls by name. Pure functions.

``@name`` (a username, case-insensitive) after the start or a character that is not part of
a word, and ``@room`` for every member. Code is not text: nothing in a fenced block or an
inline code span mentions anyone, as it is not shown as a mention either. Storage keeps only
the names of members, and ``@room`` only where ``may_mention_room`` allows it.
"""

from __future__ import annotations

import re

from hubbub.core.models import USERNAME

MAX_MENTIONS = 50  # names looked at per message: the body's length bounds nothing useful
ROOM_MENTION_MAX_MEMBERS = 50  # above this, only the room's owner and admins may @room
ROOM = "room"  # @room: not a username (registration refuses it)

_CODE = re.compile(r"```.*?(?:```|\Z)|`[^`\n]*`", re.DOTALL)
_MENTION = re.compile(rf"(?<![\w@]){re.escape('@')}({USERNAME})")


def find_mentions(body: str) -> tuple[tuple[str, ...], bool]:
    """The names ``body`` mentions (lowercase, sorted, at most ``MAX_MENTIONS``) and whether
    it mentions ``@room``. Trailing dots and dashes end a sentence, not a name."""
    if "@" not in body:  # most messages: no regex at all
        return (), False
    names: set[str] = set()
    room = False
    for match in _MENTION.finditer(_CODE.sub(" ", body)):
        name = match.group(1).rstrip(".-").lower()
        if name == ROOM:
            room = True
        elif len(names) < MAX_MENTIONS:
            names.add(name)
    return tuple(sorted(names)), room


def may_mention_room(is_owner_or_admin: bool, members: int) -> bool:
    """``@room`` notifies everyone: in a large room only its owner and admins may."""
    return is_owner_or_admin or members <= ROOM_MENTION_MAX_MEMBERS
