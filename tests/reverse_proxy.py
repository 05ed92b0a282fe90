"""A small reverse proxy for tests, in front of real hubbub servers: it forwards HTTP and
WebSockets as bytes, one upstream connection per client connection, spreading connections
over its upstreams in turn, and can be told to break the way misconfigured proxies do.

- ``drop_upgrade``: the request goes on without ``Upgrade`` and with ``Connection: close``,
  as nginx sends it without ``proxy_set_header Upgrade/Connection``: hubbub sees a plain GET.
- ``read_timeout``: a connection is cut, without a word, once nothing came from the upstream
  for that many seconds (nginx's ``proxy_read_timeout``).
- ``host``: the ``Host`` sent upstream instead of the client's (nginx without
  ``proxy_set_header Host``).
- ``deny``: paths answered 404 by the proxy itself (nginx's ``location = /healthz { return
  404; }``).

Like the reference nginx file it says ``X-Forwarded-For`` and ``X-Forwarded-Proto``. An
upstream that refuses the connection gets the client a 502. Every connection it holds is
closed when it stops.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import ssl
from collections.abc import Sequence
from types import TracebackType

HOP_BY_HOP = {b"upgrade", b"connection", b"x-forwarded-for", b"x-forwarded-proto", b"host"}
BAD_GATEWAY = b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
NOT_FOUND = b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"


class ReverseProxy:
    def __init__(
        self,
        upstreams: Sequence[str],
        *,
        drop_upgrade: bool = False,
        read_timeout: float | None = None,
        host: str | None = None,
        deny: Sequence[str] = (),
        tls: ssl.SSLContext | None = None,
    ) -> None:
        self.upstreams = [_address(url) for url in upstreams]
        self.drop_upgrade = drop_upgrade
        self.read_timeout = read_timeout
        self.host = host
        self.deny = set(deny)
        self._tls = tls
        self._turn = itertools.cycle(range(len(self.upstreams)))
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self.port = 0
        self.cut = 0  # connections cut by read_timeout
        self.bad_gateways = 0  # requests answered 502

    @property
    def url(self) -> str:
        return f"{'https' if self._tls else 'http'}://127.0.0.1:{self.port}"

    async def __aenter__(self) -> ReverseProxy:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", 0, ssl=self._tls)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        assert self._server is not None
        self._server.close()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self._server.wait_closed()

    def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.create_task(self._serve(reader, writer))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        upstream: asyncio.StreamWriter | None = None
        try:
            try:
                head = await reader.readuntil(b"\r\n\r\n")
            except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, OSError):
                return
            target = head.split(b" ", 2)[1].decode("latin-1") if b" " in head else ""
            if target.split("?")[0] in self.deny:
                writer.write(NOT_FOUND)
                await writer.drain()
                return
            host, port = self.upstreams[next(self._turn)]
            try:
                up_reader, upstream = await asyncio.open_connection(host, port)
            except OSError:
                self.bad_gateways += 1
                writer.write(BAD_GATEWAY)
                await writer.drain()
                return
            upstream.write(self._rewrite(head, f"{host}:{port}"))
            await asyncio.gather(
                self._pipe(reader, upstream, None), self._pipe(up_reader, writer, self.read_timeout)
            )
        except (OSError, asyncio.CancelledError):
            pass
        finally:
            for side in (writer, upstream):
                if side is not None:
                    side.close()
                    with contextlib.suppress(OSError, asyncio.CancelledError):
                        await side.wait_closed()

    def _rewrite(self, head: bytes, upstream: str) -> bytes:
        lines = head[:-4].split(b"\r\n")
        kept, client_host = [lines[0]], b""
        upgrade = connection = b""
        for line in lines[1:]:
            name, _, value = line.partition(b":")
            key = name.strip().lower()
            if key == b"host":
                client_host = value.strip()
            elif key == b"upgrade":
                upgrade = value.strip()
            elif key == b"connection":
                connection = value.strip()
            if key not in HOP_BY_HOP:
                kept.append(line)
        if upgrade and not self.drop_upgrade:
            kept += [b"Upgrade: " + upgrade, b"Connection: " + connection]
        else:
            kept.append(b"Connection: close")
        host = self.host.encode() if self.host is not None else client_host or upstream.encode()
        kept += [
            b"Host: " + host,
            b"X-Forwarded-For: 127.0.0.1",
            b"X-Forwarded-Proto: " + (b"https" if self._tls else b"http"),
        ]
        return b"\r\n".join(kept) + b"\r\n\r\n"

    async def _pipe(
        self, source: asyncio.StreamReader, sink: asyncio.StreamWriter, timeout: float | None
    ) -> None:
        """Copy until either side ends; past ``timeout`` without a byte, cut both."""
        try:
            while True:
                try:
                    data = await asyncio.wait_for(source.read(65536), timeout)
                except TimeoutError:
                    self.cut += 1
                    break
                if not data:
                    break
                sink.write(data)
                await sink.drain()
        except OSError:
            pass
        finally:
            sink.close()  # the other pipe then ends too


def _address(url: str) -> tuple[str, int]:
    hostport = url.split("://", 1)[-1].rstrip("/")
    host, _, port = hostport.rpartition(":")
    return host, int(port)
