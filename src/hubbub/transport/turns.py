"""The end of an event-loop turn for the connections that wrote in it.

A connection writes the first frame it is given in a turn at once, so the fan-out's first
receivers do not wait for its last ones; what it is given after that in the same turn is
queued and written in one piece when the turn ends. One callback per turn ends it for every
connection that wrote, instead of one callback per connection.
"""

from __future__ import annotations

import asyncio
from typing import Protocol


class Writer(Protocol):
    def end_turn(self) -> None:
        """Write what was queued since the first frame of the turn, and start afresh."""


class TurnEnd:
    __slots__ = ("_scheduled", "_wrote")

    def __init__(self) -> None:
        self._wrote: list[Writer] = []
        self._scheduled = False

    def wrote(self, writer: Writer) -> None:
        """``writer`` wrote its first frame of this turn: end its turn with the others'."""
        self._wrote.append(writer)
        if not self._scheduled:
            self._scheduled = True
            asyncio.get_running_loop().call_soon(self._end)

    def _end(self) -> None:
        self._scheduled = False
        wrote, self._wrote = self._wrote, []
        for writer in wrote:
            writer.end_turn()
