-- Profiles: what a user chose to be shown beside the username ('' = none), and the avatar:
-- the SHA-256 (hex) of its thumbnail's blob in the file store, and the version token that
-- changes with each new avatar and makes its URL (NULL and '' = no avatar).
ALTER TABLE users ADD COLUMN display_name TEXT NOT NULL DEFAULT ''
    CHECK (length(display_name) <= 64);
ALTER TABLE users ADD COLUMN status TEXT NOT NULL DEFAULT ''
    CHECK (length(status) <= 140);
ALTER TABLE users ADD COLUMN avatar TEXT
    CHECK (avatar IS NULL OR length(avatar) = 64);
ALTER TABLE users ADD COLUMN avatar_version TEXT NOT NULL DEFAULT ''
    CHECK (length(avatar_version) <= 32);

-- The file sweep keeps the blobs that avatars show.
CREATE INDEX users_avatar ON users (avatar) WHERE avatar IS NOT NULL;
