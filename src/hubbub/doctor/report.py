"""What one check found, and how it is printed: one line per check, then for a failure the
hop at fault and what to change, indented below it. Pure."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field


class Status(enum.Enum):
    OK = "ok"
    FAIL = "FAIL"
    SKIP = "skip"


class Hop(enum.Enum):
    """Where on the way from a browser to every node a failure lies."""

    CLIENT_PROXY = "client→proxy"
    PROXY_HUBBUB = "proxy→hubbub"
    HUBBUB_DATABASE = "hubbub→database"
    HUBBUB_BROKER = "hubbub→broker"


@dataclass(frozen=True)
class Outcome:
    check: str  # a short name: http, tls, websocket, origin, ping, idle, messages
    status: Status
    found: str  # what was seen, one sentence
    hop: Hop | None = None  # a failure's hop
    change: tuple[str, ...] = field(default=())  # a failure's fix, one line each
    # A failure after which the later checks are still worth making: hubbub did answer.
    goes_on: bool = False

    @property
    def failed(self) -> bool:
        return self.status is Status.FAIL


def ok(check: str, found: str) -> Outcome:
    return Outcome(check, Status.OK, found)


def skip(check: str, found: str) -> Outcome:
    return Outcome(check, Status.SKIP, found)


def fail(check: str, found: str, hop: Hop, *change: str, goes_on: bool = False) -> Outcome:
    return Outcome(check, Status.FAIL, found, hop, change, goes_on)


def format_outcome(outcome: Outcome) -> str:
    """``ok    websocket: …``, or for a failure that line with its hop, then the fix."""
    hop = f" [{outcome.hop.value}]" if outcome.hop is not None else ""
    lines = [f"{outcome.status.value:<5} {outcome.check}{hop}: {outcome.found}"]
    lines.extend(f"      {line}" for line in outcome.change)
    return "\n".join(lines)


def exit_code(outcomes: list[Outcome]) -> int:
    """0 when nothing failed (skipped checks are not failures), else 1."""
    return 1 if any(o.failed for o in outcomes) else 0


def milliseconds(seconds: float) -> str:
    ms = seconds * 1000
    return f"{ms:.1f} ms" if ms < 10 else f"{ms:.0f} ms"
