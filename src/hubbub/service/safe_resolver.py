"""The resolver of outgoing webhooks' connections: it resolves as aiohttp's default one
does, then keeps only the addresses a hook may reach (``core.outgoing.forbidden_address``).

A hook's URL is checked when it is made, but a name may resolve to another address by the
time a message is delivered (DNS rebinding): the connection goes only to an address checked
here, at the moment it is made.
"""

from __future__ import annotations

import socket

from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import DefaultResolver

from hubbub.core.outgoing import forbidden_address


class ForbiddenAddress(OSError):
    """A host resolved to no address a hook may reach: not tried again."""


class SafeResolver(AbstractResolver):
    def __init__(self, inner: AbstractResolver | None = None) -> None:
        self._inner = inner or DefaultResolver()

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        found = await self._inner.resolve(host, port, family)
        allowed = [each for each in found if not forbidden_address(each["host"])]
        if not allowed:
            raise ForbiddenAddress(f"{host!r} resolves to no public address")
        return allowed

    async def close(self) -> None:
        await self._inner.close()
