-- 0001_init: the tables of one client's webhook store.
--
-- The migration runs with search_path set to the store's schema
-- (Options.Schema), so the names below land there. Conventions: times are
-- timestamptz (microseconds); durations are bigint nanoseconds; event
-- patterns and custom headers are jsonb; recorded HTTP headers are JSON
-- text (kept byte for byte); payloads and response bodies are bytea. Every
-- name starts with webhooks_, so the tables can share a schema with a host's
-- own.

-- Webhook endpoints (webhooks.Webhook). Identity IDs are never reused.
CREATE TABLE webhooks_endpoints (
    id                          bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    company_id                  bigint,                              -- NULL: system-wide
    name                        text        NOT NULL,
    description                 text        NOT NULL DEFAULT '',
    url                         text        NOT NULL,
    events                      jsonb       NOT NULL DEFAULT 'null', -- array of patterns
    custom_headers              jsonb       NOT NULL DEFAULT 'null', -- object
    http_method                 text        NOT NULL,
    content_type                text        NOT NULL,
    timeout_ns                  bigint      NOT NULL,
    max_retries                 integer     NOT NULL,
    verify_ssl                  boolean     NOT NULL,
    auto_disable_after_failures integer     NOT NULL,
    is_active                   boolean     NOT NULL,
    secret                      text        NOT NULL,
    consecutive_failures        integer     NOT NULL DEFAULT 0,
    disabled_reason             text        NOT NULL DEFAULT '',
    created_at                  timestamptz NOT NULL,
    updated_at                  timestamptz NOT NULL
);
CREATE INDEX webhooks_endpoints_company ON webhooks_endpoints (company_id);

-- Events: the payload is stored once, however many deliveries it has.
-- event_id is the caller's ID (the idempotency key); id is the compact key
-- deliveries reference.
CREATE TABLE webhooks_events (
    id         bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    event_id   text        NOT NULL UNIQUE,
    event_type text        NOT NULL,
    company_id bigint,                                               -- NULL: client-wide
    payload    bytea       NOT NULL,
    created_at timestamptz NOT NULL
);
CREATE INDEX webhooks_events_created ON webhooks_events (created_at);

-- Deliveries: one event to one webhook. token and lease_until implement
-- fenced leases (Claim/Complete). A claim changes only unindexed columns,
-- so with the free space fillfactor leaves it is a HOT update.
CREATE TABLE webhooks_deliveries (
    id              bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    event_pk        bigint      NOT NULL REFERENCES webhooks_events (id),
    webhook_id      bigint      NOT NULL REFERENCES webhooks_endpoints (id) ON DELETE CASCADE,
    status          text        NOT NULL CHECK (status IN ('PENDING', 'RETRYING', 'SUCCESS', 'FAILED')),
    attempt_count   integer     NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL,
    lease_until     timestamptz,                                     -- NULL: not leased
    token           bigint      NOT NULL DEFAULT 0,
    response_status integer     NOT NULL DEFAULT 0,
    error_message   text        NOT NULL DEFAULT '',
    duration_ns     bigint      NOT NULL DEFAULT 0,
    created_at      timestamptz NOT NULL,
    updated_at      timestamptz NOT NULL
) WITH (fillfactor = 80);
-- Claim: each webhook's open deliveries in due order. Finished deliveries
-- leave this index, so its size is the backlog, not the history.
--
-- The two partial indexes below hold the same rows (the CHECK above allows
-- no other status) but state it differently, and Claim's queries repeat
-- each predicate word for word: a query can use a partial index only when
-- its WHERE implies the index's predicate, so the per-webhook lookups can
-- only use webhooks_deliveries_open. Otherwise the planner may walk the due
-- index filtering by webhook, which is fast on average and very slow for a
-- webhook whose deliveries sit behind a large backlog of another's.
CREATE INDEX webhooks_deliveries_open ON webhooks_deliveries (webhook_id, next_attempt_at, id)
    WHERE status NOT IN ('SUCCESS', 'FAILED');
-- Claim's first look: all open deliveries in due order.
CREATE INDEX webhooks_deliveries_due ON webhooks_deliveries (next_attempt_at, id)
    WHERE status IN ('PENDING', 'RETRYING');
-- ListDeliveries: by webhook, by status, by both, newest first.
CREATE INDEX webhooks_deliveries_webhook ON webhooks_deliveries (webhook_id, id);
CREATE INDEX webhooks_deliveries_status ON webhooks_deliveries (status, id);
CREATE INDEX webhooks_deliveries_webhook_status ON webhooks_deliveries (webhook_id, status, id);
-- Purge and the foreign key from deliveries to events.
CREATE INDEX webhooks_deliveries_event ON webhooks_deliveries (event_pk);
CREATE INDEX webhooks_deliveries_created ON webhooks_deliveries (created_at);

-- Attempts: one HTTP exchange of a delivery, numbered from 1.
CREATE TABLE webhooks_attempts (
    delivery_id      bigint      NOT NULL REFERENCES webhooks_deliveries (id) ON DELETE CASCADE,
    number           integer     NOT NULL,
    started_at       timestamptz NOT NULL,
    request_headers  text        NOT NULL DEFAULT 'null',            -- JSON http.Header
    response_status  integer     NOT NULL DEFAULT 0,
    response_headers text        NOT NULL DEFAULT 'null',            -- JSON http.Header
    response_body    bytea       NOT NULL DEFAULT '',
    duration_ns      bigint      NOT NULL DEFAULT 0,
    error            text        NOT NULL DEFAULT '',
    PRIMARY KEY (delivery_id, number)
);
