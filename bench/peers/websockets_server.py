"""The Python `websockets` library: every text frame to every connection of the room, with
`broadcast()` (the room is the request path)."""

import asyncio
import sys
from collections import defaultdict

import uvloop
from websockets.asyncio.server import ServerConnection, broadcast, serve

rooms: dict[str, set[ServerConnection]] = defaultdict(set)


async def relay(connection: ServerConnection) -> None:
    members = rooms[connection.request.path if connection.request else "/"]
    members.add(connection)
    try:
        async for message in connection:
            broadcast(members, message)
    finally:
        members.discard(connection)


async def main(port: int) -> None:
    async with serve(relay, "127.0.0.1", port, compression=None):
        await asyncio.Future()


uvloop.run(main(int(sys.argv[1])))
