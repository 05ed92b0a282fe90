// Node with the `ws` package: every text frame to every connection of the room (its path).
"use strict";
const { WebSocketServer } = require("ws");

const port = Number(process.argv[2] || 8001);
const rooms = new Map();
const server = new WebSocketServer({ host: "127.0.0.1", port, perMessageDeflate: false });

server.on("connection", (socket, request) => {
  const room = request.url;
  let members = rooms.get(room);
  if (!members) rooms.set(room, (members = new Set()));
  members.add(socket);
  socket.on("message", (data, isBinary) => {
    for (const member of members) member.send(data, { binary: isBinary });
  });
  socket.on("close", () => members.delete(socket));
});
