"""``hubbub doctor URL``: the checks in order, one line each, and the exit code.

A check that cannot run because an earlier one failed is shown as skipped, saying which.
The idle socket is opened early and waited for last, so its wait overlaps the other checks.
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import sys
from collections.abc import Callable
from contextlib import suppress
from typing import Any

import aiohttp

from hubbub.doctor.checks import (
    IdleSocket,
    check_http,
    check_origin,
    check_ping,
    check_tls,
    check_websocket,
)
from hubbub.doctor.fanout import CONNECTIONS, check_messages, check_token, sign_in, sign_out
from hubbub.doctor.report import Outcome, exit_code, format_outcome, skip
from hubbub.doctor.target import BadTarget, Target, parse_target

IDLE_SECONDS = 65.0  # longer than nginx's default proxy_read_timeout (60 s)
MAX_IDLE_SECONDS = 3600.0
MAX_CONNECTIONS = 64

DESCRIPTION = """\
Check a hubbub deployment from outside, as a browser would: HTTP, TLS, the WebSocket upgrade
through the proxy, the Origin hubbub expects, a ping, a socket kept idle, and (with an
account) a message sent and received on several connections at once. One line per check;
each failure names the hop at fault and what to change. Exit code 0 when nothing failed."""


def add_parser(commands: Any) -> None:
    """Register ``doctor`` on ``hubbub``'s subcommands (an argparse subparsers action)."""
    doctor = commands.add_parser(
        "doctor", help="check a deployment from outside, as a client would", description=DESCRIPTION
    )
    doctor.add_argument(
        "url", metavar="URL", help="the address people open: https://chat.example.org"
    )
    doctor.add_argument("--user", metavar="NAME", help="an account to send a test message with")
    given = doctor.add_mutually_exclusive_group()
    given.add_argument(
        "--password-stdin", action="store_true", help="read --user's password from stdin"
    )
    given.add_argument(
        "--token-stdin", action="store_true", help="read a session token from stdin instead"
    )
    doctor.add_argument(
        "--idle",
        type=float,
        default=IDLE_SECONDS,
        metavar="SECONDS",
        help=f"how long to keep a WebSocket idle (default {IDLE_SECONDS:g})",
    )
    doctor.add_argument(
        "--connections",
        type=int,
        default=CONNECTIONS,
        metavar="N",
        help=f"connections that must all receive the test message (default {CONNECTIONS})",
    )


class UsageError(ValueError):
    """Options the doctor cannot run with; the message is one line."""


def main(args: argparse.Namespace) -> int:
    try:
        target = parse_target(args.url)
        _check_options(args)
        password = _read_secret(f"password for {args.user}: ") if args.password_stdin else None
        token = _read_secret("session token: ") if args.token_stdin else None
    except (BadTarget, UsageError) as exc:
        print(f"hubbub: error: {exc}", file=sys.stderr)
        return 2
    return asyncio.run(
        run(
            target,
            user=args.user,
            password=password,
            token=token,
            idle=args.idle,
            connections=args.connections,
        )
    )


def _check_options(args: argparse.Namespace) -> None:
    if args.user and not args.password_stdin:
        raise UsageError("--user needs --password-stdin (the password is never an argument)")
    if args.password_stdin and not args.user:
        raise UsageError("--password-stdin needs --user")
    if not 0 <= args.idle <= MAX_IDLE_SECONDS:
        raise UsageError(f"--idle must be from 0 to {MAX_IDLE_SECONDS:g} seconds")
    if not 1 <= args.connections <= MAX_CONNECTIONS:
        raise UsageError(f"--connections must be from 1 to {MAX_CONNECTIONS}")


def _read_secret(prompt: str) -> str:
    """One line of stdin (a prompt without echo on a terminal); never an argument, which
    other users of the machine could read."""
    secret = getpass.getpass(prompt) if sys.stdin.isatty() else sys.stdin.readline()
    secret = secret.rstrip("\r\n")
    if not secret:
        raise UsageError("nothing was read from stdin")
    return secret


async def run(
    target: Target,
    *,
    user: str | None = None,
    password: str | None = None,
    token: str | None = None,
    idle: float = IDLE_SECONDS,
    connections: int = CONNECTIONS,
    out: Callable[[str], None] = print,
) -> int:
    """Run every check on ``target``, print each outcome with ``out``; the exit code."""
    outcomes: list[Outcome] = []

    def report(outcome: Outcome) -> bool:
        outcomes.append(outcome)
        out(format_outcome(outcome))
        return not outcome.failed

    def skip_rest(checks: tuple[str, ...], because: str) -> int:
        for check in checks:
            report(skip(check, f"not checked: {because}"))
        return exit_code(outcomes)

    # Cookies are set by hand where a check needs one (a jar would add the sign-in's).
    async with aiohttp.ClientSession(cookie_jar=aiohttp.DummyCookieJar()) as session:
        later = ("websocket", "origin", "ping", "messages", "idle")
        if target.https and not report(await check_tls(target)):
            return skip_rest(("http", *later), "TLS failed")
        http = await check_http(session, target)
        if not report(http) and not http.goes_on:
            return skip_rest(later, "HTTP failed")
        if not report(await check_websocket(session, target)):
            return skip_rest(later[1:], "the WebSocket upgrade failed")
        own_token = None
        if user is not None and password is not None:
            signed_in = await sign_in(session, target, user, password)
            if isinstance(signed_in, Outcome):
                report(signed_in)
            else:
                token = own_token = signed_in
        elif token is not None and (bad := await check_token(session, target, token)):
            report(bad)
            token = None
        idler = asyncio.create_task(IdleSocket(session, target, idle).run(token))
        try:
            report(await check_origin(session, target, token))
            report(await check_ping(session, target))
            if token is not None:
                report(await check_messages(session, target, token, connections))
            elif not any(o.check == "sign-in" for o in outcomes):  # a failed one stands for it
                report(skip("messages", "give --user NAME --password-stdin or --token-stdin"))
            if not idler.done() and sys.stderr.isatty():
                print(f"(keeping a WebSocket idle for {idle:g} s…)", file=sys.stderr)
            report(await idler)
        finally:
            if not idler.done():
                idler.cancel()
                with suppress(asyncio.CancelledError):
                    await idler
            if own_token is not None:
                await sign_out(session, target, own_token)
    return exit_code(outcomes)
