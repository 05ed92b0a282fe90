"""The sign-in screen: a username and a password, sent to ``POST /api/v1/login``; it closes
with the session once the server accepts them."""

from __future__ import annotations

from typing import ClassVar

import aiohttp
from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import Screen
from textual.widgets import Footer, Input, Static

from hubbub.chat.config import Session
from hubbub.chat.login import SignInError, sign_in
from hubbub.chat.render import clean
from hubbub.core.models import USERNAME_RE


class SignInScreen(Screen[Session]):
    DEFAULT_CSS = """
    SignInScreen { align: center middle; }
    SignInScreen Vertical { width: 60; height: auto; border: round $accent; padding: 0 1; }
    SignInScreen #why { color: $error; height: auto; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "app.quit", "Quit")]

    def __init__(self, url: str, reason: str = "") -> None:
        super().__init__()
        self.url = url
        self.reason = reason

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(Text(f"Sign in to {clean(self.url)}", style="bold"))
            yield Input(placeholder="username", id="username")
            yield Input(placeholder="password", password=True, id="password")
            yield Static(Text(clean(self.reason)), id="why")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#username", Input).focus()

    @on(Input.Submitted, "#username")
    def _to_password(self) -> None:
        self.query_one("#password", Input).focus()

    @on(Input.Submitted, "#password")
    def _submit(self) -> None:
        username = self.query_one("#username", Input).value.strip()
        password = self.query_one("#password", Input).value
        if not username or not password:
            self._say("give a username and a password")
            return
        if not USERNAME_RE.match(username):
            self._say(
                "a username is 1 to 32 letters, digits, '_', '.' or '-',"
                " starting with a letter or a digit"
            )
            return
        self._say("signing in…")
        self.run_worker(self._sign_in(username, password), exclusive=True)

    async def _sign_in(self, username: str, password: str) -> None:
        try:
            async with aiohttp.ClientSession() as http:
                session = await sign_in(http, self.url, username, password)
        except SignInError as exc:
            self.query_one("#password", Input).value = ""
            self._say(str(exc))
            return
        self.dismiss(session)

    def _say(self, words: str) -> None:
        self.query_one("#why", Static).update(Text(clean(words)))
