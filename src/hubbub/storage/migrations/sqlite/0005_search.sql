-- Message search: a trigram index of the current body of every message not deleted, so a
-- query of 3 or more characters finds substrings in any script (CJK too), case-insensitively.
-- Contentless: the bodies stay in `events` alone. A message's index row is keyed by its
-- place, room_id * 2^32 + seq, which no VACUUM renumbers. Triggers keep the index in step in
-- the write that changes a row: an edit replaces the indexed body, a delete removes it.
CREATE VIRTUAL TABLE message_search USING fts5 (
    body,
    content = '',
    tokenize = 'trigram'
);

CREATE TRIGGER message_search_insert AFTER INSERT ON events
WHEN new.type = 'message' AND new.deleted IS NOT 1 BEGIN
    INSERT INTO message_search (rowid, body) VALUES (new.room_id * 4294967296 + new.seq, new.body);
END;

-- A contentless index forgets a row when it is given the very values it indexed.
CREATE TRIGGER message_search_update AFTER UPDATE OF body, deleted ON events
WHEN old.type = 'message' BEGIN
    INSERT INTO message_search (message_search, rowid, body)
        SELECT 'delete', old.room_id * 4294967296 + old.seq, old.body
        WHERE old.deleted IS NOT 1;
    INSERT INTO message_search (rowid, body)
        SELECT new.room_id * 4294967296 + new.seq, new.body
        WHERE new.deleted IS NOT 1;
END;

CREATE TRIGGER message_search_delete AFTER DELETE ON events
WHEN old.type = 'message' AND old.deleted IS NOT 1 BEGIN
    INSERT INTO message_search (message_search, rowid, body)
        VALUES ('delete', old.room_id * 4294967296 + old.seq, old.body);
END;

INSERT INTO message_search (rowid, body)
    SELECT room_id * 4294967296 + seq, body FROM events
    WHERE type = 'message' AND deleted IS NOT 1;
