-- Reactions. A reaction event names its message by `target` and its `emoji`; the table
-- `reactions` holds who reacts to which message with what now, so a page counts them in
-- O(page). A message's reactions go when it is deleted.
ALTER TABLE events ADD COLUMN emoji TEXT;

CREATE TABLE reactions (
    room_id  INTEGER NOT NULL REFERENCES rooms (id),
    seq      INTEGER NOT NULL,
    emoji    TEXT NOT NULL,
    username TEXT NOT NULL,
    PRIMARY KEY (room_id, seq, emoji, username)
) WITHOUT ROWID;
