-- Files: one row per upload. The content is a blob in the file store named by its SHA-256
-- (`sha256`; `thumb_sha256` names its thumbnail's), so rows may share a blob. A file is
-- pending (`seq` NULL) until a message of its room refers to it; then `seq` is that
-- message's, and the message's row keeps what a reader is shown of its files (`files`, JSON).
-- Deleting the message deletes its files' rows; a sweep removes old pending rows and blobs
-- no row refers to.
CREATE TABLE files (
    id           TEXT COLLATE "C" PRIMARY KEY,
    sha256       TEXT COLLATE "C" NOT NULL,
    thumb_sha256 TEXT COLLATE "C",
    size         BIGINT NOT NULL,
    type         TEXT NOT NULL,
    name         TEXT NOT NULL,
    width        INTEGER,
    height       INTEGER,
    uploader     TEXT NOT NULL REFERENCES users (username),
    room_id      BIGINT NOT NULL REFERENCES rooms (id),
    created_at   BIGINT NOT NULL,
    seq          BIGINT
);
CREATE INDEX files_by_uploader ON files (uploader);
CREATE INDEX files_pending ON files (created_at) WHERE seq IS NULL;
CREATE INDEX files_by_message ON files (room_id, seq) WHERE seq IS NOT NULL;
CREATE INDEX files_by_blob ON files (sha256);
CREATE INDEX files_by_thumb ON files (thumb_sha256) WHERE thumb_sha256 IS NOT NULL;

ALTER TABLE events ADD COLUMN files TEXT;
