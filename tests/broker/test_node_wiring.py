"""A node opens its broker before its storage and closes it after, so that every commit, the
last ones included, is published; a node that fails to start leaves nothing open."""

from __future__ import annotations

from pathlib import Path

import pytest
from support import config_for

from hubbub.broker.base import BrokerClosed, Payload
from hubbub.core.events import Event, Message
from hubbub.core.models import RoomKind
from hubbub.service.node import Node
from hubbub.storage.base import StorageError
from hubbub.storage.factory import sqlite_url

NOW = 1_764_000_000_000


def events_of(payload: Payload) -> list[Event]:
    return payload if isinstance(payload, list) else []


async def test_writes_committed_while_the_node_closes_are_published(tmp_path: Path) -> None:
    published: list[Event] = []
    async with Node(config_for(tmp_path)) as node:
        node.broker.subscribe(lambda payload: published.extend(events_of(payload)))
        await node.storage.create_user("alice", "hash", NOW)
        # Queued, not awaited: storage commits it while it closes, with the broker still open.
        pending = node.storage.create_room("general", RoomKind.PUBLIC, "alice", NOW)
    joined = await pending
    assert joined.event is not None
    assert joined.event in published


async def test_a_node_whose_storage_cannot_open_closes_its_broker(tmp_path: Path) -> None:
    not_a_database = tmp_path / "garbage.sqlite3"
    not_a_database.write_bytes(b"this is not an SQLite database, not even its header" * 100)
    config = config_for(tmp_path / "data", storage_url=sqlite_url(not_a_database))
    node = Node(config)
    with pytest.raises(StorageError, match="cannot use the database"):
        async with node:
            pass
    with pytest.raises(BrokerClosed):
        node.broker.publish([Message(room="lobby", seq=1, ts=NOW, user="a", msg_id="m", body="")])
