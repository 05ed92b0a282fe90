"""The HTTP API under ``/api/v1``, for bots, scripts and the browser client's sign-in.

Every route is one ``Endpoint`` row: its method, path, request and response types. The same
rows register the aiohttp routes and generate the OpenAPI document, so the document
describes exactly what the server validates.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated, Any

import msgspec
from aiohttp import web

from hubbub.core import outgoing, webhooks
from hubbub.core.accounts import Account, ServerRole
from hubbub.core.bots import Bot
from hubbub.core.consent import DmPolicy, Invitation
from hubbub.core.events import Event, Message, Role
from hubbub.core.files import FileInfo
from hubbub.core.models import PublicRoom, RoomInfo, RoomRole, normalize_room
from hubbub.core.moderation import AuditEntry, room_title
from hubbub.core.outgoing import Delivery, OutgoingWebhook, Trigger
from hubbub.core.profiles import Profile
from hubbub.core.profiles import display_name as checked_display_name
from hubbub.core.profiles import status as checked_status
from hubbub.core.reactions import EMOJI_RULE, is_emoji
from hubbub.core.registration import Changes, InviteCode
from hubbub.core.search import DEFAULT_SEARCH_LIMIT
from hubbub.core.webhooks import Payload, Webhook
from hubbub.errors import BadRequest, Forbidden, HubbubError, NotFound, TooLarge
from hubbub.files.uploads import receive
from hubbub.protocol.limits import (
    DEFAULT_HISTORY_LIMIT,
    RENAME_REFUSED,
    BanReason,
    Body,
    ClientMsgId,
    FileIds,
    HistoryLimit,
    MessageBody,
    Password,
    RetentionDays,
    RoomName,
    RoomRef,
    RoomTitle,
    SearchCursor,
    SearchLimit,
    SearchQuery,
    Seq,
    Timestamp,
    Topic,
    UploadName,
    Username,
    check_message,
)
from hubbub.protocol.messages import BanList, SearchHit, SearchResults, SentOut
from hubbub.service.actions import Actions, Login
from hubbub.service.profiles import MAX_AVATAR_BYTES, avatar_thumbnail
from hubbub.transport import files_api, settings_api
from hubbub.transport.context import (
    SESSION_COOKIE,
    bearer_token,
    origin_allowed,
    peer_address,
    request_scheme,
    state_of,
)

PREFIX = "/api/v1"

# --- request and response bodies ---------------------------------------------------------


class Credentials(msgspec.Struct, forbid_unknown_fields=True):
    username: Username
    password: Password


class NewAccount(msgspec.Struct, forbid_unknown_fields=True):
    username: Username
    password: Password
    invite: InviteCode | None = None  # an invite link's code: needed in the invite mode


class UserOut(msgspec.Struct):
    username: str


class MeOut(msgspec.Struct, omit_defaults=True):
    username: str
    admin: bool = False  # present, and true, for server admins alone
    # Private: who may open a new DM with you or invite you; absent for everyone (the default).
    dm_policy: DmPolicy = DmPolicy.EVERYONE


class SessionOut(msgspec.Struct, omit_defaults=True):
    token: str
    user: UserOut
    # On registration: the default rooms the new account was put in, the first to be shown.
    rooms: list[str] = msgspec.field(default_factory=list)


class ProfileChange(msgspec.Struct, forbid_unknown_fields=True):
    """Each text given is trimmed, and "" clears it; one left out is unchanged."""

    display_name: str | None = None  # at most 64 characters, see `core.profiles`
    status: str | None = None  # at most 140 characters
    dm_policy: DmPolicy | None = None  # private: GET /me reads it, no profile shows it

    def __post_init__(self) -> None:
        if self.display_name is not None:
            self.display_name = checked_display_name(self.display_name)
        if self.status is not None:
            self.status = checked_status(self.status)


class PasswordChange(msgspec.Struct, forbid_unknown_fields=True):
    old_password: Password
    new_password: Password
    sign_out_others: bool = False  # revoke every other token of yours


class NewRoom(msgspec.Struct, forbid_unknown_fields=True):
    name: RoomName
    private: bool = False


class UserRef(msgspec.Struct, forbid_unknown_fields=True):
    user: Username


class InvitationList(msgspec.Struct):
    invitations: list[Invitation]  # pending, oldest first


class BlockList(msgspec.Struct):
    users: list[str]  # whom you block, by name


class NewMessage(msgspec.Struct, forbid_unknown_fields=True):
    client_msg_id: ClientMsgId
    body: MessageBody
    reply_to: Seq | None = None  # the message this one answers, in the same room
    files: FileIds = msgspec.field(default_factory=list)  # ids of your uploads to the room

    def __post_init__(self) -> None:
        check_message(self.body, self.files)


class NewBody(msgspec.Struct, forbid_unknown_fields=True):
    body: Body


class NewRole(msgspec.Struct, forbid_unknown_fields=True):
    role: Role


class ReadMarker(msgspec.Struct, forbid_unknown_fields=True):
    seq: Seq


class HistoryQuery(msgspec.Struct, forbid_unknown_fields=True):
    before: Seq | None = None
    after: Seq | None = None
    limit: HistoryLimit = DEFAULT_HISTORY_LIMIT


class BanIn(msgspec.Struct, forbid_unknown_fields=True):
    reason: BanReason = ""


class MuteIn(msgspec.Struct, forbid_unknown_fields=True):
    until: Timestamp | None = None  # None: until unmuted


class RoomSettingsIn(msgspec.Struct, forbid_unknown_fields=True):
    """Each setting given is changed; one left out is unchanged."""

    topic: Topic | None = None
    private: bool | None = None
    title: RoomTitle | None = None
    retention_days: RetentionDays | None = None
    name: str | None = None  # only to refuse it clearly

    def __post_init__(self) -> None:
        if self.name is not None:
            raise ValueError(RENAME_REFUSED)
        if self.title is not None:
            self.title = room_title(self.title)


class AuditQuery(msgspec.Struct, forbid_unknown_fields=True):
    before: Seq | None = None  # the id of the oldest entry of the page before
    limit: HistoryLimit = DEFAULT_HISTORY_LIMIT


class AuditPage(msgspec.Struct):
    entries: list[AuditEntry]  # newest first


class AccountsQuery(msgspec.Struct, forbid_unknown_fields=True):
    after: Username | None = None  # the last username of the page before
    limit: HistoryLimit = DEFAULT_HISTORY_LIMIT


class AccountsPage(msgspec.Struct):
    accounts: list[Account]  # by username, in code-point order


class ServerRoleChange(msgspec.Struct, forbid_unknown_fields=True):
    role: ServerRole


class UploadQuery(msgspec.Struct, forbid_unknown_fields=True):
    name: UploadName = ""


class ThreadQuery(msgspec.Struct, forbid_unknown_fields=True):
    before: Seq | None = None
    limit: HistoryLimit = DEFAULT_HISTORY_LIMIT


class SearchParams(msgspec.Struct, forbid_unknown_fields=True):
    query: SearchQuery
    room: RoomRef | None = None  # only this room (one you are in)
    before: SearchCursor | None = None
    limit: SearchLimit = DEFAULT_SEARCH_LIMIT


class RoomList(msgspec.Struct):
    rooms: list[RoomInfo]


class Directory(msgspec.Struct):
    rooms: list[PublicRoom]


class MemberList(msgspec.Struct, omit_defaults=True):
    room: str
    users: list[str]
    profiles: list[Profile]  # one per member, in the order of users
    roles: dict[str, RoomRole]  # the owner and the admins; everyone else is a member
    muted: dict[str, int | None] = {}  # members muted now: until (ms), None until unmuted


class HistoryPage(msgspec.Struct):
    room: str
    events: list[Event]
    has_more: bool


class ThreadPage(msgspec.Struct):
    room: str
    root: Message
    events: list[Event]  # replies, oldest first
    has_more: bool


class ReadOut(msgspec.Struct):
    room: str
    read_seq: int


class NewBot(msgspec.Struct, forbid_unknown_fields=True):
    name: Username


class BotCreated(msgspec.Struct):
    name: str
    token: str  # shown this once: it never expires; deleting the bot revokes it


class BotList(msgspec.Struct):
    bots: list[Bot]  # by name


class NewWebhook(msgspec.Struct, forbid_unknown_fields=True):
    name: str  # 1-64 characters, as a display name: its bot's

    def __post_init__(self) -> None:
        self.name = checked_display_name(self.name)
        if not self.name:
            raise ValueError("a webhook needs a name")


class WebhookCreated(msgspec.Struct):
    id: str
    name: str
    room: str
    username: str  # its bot account, which its messages are from
    url: str  # POST {"text": …} here; holds the secret
    token: str  # the secret, shown this once


class WebhookList(msgspec.Struct):
    room: str
    webhooks: list[Webhook]  # oldest first; no secrets


class NewOutgoingWebhook(msgspec.Struct, forbid_unknown_fields=True):
    name: str  # 1-64 characters, as a display name: its bot's
    url: Annotated[str, msgspec.Meta(min_length=1, max_length=outgoing.MAX_URL_CHARS)]
    trigger: Trigger = Trigger.ALL
    # For the words trigger: 1-10 words, matched case-insensitively against a message's first.
    words: Annotated[list[str], msgspec.Meta(max_length=outgoing.MAX_WORDS)] = msgspec.field(
        default_factory=list
    )

    def __post_init__(self) -> None:
        self.name = checked_display_name(self.name)
        if not self.name:
            raise ValueError("a webhook needs a name")


class OutgoingWebhookCreated(msgspec.Struct):
    hook: OutgoingWebhook
    secret: str  # signs every delivery (X-Hubbub-Signature); shown this once


class OutgoingWebhookOut(msgspec.Struct, omit_defaults=True):
    hook: OutgoingWebhook
    last_delivery: Delivery | None = None  # the newest one kept, if any


class OutgoingWebhookList(msgspec.Struct):
    room: str
    webhooks: list[OutgoingWebhookOut]  # oldest first; no secrets


class DeliveryList(msgspec.Struct):
    hook: str
    deliveries: list[Delivery]  # newest first, the last 50 at most


class ErrorOut(msgspec.Struct, omit_defaults=True):
    code: str
    message: str
    retry_after: float | None = None


# --- plumbing -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Call:
    """One API request, decoded: who, which room, and the body or query."""

    request: web.Request
    user: str
    room: str
    body: Any


Handler = Callable[[Call], Awaitable[web.StreamResponse]]


@dataclass(frozen=True)
class Endpoint:
    method: str
    path: str
    summary: str
    handler: Handler
    body: type | None = None
    query: type | None = None
    response: type | None = None
    status: int = 200
    auth: bool = True
    sets_cookie: bool = False  # signs in or out: same-origin JSON only (see `_sign_in_guard`)
    raw_body: str | None = None  # the media type of a body taken as raw bytes, not JSON
    raw_response: str | None = None  # the media type of an answer that is not JSON
    repeat_status: int | None = None  # the status of an idempotent request made again


def json_response(status: int, payload: msgspec.Struct | None) -> web.Response:
    if payload is None:
        return web.Response(status=status)
    return web.Response(
        status=status, body=msgspec.json.encode(payload), content_type="application/json"
    )


async def current_user(request: web.Request) -> str:
    """The user of the bearer token, else of the session cookie (only from our own pages)."""
    token = bearer_token(request)
    if token is None:
        token = request.cookies.get(SESSION_COOKIE)
        if (
            token
            and request.method != "GET"
            and not origin_allowed(request, state_of(request).config)
        ):
            raise Forbidden("cross-origin request with a session cookie")
    return await state_of(request).node.actions.authenticate(token)


def _sign_in_guard(request: web.Request) -> None:
    """Against login CSRF: a page of another site could sign its visitor into an account
    of its choosing with a plain form. Forms cannot send JSON, and browsers send Origin."""
    if not origin_allowed(request, state_of(request).config):
        raise Forbidden("cross-origin request to sign in or out")
    if request.content_type != "application/json":
        raise web.HTTPUnsupportedMediaType(text="the request needs Content-Type: application/json")


def _route(endpoint: Endpoint) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    async def route(request: web.Request) -> web.StreamResponse:
        if endpoint.sets_cookie:
            _sign_in_guard(request)
        user = await current_user(request) if endpoint.auth else ""
        body: Any = None
        if endpoint.body is not None:
            try:  # a body trickling in byte by byte would hold the connection forever
                async with asyncio.timeout(state_of(request).config.http_body_timeout):
                    raw = await request.read()
            except TimeoutError:
                raise web.HTTPRequestTimeout(text="the request body took too long") from None
            try:
                body = msgspec.json.decode(raw, type=endpoint.body)
            except msgspec.ValidationError as exc:
                raise BadRequest(str(exc)) from None
            except msgspec.DecodeError as exc:
                raise BadRequest(f"the body is not valid JSON: {exc}") from None
        elif endpoint.query is not None:
            try:
                body = msgspec.convert(dict(request.query), endpoint.query, strict=False)
            except msgspec.ValidationError as exc:
                raise BadRequest(str(exc)) from None
        room = normalize_room(request.match_info.get("room", ""))
        return await endpoint.handler(Call(request, user, room, body))

    return route


# --- the handlers ------------------------------------------------------------------------------


def _session_response(status: int, login: Login, request: web.Request) -> web.Response:
    out = SessionOut(token=login.token, user=UserOut(login.username), rooms=list(login.rooms))
    response = json_response(status, out)
    config = state_of(request).config
    response.set_cookie(
        SESSION_COOKIE,
        login.token,
        max_age=config.token_ttl_days * 86_400,
        httponly=True,
        samesite="Strict",
        path="/",
        secure=request_scheme(request) == "https",
    )
    return response


async def register(call: Call) -> web.Response:
    actions = state_of(call.request).node.actions
    body = call.body
    login = await actions.register(
        body.username, body.password, peer_address(call.request), body.invite
    )
    return _session_response(201, login, call.request)


async def login(call: Call) -> web.Response:
    actions = state_of(call.request).node.actions
    session = await actions.login(
        call.body.username, call.body.password, peer_address(call.request)
    )
    return _session_response(200, session, call.request)


async def logout(call: Call) -> web.Response:
    request = call.request
    token = bearer_token(request) or request.cookies.get(SESSION_COOKIE)
    if token:
        await state_of(request).node.actions.logout(token)
    response = web.Response(status=204)
    response.del_cookie(SESSION_COOKIE, path="/")
    return response


async def me(call: Call) -> web.Response:
    actions = _actions(call)
    policy = await actions.dm_policy(call.user)
    admin = await actions.is_admin(call.user)
    return json_response(200, MeOut(call.user, admin=admin, dm_policy=policy))


async def user_profile(call: Call) -> web.Response:
    return json_response(200, await _actions(call).profile(_path_user(call)))


async def change_profile(call: Call) -> web.Response:
    change, actions = call.body, _actions(call)
    if change.dm_policy is not None:
        await actions.set_dm_policy(call.user, change.dm_policy)
    profile = await actions.set_profile(call.user, change.display_name, change.status, None)
    return json_response(200, profile)


async def change_password(call: Call) -> web.Response:
    request, change = call.request, call.body
    token = bearer_token(request) or request.cookies.get(SESSION_COOKIE)  # as `current_user`
    await _actions(call).change_password(
        call.user,
        token,
        change.old_password,
        change.new_password,
        change.sign_out_others,
        peer_address(request),
    )
    return json_response(204, None)


def _path_user(call: Call) -> str:
    try:
        return msgspec.convert(call.request.match_info["user"], Username).lower()
    except msgspec.ValidationError as exc:
        raise BadRequest(f"the user in the path: {exc}") from None


async def put_avatar(call: Call) -> web.Response:
    """The body, an image, is streamed to a temporary file (never held whole), made into
    the avatar's thumbnail, and thrown away."""
    request, actions = call.request, _actions(call)
    actions.may_change_profile(call.user)
    announced = request.content_length
    if announced is not None and announced > MAX_AVATAR_BYTES:
        raise TooLarge(f"an avatar's image holds at most {MAX_AVATAR_BYTES} bytes")
    files = request.app[files_api.FILES]
    timeout = state_of(request).config.http_body_timeout
    with files.slots.take(call.user):
        try:
            received = await receive(
                request.content, files.store, MAX_AVATAR_BYTES, timeout, announced
            )
        except TooLarge:
            raise TooLarge(f"an avatar's image holds at most {MAX_AVATAR_BYTES} bytes") from None
        except TimeoutError:
            raise web.HTTPRequestTimeout(text="the request body stopped arriving") from None
        try:
            thumb = await avatar_thumbnail(received.writer.path, received.head)
        finally:
            await asyncio.shield(received.writer.abort())
        blob = await files.store.put(thumb)
    return json_response(200, await actions.set_avatar(call.user, blob))


async def delete_avatar(call: Call) -> web.Response:
    return json_response(200, await _actions(call).set_avatar(call.user, None))


async def get_avatar(call: Call) -> web.StreamResponse:
    """Cached for good under the URL of its version (``?v=``), else checked each time."""
    name = _path_user(call)
    blob, version = await _actions(call).avatar(name)
    path = call.request.app[files_api.FILES].store.path(blob)
    if not await asyncio.to_thread(path.is_file):  # lost from the store: as if none
        raise NotFound(f"{name!r} has no avatar")
    if call.request.query.get("v") == version:
        cache = "private, max-age=31536000, immutable"
    else:
        cache = "private, no-cache"
    response = web.FileResponse(path)
    response.headers.update(
        {
            "Content-Type": "image/webp",
            "X-Content-Type-Options": "nosniff",
            "Content-Security-Policy": files_api.DOWNLOAD_CSP,
            "Cross-Origin-Resource-Policy": "same-origin",
            "Cache-Control": cache,
        }
    )
    return response


async def my_rooms(call: Call) -> web.Response:
    return json_response(200, RoomList(await _actions(call).rooms(call.user)))


async def directory(call: Call) -> web.Response:
    return json_response(200, Directory(await _actions(call).directory()))


async def create_room(call: Call) -> web.Response:
    return json_response(
        201, await _actions(call).create(call.user, call.body.name.lower(), call.body.private, None)
    )


async def join_room(call: Call) -> web.Response:
    return json_response(200, await _actions(call).join(call.user, call.room, None))


async def leave_room(call: Call) -> web.Response:
    await _actions(call).leave(call.user, call.room)
    return json_response(204, None)


async def invite(call: Call) -> web.Response:
    await _actions(call).invite(call.user, call.room, call.body.user.lower())
    return json_response(204, None)


async def invitations(call: Call) -> web.Response:
    return json_response(200, InvitationList(await _actions(call).invitations(call.user)))


async def accept_invitation(call: Call) -> web.Response:
    return json_response(200, await _actions(call).accept(call.user, call.room, None))


async def decline_invitation(call: Call) -> web.Response:
    await _actions(call).decline(call.user, call.room)
    return json_response(204, None)


async def blocks(call: Call) -> web.Response:
    return json_response(200, BlockList(await _actions(call).blocks(call.user)))


async def block(call: Call) -> web.Response:
    await _actions(call).block(call.user, _path_user(call))
    return json_response(204, None)


async def unblock(call: Call) -> web.Response:
    await _actions(call).unblock(call.user, _path_user(call))
    return json_response(204, None)


async def open_dm(call: Call) -> web.Response:
    return json_response(200, await _actions(call).dm(call.user, call.body.user.lower(), None))


async def members(call: Call) -> web.Response:
    found = await _actions(call).members(call.user, call.room)
    users = [profile.username for profile in found.profiles]
    listed = MemberList(call.room, users, found.profiles, found.roles, found.muted)
    return json_response(200, listed)


async def history(call: Call) -> web.Response:
    q = call.body
    page = await _actions(call).history(call.user, call.room, q.before, q.after, q.limit)
    return json_response(200, HistoryPage(call.room, page.events, page.has_more))


async def search(call: Call) -> web.Response:
    q = call.body
    room = None if q.room is None else normalize_room(q.room)
    found = await _actions(call).search(call.user, q.query, room, q.before, q.limit)
    hits = [SearchHit.of(f) for f in found.found]
    after = None if found.next is None else str(found.next)
    page = SearchResults(query=q.query, results=hits, has_more=found.has_more, next=after)
    return json_response(200, page)


async def post_message(call: Call) -> web.Response:
    new = call.body
    stored = await _actions(call).send(
        call.user, call.room, new.client_msg_id, new.body, new.reply_to, new.files
    )
    return json_response((200 if stored.duplicate else 201), SentOut.of(stored.event))


async def thread(call: Call) -> web.Response:
    q = call.body
    root = _path_seq(call, "root")
    found = await _actions(call).thread(call.user, call.room, root, q.before, q.limit)
    return json_response(200, ThreadPage(call.room, found.root, found.events, found.has_more))


def _path_seq(call: Call, name: str = "seq") -> int:
    try:
        return msgspec.convert(call.request.match_info[name], Seq, strict=False)
    except msgspec.ValidationError as exc:
        raise BadRequest(f"the {name} in the path: {exc}") from None


async def edit_message(call: Call) -> web.Response:
    seq = _path_seq(call)
    changed = await _actions(call).edit(call.user, call.room, seq, call.body.body)
    return json_response(200, changed.message)


async def delete_message(call: Call) -> web.Response:
    changed = await _actions(call).delete(call.user, call.room, _path_seq(call))
    return json_response(200, changed.message)


def _path_emoji(call: Call) -> str:
    emoji = call.request.match_info["emoji"]  # already percent-decoded
    if not is_emoji(emoji):
        raise BadRequest(f"the emoji in the path: {EMOJI_RULE}")
    return emoji


async def add_reaction(call: Call) -> web.Response:
    seq, emoji = _path_seq(call), _path_emoji(call)
    changed = await _actions(call).react(call.user, call.room, seq, emoji, True)
    return json_response(200, changed.message)


async def remove_reaction(call: Call) -> web.Response:
    seq, emoji = _path_seq(call), _path_emoji(call)
    changed = await _actions(call).react(call.user, call.room, seq, emoji, False)
    return json_response(200, changed.message)


async def set_role(call: Call) -> web.Response:
    await _actions(call).set_role(call.user, call.room, _path_user(call), call.body.role)
    return json_response(204, None)


async def mark_read(call: Call) -> web.Response:
    marker = await _actions(call).read(call.user, call.room, call.body.seq, None)
    return json_response(200, ReadOut(call.room, marker))


async def kick(call: Call) -> web.Response:
    await _actions(call).kick(call.user, call.room, _path_user(call))
    return json_response(204, None)


async def ban(call: Call) -> web.Response:
    await _actions(call).ban(call.user, call.room, _path_user(call), call.body.reason)
    return json_response(204, None)


async def unban(call: Call) -> web.Response:
    await _actions(call).unban(call.user, call.room, _path_user(call))
    return json_response(204, None)


async def mute(call: Call) -> web.Response:
    await _actions(call).mute(call.user, call.room, _path_user(call), call.body.until)
    return json_response(204, None)


async def unmute(call: Call) -> web.Response:
    await _actions(call).unmute(call.user, call.room, _path_user(call))
    return json_response(204, None)


async def bans(call: Call) -> web.Response:
    found = await _actions(call).bans(call.user, call.room)
    return json_response(200, BanList(room=call.room, bans=found))


async def room_settings(call: Call) -> web.Response:
    body = call.body
    await _actions(call).room_settings(
        call.user, call.room, body.topic, body.private, body.title, body.retention_days
    )
    return json_response(204, None)


async def audit(call: Call) -> web.Response:
    entries = await _actions(call).audit(call.user, call.body.before, call.body.limit)
    return json_response(200, AuditPage(entries))


async def list_accounts(call: Call) -> web.Response:
    after = call.body.after.lower() if call.body.after is not None else None
    found = await _actions(call).accounts(call.user, after, call.body.limit)
    return json_response(200, AccountsPage(found))


async def set_server_role(call: Call) -> web.Response:
    changed = await _actions(call).set_server_role(call.user, _path_user(call), call.body.role)
    return json_response(200, changed)


async def deactivate(call: Call) -> web.Response:
    changed = await _actions(call).set_deactivated(call.user, _path_user(call), True)
    return json_response(200, changed)


async def reactivate(call: Call) -> web.Response:
    changed = await _actions(call).set_deactivated(call.user, _path_user(call), False)
    return json_response(200, changed)


async def create_bot(call: Call) -> web.Response:
    name = call.body.name.lower()
    token = await _actions(call).create_bot(call.user, name)
    return json_response(201, BotCreated(name, token))


async def list_bots(call: Call) -> web.Response:
    return json_response(200, BotList(await _actions(call).bots(call.user)))


async def delete_bot(call: Call) -> web.Response:
    await _actions(call).delete_bot(call.user, _path_user(call))
    return json_response(204, None)


async def create_webhook(call: Call) -> web.Response:
    hook, secret = await _actions(call).create_webhook(call.user, call.room, call.body.name)
    request = call.request
    url = f"{request_scheme(request)}://{request.host}{webhooks.PATH}/{hook.id}/{secret}"
    created = WebhookCreated(hook.id, hook.name, hook.room, hook.username, url, secret)
    return json_response(201, created)


async def list_webhooks(call: Call) -> web.Response:
    found = await _actions(call).webhooks(call.user, call.room)
    return json_response(200, WebhookList(call.room, found))


async def revoke_webhook(call: Call) -> web.Response:
    hook_id = call.request.match_info["hook"]
    await _actions(call).revoke_webhook(call.user, call.room, hook_id)
    return json_response(204, None)


async def post_to_webhook(call: Call) -> web.Response:
    """Slack's incoming webhook: the secret in the path is the credential (no token, no
    cookie, so no Origin to check); ``ok`` as text, as Slack answers."""
    match = call.request.match_info
    key = call.request.headers.get("Idempotency-Key")
    await _actions(call).post_to_webhook(match["hook"], match["secret"], call.body.text, key)
    return web.Response(status=200, text="ok", content_type="text/plain")


async def create_outgoing_webhook(call: Call) -> web.Response:
    body = call.body
    hook, secret = await _actions(call).create_outgoing_webhook(
        call.user, call.room, body.name, body.url, body.trigger, body.words
    )
    return json_response(201, OutgoingWebhookCreated(hook, secret))


async def list_outgoing_webhooks(call: Call) -> web.Response:
    found = await _actions(call).outgoing_webhooks(call.user, call.room)
    hooks = [OutgoingWebhookOut(hook, last) for hook, last in found]
    return json_response(200, OutgoingWebhookList(call.room, hooks))


async def revoke_outgoing_webhook(call: Call) -> web.Response:
    hook_id = call.request.match_info["hook"]
    await _actions(call).revoke_outgoing_webhook(call.user, call.room, hook_id)
    return json_response(204, None)


async def outgoing_deliveries(call: Call) -> web.Response:
    hook_id = call.request.match_info["hook"]
    found = await _actions(call).outgoing_deliveries(call.user, call.room, hook_id)
    return json_response(200, DeliveryList(hook_id, found))


def _actions(call: Call) -> Actions:
    return state_of(call.request).node.actions


ROOM = PREFIX + "/rooms/{room}"
FILE = PREFIX + "/files/{file}"  # routes in this order: /thumb before any /{name}
ACCOUNT = PREFIX + "/admin/users/{user}"
ENDPOINTS = [
    Endpoint(
        "POST",
        PREFIX + "/register",
        "Create an account and sign in (as the registration mode allows)",
        register,
        body=NewAccount,
        response=SessionOut,
        status=201,
        auth=False,
        sets_cookie=True,
    ),
    Endpoint(
        "POST",
        PREFIX + "/login",
        "Sign in",
        login,
        body=Credentials,
        response=SessionOut,
        auth=False,
        sets_cookie=True,
    ),
    Endpoint(
        "POST",
        PREFIX + "/logout",
        "Revoke this session's token",
        logout,
        status=204,
        auth=False,
        sets_cookie=True,
    ),
    Endpoint("GET", PREFIX + "/me", "The signed-in user", me, response=MeOut),
    Endpoint(
        "PATCH",
        PREFIX + "/me",
        'Change your display name or status (each given; "" clears it), or your DM policy',
        change_profile,
        body=ProfileChange,
        response=Profile,
    ),
    Endpoint(
        "POST",
        PREFIX + "/me/password",
        "Change your password, the old one proven; optionally sign out everywhere else",
        change_password,
        body=PasswordChange,
        status=204,
    ),
    Endpoint("GET", PREFIX + "/users/{user}", "A user's profile", user_profile, response=Profile),
    Endpoint(
        "GET", PREFIX + "/me/blocks", "The users you block (private)", blocks, response=BlockList
    ),
    Endpoint(
        "PUT",
        PREFIX + "/me/blocks/{user}",
        "Block a user: no new DM room, DM message nor invitation from them (idempotent)",
        block,
        status=204,
    ),
    Endpoint(
        "DELETE", PREFIX + "/me/blocks/{user}", "Unblock a user (idempotent)", unblock, status=204
    ),
    Endpoint(
        "GET",
        PREFIX + "/invitations",
        "Your pending invitations, oldest first",
        invitations,
        response=InvitationList,
    ),
    Endpoint(
        "POST",
        PREFIX + "/invitations/{room}/accept",
        "Accept a pending invitation: join its room",
        accept_invitation,
        response=RoomInfo,
    ),
    Endpoint(
        "POST",
        PREFIX + "/invitations/{room}/decline",
        "Decline a pending invitation (nobody is told)",
        decline_invitation,
        status=204,
    ),
    Endpoint(
        "PUT",
        PREFIX + "/me/avatar",
        "Make an image (PNG, JPEG, GIF or WebP; at most 5 MiB) your avatar",
        put_avatar,
        response=Profile,
        raw_body="application/octet-stream",
    ),
    Endpoint(
        "DELETE", PREFIX + "/me/avatar", "Remove your avatar", delete_avatar, response=Profile
    ),
    Endpoint(
        "GET",
        PREFIX + "/users/{user}/avatar",
        "A user's avatar: WebP, within 128x128 (add ?v=<the profile's avatar> to cache it)",
        get_avatar,
        raw_response="image/webp",
    ),
    Endpoint("GET", PREFIX + "/rooms", "The rooms you are in", my_rooms, response=RoomList),
    Endpoint(
        "GET",
        PREFIX + "/search",
        "Messages holding the query in the rooms you are in (or one of them), newest first",
        search,
        query=SearchParams,
        response=SearchResults,
    ),
    Endpoint(
        "POST",
        PREFIX + "/rooms",
        "Create a room",
        create_room,
        body=NewRoom,
        response=RoomInfo,
        status=201,
    ),
    Endpoint(
        "GET", PREFIX + "/directory", "Public rooms anyone may join", directory, response=Directory
    ),
    Endpoint(
        "POST",
        PREFIX + "/dm",
        "Open the direct-message room with a user",
        open_dm,
        body=UserRef,
        response=RoomInfo,
    ),
    Endpoint("POST", ROOM + "/join", "Join a public room", join_room, response=RoomInfo),
    Endpoint("POST", ROOM + "/leave", "Leave a room", leave_room, status=204),
    Endpoint(
        "POST",
        ROOM + "/invite",
        "Invite a user to a room you are in: pending until they accept it",
        invite,
        body=UserRef,
        status=204,
    ),
    Endpoint(
        "GET", ROOM + "/members", "Members of a room you are in", members, response=MemberList
    ),
    Endpoint(
        "GET",
        ROOM + "/messages",
        "A page of the room's events, oldest first",
        history,
        query=HistoryQuery,
        response=HistoryPage,
    ),
    Endpoint(
        "GET",
        ROOM + "/threads/{root}",
        "A page of the replies in the thread of the message root, oldest first",
        thread,
        query=ThreadQuery,
        response=ThreadPage,
    ),
    Endpoint(
        "POST",
        ROOM + "/messages",
        "Post a message or, with reply_to, a reply (idempotent by client_msg_id)",
        post_message,
        body=NewMessage,
        response=SentOut,
        status=201,
        repeat_status=200,  # the client_msg_id sent before: its message, not a new one
    ),
    Endpoint(
        "PATCH",
        ROOM + "/messages/{seq}",
        "Edit your message (the same body again changes nothing)",
        edit_message,
        body=NewBody,
        response=Message,
    ),
    Endpoint(
        "DELETE",
        ROOM + "/messages/{seq}",
        "Delete a message: yours, or any as the room's owner or an admin (idempotent)",
        delete_message,
        response=Message,
    ),
    Endpoint(
        "PUT",
        ROOM + "/messages/{seq}/reactions/{emoji}",
        "React to a message with an emoji, URL-encoded in the path (idempotent)",
        add_reaction,
        response=Message,
    ),
    Endpoint(
        "DELETE",
        ROOM + "/messages/{seq}/reactions/{emoji}",
        "Take back your reaction (idempotent)",
        remove_reaction,
        response=Message,
    ),
    Endpoint(
        "PUT",
        ROOM + "/roles/{user}",
        "Make a member an admin or a member again (the room's owner only)",
        set_role,
        body=NewRole,
        status=204,
    ),
    Endpoint(
        "DELETE",
        ROOM + "/members/{user}",
        "Kick a member (the room's owner, an admin, or a server admin)",
        kick,
        status=204,
    ),
    Endpoint(
        "PUT",
        ROOM + "/bans/{user}",
        "Ban a user from the room: removed, and kept out until unbanned",
        ban,
        body=BanIn,
        status=204,
    ),
    Endpoint("DELETE", ROOM + "/bans/{user}", "Lift a ban", unban, status=204),
    Endpoint(
        "GET",
        ROOM + "/bans",
        "The bans in force, newest first (the room's owner, an admin, or a server admin)",
        bans,
        response=BanList,
    ),
    Endpoint(
        "PUT",
        ROOM + "/mutes/{user}",
        "Mute a member: no messages nor reactions until the time given, or until unmuted",
        mute,
        body=MuteIn,
        status=204,
    ),
    Endpoint("DELETE", ROOM + "/mutes/{user}", "Lift a mute", unmute, status=204),
    Endpoint(
        "PATCH",
        ROOM,
        "Change the room's topic, title or retention, or make it public or private",
        room_settings,
        body=RoomSettingsIn,
        status=204,
    ),
    Endpoint(
        "GET",
        PREFIX + "/admin/audit",
        "The audit log of moderation and of server changes, newest first (server admins only)",
        audit,
        query=AuditQuery,
        response=AuditPage,
    ),
    Endpoint(
        "GET",
        PREFIX + "/registration",
        "What a sign-up needs now: open, closed or invite (a code)",
        settings_api.registration,
        response=settings_api.RegistrationOut,
        auth=False,
    ),
    Endpoint(
        "GET",
        PREFIX + "/admin/settings",
        "The registration mode and guests: in force, configured, set (server admins only)",
        settings_api.get_settings,
        response=settings_api.SettingsOut,
    ),
    Endpoint(
        "PATCH",
        PREFIX + "/admin/settings",
        "Set the registration mode or guests on or off; null clears (server admins only)",
        settings_api.change_settings,
        body=Changes,
        response=settings_api.SettingsOut,
    ),
    Endpoint(
        "POST",
        PREFIX + "/admin/invites",
        "Create an invite link; its code is shown this once (server admins only)",
        settings_api.create_invite,
        body=settings_api.InviteIn,
        response=settings_api.InviteOut,
        status=201,
    ),
    Endpoint(
        "GET",
        PREFIX + "/admin/invites",
        "The invite links, newest first, without codes (server admins only)",
        settings_api.invites,
        response=settings_api.InviteList,
    ),
    Endpoint(
        "DELETE",
        PREFIX + "/admin/invites/{id}",
        "Revoke an invite link (server admins only)",
        settings_api.revoke_invite,
        status=204,
    ),
    Endpoint(
        "GET",
        PREFIX + "/admin/guest-bans",
        "The addresses and networks banned from connecting as guests (server admins only)",
        settings_api.guest_bans,
        response=settings_api.GuestBanList,
    ),
    Endpoint(
        "POST",
        PREFIX + "/admin/guest-bans",
        "Ban an address or network from connecting as a guest (server admins only)",
        settings_api.ban_guests,
        body=settings_api.GuestBanIn,
        response=settings_api.GuestBan,
        status=201,
    ),
    Endpoint(
        "DELETE",
        PREFIX + "/admin/guest-bans/{address}",
        "Lift a guest ban; a network's / is written %2F (server admins only)",
        settings_api.unban_guests,
        status=204,
    ),
    Endpoint(
        "GET",
        ACCOUNT.removesuffix("/{user}"),
        "The accounts, by username (server admins only)",
        list_accounts,
        query=AccountsQuery,
        response=AccountsPage,
    ),
    Endpoint(
        "POST",
        ACCOUNT + "/role",
        "Make a user a server admin or a member (server admins only)",
        set_server_role,
        body=ServerRoleChange,
        response=Account,
    ),
    Endpoint(
        "POST",
        ACCOUNT + "/deactivate",
        "Deactivate an account: its tokens are revoked, its sessions closed (server admins only)",
        deactivate,
        response=Account,
    ),
    Endpoint(
        "POST",
        ACCOUNT + "/reactivate",
        "Let a deactivated account sign in again (server admins only)",
        reactivate,
        response=Account,
    ),
    Endpoint(
        "POST",
        PREFIX + "/bots",
        "Create a bot account: its token, shown once (server admins, or anyone if allowed)",
        create_bot,
        body=NewBot,
        response=BotCreated,
        status=201,
    ),
    Endpoint(
        "GET",
        PREFIX + "/bots",
        "The bots you made (server admins: everyone's)",
        list_bots,
        response=BotList,
    ),
    Endpoint(
        "DELETE",
        PREFIX + "/bots/{user}",
        "Deactivate a bot you made (server admins: any bot): its token is revoked",
        delete_bot,
        status=204,
    ),
    Endpoint(
        "POST",
        ROOM + "/webhooks",
        "Create an incoming webhook of a room you are in: its URL and secret, shown once",
        create_webhook,
        body=NewWebhook,
        response=WebhookCreated,
        status=201,
    ),
    Endpoint(
        "GET",
        ROOM + "/webhooks",
        "The room's incoming webhooks (members; no secrets)",
        list_webhooks,
        response=WebhookList,
    ),
    Endpoint(
        "DELETE",
        ROOM + "/webhooks/{hook}",
        "Revoke a webhook (its creator, the room's owner and admins, server admins)",
        revoke_webhook,
        status=204,
    ),
    Endpoint(
        "POST",
        ROOM + "/outgoing-webhooks",
        "Create an outgoing webhook (the room's owner and admins, server admins): new messages"
        " are POSTed, signed, to its URL; its secret is shown once",
        create_outgoing_webhook,
        body=NewOutgoingWebhook,
        response=OutgoingWebhookCreated,
        status=201,
    ),
    Endpoint(
        "GET",
        ROOM + "/outgoing-webhooks",
        "The room's outgoing webhooks and the last delivery of each (the room's owner and"
        " admins, server admins; no secrets)",
        list_outgoing_webhooks,
        response=OutgoingWebhookList,
    ),
    Endpoint(
        "DELETE",
        ROOM + "/outgoing-webhooks/{hook}",
        "Revoke an outgoing webhook (its creator, the room's owner and admins, server admins)",
        revoke_outgoing_webhook,
        status=204,
    ),
    Endpoint(
        "GET",
        ROOM + "/outgoing-webhooks/{hook}/deliveries",
        "An outgoing webhook's last 50 deliveries, newest first (those who may revoke it)",
        outgoing_deliveries,
        response=DeliveryList,
    ),
    Endpoint(
        "POST",
        webhooks.PATH + "/{hook}/{secret}",
        "Post to a webhook's room: Slack's payload, {\"text\": …}; other fields ignored;"
        " an Idempotency-Key header stores a retried post once; answers `ok`",
        post_to_webhook,
        body=Payload,
        auth=False,
        raw_response="text/plain",
    ),
    Endpoint(
        "POST",
        ROOM + "/read",
        "Move your read marker",
        mark_read,
        body=ReadMarker,
        response=ReadOut,
    ),
    Endpoint(
        "POST",
        ROOM + "/files",
        "Upload a file to a room you are in: the body is its bytes; pending until sent",
        files_api.upload,
        query=UploadQuery,
        response=FileInfo,
        status=201,
        raw_body="application/octet-stream",
    ),
    Endpoint(
        "GET",
        FILE + "/thumb",
        "The thumbnail of an image file (WebP)",
        files_api.download_thumb,
        raw_response="image/webp",
    ),
    Endpoint(
        "GET",
        FILE,
        "A file: yours while pending, then its room's members' (Range requests allowed)",
        files_api.download,
        raw_response="application/octet-stream",
    ),
    Endpoint(
        "GET",
        FILE + "/{name}",
        "The same file, under a name of your choice for a nicer URL",
        files_api.download_named,
        raw_response="application/octet-stream",
    ),
]


def add_routes(app: web.Application) -> None:
    for endpoint in ENDPOINTS:
        app.router.add_route(endpoint.method, endpoint.path, _route(endpoint))


def error_body(exc: HubbubError) -> ErrorOut:
    retry_after = getattr(exc, "retry_after", None)
    return ErrorOut(exc.code, exc.message, round(retry_after, 3) if retry_after else None)
