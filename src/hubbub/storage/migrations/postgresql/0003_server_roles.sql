-- Server roles: the first account created is the server's administrator, every later one a
-- member. At most one admin: the partial unique index refuses a second.
ALTER TABLE users ADD COLUMN role TEXT NOT NULL DEFAULT 'member'
    CHECK (role IN ('admin', 'member'));

CREATE UNIQUE INDEX users_one_admin ON users (role) WHERE role = 'admin';

-- A database made before roles: its oldest account is the admin.
UPDATE users SET role = 'admin'
    WHERE username = (SELECT username FROM users ORDER BY created_at, username LIMIT 1);
