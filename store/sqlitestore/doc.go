// Package sqlitestore is a webhooks.Store on SQLite, through the pure-Go
// driver modernc.org/sqlite (no cgo). A Store is one client's database: one
// SQLite file per client, which several processes may share.
//
// Open opens or creates a file the store owns:
//
//	s, err := sqlitestore.Open(ctx, "/var/lib/app/acme-webhooks.db", nil)
//	...
//	defer s.Close()
//
// New puts the webhook tables into a database the host already has, so that
// Dispatcher.EmitTx can write an event in the same transaction as the host's
// own rows (a transactional outbox):
//
//	db, _ := sql.Open("sqlite", "file:app.db?_pragma=busy_timeout(5000)&_pragma=journal_mode(WAL)&_pragma=foreign_keys(1)&_txlock=immediate")
//	s, _ := sqlitestore.New(ctx, db, nil)
//	tx, _ := db.BeginTx(ctx, nil)
//	// ... the host's INSERTs on tx ...
//	err := dispatcher.EmitTx(ctx, sqlitestore.WrapTx(tx), ev)
//	// commit or roll back tx: the event goes with it
//
// # Schema
//
// Both constructors apply the embedded migrations (migrations/NNNN_*.sql),
// recording them in webhooks_schema_migrations, in one BEGIN IMMEDIATE
// transaction, so concurrent opens apply each migration once. The tables
// are webhooks_endpoints, webhooks_events, webhooks_deliveries and
// webhooks_attempts; README.md in this directory lists them. Times are
// INTEGER unix microseconds (UTC), durations INTEGER nanoseconds, lists and
// maps JSON text, and each event's payload is stored once however many
// webhooks receive it.
//
// # Durability and concurrency
//
// The database runs in WAL mode with synchronous=NORMAL by default: a
// committed write survives a crash of the process, and an operating-system
// crash or power loss can lose only the last transactions before it (never
// corrupting the file). Options.Synchronous "FULL" makes every commit
// durable at the cost of an fsync per write transaction.
//
// SQLite admits one writer at a time. Open gives the store one write
// connection, so the process's writers queue in database/sql rather than
// spinning in SQLite's busy handler, and a pool of read-only connections
// that WAL lets read during writes. Other processes wait up to
// Options.BusyTimeout (default 5 s) for the write lock. Every write
// transaction is BEGIN IMMEDIATE (and starts with a write statement in any
// case), so none fails by upgrading a read lock. Claim selects and leases
// in one write transaction, so no two callers in any process hold one
// delivery; Complete accepts only the current fencing token. Claim holds
// the write lock for a bounded amount of work however large a backlog is:
// it walks at most a window of the oldest due deliveries, then, if those
// belong to disabled, excluded or capped webhooks (or are leased), looks up
// each webhook's oldest due deliveries through a per-webhook index.
package sqlitestore
