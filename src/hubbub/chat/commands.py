"""What the composer's line asks for: a message, or a ``/command``. Pure.

``//text`` sends ``/text`` as it is. Anything else starting with ``/`` is a command; an
unknown one is refused with the list, never sent as a message by mistake.
"""

from __future__ import annotations

from dataclasses import dataclass

HELP = (
    "/join ROOM  /create ROOM [private]  /dm USER  /leave  /edit TEXT  /react EMOJI  "
    "/unreact EMOJI  /reply TEXT  /help"
)


@dataclass(frozen=True)
class Command:
    """``name`` is a message's ``say``, or a command's name; ``arg`` what follows it."""

    name: str
    arg: str = ""
    private: bool = False


@dataclass(frozen=True)
class Refused:
    message: str


# command → (what its argument is, or "" for none)
_COMMANDS = {
    "join": "a room",
    "create": "a room name",
    "dm": "a user",
    "leave": "",
    "edit": "the new text",
    "react": "an emoji",
    "unreact": "an emoji",
    "reply": "the reply",
    "help": "",
}


def parse(line: str) -> Command | Refused | None:
    """The composer's line as a command; None for a blank line (nothing to do)."""
    if not line.strip():
        return None
    if line.startswith("//"):
        return Command("say", line[1:])
    if not line.startswith("/"):
        return Command("say", line)
    name, _, rest = line[1:].partition(" ")
    name, rest = name.lower(), rest.strip()
    wants = _COMMANDS.get(name)
    if wants is None:
        return Refused(f"unknown command /{name}: {HELP}")
    if wants and not rest:
        return Refused(f"/{name} needs {wants}")
    if name in ("join", "dm", "react", "unreact"):
        rest = rest.split()[0].lstrip("#@") if name in ("join", "dm") else rest.split()[0]
    if name == "create":
        words = rest.split()
        private = len(words) > 1 and words[1].lower() == "private"
        return Command(name, words[0].lstrip("#"), private=private)
    return Command(name, rest)
