package pgstore

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"net"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/webhookkit/webhooks"
)

// Defaults of Options.
const (
	// DefaultSchema is Options.Schema when unset: "webhooks".
	DefaultSchema = "webhooks"
	// DefaultConnectTimeout is Options.ConnectTimeout when unset: 10 s.
	DefaultConnectTimeout = 10 * time.Second
	// DefaultListenPingInterval is Options.ListenPingInterval when unset: 30 s.
	DefaultListenPingInterval = 30 * time.Second
	// DefaultReconnectMaxDelay is Options.ReconnectMaxDelay when unset: 5 s.
	DefaultReconnectMaxDelay = 5 * time.Second
)

// reconnectMinDelay is Listen's first wait after losing its connection.
const reconnectMinDelay = 100 * time.Millisecond

// Options configures Open and New. A nil *Options and zero fields take the
// defaults named on each field.
type Options struct {
	// Schema holds the store's tables: one schema per client, so several
	// clients can share a database (or each client gets its own database
	// and keeps the default). It is created if missing. It must be a plain
	// identifier: a letter or underscore, then letters, digits or
	// underscores, at most 63 bytes, not starting with "pg_". It is always
	// quoted, so it is case-sensitive. Default "webhooks" (DefaultSchema).
	Schema string

	// Logger receives Listen's connection problems. Default slog.Default().
	Logger *slog.Logger

	// ConnectTimeout bounds each connection attempt of the pool Open
	// creates, when the DSN sets no connect_timeout. Open only: with New
	// the host's pool decides. Default 10 s (DefaultConnectTimeout).
	ConnectTimeout time.Duration

	// ListenPingInterval is how long Listen waits for a notification before
	// it checks its connection with a ping, so a connection that died
	// silently (a network partition, no TCP reset) is replaced. Default 30 s
	// (DefaultListenPingInterval).
	ListenPingInterval time.Duration

	// ReconnectMaxDelay caps Listen's wait between attempts to reconnect:
	// it starts at 100 ms and doubles up to this. Default 5 s
	// (DefaultReconnectMaxDelay).
	ReconnectMaxDelay time.Duration
}

var identRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]{0,62}$`)

func (o *Options) withDefaults() (Options, error) {
	var out Options
	if o != nil {
		out = *o
	}
	if out.Schema == "" {
		out.Schema = DefaultSchema
	}
	if !identRE.MatchString(out.Schema) || strings.HasPrefix(strings.ToLower(out.Schema), "pg_") {
		return out, fmt.Errorf("pgstore: Options.Schema %q: want a letter or underscore, then letters, digits or underscores, at most 63 bytes, not starting with pg_: %w",
			out.Schema, webhooks.ErrInvalid)
	}
	if out.Logger == nil {
		out.Logger = slog.Default()
	}
	if out.ConnectTimeout <= 0 {
		out.ConnectTimeout = DefaultConnectTimeout
	}
	if out.ListenPingInterval <= 0 {
		out.ListenPingInterval = DefaultListenPingInterval
	}
	if out.ReconnectMaxDelay <= 0 {
		out.ReconnectMaxDelay = DefaultReconnectMaxDelay
	}
	out.ReconnectMaxDelay = max(out.ReconnectMaxDelay, reconnectMinDelay)
	return out, nil
}

// Store is one client's webhook store in one schema of a PostgreSQL
// database. It implements webhooks.Store, webhooks.TxStore and
// webhooks.Listener, and is safe for concurrent use, also by many processes
// sharing the schema. The zero value is not usable: get a Store from Open or
// New (or a view of one from WithTx).
type Store struct {
	pool    *pgxpool.Pool
	tx      pgx.Tx // set in a WithTx view: every statement runs on it
	schema  string
	channel string            // NOTIFY channel
	rep     *strings.Replacer // {s} → quoted schema
	opts    Options
	shared  *shared
}

// shared is what a Store and its WithTx views have in common.
type shared struct {
	owned  bool            // Close closes the pool (Open)
	closed context.Context // ends at Close: Listen returns
	close  context.CancelFunc
}

var (
	_ webhooks.TxStore  = (*Store)(nil)
	_ webhooks.Listener = (*Store)(nil)
)

// Open connects to the database at dsn (a URL or key=value string, see
// pgxpool.ParseConfig; pool settings such as pool_max_conns may be part of
// it), applies the migrations to Options.Schema, and returns a store owning
// the pool: Close closes it. A database that cannot be reached fails with
// an error naming the host.
func Open(ctx context.Context, dsn string, opts *Options) (*Store, error) {
	o, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("pgstore: open: %w", err)
	}
	if cfg.ConnConfig.ConnectTimeout <= 0 {
		cfg.ConnConfig.ConnectTimeout = o.ConnectTimeout
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("pgstore: open %s: %w", where(cfg.ConnConfig), err)
	}
	s, err := newStore(ctx, pool, o)
	if err != nil {
		pool.Close()
		return nil, err
	}
	s.shared.owned = true
	return s, nil
}

// New returns a store on a pool the host created and owns, so that
// Dispatcher.EmitTx can write events in the host's own transactions (see
// WrapTx). It applies the migrations to Options.Schema. Close does not
// close the pool. A database that cannot be reached fails with an error
// naming the host.
func New(ctx context.Context, pool *pgxpool.Pool, opts *Options) (*Store, error) {
	if pool == nil {
		return nil, fmt.Errorf("pgstore: New: nil *pgxpool.Pool: %w", webhooks.ErrInvalid)
	}
	o, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	return newStore(ctx, pool, o)
}

func newStore(ctx context.Context, pool *pgxpool.Pool, o Options) (*Store, error) {
	quoted := quoteIdent(o.Schema)
	s := &Store{
		pool:    pool,
		schema:  o.Schema,
		channel: channelName(o.Schema),
		rep:     strings.NewReplacer("{s}", quoted),
		opts:    o,
		shared:  &shared{},
	}
	s.shared.closed, s.shared.close = context.WithCancel(context.Background())
	if err := pool.Ping(ctx); err != nil {
		return nil, fmt.Errorf("pgstore: connecting to %s: %w", where(pool.Config().ConnConfig), err)
	}
	if err := s.migrate(ctx); err != nil {
		return nil, fmt.Errorf("pgstore: schema %s: %w", o.Schema, err)
	}
	return s, nil
}

// where names the server a configuration points at, for error messages:
// host:port/database (fallback hosts included).
func where(c *pgx.ConnConfig) string {
	hosts := []string{net.JoinHostPort(c.Host, strconv.Itoa(int(c.Port)))}
	for _, f := range c.Fallbacks {
		hosts = append(hosts, net.JoinHostPort(f.Host, strconv.Itoa(int(f.Port))))
	}
	return strings.Join(hosts, ",") + "/" + c.Database
}

// Close closes the pool Open created and ends the store's Listen calls. For
// a store made by New it leaves the host's pool open; for a view returned
// by WithTx it does nothing.
func (s *Store) Close() error {
	if s.tx != nil {
		return nil
	}
	if s.shared.closed.Err() != nil {
		return nil // closed already
	}
	s.shared.close()
	if s.shared.owned {
		s.pool.Close()
	}
	return nil
}

// Pool returns the pool the store runs on: the host's for New, its own for
// Open. Begin host transactions for WrapTx on it.
func (s *Store) Pool() *pgxpool.Pool { return s.pool }

// Schema returns the schema holding the store's tables.
func (s *Store) Schema() string { return s.schema }

// Channel returns the LISTEN/NOTIFY channel of the store's schema:
// "webhooks." followed by the schema name (shortened with a hash when the
// result would exceed PostgreSQL's 63-byte identifier limit).
func (s *Store) Channel() string { return s.channel }

// WrapTx wraps a host transaction, begun on the store's database, for
// Store.WithTx and Dispatcher.EmitTx. Its Underlying method returns tx.
func WrapTx(tx pgx.Tx) webhooks.Tx { return hostTx{tx: tx} }

type hostTx struct{ tx pgx.Tx }

// Underlying returns the wrapped pgx.Tx.
func (h hostTx) Underlying() any { return h.tx }

// WithTx returns a view of the store whose every method runs on the host
// transaction tx (from WrapTx, or any webhooks.Tx whose Underlying is a
// pgx.Tx), so its writes, and the notifications they send, commit or roll
// back with it. The view never commits: operations of several statements
// run in a savepoint (tx.Begin) inside tx. A failed statement aborts the
// host's transaction, as any failed statement does in PostgreSQL, so the
// host should roll back when a view's method fails. Like tx, the view is
// for one goroutine at a time. tx must be on the store's database; other
// kinds of transaction fail with an error wrapping webhooks.ErrTxUnsupported.
func (s *Store) WithTx(tx webhooks.Tx) (webhooks.Store, error) {
	var ptx pgx.Tx
	if tx != nil {
		ptx, _ = tx.Underlying().(pgx.Tx)
	}
	if ptx == nil {
		return nil, fmt.Errorf("pgstore: WithTx: %T does not wrap a pgx.Tx (use pgstore.WrapTx): %w", tx, webhooks.ErrTxUnsupported)
	}
	v := *s
	v.tx = ptx
	return &v, nil
}

// querier is what *pgxpool.Pool and pgx.Tx have in common.
type querier interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
	Begin(ctx context.Context) (pgx.Tx, error)
}

// db is where statements go: the host transaction in a view, else the pool
// (each statement its own transaction).
func (s *Store) db() querier {
	if s.tx != nil {
		return s.tx
	}
	return s.pool
}

// inTx runs fn in a transaction: a new one, or a savepoint inside the host
// transaction.
func (s *Store) inTx(ctx context.Context, fn func(tx pgx.Tx) error) error {
	return pgx.BeginFunc(ctx, s.db(), fn)
}

// sql puts the quoted schema into a query written with {s}.table names.
func (s *Store) sql(q string) string { return s.rep.Replace(q) }

// quoteIdent quotes a validated identifier.
func quoteIdent(id string) string { return `"` + strings.ReplaceAll(id, `"`, `""`) + `"` }

// channelName is the NOTIFY channel of a schema, within the 63-byte limit
// of PostgreSQL identifiers.
func channelName(schema string) string {
	c := "webhooks." + schema
	if len(c) <= 63 {
		return c
	}
	h := fnv.New32a()
	_, _ = h.Write([]byte(schema))
	return fmt.Sprintf("%s.%08x", c[:54], h.Sum32())
}

// lockKey derives a 64-bit advisory lock key from a purpose and the schema,
// so stores in different schemas of one database do not contend.
func lockKey(purpose, schema string, extra ...string) int64 {
	h := fnv.New64a()
	_, _ = h.Write([]byte("github.com/webhookkit/webhooks/store/pgstore\x00" + purpose + "\x00" + schema))
	for _, e := range extra {
		_, _ = h.Write([]byte{0})
		_, _ = h.Write([]byte(e))
	}
	return int64(h.Sum64())
}

// Value encoding.

// utc returns t in UTC (pgx returns timestamptz in the local zone).
func utc(t time.Time) time.Time { return t.UTC() }

// micro is t as the store keeps it: whole microseconds (truncated), UTC.
func micro(t time.Time) time.Time { return t.Truncate(time.Microsecond).UTC() }

// leaseEnd is from+lease at microsecond precision, at least a microsecond
// after from.
func leaseEnd(from time.Time, lease time.Duration) time.Time {
	start, end := micro(from), micro(from.Add(lease))
	if !end.After(start) {
		end = start.Add(time.Microsecond)
	}
	return end
}

// text makes s storable in a text column: PostgreSQL rejects NUL bytes and
// invalid UTF-8 in text, and one bad error message must not fail a whole
// batch of completions. Both become U+FFFD.
func text(s string) string {
	if utf8.ValidString(s) && !strings.ContainsRune(s, 0) {
		return s
	}
	return strings.ReplaceAll(strings.ToValidUTF8(s, "\uFFFD"), "\x00", "\uFFFD")
}

func notFound(what string, id int64) error {
	return fmt.Errorf("pgstore: %s %d: %w", what, id, webhooks.ErrNotFound)
}

// isNoRows reports whether err is pgx.ErrNoRows.
func isNoRows(err error) bool { return errors.Is(err, pgx.ErrNoRows) }
