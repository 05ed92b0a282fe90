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
14. **One first admin.** ``create_user`` makes the account it creates a server admin
   when no account exists yet, decided in its write transaction: however many accounts are
   created at once, on however many nodes, exactly one is the admin (the first committed);
   every later one is a member (a server has any number of admins: see 20). ``is_admin``
   reads it.
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
18. **Consent in the write.** ``invite`` checks in its write that the inviter is a member,
   the invitee exists and is not banned, and the caps of pending invitations (per invitee,
   per inviter); an invitation to a member or to someone already invited stores nothing.
   An invitation appends no event: ``accept_invitation`` does (``member_joined`` with ``by``,
   the inviter) and deletes it in the same write; ``decline_invitation`` deletes it alone.
   ``add_member`` consumes a pending invitation to its room, a ban deletes it. ``append`` of
   a message to a DM room refuses its author (``Forbidden``) when the other member blocks
   them, decided in the write. ``block`` checks its cap in its write.
19. **Registration in the write.** ``create_user`` with an invite link's code counts its use
   in the write that creates the account, only while the link is live (unexpired, not
   revoked, uses left; ``Forbidden`` with ``core.registration.BAD_INVITE`` otherwise): two
   accounts racing for its last use, on any nodes, get one account and one refusal. With a
   ``refusal`` it creates the account only if none exists yet, decided in its write. Every
   change of the settings or of the guest bans moves ``settings_version`` in its write,
   which logs it in the audit log (room ``""``).
20. **Accounts in the write.** ``set_server_role`` and ``set_deactivated`` check in their
   write that the actor is an active server admin and the rules of ``core.accounts`` (the
   last active admin stays one; nobody deactivates themselves), change the account and log
   the change in the audit log (room ``""``) in that same transaction; a change that
   changes nothing logs nothing. Deactivating deletes every token of the account in its
   write, and ``create_token`` refuses a deactivated account in its write
   (``AccountDeactivated``): from the commit on, the account has no token. A deactivation,
   and ``set_password`` with ``close_sessions``, add an account change in the write;
   ``account_changes`` reads them by id, and ids are committed in their order.
21. **Retention deletes as a delete does.** ``expire`` deletes a room's messages older than
   its cutoff through the path of ``delete_message`` (its ``message_deleted`` events, by
   ``""``, published and replayed; bodies, edits, reactions, mentions, search rows and
   files gone), at most ``limit`` per write, oldest first; what it finds deleted already it
   skips, so passes on several nodes at once delete each message once.
22. **Bots and webhooks in the write.** ``create_bot`` creates a bot account and its token in
   one write, and checks the cap of its maker's live bots there. ``create_webhook`` checks
   in its write that its creator is a member and the room's cap of live webhooks, and
   creates the webhook, its bot account and that bot's ``member_joined`` in that same
   write; ``revoke_webhook`` forgets the secret, deactivates the bot and takes it out of
   the room (``member_left``) in one write: from its commit on, ``webhook`` finds nothing.
23. **Outgoing webhooks in the write.** ``create_outgoing_webhook`` checks in its write that
   its creator runs the room (its owner or an admin) or is a server admin, and the room's
   cap of live outgoing webhooks, and creates the hook, its bot account and that bot's
   ``member_joined`` in that same write; ``revoke_outgoing_webhook`` forgets the secret and
   the hook's deliveries, deactivates the bot and takes it out of the room in one write.
   ``add_outgoing_delivery`` keeps at most ``keep`` deliveries per hook, the newest by the
   message's seq, trimming the rest in its write; a revoked hook's delivery is not kept.

Events are appended through one method, ``append``, whatever their kind; the methods that
change members (``create_room``, ``open_dm``, ``add_member``, ``remove_member``) or messages
and roles (``edit_message``, ``delete_message``, ``set_role``) append their event through the
same path inside their own write.
"""

from __future__ import annotations

import abc
from collections.abc import Awaitable, Callable, Sequence
from typing import Generic, NamedTuple, TypeVar

from hubbub.core import registration
from hubbub.core.accounts import Account, AccountChange, ServerRole
from hubbub.core.bots import Bot
from hubbub.core.consent import (
    MAX_BLOCKS,
    MAX_INVITATIONS_PER_INVITEE,
    MAX_INVITATIONS_PER_INVITER,
    Consent,
    DmPolicy,
    Invitation,
)
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
from hubbub.core.moderation import AuditEntry, BanEntry
from hubbub.core.outgoing import Delivery, OutgoingWebhook
from hubbub.core.profiles import Profile
from hubbub.core.retention import RoomRetention
from hubbub.core.search import Cursor, Results
from hubbub.core.webhooks import Webhook
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
    # Whether other nodes write the same database (PostgreSQL): what they change in it, such
    # as the server's settings, is seen here only by reading again.
    shared: bool = False

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
    def create_user(
        self,
        username: str,
        password_hash: str,
        now: int,
        invite: bytes | None = None,
        refusal: str | None = None,
    ) -> Awaitable[None]:
        """Raises ``Conflict`` if the name is taken. The first account is the admin (14).
        With ``invite`` (a code's hash) it counts a use of that invite link, or, with
        ``refusal`` and no ``invite``, it is refused unless no account exists yet (19)."""

    @abc.abstractmethod
    async def is_admin(self, username: str) -> bool:
        """Whether ``username`` is a server admin (False for no such user)."""

    @abc.abstractmethod
    async def password_hash(self, username: str) -> str | None: ...

    @abc.abstractmethod
    def create_token(
        self, token_hash: bytes, username: str, now: int, expires_at: int
    ) -> Awaitable[None]:
        """``AccountDeactivated`` for a deactivated account, checked in the write (20)."""

    @abc.abstractmethod
    async def user_for_token(self, token_hash: bytes, now: int) -> str | None:
        """The owner of an unexpired token, or None."""

    @abc.abstractmethod
    def delete_token(self, token_hash: bytes) -> Awaitable[None]: ...

    @abc.abstractmethod
    def set_password(
        self,
        username: str,
        password_hash: str,
        keep: bytes | None,
        close_sessions: bool = False,
        now: int = 0,
    ) -> Awaitable[list[bytes]]:
        """Give the user a new password hash; with ``keep``, every other token of the user
        is revoked in the same write. The hashes of the tokens revoked. ``NotFound`` for no
        such user. With ``close_sessions`` an account change at ``now`` tells every node to
        close the user's sessions (20)."""

    @abc.abstractmethod
    async def accounts(self, after: str | None, limit: int) -> list[Account]:
        """Up to ``limit`` accounts, by username in code-point order, after ``after``."""

    @abc.abstractmethod
    def set_server_role(
        self, by: str | None, username: str, role: ServerRole, now: int
    ) -> Awaitable[Account]:
        """Make ``username`` a server admin or a member; the account as it stands after (a
        role it had changes and logs nothing). ``by`` None is the command line, which needs
        no rights.
        Checked in the write (20): ``Forbidden``, ``NotFound``, ``Conflict``."""

    @abc.abstractmethod
    def set_deactivated(
        self, by: str | None, username: str, deactivated: bool, now: int
    ) -> Awaitable[Account]:
        """Deactivate (revoking every token, and adding an account change) or reactivate
        ``username``; the account as it stands after (a state it had changes nothing). Checked
        in the write (20): ``Forbidden``, ``NotFound``, ``BadRequest``, ``Conflict``."""

    @abc.abstractmethod
    async def account_changes(
        self, after: int | None, limit: int
    ) -> tuple[int, list[tuple[str, AccountChange]]]:
        """The account changes with ids above ``after`` (at most ``limit``, oldest first,
        each as its username and kind) and the last id read; ``after`` None reads only the
        last id there is (a node starting hears of changes from then on)."""

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
    def expire(
        self, room: str, before: int, now: int, limit: int, earlier: int = 0
    ) -> Awaitable[int]:
        """Delete up to ``limit`` of the room's messages with ``ts`` before ``before``,
        oldest first, each as ``delete_message`` does, by ``core.retention``'s deleter at
        ``now`` (21); how many. The write that deletes fewer than ``limit`` ends the room's
        pass: if it or the ``earlier`` writes of the pass deleted any, it logs their number
        in the audit log, once. ``NotFound`` for a missing room."""

    @abc.abstractmethod
    async def retention_rooms(self) -> list[RoomRetention]:
        """Every room, by name, with its kind and its own retention (None: the server's)."""

    @abc.abstractmethod
    def compact(self) -> Awaitable[None]:
        """After a retention pass that deleted something: what the engine can do in the
        running server, in bounded steps, to keep its search index and file compact."""

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
    async def bans(self, room: str) -> list[BanEntry]:
        """The bans in force in ``room``, newest first, at most ``MAX_BANS_LISTED``
        (``NotFound`` for a missing room)."""

    @abc.abstractmethod
    async def mutes(self, room: str, now: int) -> dict[str, int | None]:
        """Who is muted in ``room`` at ``now``, and until when (None: until unmuted);
        ``NotFound`` for a missing room."""

    @abc.abstractmethod
    async def audit(self, before: int | None, limit: int) -> list[AuditEntry]:
        """Up to ``limit`` entries of the audit log, newest first, with ids below ``before``."""

    # --- consent (18) ----------------------------------------------------------------------

    @abc.abstractmethod
    def invite(
        self,
        room: str,
        user: str,
        by: str,
        now: int,
        per_invitee: int = MAX_INVITATIONS_PER_INVITEE,
        per_inviter: int = MAX_INVITATIONS_PER_INVITER,
    ) -> Awaitable[Invitation | None]:
        """Keep a pending invitation of ``user`` to ``room`` by ``by``; None if ``user`` is
        a member or invited already. Checked in the write: ``by`` is a member (else as for
        ``append``), ``user`` exists (``NotFound``) and is not banned (``Forbidden``), and
        neither has as many pending invitations as its cap (``TooLarge``)."""

    @abc.abstractmethod
    def accept_invitation(self, room: str, user: str, now: int) -> Awaitable[Joined]:
        """Make ``user`` a member (``member_joined`` by the inviter) and delete the
        invitation. ``NotFound`` (``core.consent.no_invitation``) if there is none, the
        room's included; ``Forbidden`` if the user is banned from the room."""

    @abc.abstractmethod
    def decline_invitation(self, room: str, user: str) -> Awaitable[None]:
        """Delete the invitation: no event. ``NotFound`` as for ``accept_invitation``."""

    @abc.abstractmethod
    async def invitations(self, user: str) -> list[Invitation]:
        """The user's pending invitations, oldest first."""

    @abc.abstractmethod
    def block(self, blocker: str, blocked: str, now: int, cap: int = MAX_BLOCKS) -> Awaitable[bool]:
        """``blocker`` blocks ``blocked``; False if they did already. ``NotFound`` for no
        such ``blocked``, ``TooLarge`` past ``cap`` blocks."""

    @abc.abstractmethod
    def unblock(self, blocker: str, blocked: str) -> Awaitable[bool]:
        """False if ``blocker`` did not block ``blocked``."""

    @abc.abstractmethod
    async def blocks(self, user: str) -> list[str]:
        """Whom ``user`` blocks, by name."""

    @abc.abstractmethod
    async def consent(self, user: str, other: str) -> Consent:
        """What decides whether ``other`` may reach ``user`` (``core.consent.accepts``), in
        one snapshot; the default policy for no such user."""

    @abc.abstractmethod
    async def dm_policy(self, user: str) -> DmPolicy:
        """The user's policy (the default for no such user)."""

    @abc.abstractmethod
    def set_dm_policy(self, user: str, policy: DmPolicy) -> Awaitable[None]:
        """``NotFound`` for no such user."""

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

    # --- registration and guests (19) --------------------------------------------------------

    @abc.abstractmethod
    async def has_users(self) -> bool:
        """Whether any account exists."""

    @abc.abstractmethod
    async def settings_version(self) -> int:
        """The version of the server's settings and guest bans (0 before any change)."""

    @abc.abstractmethod
    async def server_settings(self) -> registration.Stored:
        """The settings a server admin set, the guest bans and their version, in one snapshot."""

    @abc.abstractmethod
    def change_settings(
        self, actor: str, now: int, changes: registration.Changes
    ) -> Awaitable[None]:
        """Set (or with None clear) each setting ``changes`` names; each one changed is an
        audit entry, all in one write."""

    @abc.abstractmethod
    def create_invite(self, invite: registration.Invite, code_hash: bytes) -> Awaitable[None]:
        """Keep a new invite link (its ``uses`` ignored), logged; first forget those that
        are no longer live at its ``created_at``. ``Conflict`` past ``MAX_INVITES`` live."""

    @abc.abstractmethod
    async def invites(self) -> list[registration.Invite]:
        """The invite links kept, newest first (at most ``MAX_INVITES`` live ones, and the
        dead ones not forgotten yet)."""

    @abc.abstractmethod
    def revoke_invite(self, invite_id: str, actor: str, now: int) -> Awaitable[None]:
        """Forget the invite link, logged; ``NotFound`` if there is none."""

    @abc.abstractmethod
    def ban_guests(self, network: str, actor: str, now: int) -> Awaitable[bool]:
        """Ban ``network`` (``core.registration.guest_network``'s form), logged; False if
        it was banned already. ``TooLarge`` past ``MAX_GUEST_BANS``."""

    @abc.abstractmethod
    def unban_guests(self, network: str, actor: str, now: int) -> Awaitable[None]:
        """Lift the ban of ``network``, logged; ``NotFound`` if there is none."""

    # --- bots and webhooks (22) --------------------------------------------------------------

    @abc.abstractmethod
    def create_bot(
        self, name: str, created_by: str, now: int, token: bytes, cap: int | None = None
    ) -> Awaitable[None]:
        """The bot account ``name``, made by ``created_by`` (``core.bots.COMMAND_LINE`` for
        the command line), with no password and the token of hash ``token``, which never
        expires. ``Conflict`` if the name is taken; with ``cap``, ``TooLarge`` if
        ``created_by`` has that many live bots already (22)."""

    @abc.abstractmethod
    async def bot(self, name: str) -> Bot | None:
        """The bot account ``name``, or None if there is none (a webhook's bot is none)."""

    @abc.abstractmethod
    async def bots(self, created_by: str | None, limit: int) -> list[Bot]:
        """The bots ``created_by`` made (None: everyone's), by name, at most ``limit``;
        webhooks' bots left out."""

    @abc.abstractmethod
    def create_webhook(self, hook: Webhook, secret: bytes, cap: int) -> Awaitable[MemberJoined]:
        """Keep the webhook ``hook`` with its secret's hash ``secret``: its bot account
        ``hook.username`` (display name ``hook.name``, made by ``hook.created_by``) is
        created and joins ``hook.room`` (``member_joined`` by the creator), in one write.
        Checked in the write (22): the creator is a member (``NotFound`` as for a missing
        room), the room has fewer than ``cap`` live webhooks (``TooLarge``); ``Conflict``
        if the bot's name is taken."""

    @abc.abstractmethod
    async def webhooks(self, room: str) -> list[Webhook]:
        """The room's live webhooks, oldest first (none for a missing room)."""

    @abc.abstractmethod
    async def webhook(self, hook_id: str) -> tuple[Webhook, bytes] | None:
        """The live webhook ``hook_id`` and its secret's hash, or None."""

    @abc.abstractmethod
    def revoke_webhook(self, room: str, hook_id: str, now: int) -> Awaitable[MemberLeft | None]:
        """Forget the live webhook's secret, deactivate its bot and take it out of ``room``
        (its ``member_left``, or None if it had left), in one write (22); ``NotFound`` if
        ``room`` has no live webhook ``hook_id``."""

    # --- outgoing webhooks (23) ---------------------------------------------------------------

    @abc.abstractmethod
    def create_outgoing_webhook(
        self, hook: OutgoingWebhook, secret: str, cap: int
    ) -> Awaitable[MemberJoined]:
        """Keep the outgoing webhook ``hook`` with its signing ``secret``: its bot account
        ``hook.username`` (display name ``hook.name``) is created and joins ``hook.room``
        (``member_joined`` by the creator), in one write. Checked in the write (23): the
        creator is the room's owner or an admin, or a server admin (``NotFound`` as for a
        missing room if they are not in it and no server admin, ``Forbidden`` if a plain
        member); the room has fewer than ``cap`` live outgoing webhooks (``TooLarge``);
        ``Conflict`` if the bot's name is taken."""

    @abc.abstractmethod
    async def outgoing_webhooks(self, room: str) -> list[tuple[OutgoingWebhook, str]]:
        """The room's live outgoing webhooks with their secrets, oldest first (none for a
        missing room)."""

    @abc.abstractmethod
    def revoke_outgoing_webhook(
        self, room: str, hook_id: str, now: int
    ) -> Awaitable[MemberLeft | None]:
        """Forget the live hook's secret and deliveries, deactivate its bot and take it out
        of ``room`` (its ``member_left``, or None if it had left), in one write (23);
        ``NotFound`` if ``room`` has no live outgoing webhook ``hook_id``."""

    @abc.abstractmethod
    def add_outgoing_delivery(self, hook_id: str, delivery: Delivery, keep: int) -> Awaitable[None]:
        """Keep ``delivery`` of the hook (one per message: a second replaces the first),
        and of its deliveries only the ``keep`` newest by seq, in one write (23). Nothing
        is kept for a hook that is revoked or was never made."""

    @abc.abstractmethod
    async def outgoing_deliveries(self, hook_id: str, limit: int) -> list[Delivery]:
        """The hook's kept deliveries, newest (highest seq) first, at most ``limit``."""


def _discard(events: list[Event]) -> None:
    del events
