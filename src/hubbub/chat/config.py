"""Where the terminal client keeps its things: ``$XDG_CONFIG_HOME/hubbub`` (by default
``~/.config/hubbub``), made readable by its owner only.

- ``sessions.json``: per server URL, the signed-in user and their token (mode 0600);
  the last server used is the default of ``hubbub chat`` without a URL;
- ``outbox-<server>-<user>.jsonl``: ``hubbub.client``'s outbox file, so that what was typed
  while the server was away is sent after a restart of either.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

DEFAULT_URL = "http://127.0.0.1:8001"
SESSIONS = "sessions.json"


def config_dir(environ: dict[str, str] | None = None) -> Path:
    env = os.environ if environ is None else environ
    base = env.get("XDG_CONFIG_HOME") or str(Path(env.get("HOME", "~")).expanduser() / ".config")
    return Path(base) / "hubbub"


@dataclass(frozen=True)
class Session:
    url: str
    user: str
    token: str


def normal_url(url: str) -> str:
    return url.strip().rstrip("/")


class Store:
    """The sessions file and the outbox files of one config dir."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def _ensure(self) -> None:
        self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)

    def _read(self) -> dict[str, Any]:
        try:
            data = json.loads((self.directory / SESSIONS).read_text(encoding="utf-8"))
        except (FileNotFoundError, ValueError):
            return {}
        return data if isinstance(data, dict) else {}

    def _write(self, data: dict[str, Any]) -> None:
        """Replace the file whole, created 0600 before anything is written to it."""
        self._ensure()
        path = self.directory / SESSIONS
        temporary = path.with_name(path.name + ".tmp")
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as file:
            json.dump(data, file, indent=1)
        os.chmod(temporary, 0o600)  # an older file of another mode keeps none of it
        os.replace(temporary, path)

    def last_url(self) -> str:
        last = self._read().get("last")
        return last if isinstance(last, str) and last else DEFAULT_URL

    def session(self, url: str) -> Session | None:
        entry = self._read().get("servers", {}).get(normal_url(url))
        if not isinstance(entry, dict):
            return None
        user, token = entry.get("user"), entry.get("token")
        if not isinstance(user, str) or not isinstance(token, str) or not token:
            return None
        return Session(normal_url(url), user, token)

    def remember(self, session: Session) -> None:
        data = self._read()
        servers = data.get("servers")
        servers = servers if isinstance(servers, dict) else {}
        servers[session.url] = {"user": session.user, "token": session.token}
        self._write({"last": session.url, "servers": servers})

    def use(self, url: str) -> None:
        """Make ``url`` the default of the next start."""
        data = self._read()
        data["last"] = normal_url(url)
        self._write(data)

    def forget(self, url: str) -> Session | None:
        """Drop the session of ``url``; returns it (to revoke its token), if there was one."""
        session = self.session(url)
        data = self._read()
        servers = data.get("servers")
        if isinstance(servers, dict) and servers.pop(normal_url(url), None) is not None:
            self._write(data)
        return session

    def outbox_path(self, url: str, user: str) -> Path:
        self._ensure()
        server = hashlib.sha256(normal_url(url).encode()).hexdigest()[:12]
        # The name the server gave: only its safe characters make the file's name.
        name = "".join(char for char in user if char.isascii() and (char.isalnum() or char in "_-"))
        return self.directory / f"outbox-{server}-{name or 'user'}.jsonl"
