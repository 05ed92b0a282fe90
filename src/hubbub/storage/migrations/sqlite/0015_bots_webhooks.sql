-- Bots and incoming webhooks. users.bot marks a bot account (it has no password: its
-- password_hash is no hash at all, so no sign-in matches it), users.created_by who made it
-- ('' for the command line; NULL for a person). A webhook posts to its room as its own bot
-- account, made with it; its secret is kept as a SHA-256, as tokens are. A revoked webhook
-- keeps its row (its bot's messages stay its) with secret_hash NULL and revoked_at set.
ALTER TABLE users ADD COLUMN bot INTEGER NOT NULL DEFAULT 0 CHECK (bot IN (0, 1));
ALTER TABLE users ADD COLUMN created_by TEXT;

CREATE TABLE webhooks (
    id          TEXT PRIMARY KEY,
    room_id     INTEGER NOT NULL REFERENCES rooms (id),
    name        TEXT NOT NULL CHECK (length(name) BETWEEN 1 AND 64),
    username    TEXT NOT NULL UNIQUE REFERENCES users (username),
    secret_hash BLOB,
    created_by  TEXT NOT NULL,
    created_at  INTEGER NOT NULL,
    revoked_at  INTEGER
) WITHOUT ROWID;

CREATE INDEX webhooks_by_room ON webhooks (room_id) WHERE revoked_at IS NULL;
