-- Users, their device tokens (SHA-256 hashes only) and review sessions.
-- Portable SQL: integer milliseconds for time, booleans as 0/1 integers.
CREATE TABLE users (
    id          INTEGER PRIMARY KEY,
    name        TEXT    NOT NULL UNIQUE,
    admin       INTEGER NOT NULL DEFAULT 0,
    created_at  BIGINT  NOT NULL
);

CREATE TABLE devices (
    id            INTEGER PRIMARY KEY,
    user_id       BIGINT  NOT NULL REFERENCES users (id),
    label         TEXT    NOT NULL,
    token_hash    TEXT    NOT NULL UNIQUE,
    created_at    BIGINT  NOT NULL,
    last_seen_at  BIGINT,
    revoked_at    BIGINT
);

CREATE INDEX devices_user ON devices (user_id);

CREATE TABLE sessions (
    id                INTEGER PRIMARY KEY,
    user_id           BIGINT  NOT NULL REFERENCES users (id),
    local_id          TEXT    NOT NULL,
    device_id         BIGINT  NOT NULL REFERENCES devices (id),
    repo_owner        TEXT    NOT NULL,
    repo_name         TEXT    NOT NULL,
    pr_number         BIGINT  NOT NULL,
    started_at        BIGINT  NOT NULL,
    ended_at          BIGINT,
    active_seconds    BIGINT  NOT NULL,
    state             TEXT    NOT NULL CHECK (state IN ('active', 'ended')),
    updated_at        BIGINT  NOT NULL,
    closed_by_server  INTEGER NOT NULL DEFAULT 0,
    received_at       BIGINT  NOT NULL,
    UNIQUE (user_id, local_id)
);

CREATE INDEX sessions_user_started ON sessions (user_id, started_at, id);
CREATE INDEX sessions_started ON sessions (started_at, id);
-- Only active sessions are ever searched by silence (the stale-session
-- closer); a partial index keeps ended ones (most rows) out of it.
CREATE INDEX sessions_active_received ON sessions (received_at) WHERE state = 'active';
