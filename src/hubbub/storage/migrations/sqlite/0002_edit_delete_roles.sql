-- Edits, deletes and room roles. A message's row holds its current state (the latest body
-- and `edited_at`, or `deleted` with no body); a change event names its message by `target`.
ALTER TABLE events ADD COLUMN edited_at INTEGER;
ALTER TABLE events ADD COLUMN deleted INTEGER;
ALTER TABLE events ADD COLUMN target INTEGER;
ALTER TABLE events ADD COLUMN member TEXT;
ALTER TABLE events ADD COLUMN role TEXT;
CREATE INDEX events_by_target ON events (room_id, target) WHERE target IS NOT NULL;

-- The admins of each room (everyone else is a member; rooms.created_by is the owner).
ALTER TABLE members ADD COLUMN role TEXT NOT NULL DEFAULT 'member'
    CHECK (role IN ('admin', 'member'));
