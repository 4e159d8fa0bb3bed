package sqlitestore_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/webhookkit/webhooks"
	"github.com/webhookkit/webhooks/store/sqlitestore"
	"github.com/webhookkit/webhooks/store/storetest"
)

var (
	ctx  = context.Background()
	base = time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
)

// recommendedDSN is the DSN New's documentation asks hosts to use.
func recommendedDSN(path string) string {
	return "file:" + path + "?_pragma=busy_timeout(5000)&_pragma=journal_mode(WAL)" +
		"&_pragma=foreign_keys(1)&_pragma=synchronous(NORMAL)&_txlock=immediate"
}

func openStore(t testing.TB, path string) *sqlitestore.Store {
	t.Helper()
	s, err := sqlitestore.Open(ctx, path, nil)
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func tempPath(t testing.TB) string { return filepath.Join(t.TempDir(), "client.db") }

func newHook(name string) *webhooks.Webhook {
	return &webhooks.Webhook{
		Name:                     name,
		URL:                      "https://example.com/" + name,
		Events:                   []string{"*"},
		HTTPMethod:               http.MethodPost,
		ContentType:              "application/json",
		Timeout:                  30 * time.Second,
		MaxRetries:               3,
		VerifySSL:                true,
		AutoDisableAfterFailures: 10,
		IsActive:                 true,
		Secret:                   "whsec_" + name + "-0123456789abcdef",
		CreatedAt:                base,
		UpdatedAt:                base,
	}
}

func createHook(t testing.TB, s webhooks.Store, name string) int64 {
	t.Helper()
	w := newHook(name)
	require.NoError(t, s.CreateWebhook(ctx, w, 0))
	return w.ID
}

func event(id string, at time.Time, hooks ...int64) webhooks.EnqueueEvent {
	return webhooks.EnqueueEvent{
		EventID:    id,
		EventType:  "order.created",
		Payload:    []byte(`{"id":"` + id + `"}`),
		CreatedAt:  at,
		WebhookIDs: hooks,
	}
}

func countRows(t testing.TB, db *sql.DB, table string) int {
	t.Helper()
	var n int
	require.NoError(t, db.QueryRowContext(ctx, "SELECT count(*) FROM "+table).Scan(&n))
	return n
}

// TestConformanceNewMinimalDSN runs the suite on a host-owned *sql.DB whose
// DSN sets only a busy timeout and WAL: no foreign keys (so no cascades) and
// deferred transactions. The store must not depend on either.
func TestConformanceNewMinimalDSN(t *testing.T) {
	storetest.Run(t, func(t *testing.T) webhooks.Store {
		db, err := sql.Open(sqlitestore.DriverName,
			"file:"+tempPath(t)+"?_pragma=busy_timeout(5000)&_pragma=journal_mode(WAL)")
		require.NoError(t, err)
		t.Cleanup(func() { require.NoError(t, db.Close()) })
		s, err := sqlitestore.New(ctx, db, nil)
		require.NoError(t, err)
		return s
	})
}

func TestOpenConfiguresPragmas(t *testing.T) {
	s := openStore(t, tempPath(t))
	var mode string
	var fk, sync, busy int
	require.NoError(t, s.DB().QueryRowContext(ctx, "PRAGMA journal_mode").Scan(&mode))
	require.NoError(t, s.DB().QueryRowContext(ctx, "PRAGMA foreign_keys").Scan(&fk))
	require.NoError(t, s.DB().QueryRowContext(ctx, "PRAGMA synchronous").Scan(&sync))
	require.NoError(t, s.DB().QueryRowContext(ctx, "PRAGMA busy_timeout").Scan(&busy))
	require.Equal(t, "wal", mode)
	require.Equal(t, 1, fk)
	require.Equal(t, 1, sync, "NORMAL")
	require.Equal(t, 5000, busy)

	full, err := sqlitestore.Open(ctx, tempPath(t), &sqlitestore.Options{Synchronous: "full", BusyTimeout: 1500 * time.Millisecond})
	require.NoError(t, err)
	defer full.Close()
	require.NoError(t, full.DB().QueryRowContext(ctx, "PRAGMA synchronous").Scan(&sync))
	require.NoError(t, full.DB().QueryRowContext(ctx, "PRAGMA busy_timeout").Scan(&busy))
	require.Equal(t, 2, sync, "FULL")
	require.Equal(t, 1500, busy)
}

func TestOpenRejectsBadInput(t *testing.T) {
	for _, p := range []string{"", ":memory:", "file:x.db"} {
		_, err := sqlitestore.Open(ctx, p, nil)
		require.ErrorIs(t, err, webhooks.ErrInvalid, "path %q", p)
	}
	_, err := sqlitestore.Open(ctx, tempPath(t), &sqlitestore.Options{Synchronous: "OFF"})
	require.ErrorIs(t, err, webhooks.ErrInvalid)
	_, err = sqlitestore.New(ctx, nil, nil)
	require.ErrorIs(t, err, webhooks.ErrInvalid)
}

func TestOpenPathWithURICharacters(t *testing.T) {
	path := filepath.Join(t.TempDir(), "a?b#c%20d.db")
	s := openStore(t, path)
	createHook(t, s, "h")
	require.NoError(t, s.Close())
	s = openStore(t, path)
	ws, err := s.ListWebhooks(ctx, webhooks.ListWebhooksParams{})
	require.NoError(t, err)
	require.Len(t, ws, 1, "the same file was reopened")
}

func TestMigrationsIdempotent(t *testing.T) {
	path := tempPath(t)
	s1 := openStore(t, path)
	id := createHook(t, s1, "h")
	s2 := openStore(t, path) // second Open on a live, migrated file
	require.NoError(t, s1.Close())
	s3 := openStore(t, path) // and on a closed one
	for _, s := range []*sqlitestore.Store{s2, s3} {
		require.Equal(t, sqlitestore.SchemaVersion(), countRows(t, s.DB(), "webhooks_schema_migrations"), "one row per migration")
		var v int
		require.NoError(t, s.DB().QueryRowContext(ctx, "SELECT max(version) FROM webhooks_schema_migrations").Scan(&v))
		require.Equal(t, sqlitestore.SchemaVersion(), v)
		_, err := s.GetWebhook(ctx, id)
		require.NoError(t, err, "data kept")
	}
}

func TestMigrationsConcurrentOpens(t *testing.T) {
	path := tempPath(t)
	const n = 8
	stores := make([]*sqlitestore.Store, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			stores[i], errs[i] = sqlitestore.Open(ctx, path, nil)
		}()
	}
	close(start)
	wg.Wait()
	for i := range n {
		require.NoError(t, errs[i], "Open %d", i)
		defer stores[i].Close()
	}
	require.Equal(t, sqlitestore.SchemaVersion(), countRows(t, stores[0].DB(), "webhooks_schema_migrations"), "each migration applied once")
	id := createHook(t, stores[3], "h")
	_, err := stores[5].GetWebhook(ctx, id)
	require.NoError(t, err)
}

// TestMigrationUpgradeFromV1 opens a database at schema version 1 (as an
// older release left it, with data) and checks that Open adds the indexes
// of 0002 and the filters column of 0003, and that the store works on the
// old rows.
func TestMigrationUpgradeFromV1(t *testing.T) {
	require.GreaterOrEqual(t, sqlitestore.SchemaVersion(), 2)
	path := tempPath(t)
	s := openStore(t, path)
	h := createHook(t, s, "h")
	res, err := s.Enqueue(ctx, []webhooks.EnqueueEvent{event("e1", base, h), event("e2", base.Add(time.Second), h)})
	require.NoError(t, err)
	for _, stmt := range []string{
		`DROP INDEX webhooks_deliveries_webhook_due`,
		`DROP INDEX webhooks_deliveries_webhook_status`,
		`ALTER TABLE webhooks_endpoints DROP COLUMN filters`,
		`DELETE FROM webhooks_schema_migrations WHERE version >= 2`,
	} {
		_, err := s.DB().ExecContext(ctx, stmt)
		require.NoError(t, err, stmt)
	}
	require.NoError(t, s.Close())

	s = openStore(t, path)
	var v int
	require.NoError(t, s.DB().QueryRowContext(ctx, "SELECT max(version) FROM webhooks_schema_migrations").Scan(&v))
	require.Equal(t, sqlitestore.SchemaVersion(), v)
	var n int
	require.NoError(t, s.DB().QueryRowContext(ctx, `SELECT count(*) FROM sqlite_schema WHERE type = 'index'
	AND name IN ('webhooks_deliveries_webhook_due', 'webhooks_deliveries_webhook_status')`).Scan(&n))
	require.Equal(t, 2, n, "0002 indexes created")
	cl, err := s.Claim(ctx, webhooks.ClaimParams{Now: base.Add(time.Minute), Limit: 10, Lease: time.Minute, MaxPerWebhook: 1})
	require.NoError(t, err)
	require.Len(t, cl, 1)
	require.Equal(t, res[0].Deliveries[0].ID, cl[0].Delivery.ID, "old rows are in the new index")
	old, err := s.GetWebhook(ctx, h)
	require.NoError(t, err)
	require.Nil(t, old.Filters, "old webhooks have no filter")
	old.Filters = json.RawMessage(`{"data.id":1}`)
	require.NoError(t, s.UpdateWebhook(ctx, old))
	old, err = s.GetWebhook(ctx, h)
	require.NoError(t, err)
	require.Equal(t, `{"data.id":1}`, string(old.Filters))
}

func TestDataSurvivesReopen(t *testing.T) {
	path := tempPath(t)
	s := openStore(t, path)
	w := newHook("h")
	w.CustomHeaders = map[string]string{"X-Team": "ops"}
	w.Events = []string{"order.*"}
	require.NoError(t, s.CreateWebhook(ctx, w, 5))
	res, err := s.Enqueue(ctx, []webhooks.EnqueueEvent{event("e1", base, w.ID), event("e2", base, w.ID)})
	require.NoError(t, err)
	cl, err := s.Claim(ctx, webhooks.ClaimParams{Now: base, Limit: 1, Lease: time.Hour})
	require.NoError(t, err)
	require.Len(t, cl, 1)
	_, err = s.Complete(ctx, []webhooks.Completion{{
		DeliveryID: cl[0].Delivery.ID, Token: cl[0].Token, Status: webhooks.StatusRetrying,
		NextAttemptAt: base.Add(time.Minute), Now: base.Add(time.Second),
		Attempt: webhooks.Attempt{StartedAt: base, ResponseStatus: 502, ResponseBody: "bad gateway",
			ResponseHeaders: http.Header{"Server": {"x"}}, Duration: time.Second, Error: "HTTP 502"},
	}})
	require.NoError(t, err)
	// Lease the other one, then close with the lease outstanding.
	held, err := s.Claim(ctx, webhooks.ClaimParams{Now: base, Limit: 10, Lease: time.Hour})
	require.NoError(t, err)
	require.Len(t, held, 1)
	require.NoError(t, s.Close())

	s = openStore(t, path)
	got, err := s.GetWebhook(ctx, w.ID)
	require.NoError(t, err)
	require.Equal(t, w.Events, got.Events)
	require.Equal(t, w.CustomHeaders, got.CustomHeaders)
	require.Equal(t, 1, got.ConsecutiveFailures)
	d, err := s.GetDelivery(ctx, cl[0].Delivery.ID)
	require.NoError(t, err)
	require.Equal(t, webhooks.StatusRetrying, d.Status)
	require.Len(t, d.Attempts, 1)
	require.Equal(t, "bad gateway", d.Attempts[0].ResponseBody)
	require.Equal(t, "x", d.Attempts[0].ResponseHeaders.Get("Server"))

	// The lease survived too: only the retried delivery is due in a minute.
	again, err := s.Claim(ctx, webhooks.ClaimParams{Now: base.Add(2 * time.Minute), Limit: 10, Lease: time.Hour})
	require.NoError(t, err)
	require.Len(t, again, 1)
	require.Equal(t, cl[0].Delivery.ID, again[0].Delivery.ID)
	dup, err := s.Enqueue(ctx, []webhooks.EnqueueEvent{event("e1", base, w.ID)})
	require.NoError(t, err)
	require.True(t, dup[0].Duplicate, "event IDs are remembered across reopen")
	require.NotEqual(t, res[0].Deliveries[0].ID, 0)
}

func TestWithTxRollbackAndCommit(t *testing.T) {
	s := openStore(t, tempPath(t))
	h := createHook(t, s, "h")

	for _, commit := range []bool{false, true} {
		t.Run(fmt.Sprintf("commit=%v", commit), func(t *testing.T) {
			evID := fmt.Sprintf("tx-%v", commit)
			tx, err := s.DB().BeginTx(ctx, nil)
			require.NoError(t, err)
			view, err := s.WithTx(sqlitestore.WrapTx(tx))
			require.NoError(t, err)
			res, err := view.Enqueue(ctx, []webhooks.EnqueueEvent{event(evID, base, h)})
			require.NoError(t, err)
			require.Len(t, res[0].Deliveries, 1)
			id := res[0].Deliveries[0].ID

			// The view sees its own writes; the store (other connections) does not.
			_, err = view.GetDelivery(ctx, id)
			require.NoError(t, err)
			_, err = s.GetDelivery(ctx, id)
			require.ErrorIs(t, err, webhooks.ErrNotFound, "uncommitted")

			if !commit {
				require.NoError(t, tx.Rollback())
				_, err = s.GetDelivery(ctx, id)
				require.ErrorIs(t, err, webhooks.ErrNotFound)
				cl, err := s.Claim(ctx, webhooks.ClaimParams{Now: base, Limit: 10, Lease: time.Minute})
				require.NoError(t, err)
				require.Empty(t, cl)
				return
			}
			require.NoError(t, tx.Commit())
			cl, err := s.Claim(ctx, webhooks.ClaimParams{Now: base, Limit: 10, Lease: time.Minute})
			require.NoError(t, err)
			require.Len(t, cl, 1)
			require.Equal(t, id, cl[0].Delivery.ID)
			require.Equal(t, evID, cl[0].Delivery.EventID)
		})
	}
}

// TestNewHostTransaction is the EmitTx pattern: the host's own table and the
// webhook tables in one file, written in one host transaction.
func TestNewHostTransaction(t *testing.T) {
	db, err := sql.Open(sqlitestore.DriverName, recommendedDSN(tempPath(t)))
	require.NoError(t, err)
	defer db.Close()
	_, err = db.ExecContext(ctx, `CREATE TABLE orders (id INTEGER PRIMARY KEY, total INTEGER NOT NULL)`)
	require.NoError(t, err)
	s, err := sqlitestore.New(ctx, db, nil)
	require.NoError(t, err)
	h := createHook(t, s, "h")

	emit := func(orderID int64, commit bool) {
		tx, err := db.BeginTx(ctx, nil)
		require.NoError(t, err)
		_, err = tx.ExecContext(ctx, `INSERT INTO orders (id, total) VALUES (?, 100)`, orderID)
		require.NoError(t, err)
		view, err := s.WithTx(sqlitestore.WrapTx(tx))
		require.NoError(t, err)
		matched, err := view.MatchWebhooks(ctx, webhooks.MatchParams{EventType: "order.created"})
		require.NoError(t, err)
		require.Len(t, matched, 1)
		_, err = view.Enqueue(ctx, []webhooks.EnqueueEvent{event(fmt.Sprint("order-", orderID), base, h)})
		require.NoError(t, err)
		if commit {
			require.NoError(t, tx.Commit())
		} else {
			require.NoError(t, tx.Rollback())
		}
	}
	emit(1, false)
	require.Zero(t, countRows(t, db, "orders"))
	require.Zero(t, countRows(t, db, "webhooks_events"))
	require.Zero(t, countRows(t, db, "webhooks_deliveries"))

	emit(2, true)
	require.Equal(t, 1, countRows(t, db, "orders"))
	cl, err := s.Claim(ctx, webhooks.ClaimParams{Now: base, Limit: 10, Lease: time.Minute})
	require.NoError(t, err)
	require.Len(t, cl, 1)
	require.Equal(t, "order-2", cl[0].Delivery.EventID)

	require.NoError(t, s.Close())
	require.NoError(t, db.PingContext(ctx), "Close leaves the host's DB open")
}

// TestWithTxFailedStepRollsBackToSavepoint checks that a view operation that
// fails part-way leaves none of its writes in the host transaction, which
// stays usable.
func TestWithTxFailedStepRollsBackToSavepoint(t *testing.T) {
	s := openStore(t, tempPath(t))
	good := createHook(t, s, "good")
	bad := createHook(t, s, "bad")
	_, err := s.DB().ExecContext(ctx, fmt.Sprintf(`CREATE TRIGGER test_boom BEFORE INSERT ON webhooks_deliveries
	WHEN NEW.webhook_id = %d BEGIN SELECT RAISE(ABORT, 'boom'); END`, bad))
	require.NoError(t, err)

	tx, err := s.DB().BeginTx(ctx, nil)
	require.NoError(t, err)
	view, err := s.WithTx(sqlitestore.WrapTx(tx))
	require.NoError(t, err)
	_, err = view.Enqueue(ctx, []webhooks.EnqueueEvent{event("ok", base, good), event("fails", base, good, bad)})
	require.ErrorContains(t, err, "boom")
	require.ErrorContains(t, err, "sqlitestore: ")
	res, err := view.Enqueue(ctx, []webhooks.EnqueueEvent{event("after", base, good)})
	require.NoError(t, err, "the host transaction is still usable")
	require.Len(t, res[0].Deliveries, 1)
	require.NoError(t, tx.Commit())

	ds, err := s.ListDeliveries(ctx, webhooks.ListDeliveriesParams{})
	require.NoError(t, err)
	require.Len(t, ds, 1)
	require.Equal(t, "after", ds[0].EventID)
	require.Equal(t, 1, countRows(t, s.DB(), "webhooks_events"), "the failed call's events were rolled back")
}

type otherTx struct{}

func (otherTx) Underlying() any { return "not a *sql.Tx" }

func TestWithTxWrongKind(t *testing.T) {
	s := openStore(t, tempPath(t))
	_, err := s.WithTx(otherTx{})
	require.ErrorIs(t, err, webhooks.ErrTxUnsupported)
	require.ErrorContains(t, err, "sqlitestore: ")
	_, err = s.WithTx(nil)
	require.ErrorIs(t, err, webhooks.ErrTxUnsupported)
	_, err = s.WithTx(sqlitestore.WrapTx(nil))
	require.ErrorIs(t, err, webhooks.ErrTxUnsupported)

	tx, err := s.DB().BeginTx(ctx, nil)
	require.NoError(t, err)
	defer tx.Rollback()
	wrapped := sqlitestore.WrapTx(tx)
	require.Same(t, tx, wrapped.Underlying())
	var ts webhooks.TxStore = s
	view, err := ts.WithTx(wrapped)
	require.NoError(t, err)
	require.NoError(t, view.(*sqlitestore.Store).Close(), "closing a view is a no-op")
}

// TestConcurrentClaimsTwoStores opens the file twice, as two processes
// would, and claims from both with 8 goroutines.
func TestConcurrentClaimsTwoStores(t *testing.T) {
	path := tempPath(t)
	s1 := openStore(t, path)
	s2 := openStore(t, path)
	var hooks []int64
	for i := range 5 {
		hooks = append(hooks, createHook(t, s1, fmt.Sprint("h", i)))
	}
	var evs []webhooks.EnqueueEvent
	for i := range 120 {
		evs = append(evs, event(fmt.Sprintf("e%03d", i), base.Add(time.Duration(i)*time.Millisecond), hooks...))
	}
	_, err := s2.Enqueue(ctx, evs)
	require.NoError(t, err)
	const total = 600

	const goroutines = 8
	got := make([][]int64, goroutines)
	errs := make([]error, goroutines)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for g := range goroutines {
		s := s1
		if g%2 == 1 {
			s = s2
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			for {
				cl, err := s.Claim(ctx, webhooks.ClaimParams{Now: base.Add(time.Hour), Limit: 9, Lease: time.Hour})
				if err != nil {
					errs[g] = err
					return
				}
				if len(cl) == 0 {
					return
				}
				var cs []webhooks.Completion
				for _, c := range cl {
					got[g] = append(got[g], c.Delivery.ID)
					cs = append(cs, webhooks.Completion{DeliveryID: c.Delivery.ID, Token: c.Token,
						Status: webhooks.StatusSuccess, Now: base.Add(time.Hour),
						Attempt: webhooks.Attempt{StartedAt: base.Add(time.Hour), ResponseStatus: 200}})
				}
				res, err := s.Complete(ctx, cs)
				if err != nil {
					errs[g] = err
					return
				}
				if len(res.Stale) > 0 {
					errs[g] = fmt.Errorf("stale completions %v", res.Stale)
					return
				}
			}
		}()
	}
	close(start)
	wg.Wait()
	for g, err := range errs {
		require.NoError(t, err, "goroutine %d", g)
	}
	seen := map[int64]int{}
	for _, ids := range got {
		for _, id := range ids {
			seen[id]++
		}
	}
	require.Len(t, seen, total, "every delivery claimed")
	for id, n := range seen {
		require.Equal(t, 1, n, "delivery %d claimed %d times", id, n)
	}
	ds, err := s1.ListDeliveries(ctx, webhooks.ListDeliveriesParams{Status: webhooks.StatusSuccess, Limit: 1000})
	require.NoError(t, err)
	require.Len(t, ds, total)
	require.Equal(t, total, countRows(t, s2.DB(), "webhooks_attempts"))
}

func TestPurgeInBatches(t *testing.T) {
	s := openStore(t, tempPath(t))
	h := createHook(t, s, "h")
	const n = 2*sqlitestore.PurgeBatch + 17
	var evs []webhooks.EnqueueEvent
	for i := range n {
		evs = append(evs, event(fmt.Sprint("old-", i), base, h))
	}
	evs = append(evs, event("new", base.Add(time.Hour), h))
	_, err := s.Enqueue(ctx, evs)
	require.NoError(t, err)
	cl, err := s.Claim(ctx, webhooks.ClaimParams{Now: base, Limit: 50, Lease: time.Minute})
	require.NoError(t, err)
	var cs []webhooks.Completion
	for _, c := range cl {
		cs = append(cs, webhooks.Completion{DeliveryID: c.Delivery.ID, Token: c.Token, Status: webhooks.StatusFailed, Now: base})
	}
	_, err = s.Complete(ctx, cs)
	require.NoError(t, err)
	require.Equal(t, 50, countRows(t, s.DB(), "webhooks_attempts"))

	purged, err := s.Purge(ctx, base.Add(time.Minute))
	require.NoError(t, err)
	require.Equal(t, int64(n), purged)
	require.Equal(t, 1, countRows(t, s.DB(), "webhooks_deliveries"))
	require.Equal(t, 1, countRows(t, s.DB(), "webhooks_events"))
	require.Zero(t, countRows(t, s.DB(), "webhooks_attempts"))
}

func TestErrorsArePrefixedAndWrapped(t *testing.T) {
	s := openStore(t, tempPath(t))
	_, err := s.GetWebhook(ctx, 7)
	require.ErrorIs(t, err, webhooks.ErrNotFound)
	require.ErrorContains(t, err, "sqlitestore: ")
	err = s.RetryDelivery(ctx, 7, base)
	require.ErrorIs(t, err, webhooks.ErrNotFound)
	require.ErrorContains(t, err, "sqlitestore: ")

	h := createHook(t, s, "h")
	require.NoError(t, s.CreateWebhook(ctx, newHook("h2"), 2))
	err = s.CreateWebhook(ctx, newHook("h3"), 2)
	require.ErrorIs(t, err, webhooks.ErrWebhookLimit)
	require.ErrorContains(t, err, "sqlitestore: ")

	_, err = s.Claim(ctx, webhooks.ClaimParams{Now: base, Limit: 1})
	require.ErrorIs(t, err, webhooks.ErrInvalid, "a claim needs a lease")
	_, err = s.Complete(ctx, []webhooks.Completion{{DeliveryID: 1, Status: webhooks.StatusPending}})
	require.ErrorIs(t, err, webhooks.ErrInvalid)
	_, err = s.Enqueue(ctx, []webhooks.EnqueueEvent{event("", base, h)})
	require.ErrorIs(t, err, webhooks.ErrInvalid)

	canceled, cancel := context.WithCancel(ctx)
	cancel()
	_, err = s.Enqueue(canceled, []webhooks.EnqueueEvent{event("x", base, h)})
	require.True(t, errors.Is(err, context.Canceled), "got %v", err)
	require.ErrorContains(t, err, "sqlitestore: ")
}

// TestConformanceInMemory backs the in-memory recipe in New's documentation.
func TestConformanceInMemory(t *testing.T) {
	storetest.Run(t, func(t *testing.T) webhooks.Store {
		db, err := sql.Open(sqlitestore.DriverName, ":memory:")
		require.NoError(t, err)
		db.SetMaxOpenConns(1)
		t.Cleanup(func() { require.NoError(t, db.Close()) })
		s, err := sqlitestore.New(ctx, db, nil)
		require.NoError(t, err)
		return s
	})
}
