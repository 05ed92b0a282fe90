"""The rules of outgoing webhooks (``core.outgoing``): which URLs and addresses a hook may
point to, which messages fire it, how a delivery is signed, what a reply posts, when to try
again; and the resolver that checks every connection's addresses (``SafeResolver``), with
a real resolution of ``localhost``."""

from __future__ import annotations

import hashlib
import hmac
import socket

import pytest
from aiohttp.abc import AbstractResolver, ResolveResult

from hubbub.core import outgoing
from hubbub.core.outgoing import OutgoingWebhook, Trigger
from hubbub.service.safe_resolver import ForbiddenAddress, SafeResolver

FORBIDDEN = [
    "127.0.0.1",
    "127.8.9.10",
    "10.0.0.1",
    "172.16.5.4",
    "192.168.1.1",
    "169.254.169.254",
    "100.64.0.1",  # shared address space (carrier NAT)
    "0.0.0.0",
    "224.0.0.1",
    "240.0.0.1",
    "255.255.255.255",
    "::1",
    "::",
    "fe80::1",
    "fc00::1",
    "fd12:3456::1",
    "ff02::1",
    "::ffff:127.0.0.1",  # IPv4-mapped
    "::ffff:10.0.0.1",
    "2002:7f00:1::",  # 6to4 of 127.0.0.1
    "64:ff9b::a00:1",  # NAT64 of 10.0.0.1
    "fe80::1%eth0",
    "not an address",
]
PUBLIC = ["93.184.216.34", "8.8.8.8", "2606:4700:4700::1111", "::ffff:8.8.8.8"]


@pytest.mark.parametrize("address", FORBIDDEN)
def test_non_public_addresses_are_forbidden(address: str) -> None:
    assert outgoing.forbidden_address(address)


@pytest.mark.parametrize("address", PUBLIC)
def test_public_addresses_are_not(address: str) -> None:
    assert not outgoing.forbidden_address(address)


def test_a_url_is_http_or_https_with_a_host_and_bounded() -> None:
    assert outgoing.check_url("https://example.org/in") == outgoing.Target(
        "https", "example.org", 443
    )
    assert outgoing.check_url("http://[::1]:8080/x") == outgoing.Target("http", "::1", 8080)
    assert outgoing.check_url("HTTP://Example.org") == outgoing.Target("http", "example.org", 80)
    bad = [
        "ftp://example.org/",
        "file:///etc/passwd",
        "gopher://example.org",
        "javascript:alert(1)",
        "https://",
        "//example.org/x",
        "https://user:pw@example.org/",
        "https://example.org:99999/",
        "https://exa mple.org/",
        "https://exämple.org/",
        "https://example.org/" + "x" * outgoing.MAX_URL_CHARS,
    ]
    for url in bad:
        with pytest.raises(ValueError):
            outgoing.check_url(url)


def test_trigger_words_are_bounded_and_lowercased() -> None:
    assert outgoing.checked_words(["Deploy", "ship", "DEPLOY"]) == ("deploy", "ship")
    for words in ([], ["a"] * 11, ["two words"], [""], ["x" * 33], ["tab\there"]):
        with pytest.raises(ValueError):
            outgoing.checked_words(words)


def hook(trigger: Trigger, words: tuple[str, ...] = ()) -> OutgoingWebhook:
    return OutgoingWebhook(
        id="abc",
        room="ops",
        name="Relay",
        url="https://example.org/",
        trigger=trigger,
        words=words,
        username="hook-abc",
        created_by="mia",
        created_at=1,
    )


def test_which_messages_fire_a_hook() -> None:
    every = hook(Trigger.ALL)
    assert outgoing.match(every, "anything", (), from_bot=False) == ""
    assert outgoing.match(every, "anything", (), from_bot=True) is None  # no loops
    mention = hook(Trigger.MENTION)
    assert outgoing.match(mention, "hi @hook-abc", ("hook-abc",), from_bot=False) == ""
    assert outgoing.match(mention, "hi @mia", ("mia",), from_bot=False) is None
    assert outgoing.match(mention, "hi @hook-abc", ("hook-abc",), from_bot=True) is None
    words = hook(Trigger.WORDS, ("deploy", "ship"))
    assert outgoing.match(words, "Deploy now", (), from_bot=False) == "Deploy"
    assert outgoing.match(words, "  SHIP\tit", (), from_bot=False) == "SHIP"
    assert outgoing.match(words, "please deploy", (), from_bot=False) is None
    assert outgoing.match(words, "deployment", (), from_bot=False) is None
    assert outgoing.match(words, "", (), from_bot=False) is None
    assert outgoing.match(words, "deploy", (), from_bot=True) is None


def test_the_signature_is_hmac_sha256_of_timestamp_dot_body() -> None:
    body = b'{"id":"abc"}'
    expected = hmac.new(b"sekrit", b"1700000000." + body, hashlib.sha256).hexdigest()
    assert outgoing.signature("sekrit", 1_700_000_000, body) == f"v1={expected}"


def test_a_reply_posts_its_text_and_a_malformed_one_is_an_error() -> None:
    assert outgoing.reply_text(b'{"text": "done"}') == "done"
    assert outgoing.reply_text(b'{"text": "  "}') is None
    assert outgoing.reply_text(b'{"ok": true}') is None
    assert outgoing.reply_text(b"[1, 2]") is None
    assert outgoing.reply_text(b"") is None
    for raw in (b"{not json", b'{"text": 5}'):
        with pytest.raises(ValueError):
            outgoing.reply_text(raw)


def test_retries_and_backoff() -> None:
    assert [outgoing.retryable(s) for s in (500, 503, 429, 400, 404, 410)] == [
        True,
        True,
        True,
        False,
        False,
        False,
    ]
    assert [outgoing.backoff(n, 1.0) for n in (1, 2, 3, 4)] == [1.0, 2.0, 4.0, 8.0]
    assert outgoing.backoff(30, 1.0) == outgoing.MAX_RETRY_DELAY


class Fixed(AbstractResolver):
    """A resolver that answers the given addresses, as a rebinding name would."""

    def __init__(self, *addresses: str) -> None:
        self.addresses = addresses

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        return [
            ResolveResult(hostname=host, host=a, port=port, family=family, proto=0, flags=0)
            for a in self.addresses
        ]

    async def close(self) -> None:
        pass


async def test_the_resolver_refuses_localhost_for_real() -> None:
    resolver = SafeResolver()
    try:
        with pytest.raises(ForbiddenAddress):
            await resolver.resolve("localhost", 80, socket.AF_UNSPEC)
    finally:
        await resolver.close()


async def test_the_resolver_keeps_only_public_addresses() -> None:
    mixed = SafeResolver(Fixed("10.0.0.1", "93.184.216.34", "::1"))
    assert [r["host"] for r in await mixed.resolve("rebind.example", 443)] == ["93.184.216.34"]
    with pytest.raises(ForbiddenAddress):
        await SafeResolver(Fixed("127.0.0.1", "169.254.169.254")).resolve("rebind.example")
