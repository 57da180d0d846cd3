-- Version 2: v3 Groupware departments (IServerd's Users_Deps), sent to ICQ Corp
-- clients at login and used to address department broadcasts.
CREATE TABLE departments (
    code        integer PRIMARY KEY,
    min_uin     bigint NOT NULL DEFAULT 0,
    name        text NOT NULL
);

UPDATE schema_version SET version = 2;
