"""The broker from a URL: the one place that knows which brokers exist.

- empty (or ``memory:``): the in-process broker of a single node;
- ``redis://[:password@]host[:port][/db]``, ``rediss://…`` (TLS) or ``unix:///path/redis.sock``:
  Redis pub/sub, shared by every node given the same Redis and channel. ``?channel=name``
  picks the channel (``hubbub`` by default), so that separate deployments can share a Redis.
"""

from __future__ import annotations

from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from redis.connection import parse_url

from hubbub.broker.base import Broker
from hubbub.broker.memory import MemoryBroker
from hubbub.broker.redis import DEFAULT_CHANNEL, RedisBroker

EXAMPLE = "redis://127.0.0.1:6379/0"
REDIS_SCHEMES = ("redis", "rediss", "unix")


class BrokerURLError(ValueError):
    """A broker URL that cannot be used; the message never repeats the URL (a password)."""


def build_broker(url: str) -> Broker:
    """The broker that ``url`` names, built but not opened."""
    if _is_memory(url):
        return MemoryBroker()
    redis_url, channel = _redis(url)
    return RedisBroker(redis_url, channel=channel)


def check_url(url: str) -> None:
    """``BrokerURLError`` unless ``url`` names a broker this server can use."""
    if not _is_memory(url):
        _redis(url)


def _is_memory(url: str) -> bool:
    return url in ("", "memory", "memory:")


def _redis(url: str) -> tuple[str, str]:
    """The URL for redis-py, without ``channel``, and the channel."""
    parts = urlsplit(url)
    if parts.scheme not in REDIS_SCHEMES:
        shown = f"{parts.scheme}:" if parts.scheme else "no scheme"
        raise BrokerURLError(f"must be a broker URL such as {EXAMPLE}, not one with {shown}")
    query = parse_qsl(parts.query, keep_blank_values=True)
    channels = [value for key, value in query if key == "channel"]
    channel = channels[-1] if channels else DEFAULT_CHANNEL
    if not channel:
        raise BrokerURLError("has an empty channel")
    rest = urlencode([(key, value) for key, value in query if key != "channel"])
    redis_url = urlunsplit(parts._replace(query=rest))
    try:
        parse_url(redis_url)  # type: ignore[no-untyped-call]
    except ValueError as exc:
        # redis-py's messages name an option or the scheme, never the password.
        raise BrokerURLError(f"is not a usable Redis URL: {exc}") from None
    return redis_url, channel
