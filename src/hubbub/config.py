"""Server settings: the defaults, then a TOML file (``config_file.py``), then ``HUBBUB_*``
environment variables, then command-line flags, each overriding the one before.

Every source names settings by ``Config``'s field names and goes through one check
(``_problem``); a problem is one line that names the setting as its source spells it (the
file and key, the variable, the flag).
"""

from __future__ import annotations

import dataclasses
import difflib
import math
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, NamedTuple
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from hubbub import config_file
from hubbub.broker import factory as broker_factory
from hubbub.core.registration import MODES
from hubbub.logs import LOG_FORMATS
from hubbub.storage.base import StorageError
from hubbub.storage.factory import check_url, sqlite_url
from hubbub.transport.forwarded import BadProxy, Proxies


class ConfigError(ValueError):
    """A setting that cannot be used; its message is one line for the operator."""


@dataclass(frozen=True, kw_only=True)
class Config:
    host: str = "127.0.0.1"
    port: int = 8001
    data_dir: Path = Path("hubbub-data")  # its lock, and by default the database
    storage_url: str = ""  # empty: sqlite:<data_dir>/hubbub.sqlite3 (see storage/factory.py)
    broker: str = ""  # empty: in-process, one node; redis://… shares it (see broker/factory.py)
    guests: bool = True  # the seed's plain-text clients, as guests in `lobby`
    # Who may create an account: open, closed or invite (a server admin may change it).
    registration: str = "open"
    # Public rooms every new account joins, the first one shown first; created if missing.
    default_rooms: tuple[str, ...] = ("lobby",)
    allowed_origins: tuple[str, ...] = ()  # besides the server's own
    # Proxies (addresses or networks) whose X-Forwarded-For/-Proto are believed.
    trusted_proxies: tuple[str, ...] = ()
    max_frame_bytes: int = 64 * 1024
    # A client further behind than this is disconnected. It must hold a full `sync` replay
    # (replay_bound events) on a slow link, hence generous.
    max_outbox_bytes: int = 8 * 1024 * 1024
    slow_consumer_grace: float = 5.0  # seconds a disconnected slow client gets to read its close
    replay_bound: int = 1000
    send_rate: float = 20.0  # messages per second per user, on average
    send_burst: float = 100.0
    signup_rate: float = 1 / 60  # accounts created per second per address, on average
    signup_burst: float = 10.0
    max_inflight_sends: int = 64  # per connection; past it the connection is not read
    # Rate limits (token buckets: `rate` per second on average, bursts up to `burst`).
    typing_rate: float = 1.0  # per user and room; extra notices are dropped
    typing_burst: float = 3.0
    read_rate: float = 5.0  # read-marker moves per user
    read_burst: float = 20.0
    search_rate: float = 1.0  # searches per user: each reads an index, not a page
    search_burst: float = 10.0
    room_action_rate: float = 0.5  # create, dm, invite, join and leave per user
    room_action_burst: float = 20.0
    guest_relay_rate: float = 2.0  # a guest address's start_ renames and binary frames
    guest_relay_burst: float = 10.0
    webhook_rate: float = 1.0  # posts per second to one incoming webhook, on average
    webhook_burst: float = 10.0
    bots_by_anyone: bool = False  # any user may create bots (else server admins only)
    # Outgoing webhooks: whether one may point to a loopback or private address (off: only
    # public ones, so nobody makes the server call into its own network); each attempt's
    # timeout in seconds; attempts per message; the first retry's delay, doubling after.
    outgoing_webhooks_allow_private: bool = False
    outgoing_webhook_timeout: float = 5.0
    outgoing_webhook_attempts: int = 5
    outgoing_webhook_retry_delay: float = 1.0
    # Connections: caps, outgoing bounds and liveness.
    max_connections: int = 10_000  # open WebSockets in all
    max_user_connections_per_address: int = 1000  # signed-in WebSockets from one address
    max_guest_connections_per_address: int = 50  # guests and not yet authenticated ones
    unauthenticated_outbox_bytes: int = 16 * 1024  # before `ready`, a socket gets little
    close_timeout: float = 2.0  # seconds to finish a close handshake before TCP is cut
    ping_interval: float = 20.0  # a WebSocket silent this long is pinged
    ping_timeout: float = 20.0  # and dropped if it stays silent this much longer
    http_body_timeout: float = 10.0  # seconds to receive a whole HTTP request body
    # Files: their blobs, in a directory every node shares (empty: <data_dir>/files).
    files_dir: Path = Path("")
    max_file_bytes: int = 25 * 1024 * 1024
    file_quota_bytes: int = 1024 * 1024 * 1024  # a user's live files, in all
    pending_file_ttl: float = 86_400.0  # seconds an upload no message refers to is kept
    file_sweep_interval: float = 3600.0  # seconds between sweeps of forgotten files
    max_uploads_per_user: int = 4  # uploads running at once, per user and node
    # Retention: messages older than this many days are deleted (0: kept forever; a room's
    # own setting wins over it), by a pass every retention_interval seconds on each node.
    retention_days: int = 0
    retention_interval: float = 3600.0
    token_ttl_days: int = 30
    # Seconds between a node's polls of account changes (deactivations, passwords given on
    # the command line) that close the account's sessions on every node.
    account_poll_interval: float = 0.5
    auth_timeout: float = 10.0
    argon2_time_cost: int = 3
    argon2_memory_kib: int = 65536
    shutdown_timeout: float = 5.0
    log_format: str = "text"  # or "json": one object per line (see logs.py)

    def __post_init__(self) -> None:
        if not self.storage_url:  # derived here, so every reader sees the URL in use
            default = sqlite_url(self.data_dir / "hubbub.sqlite3")
            object.__setattr__(self, "storage_url", default)
        if self.files_dir == Path(""):
            object.__setattr__(self, "files_dir", self.data_dir / "files")
        # Room names are case-insensitive: kept lowercase, each once, in their order.
        rooms = tuple(dict.fromkeys(room.lower() for room in self.default_rooms))
        object.__setattr__(self, "default_rooms", rooms)


_ENV_PREFIX = "HUBBUB_"


class Origin(NamedTuple):
    """Where a setting's value came from."""

    kind: Literal["default", "file", "env", "flag"]
    where: str = ""  # the file's path, the variable or the flag

    def __str__(self) -> str:
        return f"{self.kind} {self.where}" if self.where else self.kind

    def spelling(self, name: str) -> str:
        """The setting ``name`` as this source spells it, to start a line about it."""
        if self.kind == "file":
            return f"{self.where}: {name}"
        return self.where or name


DEFAULT = Origin("default")


@dataclass(frozen=True)
class Sourced:
    """The settings in use, where each one came from, and the settings file read, if any."""

    config: Config
    origins: Mapping[str, Origin]  # one for every field of Config
    file: Path | None


def load(
    env: Mapping[str, str] | None = None,
    *,
    file: Path | None = None,
    flag_names: Mapping[str, str] | None = None,
    **flags: Any,
) -> Config:
    """The settings in use (see ``load_sources``)."""
    return load_sources(env, file=file, flag_names=flag_names, **flags).config


def load_sources(
    env: Mapping[str, str] | None = None,
    *,
    file: Path | None = None,
    flag_names: Mapping[str, str] | None = None,
    **flags: Any,
) -> Sourced:
    """The defaults, overridden by the settings file, overridden by ``HUBBUB_<FIELD>``
    variables (of ``env``, else ``os.environ``), overridden by ``flags`` (by field name; None
    is a flag not given). Everything is checked; a problem is a ``ConfigError``.

    The file is ``file`` if given, else ``hubbub.toml`` in the data dir if there is one: the
    data dir the flags, the environment or the default name, since a file found there cannot
    move it. ``flag_names`` spells each flag as typed (``storage_url``: ``--database``); the
    default is the field's name with dashes."""
    env = os.environ if env is None else env
    from_env: dict[str, Any] = {}
    for f in dataclasses.fields(Config):
        raw = env.get(_ENV_PREFIX + f.name.upper())
        if raw is not None:
            from_env[f.name] = _parse(f.name, raw)
    from_flags = {name: value for name, value in flags.items() if value is not None}
    path = file
    if path is None:
        data_dir = from_flags.get("data_dir", from_env.get("data_dir", Config().data_dir))
        path = config_file.in_data_dir(Path(data_dir))
    from_file = {} if path is None else _read_file(path, in_data_dir=file is None)
    values: dict[str, Any] = {}
    origins = {f.name: DEFAULT for f in dataclasses.fields(Config)}
    for name, value in from_file.items():
        values[name], origins[name] = value, Origin("file", str(path))
    for name, value in from_env.items():
        values[name], origins[name] = value, Origin("env", _ENV_PREFIX + name.upper())
    spelled = flag_names or {}
    for name, value in from_flags.items():
        flag = spelled.get(name, "--" + name.replace("_", "-"))
        values[name], origins[name] = value, Origin("flag", flag)
    config = Config(**values)
    _check(config, origins)
    return Sourced(config, origins, path)


# Settings whose value is a URL that may hold a password, which is never shown.
_URLS_WITH_PASSWORDS = ("storage_url", "broker")


def shown(name: str, value: Any) -> Any:
    """The setting ``name``'s ``value`` as the operator is shown it, in JSON's types: a
    URL's password masked."""
    if name in _URLS_WITH_PASSWORDS:
        return masked_url(value)
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, tuple):
        return list(value)
    return value


def masked_url(url: str) -> str:
    """``url`` with its password, after the user or as a ``password`` parameter, as ``***``."""
    try:
        parts = urlsplit(url)
        netloc, query = parts.netloc, parts.query
        if parts.password is not None:
            userinfo, _, host = netloc.rpartition("@")
            netloc = f"{userinfo.partition(':')[0]}:***@{host}"
        pairs = parse_qsl(query, keep_blank_values=True)
        if any(key.lower() == "password" for key, _ in pairs):
            hidden = [(k, "***" if k.lower() == "password" else v) for k, v in pairs]
            query = urlencode(hidden, safe="*")
        if (netloc, query) == (parts.netloc, parts.query):
            return url  # as written: rebuilt, sqlite:///path would lose its //
        return urlunsplit(parts._replace(netloc=netloc, query=query))
    except ValueError:  # not a URL after all: nothing of it is shown
        return "***"


def _read_file(path: Path, *, in_data_dir: bool) -> dict[str, Any]:
    """The settings of the file at ``path``, typed as Config holds them."""
    try:
        table = config_file.read(path)
    except config_file.ConfigFileError as exc:
        raise ConfigError(str(exc)) from None
    names = [f.name for f in dataclasses.fields(Config)]
    values: dict[str, Any] = {}
    for key, value in table.items():
        if key not in names:
            raise ConfigError(f"{path}: {_unknown(key, names)}")
        if key == "data_dir" and in_data_dir:
            raise ConfigError(
                f"{path}: data_dir cannot be set in the data dir's own {config_file.NAME}"
                " (name a file elsewhere with --config to set it)"
            )
        try:
            values[key] = _typed(key, value)
        except ValueError as exc:
            raise ConfigError(f"{path}: {key} {exc}") from None
    return values


def _unknown(key: str, names: list[str]) -> str:
    guess = key.lower().replace("-", "_").removeprefix(_ENV_PREFIX.lower())
    close = [guess] if guess in names else difflib.get_close_matches(guess, names, n=1)
    hint = f" (did you mean {close[0]}?)" if close else ""
    return f"{key!r} is not a setting{hint}"


def _typed(name: str, value: Any) -> Any:
    """A TOML value for ``name`` as Config holds it; ``ValueError`` saying what it must be.
    A number is never read from a string, nor a whole number from a float."""
    default = getattr(Config(), name)
    number = isinstance(value, int | float) and not isinstance(value, bool)
    if isinstance(default, bool):
        if isinstance(value, bool):
            return value
        wanted = "true or false"
    elif isinstance(default, int):
        if number and isinstance(value, int):
            return value
        wanted = "a whole number"
    elif isinstance(default, float):
        if number:
            return float(value)
        wanted = "a number"
    elif isinstance(default, tuple):
        if isinstance(value, list) and all(isinstance(item, str) for item in value):
            return tuple(value)
        wanted = 'a list of strings, such as ["a", "b"]'
    else:
        if isinstance(value, str):
            return Path(value) if isinstance(default, Path) else value
        wanted = "a string"
    raise ValueError(f"must be {wanted}, not {_toml_kind(value)}")


def _toml_kind(value: Any) -> str:
    """A TOML value as a problem names it: a number or boolean itself, else its kind (a
    string may be a secret put under the wrong key)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        others = [item for item in value if not isinstance(item, str)]
        return f"a list holding {_toml_kind(others[0])}" if others else "a list"
    if isinstance(value, dict):
        return "a table"
    return "a date or time"


def _parse(name: str, raw: str) -> Any:
    default = getattr(Config(), name)
    try:
        if isinstance(default, bool):
            if raw.lower() in ("1", "true", "yes", "on"):
                return True
            if raw.lower() in ("0", "false", "no", "off"):
                return False
            raise ValueError(raw)
        if isinstance(default, int):
            return int(raw)
        if isinstance(default, float):
            return float(raw)
        if isinstance(default, Path):
            return Path(raw)
        if isinstance(default, tuple):
            return tuple(part.strip() for part in raw.split(",") if part.strip())
        return raw
    except ValueError:
        raise ConfigError(f"{_ENV_PREFIX}{name.upper()}: cannot use {raw!r}") from None


# Numbers with a range of their own (inclusive). Every other int must be at least 1, every
# other float finite and above 0, and a burst at least 1 (a bucket must hold one whole token).
_RANGES: dict[str, tuple[int, int]] = {
    "port": (0, 65535),
    "argon2_time_cost": (1, 2**32 - 1),
    "argon2_memory_kib": (8, 2**32 - 1),  # argon2 needs 8 KiB per lane; hubbub uses one lane
    "token_ttl_days": (1, 36_500),
    "retention_days": (0, 36_500),
    "retention_interval": (1, 86_400 * 7),  # seconds: at least one, at most a week
    "outgoing_webhook_attempts": (1, 20),
}
_ORIGIN = re.compile(r"https?://[^/\s]+")
ROOM_NAME_RE = re.compile(r"[a-z0-9][a-z0-9_-]{0,63}")  # protocol.limits.RoomName, lowercased


def _check(config: Config, origins: Mapping[str, Origin]) -> None:
    """Every setting in its range, or a ``ConfigError`` that names it as its source does."""
    for f in dataclasses.fields(Config):
        problem = _problem(f.name, getattr(config, f.name), f.default)
        if problem is not None:
            raise ConfigError(f"{origins[f.name].spelling(f.name)} {problem}")


def _problem(name: str, value: Any, default: Any) -> str | None:
    """What is wrong with ``value`` for the setting ``name``, or None."""
    if isinstance(default, bool):
        return None
    if isinstance(value, float) and not math.isfinite(value):
        return f"must be a finite number, not {value}"
    if name in _RANGES:
        low, high = _RANGES[name]
        return None if low <= value <= high else f"must be between {low} and {high}, not {value}"
    if isinstance(default, int) or name.endswith("_burst"):
        return None if value >= 1 else f"must be at least 1, not {value}"
    if isinstance(default, float):
        return None if value > 0 else f"must be above 0, not {value}"
    if name == "host" and not value:
        return "must not be empty"
    if name == "log_format" and value not in LOG_FORMATS:
        return f"must be one of {', '.join(LOG_FORMATS)}, not {value!r}"
    if name == "registration" and value not in MODES:
        return f"must be one of {', '.join(MODES)}, not {value!r}"
    if name == "broker":
        try:
            broker_factory.check_url(value)
        except broker_factory.BrokerURLError as exc:
            return str(exc)
    if name == "storage_url":
        try:
            check_url(value)
        except StorageError as exc:
            return str(exc)
    if name == "trusted_proxies":
        try:
            Proxies(value)
        except BadProxy as exc:
            return f"has {exc}"
    if name == "default_rooms":
        for room in value:
            if not ROOM_NAME_RE.fullmatch(room):
                return f"has {room!r}, which is not a room name (1-64 of a-z 0-9 _ -)"
    if name == "allowed_origins":
        for origin in value:
            if not _ORIGIN.fullmatch(origin):
                return f"has {origin!r}, which is not an origin such as https://chat.example.org"
    return None
