"""An event as one row of ``events``, the same for every SQL backend; no I/O.

The common fields have columns of their own (``user`` in ``author``), and each field of a kind
the column of the same name (``by`` in ``by_user``: BY is an SQL keyword; likewise
``until`` in ``until_ts``, ``private`` in ``is_private``). A new kind whose
fields have no column yet comes with a migration that adds them; appending, reading and
replaying need no change. What differs between engines is only how some fields are held
(booleans, lists): each passes its own converters to ``RowDecoder``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any, Protocol

import msgspec

from hubbub.core.accounts import Account, ServerRole
from hubbub.core.bots import Bot
from hubbub.core.events import EVENT_CLASSES, Event, Message, Quote, Reaction, own_fields
from hubbub.core.files import FileInfo, StoredFile
from hubbub.core.models import RoomKind, RoomRole
from hubbub.core.moderation import AuditEntry
from hubbub.core.outgoing import Delivery, OutgoingWebhook, Trigger
from hubbub.core.profiles import Profile
from hubbub.core.roles import owner
from hubbub.core.webhooks import Webhook
from hubbub.errors import Conflict, file_not_found

COLUMN_OF = {"by": "by_user", "until": "until_ts", "private": "is_private"}
COMMON_COLUMNS = ["seq", "type", "author", "ts"]


def kind_columns(kind: type[Event]) -> list[str]:
    """The columns of the kind's own stored fields, in their order."""
    return [COLUMN_OF.get(f, f) for f in own_fields(kind)]


KIND_COLUMNS = list(dict.fromkeys(c for k in EVENT_CLASSES.values() for c in kind_columns(k)))
EVENT_COLUMNS = ", ".join(COMMON_COLUMNS + KIND_COLUMNS)  # what reads select


class Row(Protocol):
    """A row as a driver gives it (a tuple, an asyncpg ``Record``): read by position, or
    unpacked."""

    def __getitem__(self, index: Any, /) -> Any: ...

    def __iter__(self) -> Iterator[Any]: ...


class RowDecoder:
    """Events from rows selected with ``EVENT_COLUMNS``; ``from_column`` turns the fields an
    engine holds in another form back into theirs."""

    def __init__(self, from_column: Mapping[str, Callable[[Any], Any]]) -> None:
        first = len(COMMON_COLUMNS)
        self._kinds = {
            t: (
                kind,
                [
                    (f, first + KIND_COLUMNS.index(c))
                    for f, c in zip(own_fields(kind), kind_columns(kind), strict=True)
                ],
                [(f, from_column[f]) for f in own_fields(kind) if f in from_column],
            )
            for t, kind in EVENT_CLASSES.items()
        }

    def __call__(self, room: str, row: Row) -> Event:
        seq, type_, author, ts = row[:4]
        cls, positions, converted = self._kinds[type_]
        own = {name: row[i] for name, i in positions}
        for name, convert in converted:
            own[name] = convert(own[name])
        return cls(room=room, seq=seq, ts=ts, user=author, **own)


def as_read(
    message: Message, counted: Mapping[int, list[Reaction]], quotes: Mapping[int, Quote]
) -> Message:
    """The message with the reactions counted for it and the quote of its parent, both read
    with its page (a tombstone quotes nothing)."""
    reactions = counted.get(message.seq)
    quote = None if message.deleted else quotes.get(message.reply_to or 0)
    if reactions is None and quote is None:
        return message
    return msgspec.structs.replace(message, reactions=tuple(reactions or ()), quote=quote)


# A message's files are one JSON array in its row (NULL for none): read with the row, never
# joined, and written once (a message's files never change; a delete empties them).
_FILES = msgspec.json.Decoder(tuple[FileInfo, ...])


def files_column(files: tuple[FileInfo, ...]) -> str | None:
    return msgspec.json.encode(files).decode() if files else None


def files_of(column: str | None) -> tuple[FileInfo, ...]:
    return _FILES.decode(column) if column else ()


# A file's row, read with its room's name (`files f JOIN rooms r ON r.id = f.room_id`).
FILE_COLUMNS = (
    "f.id, f.name, f.size, f.type, f.width, f.height, f.sha256, f.thumb_sha256,"
    " f.uploader, r.name, f.created_at, f.seq"
)
FILE_INSERT_COLUMNS = (
    "id, name, size, type, width, height, sha256, thumb_sha256, uploader, room_id, created_at"
)


def stored_file(row: Row) -> StoredFile:
    """The file of a row selected with ``FILE_COLUMNS``."""
    info = FileInfo(
        id=row[0],
        name=row[1],
        size=row[2],
        type=row[3],
        width=row[4],
        height=row[5],
        thumb=row[7] is not None,
    )
    return StoredFile(
        info=info,
        sha256=row[6],
        thumb_sha256=row[7],
        uploader=row[8],
        room=row[9],
        created_at=row[10],
        seq=row[11],
    )


def file_values(file: StoredFile, room_id: int) -> tuple[Any, ...]:
    """The values of ``FILE_INSERT_COLUMNS`` for a new, pending file."""
    info = file.info
    return (
        info.id,
        info.name,
        info.size,
        info.type,
        info.width,
        info.height,
        file.sha256,
        file.thumb_sha256,
        file.uploader,
        room_id,
        file.created_at,
    )


def attached(message: Message, found: Mapping[str, StoredFile]) -> Message:
    """``message`` with the infos of the files it names as stored (``found``: those rows
    of them that exist). Each must be a pending file of its room that its author uploaded,
    else ``NotFound`` as for a missing file; ``Conflict`` if a message has it already."""
    infos = []
    for ref in message.files:
        file = found.get(ref.id)
        if file is None or file.room != message.room or file.uploader != message.user:
            raise file_not_found(ref.id)
        if file.seq is not None:
            raise Conflict(f"the file {ref.id!r} is attached to another message")
        infos.append(file.info)
    return msgspec.structs.replace(message, files=tuple(infos))


# The members a room's roles name: its admins, and its creator (the owner unless a DM).
ROLES_QUERY = (
    "SELECT m.username, m.role, r.created_by FROM members m JOIN rooms r ON r.id = m.room_id"
    " WHERE m.room_id = {room} AND (m.role = 'admin' OR m.username = r.created_by)"
    " ORDER BY m.username"
)


def roles_of(kind: RoomKind, rows: list[Any]) -> dict[str, RoomRole]:
    """The owner and admins among ``ROLES_QUERY``'s rows, by username."""
    roles: dict[str, RoomRole] = {}
    for user, role, created_by in rows:
        if user == owner(kind, created_by):
            roles[user] = RoomRole.OWNER
        elif role == RoomRole.ADMIN:
            roles[user] = RoomRole.ADMIN
    return roles


# The audit log's rows, newest first: ``audit_entry`` reads them.
AUDIT_COLUMNS = "id, ts, actor, action, room, target, detail"


def audit_entry(row: Row) -> AuditEntry:
    return AuditEntry(
        id=row[0],
        ts=row[1],
        actor=row[2],
        action=row[3],
        room=row[4],
        target=row[5],
        detail=row[6],
    )


# An account as the server admins' listing reads it: ``account`` makes it of a row.
ACCOUNT_COLUMNS = "username, display_name, role, deactivated_at, created_at"


def account(row: Row) -> Account:
    return Account(
        username=row[0],
        display_name=row[1],
        role=ServerRole(row[2]),
        deactivated=row[3] is not None,
        created_at=row[4],
    )


PROFILE_COLUMNS = "username, display_name, status, avatar_version, role, deactivated_at, bot"


def profile_of(row: Row) -> Profile:
    name, display_name, status, avatar, role, deactivated_at, bot = row
    return Profile(
        username=name,
        display_name=display_name,
        status=status,
        avatar=avatar,
        admin=role == "admin",
        deactivated=deactivated_at is not None,
        bot=bool(bot),  # SQLite stores 0 or 1
    )


# Bots, webhooks and their deliveries as reads select them (webhooks joined with their room as
# ``r``): the ``…_of`` functions make each of a row.
BOT_COLUMNS = "username, created_by, created_at, deactivated_at"
WEBHOOK_COLUMNS = "w.id, r.name, w.name, w.username, w.created_by, w.created_at"
OUTGOING_COLUMNS = (
    "o.id, r.name, o.name, o.url, o.trigger, o.words, o.username, o.created_by, o.created_at"
)
DELIVERY_COLUMNS = "message_seq, message_id, attempts, status, error, duration_ms, at"


def bot_of(row: Row) -> Bot:
    name, created_by, created_at, deactivated_at = row
    return Bot(
        name=name,
        created_by=created_by or "",
        created_at=created_at,
        deactivated=deactivated_at is not None,
    )


def webhook_of(row: Row) -> Webhook:
    hook_id, room, name, username, created_by, created_at = row
    return Webhook(
        id=hook_id,
        room=room,
        name=name,
        username=username,
        created_by=created_by,
        created_at=created_at,
    )


def outgoing_of(row: Row) -> OutgoingWebhook:
    hook_id, room, name, url, trigger, words, username, created_by, created_at = row
    return OutgoingWebhook(
        id=hook_id,
        room=room,
        name=name,
        url=url,
        trigger=Trigger(trigger),
        words=tuple(words.split()),
        username=username,
        created_by=created_by,
        created_at=created_at,
    )


def delivery_of(row: Row) -> Delivery:
    seq, msg_id, attempts, status, error, duration_ms, at = row
    return Delivery(
        seq=seq,
        msg_id=msg_id,
        attempts=attempts,
        status=status,
        error=error,
        duration_ms=duration_ms,
        at=at,
    )
