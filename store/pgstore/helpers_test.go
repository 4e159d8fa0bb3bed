package pgstore_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/webhookkit/webhooks/store/pgstore"
)

// Environment of the Postgres suites.
const (
	// urlEnv names the database the suites use, e.g.
	// postgres://postgres@127.0.0.1:5432/test?sslmode=disable.
	urlEnv = "WEBHOOKS_TEST_POSTGRES_URL"
	// requireEnv=1 (set by CI) turns a missing URL into a failure.
	requireEnv = "WEBHOOKS_REQUIRE_SERVICES"
)

func TestMain(m *testing.M) {
	if os.Getenv(childEnv) != "" {
		os.Exit(childMain())
	}
	code := m.Run()
	poolMu.Lock()
	if pool != nil {
		pool.Close()
	}
	poolMu.Unlock()
	os.Exit(code)
}

// testURL returns the Postgres URL of the suites. Without one the test is
// skipped, or fails when WEBHOOKS_REQUIRE_SERVICES=1.
func testURL(tb testing.TB) string {
	tb.Helper()
	u := os.Getenv(urlEnv)
	if u == "" {
		if os.Getenv(requireEnv) == "1" {
			tb.Fatalf("%s is not set but %s=1: the Postgres suites must run", urlEnv, requireEnv)
		}
		tb.Skipf("%s is not set: skipping the Postgres suites", urlEnv)
	}
	return u
}

var (
	poolMu sync.Mutex
	pool   *pgxpool.Pool
)

// sharedPool returns one pool for the whole test binary.
func sharedPool(tb testing.TB) *pgxpool.Pool {
	tb.Helper()
	u := testURL(tb)
	poolMu.Lock()
	defer poolMu.Unlock()
	if pool == nil {
		cfg, err := pgxpool.ParseConfig(u)
		require.NoError(tb, err)
		cfg.MaxConns = 16
		p, err := pgxpool.NewWithConfig(context.Background(), cfg)
		require.NoError(tb, err)
		require.NoError(tb, p.Ping(context.Background()), "Postgres at %s", u)
		pool = p
	}
	return pool
}

// freshSchema returns an unused schema name and drops the schema when the
// test ends.
func freshSchema(tb testing.TB) string {
	tb.Helper()
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	name := "pgstore_test_" + hex.EncodeToString(b)
	p := sharedPool(tb)
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_, err := p.Exec(ctx, `DROP SCHEMA IF EXISTS "`+name+`" CASCADE`)
		if err != nil {
			tb.Errorf("dropping schema %s: %v", name, err)
		}
	})
	return name
}

// newStore returns a store in a fresh schema on the shared pool.
func newStore(tb testing.TB, opts *pgstore.Options) *pgstore.Store {
	tb.Helper()
	o := pgstore.Options{}
	if opts != nil {
		o = *opts
	}
	o.Schema = freshSchema(tb)
	s, err := pgstore.New(context.Background(), sharedPool(tb), &o)
	require.NoError(tb, err)
	tb.Cleanup(func() { _ = s.Close() })
	return s
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(tb testing.TB, what string, within time.Duration, cond func() bool) {
	tb.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			tb.Fatalf("timed out after %s waiting for %s", within, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func contextWithTimeout(d time.Duration) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), d)
}
