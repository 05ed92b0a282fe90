"""The HTTP API of registration and guests: the public registration mode, and the server's
settings, invite links and guest bans (its admin only). Rows in ``http_api.ENDPOINTS``."""

from __future__ import annotations

from typing import TYPE_CHECKING

import msgspec
from aiohttp import web

from hubbub.core import registration as reg
from hubbub.errors import BadRequest
from hubbub.service.actions import Actions
from hubbub.transport.context import request_scheme, state_of

if TYPE_CHECKING:
    from hubbub.transport.http_api import Call

INVITE_FRAGMENT = "#invite="  # the sign-up form reads the code from the page's fragment
DEFAULT_INVITE_SECONDS = 7 * 86_400


class RegistrationOut(msgspec.Struct):
    mode: reg.Mode  # what a sign-up needs now: open, closed, or invite (a code)


class SettingValues(msgspec.Struct):
    registration: reg.Mode | None
    guests: bool | None


class SettingsOut(msgspec.Struct):
    registration: reg.Mode  # in force
    guests: bool  # in force
    config: SettingValues  # the config's values: they hold where nothing is set
    set: SettingValues  # what a server admin set at run time (null: nothing)


class InviteIn(msgspec.Struct, forbid_unknown_fields=True):
    expires_in: reg.InviteSeconds = DEFAULT_INVITE_SECONDS  # seconds, 60 to 30 days
    max_uses: reg.InviteUses | None = None  # null: any number until it expires


class InviteOut(msgspec.Struct):
    id: str
    code: str  # shown this once: only its SHA-256 is kept
    url: str  # the sign-up page with the code filled in
    expires_at: int
    max_uses: int | None
    uses: int


class InviteList(msgspec.Struct):
    invites: list[reg.Invite]  # newest first, without their codes


class GuestBanIn(msgspec.Struct, forbid_unknown_fields=True):
    address: reg.GuestAddress  # an IP address or a network (CIDR)


class GuestBan(msgspec.Struct):
    address: str  # the canonical network: 10.1.2.3/32, 2001:db8::/32


class GuestBanList(msgspec.Struct):
    bans: list[str]


def _json(status: int, payload: msgspec.Struct | None) -> web.Response:
    if payload is None:
        return web.Response(status=status)
    body = msgspec.json.encode(payload)
    return web.Response(status=status, body=body, content_type="application/json")


def _actions(call: Call) -> Actions:
    return state_of(call.request).node.actions


def _settings_out(actions: Actions, policy: reg.Policy) -> SettingsOut:
    config, stored = actions.config, actions.settings.stored
    return SettingsOut(
        registration=policy.registration,
        guests=policy.guests,
        config=SettingValues(reg.Mode(config.registration), config.guests),
        set=SettingValues(stored.registration, stored.guests),
    )


async def registration(call: Call) -> web.Response:
    return _json(200, RegistrationOut(await _actions(call).registration()))


async def get_settings(call: Call) -> web.Response:
    actions = _actions(call)
    return _json(200, _settings_out(actions, await actions.server_settings(call.user)))


async def change_settings(call: Call) -> web.Response:
    actions = _actions(call)
    return _json(200, _settings_out(actions, await actions.change_settings(call.user, call.body)))


async def create_invite(call: Call) -> web.Response:
    body = call.body
    invite, code = await _actions(call).create_invite(call.user, body.expires_in, body.max_uses)
    request = call.request
    url = f"{request_scheme(request)}://{request.host}/{INVITE_FRAGMENT}{code}"
    out = InviteOut(invite.id, code, url, invite.expires_at, invite.max_uses, invite.uses)
    return _json(201, out)


async def invites(call: Call) -> web.Response:
    return _json(200, InviteList(await _actions(call).invites(call.user)))


async def revoke_invite(call: Call) -> web.Response:
    invite_id = call.request.match_info["id"]
    if len(invite_id) > 64:
        raise BadRequest("the id in the path is too long")
    await _actions(call).revoke_invite(call.user, invite_id)
    return _json(204, None)


async def guest_bans(call: Call) -> web.Response:
    return _json(200, GuestBanList(list(await _actions(call).guest_bans(call.user))))


async def ban_guests(call: Call) -> web.Response:
    network = await _actions(call).ban_guests(call.user, call.body.address)
    return _json(201, GuestBan(network))


async def unban_guests(call: Call) -> web.Response:
    address = call.request.match_info["address"]  # a network's / encoded as %2F
    if len(address) > 64:
        raise BadRequest("the address in the path is too long")
    await _actions(call).unban_guests(call.user, address)
    return _json(204, None)
