"""hubbub.v1 requests → actions → replies.

``handle`` answers most requests before the next frame of the connection is read. A ``send``
is different: it is enqueued at once (keeping the connection's order) and its ``sent`` comes
when the commit does, so a client can have many sends in flight; those come back as a
``Pending`` for the transport to await on the side.
"""

from __future__ import annotations

from collections.abc import Awaitable
from dataclasses import dataclass

import msgspec

from hubbub.core.events import Message
from hubbub.protocol import messages as m
from hubbub.service.actions import Actions
from hubbub.service.session import Session
from hubbub.storage.base import Appended


@dataclass(frozen=True, slots=True)
class Pending:
    """A reply that comes later: ``sent`` after the commit."""

    stored: Awaitable[Appended[Message]]
    re: m.RequestId

    def sent(self, appended: Appended[Message]) -> msgspec.Struct:
        return m.sent_reply(appended.event, self.re)


async def handle(
    actions: Actions, session: Session, request: m.Request
) -> msgspec.Struct | Pending | None:
    user = session.user
    re = request.id
    match request:
        case m.Send(
            room=room, client_msg_id=client_msg_id, body=body, reply_to=reply_to, files=files
        ):
            return Pending(actions.send(user, room, client_msg_id, body, reply_to, files), re)
        case m.Ping():
            return m.Pong(re=re)
        case m.Rooms():
            return m.RoomsReply(re=re, rooms=await actions.rooms(user))
        case m.Directory():
            return m.DirectoryReply(re=re, rooms=await actions.directory())
        case m.Members(room=room):
            members = await actions.members(user, room)
            users = [profile.username for profile in members.profiles]
            return m.MembersReply(
                re=re,
                room=room,
                users=users,
                profiles=members.profiles,
                roles=members.roles,
                muted=members.muted,
            )
        case m.SetProfile(display_name=display_name, status=status):
            profile = await actions.set_profile(user, display_name, status, session)
            return m.ProfileNotice(re=re, profile=profile)
        case m.Users(users=names):
            return m.UsersReply(re=re, profiles=await actions.profiles(names))
        case m.Create(name=name, private=private):
            return m.room_reply(await actions.create(user, name, private, session), re)
        case m.Join(room=room):
            return m.room_reply(await actions.join(user, room, session), re)
        case m.Leave(room=room):
            await actions.leave(user, room)
            return m.Left(re=re, room=room)
        case m.Dm(user=other):
            return m.room_reply(await actions.dm(user, other, session), re)
        case m.Invite(room=room, user=invitee):
            await actions.invite(user, room, invitee)
            return m.Ok(re=re)
        case m.Invitations():
            return m.InvitationsReply(re=re, invitations=await actions.invitations(user))
        case m.Accept(room=room):
            return m.room_reply(await actions.accept(user, room, session), re)
        case m.Decline(room=room):
            await actions.decline(user, room)
            return m.Ok(re=re)
        case m.Block(user=other):
            await actions.block(user, other)
            return m.Ok(re=re)
        case m.Unblock(user=other):
            await actions.unblock(user, other)
            return m.Ok(re=re)
        case m.Blocks():
            return m.BlocksReply(re=re, users=await actions.blocks(user))
        case m.SetDmPolicy(policy=policy):
            if policy is not None:
                await actions.set_dm_policy(user, policy)
            return m.DmPolicyReply(re=re, policy=await actions.dm_policy(user))
        case m.Edit(room=room, seq=seq, body=body):
            changed = await actions.edit(user, room, seq, body)
            return m.MessageReply(re=re, message=changed.message)
        case m.Delete(room=room, seq=seq):
            changed = await actions.delete(user, room, seq)
            return m.MessageReply(re=re, message=changed.message)
        case m.React(room=room, seq=seq, emoji=emoji, on=on):
            changed = await actions.react(user, room, seq, emoji, on)
            return m.MessageReply(re=re, message=changed.message)
        case m.SetRole(room=room, user=member, role=role):
            await actions.set_role(user, room, member, role)
            return m.Ok(re=re)
        case m.Kick(room=room, user=member):
            await actions.kick(user, room, member)
            return m.Ok(re=re)
        case m.Ban(room=room, user=member, reason=reason):
            await actions.ban(user, room, member, reason)
            return m.Ok(re=re)
        case m.Unban(room=room, user=member):
            await actions.unban(user, room, member)
            return m.Ok(re=re)
        case m.Mute(room=room, user=member, until=until):
            await actions.mute(user, room, member, until)
            return m.Ok(re=re)
        case m.Unmute(room=room, user=member):
            await actions.unmute(user, room, member)
            return m.Ok(re=re)
        case m.Bans(room=room):
            return m.BansReply(re=re, room=room, bans=await actions.bans(user, room))
        case m.RoomSettings(
            room=room, topic=topic, private=private, title=title, retention_days=days
        ):
            await actions.room_settings(user, room, topic, private, title, days)
            return m.Ok(re=re)
        case m.History(room=room, before=before, after=after, limit=limit):
            page = await actions.history(user, room, before, after, limit)
            return m.HistoryReply(re=re, room=room, events=page.events, has_more=page.has_more)
        case m.Thread(room=room, root=root, before=before, limit=limit):
            thread = await actions.thread(user, room, root, before, limit)
            return m.ThreadReply(
                re=re, room=room, root=thread.root, events=thread.events, has_more=thread.has_more
            )
        case m.Search(query=query, room=room, before=before, limit=limit):
            found = await actions.search(user, query, room, before, limit)
            return m.SearchReply(
                re=re,
                query=query,
                results=[m.SearchHit.of(f) for f in found.found],
                has_more=found.has_more,
                next=None if found.next is None else str(found.next),
            )
        case m.Sync(since=since):
            rooms = await actions.sync(session, since)
            presence = await actions.hub.presence.snapshot(session)
            return m.Synced(re=re, rooms=rooms, presence=presence)
        case m.Read(room=room, seq=seq):
            await actions.read(user, room, seq, session)
            return m.Ok(re=re)
        case m.Typing(room=room):
            await actions.typing(session, room)
            return None
        case m.Idle(away=away):
            actions.hub.presence.idle(session, away)
            return None
        case m.Auth():
            return m.Error(re=re, code="bad_request", message="already authenticated")
    raise AssertionError(f"unhandled request {request!r}")
