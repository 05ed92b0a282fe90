"""The ``hubbub`` command as operators run it: ``python -m hubbub`` in a subprocess."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import os
import selectors
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator, Sequence
from contextlib import closing, contextmanager
from pathlib import Path
from typing import IO, Any

import aiohttp
import pytest
from support import TEST_SETTINGS, Client, env_text, free_port, register

from hubbub.config import Config, ConfigError, load
from hubbub.storage.migrations import migrations

LATEST = max(number for number, _ in migrations("sqlite"))


def clean_env(**extra: Any) -> dict[str, str]:
    """This environment without any ``HUBBUB_*`` setting, plus the fast test settings."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("HUBBUB_")}
    for key, value in TEST_SETTINGS.items():
        env[f"HUBBUB_{key.upper()}"] = env_text(value)
    env.update({k: str(v) for k, v in extra.items()})
    return env


def run(args: Sequence[str], cwd: Path, env: dict[str, str] | None = None) -> Any:
    return subprocess.run(
        [sys.executable, "-m", "hubbub", *args],
        cwd=cwd,
        env=env or clean_env(),
        capture_output=True,
        text=True,
        timeout=60,
    )


def read_line(stream: IO[bytes], timeout: float = 20.0) -> str:
    with selectors.DefaultSelector() as selector:
        selector.register(stream, selectors.EVENT_READ)
        if not selector.select(timeout):
            raise TimeoutError("no output from the server")
    return stream.readline().decode()


class Serve:
    """``hubbub serve`` with the given arguments; stdout is a pipe, stderr a file."""

    def __init__(self, args: Sequence[str], cwd: Path, env: dict[str, str]) -> None:
        self.stderr_path = cwd / f"serve-{time.monotonic_ns()}.stderr"
        with self.stderr_path.open("wb") as stderr:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "hubbub", "serve", *args],
                cwd=cwd,
                env=env,
                stdout=subprocess.PIPE,
                stderr=stderr,
            )

    def first_line(self) -> str:
        assert self.proc.stdout is not None
        line = read_line(self.proc.stdout)
        assert line, f"the server exited: {self.stderr()}"
        return line.rstrip("\n")

    def stderr(self) -> str:
        return self.stderr_path.read_text()

    def terminate(self, timeout: float = 20.0) -> int:
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGTERM)
        return self.proc.wait(timeout)

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait()
        if self.proc.stdout is not None:
            self.proc.stdout.close()


@contextmanager
def serving(args: Sequence[str], cwd: Path, env: dict[str, str]) -> Iterator[Serve]:
    server = Serve(args, cwd, env)
    try:
        yield server
    finally:
        server.stop()


def get_json(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=10) as response:
        assert response.status == 200
        return json.loads(response.read())


def listening(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


def assert_one_line_error(result: Any) -> str:
    """Exit code 2 and exactly one line on stderr, no traceback."""
    assert result.returncode == 2, (result.returncode, result.stderr)
    assert "Traceback" not in result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("hubbub: error: "), lines[0]
    assert result.stdout == ""
    return str(lines[0])


# --- serve ---------------------------------------------------------------------------------


def test_serve_prints_the_url_and_answers_healthz(tmp_path: Path) -> None:
    port = free_port()
    data = tmp_path / "data"
    with serving(["--port", str(port), "--data-dir", str(data)], tmp_path, clean_env()) as server:
        url = f"http://127.0.0.1:{port}/"
        assert server.first_line() == f"hubbub is listening on {url}"
        assert get_json(url + "healthz") == {"status": "ok"}
        assert (data / "hubbub.sqlite3").is_file()
        assert server.terminate() == 0
    assert "Traceback" not in server.stderr()


def test_environment_variables_are_honoured(tmp_path: Path) -> None:
    port = free_port()
    data = tmp_path / "from-env"
    env = clean_env(HUBBUB_PORT=port, HUBBUB_DATA_DIR=data)
    with serving([], tmp_path, env) as server:
        assert server.first_line() == f"hubbub is listening on http://127.0.0.1:{port}/"
        assert get_json(f"http://127.0.0.1:{port}/healthz") == {"status": "ok"}
        assert (data / "hubbub.sqlite3").is_file()
        assert server.terminate() == 0
    assert not (tmp_path / "hubbub-data").exists()  # the default data dir was not used


def test_flags_override_environment_variables(tmp_path: Path) -> None:
    env_port, flag_port = free_port(), free_port()
    env_data, flag_data = tmp_path / "from-env", tmp_path / "from-flag"
    env = clean_env(HUBBUB_PORT=env_port, HUBBUB_DATA_DIR=env_data)
    args = ["--port", str(flag_port), "--data-dir", str(flag_data)]
    with serving(args, tmp_path, env) as server:
        assert server.first_line() == f"hubbub is listening on http://127.0.0.1:{flag_port}/"
        assert get_json(f"http://127.0.0.1:{flag_port}/healthz") == {"status": "ok"}
        assert not listening(env_port)
        assert (flag_data / "hubbub.sqlite3").is_file()
        assert not env_data.exists()
        assert server.terminate() == 0


async def test_sigterm_closes_websockets_with_1001_and_exits_0(tmp_path: Path) -> None:
    port = free_port()
    args = ["--port", str(port), "--data-dir", str(tmp_path / "data")]
    with serving(args, tmp_path, clean_env()) as server:
        line = await asyncio.to_thread(server.first_line)
        url = line.removeprefix("hubbub is listening on ").rstrip("/")
        async with aiohttp.ClientSession() as http:
            token = await register(http, url, "alice")
            async with Client.connect(http, url, token, sync={}) as client:
                pong = await client.ok("ping")
                assert pong["type"] == "pong"
                os.kill(server.proc.pid, signal.SIGTERM)
                await client.wait_for(lambda c: c.close_code is not None, timeout=20)
                assert client.close_code == 1001
                # The process must not wait on us: it exits while we are still here.
                code = await asyncio.to_thread(server.proc.wait, 20)
        assert code == 0
    assert "Traceback" not in server.stderr()


# --- startup errors ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "args",
    [
        ["serve", "--port", "notanumber"],
        ["serve", "--port", "70000"],
        ["serve", "--bogus"],
        ["serve", "--log-level", "loud"],
        ["launch"],
        [],
    ],
    ids=[
        "port-not-a-number",
        "port-out-of-range",
        "unknown-flag",
        "bad-choice",
        "bad-command",
        "no-command",
    ],
)
def test_a_bad_option_is_one_line_and_exit_2(tmp_path: Path, args: list[str]) -> None:
    line = assert_one_line_error(run(args, tmp_path))
    assert "usage" not in line.lower()
    assert not (tmp_path / "hubbub-data").exists()


def test_an_unusable_data_dir_is_one_line_and_exit_2(tmp_path: Path) -> None:
    regular = tmp_path / "a-file"
    regular.write_text("not a directory")
    target = str(regular / "data")
    for args in (["serve", "--data-dir", target, "--port", "0"], ["migrate", "--data-dir", target]):
        line = assert_one_line_error(run(args, tmp_path))
        assert target in line
    assert regular.read_text() == "not a directory"


@pytest.mark.parametrize(
    "variable, value",
    [
        ("HUBBUB_PORT", "eighty"),
        ("HUBBUB_PORT", "-1"),
        ("HUBBUB_GUESTS", "maybe"),
        ("HUBBUB_REPLAY_BOUND", "0"),
        ("HUBBUB_SEND_RATE", "fast"),
    ],
)
def test_a_bad_environment_value_is_one_line_and_exit_2(
    tmp_path: Path, variable: str, value: str
) -> None:
    env = clean_env(**{variable: value})
    result = run(["serve", "--data-dir", str(tmp_path / "data")], tmp_path, env)
    assert_one_line_error(result)


@pytest.mark.parametrize("database", ["fresh", "migrated"])
def test_a_taken_port_is_one_line_and_exit_2(tmp_path: Path, database: str) -> None:
    data = tmp_path / "data"
    if database == "migrated":
        assert run(["migrate", "--data-dir", str(data)], tmp_path).returncode == 0
    with closing(socket.socket()) as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = run(["serve", "--port", str(port), "--data-dir", str(data)], tmp_path)
    line = assert_one_line_error(result)
    assert str(port) in line


# --- migrate -------------------------------------------------------------------------------


def test_migrate_prints_the_schema_version(tmp_path: Path) -> None:
    data = tmp_path / "data"
    for _ in range(2):  # the second run finds nothing to do and says the same
        result = run(["migrate", "--data-dir", str(data)], tmp_path)
        assert result.returncode == 0, result.stderr
        assert result.stdout.strip().endswith(f"schema version {LATEST}"), result.stdout
        assert "Traceback" not in result.stderr
    with closing(sqlite3.connect(data / "hubbub.sqlite3")) as db:
        assert db.execute("PRAGMA user_version").fetchone()[0] == LATEST
        tables = {n for (n,) in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert {"users", "tokens", "rooms", "members", "events"} <= tables


def test_migrate_honours_hubbub_data_dir(tmp_path: Path) -> None:
    data = tmp_path / "env-data"
    result = run(["migrate"], tmp_path, clean_env(HUBBUB_DATA_DIR=data))
    assert result.returncode == 0, result.stderr
    assert str(data / "hubbub.sqlite3") in result.stdout
    assert (data / "hubbub.sqlite3").is_file()


def test_the_database_flag_overrides_hubbub_storage_url(tmp_path: Path) -> None:
    data, chosen = tmp_path / "data", tmp_path / "chosen.sqlite3"
    env = clean_env(HUBBUB_STORAGE_URL=f"sqlite://{tmp_path / 'not-this.sqlite3'}")
    result = run(
        ["migrate", "--data-dir", str(data), "--database", f"sqlite://{chosen}"], tmp_path, env
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == f"hubbub: {chosen} is at schema version {LATEST}\n"
    assert chosen.is_file() and not (tmp_path / "not-this.sqlite3").exists()
    refused = run(["migrate", "--database", "mysql://x/y"], tmp_path)
    assert refused.returncode == 2 and refused.stderr.count("\n") == 1, refused.stderr
    assert "mysql:" in refused.stderr and "Traceback" not in refused.stderr


def test_hubbub_storage_url_chooses_the_database(tmp_path: Path) -> None:
    data, elsewhere = tmp_path / "data", tmp_path / "elsewhere" / "chat.sqlite3"
    elsewhere.parent.mkdir()
    env = clean_env(HUBBUB_STORAGE_URL=f"sqlite://{elsewhere}")
    result = run(["migrate", "--data-dir", str(data)], tmp_path, env)
    assert result.returncode == 0, result.stderr
    assert result.stdout == f"hubbub: {elsewhere} is at schema version {LATEST}\n"
    port = free_port()
    with serving(["--port", str(port), "--data-dir", str(data)], tmp_path, env) as server:
        server.first_line()
        assert get_json(f"http://127.0.0.1:{port}/healthz") == {"status": "ok"}
        assert server.terminate() == 0
    assert (data / "hubbub.lock").is_file()  # the data dir still holds the lock
    assert not (data / "hubbub.sqlite3").exists()
    with closing(sqlite3.connect(elsewhere)) as db:
        assert db.execute("SELECT name FROM rooms").fetchall() == [("lobby",)]


@pytest.mark.parametrize("command", ["serve", "migrate"])
def test_a_file_that_is_not_a_database_is_one_line_and_exit_2(tmp_path: Path, command: str) -> None:
    data = tmp_path / "data"
    data.mkdir()
    (data / "hubbub.sqlite3").write_bytes(b"not an SQLite database, not even its header" * 100)
    args = [command, "--data-dir", str(data)] + (["--port", "0"] if command == "serve" else [])
    line = assert_one_line_error(run(args, tmp_path))
    assert line == (
        f"hubbub: error: cannot use the database {str(data / 'hubbub.sqlite3')!r}:"
        " file is not a database"
    )


# --- one server per data dir ---------------------------------------------------------------


def test_a_second_server_on_the_same_data_dir_exits_2(tmp_path: Path) -> None:
    data = tmp_path / "data"
    port = free_port()
    with serving(["--port", str(port), "--data-dir", str(data)], tmp_path, clean_env()) as first:
        first.first_line()
        in_use = (
            f"data dir {str(data)!r} is in use by another hubbub process (pid {first.proc.pid})"
        )
        second = run(["serve", "--port", str(free_port()), "--data-dir", str(data)], tmp_path)
        assert assert_one_line_error(second) == f"hubbub: error: {in_use}"
        migrating = run(["migrate", "--data-dir", str(data)], tmp_path)
        assert assert_one_line_error(migrating) == f"hubbub: error: {in_use}"
        assert get_json(f"http://127.0.0.1:{port}/healthz") == {"status": "ok"}
        assert first.terminate() == 0
    # The lock goes with its process.
    assert run(["migrate", "--data-dir", str(data)], tmp_path).returncode == 0


# --- every setting is checked at start -----------------------------------------------------


@pytest.mark.parametrize(
    "variable, value",
    [
        ("HUBBUB_SEND_RATE", "0"),
        ("HUBBUB_SIGNUP_RATE", "-1"),
        ("HUBBUB_TYPING_BURST", "0.5"),
        ("HUBBUB_ARGON2_MEMORY_KIB", "1"),
        ("HUBBUB_ARGON2_TIME_COST", "0"),
        ("HUBBUB_PING_TIMEOUT", "-1"),
        ("HUBBUB_CLOSE_TIMEOUT", "0"),
        ("HUBBUB_HTTP_BODY_TIMEOUT", "nan"),
        ("HUBBUB_AUTH_TIMEOUT", "inf"),
        ("HUBBUB_MAX_CONNECTIONS", "0"),
        ("HUBBUB_TOKEN_TTL_DAYS", "100000000000"),
        ("HUBBUB_ALLOWED_ORIGINS", "chat.example.org"),
        ("HUBBUB_STORAGE_URL", "postgresql://hubbub@db.example.org/hubbub?pool_size=0"),
        ("HUBBUB_STORAGE_URL", "mysql://hubbub@db.example.org/hubbub"),
        ("HUBBUB_STORAGE_URL", "sqlite://db.example.org/hubbub.sqlite3"),
    ],
)
def test_a_setting_out_of_range_is_one_line_naming_it_and_exit_2(
    tmp_path: Path, variable: str, value: str
) -> None:
    env = clean_env(**{variable: value})
    result = run(["serve", "--port", "0", "--data-dir", str(tmp_path / "data")], tmp_path, env)
    line = assert_one_line_error(result)
    assert line.startswith(f"hubbub: error: {variable} "), line
    assert not (tmp_path / "data").exists()  # refused before anything was touched


NUMBERS = [
    f.name
    for f in dataclasses.fields(Config)
    if isinstance(f.default, int | float) and not isinstance(f.default, bool)
]


@pytest.mark.parametrize("name", NUMBERS)
@pytest.mark.parametrize("value", ["0", "-1"])
def test_every_number_refuses_zero_and_negative_values(name: str, value: str) -> None:
    variable = f"HUBBUB_{name.upper()}"
    if name == "port" and value == "0":
        value = "65536"  # 0 is a valid port: any free one
    if name == "retention_days" and value == "0":
        value = "36501"  # 0 keeps messages for ever; past a century is refused
    with pytest.raises(ConfigError) as refused:
        load({variable: value})
    assert str(refused.value).startswith(f"{variable} "), refused.value


def test_the_defaults_pass_the_checks() -> None:
    assert load({}) == Config()
