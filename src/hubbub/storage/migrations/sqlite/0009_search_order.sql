-- Search in the order messages were sent, newest first, stopping once a page is full: every
-- event gets `pos`, one more than the greatest in the database when it is written (so it
-- grows with commit order, across rooms), and the search index is keyed by it instead of by
-- room_id * 2^32 + seq, so the index itself hands out its matches newest first. An explicit
-- column, not the implicit rowid: VACUUM may renumber that. Events written before this get
-- their place by time.
ALTER TABLE events ADD COLUMN pos INTEGER;

UPDATE events SET pos = o.n
    FROM (SELECT room_id, seq, row_number() OVER (ORDER BY ts, room_id, seq) AS n FROM events) AS o
    WHERE events.room_id = o.room_id AND events.seq = o.seq;

CREATE UNIQUE INDEX events_by_pos ON events (pos);

DROP TRIGGER message_search_insert;
DROP TRIGGER message_search_update;
DROP TRIGGER message_search_delete;
DROP TABLE message_search;

CREATE VIRTUAL TABLE message_search USING fts5 (
    body,
    content = '',
    tokenize = 'trigram'
);

CREATE TRIGGER message_search_insert AFTER INSERT ON events
WHEN new.type = 'message' AND new.deleted IS NOT 1 BEGIN
    INSERT INTO message_search (rowid, body) VALUES (new.pos, new.body);
END;

-- A contentless index forgets a row when it is given the very values it indexed.
CREATE TRIGGER message_search_update AFTER UPDATE OF body, deleted ON events
WHEN old.type = 'message' BEGIN
    INSERT INTO message_search (message_search, rowid, body)
        SELECT 'delete', old.pos, old.body
        WHERE old.deleted IS NOT 1;
    INSERT INTO message_search (rowid, body)
        SELECT new.pos, new.body
        WHERE new.deleted IS NOT 1;
END;

CREATE TRIGGER message_search_delete AFTER DELETE ON events
WHEN old.type = 'message' AND old.deleted IS NOT 1 BEGIN
    INSERT INTO message_search (message_search, rowid, body)
        VALUES ('delete', old.pos, old.body);
END;

INSERT INTO message_search (rowid, body)
    SELECT pos, body FROM events
    WHERE type = 'message' AND deleted IS NOT 1;
