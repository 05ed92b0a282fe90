-- The search index moves to a file of its own, written by a thread of its own
-- (storage/sqlite_search.py): the writer's transaction no longer indexes each body. Here
-- remains what that thread follows: the messages (by pos) and, in search_changes, each
-- message whose body changed or went since it may have been indexed (AUTOINCREMENT: ids
-- never repeat, even once the applied rows are deleted).
DROP TRIGGER message_search_insert;
DROP TRIGGER message_search_update;
DROP TRIGGER message_search_delete;
DROP TABLE message_search;

CREATE TABLE search_changes (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    pos INTEGER NOT NULL
);

CREATE TRIGGER search_change_update AFTER UPDATE OF body, deleted ON events
WHEN old.type = 'message' BEGIN
    INSERT INTO search_changes (pos) VALUES (old.pos);
END;

CREATE TRIGGER search_change_delete AFTER DELETE ON events
WHEN old.type = 'message' BEGIN
    INSERT INTO search_changes (pos) VALUES (old.pos);
END;
