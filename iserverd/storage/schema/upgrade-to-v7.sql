-- Version 7: invite codes for closed networks (Web invite only); each is
-- good for uses_left more web sign-ups until revoked.
CREATE TABLE invites (
    code        text PRIMARY KEY,
    uses_left   integer NOT NULL DEFAULT 1 CHECK (uses_left >= 0),
    used        integer NOT NULL DEFAULT 0,
    revoked     boolean NOT NULL DEFAULT false,
    note        text NOT NULL DEFAULT '',
    created_at  timestamptz NOT NULL DEFAULT now()
);

UPDATE schema_version SET version = 7;
