-- iserverd schema, version 7: accounts, online sessions, contact lists, offline
-- and relayed messages, v3 Groupware departments, authorizations,
-- registration requests, invite codes.
-- A fresh database is created from the newest full file; older databases are
-- brought forward by the upgrade-to-vN.sql steps.

CREATE TABLE schema_version (
    version integer NOT NULL
);

-- One row per registered UIN (IServerd's Users_Info_Ext, with real types).
CREATE TABLE users (
    uin                 bigint PRIMARY KEY CHECK (uin > 0 AND uin <= 4294967295),
    password_hash       text NOT NULL,
    -- The password sealed under the OSCAR key file (iserverd.storage.sealing),
    -- for the MD5 logins that need the password itself; NULL until the
    -- account's next login or password change.
    password_sealed     text,
    locked              boolean NOT NULL DEFAULT false,
    lock_text           text NOT NULL DEFAULT '',
    must_change_password boolean NOT NULL DEFAULT false,
    can_broadcast       boolean NOT NULL DEFAULT false,
    created_at          timestamptz NOT NULL DEFAULT now(),
    last_login_at       timestamptz,
    last_login_ip       inet,
    nick                text NOT NULL DEFAULT '',
    first_name          text NOT NULL DEFAULT '',
    last_name           text NOT NULL DEFAULT '',
    email               text NOT NULL DEFAULT '',   -- primary address, may be hidden
    email2              text NOT NULL DEFAULT '',   -- the public one (short info, search)
    email3              text NOT NULL DEFAULT '',
    hide_email          boolean NOT NULL DEFAULT false,
    timezone            smallint NOT NULL DEFAULT 0, -- signed half-hours
    auth_required       boolean NOT NULL DEFAULT false,
    web_aware           boolean NOT NULL DEFAULT true,
    hide_ip             boolean NOT NULL DEFAULT false,
    gender              smallint NOT NULL DEFAULT 0, -- 0 unset, 1 female, 2 male
    age                 smallint NOT NULL DEFAULT 0,
    birth_day           smallint NOT NULL DEFAULT 0,
    birth_month         smallint NOT NULL DEFAULT 0,
    birth_year          smallint NOT NULL DEFAULT 0,
    languages           smallint[] NOT NULL DEFAULT '{0,0,0}',
    home_address        text NOT NULL DEFAULT '',
    home_city           text NOT NULL DEFAULT '',
    home_state          text NOT NULL DEFAULT '',
    home_country        integer NOT NULL DEFAULT 0,
    home_phone          text NOT NULL DEFAULT '',
    home_fax            text NOT NULL DEFAULT '',
    home_cell           text NOT NULL DEFAULT '',
    home_zip            text NOT NULL DEFAULT '',
    homepage            text NOT NULL DEFAULT '',
    work_address        text NOT NULL DEFAULT '',
    work_city           text NOT NULL DEFAULT '',
    work_state          text NOT NULL DEFAULT '',
    work_country        integer NOT NULL DEFAULT 0,
    work_company        text NOT NULL DEFAULT '',
    work_title          text NOT NULL DEFAULT '',
    work_occupation     smallint NOT NULL DEFAULT 0,
    work_department     text NOT NULL DEFAULT '',
    work_department_code text NOT NULL DEFAULT '',  -- v3 Groupware department number
    work_phone          text NOT NULL DEFAULT '',
    work_fax            text NOT NULL DEFAULT '',
    work_pager          text NOT NULL DEFAULT '',
    work_zip            text NOT NULL DEFAULT '',
    work_homepage       text NOT NULL DEFAULT '',
    notes               text NOT NULL DEFAULT '',
    homepage_category_enabled boolean NOT NULL DEFAULT false,
    homepage_category   integer NOT NULL DEFAULT 0,
    homepage_description text NOT NULL DEFAULT '',
    -- (category, keywords) pairs: up to 4 interests, 3 past backgrounds, 3 affiliations
    interests           jsonb NOT NULL DEFAULT '[]',
    past                jsonb NOT NULL DEFAULT '[]',
    affiliations        jsonb NOT NULL DEFAULT '[]',
    marital             smallint NOT NULL DEFAULT 0
);

-- Search (v5.md section 15.5): every criterion has an index, so no search
-- reads the whole table.  Text by its start, case-insensitively (pattern
-- indexes serve LIKE 'abc%' and equality), e-mail addresses whole, languages
-- and interest categories by containment.
CREATE INDEX users_nick_lower ON users (lower(nick) text_pattern_ops);
CREATE INDEX users_first_lower ON users (lower(first_name) text_pattern_ops);
CREATE INDEX users_last_lower ON users (lower(last_name) text_pattern_ops);
CREATE INDEX users_email2_lower ON users (lower(email2));
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

-- Who is online now (a mirror of the server's in-memory cache, for SQL and tools).
-- Emptied at every start.
CREATE TABLE online_users (
    uin         bigint PRIMARY KEY REFERENCES users (uin) ON DELETE CASCADE,
    ip          inet NOT NULL,
    port        integer NOT NULL,
    tcp_port    integer NOT NULL DEFAULT 0,
    protocol    smallint NOT NULL,
    session_id  bigint NOT NULL DEFAULT 0,
    status      integer NOT NULL DEFAULT 0,
    status_flags integer NOT NULL DEFAULT 0,
    client_version integer NOT NULL DEFAULT 0,
    login_at    timestamptz NOT NULL DEFAULT now()
);

-- Contact (1), invisible (2), visible (3) and ignore (4) lists of online owners.
CREATE TABLE contacts (
    owner_uin   bigint NOT NULL REFERENCES users (uin) ON DELETE CASCADE,
    target_uin  bigint NOT NULL,
    list_type   smallint NOT NULL CHECK (list_type BETWEEN 1 AND 4),
    PRIMARY KEY (owner_uin, list_type, target_uin)
);
CREATE INDEX contacts_target ON contacts (target_uin, list_type);

-- Messages waiting for an offline recipient.  Each has an id so that only the
-- delivered ones are deleted.
CREATE TABLE offline_messages (
    id          bigserial PRIMARY KEY,
    to_uin      bigint NOT NULL REFERENCES users (uin) ON DELETE CASCADE,
    from_uin    bigint NOT NULL,
    sent_at     timestamptz NOT NULL,
    msg_type    integer NOT NULL,
    body        bytea NOT NULL
);
CREATE INDEX offline_messages_to ON offline_messages (to_uin, id);

-- v3 Groupware departments (IServerd's Users_Deps).
CREATE TABLE departments (
    code        integer PRIMARY KEY,
    min_uin     bigint NOT NULL DEFAULT 0,
    name        text NOT NULL
);

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
-- only the password's hash is kept.  A v3 form has no password (no hash
-- here): the approval sets one.  info holds the form's account details
-- (users column -> value), copied into the account on approval.
CREATE TABLE register_requests (
    id              bigserial PRIMARY KEY,
    password_hash   text,
    email           text NOT NULL DEFAULT '',
    ip              inet,
    requested_at    timestamptz NOT NULL DEFAULT now(),
    info            jsonb NOT NULL DEFAULT '{}'
);


-- Messages relayed to an online recipient, written before the sender's ACK
-- and deleted when the recipient acknowledges them.  After a crash the rows
-- left here become offline messages.  No foreign key: one batch of many
-- senders' messages must not fail because one recipient was just deleted.
CREATE TABLE relayed_messages (
    id          bigserial PRIMARY KEY,
    to_uin      bigint NOT NULL,
    from_uin    bigint NOT NULL,
    sent_at     timestamptz NOT NULL,
    msg_type    integer NOT NULL,
    body        bytea NOT NULL
);
CREATE INDEX offline_messages_sent ON offline_messages (sent_at);

-- Invite codes for closed networks (Web invite only); each is
-- good for uses_left more web sign-ups until revoked.
CREATE TABLE invites (
    code        text PRIMARY KEY,
    uses_left   integer NOT NULL DEFAULT 1 CHECK (uses_left >= 0),
    used        integer NOT NULL DEFAULT 0,
    revoked     boolean NOT NULL DEFAULT false,
    note        text NOT NULL DEFAULT '',
    created_at  timestamptz NOT NULL DEFAULT now()
);

INSERT INTO schema_version (version) VALUES (7);
