"""The settings file, the order of the sources, and ``hubbub config``: real files in temporary
directories and real ``python -m hubbub`` processes, as an operator runs them."""

from __future__ import annotations

import dataclasses
import json
import os
import re
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from support import free_port
from test_cli import assert_one_line_error, serving

from hubbub.cli import _FLAG_NAMES as FLAG_NAMES
from hubbub.config import Config

DOCS = Path(__file__).resolve().parent.parent / "docs" / "operations.md"
FIELDS = [f.name for f in dataclasses.fields(Config)]
# Fast password hashing for a server a test starts, given in the file.
FAST = "argon2_time_cost = 1\nargon2_memory_kib = 8192\n"


def bare_env(**extra: Any) -> dict[str, str]:
    """This environment without any ``HUBBUB_*`` variable, plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("HUBBUB_")}
    env.update({k: str(v) for k, v in extra.items()})
    return env


def hubbub(args: Sequence[str], cwd: Path, env: dict[str, str] | None = None) -> Any:
    return subprocess.run(
        [sys.executable, "-m", "hubbub", *args],
        cwd=cwd,
        env=bare_env() if env is None else env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def settings_json(args: Sequence[str], cwd: Path, env: dict[str, str] | None = None) -> Any:
    """``hubbub config --json`` with ``args``: exit 0, nothing on stderr, the document."""
    result = hubbub(["config", "--json", *args], cwd, env)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    return json.loads(result.stdout)


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


# --- where settings come from -----------------------------------------------------------------


def test_a_flag_beats_the_environment_which_beats_the_file_which_beats_the_default(
    tmp_path: Path,
) -> None:
    file = write(
        tmp_path / "etc" / "hubbub.toml",
        'host = "10.0.0.1"\nport = 9001\nsend_rate = 3.5\ndefault_rooms = ["Lobby", "general"]\n',
    )
    env = bare_env(HUBBUB_HOST="10.0.0.2", HUBBUB_SEND_RATE="7")
    shown = settings_json(["--config", str(file), "--host", "10.0.0.3"], tmp_path, env)
    assert shown["file"] == str(file)
    settings = shown["settings"]
    assert settings["host"] == {"value": "10.0.0.3", "source": "flag", "from": "--host"}
    assert settings["send_rate"] == {"value": 7.0, "source": "env", "from": "HUBBUB_SEND_RATE"}
    assert settings["port"] == {"value": 9001, "source": "file", "from": str(file)}
    assert settings["default_rooms"] == {
        "value": ["lobby", "general"],  # kept lowercase, as from any source
        "source": "file",
        "from": str(file),
    }
    assert settings["replay_bound"] == {"value": 1000, "source": "default", "from": None}
    assert list(settings) == FIELDS  # every setting, in Config's order


def test_the_data_dirs_hubbub_toml_is_read_unless_config_names_another(tmp_path: Path) -> None:
    data = tmp_path / "data"
    own = write(data / "hubbub.toml", "send_rate = 3.0\nreplay_bound = 50\n")
    by_flag = settings_json(["--data-dir", str(data)], tmp_path)
    assert by_flag["file"] == str(own)
    assert by_flag["settings"]["send_rate"]["value"] == 3.0
    assert by_flag["settings"]["replay_bound"] == {
        "value": 50,
        "source": "file",
        "from": str(own),
    }
    by_env = settings_json([], tmp_path, bare_env(HUBBUB_DATA_DIR=data))
    assert by_env["settings"]["replay_bound"]["value"] == 50

    # The default data dir, relative to the working directory.
    write(tmp_path / "hubbub-data" / "hubbub.toml", "replay_bound = 60\n")
    default = settings_json([], tmp_path)
    assert default["file"] == "hubbub-data/hubbub.toml"
    assert default["settings"]["replay_bound"]["value"] == 60

    other = write(tmp_path / "other.toml", "replay_bound = 70\n")
    named = settings_json(["--data-dir", str(data), "--config", str(other)], tmp_path)
    assert named["file"] == str(other)
    assert named["settings"]["replay_bound"]["value"] == 70
    assert named["settings"]["send_rate"]["source"] == "default"  # data/hubbub.toml unread

    nothing = settings_json(["--data-dir", str(tmp_path / "empty")], tmp_path)
    assert nothing["file"] is None
    assert {s["source"] for s in nothing["settings"].values()} == {"default", "flag"}
    assert not (tmp_path / "empty").exists()  # config touches no data dir


def test_the_file_sets_the_data_dir_and_what_follows_from_it(tmp_path: Path) -> None:
    file = write(tmp_path / "hubbub.toml", 'data_dir = "elsewhere"\n')
    settings = settings_json(["--config", str(file)], tmp_path)["settings"]
    assert settings["data_dir"]["value"] == "elsewhere"
    assert settings["storage_url"] == {
        "value": "sqlite:elsewhere/hubbub.sqlite3",
        "source": "default",
        "from": None,
    }
    assert settings["files_dir"]["value"] == "elsewhere/files"

    result = hubbub(["migrate", "--config", str(file)], tmp_path)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "elsewhere" / "hubbub.sqlite3").is_file()
    assert not (tmp_path / "hubbub-data").exists()


def test_serve_listens_where_the_data_dirs_file_says(tmp_path: Path) -> None:
    port = free_port()
    data = tmp_path / "data"
    write(data / "hubbub.toml", f"port = {port}\ndefault_rooms = []\n{FAST}")
    with serving(["--data-dir", str(data)], tmp_path, bare_env()) as server:
        assert server.first_line() == f"hubbub is listening on http://127.0.0.1:{port}/"
        assert server.terminate() == 0
    assert "Traceback" not in server.stderr()


# --- bad files and values ------------------------------------------------------------------------

LIST = 'a list of strings, such as ["a", "b"]'
NOT_A_ROOM = "which is not a room name (1-64 of a-z 0-9 _ -)"
NOT_AN_ORIGIN = "which is not an origin such as https://chat.example.org"
BAD_VALUES = [
    ("send_rate = 0", "send_rate must be above 0, not 0.0"),
    ("send_rate = -1.5", "send_rate must be above 0, not -1.5"),
    ("send_rate = inf", "send_rate must be a finite number, not inf"),
    ('send_rate = "fast"', "send_rate must be a number, not a string"),
    ('port = "8001"', "port must be a whole number, not a string"),
    ("port = 8001.0", "port must be a whole number, not 8001.0"),
    ("port = 70000", "port must be between 0 and 65535, not 70000"),
    ("port = true", "port must be a whole number, not true"),
    ('guests = ["no"]', "guests must be true or false, not a list"),
    ('guests = "false"', "guests must be true or false, not a string"),
    ("replay_bound = 0", "replay_bound must be at least 1, not 0"),
    ("send_burst = 0.5", "send_burst must be at least 1, not 0.5"),
    ('default_rooms = "lobby"', f"default_rooms must be {LIST}, not a string"),
    ('default_rooms = ["lobby", 3]', f"default_rooms must be {LIST}, not a list holding 3"),
    ('default_rooms = ["a b"]', f"default_rooms has 'a b', {NOT_A_ROOM}"),
    ('allowed_origins = ["a.example"]', f"allowed_origins has 'a.example', {NOT_AN_ORIGIN}"),
    ("host = 1979-05-27", "host must be a string, not a date or time"),
    ('data_dir = ["a"]', "data_dir must be a string, not a list"),
    ("sendrate = 1.0", "'sendrate' is not a setting (did you mean send_rate?)"),
    ("HUBBUB_PORT = 1", "'HUBBUB_PORT' is not a setting (did you mean port?)"),
    ("[server]\nport = 1", "'server' is not a setting"),
    ("nothing_like_it = 1", "'nothing_like_it' is not a setting"),
]  # fmt: skip


@pytest.mark.parametrize("text, problem", BAD_VALUES)
def test_a_bad_value_in_the_file_is_one_line_naming_the_file_and_the_key(
    tmp_path: Path, text: str, problem: str
) -> None:
    file = write(tmp_path / "hubbub.toml", text + "\n")
    data = tmp_path / "data"
    result = hubbub(["serve", "--config", "hubbub.toml", "--data-dir", str(data)], tmp_path)
    assert assert_one_line_error(result) == f"hubbub: error: hubbub.toml: {problem}"
    assert not data.exists()  # refused before anything was touched
    assert file.read_text() == text + "\n"


@pytest.mark.parametrize("command", [["migrate"], ["migrate-to", "postgresql://h/db"], ["config"]])
def test_every_command_refuses_a_bad_file_alike(tmp_path: Path, command: list[str]) -> None:
    write(tmp_path / "hubbub.toml", "replay_bound = 0\n")
    data = tmp_path / "data"
    result = hubbub([*command, "--config", "hubbub.toml", "--data-dir", str(data)], tmp_path)
    line = assert_one_line_error(result)
    assert line == "hubbub: error: hubbub.toml: replay_bound must be at least 1, not 0"
    assert not data.exists()


@pytest.mark.parametrize(
    "text, where",
    [
        ("port = 8001\nsend_rate = \n", "Invalid value (at line 2, column 13)"),
        ("port = 8001\nport = 8002\n", "Cannot overwrite a value (at line 2, column 12)"),
        ('host = "unterminated', "Unterminated string (at line 1, column 21, the end of the file)"),
        ("[server\n", "Expected ']' at the end of a table declaration (at line 1, column 8)"),
    ],
)
def test_a_file_that_is_not_toml_is_one_line_with_its_line_and_column(
    tmp_path: Path, text: str, where: str
) -> None:
    write(tmp_path / "data" / "hubbub.toml", text)
    result = hubbub(["serve", "--port", "0", "--data-dir", "data"], tmp_path)
    line = assert_one_line_error(result)
    assert line == f"hubbub: error: data/hubbub.toml: not valid TOML: {where}"
    assert not (tmp_path / "data" / "hubbub.sqlite3").exists()


def test_a_file_that_cannot_be_read_is_one_line(tmp_path: Path) -> None:
    missing = hubbub(["serve", "--config", "nowhere.toml"], tmp_path)
    line = assert_one_line_error(missing)
    assert line == "hubbub: error: nowhere.toml: cannot read it: No such file or directory"
    (tmp_path / "a-dir").mkdir()
    directory = hubbub(["config", "--config", "a-dir"], tmp_path)
    assert (
        assert_one_line_error(directory) == "hubbub: error: a-dir: cannot read it: Is a directory"
    )
    (tmp_path / "latin1.toml").write_bytes(b'port = 8001\nhost = "caf\xe9"\n')
    latin1 = hubbub(["config", "--config", "latin1.toml"], tmp_path)
    line = assert_one_line_error(latin1)
    assert line == "hubbub: error: latin1.toml: not UTF-8 text (at line 2)"
    assert not (tmp_path / "hubbub-data").exists()


def test_the_data_dirs_own_file_cannot_move_the_data_dir(tmp_path: Path) -> None:
    write(tmp_path / "data" / "hubbub.toml", 'data_dir = "/var/lib/hubbub"\n')
    result = hubbub(["migrate", "--data-dir", "data"], tmp_path)
    assert assert_one_line_error(result) == (
        "hubbub: error: data/hubbub.toml: data_dir cannot be set in the data dir's own"
        " hubbub.toml (name a file elsewhere with --config to set it)"
    )
    assert not (tmp_path / "data" / "hubbub.sqlite3").exists()


def test_the_environment_and_flags_are_named_as_they_are_spelled(tmp_path: Path) -> None:
    write(tmp_path / "hubbub-data" / "hubbub.toml", "send_rate = 1.0\nport = 8001\n")
    env = hubbub(["serve"], tmp_path, bare_env(HUBBUB_SEND_RATE="0"))
    assert assert_one_line_error(env) == "hubbub: error: HUBBUB_SEND_RATE must be above 0, not 0.0"
    unreadable = hubbub(["config"], tmp_path, bare_env(HUBBUB_PORT="eighty"))
    assert assert_one_line_error(unreadable) == "hubbub: error: HUBBUB_PORT: cannot use 'eighty'"
    flag = hubbub(["serve", "--port", "70000"], tmp_path)
    assert assert_one_line_error(flag) == (
        "hubbub: error: --port must be between 0 and 65535, not 70000"
    )
    database = hubbub(["config", "--database", "mysql://u@h/x"], tmp_path)
    assert assert_one_line_error(database).startswith("hubbub: error: --database must be ")


def test_a_refused_url_never_shows_its_password(tmp_path: Path) -> None:
    write(tmp_path / "hubbub.toml", 'storage_url = "mysql://hubbub:hunter2@db/hubbub"\n')
    result = hubbub(["serve", "--config", "hubbub.toml"], tmp_path)
    line = assert_one_line_error(result)
    assert line.startswith("hubbub: error: hubbub.toml: storage_url must be a storage URL")
    assert "hunter2" not in line


# --- hubbub config ------------------------------------------------------------------------------


def test_config_prints_one_line_per_setting_with_where_it_came_from(tmp_path: Path) -> None:
    file = write(tmp_path / "hubbub.toml", 'port = 9001\nallowed_origins = ["https://a.example"]\n')
    env = bare_env(HUBBUB_REPLAY_BOUND="20")
    args = ["config", "--config", str(file), "--no-guests"]
    result = hubbub(args, tmp_path, env)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    rows = [re.fullmatch(r"(\w+) = (.*?) +# (.+)", line) for line in result.stdout.splitlines()]
    assert [row and row[1] for row in rows] == FIELDS  # one line each, in Config's order
    values = {row[1]: row[2] for row in rows if row}
    origins = {row[1]: row[3] for row in rows if row}
    assert origins["port"] == f"file {file}"
    assert origins["allowed_origins"] == f"file {file}"
    assert origins["replay_bound"] == "env HUBBUB_REPLAY_BOUND"
    assert origins["guests"] == "flag --no-guests"
    assert origins["send_rate"] == "default"
    assert values["port"] == "9001"
    assert values["allowed_origins"] == '["https://a.example"]'
    assert values["guests"] == "false"
    assert values["host"] == '"127.0.0.1"'
    assert values["send_rate"] == "20.0"
    assert hubbub(args, tmp_path, env).stdout == result.stdout  # the same every time


def test_config_masks_the_passwords_of_urls(tmp_path: Path) -> None:
    file = write(
        tmp_path / "hubbub.toml",
        'storage_url = "postgresql://hubbub:s3cret-pg@db/hubbub"\n'
        'broker = "redis://:s3cret-redis@redis.example.org:6379/0?channel=chat"\n',
    )
    text = hubbub(["config", "--config", str(file)], tmp_path)
    assert text.returncode == 0, text.stderr
    assert 'storage_url = "postgresql://hubbub:***@db/hubbub"' in text.stdout
    assert 'broker = "redis://:***@redis.example.org:6379/0?channel=chat"' in text.stdout
    shown = settings_json(["--config", str(file)], tmp_path)["settings"]
    assert shown["storage_url"]["value"] == "postgresql://hubbub:***@db/hubbub"
    assert shown["broker"]["value"] == "redis://:***@redis.example.org:6379/0?channel=chat"

    # A password as a parameter, from a flag and the environment.
    env = bare_env(HUBBUB_BROKER="rediss://user:s3cret-env@redis.example.org/1")
    url = "postgres://hubbub@db/hubbub?password=s3cret-flag&sslmode=require"
    flagged = hubbub(["config", "--json", "--database", url], tmp_path, env)
    assert flagged.returncode == 0, flagged.stderr
    settings = json.loads(flagged.stdout)["settings"]
    assert settings["storage_url"]["value"] == (
        "postgres://hubbub@db/hubbub?password=***&sslmode=require"
    )
    assert settings["broker"]["value"] == "rediss://user:***@redis.example.org/1"
    for output in (text, flagged):
        assert "s3cret" not in output.stdout + output.stderr


# --- the documentation ---------------------------------------------------------------------------


def test_every_setting_is_documented_with_its_variable_and_flag() -> None:
    rows = {
        match[1]: (match[2], match[3])
        for match in re.finditer(
            r"^\| `(\w+)` \| `(HUBBUB_\w+)` \|([^|]*)\|", DOCS.read_text(), re.M
        )
    }
    assert {name: variable for name, (variable, _) in rows.items()} == {
        name: f"HUBBUB_{name.upper()}" for name in FIELDS
    }
    documented = {name: flag.strip() for name, (_, flag) in rows.items() if flag.strip()}
    assert documented.keys() == FLAG_NAMES.keys()
    for name, flag in FLAG_NAMES.items():
        assert documented[name].startswith(f"`{flag}`"), (name, documented[name])


def test_the_documented_example_file_is_accepted(tmp_path: Path) -> None:
    example = re.search(r"```toml\n(.*?)```", DOCS.read_text(), re.S)
    assert example is not None
    file = write(tmp_path / "hubbub.toml", example.group(1))
    settings = settings_json(["--config", str(file)], tmp_path)["settings"]
    assert settings["default_rooms"]["value"] == ["lobby", "general"]
    assert settings["max_file_bytes"]["value"] == 52_428_800
    assert settings["send_burst"] == {"value": 100.0, "source": "file", "from": str(file)}
