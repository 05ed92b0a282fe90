"""A connection as the service layer sees it: where its messages go, and the rooms it follows.

The service layer hands connections ``Encoded`` messages: JSON (or, for the seed's guests,
raw) bytes made once per event per node. How they become WebSocket frames is the transport's
business; it frames each message once and keeps the frame in the message, so every
connection sends the same bytes.
"""

from __future__ import annotations

import itertools
from typing import TYPE_CHECKING, Protocol

import msgspec

from hubbub.protocol.messages import encode

if TYPE_CHECKING:
    from hubbub.service.resume import Feed


class Encoded:
    """One outgoing message, encoded once, for any number of connections.

    ``frame`` belongs to the transport: it caches there the frame it made of ``data`` the
    first time it sends the message.
    """

    __slots__ = ("binary", "data", "frame")

    def __init__(self, data: bytes, binary: bool = False) -> None:
        self.data = data
        self.binary = binary  # raw bytes (a guest's binary frame) rather than JSON text
        self.frame: bytes | None = None


class Outlet(Protocol):
    """Where a connection's messages go. Never blocks; over its bound it disconnects."""

    def send(self, message: Encoded) -> None: ...

    def close(self, code: int, reason: str = "") -> None:
        """Send what is queued, then a close frame; nothing more goes out."""


# Ids of this node's connections (sessions and guests), to leave one out of a notice.
connection_ids = itertools.count(1)


class Session:
    """An authenticated hubbub.v1 connection, and the hash of the token it showed (revoking
    the token ends the session)."""

    __slots__ = ("feeds", "id", "outlet", "synced", "token_hash", "user")

    def __init__(self, user: str, outlet: Outlet, token_hash: bytes) -> None:
        self.id = next(connection_ids)
        self.user = user
        self.outlet = outlet
        self.token_hash = token_hash
        self.feeds: dict[str, Feed] = {}  # the rooms it follows (see ``resume``)
        self.synced = False  # has asked for room events with `sync`

    def send(self, reply: msgspec.Struct) -> None:
        self.outlet.send(Encoded(encode(reply)))
