-- Moderation: a room's topic, who is banned from or muted in which room, the columns of the
-- moderation events (rooms.room_topic: events.topic is a change's), and the audit log, written
-- in the transaction of each moderation.
ALTER TABLE rooms ADD COLUMN room_topic TEXT NOT NULL DEFAULT ''
    CHECK (char_length(room_topic) <= 250);

ALTER TABLE events
    ADD COLUMN reason TEXT,
    ADD COLUMN until_ts BIGINT,
    ADD COLUMN topic TEXT,
    ADD COLUMN is_private BOOLEAN;

-- Kept whether or not the user is a member: a ban keeps them out until it is lifted.
CREATE TABLE bans (
    room_id  BIGINT NOT NULL REFERENCES rooms (id),
    username TEXT NOT NULL,
    by_user  TEXT NOT NULL,
    reason   TEXT NOT NULL DEFAULT '' CHECK (char_length(reason) <= 250),
    ts       BIGINT NOT NULL,
    PRIMARY KEY (room_id, username)
);

-- A mute outlives leaving and joining again; until_ts NULL: until it is lifted.
CREATE TABLE mutes (
    room_id  BIGINT NOT NULL REFERENCES rooms (id),
    username TEXT NOT NULL,
    until_ts BIGINT,
    PRIMARY KEY (room_id, username)
);

CREATE TABLE audit (
    id     BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    ts     BIGINT NOT NULL,
    actor  TEXT NOT NULL,
    action TEXT NOT NULL,
    room   TEXT NOT NULL,
    target TEXT,
    detail TEXT NOT NULL DEFAULT ''
);
