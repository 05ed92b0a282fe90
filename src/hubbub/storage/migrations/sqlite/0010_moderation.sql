-- Moderation: a room's topic, who is banned from or muted in which room, the columns of the
-- moderation events (rooms.room_topic: events.topic is a change's), and the audit log, written
-- in the transaction of each moderation.
ALTER TABLE rooms ADD COLUMN room_topic TEXT NOT NULL DEFAULT ''
    CHECK (length(room_topic) <= 250);

ALTER TABLE events ADD COLUMN reason TEXT;
ALTER TABLE events ADD COLUMN until_ts INTEGER;
ALTER TABLE events ADD COLUMN topic TEXT;
ALTER TABLE events ADD COLUMN is_private INTEGER;

-- Kept whether or not the user is a member: a ban keeps them out until it is lifted.
CREATE TABLE bans (
    room_id  INTEGER NOT NULL REFERENCES rooms (id),
    username TEXT NOT NULL,
    by_user  TEXT NOT NULL,
    reason   TEXT NOT NULL DEFAULT '' CHECK (length(reason) <= 250),
    ts       INTEGER NOT NULL,
    PRIMARY KEY (room_id, username)
) WITHOUT ROWID;

-- A mute outlives leaving and joining again; until_ts NULL: until it is lifted.
CREATE TABLE mutes (
    room_id  INTEGER NOT NULL REFERENCES rooms (id),
    username TEXT NOT NULL,
    until_ts INTEGER,
    PRIMARY KEY (room_id, username)
) WITHOUT ROWID;

CREATE TABLE audit (
    id     INTEGER PRIMARY KEY,
    ts     INTEGER NOT NULL,
    actor  TEXT NOT NULL,
    action TEXT NOT NULL,
    room   TEXT NOT NULL,
    target TEXT,
    detail TEXT NOT NULL DEFAULT ''
);
