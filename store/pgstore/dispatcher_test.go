package pgstore_test

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/webhookkit/webhooks"
	"github.com/webhookkit/webhooks/store/pgstore"
	"github.com/webhookkit/webhooks/transport/sender"
)

var registry = webhooks.MustNewRegistry(
	webhooks.EventType{Name: "order.created", Category: "Orders"},
	webhooks.EventType{Name: "order.paid", Category: "Orders"},
)

// receiver is an endpoint that counts requests by delivery ID.
type receiver struct {
	*httptest.Server
	mu     sync.Mutex
	delay  time.Duration
	byID   map[int64]int
	last   map[int64]time.Time
	bodies [][]byte
}

func newReceiver(t testing.TB) *receiver {
	r := &receiver{byID: map[int64]int{}, last: map[int64]time.Time{}}
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		id, err := strconv.ParseInt(req.Header.Get("X-Webhook-Delivery"), 10, 64)
		if err != nil {
			http.Error(w, "no delivery ID", http.StatusBadRequest)
			return
		}
		r.mu.Lock()
		delay := r.delay
		r.mu.Unlock()
		if delay > 0 {
			time.Sleep(delay)
		}
		r.mu.Lock()
		r.byID[id]++
		r.last[id] = time.Now()
		r.bodies = append(r.bodies, body)
		r.mu.Unlock()
	}))
	t.Cleanup(r.Close)
	return r
}

func (r *receiver) setDelay(d time.Duration) {
	r.mu.Lock()
	r.delay = d
	r.mu.Unlock()
}

// distinct is how many deliveries arrived at least once.
func (r *receiver) distinct() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.byID)
}

func (r *receiver) counts() map[int64]int {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make(map[int64]int, len(r.byID))
	for k, v := range r.byID {
		out[k] = v
	}
	return out
}

func quietLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }

// localSender may reach the tests' receivers on 127.0.0.1, which the
// default sender's SSRF guard refuses.
func localSender() *sender.Sender { return sender.New(&sender.Options{AllowPrivateNetworks: true}) }

func newDispatcher(t testing.TB, cfg webhooks.Config) *webhooks.Dispatcher {
	t.Helper()
	cfg.Registry = registry
	if cfg.Logger == nil {
		cfg.Logger = quietLogger()
	}
	if cfg.Sender == nil {
		cfg.Sender = localSender()
		t.Cleanup(cfg.Sender.Close)
	}
	d, err := webhooks.New(cfg)
	require.NoError(t, err)
	return d
}

func startDispatcher(t testing.TB, d *webhooks.Dispatcher) {
	t.Helper()
	require.NoError(t, d.Start(t.Context()))
	t.Cleanup(func() {
		stopCtx, cancel := contextWithTimeout(10 * time.Second)
		defer cancel()
		_ = d.Stop(stopCtx)
	})
}

func addHook(t testing.TB, d *webhooks.Dispatcher, url string, in webhooks.WebhookInput) *webhooks.Webhook {
	t.Helper()
	in.Name, in.URL = &url, &url
	if in.Events == nil {
		in.Events = []string{"*"}
	}
	w, err := d.CreateWebhook(t.Context(), "", in)
	require.NoError(t, err)
	return w
}

// EmitTx joins the host's pgx transaction: a rollback leaves no event and
// no delivery; a commit delivers, woken by the NOTIFY sent at commit (the
// dispatcher polls only hourly and nobody calls Wake).
func TestEmitTxWithHostTransaction(t *testing.T) {
	s := newStore(t, nil)
	_, err := s.Pool().Exec(ctx, `CREATE TABLE "`+s.Schema()+`".orders (id bigint PRIMARY KEY, title text NOT NULL)`)
	require.NoError(t, err)
	rc := newReceiver(t)
	d := newDispatcher(t, webhooks.Config{Store: s, PollInterval: time.Hour})
	w := addHook(t, d, rc.URL, webhooks.WebhookInput{})
	startDispatcher(t, d)

	emitIn := func(id int, commit bool) {
		tx, err := s.Pool().Begin(ctx)
		require.NoError(t, err)
		defer func() { _ = tx.Rollback(ctx) }()
		_, err = tx.Exec(ctx, `INSERT INTO "`+s.Schema()+`".orders (id, title) VALUES ($1, 'Monthly')`, id)
		require.NoError(t, err)
		require.NoError(t, d.EmitTx(ctx, pgstore.WrapTx(tx), webhooks.Event{
			ID: "order-" + strconv.Itoa(id), Type: "order.created", Data: webhooks.EventData{ID: id, Type: "Order"},
		}))
		if commit {
			require.NoError(t, tx.Commit(ctx))
		}
	}
	emitIn(1, false)
	emitIn(2, true)
	waitFor(t, "the committed event", 10*time.Second, func() bool { return rc.distinct() == 1 })
	require.Contains(t, string(rc.bodies[0]), `"data":{"id":2,`)

	ds, err := d.Deliveries(ctx, "", webhooks.ListDeliveriesParams{WebhookID: w.ID})
	require.NoError(t, err)
	require.Len(t, ds, 1, "the rolled-back event left no delivery")
	require.Equal(t, "order-2", ds[0].EventID)
	require.Equal(t, 1, countRows(t, s.Schema(), "webhooks_events"), "the rolled-back event left no event row")
	require.Equal(t, 1, countRows(t, s.Schema(), "orders"), "the host's rows went the same way")

	// The rolled-back ID was never stored, so it can be emitted again.
	emitIn(1, true)
	waitFor(t, "the re-emitted event", 10*time.Second, func() bool { return rc.distinct() == 2 })
}

// A dispatcher that polls only hourly still delivers an event another
// dispatcher (another pool, as another process would have) emits, within a
// few seconds: LISTEN/NOTIFY wakes it.
func TestNotifyWakesIdleDispatcher(t *testing.T) {
	u := testURL(t)
	schema := freshSchema(t)
	idle, err := pgstore.Open(ctx, u, &pgstore.Options{Schema: schema})
	require.NoError(t, err)
	t.Cleanup(func() { _ = idle.Close() })
	other, err := pgstore.Open(ctx, u, &pgstore.Options{Schema: schema})
	require.NoError(t, err)
	t.Cleanup(func() { _ = other.Close() })

	rc := newReceiver(t)
	sender := newDispatcher(t, webhooks.Config{Store: other}) // never started: emits only
	addHook(t, sender, rc.URL, webhooks.WebhookInput{})
	d := newDispatcher(t, webhooks.Config{Store: idle, PollInterval: time.Hour})
	startDispatcher(t, d)
	// Let the first fetch (at Start) pass, so only a wake-up can find the
	// events below.
	time.Sleep(300 * time.Millisecond)

	for i := range 3 {
		before := time.Now()
		require.NoError(t, sender.Emit(ctx, webhooks.Event{Type: "order.paid", Data: webhooks.EventData{ID: i}}))
		waitFor(t, "the other process's event", 5*time.Second, func() bool { return rc.distinct() == i+1 })
		t.Logf("event %d delivered %s after Emit returned", i, time.Since(before).Round(time.Millisecond))
	}
}
