-- Outgoing webhooks: a room's new messages POSTed to a URL outside, each hook with its own
-- bot account (as incoming webhooks have). The secret signs every delivery, so it is kept
-- in the clear; a revoked hook keeps its row (its bot's messages stay its) with secret NULL
-- and revoked_at set. words: the trigger words, lowercase, separated by spaces.
-- outgoing_deliveries: the newest deliveries of each hook (the write that adds one trims
-- the rest), by the message's seq; no body is kept, nor the receiver's answer.
CREATE TABLE outgoing_webhooks (
    id         TEXT PRIMARY KEY,
    room_id    BIGINT NOT NULL REFERENCES rooms (id),
    name       TEXT NOT NULL CHECK (char_length(name) BETWEEN 1 AND 64),
    url        TEXT NOT NULL CHECK (char_length(url) BETWEEN 1 AND 2048),
    trigger    TEXT NOT NULL CHECK (trigger IN ('all', 'mention', 'words')),
    words      TEXT NOT NULL DEFAULT '',
    username   TEXT NOT NULL UNIQUE REFERENCES users (username),
    secret     TEXT,
    created_by TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    revoked_at BIGINT
);

CREATE INDEX outgoing_webhooks_by_room ON outgoing_webhooks (room_id) WHERE revoked_at IS NULL;

CREATE TABLE outgoing_deliveries (
    hook_id     TEXT NOT NULL REFERENCES outgoing_webhooks (id),
    message_seq BIGINT NOT NULL,
    message_id  TEXT NOT NULL,
    attempts    INTEGER NOT NULL,
    status      INTEGER,
    error       TEXT NOT NULL DEFAULT '',
    duration_ms BIGINT NOT NULL,
    at          BIGINT NOT NULL,
    PRIMARY KEY (hook_id, message_seq)
);
