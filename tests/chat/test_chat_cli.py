"""``hubbub chat`` on the command line: the server's command never loads Textual, and
``--sign-out`` revokes the kept token on its server and forgets it."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path

import aiohttp
import pytest
from support import RunningServer, call_api, register

from hubbub import cli
from hubbub.chat.config import Session, Store


def test_the_server_command_does_not_import_textual() -> None:
    probe = "import sys, hubbub.cli; print('textual' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60)
    assert done.stdout.strip() == "False", done.stderr


async def test_sign_out_revokes_and_forgets_the_token(
    server: RunningServer,
    http: aiohttp.ClientSession,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    token = await register(http, server.url, "alice")
    store = Store(tmp_path / "hubbub")
    store.remember(Session(server.url, "alice", token))
    assert (await call_api(http, "GET", f"{server.url}/api/v1/me", token)).status == 200

    async def hubbub(*args: str) -> tuple[int, str, str]:
        code = await asyncio.to_thread(cli.main, list(args))  # its own loop, in a thread
        out, err = capsys.readouterr()
        return code, out, err

    assert await hubbub("chat", "--sign-out", server.url) == (
        0,
        f"hubbub: signed out of {server.url}\n",
        "",
    )
    assert store.session(server.url) is None
    assert (await call_api(http, "GET", f"{server.url}/api/v1/me", token)).status == 401
    code, out, _ = await hubbub("chat", "--sign-out")  # the last server used
    assert (code, out) == (0, f"hubbub: not signed in to {server.url}\n")
    code, _, err = await hubbub("chat", "ftp://example")
    assert code == 2 and "http://" in err
