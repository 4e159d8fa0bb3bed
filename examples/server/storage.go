package main

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/redis/go-redis/v9"

	"github.com/webhookkit/webhooks"
	"github.com/webhookkit/webhooks/store/pgstore"
	"github.com/webhookkit/webhooks/store/redisstore"
	"github.com/webhookkit/webhooks/store/sqlitestore"
)

// Where the demo keeps its data, in one of three setups:
//
//   - SQLite (the default): one database per client under -data, holding
//     the webhook tables and the inspections table; a write emits its event
//     with EmitTx in the row's transaction (transactional outbox).
//   - -redis: the webhooks of every client in one Redis, each client under
//     its own key prefix; inspections in a SQLite file per client under
//     -data. Redis cannot join a SQL transaction, so a write commits its row
//     and then calls Emit.
//   - -postgres: one database, one schema per client holding the webhook
//     tables and the inspections table; a write emits with EmitTx in the
//     row's pgx transaction (transactional outbox).
//
// The domain handlers see only inspectionStore, so they have one code path.

// inspectionStore is a client's inspections table and how a write to it
// emits its event.
type inspectionStore interface {
	// read is the table outside any transaction, for GET requests.
	read() inspectionTable
	// write runs fn in one transaction on the table. If fn fails, the
	// transaction rolls back and nothing is emitted. Otherwise the event fn
	// returns (nil: none) is stored so that receivers get it if and only if
	// the transaction commits, as far as the store allows (see the
	// implementations), and the dispatcher is woken to send it at once.
	write(ctx context.Context, d *webhooks.Dispatcher, fn func(t inspectionTable) (*webhooks.Event, error)) error
}

// backend is the storage of one run: each client's webhook store and
// inspections, and what to close after the dispatcher has stopped.
type backend struct {
	kind        string            // "SQLite", "Redis" or "Postgres"
	where       map[string]string // client ID → where its data is, for the banner
	stores      map[string]webhooks.Store
	inspections map[string]inspectionStore
	closers     []func() error // run in reverse order by close
}

func newBackend(kind string) *backend {
	return &backend{
		kind:        kind,
		where:       map[string]string{},
		stores:      map[string]webhooks.Store{},
		inspections: map[string]inspectionStore{},
	}
}

// onClose registers a cleanup for close, which runs them last-in first-out.
func (b *backend) onClose(fn func() error) { b.closers = append(b.closers, fn) }

func (b *backend) close() error {
	var err error
	for i := len(b.closers) - 1; i >= 0; i-- {
		err = errors.Join(err, b.closers[i]())
	}
	b.closers = nil
	return err
}

// openBackend opens the storage the flags chose. On error, what it had
// opened is closed.
func openBackend(ctx context.Context, cfg config, log *slog.Logger) (b *backend, err error) {
	switch {
	case cfg.redis != "":
		b, err = openRedis(ctx, cfg, log)
	case cfg.postgres != "":
		b, err = openPostgres(ctx, cfg, log)
	default:
		b, err = openSQLite(ctx, cfg)
	}
	if err != nil && b != nil {
		err = errors.Join(err, b.close())
		b = nil
	}
	return b, err
}

// openSQLite opens <data>/<client>.db per client: the webhook store and the
// host's inspections table side by side, so EmitTx shares the transaction.
func openSQLite(ctx context.Context, cfg config) (*backend, error) {
	b := newBackend("SQLite")
	if err := os.MkdirAll(cfg.dataDir, 0o750); err != nil {
		return b, fmt.Errorf("-data: %w", err)
	}
	for _, dc := range demoClients {
		path := filepath.Join(cfg.dataDir, dc.client.ID+".db")
		st, err := sqlitestore.Open(ctx, path, nil)
		if err != nil {
			return b, err
		}
		b.onClose(st.Close)
		if _, err := st.DB().ExecContext(ctx, inspectionsSchemaSQLite); err != nil {
			return b, fmt.Errorf("%s: creating the inspections table: %w", path, err)
		}
		b.stores[dc.client.ID] = st
		b.inspections[dc.client.ID] = &sqliteInspections{db: st.DB(), outbox: true}
		b.where[dc.client.ID] = path
	}
	return b, nil
}

// openRedis connects one Redis client, shared by every client's store, each
// under its own key prefix; inspections go to <data>/<client>.inspections.db.
func openRedis(ctx context.Context, cfg config, log *slog.Logger) (*backend, error) {
	b := newBackend("Redis")
	opts, err := redis.ParseURL(cfg.redis)
	if err != nil {
		return b, usageError{"-redis: " + err.Error() + " (want redis://[user:password@]host:port/db)"}
	}
	rdb := redis.NewClient(opts)
	// The stores do not own the client: it closes after them, and after
	// the dispatcher has stopped (run closes the backend after Stop).
	b.onClose(rdb.Close)
	pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := rdb.Ping(pctx).Err(); err != nil {
		return b, fmt.Errorf("-redis: cannot connect to Redis at %s (db %d): %w", opts.Addr, opts.DB, err)
	}
	if err := os.MkdirAll(cfg.dataDir, 0o750); err != nil {
		return b, fmt.Errorf("-data: %w", err)
	}
	for _, dc := range demoClients {
		st, err := redisstore.New(rdb, &redisstore.Options{Prefix: redisPrefix(cfg.namespace, dc.client.ID), Logger: log})
		if err != nil {
			return b, err
		}
		// A file of its own, not <client>.db: that one is the SQLite
		// setup's, whose events are in its own outbox.
		path := filepath.Join(cfg.dataDir, dc.client.ID+".inspections.db")
		db, err := openInspectionsSQLite(ctx, path)
		if err != nil {
			return b, err
		}
		b.onClose(db.Close)
		b.stores[dc.client.ID] = st
		b.inspections[dc.client.ID] = &sqliteInspections{db: db, outbox: false}
		b.where[dc.client.ID] = fmt.Sprintf("Redis %s db %d, keys %s*; inspections in %s", opts.Addr, opts.DB, st.KeyPrefix(), path)
	}
	return b, nil
}

// openInspectionsSQLite opens a SQLite file holding only the inspections
// table, with the pragmas sqlitestore.Open uses, and one connection (SQLite
// has one writer at a time; the demo's reads are few).
func openInspectionsSQLite(ctx context.Context, path string) (*sql.DB, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, err
	}
	p := filepath.ToSlash(abs)
	if !strings.HasPrefix(p, "/") { // C:/x → /C:/x
		p = "/" + p
	}
	p = strings.NewReplacer("%", "%25", "?", "%3f", "#", "%23").Replace(p)
	db, err := sql.Open(sqlitestore.DriverName, "file:"+p+
		"?_pragma=busy_timeout(5000)&_pragma=journal_mode(WAL)&_txlock=immediate")
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	db.SetMaxOpenConns(1)
	if _, err := db.ExecContext(ctx, inspectionsSchemaSQLite); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("%s: creating the inspections table: %w", path, err)
	}
	return db, nil
}

// openPostgres connects one pool, shared by every client's store, each in
// its own schema, which also holds the client's inspections table.
func openPostgres(ctx context.Context, cfg config, log *slog.Logger) (*backend, error) {
	b := newBackend("Postgres")
	pcfg, err := pgxpool.ParseConfig(cfg.postgres)
	if err != nil {
		return b, usageError{"-postgres: " + err.Error()}
	}
	if pcfg.ConnConfig.ConnectTimeout <= 0 {
		pcfg.ConnConfig.ConnectTimeout = 10 * time.Second
	}
	server := net.JoinHostPort(pcfg.ConnConfig.Host, strconv.Itoa(int(pcfg.ConnConfig.Port))) + "/" + pcfg.ConnConfig.Database
	pool, err := pgxpool.NewWithConfig(ctx, pcfg)
	if err != nil {
		return b, fmt.Errorf("-postgres: %s: %w", server, err)
	}
	// The stores made by pgstore.New do not own the pool: it closes after
	// them, once the dispatcher has stopped.
	b.onClose(func() error { pool.Close(); return nil })
	if err := pool.Ping(ctx); err != nil {
		return b, fmt.Errorf("-postgres: cannot connect to Postgres at %s: %w", server, err)
	}
	for _, dc := range demoClients {
		schema := pgSchema(cfg.namespace, dc.client.ID)
		st, err := pgstore.New(ctx, pool, &pgstore.Options{Schema: schema, Logger: log})
		if err != nil {
			return b, err
		}
		b.onClose(st.Close)
		table := pgx.Identifier{schema, "inspections"}.Sanitize()
		if _, err := pool.Exec(ctx, fmt.Sprintf(inspectionsSchemaPostgres, table)); err != nil {
			return b, fmt.Errorf("-postgres: creating %s: %w", table, err)
		}
		b.stores[dc.client.ID] = st
		b.inspections[dc.client.ID] = &pgInspections{pool: pool, table: table}
		b.where[dc.client.ID] = fmt.Sprintf("Postgres %s, schema %s", server, schema)
	}
	return b, nil
}

// pgSchema is a client's schema: "webhooks_" and the client ID with "-" as
// "_" (acme-corp → webhooks_acme_corp); tests put a namespace in between.
func pgSchema(namespace, clientID string) string {
	return "webhooks_" + namespace + strings.ReplaceAll(clientID, "-", "_")
}

// redisPrefix is a client's Redis key prefix, the client in the hash tag
// (acme-corp → webhooks:{acme-corp}); tests put a namespace in the tag.
func redisPrefix(namespace, clientID string) string {
	return "webhooks:{" + namespace + clientID + "}"
}

// inspectionsSchemaSQLite is the host's table in SQLite.
const inspectionsSchemaSQLite = `CREATE TABLE IF NOT EXISTS inspections (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    company_id     INTEGER,          -- NULL: client-wide
    title          TEXT    NOT NULL,
    status         TEXT    NOT NULL,
    scheduled_date TEXT,             -- NULL: not scheduled
    created_at     TEXT    NOT NULL, -- RFC 3339, UTC
    updated_at     TEXT    NOT NULL
)`

// inspectionsSchemaPostgres is the same table in Postgres; %s is the
// schema-qualified name.
const inspectionsSchemaPostgres = `CREATE TABLE IF NOT EXISTS %s (
    id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    company_id     bigint,           -- NULL: client-wide
    title          text   NOT NULL,
    status         text   NOT NULL,
    scheduled_date text,             -- NULL: not scheduled
    created_at     text   NOT NULL,  -- RFC 3339, UTC
    updated_at     text   NOT NULL
)`

// sqliteInspections is the inspections table in a SQLite database.
//
// With outbox (the SQLite setup) the database is the client's webhook store
// too, and the event is written with EmitTx in the row's transaction: both
// commit or neither does.
//
// Without (the -redis setup) the event goes to Redis, which cannot join the
// transaction: the row commits first, then Emit stores the event, with an
// ID chosen before the commit. If Emit fails (Redis unreachable) the request
// answers 500 naming the saved inspection and the event ID; if the process
// dies between the commit and Emit, the event is lost, unless the host
// records pending event IDs with its rows and emits them again at start
// (safe: Emit is idempotent on the event ID). That gap is exactly what
// EmitTx closes on the SQL stores.
type sqliteInspections struct {
	db     *sql.DB
	outbox bool
}

func (s *sqliteInspections) read() inspectionTable {
	return inspectionTable{run: sqlRunner{s.db}, name: "inspections"}
}

func (s *sqliteInspections) write(ctx context.Context, d *webhooks.Dispatcher, fn func(t inspectionTable) (*webhooks.Event, error)) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	ev, err := fn(inspectionTable{run: sqlRunner{tx}, name: "inspections"})
	if err == nil && ev != nil && s.outbox {
		err = d.EmitTx(ctx, sqlitestore.WrapTx(tx), *ev)
	}
	if err != nil {
		_ = tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return err
	}
	switch {
	case ev == nil:
	case s.outbox:
		d.Wake() // EmitTx leaves waking to the host, after its commit
	default:
		return emitAfterCommit(ctx, d, *ev)
	}
	return nil
}

// emitAfterCommit emits the event of a committed row. The row is saved
// whatever happens now, so the request's end (the caller hanging up) must
// not cancel Emit: it gets a context of its own, bounded.
func emitAfterCommit(ctx context.Context, d *webhooks.Dispatcher, ev webhooks.Event) error {
	ectx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 15*time.Second)
	defer cancel()
	if err := d.Emit(ectx, ev); err != nil {
		return &eventNotRecordedError{event: ev, err: err}
	}
	return nil
}

// eventNotRecordedError is a write whose row committed but whose event
// Emit could not store.
type eventNotRecordedError struct {
	event webhooks.Event
	err   error
}

func (e *eventNotRecordedError) Error() string {
	return fmt.Sprintf("the change was saved, but its event %s (eventId %s) could not be recorded: %v", e.event.Type, e.event.ID, e.err)
}

func (e *eventNotRecordedError) Unwrap() error { return e.err }

// pgInspections is the inspections table in the client's Postgres schema,
// beside the webhook tables: the event is written with EmitTx in the row's
// transaction, so both commit or neither does.
type pgInspections struct {
	pool  *pgxpool.Pool
	table string // schema-qualified, quoted
}

func (p *pgInspections) read() inspectionTable {
	return inspectionTable{run: pgRunner{p.pool}, name: p.table}
}

func (p *pgInspections) write(ctx context.Context, d *webhooks.Dispatcher, fn func(t inspectionTable) (*webhooks.Event, error)) error {
	tx, err := p.pool.Begin(ctx)
	if err != nil {
		return err
	}
	defer func() { _ = tx.Rollback(context.WithoutCancel(ctx)) }() // a no-op after Commit
	ev, err := fn(inspectionTable{run: pgRunner{tx}, name: p.table})
	if err != nil {
		return err
	}
	if ev != nil {
		if err := d.EmitTx(ctx, pgstore.WrapTx(tx), *ev); err != nil {
			return err // a failed statement aborts the transaction: roll back
		}
	}
	if err := tx.Commit(ctx); err != nil {
		return err
	}
	if ev != nil {
		// Other processes hear the NOTIFY sent at commit; this one need not wait for it.
		d.Wake()
	}
	return nil
}

// inspectionTable runs the inspections statements on a database, a
// transaction or a pool, of either driver. Queries are written once, with ?
// placeholders and {t} for the table name.
type inspectionTable struct {
	run  runner
	name string
}

const inspectionColumns = `id, company_id, title, status, scheduled_date, created_at, updated_at`

func (t inspectionTable) sql(q string) string { return strings.ReplaceAll(q, "{t}", t.name) }

// get returns the inspection with id; sql.ErrNoRows when there is none.
func (t inspectionTable) get(ctx context.Context, id int64) (*inspection, error) {
	return scanInspection(t.run.queryRow(ctx, t.sql(`SELECT `+inspectionColumns+` FROM {t} WHERE id = ?`), id))
}

// list returns the inspections, of one company when companyID is set, by ID.
func (t inspectionTable) list(ctx context.Context, companyID *int64) ([]inspection, error) {
	query := `SELECT ` + inspectionColumns + ` FROM {t}`
	var args []any
	if companyID != nil {
		query += ` WHERE company_id = ?`
		args = append(args, *companyID)
	}
	out := []inspection{}
	err := t.run.queryEach(ctx, t.sql(query+` ORDER BY id`), args, func(row scanner) error {
		ins, err := scanInspection(row)
		if err == nil {
			out = append(out, *ins)
		}
		return err
	})
	return out, err
}

// insert stores ins and sets its ID.
func (t inspectionTable) insert(ctx context.Context, ins *inspection) error {
	return t.run.queryRow(ctx, t.sql(`INSERT INTO {t}
		(company_id, title, status, scheduled_date, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?) RETURNING id`),
		ins.CompanyID, ins.Title, ins.Status, ins.ScheduledDate, ins.CreatedAt, ins.UpdatedAt,
	).Scan(&ins.ID)
}

// update writes the changeable fields of ins.
func (t inspectionTable) update(ctx context.Context, ins *inspection) error {
	return t.run.exec(ctx, t.sql(`UPDATE {t} SET title = ?, status = ?, scheduled_date = ?, updated_at = ? WHERE id = ?`),
		ins.Title, ins.Status, ins.ScheduledDate, ins.UpdatedAt, ins.ID)
}

// delete removes the inspection with id.
func (t inspectionTable) delete(ctx context.Context, id int64) error {
	return t.run.exec(ctx, t.sql(`DELETE FROM {t} WHERE id = ?`), id)
}

func scanInspection(row scanner) (*inspection, error) {
	var ins inspection
	var company sql.NullInt64
	var date sql.NullString
	if err := row.Scan(&ins.ID, &company, &ins.Title, &ins.Status, &date, &ins.CreatedAt, &ins.UpdatedAt); err != nil {
		return nil, err
	}
	if company.Valid {
		ins.CompanyID = &company.Int64
	}
	if date.Valid {
		ins.ScheduledDate = &date.String
	}
	return &ins, nil
}

// scanner is a row: *sql.Row, *sql.Rows, pgx.Row, pgx.Rows.
type scanner interface{ Scan(dest ...any) error }

// runner is what the table needs of a database/sql or pgx handle. A
// missing row is sql.ErrNoRows with either driver.
type runner interface {
	queryRow(ctx context.Context, query string, args ...any) scanner
	queryEach(ctx context.Context, query string, args []any, each func(row scanner) error) error
	exec(ctx context.Context, query string, args ...any) error
}

// sqlRunner runs on a *sql.DB or *sql.Tx (SQLite, ? placeholders).
type sqlRunner struct {
	q interface {
		QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
		QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
		ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	}
}

func (r sqlRunner) queryRow(ctx context.Context, query string, args ...any) scanner {
	return r.q.QueryRowContext(ctx, query, args...)
}

func (r sqlRunner) queryEach(ctx context.Context, query string, args []any, each func(scanner) error) error {
	rows, err := r.q.QueryContext(ctx, query, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		if err := each(rows); err != nil {
			return err
		}
	}
	return rows.Err()
}

func (r sqlRunner) exec(ctx context.Context, query string, args ...any) error {
	_, err := r.q.ExecContext(ctx, query, args...)
	return err
}

// pgRunner runs on a *pgxpool.Pool or pgx.Tx, turning ? into $1, $2, ...
type pgRunner struct {
	q interface {
		QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
		Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
		Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	}
}

func (r pgRunner) queryRow(ctx context.Context, query string, args ...any) scanner {
	return pgRow{r.q.QueryRow(ctx, dollars(query), args...)}
}

func (r pgRunner) queryEach(ctx context.Context, query string, args []any, each func(scanner) error) error {
	rows, err := r.q.Query(ctx, dollars(query), args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		if err := each(rows); err != nil {
			return err
		}
	}
	return rows.Err()
}

func (r pgRunner) exec(ctx context.Context, query string, args ...any) error {
	_, err := r.q.Exec(ctx, dollars(query), args...)
	return err
}

// pgRow reports pgx.ErrNoRows as sql.ErrNoRows.
type pgRow struct{ pgx.Row }

func (r pgRow) Scan(dest ...any) error {
	err := r.Row.Scan(dest...)
	if errors.Is(err, pgx.ErrNoRows) {
		return sql.ErrNoRows
	}
	return err
}

// dollars numbers the ? placeholders of query for Postgres ($1, $2, ...).
// The queries above have no ? in literals.
func dollars(query string) string {
	var b strings.Builder
	n := 0
	for _, c := range query {
		if c == '?' {
			n++
			b.WriteString("$" + strconv.Itoa(n))
			continue
		}
		b.WriteRune(c)
	}
	return b.String()
}
