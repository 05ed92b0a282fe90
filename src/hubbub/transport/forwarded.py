"""Who a request really comes from when a proxy (nginx) stands in front. Pure functions.

Behind a proxy every connection comes from the proxy's address, so each per-address limit
(connection caps, sign-up and sign-in throttles, guests' rates) would be shared by all clients,
and the server would not know that the page was served over https. A proxy listed in
``trusted_proxies`` (``HUBBUB_TRUSTED_PROXIES``) is believed about both: the client is the
address that ``X-Forwarded-For`` names last before the trusted proxies (headers of anyone else
can be forged: they are ignored), and the scheme is ``X-Forwarded-Proto``'s.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


class BadProxy(ValueError):
    """An entry of ``trusted_proxies`` that is no address nor network."""


class Proxies:
    """The proxies whose forwarding headers are believed; none by default."""

    def __init__(self, entries: Iterable[str]) -> None:
        self._networks: list[Network] = []
        for entry in entries:
            try:
                self._networks.append(ipaddress.ip_network(entry, strict=False))
            except ValueError:
                raise BadProxy(f"{entry!r}, which is no IP address or network") from None

    def trusts(self, address: str) -> bool:
        if not self._networks:
            return False
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return False
        return any(ip in network for network in self._networks)

    def client(self, peer: str, forwarded_for: str | None) -> str:
        """The client's address: ``peer``, unless it is a trusted proxy that says whom it
        forwards for. The header is read from the right, past further trusted proxies; an
        entry that is no address ends the walk (what lies left of it is not to be trusted)."""
        if not forwarded_for or not self.trusts(peer):
            return peer
        client = peer
        for entry in reversed(forwarded_for.split(",")):
            entry = entry.strip()
            try:
                ipaddress.ip_address(entry)
            except ValueError:
                break
            client = entry
            if not self.trusts(entry):
                break
        return client

    def scheme(self, peer: str, scheme: str, forwarded_proto: str | None) -> str:
        """``https`` when a trusted proxy says the client spoke it; otherwise ``scheme``."""
        if forwarded_proto and self.trusts(peer):
            said = forwarded_proto.split(",")[0].strip().lower()
            if said in ("http", "https"):
                return said
        return scheme
