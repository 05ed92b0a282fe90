"""The ``hubbub`` command: ``serve`` runs the server, ``migrate`` brings a database up to date,
``migrate-to`` copies an SQLite deployment into PostgreSQL (``storage/transfer.py``).

Startup problems (a bad option, an unusable data dir or database, a taken port) are one line
on stderr and exit code 2, never a traceback.
"""

from __future__ import annotations

import argparse
import asyncio
import fcntl
import logging
import os
import signal
import socket
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import NoReturn

from aiohttp import web

from hubbub import __version__
from hubbub.config import Config, ConfigError, load
from hubbub.service.node import Node
from hubbub.storage import factory, transfer
from hubbub.storage.base import StorageError
from hubbub.transport.app import create_app
from hubbub.transport.context import STATE
from hubbub.transport.front import listen

log = logging.getLogger("hubbub")

LOCK_FILE = "hubbub.lock"  # in the data dir; holds the pid of the process that has it


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        self.exit(2, f"hubbub: error: {message} (see hubbub --help)\n")


_DATA_DIR_HELP = "where the lock and, by default, the database live (./hubbub-data)"
_DATABASE_HELP = (
    "the storage URL: sqlite:path or postgresql://user@host/db"
    " (default: sqlite: in the data dir; HUBBUB_STORAGE_URL)"
)


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="hubbub", description="A self-hosted instant-messaging server.")
    parser.add_argument("--version", action="version", version=f"hubbub {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    serve = commands.add_parser("serve", help="run the server")
    serve.add_argument("--host", help="address to listen on (default 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port to listen on (default 8001)")
    serve.add_argument("--data-dir", type=Path, help=_DATA_DIR_HELP)
    serve.add_argument("--database", dest="storage_url", help=_DATABASE_HELP)
    serve.add_argument(
        "--broker",
        help="redis://host:port/db to share fan-out with other nodes (default: this node only)",
    )
    serve.add_argument(
        "--no-guests",
        dest="guests",
        action="store_false",
        default=None,
        help="refuse the seed's plain-text clients",
    )
    serve.add_argument("--log-level", default="info", choices=["debug", "info", "warning", "error"])
    mig = commands.add_parser("migrate", help="apply pending schema migrations and exit")
    mig.add_argument("--data-dir", type=Path, help=_DATA_DIR_HELP)
    mig.add_argument("--database", dest="storage_url", help=_DATABASE_HELP)
    move = commands.add_parser(
        "migrate-to", help="copy the SQLite database into an empty PostgreSQL one and exit"
    )
    move.add_argument("target", metavar="URL", help="postgresql://user@host/database to fill")
    move.add_argument("--data-dir", type=Path, help=_DATA_DIR_HELP)
    move.add_argument("--database", dest="storage_url", help="the SQLite database to copy")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        flags = ("host", "port", "data_dir", "guests", "broker", "storage_url")
        overrides = {k: getattr(args, k, None) for k in flags}
        config = load(**overrides)
        if args.command == "migrate-to":  # bad URLs or no database: refused, nothing touched
            transfer.check(config.storage_url, args.target)
        _prepare_data_dir(config)
        if args.command == "migrate-to":
            _print_moved(transfer.move(config.storage_url, args.target))
            return 0
        if args.command == "migrate":
            version = factory.migrate(config.storage_url)
            where = factory.location(config.storage_url)
            print(f"hubbub: {where} is at schema version {version}")
            return 0
        logging.basicConfig(
            level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
        )
        return _run(config)
    except (ConfigError, StartupError, StorageError) as exc:
        print(f"hubbub: error: {exc}", file=sys.stderr)
        return 2


def _print_moved(moved: transfer.Moved) -> None:
    print(f"hubbub: copied {moved.source} to {moved.target}")
    for table, count in moved.counts:
        print(f"  {table:<10} {count:>10}")


class StartupError(Exception):
    """The server cannot start; the message is one line for the operator."""


def _prepare_data_dir(config: Config) -> None:
    """Create the data dir, lock it for this process, and check that it is writable."""
    try:
        config.data_dir.mkdir(parents=True, exist_ok=True)
        _lock(config.data_dir)
        probe = config.data_dir / ".write-test"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        raise StartupError(
            f"cannot use data dir {str(config.data_dir)!r}: {exc.strerror or exc}"
        ) from None


def _lock(data_dir: Path) -> None:
    """An exclusive lock on ``data_dir`` for the life of the process: two servers on one
    database would fail each other's commits. The descriptor is never closed; the kernel
    releases the lock however the process ends."""
    fd = os.open(data_dir / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        owner = os.pread(fd, 20, 0).decode(errors="replace").strip()
        os.close(fd)
        pid = f" (pid {owner})" if owner.isdigit() else ""
        raise StartupError(
            f"data dir {str(data_dir)!r} is in use by another hubbub process{pid}"
        ) from None
    os.ftruncate(fd, 0)
    os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)


def _run(config: Config) -> int:
    try:
        import uvloop
    except ImportError:  # pragma: no cover - uvloop is a dependency everywhere it builds
        return asyncio.run(serve(config))
    return uvloop.run(serve(config))


async def serve(config: Config) -> int:
    """Run until SIGTERM or SIGINT, then shut down gracefully."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    # The port first: a server that cannot listen must not create or migrate a database.
    try:
        listener = socket.create_server((config.host, config.port), backlog=1024)
    except OSError as exc:
        reason = exc.strerror or str(exc)
        raise StartupError(f"cannot listen on {config.host}:{config.port}: {reason}") from None
    try:
        async with Node(config) as node:
            app = create_app(node)
            runner = web.AppRunner(
                app,
                handle_signals=False,
                access_log=None,
                shutdown_timeout=config.shutdown_timeout,
            )
            await runner.setup()
            try:
                assert runner.server is not None
                server = await listen(app[STATE], runner.server, listener)
                host, port = listener.getsockname()[:2]
                shown = f"[{host}]" if ":" in host else host
                print(f"hubbub is listening on http://{shown}:{port}/", flush=True)
                await stop.wait()
                log.info("shutting down")
                server.close()  # accept nothing more; open connections close below
            finally:
                await runner.cleanup()
    finally:
        listener.close()
    return 0
