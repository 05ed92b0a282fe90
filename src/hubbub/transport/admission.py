"""Who may open another WebSocket: a cap for the whole server and caps per client address.

Pure counting, no I/O. Plain-text guests and ``hubbub.v1`` sockets that have not signed in
yet share one cap per address; signed-in sockets have their own, larger one, so a crowd of
anonymous sockets from an address cannot keep its signed-in users out. A socket's ``Place``
says where it is counted; releasing it returns ``Place.NONE``, so a place kept by its
socket is given back exactly once, however many times the socket releases it.
"""

from __future__ import annotations

import enum


class Place(enum.Enum):
    NONE = "none"  # not counted: never admitted, or released
    GUEST = "guest"  # a guest, or a hubbub.v1 socket not signed in yet
    USER = "user"  # a signed-in hubbub.v1 socket


class CapReached(Exception):
    """No room for another socket; ``server_wide`` tells which cap was reached."""

    def __init__(self, message: str, *, server_wide: bool) -> None:
        super().__init__(message)
        self.message = message
        self.server_wide = server_wide


class Admission:
    """The open WebSockets, counted in all and per address (guests and signed-in apart)."""

    def __init__(
        self, max_total: int, max_users_per_address: int, max_guests_per_address: int
    ) -> None:
        self.max_total = max_total
        self.max_users = max_users_per_address
        self.max_guests = max_guests_per_address
        self.total = 0
        self.guests: dict[str, int] = {}  # address → guests and sockets not signed in yet
        self.users: dict[str, int] = {}  # address → signed-in sockets

    def admit(self, address: str) -> Place:
        """A guest's place for a new socket from ``address``; or ``CapReached``."""
        if self.total >= self.max_total:
            raise CapReached("the server has too many connections", server_wide=True)
        if self.guests.get(address, 0) >= self.max_guests:
            raise CapReached("too many connections from this address", server_wide=False)
        self.total += 1
        _add(self.guests, address, 1)
        return Place.GUEST

    def sign_in(self, address: str, place: Place) -> Place | None:
        """The place of a socket that signs in: a user's, or None past the address's cap
        (then nothing moves). Any place but a guest's stays as it is."""
        if place is not Place.GUEST:
            return place
        if self.users.get(address, 0) >= self.max_users:
            return None
        _add(self.guests, address, -1)
        _add(self.users, address, 1)
        return Place.USER

    def release(self, address: str, place: Place) -> Place:
        """Give the place back; the socket keeps the ``Place.NONE`` returned."""
        if place is not Place.NONE:
            self.total -= 1
            _add(self.users if place is Place.USER else self.guests, address, -1)
        return Place.NONE


def _add(counts: dict[str, int], address: str, delta: int) -> None:
    """Change a count; an address whose count reaches zero is forgotten."""
    count = counts.get(address, 0) + delta
    if count:
        counts[address] = count
    else:
        counts.pop(address, None)
