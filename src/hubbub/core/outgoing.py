"""Outgoing webhooks: a room's new messages POSTed to a URL outside. No I/O.

Each hook has its own bot account (``hook-<id>``, as incoming webhooks have), a member of the
room: a ``mention`` hook fires on messages that mention it, and a receiver's reply is posted
back as it. A hook fires on ``all`` new messages, on those that ``mention`` its bot, or on
those whose first word is one of its trigger ``words``; never on a bot's message (no loops).
Its secret signs every delivery (HMAC-SHA256 of ``<timestamp>.<body>``), so storage keeps it
in the clear. Making one copies the room's messages to a third party: only those who run
the room (its owner and admins) and server admins may.

Where a hook may point is checked here too: a URL that is http(s), and addresses that are
public (``forbidden_address``), so that nobody makes the server call into its own network.
"""

from __future__ import annotations

import enum
import hashlib
import hmac
import ipaddress
from urllib.parse import urlsplit

import msgspec

MAX_PER_ROOM = 10  # live outgoing webhooks of one room
MAX_URL_CHARS = 2048
MAX_WORDS = 10  # trigger words of one hook
MAX_WORD_CHARS = 32
KEPT_DELIVERIES = 50  # delivery records kept per hook, the newest
QUEUE_BOUND = 100  # deliveries waiting per hook (on each node); more are dropped
MAX_REPLY_BYTES = 64 * 1024  # of a receiver's answer, read at most
MAX_RETRY_DELAY = 60.0  # seconds: the backoff doubles up to this
MAX_ERROR_CHARS = 200  # of a delivery's recorded error
NOT_FOUND = "no such outgoing webhook, or it was revoked"
QUEUE_FULL = "queue full"
RUNNERS_ONLY = (
    "only the room's owner and admins, and server admins, can manage its outgoing webhooks"
)
SIGNATURE_VERSION = "v1"


class Trigger(enum.StrEnum):
    ALL = "all"  # every new message
    MENTION = "mention"  # messages that mention the hook's bot
    WORDS = "words"  # messages whose first word is a trigger word


class OutgoingWebhook(msgspec.Struct, frozen=True, kw_only=True):
    """A live outgoing webhook as those who run its room see it: no secret."""

    id: str
    room: str
    name: str  # 1-64 characters, as a display name: its bot's
    url: str
    trigger: Trigger
    words: tuple[str, ...] = ()  # lowercase; only for ``words``
    username: str  # its bot account: mentioned, and the author of replies
    created_by: str
    created_at: int  # ms since the epoch


class Delivery(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """One message's delivery to a hook, as it ended: never a body, the sent or the read."""

    seq: int  # the message's
    msg_id: str
    attempts: int  # 0: never sent (dropped)
    status: int | None = None  # the receiver's last HTTP status, if it answered
    error: str = ""  # what went wrong, if anything ("" for a 2xx)
    duration_ms: int  # from the first attempt to the end
    at: int  # ms since the epoch, when it ended


class Target(msgspec.Struct, frozen=True):
    """Where a hook's URL points: its scheme, host (no brackets) and port."""

    scheme: str
    host: str
    port: int


def check_url(url: str) -> Target:
    """The target of ``url``, or ``ValueError`` saying what is wrong: an http or https URL
    with a host, no user or password, at most ``MAX_URL_CHARS``."""
    if len(url) > MAX_URL_CHARS:
        raise ValueError(f"a webhook's URL is at most {MAX_URL_CHARS} characters")
    if not url.isascii() or not url.isprintable() or " " in url:
        raise ValueError("a webhook's URL must be ASCII, without spaces (encode it)")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise ValueError("a webhook's URL is not a URL") from None
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise ValueError("a webhook's URL must be http:// or https://")
    if not parts.hostname:
        raise ValueError("a webhook's URL needs a host")
    if parts.username is not None or parts.password is not None:
        raise ValueError("a webhook's URL cannot hold a user or password")
    default = 443 if scheme == "https" else 80
    return Target(scheme, parts.hostname, default if port is None else port)


def address_literal(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """``host`` as an IP address if it is one (else None: a name to resolve)."""
    try:
        return ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        return None


def forbidden_address(address: str | ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    """Whether a hook may not connect to ``address``: loopback, private, link-local,
    multicast, reserved, unspecified or otherwise not global, in IPv4 or IPv6; an IPv6
    address that carries an IPv4 one (mapped, 6to4, Teredo, NAT64) as the IPv4 one. What
    cannot be read as an address is forbidden too."""
    ip = address_literal(address) if isinstance(address, str) else address
    if ip is None:
        return True
    if isinstance(ip, ipaddress.IPv6Address):
        inner = ip.ipv4_mapped or ip.sixtofour or (ip.teredo[1] if ip.teredo else None)
        if inner is None and ip in _NAT64:
            inner = ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
        if inner is not None:
            return forbidden_address(inner)
    return (
        ip.is_loopback
        or ip.is_private
        or ip.is_link_local
        or ip.is_multicast
        or ip.is_reserved
        or ip.is_unspecified
        or not ip.is_global
    )


_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")


def forbidden_target(host: str) -> str:
    return (
        f"a webhook may not point to {host!r}: it is a loopback, private, link-local or"
        " otherwise non-public address"
    )


def checked_words(words: tuple[str, ...] | list[str]) -> tuple[str, ...]:
    """Trigger words as kept: 1-``MAX_WORDS`` words without spaces, each at most
    ``MAX_WORD_CHARS``, lowercase, each once; ``ValueError`` otherwise."""
    if not 1 <= len(words) <= MAX_WORDS:
        raise ValueError(f"a words trigger takes 1-{MAX_WORDS} words")
    kept: dict[str, None] = {}
    for word in words:
        if not word or len(word) > MAX_WORD_CHARS or word.split() != [word]:
            raise ValueError(
                f"a trigger word is 1-{MAX_WORD_CHARS} characters without spaces: {word!r}"
            )
        if not word.isprintable():
            raise ValueError("a trigger word must be printable")
        kept[word.casefold()] = None
    return tuple(kept)


def match(
    hook: OutgoingWebhook, body: str, mentions: tuple[str, ...], from_bot: bool
) -> str | None:
    """Whether a new message fires ``hook``: None if not, else its trigger word as typed
    ("" for the triggers that have none). A bot's message fires nothing."""
    if from_bot:
        return None
    if hook.trigger is Trigger.ALL:
        return ""
    if hook.trigger is Trigger.MENTION:
        return "" if hook.username in mentions else None
    first = body.split(maxsplit=1)
    if first and first[0].casefold() in hook.words:
        return first[0]
    return None


class SentMessage(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    seq: int
    id: str  # the message's msg_id
    user: str
    display_name: str = ""
    body: str
    ts: int
    reply_to: int | None = None
    thread: int | None = None


class Sent(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """The JSON body of a delivery."""

    id: str  # the hook's
    room: str
    message: SentMessage
    trigger_word: str | None = None  # for a ``words`` hook: the word as typed


class Reply(msgspec.Struct):
    """What a receiver may answer (any other field is ignored): ``text`` is posted back."""

    text: str | None = None


def signature(secret: str, timestamp: int, body: bytes) -> str:
    """The ``X-Hubbub-Signature`` of ``body`` sent at ``timestamp`` (unix seconds)."""
    signed = str(timestamp).encode() + b"." + body
    digest = hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
    return f"{SIGNATURE_VERSION}={digest}"


def reply_text(raw: bytes) -> str | None:
    """The text a 2xx answer asks to post: None for an empty or non-JSON-object answer,
    or one without a non-empty ``text``; ``ValueError`` for JSON that is malformed."""
    if not raw.strip():
        return None
    try:
        reply = msgspec.json.decode(raw)
    except msgspec.DecodeError:
        raise ValueError("the reply is not JSON") from None
    if not isinstance(reply, dict):
        return None
    text = reply.get("text")
    if text is None:
        return None
    if not isinstance(text, str):
        raise ValueError("the reply's text is not a string")
    return text if text.strip() else None


def retryable(status: int) -> bool:
    """Whether an answer with ``status`` is tried again: 5xx and 429, not other 4xx."""
    return status >= 500 or status == 429


def backoff(attempt: int, base: float, cap: float = MAX_RETRY_DELAY) -> float:
    """Seconds to wait after failed attempt number ``attempt`` (1, 2, …): base, 2 base, …"""
    return float(min(cap, base * 2 ** (attempt - 1)))


def short_error(text: str) -> str:
    """An error as recorded: one line, bounded."""
    line = " ".join(text.split())
    return line[:MAX_ERROR_CHARS]


def bot_name(hook_id: str) -> str:
    return f"hook-{hook_id}"


def too_many(limit: int) -> str:
    return f"this room has {limit} outgoing webhooks already: revoke one first"
