-- Version 6: a message to an online recipient is written before its sender
-- is acknowledged (Message durability = commit), so it survives a crash.
CREATE TABLE relayed_messages (
    id          bigserial PRIMARY KEY,
    to_uin      bigint NOT NULL,
    from_uin    bigint NOT NULL,
    sent_at     timestamptz NOT NULL,
    msg_type    integer NOT NULL,
    body        bytea NOT NULL
);
-- Recent messages are read at start to recognise a resend of one acknowledged before a crash.
CREATE INDEX offline_messages_sent ON offline_messages (sent_at);

UPDATE schema_version SET version = 6;
