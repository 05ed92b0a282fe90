-- Registration and guests at run time: the settings a server admin set (NULL: the config's),
-- in one row made on the first change; invite links (only their code's SHA-256 is kept); and
-- the networks banned from connecting as guests. `version` moves with every change of the
-- settings or the bans: each node polls it.
CREATE TABLE server_settings (
    id           INTEGER PRIMARY KEY CHECK (id = 1),
    registration TEXT CHECK (registration IN ('open', 'closed', 'invite')),
    guests       BOOLEAN,
    version      BIGINT NOT NULL
);

CREATE TABLE invite_links (
    id         TEXT PRIMARY KEY,
    code_hash  BYTEA NOT NULL UNIQUE,
    created_by TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    max_uses   INTEGER CHECK (max_uses >= 1),
    uses       INTEGER NOT NULL DEFAULT 0 CHECK (uses >= 0)
);

CREATE TABLE guest_bans (
    network TEXT PRIMARY KEY,
    by_user TEXT NOT NULL,
    ts      BIGINT NOT NULL
);
