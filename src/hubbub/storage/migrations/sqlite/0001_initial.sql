-- Accounts, sessions, rooms, memberships and the per-room event log.
CREATE TABLE users (
    username      TEXT PRIMARY KEY,
    password_hash TEXT NOT NULL,
    created_at    INTEGER NOT NULL
) WITHOUT ROWID;

CREATE TABLE tokens (
    token_hash BLOB PRIMARY KEY,
    username   TEXT NOT NULL REFERENCES users (username),
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
) WITHOUT ROWID;

CREATE TABLE rooms (
    id         INTEGER PRIMARY KEY,
    name       TEXT NOT NULL UNIQUE,
    kind       TEXT NOT NULL CHECK (kind IN ('public', 'private', 'dm')),
    created_by TEXT,
    created_at INTEGER NOT NULL,
    last_seq   INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE members (
    room_id   INTEGER NOT NULL REFERENCES rooms (id),
    username  TEXT NOT NULL,
    read_seq  INTEGER NOT NULL DEFAULT 0,
    joined_at INTEGER NOT NULL,
    PRIMARY KEY (room_id, username)
) WITHOUT ROWID;
CREATE INDEX members_by_user ON members (username);

CREATE TABLE events (
    room_id       INTEGER NOT NULL REFERENCES rooms (id),
    seq           INTEGER NOT NULL,
    type          TEXT NOT NULL,
    author        TEXT NOT NULL,
    ts            INTEGER NOT NULL,
    msg_id        TEXT,
    client_msg_id TEXT,
    body          TEXT,
    by_user       TEXT,
    PRIMARY KEY (room_id, seq)
);
CREATE UNIQUE INDEX events_client_msg_id ON events (author, client_msg_id)
    WHERE client_msg_id IS NOT NULL;
