"""The export format: newline-delimited JSON, one record per line, its kind in ``kind``.

A file is a ``header``, then the rows of each table as records, table by table in the order
of ``TABLES`` (parents before the rows that name them), then an ``end`` that counts them:
a file cut short has no ``end`` and is refused whole. A record holds its row's columns by
name, leaving out those that are NULL; a row names its room by ``room`` (the room's name:
room ids are the database's own and are not exported). Booleans are JSON booleans, a
message's ``mentions`` a list. Tokens are not exported: an imported server signs everyone
in again. Outgoing webhooks' signing secrets are, in the clear (they sign deliveries): an
export is as secret as the database. No I/O here.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import msgspec

FORMAT = 1  # the version of this format; a file of another is refused


class _Record(
    msgspec.Struct, tag_field="kind", kw_only=True, omit_defaults=True, forbid_unknown_fields=True
):
    pass


class Header(_Record, tag="header", kw_only=True):
    format: int
    hubbub: str  # the version that wrote it
    exported_at: int  # ms since the epoch
    source: str  # where the database was: no password


class End(_Record, tag="end", kw_only=True):
    counts: dict[str, int]  # records of each kind


class UserRecord(_Record, tag="user", kw_only=True):
    username: str
    password_hash: str  # argon2id, as stored
    created_at: int
    role: str
    display_name: str
    status: str
    avatar: str | None = None
    avatar_version: str
    deactivated_at: int | None = None
    dm_policy: str  # everyone, shared_rooms or nobody
    bot: bool = False
    created_by: str | None = None  # a bot's maker ("" the command line); None for a person


class RoomRecord(_Record, tag="room", kw_only=True):
    name: str
    room_kind: str  # public, private or dm (the column `kind`: that name is the record's)
    created_by: str | None = None
    created_at: int
    last_seq: int
    room_topic: str
    room_title: str = ""
    room_retention_days: int | None = None


class MemberRecord(_Record, tag="member", kw_only=True):
    room: str
    username: str
    read_seq: int
    joined_at: int
    role: str


class EventRecord(_Record, tag="event", kw_only=True):
    room: str
    seq: int
    type: str
    author: str
    ts: int
    msg_id: str | None = None
    client_msg_id: str | None = None
    body: str | None = None
    by_user: str | None = None
    edited_at: int | None = None
    deleted: bool | None = None
    target: int | None = None
    member: str | None = None
    role: str | None = None
    emoji: str | None = None
    reply_to: int | None = None
    thread: int | None = None
    replies: int | None = None
    last_reply_at: int | None = None
    mentions: list[str] | None = None
    room_mention: bool | None = None
    files: str | None = None  # the message's files, JSON, as stored
    pos: int  # its place in the order of all writes (search's order)
    reason: str | None = None
    until_ts: int | None = None
    topic: str | None = None
    is_private: bool | None = None
    title: str | None = None
    retention_days: int | None = None


class ReactionRecord(_Record, tag="reaction", kw_only=True):
    room: str
    seq: int
    emoji: str
    username: str


class MentionRecord(_Record, tag="mention", kw_only=True):
    username: str
    room: str
    seq: int


class FileRecord(_Record, tag="file", kw_only=True):
    id: str
    sha256: str
    thumb_sha256: str | None = None
    size: int
    type: str
    name: str
    width: int | None = None
    height: int | None = None
    uploader: str
    room: str
    created_at: int
    seq: int | None = None


class BanRecord(_Record, tag="ban", kw_only=True):
    room: str
    username: str
    by_user: str
    reason: str
    ts: int


class MuteRecord(_Record, tag="mute", kw_only=True):
    room: str
    username: str
    until_ts: int | None = None


class InvitationRecord(_Record, tag="invitation", kw_only=True):
    room: str
    username: str
    by_user: str
    ts: int


class BlockRecord(_Record, tag="block", kw_only=True):
    blocker: str
    blocked: str
    ts: int


class ServerSettingsRecord(_Record, tag="server_settings", kw_only=True):
    id: int  # always 1: one row
    registration: str | None = None  # None: the config's
    guests: bool | None = None
    version: int


class InviteLinkRecord(_Record, tag="invite_link", kw_only=True):
    id: str
    code_hash: bytes  # the SHA-256 of its code (base64 in JSON)
    created_by: str
    created_at: int
    expires_at: int
    max_uses: int | None = None
    uses: int


class GuestBanRecord(_Record, tag="guest_ban", kw_only=True):
    network: str
    by_user: str
    ts: int


class WebhookRecord(_Record, tag="webhook", kw_only=True):
    id: str
    room: str
    name: str
    username: str  # its bot account
    secret_hash: bytes | None = None  # the SHA-256 of its secret (base64); None once revoked
    created_by: str
    created_at: int
    revoked_at: int | None = None


class OutgoingWebhookRecord(_Record, tag="outgoing_webhook", kw_only=True):
    id: str
    room: str
    name: str
    url: str
    trigger: str  # all, mention or words
    words: str  # the trigger words, separated by spaces
    username: str  # its bot account
    secret: str | None = None  # its signing secret, in the clear; None once revoked
    created_by: str
    created_at: int
    revoked_at: int | None = None


class OutgoingDeliveryRecord(_Record, tag="outgoing_delivery", kw_only=True):
    hook_id: str
    message_seq: int
    message_id: str
    attempts: int
    status: int | None = None
    error: str
    duration_ms: int
    at: int


class AuditRecord(_Record, tag="audit", kw_only=True):
    ts: int
    actor: str
    action: str
    room: str  # its name, as the audit log keeps it (the column itself)
    target: str | None = None
    detail: str


Record = (
    Header
    | End
    | UserRecord
    | RoomRecord
    | MemberRecord
    | EventRecord
    | ReactionRecord
    | MentionRecord
    | FileRecord
    | BanRecord
    | MuteRecord
    | AuditRecord
    | InvitationRecord
    | BlockRecord
    | ServerSettingsRecord
    | InviteLinkRecord
    | GuestBanRecord
    | WebhookRecord
    | OutgoingWebhookRecord
    | OutgoingDeliveryRecord
)


class Table(NamedTuple):
    name: str
    record: type[Any]
    kind: str  # the record's tag
    order: tuple[str, ...]  # the columns rows are exported in the order of
    by_room_id: bool  # whether the field ``room`` stands for the column ``room_id``

    @property
    def fields(self) -> tuple[str, ...]:
        return tuple(self.record.__struct_fields__)

    @property
    def columns(self) -> list[str]:
        """The table's columns for ``fields``, in their order."""
        renamed = COLUMN_OF if self.by_room_id else {}
        return [renamed.get(f, f) for f in self.fields]


COLUMN_OF = {"room": "room_id", "room_kind": "kind"}  # the fields not named as their columns


def _table(name: str, record: type[Any], order: tuple[str, ...], by_room_id: bool = True) -> Table:
    return Table(name, record, record.__struct_config__.tag, order, by_room_id)


# Every table exported, parents first; ``storage.transfer.TABLES`` less ``tokens`` and
# ``account_changes`` (what each node polls to close sessions: nothing to restore). Rows go
# in a fixed order (rooms as they were created; text in code-point order), so two databases
# with the same rows export the same file, whichever engine holds them.
TABLES = (
    _table("users", UserRecord, ("username",)),
    _table("rooms", RoomRecord, ("id",)),
    _table("members", MemberRecord, ("room_id", "username")),
    _table("events", EventRecord, ("room_id", "seq")),
    _table("reactions", ReactionRecord, ("room_id", "seq", "emoji", "username")),
    _table("mentions", MentionRecord, ("room_id", "seq", "username")),
    _table("files", FileRecord, ("room_id", "id")),
    _table("bans", BanRecord, ("room_id", "username")),
    _table("mutes", MuteRecord, ("room_id", "username")),
    _table("audit", AuditRecord, ("id",), by_room_id=False),  # ids: in the order written
    _table("invitations", InvitationRecord, ("room_id", "username")),
    _table("blocks", BlockRecord, ("blocker", "blocked"), by_room_id=False),
    _table("server_settings", ServerSettingsRecord, ("id",), by_room_id=False),
    _table("invite_links", InviteLinkRecord, ("code_hash",), by_room_id=False),
    _table("guest_bans", GuestBanRecord, ("network",), by_room_id=False),
    _table("webhooks", WebhookRecord, ("id",)),
    _table("outgoing_webhooks", OutgoingWebhookRecord, ("id",)),
    _table("outgoing_deliveries", OutgoingDeliveryRecord, ("hook_id", "message_seq"), False),
)
BY_KIND = {table.kind: table for table in TABLES}
# Text keys, sorted by code point on every engine (files.id is COLLATE "C" on PostgreSQL).
TEXT_KEYS = frozenset({"username", "emoji", "blocker", "blocked", "network"})

encoder = msgspec.json.Encoder()
decoder = msgspec.json.Decoder(Record)
