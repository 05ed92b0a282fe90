"""The state as terminal text: rows of the room list and of a timeline. Pure.

User text (bodies, names, titles, emoji) only ever goes into ``rich.text.Text`` as plain
text, never as markup, and its control characters are replaced first: a body holding an
escape sequence must not drive the user's terminal.
"""

from __future__ import annotations

import time
import unicodedata

from rich.text import Text

from hubbub.chat.state import Line, RoomView
from hubbub.client import ConnectionState, Outgoing

QUOTE_SHOWN = 60  # characters of a reply's parent


def clean(text: str) -> str:
    """``text`` safe to print: control characters (escape, carriage return, C1 …) become
    U+FFFD, a tab a space; newlines stay."""
    if text.isprintable():
        return text
    out = []
    for char in text:
        if char == "\n":
            out.append(char)
        elif char == "\t":
            out.append(" ")
        elif unicodedata.category(char) == "Cc":
            out.append("\ufffd")
        else:
            out.append(char)
    return "".join(out)


def room_row(room: RoomView, me: str, current: bool) -> Text:
    row = Text(clean(room.label(me)), style="bold" if current else "")
    if room.mentions:
        row.append(f" @{room.mentions}", style="bold red")
    if room.unread:
        row.append(f" {room.unread}", style="bold yellow")
    return row


def clock(ts_ms: int) -> str:
    return time.strftime("%H:%M", time.localtime(ts_ms / 1000))


def line_row(line: Line, me: str) -> Text:
    row = Text()
    row.append(clock(line.ts) + " ", style="dim")
    if not line.message:
        row.append(f"— {clean(line.user)} {clean(line.body)}", style="dim italic")
        return row
    if line.quote:
        quoted = clean(line.quote).replace("\n", " ")
        if len(quoted) > QUOTE_SHOWN:
            quoted = quoted[: QUOTE_SHOWN - 1] + "…"
        row.append(f"↳ {quoted}\n      ", style="dim")
    row.append(clean(line.user), style="bold cyan" if line.user == me else "bold")
    row.append(" ")
    if line.deleted:
        row.append("(deleted)", style="dim italic")
        return row
    row.append(clean(line.body))
    if line.edited:
        row.append(" (edited)", style="dim")
    for emoji, (count, mine) in sorted(line.reactions.items()):
        row.append(f"  {clean(emoji)} {count}", style="bold green" if mine else "green")
    return row


def pending_row(entry: Outgoing, me: str) -> Text:
    row = Text("      ", style="dim")
    row.append(clean(me), style="dim bold")
    row.append(" " + clean(entry.body), style="dim")
    row.append(" (sending…)", style="dim italic")
    return row


STATE_WORDS = {
    ConnectionState.CONNECTING: "connecting…",
    ConnectionState.CONNECTED: "connected",
    ConnectionState.RECONNECTING: "reconnecting…",
    ConnectionState.CLOSED: "disconnected",
}


def status_line(state: ConnectionState, user: str, url: str, unsent: int, notice: str) -> Text:
    style = "green" if state is ConnectionState.CONNECTED else "bold yellow"
    row = Text(f"● {STATE_WORDS[state]}", style=style)
    row.append(f"  {clean(user)} @ {clean(url)}", style="dim")
    if unsent:
        row.append(f"  {unsent} unsent", style="yellow")
    if notice:
        row.append(f"  {clean(notice)}", style="red")
    return row
