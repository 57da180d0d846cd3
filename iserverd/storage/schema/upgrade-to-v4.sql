-- Version 4: registrations from v3 clients wait for the administrator with
-- their whole form.  A v3 form carries no password, so such a request has no
-- hash; the administrator's approval sets one.  The form's account details
-- (users column -> value) are kept with the request and copied into the new
-- account.
ALTER TABLE register_requests ALTER COLUMN password_hash DROP NOT NULL;
ALTER TABLE register_requests ADD COLUMN info jsonb NOT NULL DEFAULT '{}';

UPDATE schema_version SET version = 4;
