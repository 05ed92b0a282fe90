"""What the client itself adds to the event stream, beside the server's events and notices.
These are not server frames (so ``protocol.messages`` has no type for them): they tell the
application what the client saw across connections."""

from __future__ import annotations

import enum

import msgspec

from hubbub.client.errors import RequestError


class ConnectionState(enum.StrEnum):
    CONNECTING = "connecting"  # the first connection is being made
    CONNECTED = "connected"  # signed in and resumed: events flow, requests go out
    RECONNECTING = "reconnecting"  # the connection was lost; waiting or trying again
    CLOSED = "closed"  # closed by the application, or stopped for good


class Gap(msgspec.Struct, frozen=True, kw_only=True):
    """Events of ``room`` up to ``last_seq`` were not delivered and will not be: the server
    could not replay them (more than its replay bound, or resume was cut short). Events
    after ``last_seq`` follow as usual; load the newest page with ``history`` to catch up."""

    room: str
    last_seq: int


class Removed(msgspec.Struct, frozen=True, kw_only=True):
    """The user stopped being a member of ``room`` while the client was away (left on
    another device, kicked, banned): the client resumes without it, and the event that
    said so is not the client's to read any more."""

    room: str


class SendFailed(msgspec.Struct, frozen=True, kw_only=True):
    """A message of the outbox that nobody was awaiting was refused for good (``error``) and
    left the outbox: not a member, muted, a body the server refuses …"""

    client_msg_id: str
    room: str
    error: RequestError
