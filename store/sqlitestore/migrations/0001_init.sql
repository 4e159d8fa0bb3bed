-- 0001_init: the webhook tables of one client's store.
--
-- Conventions: times are INTEGER unix microseconds (UTC); durations are
-- INTEGER nanoseconds; lists and maps are JSON TEXT ('null' for none);
-- booleans are INTEGER 0/1. Every name starts with webhooks_ so the tables can
-- live in a host's own database file.

-- Webhook endpoints (webhooks.Webhook). AUTOINCREMENT: IDs are never reused,
-- even after the newest webhook is deleted.
CREATE TABLE webhooks_endpoints (
    id                          INTEGER PRIMARY KEY AUTOINCREMENT,
    company_id                  INTEGER,                    -- NULL: system-wide
    name                        TEXT    NOT NULL,
    description                 TEXT    NOT NULL DEFAULT '',
    url                         TEXT    NOT NULL,
    events                      TEXT    NOT NULL DEFAULT 'null', -- JSON array of patterns
    custom_headers              TEXT    NOT NULL DEFAULT 'null', -- JSON object
    http_method                 TEXT    NOT NULL,
    content_type                TEXT    NOT NULL,
    timeout_ns                  INTEGER NOT NULL,
    max_retries                 INTEGER NOT NULL,
    verify_ssl                  INTEGER NOT NULL,
    auto_disable_after_failures INTEGER NOT NULL,
    is_active                   INTEGER NOT NULL,
    secret                      TEXT    NOT NULL,
    consecutive_failures        INTEGER NOT NULL DEFAULT 0,
    disabled_reason             TEXT    NOT NULL DEFAULT '',
    created_at                  INTEGER NOT NULL,
    updated_at                  INTEGER NOT NULL
);
CREATE INDEX webhooks_endpoints_company ON webhooks_endpoints (company_id);

-- Events: the payload is stored once, however many deliveries it has.
-- event_id is the caller's ID (idempotency key); id is the compact key
-- deliveries reference.
CREATE TABLE webhooks_events (
    id         INTEGER PRIMARY KEY,
    event_id   TEXT    NOT NULL UNIQUE,
    event_type TEXT    NOT NULL,
    company_id INTEGER,                                     -- NULL: client-wide
    payload    BLOB    NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE INDEX webhooks_events_created ON webhooks_events (created_at);

-- Deliveries: one event to one webhook. token and lease_until implement
-- fenced leases (Claim/Complete). AUTOINCREMENT: IDs (the delivery header and
-- the list cursor) are never reused.
CREATE TABLE webhooks_deliveries (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    event_pk        INTEGER NOT NULL REFERENCES webhooks_events (id),
    webhook_id      INTEGER NOT NULL REFERENCES webhooks_endpoints (id) ON DELETE CASCADE,
    status          TEXT    NOT NULL CHECK (status IN ('PENDING', 'RETRYING', 'SUCCESS', 'FAILED')),
    attempt_count   INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,
    lease_until     INTEGER,                                -- NULL: not leased
    token           INTEGER NOT NULL DEFAULT 0,
    response_status INTEGER NOT NULL DEFAULT 0,
    error_message   TEXT    NOT NULL DEFAULT '',
    duration_ns     INTEGER NOT NULL DEFAULT 0,
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL
);
-- Claim walks this partial index in due order; finished deliveries leave it.
CREATE INDEX webhooks_deliveries_due ON webhooks_deliveries (next_attempt_at, id)
    WHERE status IN ('PENDING', 'RETRYING');
CREATE INDEX webhooks_deliveries_webhook ON webhooks_deliveries (webhook_id, id);
CREATE INDEX webhooks_deliveries_status ON webhooks_deliveries (status, id);
CREATE INDEX webhooks_deliveries_event ON webhooks_deliveries (event_pk);
CREATE INDEX webhooks_deliveries_created ON webhooks_deliveries (created_at);

-- Attempts: one HTTP exchange of a delivery, numbered from 1.
CREATE TABLE webhooks_attempts (
    id               INTEGER PRIMARY KEY,
    delivery_id      INTEGER NOT NULL REFERENCES webhooks_deliveries (id) ON DELETE CASCADE,
    number           INTEGER NOT NULL,
    started_at       INTEGER NOT NULL,
    request_headers  TEXT    NOT NULL DEFAULT 'null',       -- JSON http.Header
    response_status  INTEGER NOT NULL DEFAULT 0,
    response_headers TEXT    NOT NULL DEFAULT 'null',       -- JSON http.Header
    response_body    BLOB    NOT NULL DEFAULT x'',
    duration_ns      INTEGER NOT NULL DEFAULT 0,
    error            TEXT    NOT NULL DEFAULT '',
    UNIQUE (delivery_id, number)
);
