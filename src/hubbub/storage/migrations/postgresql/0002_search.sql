-- Message search: a trigram index of the current body of every message not deleted, so a
-- query of 3 or more characters finds substrings in any script (CJK too), case-insensitively
-- (ILIKE). The index follows the row: an edit or a delete changes it in its own write.
CREATE EXTENSION IF NOT EXISTS pg_trgm;

CREATE INDEX events_body_search ON events USING gin (body gin_trgm_ops)
    WHERE type = 'message' AND deleted IS NOT TRUE;
