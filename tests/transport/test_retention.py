"""Retention and room titles end to end, over real sockets, on each storage engine.

A server keeps messages ten days; its clock is moved on instead of waiting, and the node's
retention pass is run at once rather than on its timer. What the pass deletes reaches a
connected member live and a member who resumes with ``sync`` from their last seq, as
``message_deleted`` events by ``""``; a deleted message's file is gone. A room's title and
topic are set with ``room_settings`` (WebSocket or HTTP) and shown in ``rooms``,
``directory`` and the room's own reply."""

from __future__ import annotations

from pathlib import Path

import aiohttp
from support import Client, ServerClock, bearer, call_api, config_for, public_room, running_server

from hubbub.core.retention import DAY_MS

STORAGE_ENGINES = ("sqlite", "postgresql")


async def file_status(http: aiohttp.ClientSession, url: str, token: str) -> int:
    async with http.get(url, headers=bearer(token)) as response:
        await response.read()
        return response.status


def deleted_seqs(client: Client) -> list[int]:
    return [e["target"] for e in client.room_events("team", "message_deleted")]


async def test_what_retention_deletes_reaches_live_and_resuming_clients(
    tmp_path: Path, storage_url: str, http: aiohttp.ClientSession
) -> None:
    clock = ServerClock()
    config = config_for(tmp_path / "data", storage_url=storage_url, retention_days=10)
    async with running_server(config, clock=clock) as server:
        api = f"{server.url}/api/v1"
        alice, bob, _ = await public_room(http, server.url, "team", ["alice", "bob"], ["carol"])
        async with Client.connect(http, server.url, alice, sync={}) as alice_ws:
            upload = await call_api(
                http,
                "POST",
                f"{api}/rooms/team/files",
                alice,
                params={"name": "notes.txt"},
                data=b"old notes",
            )
            assert upload.status == 201, upload.body
            file_id = upload.body["id"]
            old = [
                (
                    await alice_ws.ok(
                        "send", room="team", body="", client_msg_id="f", files=[file_id]
                    )
                )
            ]
            old += [await alice_ws.send("team", f"old {i}") for i in range(3)]
            async with Client.connect(http, server.url, bob, sync={}) as bob_ws:
                last_seen = (await bob_ws.ok("rooms"))["rooms"][0]["last_seq"]
            assert await file_status(http, f"{api}/files/{file_id}", bob) == 200

            clock.now += 10 * DAY_MS  # the old ones are due one second from now
            young = await alice_ws.send("team", "young")
            clock.now += 1000
            done = await server.node.retention.run_pass()
            assert done.deleted == 4

            olds = [sent["seq"] for sent in old]
            await alice_ws.wait_for(lambda c: sorted(deleted_seqs(c)) == olds)
            assert {e["user"] for e in alice_ws.room_events("team", "message_deleted")} == {""}

        # Bob resumes from the seq he last saw: the deletions are replayed to him.
        async with Client.connect(http, server.url, bob, sync={"team": last_seen}) as bob_ws:
            assert sorted(deleted_seqs(bob_ws)) == olds
            history = (await bob_ws.ok("history", room="team"))["events"]
            bodies = {e["seq"]: e.get("body", "") for e in history if e["type"] == "message"}
            assert bodies[young["seq"]] == "young"
            assert all(bodies[seq] == "" for seq in olds)
        assert await file_status(http, f"{api}/files/{file_id}", bob) == 404
        audit = await call_api(http, "GET", f"{api}/admin/audit", alice)  # the first account
        [entry] = [e for e in audit.body["entries"] if e["action"] == "retention"]
        assert (entry["room"], entry["actor"]) == ("team", "")
        assert entry["detail"].startswith("deleted=4 ")


async def test_title_topic_and_retention_of_a_room(
    tmp_path: Path, storage_url: str, http: aiohttp.ClientSession
) -> None:
    config = config_for(tmp_path / "data", storage_url=storage_url)
    async with running_server(config) as server:
        api = f"{server.url}/api/v1"
        alice, bob, carol = await public_room(http, server.url, "team", ["alice", "bob"], ["carol"])
        async with (
            Client.connect(http, server.url, alice, sync={}) as alice_ws,
            Client.connect(http, server.url, bob, sync={}) as bob_ws,
        ):
            await alice_ws.ok("room_settings", room="team", title="  Team Room  ", topic="hi")
            await bob_ws.wait_for(lambda c: c.room_events("team", "room_changed"))
            [changed] = bob_ws.room_events("team", "room_changed")
            assert (changed["title"], changed["topic"], changed["user"]) == (
                "Team Room",
                "hi",
                "alice",
            )
            [room] = (await bob_ws.ok("rooms"))["rooms"]
            assert (room["title"], room["topic"], room["retention_days"]) == (
                "Team Room",
                "hi",
                None,
            )
            [listed] = [r for r in (await bob_ws.ok("directory"))["rooms"] if r["name"] == "team"]
            assert (listed["title"], listed["topic"]) == ("Team Room", "hi")

            # Only the owner and admins change them; a rename is pointed to the title.
            refused = await bob_ws.request("room_settings", room="team", title="Mine")
            assert refused["code"] == "forbidden", refused
            renamed = await alice_ws.request("room_settings", room="team", name="crew")
            assert renamed["code"] == "bad_request" and "title" in renamed["message"]
            for bad in ("x" * 65, "a\u202eb", "two\nlines"):
                reply = await alice_ws.request("room_settings", room="team", title=bad)
                assert reply["code"] == "bad_request", (bad, reply)
            for days in (-2, 36_501):
                reply = await alice_ws.request("room_settings", room="team", retention_days=days)
                assert reply["code"] == "bad_request", (days, reply)

            patched = await call_api(
                http, "PATCH", f"{api}/rooms/team", alice, json={"retention_days": 30, "title": ""}
            )
            assert patched.status == 204, patched.body
            await bob_ws.wait_for(lambda c: len(c.room_events("team", "room_changed")) == 2)
            second = bob_ws.room_events("team", "room_changed")[-1]
            assert (second["title"], second["retention_days"]) == ("", 30)
            [room] = (await call_api(http, "GET", f"{api}/rooms", bob)).body["rooms"]
            assert (room["title"], room["retention_days"]) == ("", 30)
            rename = await call_api(
                http, "PATCH", f"{api}/rooms/team", alice, json={"name": "crew"}
            )
            assert rename.status == 400 and "title" in rename.body["message"]
            outsider = await call_api(
                http, "PATCH", f"{api}/rooms/team", carol, json={"title": "Mine"}
            )
            assert outsider.status == 403, outsider.body
            directory = (await call_api(http, "GET", f"{api}/directory", carol)).body
            [listed] = [r for r in directory["rooms"] if r["name"] == "team"]
            assert (listed["title"], listed["topic"]) == ("", "hi")
