-- Version 5: OSCAR MD5 logins need the password itself, which the PBKDF2
-- hash cannot give back.  Each account gains a copy sealed under the key file
-- outside the database (iserverd.storage.sealing) at its next successful
-- login of any kind or password change; until then it is NULL.
ALTER TABLE users ADD COLUMN password_sealed text;

UPDATE schema_version SET version = 5;
