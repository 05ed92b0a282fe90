-- Consent: invitations wait for their invitee to accept them, users block users, and each
-- user says who may open a direct-message room with them (and invite them).
CREATE TABLE invitations (
    room_id  INTEGER NOT NULL REFERENCES rooms (id),
    username TEXT NOT NULL,
    by_user  TEXT NOT NULL,
    ts       INTEGER NOT NULL,
    PRIMARY KEY (room_id, username)
) WITHOUT ROWID;
-- The caps count an invitee's and an inviter's pending invitations.
CREATE INDEX invitations_by_user ON invitations (username);
CREATE INDEX invitations_by_inviter ON invitations (by_user);

CREATE TABLE blocks (
    blocker TEXT NOT NULL,
    blocked TEXT NOT NULL,
    ts      INTEGER NOT NULL,
    PRIMARY KEY (blocker, blocked)
) WITHOUT ROWID;

ALTER TABLE users ADD COLUMN dm_policy TEXT NOT NULL DEFAULT 'everyone'
    CHECK (dm_policy IN ('everyone', 'shared_rooms', 'nobody'));
