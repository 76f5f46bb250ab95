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
