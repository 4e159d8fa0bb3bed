package pgstore_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/webhookkit/webhooks"
	"github.com/webhookkit/webhooks/store/pgstore"
)

var ctx = context.Background()

func hookFor(name string) *webhooks.Webhook {
	return &webhooks.Webhook{
		Name: name, URL: "https://receiver.example.com/" + name, Events: []string{"*"},
		HTTPMethod: http.MethodPost, ContentType: "application/json", Timeout: 10 * time.Second,
		MaxRetries: 3, VerifySSL: true, AutoDisableAfterFailures: 10, IsActive: true,
		Secret: "whsec_" + name + "-0123456789abcdef",
	}
}

func createHook(tb testing.TB, s webhooks.Store, name string) int64 {
	tb.Helper()
	w := hookFor(name)
	require.NoError(tb, s.CreateWebhook(ctx, w, 0))
	return w.ID
}

func countRows(tb testing.TB, schema, table string) int {
	tb.Helper()
	var n int
	require.NoError(tb, sharedPool(tb).QueryRow(ctx, `SELECT count(*) FROM "`+schema+`".`+table).Scan(&n))
	return n
}

// Several processes starting at once on a fresh schema: the advisory lock
// makes one of them migrate and the others find the work done.
func TestMigrateConcurrentlyOnFreshSchema(t *testing.T) {
	u := testURL(t)
	schema := freshSchema(t)
	const n = 4
	stores := make([]*pgstore.Store, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			<-start
			// Separate pools, as separate processes would have.
			stores[i], errs[i] = pgstore.Open(ctx, u, &pgstore.Options{Schema: schema})
		})
	}
	close(start)
	wg.Wait()
	for i, err := range errs {
		require.NoError(t, err, "store %d", i)
		t.Cleanup(func() { _ = stores[i].Close() })
	}
	rows, err := sharedPool(t).Query(ctx, `SELECT version, name FROM "`+schema+`".webhooks_schema_migrations ORDER BY version`)
	require.NoError(t, err)
	versions, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (int, error) {
		var v int
		var name string
		return v, r.Scan(&v, &name)
	})
	require.NoError(t, err)
	want := make([]int, pgstore.SchemaVersion())
	for i := range want {
		want[i] = i + 1
	}
	require.Equal(t, want, versions, "each migration applied once")

	// Every store works on the shared schema.
	id := createHook(t, stores[0], "shared")
	for _, s := range stores {
		w, err := s.GetWebhook(ctx, id)
		require.NoError(t, err)
		require.Equal(t, "shared", w.Name)
	}

	// Opening again is a no-op.
	again, err := pgstore.New(ctx, sharedPool(t), &pgstore.Options{Schema: schema})
	require.NoError(t, err)
	require.Equal(t, schema, again.Schema())
}

// Stores in different schemas of one database are separate clients.
func TestSchemasAreIsolated(t *testing.T) {
	a := newStore(t, nil)
	b := newStore(t, nil)
	require.NotEqual(t, a.Channel(), b.Channel())
	createHook(t, a, "only-in-a")
	ws, err := b.ListWebhooks(ctx, webhooks.ListWebhooksParams{})
	require.NoError(t, err)
	require.Empty(t, ws)
}

func TestOptionsValidateSchema(t *testing.T) {
	p := sharedPool(t)
	for _, bad := range []string{"has space", `quo"te`, "1digit", "pg_catalog", "PG_x", "a-b", "x;drop", strings.Repeat("a", 64)} {
		_, err := pgstore.New(ctx, p, &pgstore.Options{Schema: bad})
		require.ErrorIs(t, err, webhooks.ErrInvalid, "schema %q", bad)
		require.True(t, strings.HasPrefix(err.Error(), "pgstore: "), err.Error())
	}
	_, err := pgstore.New(ctx, nil, nil)
	require.ErrorIs(t, err, webhooks.ErrInvalid)

	// Mixed case is kept (the name is quoted) and long names still get a
	// channel within PostgreSQL's 63-byte limit.
	name := "Mixed_" + strings.ToUpper(freshSchema(t)[len("pgstore_test_"):])
	t.Cleanup(func() { _, _ = p.Exec(ctx, `DROP SCHEMA IF EXISTS "`+name+`" CASCADE`) })
	s, err := pgstore.New(ctx, p, &pgstore.Options{Schema: name})
	require.NoError(t, err)
	createHook(t, s, "x")
	long := freshSchema(t) + strings.Repeat("x", 63-len("pgstore_test_")-12)
	require.Len(t, long, 63)
	t.Cleanup(func() { _, _ = p.Exec(ctx, `DROP SCHEMA IF EXISTS "`+long+`" CASCADE`) })
	s, err = pgstore.New(ctx, p, &pgstore.Options{Schema: long})
	require.NoError(t, err)
	require.LessOrEqual(t, len(s.Channel()), 63)
	require.True(t, strings.HasPrefix(s.Channel(), "webhooks.pgstore_test_"))
}

// A database that does not answer at start: a clear error naming the host.
func TestUnreachableAtStart(t *testing.T) {
	testURL(t)
	start := time.Now()
	_, err := pgstore.Open(ctx, "postgres://postgres@127.0.0.1:1/test?sslmode=disable", nil)
	require.Error(t, err)
	require.Contains(t, err.Error(), "127.0.0.1:1")
	require.True(t, strings.HasPrefix(err.Error(), "pgstore: "), err.Error())
	require.Less(t, time.Since(start), 10*time.Second)
	t.Log(err)

	cfg, err := pgxpool.ParseConfig("postgres://postgres@127.0.0.1:1/test?sslmode=disable")
	require.NoError(t, err)
	p, err := pgxpool.NewWithConfig(ctx, cfg)
	require.NoError(t, err)
	defer p.Close()
	_, err = pgstore.New(ctx, p, nil)
	require.ErrorContains(t, err, "pgstore: connecting to 127.0.0.1:1/test")

	_, err = pgstore.Open(ctx, "postgres://%zz", nil)
	require.ErrorContains(t, err, "pgstore: open")
}

// Open owns its pool and closes it; New leaves the host's pool alone.
func TestCloseOwnership(t *testing.T) {
	u := testURL(t)
	schema := freshSchema(t)
	owned, err := pgstore.Open(ctx, u, &pgstore.Options{Schema: schema})
	require.NoError(t, err)
	require.NoError(t, owned.Close())
	require.NoError(t, owned.Close(), "Close twice")
	require.Error(t, owned.Pool().Ping(ctx), "Open's pool is closed")

	p := sharedPool(t)
	borrowed, err := pgstore.New(ctx, p, &pgstore.Options{Schema: schema})
	require.NoError(t, err)
	require.NoError(t, borrowed.Close())
	require.NoError(t, p.Ping(ctx), "the host's pool stays open")
}

// Payloads and response bodies are bytea: any bytes come back unchanged.
// Text the database cannot hold (NUL, invalid UTF-8) in error messages is
// replaced rather than failing the batch.
func TestBytesRoundTrip(t *testing.T) {
	s := newStore(t, nil)
	h := createHook(t, s, "h")
	payload := make([]byte, 0, 512)
	for i := range 512 {
		payload = append(payload, byte(i))
	}
	res, err := s.Enqueue(ctx, []webhooks.EnqueueEvent{{EventID: "bin", EventType: "x.y", Payload: payload,
		CreatedAt: time.Now(), WebhookIDs: []int64{h}}})
	require.NoError(t, err)
	require.Len(t, res[0].Deliveries, 1)
	cl, err := s.Claim(ctx, webhooks.ClaimParams{Limit: 10, Lease: time.Minute})
	require.NoError(t, err)
	require.Len(t, cl, 1)
	require.Equal(t, payload, cl[0].Payload)

	body := string(payload)
	cres, err := s.Complete(ctx, []webhooks.Completion{{
		DeliveryID: cl[0].Delivery.ID, Token: cl[0].Token, Status: webhooks.StatusSuccess, Now: time.Now(),
		Attempt: webhooks.Attempt{StartedAt: time.Now(), ResponseStatus: 200, ResponseBody: body,
			ResponseHeaders: http.Header{"X-Nul": {"a\x00b"}, "X-Bad": {"\xff\xfe"}},
			Error:           "odd \x00 bytes \xff"},
	}})
	require.NoError(t, err)
	require.Empty(t, cres.Stale)
	d, err := s.GetDelivery(ctx, cl[0].Delivery.ID)
	require.NoError(t, err)
	require.Len(t, d.Attempts, 1)
	a := d.Attempts[0]
	require.Equal(t, body, a.ResponseBody, "response body byte for byte")
	require.Equal(t, "a\x00b", a.ResponseHeaders.Get("X-Nul"), "headers are JSON text: NUL survives")
	require.Equal(t, "odd \uFFFD bytes \uFFFD", a.Error)
	require.Equal(t, a.Error, d.ErrorMessage)
}

// The WithTx view runs every method in the host transaction; a multi-step
// Complete uses a savepoint, so the host can go on after it.
func TestWithTxView(t *testing.T) {
	s := newStore(t, nil)
	w := hookFor("h")
	w.AutoDisableAfterFailures = 1
	require.NoError(t, s.CreateWebhook(ctx, w, 0))

	_, err := s.WithTx(nil)
	require.ErrorIs(t, err, webhooks.ErrTxUnsupported)
	_, err = s.WithTx(fakeTx{})
	require.ErrorIs(t, err, webhooks.ErrTxUnsupported)

	run := func(commit bool) int64 {
		tx, err := s.Pool().Begin(ctx)
		require.NoError(t, err)
		defer func() { _ = tx.Rollback(ctx) }()
		v, err := s.WithTx(pgstore.WrapTx(tx))
		require.NoError(t, err)
		id := fmt.Sprintf("evt-%v-%d", commit, time.Now().UnixNano())
		res, err := v.Enqueue(ctx, []webhooks.EnqueueEvent{{EventID: id, EventType: "x.y", Payload: []byte(`{}`),
			CreatedAt: time.Now(), WebhookIDs: []int64{w.ID}}})
		require.NoError(t, err)
		require.Len(t, res[0].Deliveries, 1)
		cl, err := v.Claim(ctx, webhooks.ClaimParams{Limit: 10, Lease: time.Minute})
		require.NoError(t, err)
		require.Len(t, cl, 1)
		// A failure: two statements in a savepoint, disabling the webhook.
		cres, err := v.Complete(ctx, []webhooks.Completion{{DeliveryID: cl[0].Delivery.ID, Token: cl[0].Token,
			Status: webhooks.StatusFailed, Now: time.Now(), Attempt: webhooks.Attempt{StartedAt: time.Now(), Error: "HTTP 500"}}})
		require.NoError(t, err)
		require.Len(t, cres.Disabled, 1)
		// The host's transaction is still usable.
		var one int
		require.NoError(t, tx.QueryRow(ctx, `SELECT 1`).Scan(&one))
		if commit {
			require.NoError(t, tx.Commit(ctx))
		}
		return cl[0].Delivery.ID
	}
	rolledBack := run(false)
	_, err = s.GetDelivery(ctx, rolledBack)
	require.ErrorIs(t, err, webhooks.ErrNotFound)
	got, err := s.GetWebhook(ctx, w.ID)
	require.NoError(t, err)
	require.True(t, got.IsActive, "the disable rolled back too")

	committed := run(true)
	d, err := s.GetDelivery(ctx, committed)
	require.NoError(t, err)
	require.Equal(t, webhooks.StatusFailed, d.Status)
	got, err = s.GetWebhook(ctx, w.ID)
	require.NoError(t, err)
	require.False(t, got.IsActive)
	require.Equal(t, webhooks.AutoDisableReason(1), got.DisabledReason)
}

type fakeTx struct{}

func (fakeTx) Underlying() any { return "not a pgx.Tx" }

// Two claimers racing over one backlog both get full batches: rows the
// other holds are skipped and the claim runs again for the rest.
func TestClaimContention(t *testing.T) {
	s := newStore(t, nil)
	var hooks []int64
	for i := range 4 {
		hooks = append(hooks, createHook(t, s, fmt.Sprintf("h%d", i)))
	}
	var evs []webhooks.EnqueueEvent
	base := time.Now().Add(-time.Hour)
	for i := range 2000 {
		evs = append(evs, webhooks.EnqueueEvent{EventID: fmt.Sprint("e", i), EventType: "x.y", Payload: []byte(`{}`),
			CreatedAt: base.Add(time.Duration(i) * time.Millisecond), WebhookIDs: hooks})
	}
	_, err := s.Enqueue(ctx, evs)
	require.NoError(t, err)

	const claimers = 4
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		seen  = map[int64]bool{}
		short int
		calls int
	)
	for range claimers {
		wg.Go(func() {
			for {
				cl, err := s.Claim(ctx, webhooks.ClaimParams{Limit: 50, Lease: time.Hour, MaxPerWebhook: 20})
				if err != nil {
					t.Error(err)
					return
				}
				per := map[int64]int{}
				mu.Lock()
				calls++
				for _, c := range cl {
					if seen[c.Delivery.ID] {
						t.Errorf("delivery %d claimed twice", c.Delivery.ID)
					}
					seen[c.Delivery.ID] = true
					per[c.Delivery.WebhookID]++
				}
				if len(cl) < 50 && len(seen) < 8000 {
					short++
				}
				mu.Unlock()
				for h, n := range per {
					if n > 20 {
						t.Errorf("webhook %d: %d in one claim, cap 20", h, n)
					}
				}
				if len(cl) == 0 {
					return
				}
			}
		})
	}
	wg.Wait()
	require.Len(t, seen, 8000)
	t.Logf("%d claims, %d short of a full batch while work remained", calls, short)
}

// The window path and the per-webhook fallback agree; the fallback is
// exercised by a window smaller than a disabled webhook's backlog.
func TestClaimFallbackBehindDisabledBacklog(t *testing.T) {
	restore := pgstore.SetClaimWindow(1, 4)
	defer restore()
	restoreFew := pgstore.SetClaimFewHooks(0)
	defer restoreFew()
	s := newStore(t, nil)
	off := createHook(t, s, "off")
	on := createHook(t, s, "on")
	base := time.Now().Add(-time.Hour)
	var evs []webhooks.EnqueueEvent
	for i := range 30 {
		evs = append(evs, webhooks.EnqueueEvent{EventID: fmt.Sprint("off", i), EventType: "x.y", Payload: []byte(`{}`),
			CreatedAt: base.Add(time.Duration(i) * time.Millisecond), WebhookIDs: []int64{off}})
	}
	for i := range 3 {
		evs = append(evs, webhooks.EnqueueEvent{EventID: fmt.Sprint("on", i), EventType: "x.y", Payload: []byte(`{}`),
			CreatedAt: base.Add(time.Minute + time.Duration(i)*time.Millisecond), WebhookIDs: []int64{on}})
	}
	_, err := s.Enqueue(ctx, evs)
	require.NoError(t, err)
	require.NoError(t, s.SetWebhookActive(ctx, off, false, "paused", time.Now()))
	cl, err := s.Claim(ctx, webhooks.ClaimParams{Limit: 2, Lease: time.Minute})
	require.NoError(t, err)
	require.Len(t, cl, 2)
	for _, c := range cl {
		require.Equal(t, on, c.Delivery.WebhookID)
	}
}

// Enabling a webhook, retrying a delivery, releasing a claim and enqueuing
// notify the channel; enqueuing leased deliveries does not.
func TestNotifications(t *testing.T) {
	s := newStore(t, nil)
	conn, err := pgx.Connect(ctx, testURL(t))
	require.NoError(t, err)
	defer conn.Close(ctx)
	_, err = conn.Exec(ctx, `LISTEN "`+s.Channel()+`"`)
	require.NoError(t, err)
	expect := func(what string, want bool) {
		t.Helper()
		wctx, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
		defer cancel()
		n, err := conn.WaitForNotification(wctx)
		if want {
			require.NoError(t, err, what)
			require.Equal(t, s.Channel(), n.Channel)
			// Drain duplicates of the same transaction's burst.
			return
		}
		require.True(t, errors.Is(err, context.DeadlineExceeded), "%s: want no notification, got %v %v", what, n, err)
	}
	h := createHook(t, s, "h")
	expect("create", false)
	res, err := s.Enqueue(ctx, []webhooks.EnqueueEvent{{EventID: "leased", EventType: "x.y", Payload: []byte(`{}`),
		WebhookIDs: []int64{h}, Lease: time.Minute}})
	require.NoError(t, err)
	expect("enqueue leased", false)
	require.NoError(t, s.Release(ctx, []webhooks.ClaimRef{{DeliveryID: res[0].Deliveries[0].ID, Token: res[0].Deliveries[0].Token}}))
	expect("release", true)
	require.NoError(t, s.Release(ctx, []webhooks.ClaimRef{{DeliveryID: res[0].Deliveries[0].ID, Token: 99}}))
	expect("stale release", false)
	_, err = s.Enqueue(ctx, []webhooks.EnqueueEvent{{EventID: "due", EventType: "x.y", Payload: []byte(`{}`), WebhookIDs: []int64{h}}})
	require.NoError(t, err)
	expect("enqueue", true)
	_, err = s.Enqueue(ctx, []webhooks.EnqueueEvent{{EventID: "due", EventType: "x.y", Payload: []byte(`{}`), WebhookIDs: []int64{h}}})
	require.NoError(t, err)
	expect("duplicate enqueue", false)
	require.NoError(t, s.SetWebhookActive(ctx, h, false, "off", time.Now()))
	expect("disable", false)
	require.NoError(t, s.SetWebhookActive(ctx, h, true, "", time.Now()))
	expect("enable", true)
	cl, err := s.Claim(ctx, webhooks.ClaimParams{Limit: 10, Lease: time.Minute})
	require.NoError(t, err)
	require.Len(t, cl, 2)
	var cs []webhooks.Completion
	for _, c := range cl {
		cs = append(cs, webhooks.Completion{DeliveryID: c.Delivery.ID, Token: c.Token, Status: webhooks.StatusFailed, Now: time.Now()})
	}
	_, err = s.Complete(ctx, cs)
	require.NoError(t, err)
	expect("complete", false)
	require.NoError(t, s.RetryDelivery(ctx, cl[0].Delivery.ID, time.Now()))
	expect("retry", true)
}

// Completions of one call apply in order, as if made one at a time: the
// counter and the auto-disable follow the sequence, several webhooks mix in
// one batch, and a webhook is reported disabled once.
func TestCompleteBatchAppliesInOrder(t *testing.T) {
	s := newStore(t, nil)
	w := hookFor("w")
	w.AutoDisableAfterFailures = 3
	w.ConsecutiveFailures = 1
	require.NoError(t, s.CreateWebhook(ctx, w, 0))
	v := hookFor("v")
	v.ConsecutiveFailures = 2
	require.NoError(t, s.CreateWebhook(ctx, v, 0))
	var evs []webhooks.EnqueueEvent
	for i := range 6 {
		evs = append(evs, webhooks.EnqueueEvent{EventID: fmt.Sprint("e", i), EventType: "x.y", Payload: []byte(`{}`),
			CreatedAt: time.Now().Add(time.Duration(i-10) * time.Millisecond), WebhookIDs: []int64{w.ID, v.ID}})
	}
	_, err := s.Enqueue(ctx, evs)
	require.NoError(t, err)
	cl, err := s.Claim(ctx, webhooks.ClaimParams{Limit: 100, Lease: time.Minute})
	require.NoError(t, err)
	require.Len(t, cl, 12)
	var ofW, ofV []*webhooks.ClaimedDelivery
	for _, c := range cl {
		if c.Delivery.WebhookID == w.ID {
			ofW = append(ofW, c)
		} else {
			ofV = append(ofV, c)
		}
	}
	done := func(c *webhooks.ClaimedDelivery, st webhooks.DeliveryStatus) webhooks.Completion {
		return webhooks.Completion{DeliveryID: c.Delivery.ID, Token: c.Token, Status: st, Now: time.Now(),
			NextAttemptAt: time.Now().Add(time.Hour)}
	}
	fail, ok, retry := webhooks.StatusFailed, webhooks.StatusSuccess, webhooks.StatusRetrying
	// w: 1 before; fail → 2, retry → 3 (disabled), success → 0, fail → 1.
	// v: successes only → 0.
	res, err := s.Complete(ctx, []webhooks.Completion{
		done(ofW[0], fail), done(ofV[0], ok), done(ofW[1], retry), done(ofV[1], ok),
		done(ofW[2], ok), done(ofW[2], ok), done(ofW[3], fail),
	})
	require.NoError(t, err)
	require.Equal(t, []int64{ofW[2].Delivery.ID}, res.Stale, "the repeated claim")
	require.Equal(t, []webhooks.DisabledWebhook{{ID: w.ID, Reason: webhooks.AutoDisableReason(3)}}, res.Disabled)
	got, err := s.GetWebhook(ctx, w.ID)
	require.NoError(t, err)
	require.False(t, got.IsActive)
	require.Equal(t, 1, got.ConsecutiveFailures)
	require.Equal(t, webhooks.AutoDisableReason(3), got.DisabledReason)
	gotV, err := s.GetWebhook(ctx, v.ID)
	require.NoError(t, err)
	require.True(t, gotV.IsActive)
	require.Zero(t, gotV.ConsecutiveFailures)

	// Already inactive: failures still count, nothing is disabled again;
	// an explicit disable of an inactive webhook reports nothing either.
	c := done(ofW[4], fail)
	c.DisableWebhook = "gone"
	res, err = s.Complete(ctx, []webhooks.Completion{c, done(ofW[5], fail)})
	require.NoError(t, err)
	require.Empty(t, res.Disabled)
	got, err = s.GetWebhook(ctx, w.ID)
	require.NoError(t, err)
	require.Equal(t, 3, got.ConsecutiveFailures)
	require.Equal(t, webhooks.AutoDisableReason(3), got.DisabledReason, "the first reason stays")
}
