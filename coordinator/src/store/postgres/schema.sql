-- The record's log in PostgreSQL (quorate_coordinator::store::postgres).
SELECT pg_advisory_xact_lock(7146025);
CREATE TABLE IF NOT EXISTS quorate_entries (
    idx   BIGINT PRIMARY KEY CHECK (idx >= 0),
    entry BYTEA  NOT NULL,
    leaf  BYTEA  NOT NULL CHECK (length(leaf) = 32),
    -- The lease epoch it was appended under.
    epoch BIGINT NOT NULL
);
CREATE TABLE IF NOT EXISTS quorate_lease (
    id         INT         PRIMARY KEY CHECK (id = 1),
    holder     TEXT        NOT NULL,
    epoch      BIGINT      NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL
);
-- Where the holder serves (its advertised gRPC address), so that a
-- follower can send writers there. Added after the first release of this
-- table; a lease taken without it has ''.
-- (Looked up first: ALTER TABLE would lock the lease row's table on
-- every connection, behind appends in flight.)
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM information_schema.columns
                   WHERE table_schema = current_schema()
                     AND table_name = 'quorate_lease' AND column_name = 'address') THEN
        ALTER TABLE quorate_lease ADD COLUMN address TEXT NOT NULL DEFAULT '';
    END IF;
END
$$;
-- The alert outbox's cursors (quorate_coordinator::outbox::cursor): per
-- sink, the index of the first entry whose alerts it may not have had
-- yet, shared by every replica, so that the one that takes over delivers
-- what the one before did not.
CREATE TABLE IF NOT EXISTS quorate_alert_cursors (
    sink TEXT   PRIMARY KEY,
    next BIGINT NOT NULL CHECK (next >= 0)
);
-- Every stored hash of the log's RFC 6962 tree (Go tlog's layout), written
-- in each append's transaction, so that the database proves what it holds
-- (quorate_coordinator::store::postgres::tree).
CREATE TABLE IF NOT EXISTS quorate_hashes (
    idx  BIGINT PRIMARY KEY CHECK (idx >= 0),
    hash BYTEA  NOT NULL CHECK (length(hash) = 32)
);
-- The latest checkpoint the witnesses cosigned, as the holder got it:
-- every replica serves it (quorate_coordinator::witnessing).
CREATE TABLE IF NOT EXISTS quorate_cosigned (
    id   INT    PRIMARY KEY CHECK (id = 1),
    size BIGINT NOT NULL CHECK (size >= 0),
    note TEXT   NOT NULL
);
-- The verifier key of the log key every replica signs checkpoints with,
-- as the first replica to start over this database recorded it: a replica
-- with another key refuses to start (quorate_coordinator::store::replica).
CREATE TABLE IF NOT EXISTS quorate_log_key (
    id      INT  PRIMARY KEY CHECK (id = 1),
    vkey    TEXT NOT NULL,
    replica TEXT NOT NULL
);
