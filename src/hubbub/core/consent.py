"""Who may reach whom: pending invitations, blocks and the direct-message policy. Pure.

An invitation gives nothing until its invitee accepts it. A user who blocks another, or whose
``dm_policy`` leaves another out, refuses that user's new direct-message rooms and
invitations with the same words, so the refused user cannot tell a block from the policy.
"""

from __future__ import annotations

import enum
from typing import NamedTuple

import msgspec

MAX_INVITATIONS_PER_INVITEE = 100  # pending invitations one user can be sent
MAX_INVITATIONS_PER_INVITER = 50  # pending invitations one user can have sent
MAX_BLOCKS = 1000  # users one user can block


class DmPolicy(enum.StrEnum):
    """Who may open a new direct-message room with a user, and invite them to rooms."""

    EVERYONE = "everyone"
    SHARED_ROOMS = "shared_rooms"  # those sharing a room with them
    NOBODY = "nobody"


class Invitation(msgspec.Struct, frozen=True, kw_only=True):
    """A pending invitation as its invitee is shown it: to ``room``, by ``by`` at ``ts``."""

    room: str
    by: str
    ts: int
    private: bool
    topic: str  # "" for none


class Consent(NamedTuple):
    """What decides whether ``other`` may reach a user: the user's policy, whether the user
    blocks ``other``, and whether they share a room."""

    policy: DmPolicy
    blocks: bool
    shares_room: bool


def accepts(consent: Consent) -> bool:
    """Whether a new direct-message room or an invitation from the other user gets through."""
    if consent.blocks:
        return False
    match consent.policy:
        case DmPolicy.EVERYONE:
            return True
        case DmPolicy.SHARED_ROOMS:
            return consent.shares_room
        case DmPolicy.NOBODY:
            return False


def refuses_dms(user: str) -> str:
    return f"{user!r} does not accept direct messages from you"


def refuses_invitations(user: str) -> str:
    return f"{user!r} does not accept invitations from you"


def no_invitation(room: str) -> str:
    """The answer for an invitation that does not exist, whether or not its room does."""
    return f"no invitation to {room!r}"


def too_many_for_invitee(user: str, cap: int) -> str:
    return f"{user!r} has {cap} pending invitations, as many as a user can have"


def too_many_from_inviter(cap: int) -> str:
    return f"you have {cap} pending invitations; wait until some are accepted or declined"


def too_many_blocks(cap: int) -> str:
    return f"you can block at most {cap} users"
