package sqlitestore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/webhookkit/webhooks"

	"modernc.org/sqlite" // also registers the "sqlite" driver
)

// DriverName is the database/sql driver Open uses: modernc.org/sqlite, pure
// Go, no cgo. A host calling New should open its *sql.DB with it too.
const DriverName = "sqlite"

// Defaults of Options.
const (
	// DefaultBusyTimeout is Options.BusyTimeout when unset: 5 s.
	DefaultBusyTimeout = 5 * time.Second
	// DefaultSynchronous is Options.Synchronous when unset: "NORMAL".
	DefaultSynchronous = "NORMAL"
	// DefaultMaxReadConns is Options.MaxReadConns when unset: 4.
	DefaultMaxReadConns = 4
)

// Options configures Open and New. A nil *Options and zero fields take the
// defaults named on each field.
type Options struct {
	// BusyTimeout is how long a statement waits for a lock held by another
	// connection or process before failing with SQLITE_BUSY. Open only: with
	// New the host's DSN decides. Default 5 s (DefaultBusyTimeout).
	BusyTimeout time.Duration

	// Synchronous is PRAGMA synchronous for the write connection: "NORMAL"
	// or "FULL" ("EXTRA" is accepted too). Open only. Default "NORMAL".
	//
	// The database always runs in WAL mode. With NORMAL a committed
	// transaction survives a crash of the process, but the last
	// transactions before an operating-system crash or power loss can be
	// lost (the database stays consistent; it just rolls back to an earlier
	// commit). FULL syncs the WAL on every commit, so nothing committed is
	// ever lost, at the cost of one fsync per write transaction.
	Synchronous string

	// MaxReadConns caps the pool of read-only connections Open creates
	// beside its single write connection. Open only. Default 4
	// (DefaultMaxReadConns).
	MaxReadConns int
}

func (o *Options) withDefaults() (Options, error) {
	var out Options
	if o != nil {
		out = *o
	}
	if out.BusyTimeout <= 0 {
		out.BusyTimeout = DefaultBusyTimeout
	}
	if out.Synchronous == "" {
		out.Synchronous = DefaultSynchronous
	}
	out.Synchronous = strings.ToUpper(out.Synchronous)
	switch out.Synchronous {
	case "NORMAL", "FULL", "EXTRA":
	default:
		return out, fmt.Errorf("sqlitestore: Options.Synchronous %q: want NORMAL, FULL or EXTRA: %w", o.Synchronous, webhooks.ErrInvalid)
	}
	if out.MaxReadConns <= 0 {
		out.MaxReadConns = DefaultMaxReadConns
	}
	return out, nil
}

// Store is one client's webhook store in a SQLite database. It implements
// webhooks.Store and webhooks.TxStore and is safe for concurrent use, also by
// several processes sharing the file. The zero value is not usable: get a
// Store from Open or New (or a view of one from WithTx).
type Store struct {
	w     *sql.DB // writes; Open: one connection, so writers queue in Go
	r     *sql.DB // reads; Open: a pool of query-only connections
	owned bool    // Close closes w and r (Open); New leaves the host's DB alone
	tx    *sql.Tx // set in a WithTx view: every statement runs on it
	// stmts caches the write transactions' statements; shared by views.
	stmts *stmtCache
}

var _ webhooks.TxStore = (*Store)(nil)

// Open opens, or creates, the SQLite database file at path and applies the
// schema migrations. It configures WAL journal mode, the busy timeout,
// foreign keys, PRAGMA synchronous (see Options.Synchronous) and
// _txlock=immediate, so write transactions take the write lock when they
// begin. Writes go through one connection, reads through a pool of
// Options.MaxReadConns read-only connections. Close releases both.
//
// path is a file name, not a URI; ":memory:" is refused because every
// connection would see its own empty database (see New for in-memory use).
func Open(ctx context.Context, path string, opts *Options) (*Store, error) {
	o, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	if path == "" || path == ":memory:" || strings.HasPrefix(path, "file:") {
		return nil, fmt.Errorf("sqlitestore: Open: path %q: want a file name: %w", path, webhooks.ErrInvalid)
	}
	base := "file:" + uriPath(path) + "?_pragma=busy_timeout(" + strconv.FormatInt(max(o.BusyTimeout.Milliseconds(), 1), 10) + ")"

	// journal_mode is not in the DSN: see enableWAL.
	w, err := sql.Open(DriverName, base+
		"&_pragma=foreign_keys(1)&_pragma=synchronous("+o.Synchronous+")&_txlock=immediate")
	if err != nil {
		return nil, fmt.Errorf("sqlitestore: open %s: %w", path, err)
	}
	// One write connection: SQLite admits one writer at a time anyway, and
	// queueing in database/sql is cheaper and fairer than spinning in the
	// busy handler. Other processes still meet the busy timeout.
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxLifetime(0)
	w.SetConnMaxIdleTime(0)
	if err := enableWAL(ctx, w, o.BusyTimeout); err != nil {
		_ = w.Close()
		return nil, fmt.Errorf("sqlitestore: open %s: %w", path, err)
	}
	if err := migrate(ctx, w); err != nil {
		_ = w.Close()
		return nil, fmt.Errorf("sqlitestore: open %s: %w", path, err)
	}

	r, err := sql.Open(DriverName, base+"&_pragma=foreign_keys(1)&_pragma=query_only(1)")
	if err != nil {
		_ = w.Close()
		return nil, fmt.Errorf("sqlitestore: open %s: %w", path, err)
	}
	r.SetMaxOpenConns(o.MaxReadConns)
	r.SetMaxIdleConns(o.MaxReadConns)
	r.SetConnMaxLifetime(0)
	r.SetConnMaxIdleTime(0)
	if err := r.PingContext(ctx); err != nil {
		_ = r.Close()
		_ = w.Close()
		return nil, fmt.Errorf("sqlitestore: open %s: %w", path, err)
	}
	stmts, err := newStmtCache(ctx, w, writeStatements)
	if err != nil {
		_ = r.Close()
		_ = w.Close()
		return nil, fmt.Errorf("sqlitestore: open %s: %w", path, err)
	}
	return &Store{w: w, r: r, owned: true, stmts: stmts}, nil
}

// enableWAL switches the file to WAL journal mode (persistent: later
// connections find it set). SQLite does not call the busy handler when two
// connections race to convert a new file, so PRAGMA journal_mode=WAL in a
// DSN can fail with SQLITE_BUSY when several processes open a fresh file at
// once; here the switch is retried, backing off, for up to the busy timeout.
func enableWAL(ctx context.Context, db *sql.DB, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	delay := time.Millisecond
	for {
		var mode string
		err := db.QueryRowContext(ctx, "PRAGMA journal_mode=WAL").Scan(&mode)
		if err == nil {
			if !strings.EqualFold(mode, "wal") {
				return fmt.Errorf("journal mode is %s, not WAL", mode)
			}
			return nil
		}
		if !isBusy(err) || time.Now().Add(delay).After(deadline) {
			return fmt.Errorf("enable WAL: %w", err)
		}
		t := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("enable WAL: %w", ctx.Err())
		case <-t.C:
		}
		delay = min(2*delay, 50*time.Millisecond)
	}
}

// isBusy reports whether err is SQLITE_BUSY (any extended code).
func isBusy(err error) bool {
	var se *sqlite.Error
	return errors.As(err, &se) && se.Code()&0xff == sqliteBusy
}

const sqliteBusy = 5 // SQLITE_BUSY

// uriPath turns a file name into the path part of a SQLite URI filename,
// escaping the characters URIs give a meaning to.
func uriPath(path string) string {
	p := filepath.ToSlash(filepath.Clean(path))
	if filepath.VolumeName(path) != "" { // C:/x → /C:/x, as SQLite wants on Windows
		p = "/" + p
	}
	return strings.NewReplacer("%", "%25", "?", "%3f", "#", "%23").Replace(p)
}

// New returns a store on a database the host opened and owns, so the host's
// tables and the webhook tables share one file and Dispatcher.EmitTx can
// write webhook rows in the host's transactions (see WrapTx). It applies the
// schema migrations. Close does not close db.
//
// db should be opened with driver "sqlite" (DriverName) and a DSN setting
// the pragmas Open uses, e.g.
//
//	file:app.db?_pragma=busy_timeout(5000)&_pragma=journal_mode(WAL)&_pragma=foreign_keys(1)&_pragma=synchronous(NORMAL)&_txlock=immediate
//
// The store works without them (it deletes dependent rows itself and starts
// each write transaction with a write), but without a busy timeout
// concurrent writers fail with SQLITE_BUSY instead of waiting, and without
// _txlock=immediate a host transaction that reads before it writes can fail
// with SQLITE_BUSY when another connection writes first. SQLite does not
// wait when two connections switch a new file to WAL at the same moment, so
// if several processes may create the file at once, switch it first (Open
// does this with retries). opts is accepted for symmetry; its fields only
// apply to Open.
//
// For an in-memory store, pass a *sql.DB on ":memory:" limited to one
// connection (SetMaxOpenConns(1)): each connection would otherwise get its
// own empty database.
func New(ctx context.Context, db *sql.DB, opts *Options) (*Store, error) {
	if db == nil {
		return nil, fmt.Errorf("sqlitestore: New: nil *sql.DB: %w", webhooks.ErrInvalid)
	}
	if _, err := opts.withDefaults(); err != nil {
		return nil, err
	}
	if err := migrate(ctx, db); err != nil {
		return nil, fmt.Errorf("sqlitestore: new: %w", err)
	}
	stmts, err := newStmtCache(ctx, db, writeStatements)
	if err != nil {
		return nil, fmt.Errorf("sqlitestore: new: %w", err)
	}
	return &Store{w: db, r: db, stmts: stmts}, nil
}

// Close closes the database connections Open created. For a store made by
// New it only closes the statements the store prepared, and for a view
// returned by WithTx it does nothing: the host owns the *sql.DB and the
// transaction.
func (s *Store) Close() error {
	if s.tx != nil {
		return nil
	}
	err := s.stmts.close()
	if s.owned {
		err = errors.Join(err, s.r.Close(), s.w.Close())
	}
	if err != nil {
		return fmt.Errorf("sqlitestore: close: %w", err)
	}
	return nil
}

// DB returns the *sql.DB the store writes through: the host's for New, the
// single write connection's pool for Open. Begin host transactions for
// WrapTx on it. With Open it has one connection, so a goroutine holding a
// transaction on it must not call the store's own (non-WithTx) write methods
// until it commits or rolls back: they would wait for that connection.
func (s *Store) DB() *sql.DB { return s.w }

// WrapTx wraps a host transaction, begun on the store's database, for
// Store.WithTx and Dispatcher.EmitTx. Its Underlying method returns tx.
func WrapTx(tx *sql.Tx) webhooks.Tx { return hostTx{tx: tx} }

type hostTx struct{ tx *sql.Tx }

// Underlying returns the wrapped *sql.Tx.
func (h hostTx) Underlying() any { return h.tx }

// WithTx returns a view of the store whose every method runs on the host
// transaction tx (from WrapTx), so its writes commit or roll back with it.
// The view never begins or commits transactions itself: multi-statement
// operations use a SAVEPOINT inside tx. Like tx, the view is for one
// goroutine at a time. tx must belong to the store's database; a Tx not made
// by WrapTx fails with an error wrapping webhooks.ErrTxUnsupported.
func (s *Store) WithTx(tx webhooks.Tx) (webhooks.Store, error) {
	h, ok := tx.(hostTx)
	if !ok || h.tx == nil {
		return nil, fmt.Errorf("sqlitestore: WithTx: %T is not a transaction from sqlitestore.WrapTx: %w", tx, webhooks.ErrTxUnsupported)
	}
	return &Store{w: s.w, r: s.r, tx: h.tx}, nil
}

// querier is what *sql.DB, *sql.Conn and *sql.Tx have in common.
type querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
	PrepareContext(ctx context.Context, query string) (*sql.Stmt, error)
}

// wq is where single-statement writes go.
func (s *Store) wq() querier {
	if s.tx != nil {
		return s.tx
	}
	return s.w
}

// rq is where single-statement reads go.
func (s *Store) rq() querier {
	if s.tx != nil {
		return s.tx
	}
	return s.r
}

// inWriteTx runs fn atomically: in a new write transaction, or inside the
// host transaction under a savepoint. Every fn starts with a write
// statement, so even a deferred BEGIN (a host DSN without
// _txlock=immediate) takes the write lock first and never has to upgrade a
// read snapshot.
func (s *Store) inWriteTx(ctx context.Context, fn func(q querier) error) error {
	if s.tx != nil {
		return inSavepoint(ctx, s.tx, fn)
	}
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := fn(tx); err != nil {
		_ = tx.Rollback()
		return err
	}
	return tx.Commit()
}

const savepoint = "webhooks_sqlitestore"

func inSavepoint(ctx context.Context, tx *sql.Tx, fn func(q querier) error) error {
	if _, err := tx.ExecContext(ctx, "SAVEPOINT "+savepoint); err != nil {
		return err
	}
	if err := fn(tx); err != nil {
		bg := context.WithoutCancel(ctx)
		_, _ = tx.ExecContext(bg, "ROLLBACK TO "+savepoint)
		_, _ = tx.ExecContext(bg, "RELEASE "+savepoint)
		return err
	}
	_, err := tx.ExecContext(ctx, "RELEASE "+savepoint)
	return err
}

// inReadTx runs fn on one consistent snapshot: a read-only transaction, or
// the host transaction.
func (s *Store) inReadTx(ctx context.Context, fn func(q querier) error) error {
	if s.tx != nil {
		return fn(s.tx)
	}
	tx, err := s.r.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return err
	}
	defer func() { _ = tx.Rollback() }()
	return fn(tx)
}

// Time and value encoding.

func toMicros(t time.Time) int64 { return t.UnixMicro() }

func fromMicros(us int64) time.Time { return time.UnixMicro(us).UTC() }

// normTime is t as the store returns it: microseconds, UTC.
func normTime(t time.Time) time.Time { return fromMicros(toMicros(t)) }

func nullInt(p *int64) any {
	if p == nil {
		return nil
	}
	return *p
}

func intPtr(n sql.NullInt64) *int64 {
	if !n.Valid {
		return nil
	}
	v := n.Int64
	return &v
}

// idList encodes IDs as a JSON array for json_each(?).
func idList(ids []int64) string {
	b := make([]byte, 0, 2+len(ids)*8)
	b = append(b, '[')
	for i, id := range ids {
		if i > 0 {
			b = append(b, ',')
		}
		b = strconv.AppendInt(b, id, 10)
	}
	return string(append(b, ']'))
}
