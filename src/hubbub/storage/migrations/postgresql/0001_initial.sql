-- The whole schema: accounts, sessions, rooms, memberships, the per-room event log, and what
-- each message has now (reactions, mentions). Names, usernames and emoji sort as code points
-- (COLLATE "C"), as every other engine orders them.
CREATE TABLE users (
    username      TEXT PRIMARY KEY,
    password_hash TEXT NOT NULL,
    created_at    BIGINT NOT NULL
);

CREATE TABLE tokens (
    token_hash BYTEA PRIMARY KEY,
    username   TEXT NOT NULL REFERENCES users (username),
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);

-- `last_seq` is the room's last event: each append takes the next one under this row's lock.
CREATE TABLE rooms (
    id         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name       TEXT COLLATE "C" NOT NULL UNIQUE,
    kind       TEXT NOT NULL CHECK (kind IN ('public', 'private', 'dm')),
    created_by TEXT,
    created_at BIGINT NOT NULL,
    last_seq   BIGINT NOT NULL DEFAULT 0
);

-- The admins of each room (everyone else is a member; rooms.created_by is the owner).
CREATE TABLE members (
    room_id   BIGINT NOT NULL REFERENCES rooms (id),
    username  TEXT COLLATE "C" NOT NULL,
    read_seq  BIGINT NOT NULL DEFAULT 0,
    joined_at BIGINT NOT NULL,
    role      TEXT NOT NULL DEFAULT 'member' CHECK (role IN ('admin', 'member')),
    PRIMARY KEY (room_id, username)
);
CREATE INDEX members_by_user ON members (username);

-- One row per event, its kind's fields in columns of their own. A message's row holds its
-- current state: the latest body and `edited_at`, or `deleted` with no body; its `replies`
-- and `last_reply_at` if it is a thread's root; the members it names (`mentions`) and an
-- allowed @room (`room_mention`). A change names its message by `target`.
CREATE TABLE events (
    room_id       BIGINT NOT NULL REFERENCES rooms (id),
    seq           BIGINT NOT NULL,
    type          TEXT NOT NULL,
    author        TEXT NOT NULL,
    ts            BIGINT NOT NULL,
    msg_id        TEXT,
    client_msg_id TEXT,
    body          TEXT,
    by_user       TEXT,
    edited_at     BIGINT,
    deleted       BOOLEAN,
    target        BIGINT,
    member        TEXT,
    role          TEXT,
    emoji         TEXT,
    reply_to      BIGINT,
    thread        BIGINT,
    replies       BIGINT,
    last_reply_at BIGINT,
    mentions      TEXT[],
    room_mention  BOOLEAN,
    PRIMARY KEY (room_id, seq)
);
CREATE UNIQUE INDEX events_client_msg_id ON events (author, client_msg_id)
    WHERE client_msg_id IS NOT NULL;
CREATE INDEX events_by_target ON events (room_id, target) WHERE target IS NOT NULL;
CREATE INDEX events_by_thread ON events (room_id, thread, seq)
    WHERE thread IS NOT NULL AND type = 'message';
CREATE INDEX events_room_mentions ON events (room_id, seq) WHERE room_mention;

-- Who reacts to which message with what now, so a page counts them in O(page).
CREATE TABLE reactions (
    room_id  BIGINT NOT NULL REFERENCES rooms (id),
    seq      BIGINT NOT NULL,
    emoji    TEXT COLLATE "C" NOT NULL,
    username TEXT NOT NULL,
    PRIMARY KEY (room_id, seq, emoji, username)
);

-- One row per member named by a message not deleted: unread mentions come from an index.
CREATE TABLE mentions (
    username TEXT NOT NULL,
    room_id  BIGINT NOT NULL REFERENCES rooms (id),
    seq      BIGINT NOT NULL,
    PRIMARY KEY (username, room_id, seq)
);
