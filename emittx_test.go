package webhooks_test

import (
	"database/sql"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/webhookkit/webhooks"
	"github.com/webhookkit/webhooks/store/sqlitestore"
)

// EmitTx joins the host's own SQLite transaction: a rollback leaves no event
// and no delivery, a commit delivers.
func TestEmitTxCommitsAndRollsBackWithHostRows(t *testing.T) {
	ctx := t.Context()
	db, err := sql.Open(sqlitestore.DriverName, "file:"+filepath.Join(t.TempDir(), "host.db")+
		"?_pragma=busy_timeout(5000)&_pragma=journal_mode(WAL)&_txlock=immediate")
	require.NoError(t, err)
	t.Cleanup(func() { db.Close() })
	_, err = db.ExecContext(ctx, `CREATE TABLE inspections (id INTEGER PRIMARY KEY, title TEXT)`)
	require.NoError(t, err)
	store, err := sqlitestore.New(ctx, db, nil)
	require.NoError(t, err)

	rc := newReceiver(t, nil)
	d := newTestDispatcher(t, webhooks.Config{Store: store})
	w := hook(t, d, "", rc.URL, webhooks.WebhookInput{})
	start(t, d)

	emitIn := func(id int, commit bool) {
		tx, err := db.BeginTx(ctx, nil)
		require.NoError(t, err)
		_, err = tx.ExecContext(ctx, `INSERT INTO inspections (id, title) VALUES (?, 'Monthly')`, id)
		require.NoError(t, err)
		require.NoError(t, d.EmitTx(ctx, sqlitestore.WrapTx(tx), webhooks.Event{
			Type: "inspection.created", Data: webhooks.EventData{ID: id, Type: "Inspection"},
		}))
		if commit {
			require.NoError(t, tx.Commit())
			d.Wake()
		} else {
			require.NoError(t, tx.Rollback())
		}
	}
	emitIn(1, false)
	emitIn(2, true)
	waitFor(t, "the committed event", func() bool { return rc.count() == 1 })
	require.Contains(t, string(rc.get(0).body), `"data":{"id":2,`)
	ds := deliveriesOf(t, d, "", w.ID)
	require.Len(t, ds, 1, "the rolled-back event left no delivery")
	var rows int
	require.NoError(t, db.QueryRowContext(ctx, `SELECT count(*) FROM inspections`).Scan(&rows))
	require.Equal(t, 1, rows)
}

func TestEmitTxNeedsATxStore(t *testing.T) {
	d := newTestDispatcher(t, webhooks.Config{}) // memstore
	db, err := sql.Open(sqlitestore.DriverName, filepath.Join(t.TempDir(), "x.db"))
	require.NoError(t, err)
	t.Cleanup(func() { db.Close() })
	tx, err := db.BeginTx(t.Context(), nil)
	require.NoError(t, err)
	defer tx.Rollback()
	require.ErrorIs(t, d.EmitTx(t.Context(), sqlitestore.WrapTx(tx), webhooks.Event{Type: "unit.created"}), webhooks.ErrTxUnsupported)
	require.ErrorIs(t, d.EmitTx(t.Context(), nil, webhooks.Event{Type: "unit.created"}), webhooks.ErrTxUnsupported)
}

// A process that claimed deliveries and died holds them only until the
// lease lapses; then another process's dispatcher sends them.
func TestCrashedClaimsAreSentAfterLease(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "shared.db")
	crashed, err := sqlitestore.Open(ctx, path, nil)
	require.NoError(t, err)
	t.Cleanup(func() { crashed.Close() })
	alive, err := sqlitestore.Open(ctx, path, nil)
	require.NoError(t, err)
	t.Cleanup(func() { alive.Close() })

	rc := newReceiver(t, nil)
	clock := newFakeClock()
	d := newTestDispatcher(t, webhooks.Config{Store: alive, Now: clock.Now, PollInterval: 2 * time.Millisecond})
	hook(t, d, "", rc.URL, webhooks.WebhookInput{})
	for range 5 {
		require.NoError(t, d.Emit(ctx, webhooks.Event{Type: "unit.created"}))
	}
	held, err := crashed.Claim(ctx, webhooks.ClaimParams{Now: clock.Now(), Limit: 3, Lease: 5 * time.Minute})
	require.NoError(t, err)
	require.Len(t, held, 3)
	crashed.Close() // the process dies holding three leases

	start(t, d)
	waitFor(t, "the two unclaimed sent and recorded", func() bool {
		n := 0
		for _, del := range deliveriesOf(t, d, "", 1) {
			if del.Status == webhooks.StatusSuccess {
				n++
			}
		}
		return n == 2
	})
	clock.Advance(5*time.Minute + time.Second)
	d.Wake()
	waitFor(t, "the three reclaimed", func() bool { return rc.count() == 5 })
	ids := map[string]bool{}
	for i := range 5 {
		ids[rc.get(i).header.Get("X-Webhook-Delivery")] = true
	}
	require.Len(t, ids, 5, "each delivery once")
}

// A store that fails makes Emit fail; nothing is silently dropped.
func TestEmitReportsStoreFailure(t *testing.T) {
	store, err := sqlitestore.Open(t.Context(), filepath.Join(t.TempDir(), "down.db"), nil)
	require.NoError(t, err)
	d := newTestDispatcher(t, webhooks.Config{Store: store})
	hook(t, d, "", "https://example.com", webhooks.WebhookInput{})
	require.NoError(t, store.Close())
	require.Error(t, d.Emit(t.Context(), webhooks.Event{Type: "unit.created"}))
}
