"""The storage interface and the guarantees every implementation gives.

Rooms and users are named by their (normalized) names. Every guarantee below is a test of
``tests/storage/test_contract.py``, which runs against each backend:

1. **Ordered writes.** A write method enqueues its work when it is called, before it returns
   its awaitable, and writes are applied in the order they were called. A connection that
   appends twice gets its two events in that order, whatever it awaits between.
2. **Gapless sequence numbers.** Each room's ``seq`` is allocated in the same transaction
   that inserts the event: 1, 2, 3 … with no hole, and a failed write takes no number.
3. **Durable before resolved.** An awaitable resolves only after its transaction is durably
   committed: what resolved is there when the storage is opened again.
4. **Published once, before resolved.** Just before the awaitables of a commit resolve,
   ``on_events`` is called once with every event that commit created, in commit order. That
   is the only way events leave storage; a failed write publishes nothing.
5. **Idempotent appends.** An event's ``client_msg_id`` (for the kinds that have one,
   today messages) is unique per author: appending the same id again to the same room
   returns the stored event with ``duplicate=True`` and creates nothing; to another room
   (or as another kind of event) it is a ``Conflict``.
6. **Membership inside the write.** ``append`` with ``require_member`` checks that the
   author is a member in the write transaction, so an event never lands after its author
   left; a retry of an event stored before still gets its stored answer.
7. **Errors.** ``NotFound`` for a room or user that does not exist, ``Conflict`` for a taken
   name; the service decides what a user may see, except where a method says it checks.
8. **Nothing waits.** When the storage itself fails (a database that cannot be read or
   written, a writer that stopped) or is closing, methods raise ``Unavailable``: every
   awaitable resolves. ``close`` first commits every write queued before it.
9. **Replay in one snapshot.** ``replay_since`` reads its events and ``last_seq`` in one
   snapshot, and replays all of the events asked for or none.
10. **Changes in the write.** ``edit_message``, ``delete_message`` and ``set_role`` check
   the target and the actor's rights in the write transaction, append their event and bring
   the rows they change to their current state in that same transaction: a message's row
   holds its latest body and ``edited_at``, or, once deleted, no body (nor do its edits), so
   history and replay read rows as they are (``core.projection.current`` is their form). A
   change that changes nothing (the same body, a second delete, the same role) appends
   nothing.
11. **Reactions per reader.** ``react`` keeps who reacts to which message with what in the
   write that appends the reaction event; a delete drops the message's reactions. History
   and replay give each message its ``reactions`` (count per emoji, and ``me`` for the
   ``reader``), counted for the page read, so they equal ``core.projection.current``.
12. **Threads and mentions in the write.** ``append`` of a reply checks its parent in the
   write (``NotFound`` if it is no message of the room, ``Conflict`` if deleted), puts it in
   its parent's thread, quotes the parent, and counts it on the thread's root (``replies``,
   ``last_reply_at``); a delete counts it off again. A message or edit keeps only the mentions
   of members other than its author, and ``@room`` only where ``core.mentions`` allows it.
   ``RoomInfo.unread_mentions`` counts what mentions the reader after their read marker.
13. **Search follows the rows.** The search index changes in the write that changes a
   message's body: an edit's new body is found and its old one is not, and a deleted
   message is found by no search (its index entries are erased as the engine allows: see
   each backend). ``search`` returns what ``core.search.match_ranges`` matches, newest first
   by each event's ``pos`` (the order of writes), a page examining the same candidates
   (``core.search.Sieve``) on every backend.
14. **One first admin.** ``create_user`` makes the account it creates the server's admin
   when no account exists yet, decided in its write transaction: however many accounts are
   created at once, on however many nodes, exactly one is the admin (the first committed);
   every later one is a member. ``is_admin`` reads it.
15. **Files in the write.** ``add_file`` checks in its write that the uploader is a member
   of the file's room and within their quota. ``append`` of a message naming files (by id:
   ``core.files.file_ref``) checks each in the write: a pending file of the same room that
   its author uploaded (``NotFound`` otherwise), not attached to a message yet (``Conflict``);
   it attaches them, and the message keeps their infos as stored (history and replay give
   them). ``delete_message`` drops its files in its write: from its commit on, ``file``
   finds none of them. ``referenced_blobs`` names every blob a file still refers to.
16. **Profiles and passwords in the write.** ``set_profile`` and ``set_avatar`` change only
   what they are given and answer the profile as committed; ``referenced_blobs`` names the
   blob of every avatar too. ``set_password`` revokes the user's other tokens (with
   ``keep``) in the write that stores the new hash: from its commit on,
   ``user_for_token`` finds none of them.

17. **Moderation in the write.** ``moderate`` checks the actor's rights over the room and
   the member (``core.moderation.check``) in its write, changes who is banned or muted and
   the room's settings, and appends its event and the audit log's entry in that same
   transaction; a moderation that changes nothing appends and logs nothing. From the commit
   of a ban on, ``add_member`` refuses the user (``Forbidden``) and ``is_banned`` says so;
   from the commit of a mute until it ends, ``append`` of a message and ``react`` refuse the
   member (``Forbidden``), decided by the event's ``ts``. ``delete_message`` logs the
   deletes of messages by others than their authors.

Events are appended through one method, ``append``, whatever their kind; the methods that
change members (``create_room``, ``open_dm``, ``add_member``, ``remove_member``) or messages
and roles (``edit_message``, ``delete_message``, ``set_role``) append their event through the
same path inside their own write.
"""

from __future__ import annotations

import abc
from collections.abc import Awaitable, Callable, Sequence
from typing import Generic, NamedTuple, TypeVar

from hubbub.core.events import (
    Event,
    MemberJoined,
    MemberLeft,
    Message,
    MessageDeleted,
    MessageEdited,
    Moderation,
    ReactionAdded,
    ReactionRemoved,
    RoleChanged,
)
from hubbub.core.files import StoredFile
from hubbub.core.models import PublicRoom, Room, RoomInfo, RoomKind, RoomRole
from hubbub.core.moderation import AuditEntry
from hubbub.core.profiles import Profile
from hubbub.core.search import Cursor, Results
from hubbub.lifecycle import Opened

EventSink = Callable[[list[Event]], None]


class StorageError(Exception):
    """Storage cannot be opened or migrated (a file that is not a database, a schema newer
    than this code, a URL naming no engine); the message is one line for the operator."""


E = TypeVar("E", bound=Event)


class Appended(NamedTuple, Generic[E]):
    event: E  # as stored: with its seq, or the one stored before for a duplicate
    duplicate: bool


class Joined(NamedTuple):
    info: RoomInfo
    event: MemberJoined | None  # None when the user already was a member


class Changed(NamedTuple):
    message: Message  # as it stands after the change
    # None when nothing changed
    event: MessageEdited | MessageDeleted | ReactionAdded | ReactionRemoved | None


class Page(NamedTuple):
    events: list[Event]
    has_more: bool


class Thread(NamedTuple):
    root: Message
    events: list[Event]  # its replies, oldest first
    has_more: bool


class Replay(NamedTuple):
    events: list[Event] | None  # None: more than the bound, nothing replayed
    last_seq: int  # the room's last seq in the same snapshot


class Storage(Opened):
    """One backend. Entered as an async context manager: opened (and migrated) on entry."""

    on_events: EventSink

    def __init__(self) -> None:
        self.on_events = _discard

    @abc.abstractmethod
    async def open(self) -> None:
        """Connect and apply pending migrations; ``StorageError`` if that cannot be done."""

    @abc.abstractmethod
    async def close(self) -> None:
        """Commit what is queued, then release everything."""

    @abc.abstractmethod
    async def check(self) -> None:
        """Raise ``Unavailable`` unless storage takes reads and writes now (``/healthz``)."""

    # --- accounts ---------------------------------------------------------------------

    @abc.abstractmethod
    def create_user(self, username: str, password_hash: str, now: int) -> Awaitable[None]:
        """Raises ``Conflict`` if the name is taken. The first account is the admin (14)."""

    @abc.abstractmethod
    async def is_admin(self, username: str) -> bool:
        """Whether ``username`` is the server's admin (False for no such user)."""

    @abc.abstractmethod
    async def password_hash(self, username: str) -> str | None: ...

    @abc.abstractmethod
    def create_token(
        self, token_hash: bytes, username: str, now: int, expires_at: int
    ) -> Awaitable[None]: ...

    @abc.abstractmethod
    async def user_for_token(self, token_hash: bytes, now: int) -> str | None:
        """The owner of an unexpired token, or None."""

    @abc.abstractmethod
    def delete_token(self, token_hash: bytes) -> Awaitable[None]: ...

    @abc.abstractmethod
    def set_password(
        self, username: str, password_hash: str, keep: bytes | None
    ) -> Awaitable[list[bytes]]:
        """Give the user a new password hash; with ``keep``, every other token of the user
        is revoked in the same write. The hashes of the tokens revoked. ``NotFound`` for no
        such user."""

    @abc.abstractmethod
    async def profiles(self, usernames: Sequence[str]) -> list[Profile]:
        """The profiles of those of ``usernames`` that exist, in the order named, each once."""

    @abc.abstractmethod
    async def member_profiles(self, room: str) -> list[Profile]:
        """The profiles of the room's members, in the order of ``members``; ``NotFound``
        for a missing room."""

    @abc.abstractmethod
    def set_profile(
        self, username: str, display_name: str | None, status: str | None
    ) -> Awaitable[Profile]:
        """Give the user the texts that are not None; the profile as it stands after.
        ``NotFound`` for no such user."""

    @abc.abstractmethod
    def set_avatar(self, username: str, blob: str | None, version: str = "") -> Awaitable[Profile]:
        """Make the thumbnail blob ``blob`` (its SHA-256, hex, in the file store) the user's
        avatar, shown as ``version`` (a new token for each new avatar), or with None remove
        it; the profile as it stands after. ``NotFound`` for no such user."""

    @abc.abstractmethod
    async def avatar(self, username: str) -> tuple[str, str] | None:
        """The blob and version of the user's avatar, or None (no avatar, or no such user)."""

    # --- rooms and members --------------------------------------------------------------

    @abc.abstractmethod
    def create_room(self, name: str, kind: RoomKind, creator: str, now: int) -> Awaitable[Joined]:
        """A new room with its creator as first member (``member_joined``, seq 1)."""

    @abc.abstractmethod
    def ensure_room(self, name: str, kind: RoomKind, now: int) -> Awaitable[None]:
        """Create a memberless room if it does not exist (the guests' ``lobby``)."""

    @abc.abstractmethod
    def open_dm(
        self, name: str, users: tuple[str, str], opener: str, now: int
    ) -> Awaitable[Joined]:
        """The DM room ``name`` of ``users``, created with both as members on first use."""

    @abc.abstractmethod
    def add_member(self, room: str, user: str, now: int, by: str | None) -> Awaitable[Joined]:
        """Make ``user`` a member (``member_joined``, with ``by`` for an invitation);
        ``Forbidden`` if they are banned from the room (17)."""

    @abc.abstractmethod
    def remove_member(self, room: str, user: str, now: int) -> Awaitable[MemberLeft | None]:
        """``member_left``, or None if the user was not a member."""

    @abc.abstractmethod
    def append(self, event: E, require_member: bool = True) -> Awaitable[Appended[E]]:
        """Append ``event`` (its ``seq`` is ignored) to its room with the room's next seq.
        Not for membership events: the member methods append those (``ValueError``).

        With ``require_member`` the author must be a member, checked in the write
        transaction: otherwise ``Forbidden`` in a public room and ``NotFound`` in any other
        (a retry of a stored event still gets it). ``NotFound`` for a missing room."""

    @abc.abstractmethod
    def edit_message(self, edit: MessageEdited) -> Awaitable[Changed]:
        """Give the message ``edit.target`` the body of ``edit``, by its author only.

        Checked in the write: the editor is a member (as for ``append``), ``NotFound`` if
        ``target`` is no message of the room, ``Forbidden`` if the editor is not its author,
        ``Conflict`` if it is deleted. The body it already has appends nothing."""

    @abc.abstractmethod
    def delete_message(self, delete: MessageDeleted) -> Awaitable[Changed]:
        """Erase the message ``delete.target`` and its edits' bodies, leaving a tombstone.

        Checked in the write: the deleter is a member (as for ``append``) and its author,
        the room's owner or an admin (``Forbidden``; a DM has neither), ``NotFound`` if
        ``target`` is no message of the room. A deleted message appends nothing."""

    @abc.abstractmethod
    def react(self, reaction: ReactionAdded | ReactionRemoved) -> Awaitable[Changed]:
        """Add or take back ``reaction.user``'s reaction ``reaction.emoji`` to the message
        ``reaction.target``; the message is as its reactor is shown it.

        Checked in the write: the reactor is a member (as for ``append``), ``NotFound`` if
        ``target`` is no message of the room, ``Conflict`` if it is deleted or if a new emoji
        would pass ``MAX_REACTIONS`` distinct ones. A reaction the user has, or the removal
        of one they have not, appends nothing."""

    @abc.abstractmethod
    def set_role(self, change: RoleChanged) -> Awaitable[RoleChanged | None]:
        """Give ``change.member`` the role ``change.role``; None if it had it already.

        Checked in the write: ``change.user`` is the room's owner (``Forbidden``; a DM has
        none), the member is one (``NotFound``), and is not the owner (``BadRequest``)."""

    @abc.abstractmethod
    def moderate(self, event: Moderation) -> Awaitable[Moderation | None]:
        """Kick, ban, unban, mute or unmute ``event.user``, or change the room's settings
        (17); the event as stored, or None if it changed nothing (a ban of the banned, an
        unban of the unbanned, the same mute, the settings the room has).

        Checked in the write: the room exists (``NotFound``); its actor (``event.by``, or
        ``event.user`` for ``room_changed``) is its owner or an admin, or the server's
        admin; one who is none of them and not a member of a room that is not public
        gets ``NotFound`` as for a missing room, anyone else ``Forbidden``; the user
        exists (``NotFound``) and, to be kicked or muted, is a member (``NotFound``); and
        ``core.moderation.check`` allows it. A kick or a ban of a member ends their
        membership (and role); a room made public or private changes its kind."""

    @abc.abstractmethod
    async def is_banned(self, room: str, user: str) -> bool:
        """Whether ``user`` is banned from ``room`` (False for a missing room)."""

    @abc.abstractmethod
    async def audit(self, before: int | None, limit: int) -> list[AuditEntry]:
        """Up to ``limit`` entries of the audit log, newest first, with ids below ``before``."""

    @abc.abstractmethod
    def mark_read(self, room: str, user: str, seq: int) -> Awaitable[int]:
        """Move the user's read marker forward (never back, never past ``last_seq``);
        returns the marker. Raises ``NotFound`` if the user is not a member."""

    # --- reads ---------------------------------------------------------------------------

    @abc.abstractmethod
    async def get_room(self, name: str) -> Room | None: ...

    @abc.abstractmethod
    async def room_info(self, room: str, user: str) -> RoomInfo | None:
        """The room as ``user`` sees it, or None if they are not a member."""

    @abc.abstractmethod
    async def user_rooms(self, user: str) -> list[RoomInfo]: ...

    @abc.abstractmethod
    async def public_rooms(self) -> list[PublicRoom]: ...

    @abc.abstractmethod
    async def members(self, room: str) -> list[str]: ...

    @abc.abstractmethod
    async def room_roles(self, room: str) -> dict[str, RoomRole]:
        """The room's owner and admins with their roles (members are left out), by
        username. ``NotFound`` for a missing room."""

    @abc.abstractmethod
    async def history(
        self,
        room: str,
        before: int | None,
        after: int | None,
        limit: int,
        reader: str | None = None,
    ) -> Page:
        """Up to ``limit`` events, oldest first: the newest ones below ``before`` (or the
        newest of all), or with ``after`` the oldest ones above it. Messages carry their
        reactions as ``reader`` is shown them."""

    @abc.abstractmethod
    async def replay_since(
        self, room: str, since: int, bound: int, reader: str | None = None
    ) -> Replay:
        """Every event with ``seq > since`` in order, or None if there are more than
        ``bound`` of them (resume is all or nothing), with the room's ``last_seq``.
        Messages carry their reactions as ``reader`` is shown them."""

    @abc.abstractmethod
    async def thread(
        self, room: str, root: int, before: int | None, limit: int, reader: str | None = None
    ) -> Thread:
        """The message ``root`` and up to ``limit`` of its thread's replies, oldest first:
        the newest ones below ``before`` (or of all), as ``reader`` is shown them, in one
        snapshot. ``NotFound`` if ``root`` is no message of the room."""

    @abc.abstractmethod
    async def search(
        self, user: str, query: str, room: str | None, before: Cursor | None, limit: int
    ) -> Results:
        """Up to ``limit`` messages, not deleted, of the rooms ``user`` is a member of (or
        of ``room`` only) whose body holds ``query`` (at least ``MIN_QUERY_CHARS``), newest
        first, below ``before``. ``NotFound`` for a ``room`` that ``user`` is not in."""

    # --- files ---------------------------------------------------------------------------

    @abc.abstractmethod
    def add_file(self, file: StoredFile, quota: int) -> Awaitable[None]:
        """Keep the pending file ``file`` (its ``seq`` is ignored). Checked in the write:
        the uploader is a member of its room (else ``NotFound``, as for a missing room), and
        their live files and this one hold at most ``quota`` bytes (else ``TooLarge``)."""

    @abc.abstractmethod
    async def file(self, file_id: str) -> StoredFile | None:
        """The file ``file_id``, pending or attached to a message not deleted, or None."""

    @abc.abstractmethod
    async def file_usage(self, user: str) -> int:
        """The bytes of ``user``'s live files (pending, or attached to a live message)."""

    @abc.abstractmethod
    def drop_pending_files(self, before: int) -> Awaitable[int]:
        """Forget the files still pending that were uploaded before ``before`` (ms); how
        many. Their blobs stay until the sweep finds nothing refers to them."""

    @abc.abstractmethod
    async def referenced_blobs(self, blobs: Sequence[str]) -> set[str]:
        """Those of ``blobs`` (SHA-256 digests, hex) that something stored still refers to:
        a file's content or thumbnail, or an avatar. The sweep deletes the others."""


def _discard(events: list[Event]) -> None:
    del events
