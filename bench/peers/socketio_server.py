"""python-socketio on aiohttp: clients `join` a room, every `msg` is emitted to that room."""

import sys

import socketio
import uvloop
from aiohttp import web

sio = socketio.AsyncServer(async_mode="aiohttp", cors_allowed_origins="*")
app = web.Application()
sio.attach(app)


@sio.on("join")
async def join(sid: str, room: str) -> None:
    await sio.enter_room(sid, room)
    await sio.emit("joined", to=sid)


@sio.on("msg")
async def msg(sid: str, data: str) -> None:
    for room in sio.rooms(sid):
        if room != sid:
            await sio.emit("msg", data, room=room)


web.run_app(app, host="127.0.0.1", port=int(sys.argv[1]), print=None, loop=uvloop.new_event_loop())
