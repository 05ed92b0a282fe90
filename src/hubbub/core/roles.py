"""Who may do what to a room's messages and roles. Pure functions.

The creator of a room is its owner; the owner makes members admins and takes it back. A
direct-message room has no owner and no admins: each of its two members deletes only their
own messages.
"""

from __future__ import annotations

from hubbub.core.events import Role
from hubbub.core.models import RoomKind


def owner(kind: RoomKind, created_by: str | None) -> str | None:
    """The room's owner: its creator, except in a DM (whose creator only opened it)."""
    return None if kind == RoomKind.DM else created_by


def may_delete(
    actor: str, author: str, room_owner: str | None, actor_role: str, server_admin: bool = False
) -> bool:
    """A message is deleted by its author, the room's owner, an admin of the room, or a
    server admin (in any room but a DM, which server admins do not moderate)."""
    return actor in (author, room_owner) or actor_role == Role.ADMIN or server_admin
