// Package pgstore is a webhooks.Store on PostgreSQL, through
// github.com/jackc/pgx/v5 and its pool (pgxpool). A Store is one client's
// webhooks, events, deliveries and attempts, kept in one schema
// (Options.Schema, default "webhooks"); clients get a schema each, or a
// database each. Any number of processes, each running a Dispatcher, share a
// store: claims are leased with fencing tokens, so they split the work with
// no duplicates and lose nothing when one of them dies.
//
// Open connects with a DSN and owns its pool:
//
//	s, err := pgstore.Open(ctx, "postgres://app@db/app?pool_max_conns=20", &pgstore.Options{Schema: "acme"})
//	...
//	defer s.Close()
//
// New uses a pool the host already has, so that Dispatcher.EmitTx can store
// an event in the same transaction as the host's own rows (a transactional
// outbox):
//
//	s, _ := pgstore.New(ctx, pool, nil)
//	tx, _ := pool.Begin(ctx)
//	// ... the host's INSERTs on tx ...
//	err := dispatcher.EmitTx(ctx, pgstore.WrapTx(tx), ev)
//	// commit or roll back tx: the event and its deliveries go with it
//
// # Schema and migrations
//
// Both constructors apply the embedded migrations (migrations/NNNN_*.sql),
// recorded in webhooks_schema_migrations, in one transaction holding an
// advisory lock derived from the schema name, so processes starting at once
// apply each migration once. When the schema is already up to date they only
// read its version, so the application's role needs no DDL rights once an
// administrator has migrated. The tables are webhooks_endpoints,
// webhooks_events, webhooks_deliveries and webhooks_attempts; README.md in
// this directory shows them. Times are timestamptz (microseconds),
// durations bigint nanoseconds, payloads and response bodies bytea (byte for
// byte), each event's payload stored once however many webhooks receive it.
//
// # Claims, leases and fencing
//
// Claim selects, locks (FOR UPDATE SKIP LOCKED), leases and returns due
// deliveries in one statement; each claim gets token = token + 1. Complete
// accepts an outcome only with the current token of a claim not yet
// completed, so a process whose lease lapsed cannot overwrite the outcome of
// the process that took over; in the same transaction it updates the
// webhook's consecutive-failure counter and disables it at its threshold.
// Enqueue and Complete take many rows per statement (arrays and unnest):
// one round trip per batch, not per row.
//
// # Wake-ups
//
// Enqueue, RetryDelivery, Release and SetWebhookActive(true) send a NOTIFY
// on the schema's channel inside their transaction, so other processes hear
// it when it commits (for EmitTx, when the host commits). Listen, which the
// Dispatcher runs once per store, holds one connection doing LISTEN and
// reconnects by itself; polling (Config.PollInterval) covers notifications
// lost while it reconnects.
package pgstore
