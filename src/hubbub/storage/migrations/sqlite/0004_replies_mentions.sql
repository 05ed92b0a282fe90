-- Replies, threads and mentions. A reply names the message it answers (`reply_to`) and its
-- thread's root (`thread`); the root's row counts its live `replies` and keeps the time of
-- the newest (`last_reply_at`), changed in the write of each reply and delete, so a page
-- reads them as they are. A message delete names the thread it left in `thread` too.
ALTER TABLE events ADD COLUMN reply_to INTEGER;
ALTER TABLE events ADD COLUMN thread INTEGER;
ALTER TABLE events ADD COLUMN replies INTEGER;
ALTER TABLE events ADD COLUMN last_reply_at INTEGER;
CREATE INDEX events_by_thread ON events (room_id, thread, seq)
    WHERE thread IS NOT NULL AND type = 'message';

-- Mentions: a message's row keeps the members it names (`mentions`, space-separated) and an
-- allowed @room (`room_mention`); `mentions` holds one row per member named by a message not
-- deleted, so a member's unread mentions are counted from an index, not from every unread row.
ALTER TABLE events ADD COLUMN mentions TEXT;
ALTER TABLE events ADD COLUMN room_mention INTEGER;
CREATE INDEX events_room_mentions ON events (room_id, seq) WHERE room_mention = 1;

CREATE TABLE mentions (
    username TEXT NOT NULL,
    room_id  INTEGER NOT NULL REFERENCES rooms (id),
    seq      INTEGER NOT NULL,
    PRIMARY KEY (username, room_id, seq)
) WITHOUT ROWID;
