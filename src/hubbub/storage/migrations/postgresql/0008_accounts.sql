-- Accounts: any number of server admins (the first account created is still one: create_user
-- decides it in its write, under a lock of users), accounts deactivated by an admin, and the
-- account changes that close an account's sessions on every node, which each node polls by
-- id (writers lock the table, so ids commit in their order).
DROP INDEX users_one_admin;

ALTER TABLE users ADD COLUMN deactivated_at BIGINT;

-- Kept an hour (rows older are deleted by the write that adds one): only nodes read it.
CREATE TABLE account_changes (
    id       BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    username TEXT NOT NULL,
    kind     TEXT NOT NULL CHECK (kind IN ('deactivated', 'password')),
    ts       BIGINT NOT NULL
);
