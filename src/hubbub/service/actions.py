"""Every action a user can take. The only module that changes state.

Each action checks the user's rights, then writes through storage; events reach the hub only
through storage's ``on_events`` after the commit (see ``node``), so nothing is ever delivered
that is not durable. Ephemeral notices (typing, read markers, guests' relays) go through the
broker too, so that every node delivers them. Time and ids come from injected functions, so
tests are deterministic.
"""

from __future__ import annotations

import asyncio
import hmac
import itertools
import secrets
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

import msgspec

from hubbub.auth.passwords import Passwords
from hubbub.auth.ratelimit import RateLimiter
from hubbub.auth.signins import SignInThrottle
from hubbub.auth.tokens import new_token, token_hash
from hubbub.broker.base import Audience, Broker, Notice
from hubbub.config import Config
from hubbub.core import accounts, bots, consent, moderation, outgoing, webhooks
from hubbub.core import registration as reg
from hubbub.core.accounts import Account, AccountChange, ServerRole
from hubbub.core.bots import Bot
from hubbub.core.consent import DmPolicy, Invitation
from hubbub.core.events import (
    MemberBanned,
    MemberKicked,
    MemberMuted,
    MemberUnbanned,
    MemberUnmuted,
    Message,
    MessageDeleted,
    MessageEdited,
    ReactionAdded,
    ReactionRemoved,
    Role,
    RoleChanged,
    RoomChanged,
)
from hubbub.core.files import FileInfo, StoredFile, file_ref, over_quota
from hubbub.core.mentions import ROOM, find_mentions
from hubbub.core.models import (
    LOBBY,
    USERNAME_RE,
    PublicRoom,
    RoomInfo,
    RoomKind,
    RoomRole,
    dm_room_name,
    guest_author,
    storable,
)
from hubbub.core.outgoing import Delivery, OutgoingWebhook, Trigger
from hubbub.core.profiles import Profile
from hubbub.core.search import MIN_QUERY_CHARS, SHORT_QUERY, Cursor, Results
from hubbub.core.webhooks import Webhook
from hubbub.errors import (
    BadRequest,
    Forbidden,
    NotFound,
    RateLimited,
    TooLarge,
    Unauthenticated,
    file_not_found,
    room_not_found,
)
from hubbub.protocol.limits import MAX_BODY_CHARS, MAX_CLIENT_MSG_ID
from hubbub.protocol.messages import ReadNotice, SyncState, TypingNotice, encode, invited_notice
from hubbub.service.accounts import REASONS
from hubbub.service.hub import Hub
from hubbub.service.outgoing import OutgoingWebhooks, check_public
from hubbub.service.session import Session
from hubbub.service.settings import ServerSettings
from hubbub.storage.base import Appended, Changed, Page, Storage, Thread

Clock = Callable[[], int]  # milliseconds since the epoch


def wall_clock_ms() -> int:
    return time.time_ns() // 1_000_000


# Profile changes (texts and avatar) per user: each is told to everyone sharing a room.
PROFILE_CHANGE_RATE, PROFILE_CHANGE_BURST = 1 / 6, 10

_ID_PREFIX = secrets.token_hex(8)
_id_counter = itertools.count(1)


def new_message_id() -> str:
    """Unique message ids: a random prefix per process and a counter. Ids name messages,
    they grant nothing, so they need not be unguessable (and getrandom is a syscall)."""
    return f"{_ID_PREFIX}{next(_id_counter):016x}"


def _guest_network(address: str) -> str:
    try:
        return reg.guest_network(address)
    except ValueError as exc:
        raise BadRequest(str(exc)) from None


def _new_username(username: str) -> str:
    """The name of a new account as stored (lowercase), or ``BadRequest``."""
    username = username.lower()
    if not USERNAME_RE.match(username):
        raise BadRequest("a username is 1-32 of a-z 0-9 _ . - starting with a letter or digit")
    if username == ROOM:
        raise BadRequest(f"{ROOM!r} is reserved: @{ROOM} mentions everyone in a room")
    return username


def _check_storable(*texts: str) -> None:
    if not all(storable(text) for text in texts):
        raise BadRequest("a message cannot hold the NUL character (U+0000)")


@dataclass(frozen=True)
class Login:
    token: str
    username: str
    rooms: tuple[str, ...] = ()  # a new account's default rooms


@dataclass(frozen=True)
class Members:
    profiles: list[Profile]  # by username
    roles: dict[str, RoomRole]  # the owner and the admins
    muted: dict[str, int | None]  # members muted now, until when (None: until unmuted)


class Actions:
    def __init__(
        self,
        config: Config,
        storage: Storage,
        broker: Broker,
        hub: Hub,
        clock: Clock = wall_clock_ms,
        new_id: Callable[[], str] = new_message_id,
    ) -> None:
        self.config = config
        self.storage = storage
        self.broker = broker
        self.hub = hub
        self.clock = clock
        self.new_id = new_id
        self.passwords = Passwords(config.argon2_time_cost, config.argon2_memory_kib)
        seconds = self._seconds
        self._sends = RateLimiter(config.send_rate, config.send_burst, seconds)
        self._signins = SignInThrottle(seconds)
        self._registrations = RateLimiter(config.signup_rate, config.signup_burst, seconds)
        self._typing = RateLimiter(config.typing_rate, config.typing_burst, seconds)
        self._reads = RateLimiter(config.read_rate, config.read_burst, seconds)
        self._searches = RateLimiter(config.search_rate, config.search_burst, seconds)
        # create, dm, invite, join and leave share one bucket per user.
        self._room_actions = RateLimiter(config.room_action_rate, config.room_action_burst, seconds)
        self._guest_relays = RateLimiter(config.guest_relay_rate, config.guest_relay_burst, seconds)
        self._profile_changes = RateLimiter(PROFILE_CHANGE_RATE, PROFILE_CHANGE_BURST, seconds)
        self._webhook_posts = RateLimiter(config.webhook_rate, config.webhook_burst, seconds)
        self.settings = ServerSettings(config, storage)  # the node starts its polling
        # Outgoing webhooks: fed every message stored here (the node starts and stops it).
        self.outgoing = OutgoingWebhooks(config, storage, clock)
        self.outgoing.reply = self._outgoing_reply

    def _seconds(self) -> float:
        return self.clock() / 1000

    # --- accounts ------------------------------------------------------------------------

    async def register(
        self, username: str, password: str, address: str, invite: str | None = None
    ) -> Login:
        """A new account, as the registration mode allows (``core.registration``): an
        invite link's code, checked and counted in the write, admits in any mode."""
        username = _new_username(username)
        self._registrations.check(address, what="sign-ups from this address")
        code = None
        refusal = None
        if invite is not None:
            if not invite.isascii():  # never a code of ours
                raise Forbidden(reg.BAD_INVITE)
            code = token_hash(invite)
        else:
            refusal = reg.refusal(self.settings.policy.registration)
            # Before the hash's cost; the write decides again (the first account passes).
            if refusal is not None and await self.storage.has_users():
                raise Forbidden(refusal)
        password_hash = await self.passwords.hash(password)
        await self.storage.create_user(username, password_hash, self.clock(), code, refusal)
        for room in self.config.default_rooms:  # as ordinary joins: their events go out
            await self.storage.add_member(room, username, self.clock(), None)
        login = await self._new_session(username)
        return Login(login.token, username, self.config.default_rooms)

    async def login(self, username: str, password: str, address: str) -> Login:
        """An unknown user and a wrong password take the same path, the same time and the
        same throttles (keyed by the name as typed), and get the same answer."""
        username = username.lower()
        self._signins.begin(username, address)
        stored = await self.storage.password_hash(username)
        if not await self.passwords.verify(stored, password):
            self._signins.failed(username, address)
            raise Unauthenticated("wrong username or password")
        self._signins.succeeded(username, address)
        return await self._new_session(username)

    async def _new_session(self, username: str) -> Login:
        token = new_token()
        now = self.clock()
        ttl_ms = self.config.token_ttl_days * 86_400_000
        await self.storage.create_token(token_hash(token), username, now, now + ttl_ms)
        return Login(token, username)

    async def is_admin(self, user: str) -> bool:
        """Whether ``user`` is a server admin (the first account is one)."""
        return await self.storage.is_admin(user)

    async def logout(self, token: str) -> None:
        """Revoke the token; every WebSocket authenticated with it is closed at once."""
        if not token.isascii():  # never a token of ours (and maybe not even UTF-8)
            return
        revoked = token_hash(token)
        user = await self.storage.user_for_token(revoked, self.clock())
        if user is None:  # unknown, revoked or expired: nothing to do, and nothing written
            return
        await self.storage.delete_token(revoked)
        self.hub.revoke(user, revoked)
        self.hub.presence.signed_out(user, [revoked])  # and on every other node

    async def change_password(
        self,
        user: str,
        token: str | None,
        old_password: str,
        new_password: str,
        sign_out_others: bool,
        address: str,
    ) -> None:
        """Give ``user`` a new password, the old one proven. A wrong one counts as a failed
        sign-in of the account from ``address`` (and is throttled alike). With
        ``sign_out_others``, every token of the user but ``token`` is revoked and the
        WebSockets that showed them are closed, on every node."""
        self._signins.begin(user, address)
        stored = await self.storage.password_hash(user)
        if not await self.passwords.verify(stored, old_password):
            self._signins.failed(user, address)
            raise Forbidden("wrong password")
        self._signins.succeeded(user, address)
        password_hash = await self.passwords.hash(new_password)
        keep = None
        if sign_out_others:  # a token that is not ASCII is none of ours: keep nothing
            keep = token_hash(token) if token and token.isascii() else b""
        revoked = await self.storage.set_password(user, password_hash, keep)
        if revoked:
            for each in revoked:
                self.hub.revoke(user, each)
            self.hub.presence.signed_out(user, revoked)

    async def authenticate(self, token: str | None) -> str:
        """The user a token belongs to, or ``Unauthenticated``."""
        user = None
        if token and token.isascii():  # tokens are URL-safe base64
            user = await self.storage.user_for_token(token_hash(token), self.clock())
        if user is None:
            raise Unauthenticated("a valid session token is required")
        return user

    # --- profiles --------------------------------------------------------------------------

    async def profile(self, name: str) -> Profile:
        """Any signed-in user may read anyone's profile; ``NotFound`` for no such user."""
        found = await self.storage.profiles([name.lower()])
        if not found:
            raise NotFound(f"no user named {name.lower()!r}")
        return found[0]

    async def profiles(self, names: Sequence[str]) -> list[Profile]:
        """The profiles of those of ``names`` that exist, in the order named."""
        return await self.storage.profiles([name.lower() for name in names])

    async def set_profile(
        self, user: str, display_name: str | None, status: str | None, session: Session | None
    ) -> Profile:
        """Change the texts given (checked by ``core.profiles`` as they were decoded); the
        user's other sessions and those sharing a room with them hear of it (``profile``),
        but not ``session``, which asked."""
        if display_name is None and status is None:
            return await self.profile(user)
        self._profile_changes.check(user, what="profile changes")
        profile = await self.storage.set_profile(user, display_name, status)
        self.hub.presence.profile_changed(profile, session)
        return profile

    def may_change_profile(self, user: str) -> None:
        """``RateLimited`` if a change now would be: before an avatar's upload is read."""
        self._profile_changes.peek(user, what="profile changes")

    async def set_avatar(self, user: str, blob: str | None) -> Profile:
        """Make the thumbnail blob ``blob`` (put in the file store) the user's avatar, under
        a new version token, or remove it (None); told as ``set_profile`` tells."""
        self._profile_changes.check(user, what="profile changes")
        version = secrets.token_urlsafe(6) if blob is not None else ""
        profile = await self.storage.set_avatar(user, blob, version)
        self.hub.presence.profile_changed(profile)
        return profile

    async def avatar(self, name: str) -> tuple[str, str]:
        """The blob and version token of the avatar of user ``name`` (anyone signed in may
        see it); ``NotFound`` if there is no such user or they have no avatar."""
        found = await self.storage.avatar(name)
        if found is None:
            raise NotFound(f"{name!r} has no avatar")
        return found

    # --- rooms -----------------------------------------------------------------------------

    async def rooms(self, user: str) -> list[RoomInfo]:
        return await self.storage.user_rooms(user)

    async def directory(self) -> list[PublicRoom]:
        """Every public room. ``lobby``'s count includes the plain-text guests connected to
        this node: they chat there without being members (other nodes' are not known here)."""
        rooms = await self.storage.public_rooms()
        guests = self.hub.guests
        return [
            msgspec.structs.replace(room, members=room.members + guests)
            if room.name == LOBBY
            else room
            for room in rooms
        ]

    async def members(self, user: str, room: str) -> Members:
        """The profiles of the room's members, by username, and who owns or administers it."""
        await self._visible(user, room)
        profiles = await self.storage.member_profiles(room)
        roles = await self.storage.room_roles(room)
        # Mutes are room events every member reads anyway; a mute outlasts leaving, so
        # only those of members now are told here.
        names = {profile.username for profile in profiles}
        mutes = await self.storage.mutes(room, self.clock())
        muted = {name: until for name, until in mutes.items() if name in names}
        return Members(profiles, roles, muted)

    async def create(
        self, user: str, name: str, private: bool, session: Session | None
    ) -> RoomInfo:
        self._room_action(user)
        kind = RoomKind.PRIVATE if private else RoomKind.PUBLIC
        joined = await self.storage.create_room(name, kind, user, self.clock())
        self._follow(session, joined.info)
        return joined.info

    async def join(self, user: str, room: str, session: Session | None) -> RoomInfo:
        self._room_action(user)
        info = await self.storage.room_info(room, user)
        if info is None:
            await self._public(room)
            info = (await self.storage.add_member(room, user, self.clock(), None)).info
        self._follow(session, info)
        return info

    async def leave(self, user: str, room: str) -> None:
        self._room_action(user)
        info = await self._member_of(user, room, f"you are not in {room!r}")
        if info.kind == RoomKind.DM:
            raise Forbidden("a direct-message room cannot be left")
        await self.storage.remove_member(room, user, self.clock())

    async def dm(self, user: str, other: str, session: Session | None) -> RoomInfo:
        """Open the DM room with ``other``: a new one only if ``other`` accepts it
        (``core.consent``); one that exists, unless ``other`` blocks ``user`` (who then
        cannot post in it either: storage refuses it in the write)."""
        self._room_action(user)
        await self._not_deactivated(other)
        name = dm_room_name(user, other)
        users = (user, other)
        if other != user:
            said = await self.storage.consent(other, user)
            if not consent.accepts(said) and (
                said.blocks or await self.storage.get_room(name) is None
            ):
                raise Forbidden(consent.refuses_dms(other))
        joined = await self.storage.open_dm(name, users, user, self.clock())
        self._follow(session, joined.info)
        return joined.info

    async def invite(self, user: str, room: str, invitee: str) -> None:
        """A pending invitation, told to the invitee's sessions on every node (``invited``);
        nothing changes in the room until they accept it. An invitation to a member, or to
        someone invited already, changes nothing and tells nobody."""
        self._room_action(user)
        info = await self._member_of(user, room, f"join {room!r} before you invite others to it")
        if info.kind == RoomKind.DM:
            raise Forbidden("nobody can be invited to a direct-message room")
        await self._not_deactivated(invitee)
        if invitee != user and not consent.accepts(await self.storage.consent(invitee, user)):
            raise Forbidden(consent.refuses_invitations(invitee))
        invitation = await self.storage.invite(room, invitee, user, self.clock())
        if invitation is not None:
            self._notify(Audience.USER, invitee, invited_notice(invitation), None)

    async def invitations(self, user: str) -> list[Invitation]:
        return await self.storage.invitations(user)

    async def accept(self, user: str, room: str, session: Session | None) -> RoomInfo:
        """Join the room of a pending invitation (``member_joined`` by the inviter)."""
        self._room_action(user)
        joined = await self.storage.accept_invitation(room, user, self.clock())
        self._follow(session, joined.info)
        return joined.info

    async def decline(self, user: str, room: str) -> None:
        """Forget a pending invitation: nothing is appended, the inviter is told nothing."""
        self._room_action(user)
        await self.storage.decline_invitation(room, user)

    # --- blocks and the DM policy: private, told to nobody ----------------------------------

    async def block(self, user: str, other: str) -> None:
        self._room_action(user)
        if other == user:
            raise BadRequest("you cannot block yourself")
        await self.storage.block(user, other, self.clock())

    async def unblock(self, user: str, other: str) -> None:
        self._room_action(user)
        await self.storage.unblock(user, other)

    async def blocks(self, user: str) -> list[str]:
        return await self.storage.blocks(user)

    async def dm_policy(self, user: str) -> DmPolicy:
        return await self.storage.dm_policy(user)

    async def set_dm_policy(self, user: str, policy: DmPolicy) -> None:
        self._profile_changes.check(user, what="profile changes")
        await self.storage.set_dm_policy(user, policy)

    async def _not_deactivated(self, name: str) -> None:
        """``Forbidden`` for a deactivated account: nobody opens a DM with it or invites it."""
        found = await self.storage.profiles([name])
        if found and found[0].deactivated:
            raise Forbidden(accounts.deactivated_user(name))

    def _room_action(self, user: str) -> None:
        """Every change of rooms or members is a write: they share one bucket per user."""
        self._room_actions.check(user, what="room changes")

    def _follow(self, session: Session | None, info: RoomInfo) -> None:
        """A room joined, created or opened on a connection is live there from the reply on."""
        if session is not None:
            self.hub.follow_from(session, info.name, info.last_seq)

    async def _visible(self, user: str, room: str) -> None:
        """Members see a room; anyone signed in sees a public one, but for those banned
        from it (``Forbidden``); the rest is not_found."""
        if await self.storage.room_info(room, user) is None:
            await self._public(room)
            if await self.storage.is_banned(room, user):
                raise Forbidden(moderation.banned_from(room, user, None))

    async def _member_of(self, user: str, room: str, not_in: str) -> RoomInfo:
        """The room as its member sees it. A public room the user is not in is ``Forbidden``
        with ``not_in``; any other room they are not in is not_found, as if missing."""
        info = await self.storage.room_info(room, user)
        if info is None:
            await self._public(room)
            raise Forbidden(not_in)
        return info

    async def _public(self, room: str) -> None:
        """Raise not_found unless ``room`` exists and is public."""
        found = await self.storage.get_room(room)
        if found is None or found.kind != RoomKind.PUBLIC:
            raise room_not_found(room)

    async def _member_view(self, user: str, room: str) -> RoomInfo:
        info = await self.storage.room_info(room, user)
        if info is None:
            raise room_not_found(room)
        return info

    # --- messages ----------------------------------------------------------------------------

    def send(
        self,
        user: str,
        room: str,
        client_msg_id: str,
        body: str,
        reply_to: int | None = None,
        files: Sequence[str] = (),
    ) -> Awaitable[Appended[Message]]:
        """Enqueue the message now (so a connection's messages keep their order); the
        awaitable resolves once it is durably stored. ``reply_to`` puts it in a thread;
        storage keeps the mentions of members (the hub tells them once it is stored) and
        attaches ``files``, the user's pending uploads to the room, checked in the write."""
        self._sends.check(user, what="messages")
        _check_storable(body, client_msg_id)
        mentions, room_mention = find_mentions(body)
        message = Message(
            room=room,
            seq=0,
            ts=self.clock(),
            user=user,
            msg_id=self.new_id(),
            client_msg_id=client_msg_id,
            body=body,
            reply_to=reply_to,
            mentions=mentions,
            room_mention=room_mention,
            files=tuple(file_ref(file_id) for file_id in files),
        )
        return self._offered(self.storage.append(message))

    def _offered(self, appending: Awaitable[Appended[Message]]) -> Awaitable[Appended[Message]]:
        """Every message stored through this node's actions passes here: once committed
        (and new), the outgoing webhooks are offered it, without anyone waiting for them."""
        future = asyncio.ensure_future(appending)
        future.add_done_callback(self._stored)
        return future

    def _stored(self, future: asyncio.Future[Appended[Message]]) -> None:
        if future.cancelled() or future.exception() is not None:
            return  # the sender is told; nothing was stored
        appended = future.result()
        if not appended.duplicate:
            self.outgoing.offer(appended.event)

    async def edit(self, user: str, room: str, seq: int, body: str) -> Changed:
        """Give the author's message ``seq`` a new body (and its mentions; nobody is told
        of them again); the same body changes nothing."""
        self._sends.check(user, what="messages")
        _check_storable(body)
        mentions, room_mention = find_mentions(body)
        edit = MessageEdited(
            room=room,
            seq=0,
            ts=self.clock(),
            user=user,
            target=seq,
            body=body,
            mentions=mentions,
            room_mention=room_mention,
        )
        return await self.storage.edit_message(edit)

    async def delete(self, user: str, room: str, seq: int) -> Changed:
        """Delete the message ``seq`` (its author, the owner or an admin); deleting a
        deleted message changes nothing."""
        self._sends.check(user, what="messages")
        delete = MessageDeleted(room=room, seq=0, ts=self.clock(), user=user, target=seq)
        return await self.storage.delete_message(delete)

    async def react(self, user: str, room: str, seq: int, emoji: str, on: bool) -> Changed:
        """Add (``on``) or take back the user's reaction ``emoji`` to the message ``seq``;
        a reaction the user has, or has not, changes nothing."""
        self._sends.check(user, what="messages")
        kind = ReactionAdded if on else ReactionRemoved
        reaction = kind(room=room, seq=0, ts=self.clock(), user=user, target=seq, emoji=emoji)
        return await self.storage.react(reaction)

    async def set_role(self, user: str, room: str, member: str, role: Role) -> None:
        """The owner makes a member an admin or a member again."""
        self._room_action(user)
        change = RoleChanged(room=room, seq=0, ts=self.clock(), user=user, member=member, role=role)
        await self.storage.set_role(change)

    # --- moderation ---------------------------------------------------------------------------

    async def kick(self, user: str, room: str, member: str) -> None:
        """Remove ``member`` from the room (they may join a public room again)."""
        self._room_action(user)
        await self.storage.moderate(
            MemberKicked(room=room, seq=0, ts=self.clock(), user=member, by=user)
        )

    async def ban(self, user: str, room: str, member: str, reason: str) -> None:
        """Remove ``member`` if they are one, and keep them out until ``unban``."""
        self._room_action(user)
        _check_storable(reason)
        await self.storage.moderate(
            MemberBanned(room=room, seq=0, ts=self.clock(), user=member, by=user, reason=reason)
        )

    async def unban(self, user: str, room: str, member: str) -> None:
        self._room_action(user)
        await self.storage.moderate(
            MemberUnbanned(room=room, seq=0, ts=self.clock(), user=member, by=user)
        )

    async def mute(self, user: str, room: str, member: str, until: int | None) -> None:
        """Keep ``member`` from sending and reacting until ``until`` (ms since the epoch;
        None: until ``unmute``)."""
        self._room_action(user)
        now = self.clock()
        if until is not None and until <= now:
            raise BadRequest("until must be in the future (ms since the epoch)")
        await self.storage.moderate(
            MemberMuted(room=room, seq=0, ts=now, user=member, by=user, until=until)
        )

    async def unmute(self, user: str, room: str, member: str) -> None:
        self._room_action(user)
        await self.storage.moderate(
            MemberUnmuted(room=room, seq=0, ts=self.clock(), user=member, by=user)
        )

    async def room_settings(
        self,
        user: str,
        room: str,
        topic: str | None,
        private: bool | None,
        title: str | None = None,
        retention_days: int | None = None,
    ) -> None:
        """Change the room's topic, title or retention (-1: the server's), or make it public
        or private; what it has changes nothing."""
        self._room_action(user)
        if topic is not None:
            _check_storable(topic)
        change = RoomChanged(
            room=room,
            seq=0,
            ts=self.clock(),
            user=user,
            topic=topic,
            private=private,
            title=title,
            retention_days=retention_days,
        )
        await self.storage.moderate(change)

    async def bans(self, user: str, room: str) -> list[moderation.BanEntry]:
        """The bans in force, newest first, for those who may lift them. Anyone else who
        may not see the room is told it is missing, as for a moderation."""
        info = await self.storage.room_info(room, user)
        admin = await self.storage.is_admin(user)
        if info is None and not admin:
            await self._public(room)
        found = await self.storage.get_room(room)
        if found is None:
            raise room_not_found(room)
        rank = moderation.rank(None if info is None else info.role, admin)
        moderation.check_bans_reader(found.kind, rank)
        return await self.storage.bans(room)

    # --- the server's settings: registration, invite links, guests (its admin only) ---------

    async def registration(self) -> reg.Mode:
        """The registration mode a sign-up form is shown: ``open`` while the server has no
        account yet, whatever the mode (its first account can always be created)."""
        mode = self.settings.policy.registration
        if mode is not reg.Mode.OPEN and not await self.storage.has_users():
            return reg.Mode.OPEN
        return mode

    async def server_settings(self, user: str) -> reg.Policy:
        await self._server_admin(user)
        await self.settings.refresh()
        return self.settings.policy

    async def change_settings(self, user: str, changes: reg.Changes) -> reg.Policy:
        """Set or clear (None: the config's value holds again) the settings given; this
        node applies them at once, the others at their next poll."""
        await self._server_admin(user)
        self._room_action(user)
        if changes.registration is not msgspec.UNSET or changes.guests is not msgspec.UNSET:
            await self.storage.change_settings(user, self.clock(), changes)
        await self.settings.refresh()
        return self.settings.policy

    async def create_invite(
        self, user: str, expires_in: int, max_uses: int | None
    ) -> tuple[reg.Invite, str]:
        """A new invite link and its code, which only this answer shows (storage keeps its
        SHA-256, as of a session token)."""
        await self._server_admin(user)
        self._room_action(user)
        code = new_token()
        now = self.clock()
        invite = reg.Invite(
            id=secrets.token_urlsafe(9),
            created_by=user,
            created_at=now,
            expires_at=now + expires_in * 1000,
            max_uses=max_uses,
            uses=0,
        )
        await self.storage.create_invite(invite, token_hash(code))
        return invite, code

    async def invites(self, user: str) -> list[reg.Invite]:
        await self._server_admin(user)
        return await self.storage.invites()

    async def revoke_invite(self, user: str, invite_id: str) -> None:
        await self._server_admin(user)
        self._room_action(user)
        await self.storage.revoke_invite(invite_id, user, self.clock())

    async def guest_bans(self, user: str) -> tuple[str, ...]:
        await self._server_admin(user)
        await self.settings.refresh()
        return self.settings.stored.guest_bans

    async def ban_guests(self, user: str, address: str) -> str:
        """Ban an address or network from connecting as a guest: its guests on every node
        are closed. Its canonical form."""
        await self._server_admin(user)
        network = _guest_network(address)
        self._room_action(user)
        await self.storage.ban_guests(network, user, self.clock())
        await self.settings.refresh()
        return network

    async def unban_guests(self, user: str, address: str) -> None:
        await self._server_admin(user)
        network = _guest_network(address)
        self._room_action(user)
        await self.storage.unban_guests(network, user, self.clock())
        await self.settings.refresh()

    async def _server_admin(self, user: str) -> None:
        """``Forbidden`` unless ``user`` is a server admin (as for the audit log)."""
        if not await self.storage.is_admin(user):
            raise Forbidden(reg.ADMIN_ONLY)

    async def audit(self, user: str, before: int | None, limit: int) -> list[moderation.AuditEntry]:
        """The audit log, newest first: server admins only (who they are, is no secret:
        profiles say it, so ``Forbidden`` hides nothing that ``not_found`` would)."""
        if not await self.storage.is_admin(user):
            raise Forbidden("only server admins can read the audit log")
        return await self.storage.audit(before, limit)

    # --- server accounts ------------------------------------------------------------------

    async def accounts(self, user: str, after: str | None, limit: int) -> list[Account]:
        """A page of the accounts by username, for server admins."""
        await self._server_admin(user)
        return await self.storage.accounts(after, limit)

    async def set_server_role(self, user: str, name: str, role: ServerRole) -> Account:
        """Make ``name`` a server admin or a member (checked again in the write)."""
        await self._server_admin(user)
        return await self.storage.set_server_role(user, name, role, self.clock())

    async def set_deactivated(self, user: str, name: str, deactivated: bool) -> Account:
        """Deactivate or reactivate ``name``. A deactivation revokes every token of theirs
        and closes their sessions here at once, and on the other nodes at their next poll
        of account changes (``service.accounts``)."""
        await self._server_admin(user)
        changed = await self.storage.set_deactivated(user, name, deactivated, self.clock())
        if deactivated:
            self.hub.close_sessions(name, REASONS[AccountChange.DEACTIVATED])
        return changed

    # --- bots and webhooks ------------------------------------------------------------------

    async def create_bot(self, user: str, name: str) -> str:
        """A bot account ``name`` made by ``user``: its token, shown once. Server admins
        may make any number; others only when ``bots_by_anyone``, and so many live ones."""
        name = _new_username(name)
        admin = await self.storage.is_admin(user)
        if not admin and not self.config.bots_by_anyone:
            raise Forbidden(bots.ADMIN_ONLY)
        self._room_action(user)
        token = new_token()
        cap = None if admin else bots.MAX_BOTS_PER_USER
        await self.storage.create_bot(name, user, self.clock(), token_hash(token), cap)
        return token

    async def bots(self, user: str) -> list[Bot]:
        """The bots ``user`` made; a server admin's listing holds everyone's."""
        made_by = None if await self.storage.is_admin(user) else user
        return await self.storage.bots(made_by, bots.MAX_BOTS_LISTED)

    async def delete_bot(self, user: str, name: str) -> None:
        """Deactivate the bot ``name`` (its token revoked, its sessions closed), by its
        maker or a server admin; a maker who is no admin is logged as the command line is."""
        admin = await self.storage.is_admin(user)
        found = await self.storage.bot(name.lower())
        if found is None or not (admin or found.created_by == user):
            raise NotFound(bots.no_bot(name.lower()))
        await self.storage.set_deactivated(user if admin else None, found.name, True, self.clock())
        self.hub.close_sessions(found.name, REASONS[AccountChange.DEACTIVATED])

    async def create_webhook(self, user: str, room: str, name: str) -> tuple[Webhook, str]:
        """A webhook of ``room``, posting as a new bot account that joins it: the webhook
        and its secret, shown once (only its hash is kept)."""
        info = await self._member_of(user, room, f"join {room!r} before you add webhooks to it")
        if info.kind == RoomKind.DM:
            raise BadRequest("a DM room takes no webhooks")
        self._room_action(user)
        hook_id = secrets.token_hex(6)
        secret = new_token()
        hook = Webhook(
            id=hook_id,
            room=room,
            name=name,
            username=webhooks.bot_name(hook_id),
            created_by=user,
            created_at=self.clock(),
        )
        await self.storage.create_webhook(hook, token_hash(secret), webhooks.MAX_WEBHOOKS_PER_ROOM)
        return hook, secret

    async def webhooks(self, user: str, room: str) -> list[Webhook]:
        """The room's live webhooks, for its members: no secrets."""
        await self._member_of(user, room, f"join {room!r} to see its webhooks")
        return await self.storage.webhooks(room)

    async def revoke_webhook(self, user: str, room: str, hook_id: str) -> None:
        """Revoke a webhook of ``room``: its creator, the room's owner and admins, and
        server admins may."""
        manages = await self._hook_rights(user, room)
        hook = next((h for h in await self.storage.webhooks(room) if h.id == hook_id), None)
        if hook is None:
            raise NotFound(webhooks.NOT_FOUND)
        if not manages(hook.created_by):
            raise Forbidden(
                "only its creator, the room's owner and admins, and server admins can revoke"
                " a webhook"
            )
        await self.storage.revoke_webhook(room, hook_id, self.clock())

    async def post_to_webhook(
        self, hook_id: str, secret: str, text: str, key: str | None
    ) -> Appended[Message]:
        """Post ``text`` to the webhook's room as its bot. A bad id and a bad secret are the
        same ``NotFound``. ``key`` (an ``Idempotency-Key``) is the message's client_msg_id:
        a post retried with it is stored once."""
        found = await self.storage.webhook(hook_id) if secret.isascii() else None
        if found is None or not hmac.compare_digest(found[1], token_hash(secret)):
            raise NotFound(webhooks.NOT_FOUND)
        hook = found[0]
        self._webhook_posts.check(hook.id, what="posts to this webhook")
        if len(text) > MAX_BODY_CHARS:
            raise TooLarge(f"a webhook's text is at most {MAX_BODY_CHARS} characters")
        if not text.strip():
            raise BadRequest("a webhook's text must not be empty or only whitespace")
        if key is not None and not (0 < len(key) <= MAX_CLIENT_MSG_ID and key.isprintable()):
            raise BadRequest(f"an Idempotency-Key is 1-{MAX_CLIENT_MSG_ID} printable characters")
        return await self.send(hook.username, hook.room, key or secrets.token_hex(16), text)

    # --- outgoing webhooks (core.outgoing) ------------------------------------------------------

    async def create_outgoing_webhook(
        self,
        user: str,
        room: str,
        name: str,
        url: str,
        trigger: Trigger,
        words: Sequence[str] = (),
    ) -> tuple[OutgoingWebhook, str]:
        """An outgoing webhook of ``room`` and its signing secret, shown once (kept in the
        clear: it signs every delivery). Its bot account is made with it and joins the
        room. Only those who run the room, and server admins, may: it copies the room's
        messages to a third party. Its URL's host must resolve to public addresses only,
        unless ``outgoing_webhooks_allow_private``."""
        await self._runs_room(user, room, f"join {room!r} before you add webhooks to it")
        self._room_action(user)
        try:
            target = outgoing.check_url(url)
            if trigger is Trigger.WORDS:
                kept = outgoing.checked_words(tuple(words))
            elif words:
                raise ValueError("trigger words go with the words trigger only")
            else:
                kept = ()
        except ValueError as exc:
            raise BadRequest(str(exc)) from None
        if not self.config.outgoing_webhooks_allow_private:
            await check_public(target.host, target.port)
        hook_id = secrets.token_hex(6)
        secret = secrets.token_urlsafe(32)
        hook = OutgoingWebhook(
            id=hook_id,
            room=room,
            name=name,
            url=url,
            trigger=trigger,
            words=kept,
            username=outgoing.bot_name(hook_id),
            created_by=user,
            created_at=self.clock(),
        )
        await self.storage.create_outgoing_webhook(hook, secret, outgoing.MAX_PER_ROOM)
        self.outgoing.forget(room)
        return hook, secret

    async def outgoing_webhooks(
        self, user: str, room: str
    ) -> list[tuple[OutgoingWebhook, Delivery | None]]:
        """The room's live outgoing webhooks and the last delivery of each, for those who
        run the room and server admins: no secrets (their URLs are theirs to see)."""
        await self._runs_room(user, room, f"join {room!r} to see its webhooks")
        found = []
        for hook, _ in await self.storage.outgoing_webhooks(room):
            last = await self.storage.outgoing_deliveries(hook.id, 1)
            found.append((hook, last[0] if last else None))
        return found

    async def revoke_outgoing_webhook(self, user: str, room: str, hook_id: str) -> None:
        """Revoke an outgoing webhook: as an incoming one, its creator, the room's owner
        and admins, and server admins may. Other nodes stop delivering to it within
        ``ROOM_HOOKS_TTL``."""
        await self._outgoing_hook(user, room, hook_id)
        await self.storage.revoke_outgoing_webhook(room, hook_id, self.clock())
        self.outgoing.forget(room)

    async def outgoing_deliveries(self, user: str, room: str, hook_id: str) -> list[Delivery]:
        """The hook's newest deliveries, for those who may revoke it."""
        await self._outgoing_hook(user, room, hook_id)
        return await self.storage.outgoing_deliveries(hook_id, outgoing.KEPT_DELIVERIES)

    async def _runs_room(self, user: str, room: str, not_in: str) -> None:
        """``user`` is the room's owner or an admin, or a server admin; a DM room takes no
        webhooks. Anyone else who may not see the room is told it is missing."""
        admin = await self.storage.is_admin(user)
        info = await self.storage.room_info(room, user)
        if info is None and not admin:
            await self._public(room)
            raise Forbidden(not_in)
        found = await self.storage.get_room(room)
        if found is None:
            raise room_not_found(room)
        if found.kind == RoomKind.DM:
            raise BadRequest("a DM room takes no webhooks")
        if not admin and (info is None or info.role not in (RoomRole.OWNER, RoomRole.ADMIN)):
            raise Forbidden(outgoing.RUNNERS_ONLY)

    async def _outgoing_hook(self, user: str, room: str, hook_id: str) -> OutgoingWebhook:
        """The live hook of ``room`` if ``user`` may revoke it (as ``revoke_webhook``)."""
        manages = await self._hook_rights(user, room)
        found = await self.storage.outgoing_webhooks(room)
        hook = next((h for h, _ in found if h.id == hook_id), None)
        if hook is None:
            raise NotFound(outgoing.NOT_FOUND)
        if not manages(hook.created_by):
            raise Forbidden(
                "only its creator, the room's owner and admins, and server admins can manage"
                " an outgoing webhook"
            )
        return hook

    async def _hook_rights(self, user: str, room: str) -> Callable[[str], bool]:
        """Whether ``user`` may manage a webhook of ``room`` made by a given user: its
        creator, the room's owner and admins, and server admins may. Anyone else who may not
        see the room is told it is missing."""
        if await self.storage.is_admin(user):
            return lambda created_by: True
        role = (await self._member_of(user, room, f"join {room!r} first")).role
        runs_room = role in (RoomRole.OWNER, RoomRole.ADMIN)
        return lambda created_by: runs_room or created_by == user

    async def _outgoing_reply(self, hook: OutgoingWebhook, text: str) -> None:
        """A receiver's reply, posted as the hook's bot, as a post to an incoming webhook."""
        self._webhook_posts.check(hook.id, what="replies of this webhook")
        if len(text) > MAX_BODY_CHARS:
            raise TooLarge(f"a reply is at most {MAX_BODY_CHARS} characters")
        _check_storable(text)
        await self.send(hook.username, hook.room, secrets.token_hex(16), text)

    async def history(
        self, user: str, room: str, before: int | None, after: int | None, limit: int
    ) -> Page:
        if before is not None and after is not None:
            raise BadRequest("give before or after, not both")
        await self._visible(user, room)
        return await self.storage.history(room, before, after, limit, reader=user)

    async def thread(
        self, user: str, room: str, root: int, before: int | None, limit: int
    ) -> Thread:
        """A page of the thread of ``root``; whoever may read the room's history may."""
        await self._visible(user, room)
        return await self.storage.thread(room, root, before, limit, reader=user)

    async def search(
        self, user: str, query: str, room: str | None, before: str | None, limit: int
    ) -> Results:
        """The messages of the rooms ``user`` is in now (or of ``room``) that hold
        ``query``, newest first; ``before`` is the ``next`` of a page (or the cursor of
        its last result)."""
        if len(query) < MIN_QUERY_CHARS:
            raise BadRequest(SHORT_QUERY)  # a shorter query has no trigram to look up
        if not storable(query):  # no message holds a NUL, and SQLite's index chokes on one
            raise BadRequest("a search query cannot hold the NUL character (U+0000)")
        self._searches.check(user, what="searches")
        cursor = None
        if before is not None:
            try:
                cursor = Cursor.parse(before)
            except ValueError as exc:
                raise BadRequest(str(exc)) from None
        return await self.storage.search(user, query, room, cursor, limit)

    async def sync(self, session: Session, since: dict[str, int]) -> dict[str, SyncState]:
        """Replay what the session missed in each of its rooms, then deliver them live (see
        ``resume``). A ``since`` naming a room the user is not in changes nothing."""
        was_synced, session.synced = session.synced, True  # rooms joined meanwhile: followed
        rooms = {info.name: info.last_seq for info in await self.storage.user_rooms(session.user)}
        for room in since:
            if room not in rooms:
                session.synced = was_synced
                raise room_not_found(room)
        return await self.hub.resume.sync(session, rooms, since)

    async def read(self, user: str, room: str, seq: int, session: Session | None) -> int:
        """Move the read marker; the user's other sessions hear of it (``read``)."""
        self._reads.check(user, what="read markers")
        marker = await self.storage.mark_read(room, user, seq)
        self._notify(Audience.USER, user, ReadNotice(room=room, seq=marker), session)
        return marker

    async def typing(self, session: Session, room: str) -> None:
        try:  # before the membership read: a flood of hints costs no storage work
            self._typing.check((session.user, room))
        except RateLimited:
            return  # typing is a hint: extra ones are dropped, not refused
        await self._member_view(session.user, room)
        self._notify(Audience.ROOM, room, TypingNotice(room=room, user=session.user), session)

    def _notify(
        self, audience: Audience, name: str, content: msgspec.Struct, session: Session | None
    ) -> None:
        """A notice to its audience on every node, through the broker; not to ``session``."""
        exclude = None if session is None else session.id
        data = encode(content)  # once, for every receiver on every node
        origin = self.hub.node_id
        notice = Notice(audience=audience, name=name, data=data, origin=origin, exclude=exclude)
        self.broker.publish(notice)

    # --- files ----------------------------------------------------------------------------

    async def may_upload(self, user: str, room: str, size: int | None) -> None:
        """Members upload to a room (to anyone else it is missing), within their quota as
        far as ``size`` (the body's announced length, if any) tells before it is read."""
        self._sends.check(user, what="messages")
        await self._member_view(user, room)
        quota = self.config.file_quota_bytes
        if size is not None and await self.storage.file_usage(user) + size > quota:
            raise TooLarge(over_quota(quota))

    async def add_file(
        self, user: str, room: str, info: FileInfo, blob: str, thumb: str | None
    ) -> FileInfo:
        """Keep an uploaded file, pending until a message of ``user`` in ``room`` carries
        it; membership and the quota are checked again in the write."""
        file = StoredFile(
            info=info,
            sha256=blob,
            thumb_sha256=thumb,
            uploader=user,
            room=room,
            created_at=self.clock(),
        )
        await self.storage.add_file(file, self.config.file_quota_bytes)
        return info

    async def file_for(self, user: str, file_id: str) -> StoredFile:
        """The file ``file_id`` if ``user`` may fetch it: its uploader while it is pending,
        the members of its room once a message carries it (a deleted message's files are
        gone). Anyone else gets the ``not_found`` of a missing file."""
        file = await self.storage.file(file_id)
        if file is not None:
            if file.seq is None:
                if file.uploader == user:
                    return file
            elif await self.storage.room_info(file.room, user) is not None:
                return file
        raise file_not_found(file_id)

    # --- the seed's plain-text guests --------------------------------------------------------

    def guest_relay(
        self, address: str, data: bytes, binary: bool = False, exclude: int | None = None
    ) -> None:
        """Relay a guest's rename, empty line or binary frame to the guests of every node but
        the guest ``exclude``, or raise ``RateLimited``: one frame in, one out per guest."""
        self._guest_relays.check(address, what="relayed frames")
        notice = Notice(
            audience=Audience.GUESTS,
            name=LOBBY,
            data=data,
            binary=binary,
            origin=self.hub.node_id,
            exclude=exclude,
        )
        self.broker.publish(notice)

    def guest_say(self, name: str, address: str, text: str) -> Awaitable[Appended[Message]]:
        """Store a guest's line in ``lobby``; the guests' relay sends it once committed."""
        self._sends.check(("guest", address), what="messages")
        author = guest_author(name)
        message = Message(
            room=LOBBY, seq=0, ts=self.clock(), user=author, msg_id=self.new_id(), body=text
        )
        return self._offered(self.storage.append(message, require_member=False))
