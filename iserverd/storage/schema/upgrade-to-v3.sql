-- Version 3: the user directory.  Text searches match the start of a field,
-- so the name indexes become text_pattern_ops indexes (they serve equality
-- too); every white-pages criterion gets an index, so no search reads the
-- whole table; users may require authorization before others see them
-- online; registrations can wait for an administrator.
DROP INDEX users_nick_lower;
DROP INDEX users_first_lower;
DROP INDEX users_last_lower;
CREATE INDEX users_nick_lower ON users (lower(nick) text_pattern_ops);
CREATE INDEX users_first_lower ON users (lower(first_name) text_pattern_ops);
CREATE INDEX users_last_lower ON users (lower(last_name) text_pattern_ops);
CREATE INDEX users_email3_lower ON users (lower(email3));
CREATE INDEX users_city_lower ON users (lower(home_city) text_pattern_ops);
CREATE INDEX users_home_state_lower ON users (lower(home_state) text_pattern_ops);
CREATE INDEX users_work_state_lower ON users (lower(work_state) text_pattern_ops);
CREATE INDEX users_company_lower ON users (lower(work_company) text_pattern_ops);
CREATE INDEX users_department_lower ON users (lower(work_department) text_pattern_ops);
CREATE INDEX users_title_lower ON users (lower(work_title) text_pattern_ops);
CREATE INDEX users_age ON users (age);
CREATE INDEX users_gender ON users (gender);
CREATE INDEX users_home_country ON users (home_country);
CREATE INDEX users_work_country ON users (work_country);
CREATE INDEX users_occupation ON users (work_occupation);
CREATE INDEX users_languages ON users USING gin (languages);
CREATE INDEX users_interests ON users USING gin (interests jsonb_path_ops);
CREATE INDEX users_past ON users USING gin (past jsonb_path_ops);
CREATE INDEX users_affiliations ON users USING gin (affiliations jsonb_path_ops);
CREATE INDEX users_homepage_category ON users (homepage_category) WHERE homepage_category_enabled;

-- Who may add whom: owner_uin (who requires authorization) granted it to
-- allowed_uin with an "authorization granted" message.
CREATE TABLE authorizations (
    owner_uin   bigint NOT NULL REFERENCES users (uin) ON DELETE CASCADE,
    allowed_uin bigint NOT NULL REFERENCES users (uin) ON DELETE CASCADE,
    granted_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (owner_uin, allowed_uin)
);
CREATE INDEX authorizations_allowed ON authorizations (allowed_uin);

-- Registrations waiting for an administrator (IServerd's register_requests);
-- only the password's hash is kept.
CREATE TABLE register_requests (
    id              bigserial PRIMARY KEY,
    password_hash   text NOT NULL,
    email           text NOT NULL DEFAULT '',
    ip              inet,
    requested_at    timestamptz NOT NULL DEFAULT now()
);

UPDATE schema_version SET version = 3;
