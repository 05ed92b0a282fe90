"""Behind a proxy: a trusted proxy's X-Forwarded-For names the client whose per-address
limits apply, and its X-Forwarded-Proto the scheme (Secure cookies, the page's own https
origin); anyone else's forwarding headers change nothing."""

from __future__ import annotations

import re
from pathlib import Path

import aiohttp
import pytest
from support import PASSWORD, config_for, running_server

from hubbub.config import ConfigError, load
from hubbub.transport.forwarded import BadProxy, Proxies

PROXY = Proxies(["127.0.0.1", "10.0.0.0/8", "::1"])


@pytest.mark.parametrize(
    ("peer", "header", "client"),
    [
        ("127.0.0.1", "203.0.113.5", "203.0.113.5"),
        ("127.0.0.1", "198.51.100.1, 203.0.113.5", "203.0.113.5"),  # the last one added
        ("127.0.0.1", "203.0.113.5, 10.1.2.3", "203.0.113.5"),  # past a trusted hop
        ("127.0.0.1", "10.1.2.3, 10.4.5.6", "10.1.2.3"),  # all trusted: the first
        ("127.0.0.1", "forged, 203.0.113.5", "203.0.113.5"),
        ("127.0.0.1", "203.0.113.5, garbage", "127.0.0.1"),  # nothing left of junk counts
        ("127.0.0.1", "", "127.0.0.1"),
        ("127.0.0.1", None, "127.0.0.1"),
        ("::1", "2001:db8::7", "2001:db8::7"),
        ("192.0.2.9", "203.0.113.5", "192.0.2.9"),  # not a trusted proxy: ignored
    ],
)
def test_the_client_is_whom_a_trusted_proxy_forwards_for(
    peer: str, header: str | None, client: str
) -> None:
    assert PROXY.client(peer, header) == client


def test_the_scheme_is_a_trusted_proxys_word() -> None:
    assert PROXY.scheme("127.0.0.1", "http", "https") == "https"
    assert PROXY.scheme("127.0.0.1", "http", "HTTPS, http") == "https"
    assert PROXY.scheme("127.0.0.1", "http", "gopher") == "http"
    assert PROXY.scheme("192.0.2.9", "http", "https") == "http"
    assert Proxies([]).client("127.0.0.1", "203.0.113.5") == "127.0.0.1"


def test_a_bad_proxy_entry_is_a_config_error() -> None:
    with pytest.raises(BadProxy):
        Proxies(["10.0.0.0/33"])
    refused = re.escape("HUBBUB_TRUSTED_PROXIES has 'nginx.local', which is no IP address")
    with pytest.raises(ConfigError, match=refused):
        load(env={"HUBBUB_TRUSTED_PROXIES": "127.0.0.1, nginx.local"})
    assert load(env={"HUBBUB_TRUSTED_PROXIES": "127.0.0.1, 10.0.0.0/8"}).trusted_proxies == (
        "127.0.0.1",
        "10.0.0.0/8",
    )


async def register_from(http: aiohttp.ClientSession, url: str, name: str, client: str) -> int:
    async with http.post(
        f"{url}/api/v1/register",
        json={"username": name, "password": PASSWORD},
        headers={"X-Forwarded-For": client, "X-Forwarded-Proto": "https"},
    ) as response:
        return response.status


@pytest.mark.parametrize("trusted", [True, False])
async def test_sign_up_limits_count_per_forwarded_client_only_behind_a_trusted_proxy(
    tmp_path: Path, http: aiohttp.ClientSession, trusted: bool
) -> None:
    proxies = ("127.0.0.1",) if trusted else ()
    config = config_for(tmp_path, signup_burst=1.0, trusted_proxies=proxies)
    async with running_server(config) as server:
        assert await register_from(http, server.url, "ann", "203.0.113.5") == 201
        # Another client behind the same proxy: its own bucket, if the proxy is believed.
        assert await register_from(http, server.url, "ben", "203.0.113.6") == (
            201 if trusted else 429
        )
        assert await register_from(http, server.url, "cat", "203.0.113.5") == 429


@pytest.mark.parametrize("trusted", [True, False])
async def test_https_at_a_trusted_proxy_makes_the_cookie_secure_and_the_origin_ours(
    tmp_path: Path, http: aiohttp.ClientSession, trusted: bool
) -> None:
    proxies = ("127.0.0.1",) if trusted else ()
    async with running_server(config_for(tmp_path, trusted_proxies=proxies)) as server:
        host = server.url.removeprefix("http://")
        headers = {"X-Forwarded-Proto": "https", "Origin": f"https://{host}"}
        async with http.post(
            f"{server.url}/api/v1/register",
            json={"username": "ann", "password": PASSWORD},
            headers=headers,
        ) as response:
            assert response.status == (201 if trusted else 403), await response.text()
            cookie = response.headers.get("Set-Cookie", "")
        assert ("Secure" in cookie) is trusted
