"""``ChatApp``: the terminal client. A room list with unread counts, the open room's
timeline (older pages on PageUp at its top), a composer, and a status line with the
connection's state, all keyboard-driven within 80 by 24 cells.

``hubbub.client`` does the protocol: it reconnects, resumes, and keeps the outbox in a file
of the config dir, so a message typed while the server is away is sent once when it is
back, even after this program was restarted. The app only feeds ``ChatState`` with what
the client delivers and draws it (``render``).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable
from typing import Any, ClassVar

from rich.text import Text
from textual import on
from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.widgets import Footer, Input, OptionList, Static
from textual.widgets.option_list import Option

from hubbub.chat import render
from hubbub.chat.commands import HELP, Command, Refused, parse
from hubbub.chat.config import Session, Store, normal_url
from hubbub.chat.screens import SignInScreen
from hubbub.chat.state import PAGE_SIZE, ChatState
from hubbub.client import AuthFailed, Client, ClientError, ConnectionState, Gap, RequestError
from hubbub.core.models import RoomInfo

REDRAW_INTERVAL = 0.05  # events are drawn in batches, at most this often
READ_INTERVAL = 1.0  # the read marker moves at most this often (the server rate-limits it)
CHAT_ACTIONS = frozenset(
    {"next_room", "page_up", "page_down", "edit_last", "focus_rooms", "focus_composer", "help"}
)


class ChatApp(App[None]):
    TITLE = "hubbub"
    CSS = """
    #rooms { width: 24; height: 1fr; border: none; border-right: solid $primary; }
    #timeline { height: 1fr; border: none; }
    #composer { height: 3; }
    #status { height: 1; background: $boost; }
    """
    ENABLE_COMMAND_PALETTE = False  # its Ctrl+P is "previous room" here
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+n", "next_room(1)", "Next", priority=True),
        Binding("ctrl+p", "next_room(-1)", "Prev", priority=True),
        Binding("pageup", "page_up", "Older", priority=True),
        Binding("pagedown", "page_down", "Newer", show=False, priority=True),
        Binding("ctrl+e", "edit_last", "Edit", priority=True),
        Binding("ctrl+r", "focus_rooms", "Rooms", priority=True),
        Binding("escape", "focus_composer", "Composer", show=False),
        Binding("f1", "help", "Help"),
        Binding("ctrl+q", "quit", "Quit", priority=True),
    ]

    def __init__(
        self, url: str, store: Store, *, client_options: dict[str, Any] | None = None
    ) -> None:
        super().__init__()
        self.url = normal_url(url)
        self.store = store
        self.client: Client | None = None
        self.session: Session | None = None
        self.state = ChatState(me="")
        self._client_options = client_options or {}
        self._dirty = self._scroll_end = self._rooms_loading = False
        self._read_sent: dict[str, int] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    # --- layout -----------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        with Horizontal():
            yield OptionList(id="rooms", markup=False)
            with Vertical():
                yield OptionList(id="timeline", markup=False)
                yield Input(placeholder="a message, or /help", id="composer")
        yield Static(id="status")
        yield Footer()

    async def on_mount(self) -> None:
        self.set_interval(REDRAW_INTERVAL, self._draw_if_dirty)
        self.set_interval(READ_INTERVAL, self._mark_read)
        session = self.store.session(self.url)
        if session is None:
            self._ask_sign_in("")
        else:
            await self._start(session)

    def _ask_sign_in(self, reason: str) -> None:
        def signed_in(session: Session | None) -> None:
            if session is not None:
                self.store.remember(session)
                self._spawn(self._start(session))

        self.push_screen(SignInScreen(self.url, reason), signed_in)

    async def _start(self, session: Session) -> None:
        self.session = session
        self.store.use(session.url)
        self.state = ChatState(me=session.user)
        self._read_sent.clear()
        self.client = Client(
            session.url,
            token=session.token,
            outbox_path=self.store.outbox_path(session.url, session.user),
            on_state=self._on_state,
            **self._client_options,
        )
        self.state.set_outbox(self.client.outbox)
        self.client.start()
        self._spawn(self._consume(self.client))
        self.query_one("#composer", Input).focus()
        self._dirty = True

    async def on_unmount(self) -> None:
        if self.client is not None:
            await self.client.close()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    def _spawn(self, work: Awaitable[None]) -> None:
        """Run ``work`` beside the UI; a refused request becomes the status line's notice."""

        async def guarded() -> None:
            try:
                await work
            except RequestError as exc:
                self.state.notice = exc.message
            except (ClientError, TimeoutError) as exc:
                self.state.notice = str(exc) or type(exc).__name__
            self._dirty = True

        task = asyncio.get_running_loop().create_task(guarded())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # --- the connection ---------------------------------------------------------------------

    def _on_state(self, state: ConnectionState) -> None:
        client = self.client
        if client is None:
            return
        if state is ConnectionState.CONNECTED:
            self.state.resumed(client.since())
            self._reload_rooms(client)
        elif state is ConnectionState.RECONNECTING:
            self.state.resuming()
        elif state is ConnectionState.CLOSED and isinstance(client.error, AuthFailed):
            self.store.forget(self.url)
            self.client = None
            self._spawn(client.close())
            self._ask_sign_in("signed out by the server: sign in again")
        self._dirty = True

    async def _consume(self, client: Client) -> None:
        with contextlib.suppress(ClientError):
            async for item in client.events():
                if self.state.apply(item):
                    self._reload_rooms(client)
                if isinstance(item, Gap) and item.room == self.state.current:
                    self._open(item.room)  # its timeline was dropped: the newest page again
                self.state.set_outbox(client.outbox)
                self._dirty = True  # the view follows new lines only if it was at the end

    def _reload_rooms(self, client: Client) -> None:
        """Ask for the room list, unless a request for it is on its way already."""
        if not self._rooms_loading:
            self._rooms_loading = True
            self._spawn(self._load_rooms(client))

    async def _load_rooms(self, client: Client) -> None:
        try:
            self.state.set_rooms(await client.rooms())
        finally:
            self._rooms_loading = False
        current = self.state.current
        if current is None and self.state.rooms:
            self._open(self.state.ordered_rooms()[0].name)
        elif current is not None and not self.state.timeline(current).loaded:
            self._open(current)  # dropped while away (a gap): its newest page again
        self._dirty = True

    # --- rooms and history ------------------------------------------------------------------

    def _open(self, room: str) -> None:
        self.state.open(room)
        if not self.state.timeline(room).loaded and self.client is not None:
            self._spawn(self._load_newest(self.client, room))
        self._scroll_end = True
        self._dirty = True

    async def _load_newest(self, client: Client, room: str) -> None:
        self.state.page(await client.history(room, limit=PAGE_SIZE), older=False)
        self._scroll_end = True
        self._dirty = True

    async def _load_older(self, client: Client, room: str, before: int) -> None:
        reply = await client.history(room, before=before, limit=PAGE_SIZE)
        added = self.state.page(reply, older=True)
        self._redraw()
        timeline = self.query_one("#timeline", OptionList)
        if added and timeline.option_count:
            timeline.highlighted = min(added, timeline.option_count - 1)
            timeline.scroll_to_highlight(top=True)

    def _joined(self, info: RoomInfo) -> None:
        self.state.add_room(info)
        self._open(info.name)

    def _mark_read(self) -> None:
        """Move the read marker of the open room to its newest event (rate-limited)."""
        client, room = self.client, self.state.current
        if client is None or room is None or client.state is not ConnectionState.CONNECTED:
            return
        view = self.state.rooms.get(room)
        if view is None or view.last_seq <= self._read_sent.get(room, 0):
            return
        self._read_sent[room] = view.last_seq
        self._spawn(self._read(client, room, view.last_seq))

    async def _read(self, client: Client, room: str, seq: int) -> None:
        try:
            await client.read(room, seq)
        except RequestError as exc:
            if exc.code != "rate_limited":
                raise
            self._read_sent.pop(room, None)  # tried again on the next tick

    # --- drawing ----------------------------------------------------------------------------

    def _draw_if_dirty(self) -> None:
        client = self.client
        if client is not None and client.outbox != self.state.pending:
            self.state.set_outbox(client.outbox)  # a ``sent`` came: no event says so
            self._dirty = True
        if self._dirty:
            self._redraw()

    def _redraw(self) -> None:
        self._dirty = False
        state, me = self.state, self.state.me
        rooms = self.query_one("#rooms", OptionList)
        ordered = state.ordered_rooms()
        # While the user moves through the list, its cursor stays where they put it.
        chosen = rooms.highlighted_option.id if rooms.highlighted_option is not None else None
        rooms.set_options(
            Option(render.room_row(view, me, view.name == state.current), id=view.name)
            for view in ordered
        )
        names = [view.name for view in ordered]
        keep = chosen if rooms.has_focus and chosen in names else state.current
        if keep in names:
            rooms.highlighted = names.index(keep)
        timeline = self.query_one("#timeline", OptionList)
        scrolled = timeline.scroll_y
        at_end = scrolled >= timeline.max_scroll_y
        rows: list[Option] = []
        if state.current is not None:
            held = state.timeline(state.current)
            if held.loaded and not held.has_older:
                rows.append(Option(Text("— the start of the room —", style="dim"), disabled=True))
            rows += [Option(render.line_row(line, me)) for line in held.ordered()]
            rows += [Option(render.pending_row(e, me)) for e in state.pending_in(state.current)]
        timeline.set_options(rows)  # which scrolls home: put the view back
        if at_end or self._scroll_end:
            timeline.scroll_end(animate=False)
        else:
            timeline.scroll_to(y=scrolled, animate=False, immediate=True)
        self._scroll_end = False
        client = self.client
        connection = client.state if client is not None else ConnectionState.CLOSED
        user = self.session.user if self.session is not None else ""
        self.query_one("#status", Static).update(
            render.status_line(connection, user, self.url, len(state.pending), state.notice)
        )
        view = state.rooms.get(state.current or "")
        self.sub_title = view.label(me) if view is not None else ""

    # --- keys -------------------------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """The chat's keys do nothing (and the footer hides them) while signing in."""
        return not (isinstance(self.screen, SignInScreen) and action in CHAT_ACTIONS)

    def action_next_room(self, step: int) -> None:
        names = [view.name for view in self.state.ordered_rooms()]
        if not names:
            return
        at = names.index(self.state.current) if self.state.current in names else -step
        self._open(names[(at + step) % len(names)])

    def action_page_up(self) -> None:
        timeline = self.query_one("#timeline", OptionList)
        room, client = self.state.current, self.client
        if timeline.scroll_y > 0 or room is None or client is None:
            timeline.scroll_page_up(animate=False)
            return
        before = self.state.older_cursor(room)
        if before is not None:
            self._spawn(self._load_older(client, room, before))

    def action_page_down(self) -> None:
        self.query_one("#timeline", OptionList).scroll_page_down(animate=False)

    def action_edit_last(self) -> None:
        room = self.state.current
        seq = self.state.last_own(room) if room is not None else None
        if room is None or seq is None:
            self.state.notice = "no message of yours to edit here"
            self._dirty = True
            return
        composer = self.query_one("#composer", Input)
        composer.value = "/edit " + self.state.timeline(room).lines[seq].body
        composer.cursor_position = len(composer.value)
        composer.focus()

    def action_focus_rooms(self) -> None:
        self.query_one("#rooms", OptionList).focus()

    def action_focus_composer(self) -> None:
        self.query_one("#composer", Input).focus()

    def action_help(self) -> None:
        self.state.notice = HELP
        self._dirty = True

    @on(OptionList.OptionSelected, "#rooms")
    def _room_chosen(self, event: OptionList.OptionSelected) -> None:
        if event.option.id is not None:
            self._open(event.option.id)
            self.action_focus_composer()

    @on(Input.Submitted, "#composer")
    def _on_composer(self, event: Input.Submitted) -> None:
        command = parse(event.value)
        if command is None:
            return
        if isinstance(command, Refused):
            self.state.notice = command.message
        elif self._run(command):
            event.input.value = ""
            self.state.notice = ""
        self._dirty = True

    def _run(self, command: Command) -> bool:
        """Do what the composer asked; False keeps its text (nothing was done)."""
        client, room, state = self.client, self.state.current, self.state
        if client is None:
            state.notice = "not signed in"
            return False
        match command.name:
            case "help":
                state.notice = HELP
                return True
            case "join":
                self._spawn(self._then_open(client.join(command.arg)))
                return True
            case "create":
                self._spawn(self._then_open(client.create(command.arg, command.private)))
                return True
            case "dm":
                self._spawn(self._then_open(client.dm(command.arg)))
                return True
        if room is None:
            state.notice = "open a room first (/join ROOM, or Ctrl+R for the list)"
            return False
        match command.name:
            case "say" | "reply":
                reply_to = state.last_others(room) if command.name == "reply" else None
                if command.name == "reply" and reply_to is None:
                    state.notice = "nothing to reply to here"
                    return False
                try:
                    client.enqueue(room, command.arg, reply_to=reply_to)
                except ClientError as exc:
                    state.notice = getattr(exc, "message", None) or str(exc)
                    return False
                state.set_outbox(client.outbox)
                self._scroll_end = True
            case "leave":
                self._spawn(client.leave(room))
            case "edit":
                seq = state.last_own(room)
                if seq is None:
                    state.notice = "no message of yours to edit here"
                    return False
                self._spawn(self._quietly(client.edit(room, seq, command.arg)))
            case "react" | "unreact":
                seq = state.last_message(room)
                if seq is None:
                    state.notice = "no message to react to here"
                    return False
                on = command.name == "react"
                self._spawn(self._quietly(client.react(room, seq, command.arg, on)))
        return True

    async def _then_open(self, request: Awaitable[RoomInfo]) -> None:
        self._joined(await request)

    async def _quietly(self, request: Awaitable[object]) -> None:
        await request  # its event updates the timeline
