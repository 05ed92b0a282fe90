"""A bot that echoes what is said to it in a room: a message that starts with "!echo", or
that mentions it.

Make its account first, a bot account (no password; its token does not expire), on the
server's machine: ``hubbub admin bot create echo`` prints the token, once. Or a server
admin posts ``{"name": "echo"}`` to ``/api/v1/bots`` and keeps the ``token`` of the answer.
Then run: BOT_TOKEN=… python examples/echo_bot.py http://127.0.0.1:8001 lobby
(or BOT_USERNAME and BOT_PASSWORD of an ordinary account instead of BOT_TOKEN)."""

import asyncio
import os
import sys

from hubbub.client import Client
from hubbub.core.events import Message


async def main(url: str, room: str, **signin: str | None) -> None:
    token, username, password = (signin.get(key) for key in ("token", "username", "password"))
    async with Client(url, token=token, username=username, password=password) as client:
        await client.join(room)
        async for event in client.events():
            if not isinstance(event, Message) or event.room != room or event.user == client.user:
                continue  # only others' messages in our room: never our own echo
            if event.body.startswith("!echo") or client.user in event.mentions:
                await client.send(room, event.body.removeprefix("!echo").strip() or "echo")


if __name__ == "__main__":
    names = {"token": "BOT_TOKEN", "username": "BOT_USERNAME", "password": "BOT_PASSWORD"}
    signin = {key: os.environ.get(variable) for key, variable in names.items()}
    asyncio.run(main(sys.argv[1], sys.argv[2], **signin))
