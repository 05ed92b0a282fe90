"""``hubbub chat [URL]``: run the terminal client, or ``--sign-out`` to forget (and revoke)
the token kept for a server. Textual is imported here only, when the command runs."""

from __future__ import annotations

import argparse
import asyncio
import sys

import aiohttp

from hubbub.chat.config import Store, config_dir, normal_url
from hubbub.chat.login import sign_out

NEEDS_TEXTUAL = "the terminal client needs Textual: pip install 'hubbub[chat]'"


def run(args: argparse.Namespace) -> int:
    store = Store(config_dir())
    url = normal_url(args.url) if args.url else store.last_url()
    if not url.startswith(("http://", "https://")):
        print("hubbub: error: the server's URL starts with http:// or https://", file=sys.stderr)
        return 2
    if args.sign_out:
        return asyncio.run(_sign_out(store, url))
    try:
        from hubbub.chat.app import ChatApp
    except ImportError:
        print(f"hubbub: error: {NEEDS_TEXTUAL}", file=sys.stderr)
        return 2
    ChatApp(url, store).run()
    return 0


async def _sign_out(store: Store, url: str) -> int:
    session = store.forget(url)
    if session is None:
        print(f"hubbub: not signed in to {url}")
        return 0
    async with aiohttp.ClientSession() as http:
        revoked = await sign_out(http, session)
    note = "" if revoked else " (the server did not revoke the token: it stays valid there)"
    print(f"hubbub: signed out of {url}{note}")
    return 0
