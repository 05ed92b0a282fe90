"""The seed's plain-text protocol: ``start_<name>`` names a guest, any other frame is chat.

Pure rules: what a guest's text frame is, and what guests are shown of a room event. The
relaying lives with the guests' connections (``transport.connection``).
"""

from __future__ import annotations

from dataclasses import dataclass

from hubbub.core.events import Event, Message
from hubbub.core.models import LOBBY
from hubbub.protocol.limits import MAX_GUEST_NAME

START_PREFIX = "start_"
ANONYMOUS = "anonymous"


@dataclass(frozen=True, slots=True)
class StartName:
    """``start_<name>``: relayed verbatim to the other plain clients, never stored."""

    name: str


@dataclass(frozen=True, slots=True)
class Chat:
    """Any other text: stored in ``lobby`` and relayed verbatim."""

    text: str


def classify(text: str) -> StartName | Chat:
    if text.startswith(START_PREFIX):
        return StartName(guest_name(text[len(START_PREFIX) :]))
    return Chat(text)


def guest_name(raw: str) -> str:
    """A display name for a guest: printable, trimmed, at most ``MAX_GUEST_NAME`` characters."""
    name = "".join(ch for ch in raw if ch.isprintable()).strip()[:MAX_GUEST_NAME]
    return name or ANONYMOUS


def guest_line(event: Event) -> str | None:
    """What guests are shown of a committed event: a message in lobby, as its body alone
    (whoever wrote it); nothing of any other event."""
    if event.room == LOBBY and isinstance(event, Message):
        return event.body
    return None
