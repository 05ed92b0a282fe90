-- Room titles and retention. rooms.room_title is what clients show instead of the name ("":
-- the name); rooms.room_retention_days how many days its messages are kept (NULL: the
-- server's setting; 0: forever). events.title and events.retention_days are a room_changed's
-- (-1: back to the server's). The partial index hands the retention pass a room's oldest
-- messages not deleted yet, whatever the tombstones before them.
ALTER TABLE rooms ADD COLUMN room_title TEXT NOT NULL DEFAULT ''
    CHECK (length(room_title) <= 64);
ALTER TABLE rooms ADD COLUMN room_retention_days INTEGER
    CHECK (room_retention_days BETWEEN 0 AND 36500);

ALTER TABLE events ADD COLUMN title TEXT;
ALTER TABLE events ADD COLUMN retention_days INTEGER;

CREATE INDEX events_live_messages_by_ts ON events (room_id, ts)
    WHERE type = 'message' AND deleted IS NOT 1;
