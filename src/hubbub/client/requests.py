"""The requests of protocol.md as typed methods: each checked here as the server checks it
(``checked_request``), sent by the client's ``request``, and answered with the server's own
reply type. ``Client`` adds the connection."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, TypeVar

import msgspec

from hubbub.client.errors import ClientError, RequestError
from hubbub.core.consent import Invitation
from hubbub.core.events import Message
from hubbub.core.models import PublicRoom, RoomInfo
from hubbub.core.profiles import Profile
from hubbub.errors import HubbubError
from hubbub.protocol import messages as m

_Body = TypeVar("_Body")

# Requests the client makes itself: ``auth`` by the handshake, ``sync`` on every connect
# (with the seqs it delivered), ``send`` through the outbox.
OWN_REQUESTS = frozenset({"auth", "sync", "send"})


class Requests:
    """Typed requests over ``request``, which the connection provides."""

    async def request(self, type_: str, **fields: Any) -> Any:
        raise NotImplementedError

    async def _hint(self, request: m.Request) -> None:
        raise NotImplementedError

    async def rooms(self) -> list[RoomInfo]:
        return (await self._typed(m.RoomsReply, "rooms")).rooms

    async def directory(self) -> list[PublicRoom]:
        return (await self._typed(m.DirectoryReply, "directory")).rooms

    async def members(self, room: str) -> m.MembersReply:
        return await self._typed(m.MembersReply, "members", room=room)

    async def create(self, name: str, private: bool = False) -> RoomInfo:
        return await self._typed(RoomInfo, "create", name=name, private=private)

    async def join(self, room: str) -> RoomInfo:
        return await self._typed(RoomInfo, "join", room=room)

    async def leave(self, room: str) -> None:
        await self._typed(m.Left, "leave", room=room)

    async def dm(self, user: str) -> RoomInfo:
        return await self._typed(RoomInfo, "dm", user=user)

    async def invite(self, room: str, user: str) -> None:
        await self._typed(m.Ok, "invite", room=room, user=user)

    async def invitations(self) -> list[Invitation]:
        return (await self._typed(m.InvitationsReply, "invitations")).invitations

    async def accept(self, room: str) -> RoomInfo:
        return await self._typed(RoomInfo, "accept", room=room)

    async def decline(self, room: str) -> None:
        await self._typed(m.Ok, "decline", room=room)

    async def history(
        self, room: str, *, before: int | None = None, after: int | None = None, limit: int = 50
    ) -> m.HistoryReply:
        return await self._typed(
            m.HistoryReply, "history", room=room, before=before, after=after, limit=limit
        )

    async def thread(
        self, room: str, root: int, *, before: int | None = None, limit: int = 50
    ) -> m.ThreadReply:
        return await self._typed(
            m.ThreadReply, "thread", room=room, root=root, before=before, limit=limit
        )

    async def edit(self, room: str, seq: int, body: str) -> Message:
        return (await self._typed(m.MessageReply, "edit", room=room, seq=seq, body=body)).message

    async def delete(self, room: str, seq: int) -> Message:
        return (await self._typed(m.MessageReply, "delete", room=room, seq=seq)).message

    async def react(self, room: str, seq: int, emoji: str, on: bool = True) -> Message:
        reply = await self._typed(m.MessageReply, "react", room=room, seq=seq, emoji=emoji, on=on)
        return reply.message

    async def read(self, room: str, seq: int) -> None:
        await self._typed(m.Ok, "read", room=room, seq=seq)

    async def search(
        self, query: str, *, room: str | None = None, before: str | None = None, limit: int = 20
    ) -> m.SearchResults:
        return await self._typed(
            m.SearchResults, "search", query=query, room=room, before=before, limit=limit
        )

    async def profile(
        self, *, display_name: str | None = None, status: str | None = None
    ) -> Profile:
        reply = await self._typed(
            m.ProfileNotice, "profile", display_name=display_name, status=status
        )
        return reply.profile

    async def users(self, users: Iterable[str]) -> list[Profile]:
        return (await self._typed(m.UsersReply, "users", users=list(users))).profiles

    async def ping(self) -> None:
        await self._typed(m.Pong, "ping")

    async def typing(self, room: str) -> None:
        """A typing hint (no reply; dropped while not connected, as hints may be)."""
        await self._hint(checked_request("typing", room=room))

    async def idle(self, away: bool) -> None:
        """Say the user is away (or back); no reply; dropped while not connected."""
        await self._hint(checked_request("idle", away=away))

    async def _typed(self, kind: type[_Body], type_: str, **fields: Any) -> _Body:
        body = await self.request(type_, **fields)
        if not isinstance(body, kind):
            raise ClientError(f"unexpected reply to {type_}: {type(body).__name__}")
        return body


def checked_request(type_: str, **fields: Any) -> m.Request:
    """The request as the server would decode it: the same checks and the same messages,
    here, before anything is sent (``RequestError`` ``bad_request`` if it fails)."""
    given = {name: value for name, value in fields.items() if value is not None}
    frame = msgspec.json.encode({"type": type_, **given})
    try:
        return m.decode_request(frame)
    except HubbubError as exc:
        raise RequestError("bad_request", str(exc)) from None
