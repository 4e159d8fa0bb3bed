package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/redis/go-redis/v9"

	"github.com/webhookkit/webhooks"
	"github.com/webhookkit/webhooks/internal/rediskeys"
	"github.com/webhookkit/webhooks/store/memstore"
	"github.com/webhookkit/webhooks/store/pgstore"
	"github.com/webhookkit/webhooks/store/redisstore"
	"github.com/webhookkit/webhooks/store/sqlitestore"
)

// errNotConfigured: a service store was asked for without its URL.
var errNotConfigured = errors.New("not configured")

// backend hands out fresh, empty stores of one kind: every scenario runs on
// its own, and cleanup deletes what it stored (the services are shared, so
// only what this process created is touched).
type backend interface {
	// fresh returns an empty store and the function that closes and deletes it.
	fresh(ctx context.Context, log *slog.Logger) (webhooks.Store, func(), error)
	// close releases what the backend holds (temporary directory, admin connections).
	close()
}

func openBackend(ctx context.Context, name string, o options) (backend, error) {
	switch name {
	case "memory":
		return memBackend{}, nil
	case "sqlite":
		dir, err := os.MkdirTemp("", "webhooks-bench-")
		if err != nil {
			return nil, err
		}
		return &sqliteBackend{dir: dir}, nil
	case "postgres":
		if o.PostgresURL == "" {
			return nil, fmt.Errorf("%w: set -postgres or $%s", errNotConfigured, postgresEnv)
		}
		return newPGBackend(ctx, o.PostgresURL)
	case "redis":
		if o.RedisURL == "" {
			return nil, fmt.Errorf("%w: set -redis or $%s", errNotConfigured, redisEnv)
		}
		return newRedisBackend(ctx, o.RedisURL)
	}
	return nil, fmt.Errorf("unknown store %q", name)
}

// unique names schemas and prefixes: pid, start time and a sequence, so
// concurrent runs and other engineers' suites never collide.
var seq atomic.Int64

func uniqueName(sep string) string {
	return strings.Join([]string{"wbench", fmt.Sprint(os.Getpid()), fmt.Sprint(time.Now().Unix()), fmt.Sprint(seq.Add(1))}, sep)
}

type memBackend struct{}

func (memBackend) fresh(context.Context, *slog.Logger) (webhooks.Store, func(), error) {
	return memstore.New(), func() {}, nil
}

func (memBackend) close() {}

type sqliteBackend struct{ dir string }

func (b *sqliteBackend) fresh(ctx context.Context, _ *slog.Logger) (webhooks.Store, func(), error) {
	path := filepath.Join(b.dir, uniqueName("-")+".db")
	st, err := sqlitestore.Open(ctx, path, nil)
	if err != nil {
		return nil, nil, err
	}
	return st, func() {
		_ = st.Close()
		for _, suffix := range []string{"", "-wal", "-shm"} {
			_ = os.Remove(path + suffix)
		}
	}, nil
}

func (b *sqliteBackend) close() { _ = os.RemoveAll(b.dir) }

// pgPoolSize is the pool the store gets when the DSN sets none: the
// dispatcher takes about two connections plus one per concurrent Emit (see
// store/pgstore/README.md), and pgxpool's default is max(4, cores).
const pgPoolSize = "16"

type pgBackend struct {
	dsn   string
	admin *pgxpool.Pool // creates nothing; drops the schemas the stores created
}

func newPGBackend(ctx context.Context, dsn string) (*pgBackend, error) {
	dsn = withPoolSize(dsn)
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("postgres: %w", err)
	}
	cfg.MaxConns = 2
	admin, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("postgres: %w", err)
	}
	pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := admin.Ping(pctx); err != nil {
		admin.Close()
		return nil, fmt.Errorf("postgres does not answer: %w", err)
	}
	return &pgBackend{dsn: dsn, admin: admin}, nil
}

// withPoolSize adds pool_max_conns to a DSN that sets none.
func withPoolSize(dsn string) string {
	if strings.Contains(dsn, "pool_max_conns") {
		return dsn
	}
	if u, err := url.Parse(dsn); err == nil && (u.Scheme == "postgres" || u.Scheme == "postgresql") {
		q := u.Query()
		q.Set("pool_max_conns", pgPoolSize)
		u.RawQuery = q.Encode()
		return u.String()
	}
	return dsn + " pool_max_conns=" + pgPoolSize
}

func (b *pgBackend) fresh(ctx context.Context, log *slog.Logger) (webhooks.Store, func(), error) {
	schema := uniqueName("_")
	drop := func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_, _ = b.admin.Exec(ctx, `DROP SCHEMA IF EXISTS "`+schema+`" CASCADE`)
	}
	st, err := pgstore.Open(ctx, b.dsn, &pgstore.Options{Schema: schema, Logger: log})
	if err != nil {
		drop()
		return nil, nil, err
	}
	return st, func() { _ = st.Close(); drop() }, nil
}

func (b *pgBackend) close() { b.admin.Close() }

type redisBackend struct{ rdb *redis.Client }

func newRedisBackend(ctx context.Context, rawURL string) (*redisBackend, error) {
	opts, err := redis.ParseURL(rawURL)
	if err != nil {
		return nil, fmt.Errorf("redis: %w", err)
	}
	rdb := redis.NewClient(opts)
	pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := rdb.Ping(pctx).Err(); err != nil {
		_ = rdb.Close()
		return nil, fmt.Errorf("redis does not answer: %w", err)
	}
	return &redisBackend{rdb: rdb}, nil
}

func (b *redisBackend) fresh(_ context.Context, log *slog.Logger) (webhooks.Store, func(), error) {
	st, err := redisstore.New(b.rdb, &redisstore.Options{Prefix: uniqueName("-"), Logger: log})
	if err != nil {
		return nil, nil, err
	}
	return st, func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		_ = rediskeys.Delete(ctx, b.rdb, st.KeyPrefix())
	}, nil
}

func (b *redisBackend) close() { _ = b.rdb.Close() }
