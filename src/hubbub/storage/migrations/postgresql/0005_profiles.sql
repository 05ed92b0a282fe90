-- Profiles: what a user chose to be shown beside the username ('' = none), and the avatar:
-- the SHA-256 (hex) of its thumbnail's blob in the file store, and the version token that
-- changes with each new avatar and makes its URL (NULL and '' = no avatar).
ALTER TABLE users
    ADD COLUMN display_name TEXT NOT NULL DEFAULT '' CHECK (char_length(display_name) <= 64),
    ADD COLUMN status TEXT NOT NULL DEFAULT '' CHECK (char_length(status) <= 140),
    ADD COLUMN avatar TEXT CHECK (avatar IS NULL OR char_length(avatar) = 64),
    ADD COLUMN avatar_version TEXT NOT NULL DEFAULT '' CHECK (char_length(avatar_version) <= 32);

-- The file sweep keeps the blobs that avatars show.
CREATE INDEX users_avatar ON users (avatar) WHERE avatar IS NOT NULL;
