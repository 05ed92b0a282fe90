"""How long messages are kept, and who deletes them when that runs out. Pure, no I/O.

The server has a retention (``retention_days``; 0 keeps messages forever) and a room may have
its own, which wins whether it is shorter or longer (0: forever); a direct-message room
follows the server's. A pass deletes each room's messages older than its cutoff exactly as a
``delete`` does, a batch at a time, and the audit log gets one entry per room and pass.
"""

from __future__ import annotations

from typing import NamedTuple

from hubbub.core.events import MessageDeleted
from hubbub.core.models import RoomKind
from hubbub.core.moderation import AuditEntry

MAX_RETENTION_DAYS = 36_500
SERVER_RETENTION = -1  # in room_settings and room_changed: back to the server's setting
# The deleter named by the message_deleted events of retention: no username is empty.
RETENTION_DELETER = ""
RETENTION_ACTION = "retention"
DAY_MS = 86_400_000
# Messages deleted per write, so that one write holds the writer briefly (docs/operations.md,
# Retention and compaction, says how long it measured).
BATCH = 25


class RoomRetention(NamedTuple):
    """A room as the retention pass reads it: its own setting (None: the server's)."""

    room: str
    kind: RoomKind
    days: int | None


def days_of(room_days: int | None, kind: RoomKind, server_days: int) -> int:
    """How many days a room keeps its messages (0: forever): its own setting, if it has one
    and is no direct-message room, else the server's."""
    if room_days is None or kind == RoomKind.DM:
        return server_days
    return room_days


def cutoff(now: int, days: int) -> int | None:
    """The ``ts`` (ms) before which a message is due at ``now``; None when kept forever."""
    return None if days == 0 else now - days * DAY_MS


def setting(value: int) -> int | None:
    """A room's stored setting from a room_settings value (``SERVER_RETENTION``: None)."""
    return None if value == SERVER_RETENTION else value


def entry(room: str, ts: int, deleted: int, before: int) -> AuditEntry:
    """The audit log's one entry of a pass that deleted ``deleted`` messages of ``room``."""
    return AuditEntry(
        id=0,
        ts=ts,
        actor=RETENTION_DELETER,
        action=RETENTION_ACTION,
        room=room,
        target=None,
        detail=f"deleted={deleted} before={before}",
    )


def deletion(room: str, seq: int, now: int) -> MessageDeleted:
    """The delete of the message ``seq`` that retention makes (``thread`` filled in by
    storage, as for any delete)."""
    return MessageDeleted(room=room, seq=0, ts=now, user=RETENTION_DELETER, target=seq)
