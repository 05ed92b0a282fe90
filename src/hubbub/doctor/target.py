"""The deployment the doctor looks at, from the URL people open in their browser. Pure."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

_SCHEMES = {"http": "http", "https": "https", "ws": "http", "wss": "https"}


class BadTarget(ValueError):
    """A URL the doctor cannot check; the message is one line for the operator."""


@dataclass(frozen=True)
class Target:
    scheme: str  # http or https
    host: str  # as in the URL (an IPv6 address without brackets)
    port: int
    explicit_port: bool  # the URL names its port: the Host header carries it

    @property
    def https(self) -> bool:
        return self.scheme == "https"

    @property
    def netloc(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}" if self.explicit_port else host

    @property
    def origin(self) -> str:
        """The origin of the page a browser shows: what it sends as ``Origin``."""
        return f"{self.scheme}://{self.netloc}"

    @property
    def http_url(self) -> str:
        return self.origin

    @property
    def ws_url(self) -> str:
        """Where the browser client opens its WebSocket: ``/`` of the page's host."""
        return f"{'wss' if self.https else 'ws'}://{self.netloc}/"


def parse_target(url: str) -> Target:
    """The deployment at ``url`` (``https://chat.example.org``; ws:// and wss:// are taken
    as http:// and https://). hubbub is served at the root of its host, so a path is refused."""
    parts = urlsplit(url.strip())
    scheme = _SCHEMES.get(parts.scheme.lower())
    if scheme is None:
        raise BadTarget(f"{url!r} is no http:// or https:// URL")
    if not parts.hostname:
        raise BadTarget(f"{url!r} names no host")
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        raise BadTarget(
            f"{url!r} has a path: hubbub is served at the root of its host, give that URL"
        )
    if parts.username or parts.password:
        raise BadTarget(f"{url!r} holds credentials: give them with --user or --token-stdin")
    try:
        port = parts.port
    except ValueError:
        raise BadTarget(f"{url!r} has a bad port") from None
    default = 443 if scheme == "https" else 80
    return Target(scheme, parts.hostname, port or default, port is not None and port != default)
