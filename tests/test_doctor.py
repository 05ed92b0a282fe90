"""``hubbub doctor`` against real servers: reached directly and through a real reverse proxy
(``reverse_proxy``), set up well and broken the ways that make messages appear only after a
refresh. The doctor passes the good setups and names the broken hop and its fix."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import ssl
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path

import aiohttp
import pg
import pytest
from redis_support import require_redis, unique_channel
from reverse_proxy import ReverseProxy
from support import PASSWORD, RunningServer, config_for, free_port, register, running_server

from hubbub.broker.redis import RedisBroker
from hubbub.doctor import run
from hubbub.doctor.target import parse_target

CHECKS = ("http", "websocket", "origin", "ping", "messages", "idle")


@pytest.fixture(autouse=True)
def _drop_test_databases() -> Iterator[None]:
    yield
    pg.drop_created()


async def doctor(url: str, idle: float = 1.0, user: str | None = "doc") -> tuple[int, list[str]]:
    """Run the doctor on ``url`` (as ``user``, whose password is PASSWORD); its exit code and
    the status lines it printed, one per check."""
    printed: list[str] = []
    code = await run(
        parse_target(url),
        user=user,
        password=PASSWORD if user else None,
        idle=idle,
        out=printed.append,
    )
    return code, printed


def line_of(printed: list[str], check: str) -> str:
    """The whole text printed for ``check``: its line and the fix below it."""
    found = [text for text in printed if text.split(":")[0].split()[1] == check]
    assert len(found) == 1, printed
    return found[0]


def assert_all_ok(code: int, printed: list[str], checks: tuple[str, ...] = CHECKS) -> None:
    assert [text.split()[0] for text in printed] == ["ok"] * len(checks), "\n".join(printed)
    assert [line_of(printed, check) for check in checks]
    assert code == 0


@asynccontextmanager
async def server_with_doc(tmp_path: Path, **settings: object) -> AsyncIterator[RunningServer]:
    async with (
        running_server(config_for(tmp_path / "data", **settings)) as server,
        aiohttp.ClientSession() as http,
    ):
        await register(http, server.url, "doc")
        yield server


async def test_doctor_passes_a_server_reached_directly(tmp_path: Path) -> None:
    async with server_with_doc(tmp_path) as server:
        code, printed = await doctor(server.url)
        assert_all_ok(code, printed)
        assert "reached all 8" in line_of(printed, "messages")
        # The scratch room was left: the doctor's account is in no room.
        async with aiohttp.ClientSession() as http:
            token = await _login(http, server.url)
            async with http.get(
                f"{server.url}/api/v1/rooms", headers={"Authorization": f"Bearer {token}"}
            ) as response:
                assert (await response.json())["rooms"] == []


async def _login(http: aiohttp.ClientSession, url: str) -> str:
    async with http.post(
        f"{url}/api/v1/login", json={"username": "doc", "password": PASSWORD}
    ) as response:
        return str((await response.json())["token"])


async def test_doctor_with_a_session_token_and_with_a_bad_one(tmp_path: Path) -> None:
    async with server_with_doc(tmp_path) as server, aiohttp.ClientSession() as http:
        token = await _login(http, server.url)
        printed: list[str] = []
        code = await run(parse_target(server.url), token=token, idle=0.5, out=printed.append)
        assert_all_ok(code, printed)
        async with http.get(  # a token given is not signed out
            f"{server.url}/api/v1/me", headers={"Authorization": f"Bearer {token}"}
        ) as response:
            assert response.status == 200

        printed = []
        code = await run(parse_target(server.url), token="x" * 43, idle=0.5, out=printed.append)
    assert code == 1
    assert printed[2] == "FAIL  sign-in: the token is refused: GET /api/v1/me answered 401"
    assert [text.split()[:2] for text in printed[3:]] == [
        ["ok", "origin:"],
        ["ok", "ping:"],
        ["ok", "idle:"],  # as a guest
    ]


async def test_hubbub_doctor_command_reads_the_password_from_stdin(tmp_path: Path) -> None:
    async with server_with_doc(tmp_path) as server:
        command = [sys.executable, "-m", "hubbub", "doctor", server.url, "--idle", "0.5"]
        process = await asyncio.create_subprocess_exec(
            *command,
            "--user",
            "doc",
            "--password-stdin",
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        out, err = await asyncio.wait_for(process.communicate(f"{PASSWORD}\n".encode()), 60)
        lines = out.decode().splitlines()
        assert process.returncode == 0, out.decode() + err.decode()
        expected = [["ok", f"{check}:"] for check in CHECKS]
        assert [line.split()[:2] for line in lines] == expected, lines

        without = await asyncio.create_subprocess_exec(
            *command, stdout=subprocess.PIPE, stderr=subprocess.PIPE
        )
        out, _ = await asyncio.wait_for(without.communicate(), 60)
        assert without.returncode == 0
        assert "skip  messages: give --user NAME --password-stdin" in out.decode()


async def test_hubbub_doctor_refuses_a_url_with_a_path_and_a_password_argument() -> None:
    for args in (["http://example.org/chat"], ["http://example.org", "--user", "doc"]):
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "hubbub",
            "doctor",
            *args,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        out, err = await asyncio.wait_for(process.communicate(), 60)
        assert process.returncode == 2
        assert out == b""
        assert err.decode().startswith("hubbub: error: ")


async def test_doctor_passes_a_proxy_set_up_as_the_reference_file(tmp_path: Path) -> None:
    async with server_with_doc(tmp_path) as server, ReverseProxy([server.url]) as proxy:
        code, printed = await doctor(proxy.url)
        assert_all_ok(code, printed)


async def test_doctor_names_the_nginx_lines_when_the_proxy_drops_upgrade(tmp_path: Path) -> None:
    async with (
        server_with_doc(tmp_path) as server,
        ReverseProxy([server.url], drop_upgrade=True) as proxy,
    ):
        code, printed = await doctor(proxy.url)
    assert code == 1
    assert line_of(printed, "http").startswith("ok")  # HTTP gets through
    websocket = line_of(printed, "websocket")
    assert websocket.startswith("FAIL  websocket [proxy→hubbub]: the handshake got 200")
    assert "proxy_set_header Upgrade $http_upgrade;" in websocket
    assert "proxy_set_header Connection $connection_upgrade;" in websocket
    assert "map $http_upgrade $connection_upgrade" in websocket
    for check in ("origin", "ping", "messages", "idle"):
        assert line_of(printed, check).startswith(f"skip  {check}: not checked")


async def test_doctor_names_proxy_read_timeout_when_the_proxy_cuts_idle_sockets(
    tmp_path: Path,
) -> None:
    # hubbub pings a silent socket after 20 s: a proxy that waits 1 s for the upstream cuts it.
    async with (
        server_with_doc(tmp_path) as server,
        ReverseProxy([server.url], read_timeout=1.0) as proxy,
    ):
        code, printed = await doctor(proxy.url, idle=3)
    assert code == 1
    idle = line_of(printed, "idle")
    assert idle.startswith("FAIL  idle [proxy→hubbub]: an idle WebSocket was cut after 1 s")
    assert "proxy_read_timeout 75s;" in idle
    assert [line_of(printed, c).split()[0] for c in CHECKS[:-1]] == ["ok"] * 5


async def test_doctor_passes_the_same_proxy_when_hubbub_pings_more_often(tmp_path: Path) -> None:
    # The same 1.5 s timeout, but hubbub's pings (every 0.3 s of silence) keep data coming.
    async with (
        server_with_doc(tmp_path, ping_interval=0.3) as server,
        ReverseProxy([server.url], read_timeout=1.5) as proxy,
    ):
        code, printed = await doctor(proxy.url, idle=3)
        assert_all_ok(code, printed)
        assert proxy.cut == 0


async def test_doctor_names_the_host_header_when_the_proxy_does_not_pass_it(
    tmp_path: Path,
) -> None:
    async with server_with_doc(tmp_path) as server:
        upstream = server.url.split("://")[1]
        async with ReverseProxy([server.url], host=upstream) as proxy:
            code, printed = await doctor(proxy.url)
    assert code == 1
    origin = line_of(printed, "origin")
    assert origin.startswith(
        f"FAIL  origin [proxy→hubbub]: hubbub refuses pages of {proxy.url}: the Host it sees"
    )
    assert "proxy_set_header Host $http_host;" in origin  # the URL has a port: not $host
    assert f"HUBBUB_ALLOWED_ORIGINS={proxy.url}" in origin
    assert line_of(printed, "messages").startswith("ok")  # bearer tokens pass any Origin


async def test_doctor_says_the_proxy_keeps_healthz_from_hubbub(tmp_path: Path) -> None:
    async with (
        server_with_doc(tmp_path) as server,
        ReverseProxy([server.url], deny=["/healthz"]) as proxy,
    ):
        code, printed = await doctor(proxy.url)
    assert code == 1
    http = line_of(printed, "http")
    assert http.startswith(
        "FAIL  http [proxy→hubbub]: this is hubbub, but GET /healthz answered 404"
    )
    assert "pass /healthz to hubbub" in http
    assert [line_of(printed, c).split()[0] for c in CHECKS[1:]] == ["ok"] * 5  # checked still


async def test_doctor_says_the_proxy_cannot_reach_hubbub(tmp_path: Path) -> None:
    async with server_with_doc(tmp_path) as server:
        url = server.url
    async with ReverseProxy([url]) as proxy:  # hubbub has stopped
        code, printed = await doctor(proxy.url)
    assert code == 1
    http = line_of(printed, "http")
    assert http.startswith("FAIL  http [proxy→hubbub]: the proxy answered 502")
    assert "hubbub serve --host/--port" in http


async def test_doctor_refuses_a_certificate_browsers_would_refuse(tmp_path: Path) -> None:
    cert, key = await self_signed(tmp_path)
    tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    tls.load_cert_chain(cert, key)
    async with server_with_doc(tmp_path) as server, ReverseProxy([server.url], tls=tls) as proxy:
        code, printed = await doctor(proxy.url)
    assert code == 1
    refused = line_of(printed, "tls")
    assert refused.startswith("FAIL  tls [client→proxy]: the certificate of 127.0.0.1 is refused")
    assert "self-signed" in refused
    assert line_of(printed, "http").startswith("skip  http: not checked: TLS failed")


@asynccontextmanager
async def two_nodes_behind_a_proxy(
    tmp_path: Path, shared_broker: bool
) -> AsyncIterator[ReverseProxy]:
    """Two nodes on one PostgreSQL database, sharing one Redis channel or each on its own
    in-process broker, with the proxy spreading connections over both in turn."""
    database = pg.fresh_database()
    channel = unique_channel()
    async with AsyncExitStack() as stack:
        nodes = []
        for name in ("a", "b"):
            broker = RedisBroker(require_redis(), channel) if shared_broker else None
            config = config_for(tmp_path / name, storage_url=database)
            nodes.append(await stack.enter_async_context(running_server(config, broker=broker)))
        async with aiohttp.ClientSession() as http:
            await register(http, nodes[0].url, "doc")
        yield await stack.enter_async_context(ReverseProxy([node.url for node in nodes]))


async def test_doctor_passes_two_nodes_that_share_a_broker(tmp_path: Path) -> None:
    async with two_nodes_behind_a_proxy(tmp_path, shared_broker=True) as proxy:
        code, printed = await doctor(proxy.url)
    assert_all_ok(code, printed)
    assert "reached all 8" in line_of(printed, "messages")


async def test_doctor_names_the_broker_when_nodes_do_not_share_one(tmp_path: Path) -> None:
    async with two_nodes_behind_a_proxy(tmp_path, shared_broker=False) as proxy:
        code, printed = await doctor(proxy.url)
    assert code == 1
    messages = line_of(printed, "messages")
    assert messages.startswith(
        "FAIL  messages [hubbub→broker]: a message sent on one of 8 connections reached 4 of"
    )
    assert "HUBBUB_BROKER=redis://" in messages


# --- behind nginx, with the reference file ------------------------------------------------

NGINX = shutil.which("nginx") or shutil.which("nginx", path="/usr/sbin")
REFERENCE = Path(__file__).parents[1] / "deploy" / "nginx" / "hubbub.conf"


def require_nginx() -> str:
    """nginx's path; the nginx tests skip without it (and fail in CI, which installs it)."""
    if NGINX is None:
        reason = "nginx is not installed (apt-get install nginx)"
        if os.environ.get("CI", "").strip().lower() in ("true", "1", "yes"):
            pytest.fail(f"nginx tests must run in CI: {reason}", pytrace=False)
        pytest.skip(reason)
    return NGINX


def reference_site(upstream: str, port: int, cert: Path, key: Path, changes: dict[str, str]) -> str:
    """deploy/nginx/hubbub.conf on 127.0.0.1:``port``, with ``upstream`` as its one node,
    the test's certificate, and ``changes`` (text → its replacement) made to it."""
    text = REFERENCE.read_text()
    edits = {
        "    server 127.0.0.1:8001 max_fails=1 fail_timeout=10s;\n": f"    server {upstream};\n",
        "    server 127.0.0.1:8002 max_fails=1 fail_timeout=10s;\n": "",
        "    listen 80;\n    listen [::]:80;\n": f"    listen 127.0.0.1:{free_port()};\n",
        "    listen 443 ssl;\n    listen [::]:443 ssl;\n": f"    listen 127.0.0.1:{port} ssl;\n",
        "/etc/letsencrypt/live/chat.example.org/fullchain.pem": str(cert),
        "/etc/letsencrypt/live/chat.example.org/privkey.pem": str(key),
    } | changes
    for old, new in edits.items():
        assert old in text, f"{old!r} is no longer in {REFERENCE}"
        text = text.replace(old, new)
    return text


async def self_signed(tmp_path: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 and its key, made by openssl."""
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    made = await asyncio.create_subprocess_exec(
        *("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2"),
        *("-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"),
        *("-keyout", str(key), "-out", str(cert)),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    assert await made.wait() == 0
    return cert, key


@asynccontextmanager
async def nginx_in_front(
    tmp_path: Path, upstream: str, cert: Path, key: Path, changes: dict[str, str]
) -> AsyncIterator[str]:
    """nginx with the reference file in front of ``upstream``, until the block ends; its
    https URL. Started and stopped by its pid."""
    nginx = require_nginx()
    root = tmp_path / "nginx"
    root.mkdir()
    port = free_port()
    (root / "hubbub.conf").write_text(reference_site(upstream, port, cert, key, changes))
    user = "user root;\n" if os.geteuid() == 0 else ""  # workers must write in tmp_path
    temp = "".join(f"    {kind}_temp_path {root}/{kind};\n" for kind in TEMP_PATHS)
    (root / "nginx.conf").write_text(
        f"{user}daemon off;\nworker_processes 1;\npid {root}/nginx.pid;\n"
        f"error_log {root}/error.log;\nevents {{ worker_connections 512; }}\n"
        f"http {{\n    access_log off;\n{temp}    include {root}/hubbub.conf;\n}}\n"
    )
    process = await asyncio.create_subprocess_exec(
        nginx, "-p", str(root), "-e", str(root / "error.log"), "-c", str(root / "nginx.conf")
    )
    try:
        await wait_for_port(port, process)
        yield f"https://127.0.0.1:{port}"
    finally:
        if process.returncode is None:
            os.kill(process.pid, signal.SIGTERM)
        await process.wait()


TEMP_PATHS = ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")


async def wait_for_port(port: int, process: asyncio.subprocess.Process) -> None:
    deadline = asyncio.get_running_loop().time() + 10
    while True:
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
        except OSError:
            if process.returncode is not None or asyncio.get_running_loop().time() > deadline:
                raise RuntimeError("nginx did not start") from None
            await asyncio.sleep(0.05)
        else:
            writer.close()
            await writer.wait_closed()
            return


async def doctor_command(url: str, cert: Path, *args: str) -> tuple[int, str]:
    """``hubbub doctor url --user doc --password-stdin --idle 1 *args``, trusting ``cert``
    as a browser trusts a certificate authority; its exit code and output."""
    process = await asyncio.create_subprocess_exec(
        *(sys.executable, "-m", "hubbub", "doctor", url, "--idle", "1", *args),
        *("--user", "doc", "--password-stdin"),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=os.environ | {"SSL_CERT_FILE": str(cert)},
    )
    out, err = await asyncio.wait_for(process.communicate(f"{PASSWORD}\n".encode()), 90)
    assert process.returncode is not None
    return process.returncode, out.decode() + err.decode()


# On another port than 443 the Host header carries the port, which nginx's $host drops (the
# reference file passes $http_host): the doctor says so (below).
HOST_WITHOUT_PORT = {"proxy_set_header Host $http_host;": "proxy_set_header Host $host;"}


async def test_doctor_passes_nginx_with_the_reference_file(tmp_path: Path) -> None:
    cert, key = await self_signed(tmp_path)
    async with (
        server_with_doc(tmp_path, trusted_proxies=("127.0.0.1",)) as server,
        nginx_in_front(tmp_path, server.url[7:], cert, key, {}) as url,
    ):
        code, out = await doctor_command(url, cert)
    assert code == 0, out
    statuses = [line.split()[:2] for line in out.splitlines() if not line.startswith(" ")]
    assert statuses == [["ok", f"{check}:"] for check in ("tls", *CHECKS)], out


async def test_doctor_names_the_lines_nginx_lacks_for_websockets(tmp_path: Path) -> None:
    cert, key = await self_signed(tmp_path)
    without = {
        "        proxy_set_header Upgrade $http_upgrade;\n": "",
        "        proxy_set_header Connection $connection_upgrade;\n": "",
    }
    async with (
        server_with_doc(tmp_path, trusted_proxies=("127.0.0.1",)) as server,
        nginx_in_front(tmp_path, server.url[7:], cert, key, without) as url,
    ):
        code, out = await doctor_command(url, cert)
    assert code == 1
    assert "FAIL  websocket [proxy→hubbub]: the handshake got 200 instead of 101" in out
    assert "    proxy_set_header Upgrade $http_upgrade;\n" in out


async def test_doctor_says_hubbub_does_not_believe_nginx_s_https(tmp_path: Path) -> None:
    cert, key = await self_signed(tmp_path)
    async with (
        server_with_doc(tmp_path) as server,  # HUBBUB_TRUSTED_PROXIES unset
        nginx_in_front(tmp_path, server.url[7:], cert, key, {}) as url,
    ):
        code, out = await doctor_command(url, cert)
    assert code == 1
    assert f"FAIL  origin [proxy→hubbub]: hubbub refuses pages of {url}" in out
    assert "it takes its own scheme to be http" in out
    assert "HUBBUB_TRUSTED_PROXIES=<the proxy's address, e.g. 127.0.0.1>" in out


async def test_doctor_says_nginx_s_host_drops_the_port(tmp_path: Path) -> None:
    cert, key = await self_signed(tmp_path)
    async with (
        server_with_doc(tmp_path, trusted_proxies=("127.0.0.1",)) as server,
        nginx_in_front(tmp_path, server.url[7:], cert, key, HOST_WITHOUT_PORT) as url,
    ):
        code, out = await doctor_command(url, cert)
    assert code == 1
    assert f"the Host it sees is not {url[8:]}" in out
    assert "proxy_set_header Host $http_host; (with the port: $host drops it)" in out


async def test_doctor_names_proxy_read_timeout_when_nginx_cuts_idle_sockets(
    tmp_path: Path,
) -> None:
    cert, key = await self_signed(tmp_path)
    short = {
        "        proxy_read_timeout 75s;\n        proxy_send_timeout 75s;\n": (
            "        proxy_read_timeout 1s;\n        proxy_send_timeout 75s;\n"
        )
    }
    async with (
        server_with_doc(tmp_path, trusted_proxies=("127.0.0.1",)) as server,
        nginx_in_front(tmp_path, server.url[7:], cert, key, short) as url,
    ):
        code, out = await doctor_command(url, cert, "--idle", "3")
    assert code == 1
    assert "FAIL  idle [proxy→hubbub]: an idle WebSocket was cut after 1 s" in out
    assert "proxy_read_timeout 75s;" in out
