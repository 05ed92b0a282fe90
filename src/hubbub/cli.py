"""The ``hubbub`` command: ``serve`` runs the server, ``migrate`` brings a database up to date,
``migrate-to`` copies an SQLite deployment into PostgreSQL (``storage/transfer.py``),
``doctor`` checks a deployment from outside as its clients see it (``doctor/``), ``admin``
manages users, exports, imports, backs up and verifies beside a running server (``admin/``),
``chat`` is the terminal client (``chat/``, imported only when it runs: the server never
loads Textual).

Startup problems (a bad option, an unusable data dir or database, a taken port) are one line
on stderr and exit code 2, never a traceback.
"""

from __future__ import annotations

import argparse
import asyncio
import fcntl
import gc
import json
import logging
import os
import signal
import socket
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import NoReturn

from aiohttp import web

from hubbub import __version__, doctor, logs
from hubbub.admin import cli as admin_cli
from hubbub.config import Config, ConfigError, Sourced, load_sources, shown
from hubbub.core.registration import MODES
from hubbub.logs import LOG_FORMATS
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
_CONFIG_HELP = "a TOML settings file (default: hubbub.toml in the data dir, if there is one)"
# The settings that flags set (Config's field names), and each flag as the operator types it.
_FLAG_NAMES = {
    "host": "--host",
    "port": "--port",
    "data_dir": "--data-dir",
    "storage_url": "--database",
    "broker": "--broker",
    "guests": "--no-guests",
    "registration": "--registration",
    "log_format": "--log-format",
}


def _source_flags(parser: argparse.ArgumentParser, database_help: str = _DATABASE_HELP) -> None:
    """The flags of every command that reads the settings: where they are, and the database."""
    parser.add_argument("--config", type=Path, metavar="PATH", help=_CONFIG_HELP)
    parser.add_argument("--data-dir", type=Path, help=_DATA_DIR_HELP)
    parser.add_argument("--database", dest="storage_url", help=database_help)


def _server_flags(parser: argparse.ArgumentParser) -> None:
    """The flags of ``serve``, which ``config`` takes too, to show what they would make."""
    _source_flags(parser)
    parser.add_argument("--host", help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, help="port to listen on (default 8001)")
    parser.add_argument(
        "--broker",
        help="redis://host:port/db to share fan-out with other nodes (default: this node only)",
    )
    parser.add_argument(
        "--no-guests",
        dest="guests",
        action="store_false",
        default=None,
        help="refuse the seed's plain-text clients",
    )
    parser.add_argument(
        "--registration",
        choices=MODES,
        help="who may create an account: open, closed or invite (default open)",
    )
    parser.add_argument(
        "--log-format",
        choices=LOG_FORMATS,
        help="text lines, or one JSON object per line (default text; HUBBUB_LOG_FORMAT)",
    )


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="hubbub", description="A self-hosted instant-messaging server.")
    parser.add_argument("--version", action="version", version=f"hubbub {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    serve = commands.add_parser("serve", help="run the server")
    _server_flags(serve)
    serve.add_argument("--log-level", default="info", choices=["debug", "info", "warning", "error"])
    mig = commands.add_parser("migrate", help="apply pending schema migrations and exit")
    _source_flags(mig)
    move = commands.add_parser(
        "migrate-to", help="copy the SQLite database into an empty PostgreSQL one and exit"
    )
    move.add_argument("target", metavar="URL", help="postgresql://user@host/database to fill")
    _source_flags(move, database_help="the SQLite database to copy")
    show = commands.add_parser(
        "config", help="print the settings in use, each with where it came from, and exit"
    )
    _server_flags(show)
    show.add_argument("--json", action="store_true", help="as one JSON document")
    doctor.add_parser(commands)
    admin_cli.add_parser(commands, _source_flags)
    chat = commands.add_parser("chat", help="the terminal client (docs/chat.md)")
    chat.add_argument(
        "url",
        nargs="?",
        metavar="URL",
        help="the server (default: the last one used, else http://127.0.0.1:8001)",
    )
    chat.add_argument(
        "--sign-out", action="store_true", help="revoke and forget the token kept for URL"
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "doctor":  # looks at a deployment from outside: no settings of its own
        return doctor.main(args)
    if args.command == "chat":  # a client: no settings of its own, Textual loaded only here
        from hubbub.chat import command as chat_command

        return chat_command.run(args)
    try:
        flags = {name: getattr(args, name, None) for name in _FLAG_NAMES}
        file = getattr(args, "config", None)
        sourced = load_sources(file=file, flag_names=_FLAG_NAMES, **flags)
        if args.command == "config":
            _print_settings(sourced, as_json=args.json)
            return 0
        config = sourced.config
        if args.command == admin_cli.COMMAND:  # beside a running server: no lock taken
            return admin_cli.run(args, config)
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
        logs.setup(args.log_level, config.log_format)
        return _run(config)
    except (ConfigError, StartupError, StorageError) as exc:
        print(f"hubbub: error: {exc}", file=sys.stderr)
        return 2


def _print_settings(sourced: Sourced, *, as_json: bool) -> None:
    """Every setting in Config's order: its value (no password) and where it came from."""
    rows = [
        (name, shown(name, getattr(sourced.config, name)), origin)
        for name, origin in sourced.origins.items()
    ]
    if as_json:
        file = None if sourced.file is None else str(sourced.file)
        settings = {
            name: {"value": value, "source": origin.kind, "from": origin.where or None}
            for name, value, origin in rows
        }
        print(json.dumps({"file": file, "settings": settings}, indent=2, ensure_ascii=False))
        return
    lefts = [f"{name} = {json.dumps(value, ensure_ascii=False)}" for name, value, _ in rows]
    width = min(max(map(len, lefts)), 60)
    for left, (_, _, origin) in zip(lefts, rows, strict=True):
        print(f"{left:<{width}}  # {origin}")


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
                # What startup made (modules, the app, the caches) lives as long as the
                # server: frozen, the collector never walks it again. Each full collection
                # walked it for about 20 ms, in the tail of acks under load.
                gc.freeze()
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
