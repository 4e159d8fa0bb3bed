package webhooks_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/webhookkit/webhooks"
	"github.com/webhookkit/webhooks/store/memstore"
)

// fakeClock is an injectable clock tests move by hand.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func newFakeClock() *fakeClock {
	return &fakeClock{now: time.Date(2026, 2, 1, 12, 0, 0, 0, time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// receiver is a real HTTP endpoint that records what it gets and answers
// with whatever respond returns.
type receiver struct {
	*httptest.Server
	mu       sync.Mutex
	requests []received
	respond  func(n int, r *http.Request) int
}

type received struct {
	header http.Header
	body   []byte
	method string
}

func newReceiver(t *testing.T, respond func(n int, r *http.Request) int) *receiver {
	t.Helper()
	rc := &receiver{respond: respond}
	rc.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		rc.mu.Lock()
		rc.requests = append(rc.requests, received{header: r.Header.Clone(), body: body, method: r.Method})
		n := len(rc.requests)
		rc.mu.Unlock()
		status := http.StatusOK
		if rc.respond != nil {
			status = rc.respond(n, r)
		}
		w.WriteHeader(status)
		_, _ = io.WriteString(w, "ok")
	}))
	t.Cleanup(rc.Close)
	return rc
}

func (rc *receiver) count() int {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return len(rc.requests)
}

func (rc *receiver) get(i int) received {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return rc.requests[i]
}

// hangingServer is an endpoint that holds every request until Release
// (or until the request ends), counting arrivals. Tests release it before
// the dispatcher's Stop, which waits for in-flight requests.
type hangingServer struct {
	*httptest.Server
	arrived atomic.Int32
	release chan struct{}
	once    sync.Once
}

func newHangingServer(t *testing.T) *hangingServer {
	t.Helper()
	h := &hangingServer{release: make(chan struct{})}
	h.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.arrived.Add(1)
		select {
		case <-h.release:
		case <-r.Context().Done():
		}
	}))
	t.Cleanup(h.Close)
	t.Cleanup(h.Release)
	return h
}

// Release lets held and future requests finish; it may be called again.
func (h *hangingServer) Release() { h.once.Do(func() { close(h.release) }) }

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	require.Eventually(t, cond, 10*time.Second, 2*time.Millisecond, "waiting for %s", what)
}

func start(t *testing.T, d *webhooks.Dispatcher) {
	t.Helper()
	require.NoError(t, d.Start(t.Context()))
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		require.NoError(t, d.Stop(ctx))
	})
}

func hook(t *testing.T, d *webhooks.Dispatcher, client, url string, in webhooks.WebhookInput) *webhooks.Webhook {
	t.Helper()
	in.Name = webhooks.Ptr("test hook")
	in.URL = &url
	if in.Events == nil {
		in.Events = []string{"*"}
	}
	w, err := d.CreateWebhook(t.Context(), client, in)
	require.NoError(t, err)
	return w
}

func deliveriesOf(t *testing.T, d *webhooks.Dispatcher, client string, webhookID int64) []*webhooks.Delivery {
	t.Helper()
	ds, err := d.Deliveries(context.Background(), client, webhooks.ListDeliveriesParams{WebhookID: webhookID, Limit: 1000})
	require.NoError(t, err)
	return ds
}

func TestEmitDeliversSignedRequest(t *testing.T) {
	rc := newReceiver(t, nil)
	d := newTestDispatcher(t, webhooks.Config{Scheme: webhooks.HMACScheme{Prefix: "X-TGM-"}})
	w := hook(t, d, "", rc.URL+"/hooks", webhooks.WebhookInput{
		Events: []string{"inspection.*"}, CustomHeaders: map[string]string{"X-Team": "ops"},
		HTTPMethod: webhooks.Ptr("PATCH"), ContentType: webhooks.Ptr("application/vnd.tgm+json"),
	})
	start(t, d)
	require.NoError(t, d.Emit(t.Context(), webhooks.Event{
		ID: "evt-1", Type: "inspection.created",
		Data: webhooks.EventData{ID: 12345, Type: "Inspection", Attributes: map[string]any{"title": "Monthly"}},
	}))
	require.NoError(t, d.Emit(t.Context(), webhooks.Event{Type: "alert.created"})) // not subscribed
	waitFor(t, "delivery", func() bool { return rc.count() == 1 })

	got := rc.get(0)
	require.Equal(t, "PATCH", got.method)
	require.Equal(t, "application/vnd.tgm+json", got.header.Get("Content-Type"))
	require.Equal(t, "ops", got.header.Get("X-Team"))
	require.Equal(t, "inspection.created", got.header.Get("X-TGM-Event"))
	require.NotEmpty(t, got.header.Get("X-TGM-Delivery"))
	require.NotEmpty(t, got.header.Get("X-TGM-Timestamp"))
	require.NoError(t, webhooks.NewVerifier(w.Secret, webhooks.HMACScheme{Prefix: "X-TGM-"}).Verify(got.header, got.body))
	var body map[string]any
	require.NoError(t, json.Unmarshal(got.body, &body))
	require.Equal(t, "evt-1", body["eventId"])
	require.Equal(t, float64(w.ID), body["webhookId"])
	require.Equal(t, map[string]any{"id": float64(12345), "type": "Inspection", "attributes": map[string]any{"title": "Monthly"}, "previous": nil}, body["data"])

	waitFor(t, "SUCCESS recorded", func() bool {
		ds := deliveriesOf(t, d, "", w.ID)
		return len(ds) == 1 && ds[0].Status == webhooks.StatusSuccess
	})
	det, err := d.Delivery(t.Context(), "", deliveriesOf(t, d, "", w.ID)[0].ID)
	require.NoError(t, err)
	require.Len(t, det.Attempts, 1)
	require.Equal(t, 200, det.Attempts[0].ResponseStatus)
	require.Equal(t, "ok", det.Attempts[0].ResponseBody)
	require.Equal(t, "ops", det.Attempts[0].RequestHeaders.Get("X-Team"))
}

func TestEmitIsIdempotentAndValidates(t *testing.T) {
	rc := newReceiver(t, nil)
	d := newTestDispatcher(t, webhooks.Config{})
	w := hook(t, d, "", rc.URL, webhooks.WebhookInput{})
	ctx := t.Context()
	ev := webhooks.Event{ID: "same", Type: "unit.created"}
	require.NoError(t, d.Emit(ctx, ev))
	require.NoError(t, d.Emit(ctx, ev))
	require.Len(t, deliveriesOf(t, d, "", w.ID), 1, "a repeated event ID stores nothing new")

	err := d.Emit(ctx, webhooks.Event{Type: "unit.exploded"})
	require.ErrorIs(t, err, webhooks.ErrUnknownEventType)
	require.Contains(t, err.Error(), `"unit.exploded"`)
	require.ErrorIs(t, d.Emit(ctx, webhooks.Event{Type: "NotAType"}), webhooks.ErrInvalid)
	require.ErrorIs(t, d.Emit(ctx, webhooks.Event{ID: "has space", Type: "unit.created"}), webhooks.ErrInvalid)
	require.ErrorIs(t, d.Emit(ctx, webhooks.Event{ID: "x\r\ny", Type: "unit.created"}), webhooks.ErrInvalid)
	require.ErrorIs(t, d.Emit(ctx, webhooks.Event{Type: "unit.created", Time: time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)}), webhooks.ErrInvalid)
	require.ErrorIs(t, d.Emit(webhooks.WithClient(ctx, "nobody"), webhooks.Event{Type: "unit.created"}), webhooks.ErrUnknownClient)
	require.Error(t, d.Emit(ctx, webhooks.Event{Type: "unit.created", Data: webhooks.EventData{Attributes: func() {}}}))
	require.Len(t, deliveriesOf(t, d, "", w.ID), 1)
}

func TestOversizePayloadTruncatedOrRejected(t *testing.T) {
	rc := newReceiver(t, nil)
	big := map[string]any{"blob": strings.Repeat("x", 2<<20)}
	ev := webhooks.Event{ID: "big", Type: "unit.created", Data: webhooks.EventData{ID: 7, Type: "Unit", Attributes: big},
		Metadata: map[string]any{"source": "import"}}

	d := newTestDispatcher(t, webhooks.Config{})
	w := hook(t, d, "", rc.URL, webhooks.WebhookInput{})
	start(t, d)
	require.NoError(t, d.Emit(t.Context(), ev))
	waitFor(t, "truncated delivery", func() bool { return rc.count() == 1 })
	require.JSONEq(t, `{"id":7,"type":"Unit","attributes":null,"previous":null}`, string(jsonField(t, rc.get(0).body, "data")))
	require.JSONEq(t, `{"truncated":true}`, string(jsonField(t, rc.get(0).body, "metadata")))
	require.NoError(t, webhooks.NewVerifier(w.Secret, nil).Verify(rc.get(0).header, rc.get(0).body))

	strict := newTestDispatcher(t, webhooks.Config{RejectOversizePayloads: true, Limits: webhooks.Limits{MaxPayloadBytes: 1000}})
	w2 := hook(t, strict, "", rc.URL, webhooks.WebhookInput{})
	ev.Data.Attributes = map[string]any{"blob": strings.Repeat("x", 1000)}
	require.ErrorIs(t, strict.Emit(t.Context(), ev), webhooks.ErrPayloadTooLarge)
	require.Empty(t, deliveriesOf(t, strict, "", w2.ID))
}

func jsonField(t *testing.T, body []byte, key string) json.RawMessage {
	t.Helper()
	var m map[string]json.RawMessage
	require.NoError(t, json.Unmarshal(body, &m))
	return m[key]
}

// Retries follow the schedule on the injected clock, every attempt is
// recorded, and after maxRetries retries the delivery is FAILED.
func TestRetryScheduleThenFailed(t *testing.T) {
	rc := newReceiver(t, func(int, *http.Request) int { return http.StatusInternalServerError })
	clock := newFakeClock()
	d := newTestDispatcher(t, webhooks.Config{Now: clock.Now, PollInterval: 2 * time.Millisecond,
		Retry: webhooks.RetryPolicy{Jitter: -1}})
	w := hook(t, d, "", rc.URL, webhooks.WebhookInput{})
	start(t, d)
	require.NoError(t, d.Emit(t.Context(), webhooks.Event{Type: "unit.created"}))

	waitFor(t, "first attempt", func() bool { return rc.count() == 1 })
	for i, delay := range []time.Duration{time.Minute, 5 * time.Minute, 15 * time.Minute} {
		waitFor(t, "retry scheduled", func() bool {
			ds := deliveriesOf(t, d, "", w.ID)
			return ds[0].AttemptCount == i+1 && ds[0].Status == webhooks.StatusRetrying
		})
		ds := deliveriesOf(t, d, "", w.ID)
		require.Equal(t, clock.Now().Add(delay), ds[0].NextAttemptAt.UTC())
		clock.Advance(delay - time.Second)
		d.Wake()
		clock.Advance(time.Second)
		waitFor(t, "retry sent", func() bool { return rc.count() == i+2 })
	}
	waitFor(t, "FAILED", func() bool { return deliveriesOf(t, d, "", w.ID)[0].Status == webhooks.StatusFailed })
	det, err := d.Delivery(t.Context(), "", deliveriesOf(t, d, "", w.ID)[0].ID)
	require.NoError(t, err)
	require.Len(t, det.Attempts, 4)
	for i, a := range det.Attempts {
		require.Equal(t, i+1, a.Number)
		require.Equal(t, 500, a.ResponseStatus)
		require.Equal(t, "HTTP 500 Internal Server Error", a.Error)
	}
	clock.Advance(24 * time.Hour)
	d.Wake()
	require.Never(t, func() bool { return rc.count() > 4 }, 100*time.Millisecond, 5*time.Millisecond, "FAILED is final")

	// A manual retry sends once more.
	_, err = d.RetryDelivery(t.Context(), "", det.ID)
	require.NoError(t, err)
	waitFor(t, "manual retry", func() bool { return rc.count() == 5 })
	waitFor(t, "FAILED again", func() bool { return deliveriesOf(t, d, "", w.ID)[0].Status == webhooks.StatusFailed })
	_, err = d.RetryDelivery(t.Context(), "", 9999)
	require.ErrorIs(t, err, webhooks.ErrNotFound)
}

func TestRecoversOnRetryAndHonoursRetryAfter(t *testing.T) {
	rc := newReceiver(t, func(n int, r *http.Request) int {
		if n == 1 {
			return http.StatusTooManyRequests
		}
		return http.StatusNoContent
	})
	clock := newFakeClock()
	d := newTestDispatcher(t, webhooks.Config{Now: clock.Now, PollInterval: 2 * time.Millisecond, Retry: webhooks.RetryPolicy{Jitter: -1}})
	w := hook(t, d, "", rc.URL, webhooks.WebhookInput{})
	rc.Config.Handler = withHeader(rc.Config.Handler, "Retry-After", "600")
	start(t, d)
	require.NoError(t, d.Emit(t.Context(), webhooks.Event{Type: "unit.created"}))
	waitFor(t, "retry scheduled", func() bool { return deliveriesOf(t, d, "", w.ID)[0].Status == webhooks.StatusRetrying })
	require.Equal(t, clock.Now().Add(10*time.Minute), deliveriesOf(t, d, "", w.ID)[0].NextAttemptAt.UTC(), "Retry-After 600 beats the 1 min schedule")
	clock.Advance(10 * time.Minute)
	d.Wake()
	waitFor(t, "SUCCESS", func() bool { return deliveriesOf(t, d, "", w.ID)[0].Status == webhooks.StatusSuccess })
	got, err := d.GetWebhook(t.Context(), "", w.ID)
	require.NoError(t, err)
	require.Zero(t, got.ConsecutiveFailures, "a success resets the counter")
}

func withHeader(h http.Handler, k, v string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set(k, v)
		h.ServeHTTP(w, r)
	})
}

func TestAutoDisableAndGone(t *testing.T) {
	rc := newReceiver(t, func(int, *http.Request) int { return http.StatusBadGateway })
	gone := newReceiver(t, func(int, *http.Request) int { return http.StatusGone })
	d := newTestDispatcher(t, webhooks.Config{})
	w := hook(t, d, "", rc.URL, webhooks.WebhookInput{MaxRetries: webhooks.Ptr(0), AutoDisableAfterFailures: webhooks.Ptr(3)})
	g := hook(t, d, "", gone.URL, webhooks.WebhookInput{})
	for range 3 {
		require.NoError(t, d.Emit(t.Context(), webhooks.Event{Type: "unit.created"}))
	}
	start(t, d)
	waitFor(t, "auto-disable", func() bool {
		got, err := d.GetWebhook(t.Context(), "", w.ID)
		return err == nil && !got.IsActive
	})
	got, _ := d.GetWebhook(t.Context(), "", w.ID)
	require.Equal(t, webhooks.AutoDisableReason(3), got.DisabledReason)
	waitFor(t, "410 disables", func() bool {
		got, err := d.GetWebhook(t.Context(), "", g.ID)
		return err == nil && !got.IsActive && got.DisabledReason == webhooks.GoneReason
	})
	// Deliveries sent before the 410 was recorded are FAILED after one
	// attempt (never retried); the rest are held, unsent.
	waitFor(t, "410 outcomes settled", func() bool {
		failed := 0
		for _, del := range deliveriesOf(t, d, "", g.ID) {
			switch {
			case del.Status == webhooks.StatusFailed && del.AttemptCount == 1:
				failed++
			case del.Status == webhooks.StatusPending && del.AttemptCount == 0:
			default:
				return false
			}
		}
		return failed >= 1 && failed == gone.count()
	})

	// A disabled webhook gets nothing new; enabling resets the counter.
	require.NoError(t, d.Emit(t.Context(), webhooks.Event{Type: "unit.created"}))
	require.Len(t, deliveriesOf(t, d, "", w.ID), 3)
	require.Never(t, func() bool { return rc.count() > 3 }, 100*time.Millisecond, 5*time.Millisecond)
	en, err := d.EnableWebhook(t.Context(), "", w.ID)
	require.NoError(t, err)
	require.True(t, en.IsActive)
	require.Zero(t, en.ConsecutiveFailures)
	require.Empty(t, en.DisabledReason)
}

// One endpoint that never answers must not slow the others.
func TestHangingEndpointDoesNotStarveOthers(t *testing.T) {
	hang := newHangingServer(t)
	defer hang.Release() // before the dispatcher's Stop, which drains in-flight requests
	fast := newReceiver(t, nil)
	d := newTestDispatcher(t, webhooks.Config{Workers: 8, MaxInFlightPerWebhook: 2})
	hook(t, d, "", hang.URL, webhooks.WebhookInput{Timeout: webhooks.Ptr(time.Minute)})
	hook(t, d, "", fast.URL, webhooks.WebhookInput{})
	start(t, d)
	for range 50 {
		require.NoError(t, d.Emit(t.Context(), webhooks.Event{Type: "unit.created"}))
	}
	waitFor(t, "the healthy endpoint gets all 50", func() bool { return fast.count() == 50 })
	require.LessOrEqual(t, hang.arrived.Load(), int32(2), "the hanging endpoint holds at most its in-flight cap")
}

// Several hanging endpoints with backlogs must not use up the claim budget:
// their excess claims are given back, and the healthy endpoint gets through.
func TestBacklogsOfHangingEndpointsDoNotStarveOthers(t *testing.T) {
	hang := newHangingServer(t)
	defer hang.Release()
	fast := newReceiver(t, nil)
	d := newTestDispatcher(t, webhooks.Config{Workers: 8, MaxInFlightPerWebhook: 2, ClaimBatch: 10})
	for i := range 3 {
		hook(t, d, "", fmt.Sprintf("%s/%d", hang.URL, i), webhooks.WebhookInput{Timeout: webhooks.Ptr(time.Minute), Events: []string{"unit.created"}})
	}
	for range 40 {
		require.NoError(t, d.Emit(t.Context(), webhooks.Event{Type: "unit.created"}))
	}
	hook(t, d, "", fast.URL, webhooks.WebhookInput{Events: []string{"alert.created"}})
	for range 40 {
		require.NoError(t, d.Emit(t.Context(), webhooks.Event{Type: "alert.created"}))
	}
	start(t, d)
	waitFor(t, "the healthy endpoint gets all 40", func() bool { return fast.count() == 40 })
}

func TestRateLimitPerWebhook(t *testing.T) {
	rc := newReceiver(t, nil)
	d := newTestDispatcher(t, webhooks.Config{RateLimit: 20})
	hook(t, d, "", rc.URL, webhooks.WebhookInput{})
	for range 30 {
		require.NoError(t, d.Emit(t.Context(), webhooks.Event{Type: "unit.created"}))
	}
	began := time.Now()
	start(t, d)
	waitFor(t, "all 30", func() bool { return rc.count() == 30 })
	// A burst of 20, then 10 more at 20/s: at least half a second.
	require.GreaterOrEqual(t, time.Since(began), 450*time.Millisecond)
}

func TestBadReceiversAreRecordedFailures(t *testing.T) {
	reset := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		conn, _, err := w.(http.Hijacker).Hijack()
		if err == nil {
			conn.Close()
		}
	}))
	t.Cleanup(reset.Close)
	garbage := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		conn, buf, err := w.(http.Hijacker).Hijack()
		if err == nil {
			_, _ = buf.WriteString("this is not HTTP\r\n\r\n")
			_ = buf.Flush()
			conn.Close()
		}
	}))
	t.Cleanup(garbage.Close)
	closed := httptest.NewServer(http.NotFoundHandler())
	closedURL := closed.URL
	closed.Close()

	d := newTestDispatcher(t, webhooks.Config{})
	var ids []int64
	for _, u := range []string{reset.URL, garbage.URL, closedURL} {
		ids = append(ids, hook(t, d, "", u, webhooks.WebhookInput{}).ID)
	}
	start(t, d)
	require.NoError(t, d.Emit(t.Context(), webhooks.Event{Type: "unit.created"}))
	for _, id := range ids {
		waitFor(t, "failure recorded", func() bool {
			ds := deliveriesOf(t, d, "", id)
			return len(ds) == 1 && ds[0].Status == webhooks.StatusRetrying
		})
		det, err := d.Delivery(t.Context(), "", deliveriesOf(t, d, "", id)[0].ID)
		require.NoError(t, err)
		require.Len(t, det.Attempts, 1)
		require.Zero(t, det.Attempts[0].ResponseStatus)
		require.NotEmpty(t, det.Attempts[0].Error)
	}
}

func TestTenantsAndCompanies(t *testing.T) {
	rc := newReceiver(t, nil)
	var res webhooks.StaticResolver
	res.Add(webhooks.Client{ID: "acme", Name: "Acme Corporation"}, memstore.New())
	res.Add(webhooks.Client{ID: "globex", Name: "Globex"}, memstore.New())
	d := newTestDispatcher(t, webhooks.Config{Stores: &res})
	acme1 := hook(t, d, "acme", rc.URL+"/acme1", webhooks.WebhookInput{CompanyID: webhooks.Ptr[int64](1)})
	acme2 := hook(t, d, "acme", rc.URL+"/acme2", webhooks.WebhookInput{CompanyID: webhooks.Ptr[int64](2)})
	acmeAll := hook(t, d, "acme", rc.URL+"/acme-all", webhooks.WebhookInput{})
	globex := hook(t, d, "globex", rc.URL+"/globex", webhooks.WebhookInput{})
	start(t, d)

	ctx := webhooks.WithClient(t.Context(), "acme")
	require.NoError(t, d.Emit(ctx, webhooks.Event{Type: "unit.created", Company: &webhooks.Company{ID: 1, Name: "Acme HQ"}}))
	waitFor(t, "two deliveries", func() bool { return rc.count() == 2 })
	paths := map[string]received{}
	for i := range 2 {
		r := rc.get(i)
		var b map[string]any
		require.NoError(t, json.Unmarshal(r.body, &b))
		paths[strings.TrimPrefix(b["company"].(map[string]any)["name"].(string), "")+"|"+b["client"].(map[string]any)["name"].(string)] = r
	}
	require.Contains(t, paths, "Acme HQ|Acme Corporation")
	require.Len(t, deliveriesOf(t, d, "acme", acme1.ID), 1)
	require.Len(t, deliveriesOf(t, d, "acme", acmeAll.ID), 1)
	require.Empty(t, deliveriesOf(t, d, "acme", acme2.ID))
	require.Empty(t, deliveriesOf(t, d, "globex", globex.ID))
	_, err := d.GetWebhook(t.Context(), "globex", acme1.ID+100)
	require.ErrorIs(t, err, webhooks.ErrNotFound)
}

// One client's backlog must not starve another.
func TestFairAcrossClients(t *testing.T) {
	var mu sync.Mutex
	var order []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		order = append(order, r.URL.Path)
		mu.Unlock()
	}))
	t.Cleanup(srv.Close)
	var res webhooks.StaticResolver
	res.Add(webhooks.Client{ID: "big"}, memstore.New())
	res.Add(webhooks.Client{ID: "small"}, memstore.New())
	d := newTestDispatcher(t, webhooks.Config{Stores: &res, Workers: 4, ClaimBatch: 4, RateLimit: 10000})
	hook(t, d, "big", srv.URL+"/big", webhooks.WebhookInput{})
	hook(t, d, "small", srv.URL+"/small", webhooks.WebhookInput{})
	for range 400 {
		require.NoError(t, d.Emit(webhooks.WithClient(t.Context(), "big"), webhooks.Event{Type: "unit.created"}))
	}
	for range 5 {
		require.NoError(t, d.Emit(webhooks.WithClient(t.Context(), "small"), webhooks.Event{Type: "unit.created"}))
	}
	start(t, d)
	waitFor(t, "all sent", func() bool { mu.Lock(); defer mu.Unlock(); return len(order) == 405 })
	last := 0
	for i, p := range order {
		if p == "/small" {
			last = i
		}
	}
	require.Less(t, last, 100, "the small client's 5 deliveries go out early, not after the big backlog")
}

func TestSendTestRecordsPing(t *testing.T) {
	rc := newReceiver(t, nil)
	down := newReceiver(t, func(int, *http.Request) int { return http.StatusServiceUnavailable })
	d := newTestDispatcher(t, webhooks.Config{})
	w := hook(t, d, "", rc.URL, webhooks.WebhookInput{Events: []string{"unit.created"}})
	del, err := d.SendTest(t.Context(), "", w.ID) // works without Start
	require.NoError(t, err)
	require.Equal(t, webhooks.StatusSuccess, del.Status)
	require.Equal(t, webhooks.PingEventType, del.EventType)
	require.Len(t, del.Attempts, 1)
	require.Equal(t, 1, rc.count())
	body := rc.get(0).body
	require.JSONEq(t, `{"type":"WebhookTest","attributes":{"message":"This is a test webhook delivery"}}`, string(jsonField(t, body, "data")))
	require.Regexp(t, `^"ping-\d+"$`, string(jsonField(t, body, "eventId")))
	require.NoError(t, webhooks.NewVerifier(w.Secret, nil).Verify(rc.get(0).header, body))

	w2 := hook(t, d, "", down.URL, webhooks.WebhookInput{})
	del, err = d.SendTest(t.Context(), "", w2.ID)
	require.NoError(t, err)
	require.Equal(t, webhooks.StatusFailed, del.Status, "a ping is not retried automatically")
	require.Equal(t, 503, del.ResponseStatus)
	del, err = d.SendTest(t.Context(), "", w2.ID)
	require.NoError(t, err)
	require.Len(t, deliveriesOf(t, d, "", w2.ID), 2, "two pings in a row are two deliveries")
	_, err = d.SendTest(t.Context(), "", 12345)
	require.ErrorIs(t, err, webhooks.ErrNotFound)
}

// Pings sent in the same millisecond share the seed's "ping-<ms>" ID; every
// one of them must still be sent and recorded on its own. The clock stands
// still, so all 50 collide.
func TestConcurrentPingsAllSucceed(t *testing.T) {
	rc := newReceiver(t, nil)
	clk := newFakeClock()
	d := newTestDispatcher(t, webhooks.Config{Now: clk.Now})
	w := hook(t, d, "", rc.URL, webhooks.WebhookInput{})
	const n = 50
	dels := make([]*webhooks.Delivery, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { dels[i], errs[i] = d.SendTest(t.Context(), "", w.ID) })
	}
	wg.Wait()
	ids := map[int64]bool{}
	for i := range n {
		require.NoError(t, errs[i], "ping %d", i)
		require.Equal(t, webhooks.StatusSuccess, dels[i].Status)
		ids[dels[i].ID] = true
	}
	require.Len(t, ids, n, "each ping has its own delivery")
	require.Len(t, deliveriesOf(t, d, "", w.ID), n)

	require.Equal(t, n, rc.count())
	plain := fmt.Sprintf("ping-%d", clk.Now().UnixMilli())
	eventIDs := map[string]bool{}
	for i := range n {
		var id string
		require.NoError(t, json.Unmarshal(jsonField(t, rc.get(i).body, "eventId"), &id))
		if id != plain {
			require.Regexp(t, `^`+plain+`-[0-9a-f]{16}$`, id)
		}
		eventIDs[id] = true
	}
	require.Len(t, eventIDs, n, "each ping has its own event ID")
	require.True(t, eventIDs[plain], "one ping keeps the seed's ID")
}

// dispatcherGoroutines reports whether any goroutine runs dispatcher code.
func dispatcherGoroutines() bool {
	buf := make([]byte, 1<<20)
	buf = buf[:runtime.Stack(buf, true)]
	return strings.Contains(string(buf), "webhooks.(*Dispatcher)") || strings.Contains(string(buf), "webhooks.(*emitBatcher)")
}

func TestStopDrainsAndLeavesNoGoroutines(t *testing.T) {
	rc := newReceiver(t, nil)
	d := newTestDispatcher(t, webhooks.Config{})
	w := hook(t, d, "", rc.URL, webhooks.WebhookInput{})
	require.NoError(t, d.Start(t.Context()))
	require.Error(t, d.Start(t.Context()), "a dispatcher starts once")
	for range 20 {
		require.NoError(t, d.Emit(t.Context(), webhooks.Event{Type: "unit.created"}))
	}
	waitFor(t, "some sent", func() bool { return rc.count() > 0 })
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	require.NoError(t, d.Stop(ctx))
	require.NoError(t, d.Stop(ctx), "Stop twice is harmless")
	for _, del := range deliveriesOf(t, d, "", w.ID) {
		if del.AttemptCount > 0 {
			require.Equal(t, webhooks.StatusSuccess, del.Status, "every attempt made was recorded")
		}
	}
	waitFor(t, "the dispatcher's goroutines gone", func() bool { return !dispatcherGoroutines() })
}

func TestStopReturnsCtxErrWhenOutOfTime(t *testing.T) {
	hang := newHangingServer(t)
	d := newTestDispatcher(t, webhooks.Config{})
	w := hook(t, d, "", hang.URL, webhooks.WebhookInput{})
	require.NoError(t, d.Start(t.Context()))
	require.NoError(t, d.Emit(t.Context(), webhooks.Event{Type: "unit.created"}))
	waitFor(t, "request in flight", func() bool { return hang.arrived.Load() == 1 })
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	require.ErrorIs(t, d.Stop(ctx), context.DeadlineExceeded)
	ds := deliveriesOf(t, d, "", w.ID)
	require.Equal(t, webhooks.StatusPending, ds[0].Status, "an interrupted send is not a failed attempt")
	require.Zero(t, ds[0].AttemptCount)
}

// The limiter outlives a lane's queue: a second burst right after the
// first waits for tokens instead of getting a fresh bucket.
func TestRateLimitHoldsAcrossBursts(t *testing.T) {
	rc := newReceiver(t, nil)
	d := newTestDispatcher(t, webhooks.Config{RateLimit: 20})
	hook(t, d, "", rc.URL, webhooks.WebhookInput{})
	start(t, d)
	for range 20 {
		require.NoError(t, d.Emit(t.Context(), webhooks.Event{Type: "unit.created"}))
	}
	waitFor(t, "the first burst", func() bool { return rc.count() == 20 })
	began := time.Now()
	for range 10 {
		require.NoError(t, d.Emit(t.Context(), webhooks.Event{Type: "unit.created"}))
	}
	waitFor(t, "the second burst", func() bool { return rc.count() == 30 })
	require.GreaterOrEqual(t, time.Since(began), 400*time.Millisecond, "10 more at 20/s after the bucket emptied")
}

// Stop out of time gives back what was queued but not started, so another
// process can send it at once rather than after the lease.
func TestStopReleasesQueuedDeliveries(t *testing.T) {
	hang := newHangingServer(t)
	defer hang.Release()
	store := memstore.New()
	d := newTestDispatcher(t, webhooks.Config{Store: store, MaxInFlightPerWebhook: 1})
	hook(t, d, "", hang.URL, webhooks.WebhookInput{})
	for range 3 {
		require.NoError(t, d.Emit(t.Context(), webhooks.Event{Type: "unit.created"}))
	}
	require.NoError(t, d.Start(t.Context()))
	waitFor(t, "one request in flight", func() bool { return hang.arrived.Load() == 1 })
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	require.ErrorIs(t, d.Stop(ctx), context.DeadlineExceeded)
	free, err := store.Claim(t.Context(), webhooks.ClaimParams{Now: time.Now(), Limit: 10, Lease: time.Minute})
	require.NoError(t, err)
	require.Len(t, free, 2, "the two queued deliveries were given back; the interrupted one waits for its lease")
}

func TestDefaultTimeoutFitsLimits(t *testing.T) {
	d := newTestDispatcher(t, webhooks.Config{Limits: webhooks.Limits{MaxTimeout: 10 * time.Second}, Lease: 20 * time.Second})
	w := hook(t, d, "", "https://example.com", webhooks.WebhookInput{})
	require.Equal(t, 10*time.Second, w.Timeout)
}

// listeningStore is a memstore whose Listen wakes the dispatcher when the
// test says so, as a Postgres or Redis notification would.
type listeningStore struct {
	*memstore.Store
	notify  chan struct{}
	started chan struct{}
}

func (s *listeningStore) Listen(ctx context.Context, wake func()) error {
	close(s.started)
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-s.notify:
			wake()
		}
	}
}

// A store's notification wakes an idle dispatcher long before its poll.
func TestListenerWakesDispatcher(t *testing.T) {
	st := &listeningStore{Store: memstore.New(), notify: make(chan struct{}), started: make(chan struct{})}
	rc := newReceiver(t, nil)
	d := newTestDispatcher(t, webhooks.Config{Store: st, PollInterval: time.Hour})
	w := hook(t, d, "", rc.URL, webhooks.WebhookInput{})
	start(t, d)
	<-st.started
	// Another process's emit: written straight to the store, no local Wake.
	_, err := st.Enqueue(t.Context(), []webhooks.EnqueueEvent{{EventID: "remote", EventType: "unit.created",
		Payload:   []byte(`{"id":"remote","type":"unit.created","time":"2026-02-01T12:00:00Z","client":{"id":"","name":""},"data":{}}`),
		CreatedAt: time.Now().Add(300 * time.Millisecond), WebhookIDs: []int64{w.ID}}})
	require.NoError(t, err)
	// Due in 300 ms; with an hourly poll nothing picks it up unwoken.
	require.Never(t, func() bool { return rc.count() > 0 }, 500*time.Millisecond, 10*time.Millisecond)
	st.notify <- struct{}{}
	waitFor(t, "the remote event delivered", func() bool { return rc.count() == 1 })
}
