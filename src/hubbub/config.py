"""Server settings: defaults, then ``HUBBUB_*`` environment variables, then command-line flags."""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any


class ConfigError(ValueError):
    """A setting that cannot be used; its message is one line for the operator."""


@dataclass(frozen=True, kw_only=True)
class Config:
    host: str = "127.0.0.1"
    port: int = 8001
    data_dir: Path = Path("hubbub-data")
    guests: bool = True  # the seed's plain-text clients, as guests in `lobby`
    allowed_origins: tuple[str, ...] = ()  # besides the server's own
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
    token_ttl_days: int = 30
    auth_timeout: float = 10.0
    argon2_time_cost: int = 3
    argon2_memory_kib: int = 65536
    shutdown_timeout: float = 5.0

    @property
    def database(self) -> Path:
        return self.data_dir / "hubbub.sqlite3"


_ENV_PREFIX = "HUBBUB_"


def load(env: Mapping[str, str] | None = None, **overrides: Any) -> Config:
    """Defaults, overridden by ``HUBBUB_<FIELD>`` variables, overridden by ``overrides``."""
    env = os.environ if env is None else env
    values: dict[str, Any] = {}
    for f in dataclasses.fields(Config):
        raw = env.get(_ENV_PREFIX + f.name.upper())
        if raw is not None:
            values[f.name] = _parse(f.name, raw)
    values.update({k: v for k, v in overrides.items() if v is not None})
    config = Config(**values)
    _check(config)
    return config


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


def _check(config: Config) -> None:
    if not 0 <= config.port <= 65535:
        raise ConfigError(f"port {config.port} is not between 0 and 65535")
    for name in ("max_frame_bytes", "max_outbox_bytes", "replay_bound", "max_inflight_sends"):
        if getattr(config, name) < 1:
            raise ConfigError(f"{name} must be at least 1")
    if config.send_rate <= 0 or config.send_burst < 1:
        raise ConfigError("send_rate must be positive and send_burst at least 1")
