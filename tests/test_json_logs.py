"""``--log-format json`` (or ``HUBBUB_LOG_FORMAT=json``): every line the server logs is one
JSON object with its time, level, logger and message, and none holds a password, a token or
a message body, whatever the clients did."""

from __future__ import annotations

import json
import logging
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from redis_support import Relay, require_redis
from support import PASSWORD, TEST_SETTINGS, Client, call_api, env_text, free_port, register

from hubbub.config import ConfigError, load
from hubbub.logs import JsonFormatter

BODY = "the body of a message that no log may hold"


def start(data_dir: Path, log: Path, args: list[str], **env: str) -> subprocess.Popen[bytes]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("HUBBUB_")}
    environment |= {f"HUBBUB_{k.upper()}": env_text(v) for k, v in TEST_SETTINGS.items()}
    environment |= env
    port = int(args[args.index("--port") + 1])
    with log.open("wb") as stderr:
        proc = subprocess.Popen(
            [sys.executable, "-m", "hubbub", "serve", "--data-dir", str(data_dir), *args],
            env=environment,
            stdout=subprocess.DEVNULL,
            stderr=stderr,
        )
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return proc
        except OSError:
            if proc.poll() is not None:
                raise RuntimeError(f"server exited: {log.read_text()}") from None
            time.sleep(0.05)
    stop(proc)
    raise RuntimeError("server did not start in time")


def stop(proc: subprocess.Popen[bytes]) -> int:
    if proc.poll() is None:
        os.kill(proc.pid, signal.SIGTERM)
    try:
        return proc.wait(15)
    finally:
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait()


def parsed(log: Path) -> list[dict[str, Any]]:
    lines = [line for line in log.read_text().splitlines() if line.strip()]
    objects = [json.loads(line) for line in lines]  # each line one object, or this fails
    for obj in objects:
        assert isinstance(obj, dict), obj
        assert {"time", "level", "logger", "message"} <= obj.keys(), obj
        assert obj["time"].endswith("Z") and "T" in obj["time"], obj
    return objects


@pytest.mark.parametrize("how", ["flag", "env"])
async def test_json_lines_parse_and_hold_no_secret(
    tmp_path: Path, http: aiohttp.ClientSession, how: str
) -> None:
    relay = Relay(require_redis())  # never started: the broker logs that it cannot connect
    port = free_port()
    args = ["--port", str(port), "--log-level", "debug", "--broker", relay.url]
    env = {"HUBBUB_LOG_FORMAT": "json"} if how == "env" else {}
    if how == "flag":
        args += ["--log-format", "json"]
    log = tmp_path / "stderr.log"
    proc = start(tmp_path / "data", log, args, **env)
    url = f"http://127.0.0.1:{port}"
    try:
        token = await register(http, url, "alice")
        wrong = {"username": "alice", "password": PASSWORD + " but wrong"}
        assert (await call_api(http, "POST", url + "/api/v1/login", json=wrong)).status == 401
        right = {"username": "alice", "password": PASSWORD}
        login = await call_api(http, "POST", url + "/api/v1/login", json=right)
        assert login.status == 200
        second_token = login.body["token"]
        created = await call_api(http, "POST", url + "/api/v1/rooms", token, json={"name": "t"})
        assert created.status == 201
        async with Client.connect(http, url, second_token, sync={}) as client:
            await client.send("t", BODY)
            await client.request("send", room="t", body=BODY, client_msg_id=7)  # a bad one
    finally:
        assert stop(proc) == 0
    objects = parsed(log)
    levels = {obj["level"] for obj in objects}
    assert {"info", "warning"} <= levels, levels  # migrations, shutdown; the broker
    assert any(obj["message"] == "shutting down" for obj in objects)
    text = log.read_text()
    for secret in (PASSWORD, token, second_token, BODY):
        assert secret not in text


def test_the_formatter_keeps_extra_fields_and_drops_secret_ones() -> None:
    logger = logging.getLogger("hubbub.test.json")
    record = logger.makeRecord(
        logger.name,
        logging.ERROR,
        __file__,
        1,
        "request %s failed",
        ("search",),
        None,
        extra={"route": "GET /api/v1/search", "token": "s3cret", "password": "hunter2"},
    )
    try:
        raise ValueError("boom")
    except ValueError:
        record.exc_info = sys.exc_info()
    line = JsonFormatter().format(record)
    assert "\n" not in line
    obj = json.loads(line)
    assert obj["level"] == "error"
    assert obj["logger"] == "hubbub.test.json"
    assert obj["message"] == "request search failed"
    assert obj["route"] == "GET /api/v1/search"
    assert "ValueError: boom" in obj["exception"]
    assert "token" not in obj and "password" not in obj
    assert "s3cret" not in line and "hunter2" not in line


def test_an_unknown_log_format_is_refused() -> None:
    with pytest.raises(ConfigError, match="HUBBUB_LOG_FORMAT must be one of text, json"):
        load(env={"HUBBUB_LOG_FORMAT": "xml"})
    assert load(env={"HUBBUB_LOG_FORMAT": "json"}).log_format == "json"
