"""Who may create an account, and which guests may connect. Pure: no I/O.

The registration mode and whether guests are on come from the config at startup; a value a
server admin sets at run time (kept in storage) wins over it until cleared. The first
account of an empty server can always be created, whatever the mode, so that its operator
gets in. An invitation's code lets its holder register in any mode.
"""

from __future__ import annotations

import enum
import ipaddress
from collections.abc import Iterable, Sequence
from typing import Annotated, Any

import msgspec

from hubbub.core.moderation import AuditEntry


class Mode(enum.StrEnum):
    OPEN = "open"  # anyone may register
    CLOSED = "closed"  # nobody (but the first account, and holders of an invitation)
    INVITE = "invite"  # with an invitation's code only


MODES = tuple(mode.value for mode in Mode)

CLOSED = "registration is closed on this server"
INVITE_NEEDED = "an invitation is needed to register on this server"
# One answer for a code that is unknown, expired, revoked or used up: it tells nothing.
BAD_INVITE = "this invitation is not valid"
GUESTS_OFF = "guests are turned off on this server"
GUEST_BANNED = "guests from this address are not allowed on this server"
ADMIN_ONLY = "only server admins can see or change the server's settings"
TOO_MANY_INVITES = "too many live invite links: revoke some first"
TOO_MANY_GUEST_BANS = "too many guest bans: lift some first"

# Invitations: at most this many live at once, each for at most 30 days and 1000 uses.
MAX_INVITES = 100
MIN_INVITE_SECONDS, MAX_INVITE_SECONDS = 60, 30 * 86_400
MAX_INVITE_USES = 1000
MAX_GUEST_BANS = 1000
MAX_INVITE_CODE_CHARS = 64

InviteSeconds = Annotated[int, msgspec.Meta(ge=MIN_INVITE_SECONDS, le=MAX_INVITE_SECONDS)]
InviteUses = Annotated[int, msgspec.Meta(ge=1, le=MAX_INVITE_USES)]
InviteCode = Annotated[str, msgspec.Meta(min_length=1, max_length=MAX_INVITE_CODE_CHARS)]
# An address (IPv4 or IPv6) or a network in CIDR form; checked by ``guest_network``.
GuestAddress = Annotated[str, msgspec.Meta(min_length=1, max_length=64)]


class Stored(msgspec.Struct, frozen=True):
    """What storage keeps: a run-time value of each setting (None: the config's), the guest
    bans, and a version that every change of any of them moves."""

    registration: Mode | None = None
    guests: bool | None = None
    guest_bans: tuple[str, ...] = ()
    version: int = 0


class Changes(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """The settings to change: each one given is set, or with null cleared (the config's
    value holds again); one left out is unchanged."""

    registration: Mode | msgspec.UnsetType | None = msgspec.UNSET
    guests: bool | msgspec.UnsetType | None = msgspec.UNSET


class Policy(msgspec.Struct, frozen=True):
    """The settings in force on a node."""

    registration: Mode
    guests: bool
    guest_bans: tuple[str, ...]


def policy(config_registration: str, config_guests: bool, stored: Stored) -> Policy:
    """A run-time value wins over the config's."""
    mode = stored.registration or Mode(config_registration)
    guests = config_guests if stored.guests is None else stored.guests
    return Policy(mode, guests, stored.guest_bans)


def refusal(mode: Mode) -> str | None:
    """Why a registration without an invitation is refused in ``mode`` (None: it is not)."""
    if mode is Mode.CLOSED:
        return CLOSED
    if mode is Mode.INVITE:
        return INVITE_NEEDED
    return None


def guest_network(text: str) -> str:
    """The canonical form of a guest ban's address or network (``10.0.0.0/8``,
    ``2001:db8::/32``; a single address is a /32 or /128); ``ValueError`` otherwise."""
    try:
        network = ipaddress.ip_network(text.strip(), strict=False)
    except ValueError:
        raise ValueError(f"{text!r} is no IP address or network (such as 10.0.0.0/8)") from None
    return str(network)


class GuestBans:
    """Whether a guest's address falls in a banned network."""

    def __init__(self, entries: Iterable[str]) -> None:
        self._networks = [ipaddress.ip_network(entry) for entry in entries]

    def __bool__(self) -> bool:
        return bool(self._networks)

    def bans(self, address: str) -> bool:
        if not self._networks:
            return False
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return False
        if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
            ip = ip.ipv4_mapped  # ::ffff:10.1.2.3 is 10.1.2.3
        return any(ip.version == net.version and ip in net for net in self._networks)


class Invite(msgspec.Struct, frozen=True, kw_only=True):
    """An invitation as listed: never with its code, which only its creation shows."""

    id: str
    created_by: str
    created_at: int  # ms since the epoch
    expires_at: int  # ms since the epoch
    max_uses: int | None  # None: any number until it expires
    uses: int


# The columns of an invite link's row, in the order of ``Invite``'s fields.
INVITE_COLUMNS = "id, created_by, created_at, expires_at, max_uses, uses"


def invite_of(row: Sequence[Any]) -> Invite:
    """An invite link from its row (``INVITE_COLUMNS``), on either engine."""
    id_, created_by, created_at, expires_at, max_uses, uses = row
    return Invite(
        id=str(id_),
        created_by=str(created_by),
        created_at=int(created_at),
        expires_at=int(expires_at),
        max_uses=None if max_uses is None else int(max_uses),
        uses=int(uses),
    )


def no_invite(invite_id: str) -> str:
    return f"no invite link {invite_id!r}"


def no_guest_ban(network: str) -> str:
    return f"{network} is not banned"


def live(invite: Invite, now: int) -> bool:
    """Whether ``invite`` still lets someone register at ``now``."""
    unused = invite.max_uses is None or invite.uses < invite.max_uses
    return unused and now < invite.expires_at


def changed_entries(actor: str, now: int, changes: Changes) -> list[AuditEntry]:
    """The audit entries of a settings change (room "": it is server-wide); a cleared
    setting's detail is ``default`` (the config's value holds)."""
    entries = []
    if changes.registration is not msgspec.UNSET:
        detail = "default" if changes.registration is None else str(changes.registration)
        entries.append(_entry(now, actor, "registration", None, detail))
    if changes.guests is not msgspec.UNSET:
        guests = changes.guests
        detail = "default" if guests is None else ("on" if guests else "off")
        entries.append(_entry(now, actor, "guests", None, detail))
    return entries


def invite_entry(invite: Invite) -> AuditEntry:
    uses = "any" if invite.max_uses is None else str(invite.max_uses)
    detail = f"expires_at={invite.expires_at} max_uses={uses}"
    return _entry(invite.created_at, invite.created_by, "invite_create", invite.id, detail)


def revoke_entry(invite_id: str, actor: str, now: int) -> AuditEntry:
    return _entry(now, actor, "invite_revoke", invite_id, "")


def guest_ban_entry(network: str, actor: str, now: int, banned: bool) -> AuditEntry:
    return _entry(now, actor, "guest_ban" if banned else "guest_unban", network, "")


def _entry(ts: int, actor: str, action: str, target: str | None, detail: str) -> AuditEntry:
    return AuditEntry(
        id=0, ts=ts, actor=actor, action=action, room="", target=target, detail=detail
    )
