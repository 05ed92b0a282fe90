"""The ``hubbub admin …`` commands: their flags, what they print, and their exit codes.

Every command reads the settings as ``serve`` does (the flags ``add_source_flags`` gives
each one) and takes no lock. A failure is one line on stderr and exit code 1; bad usage or
settings (a missing database, a bad name) exit code 2.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import getpass
import os
import sqlite3
import sys
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import IO, Any
from urllib.parse import urlsplit

from hubbub.admin import accounts, backup, compact, dump, verify
from hubbub.admin.database import AdminError, Database, UsageError, open_database
from hubbub.config import Config
from hubbub.core.accounts import ServerRole
from hubbub.errors import HubbubError
from hubbub.protocol.limits import MAX_PASSWORD
from hubbub.service.actions import wall_clock_ms
from hubbub.storage import factory
from hubbub.storage.base import StorageError
from hubbub.storage.postgres import SCHEMES as POSTGRES_SCHEMES

COMMAND = "admin"


def add_parser(commands: Any, add_source_flags: Callable[[argparse.ArgumentParser], None]) -> None:
    """Add ``admin`` and its commands to the ``hubbub`` parser's ``commands``."""
    admin = commands.add_parser(
        COMMAND, help="manage users, export, import, back up and verify, beside a running server"
    )
    sub = admin.add_subparsers(
        dest="admin_command", metavar="COMMAND", required=True, parser_class=type(admin)
    )

    def leaf(parent: Any, name: str, help: str) -> argparse.ArgumentParser:
        parser: argparse.ArgumentParser = parent.add_parser(name, help=help)
        add_source_flags(parser)
        return parser

    user = sub.add_parser(
        "user", help="create an account, reset a password, (un)make admins, (de)activate"
    )
    user_sub = user.add_subparsers(
        dest="user_command", metavar="COMMAND", required=True, parser_class=type(admin)
    )
    create = leaf(user_sub, "create", "create an account")
    create.add_argument("name", metavar="NAME")
    create.add_argument("--admin", action="store_true", help="make it a server admin")
    _password_flag(create)
    password = leaf(
        user_sub, "password", "give a user a new password and close their sessions everywhere"
    )
    password.add_argument("name", metavar="NAME")
    _password_flag(password)
    for name, help in (
        ("promote", "make a user a server admin"),
        ("demote", "make a server admin an ordinary user (not the last active one)"),
        ("deactivate", "refuse the user's sign-ins and close their sessions everywhere"),
        ("reactivate", "let a deactivated user sign in again"),
    ):
        leaf(user_sub, name, help).add_argument("name", metavar="NAME")
    bot = sub.add_parser("bot", help="create bot accounts")
    bot_sub = bot.add_subparsers(
        dest="bot_command", metavar="COMMAND", required=True, parser_class=type(admin)
    )
    leaf(bot_sub, "create", "create a bot account and print its token, once").add_argument(
        "name", metavar="NAME"
    )
    leaf(sub, "users", "list the users: name, role, state, created")
    leaf(sub, "rooms", "list the rooms: name, kind, members, last seq")
    export = leaf(sub, "export", "write everything as newline-delimited JSON")
    export.add_argument("file", metavar="FILE", nargs="?", default="-", help="a new file, or -")
    load = leaf(sub, "import", "fill an empty database from an export")
    load.add_argument("file", metavar="FILE", help="an export, or - for stdin")
    copy = leaf(sub, "backup", "copy an SQLite database and its files while the server runs")
    copy.add_argument("dest", metavar="DEST", type=Path, help="a new or empty directory")
    leaf(sub, "verify", "check seqs and references; exit code 1 if anything is wrong")
    leaf(sub, "compact", "rewrite an SQLite database without free space (best while stopped)")


def _password_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--password-stdin",
        action="store_true",
        help="read the password from the first line of stdin (else it is asked for)",
    )


def run(args: argparse.Namespace, config: Config) -> int:
    """Run the admin command ``args`` names; its exit code."""
    try:
        return asyncio.run(_run(args, config))
    except AdminError as exc:
        _error(str(exc))
        return exc.code
    except StorageError as exc:  # the database cannot be opened or migrated
        _error(str(exc))
        return 2
    except HubbubError as exc:  # storage refused or failed (Unavailable)
        _error(str(exc))
        return 1
    except BrokenPipeError:  # the reader of stdout went away (`| head`): nothing to say
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    except OSError as exc:  # a file or directory of the command's (disk full, no access)
        where = f": {exc.filename}" if exc.filename else ""
        _error(f"{exc.strerror or exc}{where}")
        return 1
    except KeyboardInterrupt:
        _error("interrupted")
        return 130


def _error(message: str) -> None:
    print(f"hubbub: error: {message}", file=sys.stderr)


async def _run(args: argparse.Namespace, config: Config) -> int:
    command = args.admin_command
    if command == "backup":
        return _backup(config, args.dest)
    if command == "compact":
        return _compact(config)
    create = command == "import" or (command == "user" and args.user_command == "create")
    name = accounts.check_username(args.name) if command in ("user", "bot") else ""
    async with _database(config, create=create) as db:
        if command == "user":
            return await _user(args, config, db, name)
        if command == "bot":
            return await _bot(config, db, name)
        if command in ("users", "rooms"):
            listing = accounts.users(db) if command == "users" else accounts.rooms(db)
            async with contextlib.aclosing(listing) as lines:  # closed before the database
                async for line in lines:
                    print(line)
            return 0
        if command == "export":
            return await _export(db, args.file)
        if command == "import":
            return await _import(db, args.file)
        return await _verify(db, config)


@contextlib.asynccontextmanager
async def _database(config: Config, create: bool = False) -> AsyncIterator[Database]:
    db = await open_database(config.storage_url, create=create)
    try:
        yield db
    except db.errors as exc:  # the database failed in the middle of the command
        raise AdminError(f"database {db.location!r}: {' '.join(str(exc).split())}") from None
    finally:
        with contextlib.suppress(*db.errors):
            await db.close()


async def _user(args: argparse.Namespace, config: Config, db: Database, name: str) -> int:
    if args.user_command == "create":
        if await accounts.role(db, name) is not None:  # before a password is asked for
            raise AdminError(f"the username {name!r} is taken")
        password = _read_password(args.password_stdin)
        role = await accounts.create_user(config, db, name, password, args.admin)
        print(f"hubbub: created the account {name} ({role})")
    elif args.user_command == "password":
        if await accounts.role(db, name) is None:
            raise AdminError(f"no user named {name!r}")
        revoked = await accounts.set_password(config, name, _read_password(args.password_stdin))
        signed_out = "1 session was" if revoked == 1 else f"{revoked} sessions were"
        print(f"hubbub: {name} has a new password; {signed_out} signed out")
    elif args.user_command in ("promote", "demote"):
        admin = args.user_command == "promote"
        role = ServerRole.ADMIN if admin else ServerRole.MEMBER
        done = await accounts.set_role(config, name, role)
        what = "a server admin" if admin else "an ordinary user"
        print(f"hubbub: {name} is {what} {'now' if done else 'already'}")
    else:
        deactivated = args.user_command == "deactivate"
        done = await accounts.set_deactivated(config, name, deactivated)
        state = "deactivated" if deactivated else "active"
        print(f"hubbub: {name} is {state} {'now' if done else 'already'}")
    return 0


async def _bot(config: Config, db: Database, name: str) -> int:
    if await accounts.role(db, name) is not None:
        raise AdminError(f"the username {name!r} is taken")
    token = await accounts.create_bot(config, name)
    # The token alone on stdout, for a script to keep: it is shown this once.
    print(f"hubbub: created the bot {name}; its token, which does not expire:", file=sys.stderr)
    print(token)
    return 0


def _read_password(from_stdin: bool) -> str:
    """The new password: the first line of stdin, or typed twice at the terminal."""
    if from_stdin:
        line = sys.stdin.readline(4 * MAX_PASSWORD + 2)
        return line.removesuffix("\n").removesuffix("\r")
    if not sys.stdin.isatty():
        raise UsageError("no terminal to ask for the password: give it with --password-stdin")
    first = getpass.getpass("New password: ")
    if getpass.getpass("The same again: ") != first:
        raise UsageError("the two passwords differ")
    return first


async def _export(db: Database, file: str) -> int:
    if file == "-":
        try:
            counts = await dump.export(db, sys.stdout.buffer, wall_clock_ms())
            sys.stdout.buffer.flush()
        except BrokenPipeError:
            raise AdminError("the output was closed before the export ended") from None
        print(f"hubbub: exported {_counted(counts)}", file=sys.stderr)
        return 0
    path = Path(file)
    if path.exists():
        raise UsageError(f"{file!r} exists: export writes a new file")
    with _new_file(path) as out:
        counts = await dump.export(db, out, wall_clock_ms())
    print(f"hubbub: exported {_counted(counts)} to {file}")
    return 0


@contextlib.contextmanager
def _new_file(path: Path) -> Iterator[IO[bytes]]:
    """A file that appears at ``path`` whole, once written and synced; only its owner may
    read it (it holds password hashes)."""
    temp = path.with_name(f".{path.name}.partial")
    try:
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    except OSError as exc:
        raise UsageError(f"cannot write {str(path)!r}: {exc.strerror or exc}") from None
    try:
        with os.fdopen(fd, "wb", buffering=1024 * 1024) as out:
            yield out
            out.flush()
            os.fsync(out.fileno())
        os.replace(temp, path)
    finally:
        temp.unlink(missing_ok=True)


async def _import(db: Database, file: str) -> int:
    if file == "-":
        counts = await dump.import_records(db, sys.stdin.buffer)
    else:
        try:
            source = open(file, "rb")  # noqa: SIM115 - closed below
        except OSError as exc:
            raise UsageError(f"cannot read {file!r}: {exc.strerror or exc}") from None
        with source:
            counts = await dump.import_records(db, source)
    print(f"hubbub: imported {_counted(counts)} into {db.location}")
    return 0


def _counted(counts: dict[str, int]) -> str:
    return ", ".join(f"{n} {kind}s" for kind, n in counts.items())


def _backup(config: Config, dest: Path) -> int:
    if urlsplit(config.storage_url).scheme.lower() in POSTGRES_SCHEMES:
        raise UsageError(
            "admin backup copies SQLite databases; back up PostgreSQL with pg_dump"
            " (see docs/operations.md, Backup and restore)"
        )
    source = Path(factory.location(config.storage_url))
    if not source.is_file():
        raise UsageError(f"there is no database at {str(source)!r} (see --data-dir, --database)")
    try:
        copied = backup.backup(source, config.files_dir, dest)
    except sqlite3.Error as exc:
        raise AdminError(f"cannot back up to {str(dest)!r}: {exc}") from None
    print(f"hubbub: backed up {source} to {copied.database} and {copied.blobs} blobs")
    if copied.missing:
        raise AdminError(
            f"{len(copied.missing)} blobs that the copy names were not in"
            f" {str(config.files_dir)!r} (first: {copied.missing[0]})"
        )
    return 0


def _compact(config: Config) -> int:
    if urlsplit(config.storage_url).scheme.lower() in POSTGRES_SCHEMES:
        raise UsageError(
            "admin compact rewrites SQLite databases; PostgreSQL's autovacuum reclaims space"
            " (see docs/operations.md, Retention and compaction)"
        )
    source = Path(factory.location(config.storage_url))
    if not source.is_file():
        raise UsageError(f"there is no database at {str(source)!r} (see --data-dir, --database)")
    try:
        done = compact.compact(source)
    except sqlite3.Error as exc:
        raise AdminError(f"cannot compact {str(source)!r}: {exc}") from None
    print(f"hubbub: compacted {source}: {done.before} bytes before, {done.after} after")
    return 0


async def _verify(db: Database, config: Config) -> int:
    async with contextlib.aclosing(verify.verify(db, config.files_dir)) as lines:
        async for line in lines:
            if isinstance(line, str):
                print(line)
                continue
            checked = f"{line.users} users, {line.rooms} rooms, {line.events} events"
            if line.problems:
                raise AdminError(f"{db.location}: {line.problems} problems found in {checked}")
            print(f"hubbub: {db.location} is consistent: {checked}")
    return 0
