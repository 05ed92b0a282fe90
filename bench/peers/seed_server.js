// The seed's stack: nodejs-websocket relaying every text frame, generalised from the demo's two
// page slots to every connection of a room (the room is the request path). Like the seed, it
// leaves Nagle's algorithm on.
"use strict";
const ws = require("nodejs-websocket");

const port = Number(process.argv[2] || 8001);
const rooms = new Map();

ws.createServer((conn) => {
  const room = conn.path;
  let members = rooms.get(room);
  if (!members) rooms.set(room, (members = new Set()));
  members.add(conn);
  conn.on("text", (text) => {
    for (const member of members) member.sendText(text);
  });
  const leave = () => members.delete(conn);
  conn.on("close", leave);
  conn.on("error", leave);
}).listen(port, "127.0.0.1");
