"""``hubbub.client``: an asyncio client for the ``hubbub.v1`` protocol (see docs/client.md).

async with Client("http://127.0.0.1:8001", token=token) as client:
    await client.send("team", "hello")
    async for event in client.events():
        ...
"""

from hubbub.client.client import Client, Item
from hubbub.client.errors import (
    AuthFailed,
    ClientClosed,
    ClientError,
    ConnectionLost,
    OutboxFull,
    RequestError,
    Stopped,
)
from hubbub.client.outbox import Outgoing
from hubbub.client.signals import ConnectionState, Gap, Removed, SendFailed

__all__ = [
    "AuthFailed",
    "Client",
    "ClientClosed",
    "ClientError",
    "ConnectionLost",
    "ConnectionState",
    "Gap",
    "Item",
    "OutboxFull",
    "Outgoing",
    "Removed",
    "RequestError",
    "SendFailed",
    "Stopped",
]
