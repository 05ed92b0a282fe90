"""Presence: who is online, away or offline, told to the users who share a room with them.

Per node, each user's sessions here and which of them said their user is idle make the
user's state on this node (``core.presence``). When it changes, the node publishes it to
every node (a ``Notice`` to ``Audience.PRESENCE``); every node keeps what each node says of
the users online somewhere (``Contributions``) and combines it. Nodes send a heartbeat every
``heartbeat`` seconds; a node not heard of for ``node_timeout`` is taken for dead and what
it said is forgotten. A node that starts, or whose broker may have lost notices, asks the
others for all they have (``ask``) and each answers with its whole local state (``full``);
so does a node heard of that it does not know (new, or forgotten while out of reach), of
that node only. A node that stops says it has nobody left.

Nothing here is proportional to all users: a change of one user's state costs a read of
the rooms that user is in (cached until the user joins or leaves a room) and one entry in
the pending presence of each local session following one of those rooms. Each session's
pending states go out as one ``presence`` frame per ``flush_interval`` at most. Memory is
one entry per user online somewhere, per local session, and per cached user's rooms. What
costs the size of a room: a join (its followers hear of the joiner, the joiner of its first
``SNAPSHOT_MEMBERS`` members) and the initial state in the reply to ``sync`` (the same
members of each of the user's rooms, one storage read per room).

The same fan-out carries two other kinds of news of a user. A profile change (``profile``
notice) goes out like a change of state, at the same cost: a read of the user's rooms (the
same cache) and one entry per local session following one of them or of the user, encoded
once per node and sent at the next flush; the node where it happened tells the others in
its notice (``profiles``). Tokens revoked by a password change are told to the other nodes
(``signed_out``), each of which closes the sessions here that showed them, as ``logout``
does on its own node. Both are hints like presence: a notice lost is not told again (a
client reads profiles with ``members`` and ``users``; a revoked token is refused at the
next connection or request).
"""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from collections.abc import Callable, Coroutine
from typing import TYPE_CHECKING, Any

import msgspec

from hubbub.broker.base import Audience, Notice, Payload
from hubbub.core.presence import Contributions, State, node_state
from hubbub.core.profiles import Profile
from hubbub.protocol.messages import PresenceNotice, ProfileNotice, encode
from hubbub.service.session import Encoded, Session
from hubbub.storage.base import Storage

if TYPE_CHECKING:
    from hubbub.service.hub import Hub

log = logging.getLogger(__name__)

FLUSH_INTERVAL = 1.0  # seconds: at most one presence frame per connection per interval
HEARTBEAT = 10.0  # seconds between a node's heartbeats
NODE_TIMEOUT = 35.0  # seconds without a heartbeat after which a node is taken for dead
ROOMS_CACHED = 10_000  # users whose rooms are remembered for the fan-out
SNAPSHOT_MEMBERS = 500  # members of each room looked at for a session's initial presence


class NodePresence(msgspec.Struct, kw_only=True, omit_defaults=True):
    """What one node tells the others: states on it (all of them with ``full``), or a
    question (``ask``: send me all you have; only node ``to``, if given); profiles changed
    there, and tokens revoked there (user → token hashes). Empty, it is a heartbeat."""

    users: dict[str, State] = {}
    full: bool = False
    ask: bool = False
    to: str = ""
    profiles: list[Profile] = []
    signed_out: dict[str, list[bytes]] = {}


_encoder = msgspec.json.Encoder()
_decoder = msgspec.json.Decoder(NodePresence)


class Presence:
    def __init__(
        self,
        hub: Hub,
        storage: Storage,
        flush_interval: float = FLUSH_INTERVAL,
        heartbeat: float = HEARTBEAT,
        node_timeout: float = NODE_TIMEOUT,
    ) -> None:
        self._hub = hub
        self._storage = storage
        self.flush_interval = flush_interval
        self.heartbeat = heartbeat
        self.node_timeout = node_timeout
        self.states = Contributions()
        self._local: dict[str, dict[Session, bool]] = {}  # user → {session: idle}
        self._rooms: OrderedDict[str, frozenset[str]] = OrderedDict()  # user → rooms (LRU)
        self._pending: dict[Session, dict[str, State]] = {}
        self._publish: Callable[[Payload], None] | None = None
        self._flush_timer: asyncio.TimerHandle | None = None
        self._beat_timer: asyncio.TimerHandle | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        # Users whose rooms are being read, and whether their state is to be told then.
        self._reading: dict[str, bool] = {}
        # Profile notices waiting for such a read: user → (notice, the session not told).
        self._profile_news: dict[str, tuple[Encoded, Session | None]] = {}
        self._profiles_pending: dict[Session, dict[str, Encoded]] = {}  # user → notice
        self._reread: set[str] = set()  # ... who joined or left a room meanwhile
        self._dirty: set[str] = set()  # users whose sessions here changed since the flush

    # --- lifecycle --------------------------------------------------------------------

    def start(self, publish: Callable[[Payload], None]) -> None:
        """The broker is open: ask the other nodes what they have, and start heartbeats."""
        self._publish = publish
        self.ask()
        self._beat_timer = asyncio.get_running_loop().call_later(self.heartbeat, self.beat)

    def stop(self) -> None:
        """This node stops: tell the others it has nobody left, and stop the timers."""
        self._dirty.clear()
        if self._beat_timer is not None:
            self._beat_timer.cancel()
        if self._flush_timer is not None:
            self._flush_timer.cancel()
        self._send(NodePresence(full=True))
        self._publish = None
        for task in self._tasks:
            task.cancel()

    def ask(self, to: str = "") -> None:
        """Ask every other node (or node ``to``) for all it has: at start, when notices
        may have been lost, and of a node heard of again after it was taken for dead."""
        self._send(NodePresence(ask=True, to=to))

    def beat(self) -> None:
        """A heartbeat: tell the others this node lives, and forget the nodes not heard of
        for ``node_timeout``."""
        if self._beat_timer is not None:
            self._beat_timer.cancel()
        self._send(NodePresence())
        loop = asyncio.get_running_loop()
        node = self._hub.node_id
        for user in self.states.expire(loop.time(), self.node_timeout, keep=node):
            self._announce(user)
        self._beat_timer = loop.call_later(self.heartbeat, self.beat)

    def _send(self, content: NodePresence) -> None:
        if self._publish is None:
            return
        data = _encoder.encode(content)
        self._publish(
            Notice(audience=Audience.PRESENCE, name="", data=data, origin=self._hub.node_id)
        )

    # --- this node's sessions -------------------------------------------------------------

    def started(self, session: Session) -> None:
        self._local.setdefault(session.user, {})[session] = False
        self._changed_here(session.user)

    def ended(self, session: Session) -> None:
        self._pending.pop(session, None)
        self._profiles_pending.pop(session, None)
        sessions = self._local.get(session.user)
        if sessions is None or sessions.pop(session, None) is None:
            return  # ended already (a revoked session closes after it left)
        if not sessions:
            del self._local[session.user]
        self._changed_here(session.user)

    def idle(self, session: Session, away: bool) -> None:
        """The session says its user has been idle a while (``away``), or is back."""
        sessions = self._local.get(session.user)
        if sessions is not None and session in sessions:
            sessions[session] = away
            self._changed_here(session.user)

    def _changed_here(self, user: str) -> None:
        """Taken into account at the next flush: however often a client connects, closes or
        says idle, its user's state costs one fan-out and one notice per flush interval."""
        self._dirty.add(user)
        self._arm()

    def _settle(self) -> None:
        """The states on this node of the users whose sessions changed: kept, fanned out
        here, and told to the other nodes in one notice."""
        dirty, self._dirty = self._dirty, set()
        node = self._hub.node_id
        told: dict[str, State] = {}
        for user in dirty:
            sessions = self._local.get(user, {})
            state = node_state(len(sessions), sum(sessions.values()))
            if state is not self.states.of_node(node, user):
                told[user] = state
                if self.states.set(node, user, state):
                    self._announce(user)
        if told:
            self._send(NodePresence(users=told))

    # --- other nodes ----------------------------------------------------------------------

    def receive(self, notice: Notice) -> None:
        """A notice of another node (this node's own come back, and are skipped)."""
        node = notice.origin
        if node == self._hub.node_id:
            return
        try:
            content = _decoder.decode(notice.data)
        except msgspec.DecodeError:
            log.warning("unreadable presence notice from node %s", node)
            return
        if not self.states.knows(node) and not content.full:
            self.ask(to=node)  # new here, or forgotten while it was out of reach
        self.states.heard(node, asyncio.get_running_loop().time())
        if content.ask and content.to in ("", self._hub.node_id):
            self._settle()
            self._send(NodePresence(users=self.states.users_of(self._hub.node_id), full=True))
        if content.full:
            changed = self.states.replace(node, content.users)
        else:
            changed = [u for u, s in content.users.items() if self.states.set(node, u, s)]
        for user in changed:
            self._announce(user)
        for profile in content.profiles:
            self._tell_profile(profile, None)
        for user, revoked in content.signed_out.items():
            for each in revoked:
                self._hub.revoke(user, each)

    # --- profiles and sign-outs -------------------------------------------------------------

    def profile_changed(self, profile: Profile, session: Session | None = None) -> None:
        """``profile`` changed on this node: tell the other nodes, and the sessions here
        (but ``session``, which made the change and has it in its reply)."""
        self._send(NodePresence(profiles=[profile]))
        self._tell_profile(profile, session)

    def signed_out(self, user: str, revoked: list[bytes]) -> None:
        """Tokens of ``user`` were revoked (and their sessions here closed): the other nodes
        close theirs."""
        self._send(NodePresence(signed_out={user: revoked}))

    def _tell_profile(self, profile: Profile, exclude: Session | None) -> None:
        """Queue the notice of ``profile`` for the user's sessions here and those sharing a
        room with the user."""
        if self._publish is None:
            return  # stopped: storage may be closed, and nobody is left to tell
        user = profile.username
        notice = Encoded(encode(ProfileNotice(profile=profile)))
        if exclude is not None:  # it has this change in its reply: an older one is stale
            self._profiles_pending.get(exclude, {}).pop(user, None)
        for session in self._local.get(user, ()):  # followers of rooms or not
            if session is not exclude:
                self._profiles_pending.setdefault(session, {})[user] = notice
        rooms = self._rooms.get(user)
        if rooms is None:
            self._profile_news[user] = (notice, exclude)  # the latest, once they are read
            self._read_rooms(user, state=False)
        else:
            self._rooms.move_to_end(user)
            self._queue_profile(user, rooms, notice, exclude)
        self._arm()

    def _queue_profile(
        self, user: str, rooms: frozenset[str], notice: Encoded, exclude: Session | None
    ) -> None:
        pending = self._profiles_pending
        for room in rooms:
            for session, _ in self._hub.followers(room):
                if session is not exclude:
                    pending.setdefault(session, {})[user] = notice

    # --- fan-out ----------------------------------------------------------------------------

    def member_changed(self, user: str) -> None:
        """``user`` joined or left a room: their rooms are read again at their next change."""
        self._rooms.pop(user, None)
        if user in self._reading:
            self._reread.add(user)  # that read may be from before: told, not remembered

    def joined(self, user: str, room: str) -> None:
        """``user`` joined ``room`` (its followers here already include the user's synced
        sessions): the room's followers hear of the user, the user's sessions here of the
        room's first ``SNAPSHOT_MEMBERS`` members."""
        self.member_changed(user)
        if self._publish is None:
            return
        if self.states.state(user) is not State.OFFLINE:
            self._queue(user, frozenset((room,)))
        if user in self._local:
            self._spawn(self._tell_members(user, room))

    async def _tell_members(self, user: str, room: str) -> None:
        try:
            members = (await self._storage.members(room))[:SNAPSHOT_MEMBERS]
        except Exception:  # a hint: their next change tells them
            log.warning("presence: could not read the members of %s", room, exc_info=True)
            return
        sessions = [s for s in self._local.get(user, ()) if room in s.feeds]
        for member in members:
            state = self.states.state(member)
            if member != user and state is not State.OFFLINE:
                for session in sessions:
                    self._pending.setdefault(session, {})[member] = state
        self._arm()

    def _announce(self, user: str) -> None:
        """``user``'s state changed: queue it for the local sessions sharing a room with them."""
        if self._publish is None:
            return  # stopped: storage may be closed, and nobody is left to tell
        rooms = self._rooms.get(user)
        if rooms is None:
            self._read_rooms(user, state=True)
        else:
            self._rooms.move_to_end(user)
            self._queue(user, rooms)

    def _read_rooms(self, user: str, state: bool) -> None:
        """Read the rooms of ``user``, then tell what waits for them: the user's state if
        ``state`` (as it is when the read ends), and a profile notice if there is one. A
        read already running tells both."""
        running = self._reading.get(user)
        if running is None:
            self._spawn(self._announce_after_read(user))
        self._reading[user] = bool(running) or state

    async def _announce_after_read(self, user: str) -> None:
        rooms = None
        try:
            rooms = frozenset(info.name for info in await self._storage.user_rooms(user))
        except Exception:  # presence is a hint: this change is not told, the next one is
            log.warning("presence: could not read the rooms of %s", user, exc_info=True)
        finally:
            state = self._reading.pop(user, False)
            news = self._profile_news.pop(user, None)
        if rooms is None:
            return
        if user in self._reread:
            self._reread.discard(user)
        else:
            self._rooms[user] = rooms
            if len(self._rooms) > ROOMS_CACHED:
                self._rooms.popitem(last=False)
        if state:
            self._queue(user, rooms)
        if news is not None:
            self._queue_profile(user, rooms, *news)
            self._arm()

    def _queue(self, user: str, rooms: frozenset[str]) -> None:
        state = self.states.state(user)  # now: a read finished late does not tell old news
        pending = self._pending
        for room in rooms:
            for session, _ in self._hub.followers(room):
                if session.user != user:
                    pending.setdefault(session, {})[user] = state
        self._arm()

    def _arm(self) -> None:
        """Flush what is pending one ``flush_interval`` from now, unless already due."""
        if (self._pending or self._dirty or self._profiles_pending) and self._flush_timer is None:
            loop = asyncio.get_running_loop()
            self._flush_timer = loop.call_later(self.flush_interval, self.flush)

    def flush(self) -> None:
        """Settle this node's changes, then send each session its pending presence, as one
        frame."""
        self._settle()
        if self._flush_timer is not None:
            self._flush_timer.cancel()
            self._flush_timer = None
        pending, self._pending = self._pending, {}
        for session, users in pending.items():
            session.send(PresenceNotice(users=users))
        profiles, self._profiles_pending = self._profiles_pending, {}
        for session, notices in profiles.items():
            for notice in notices.values():
                session.outlet.send(notice)

    def _spawn(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # --- initial state ----------------------------------------------------------------------

    async def snapshot(self, session: Session) -> dict[str, State]:
        """The users sharing a room with the session's user who are online or away (the
        rest are offline), from the first ``SNAPSHOT_MEMBERS`` members of each room the
        session follows."""
        members: dict[str, None] = {}
        try:
            for room in list(session.feeds):
                some = (await self._storage.members(room))[:SNAPSHOT_MEMBERS]
                members.update(dict.fromkeys(some))
        except Exception:  # a hint: the sync it comes with must not fail for it
            log.warning("presence: could not read the members of a room", exc_info=True)
            return {}
        members.pop(session.user, None)
        self._settle()
        # The states as they are when the reply goes out: no pending change is older.
        states = {member: self.states.state(member) for member in members}
        return {user: state for user, state in states.items() if state is not State.OFFLINE}
