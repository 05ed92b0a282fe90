"""Presence as pure data: a user's state on one node, and across nodes. No I/O.

Each node knows its own sessions: a user with a session here is ``online`` on this node, or
``away`` if every one of those sessions reported its user idle; with none, ``offline``. A
user's state is the best of what every node says: ``online`` beats ``away`` beats
``offline``. ``Contributions`` keeps what each node said of each user that is not offline
there, and when each node was last heard of, so a node that stops being heard (it died)
is forgotten with everything it said.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable


class State(enum.StrEnum):
    ONLINE = "online"
    AWAY = "away"
    OFFLINE = "offline"


_RANK = {State.OFFLINE: 0, State.AWAY: 1, State.ONLINE: 2}


def node_state(sessions: int, idle: int) -> State:
    """A user's state on one node: ``sessions`` open there, ``idle`` of which said idle."""
    if sessions == 0:
        return State.OFFLINE
    return State.AWAY if idle >= sessions else State.ONLINE


def combine(states: Iterable[State]) -> State:
    """The user's state across nodes: the best any node says."""
    return max(states, key=_RANK.__getitem__, default=State.OFFLINE)


class Contributions:
    """user → {node: state} for the users not offline on some node, and when each node was
    last heard of. Its size is the number of users online somewhere, never all users."""

    def __init__(self) -> None:
        self._users: dict[str, dict[str, State]] = {}
        self._nodes: dict[str, dict[str, None]] = {}  # node → the users it has entries for
        self._heard: dict[str, float] = {}

    def state(self, user: str) -> State:
        return combine(self._users.get(user, {}).values())

    def of_node(self, node: str, user: str) -> State:
        return self._users.get(user, {}).get(node, State.OFFLINE)

    def users_of(self, node: str) -> dict[str, State]:
        """What ``node`` says: each user not offline there, and their state on it."""
        return {user: self._users[user][node] for user in self._nodes.get(node, ())}

    def knows(self, node: str) -> bool:
        """Whether ``node`` was heard of and not forgotten since."""
        return node in self._heard

    def heard(self, node: str, now: float) -> None:
        self._heard[node] = now

    def set(self, node: str, user: str, state: State) -> bool:
        """``node`` says ``user`` is ``state`` there; True if the user's state changed."""
        before = self.state(user)
        states = self._users.get(user)
        if state is State.OFFLINE:
            if states is not None and states.pop(node, None) is not None:
                self._nodes[node].pop(user, None)
                if not states:
                    del self._users[user]
                if not self._nodes[node]:
                    del self._nodes[node]
        else:
            self._users.setdefault(user, {})[node] = state
            self._nodes.setdefault(node, {})[user] = None
        return self.state(user) != before

    def replace(self, node: str, users: dict[str, State]) -> list[str]:
        """``node`` says all it has: ``users`` and nobody else; the users whose state changed."""
        gone = [user for user in self._nodes.get(node, ()) if user not in users]
        changed = [user for user in gone if self.set(node, user, State.OFFLINE)]
        changed += [user for user, state in users.items() if self.set(node, user, state)]
        return changed

    def expire(self, now: float, timeout: float, keep: str) -> list[str]:
        """Forget the nodes (but ``keep``, this one) not heard of for ``timeout``; the users
        whose state changed."""
        dead = [node for node, at in self._heard.items() if node != keep and now - at > timeout]
        changed: list[str] = []
        for node in dead:
            del self._heard[node]
            changed += self.replace(node, {})
        return changed

    def forget(self, node: str) -> list[str]:
        """``node`` left: forget what it said; the users whose state changed."""
        self._heard.pop(node, None)
        return self.replace(node, {})
