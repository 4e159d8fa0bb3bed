package redisstore_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/webhookkit/webhooks"
	"github.com/webhookkit/webhooks/store/redisstore"
	"github.com/webhookkit/webhooks/transport/sender"
)

// tally is a receiver that counts what it gets by delivery ID and by
// (event ID, webhook ID), and remembers when each delivery last arrived.
type tally struct {
	*httptest.Server
	delay time.Duration

	mu     sync.Mutex
	byID   map[string]int
	byPair map[string]int
	last   map[string]time.Time
	total  atomic.Int64
}

func newTally(t *testing.T, delay time.Duration) *tally {
	t.Helper()
	tl := &tally{delay: delay, byID: map[string]int{}, byPair: map[string]int{}, last: map[string]time.Time{}}
	tl.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		var env struct {
			EventID   string `json:"eventId"`
			WebhookID int64  `json:"webhookId"`
		}
		_ = json.Unmarshal(body, &env)
		id := r.Header.Get("X-Webhook-Delivery")
		tl.mu.Lock()
		tl.byID[id]++
		tl.byPair[fmt.Sprintf("%s/%d", env.EventID, env.WebhookID)]++
		tl.last[id] = time.Now()
		tl.mu.Unlock()
		tl.total.Add(1)
		if tl.delay > 0 {
			time.Sleep(tl.delay)
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(tl.Close)
	return tl
}

// distinct returns how many (event, webhook) pairs arrived.
func (tl *tally) distinct() int {
	tl.mu.Lock()
	defer tl.mu.Unlock()
	return len(tl.byPair)
}

// duplicates counts arrivals beyond the first, by delivery ID and by pair.
func (tl *tally) duplicates() (byID, byPair int) {
	tl.mu.Lock()
	defer tl.mu.Unlock()
	for _, n := range tl.byID {
		byID += n - 1
	}
	for _, n := range tl.byPair {
		byPair += n - 1
	}
	return byID, byPair
}

// trackingStore records the claims its dispatcher holds: claimed (or
// leased to it at enqueue, Emit's direct dispatch) and not yet completed or
// released by it.
type trackingStore struct {
	*redisstore.Store
	mu      sync.Mutex
	claims  int
	holding map[int64]*webhooks.ClaimedDelivery
}

func track(st *redisstore.Store) *trackingStore {
	return &trackingStore{Store: st, holding: map[int64]*webhooks.ClaimedDelivery{}}
}

func (s *trackingStore) Claim(ctx context.Context, p webhooks.ClaimParams) ([]*webhooks.ClaimedDelivery, error) {
	cl, err := s.Store.Claim(ctx, p)
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, c := range cl {
		s.claims++
		s.holding[c.Delivery.ID] = c
	}
	return cl, err
}

func (s *trackingStore) Enqueue(ctx context.Context, evs []webhooks.EnqueueEvent) ([]webhooks.EnqueueResult, error) {
	res, err := s.Store.Enqueue(ctx, evs)
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, r := range res {
		for _, d := range r.Deliveries {
			if d.Token != 0 {
				s.claims++
				s.holding[d.ID] = &webhooks.ClaimedDelivery{Delivery: webhooks.Delivery{ID: d.ID, WebhookID: d.WebhookID},
					Token: d.Token, LeaseUntil: evs[i].CreatedAt.Add(evs[i].Lease)}
			}
		}
	}
	return res, err
}

func (s *trackingStore) Complete(ctx context.Context, cs []webhooks.Completion) (webhooks.CompleteResult, error) {
	res, err := s.Store.Complete(ctx, cs)
	if err == nil {
		s.forget(func(yield func(int64, int64) bool) {
			for _, c := range cs {
				if !yield(c.DeliveryID, c.Token) {
					return
				}
			}
		})
	}
	return res, err
}

func (s *trackingStore) Release(ctx context.Context, refs []webhooks.ClaimRef) error {
	err := s.Store.Release(ctx, refs)
	if err == nil {
		s.forget(func(yield func(int64, int64) bool) {
			for _, r := range refs {
				if !yield(r.DeliveryID, r.Token) {
					return
				}
			}
		})
	}
	return err
}

func (s *trackingStore) forget(refs func(func(int64, int64) bool)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for id, tok := range refs {
		if c, ok := s.holding[id]; ok && c.Token == tok {
			delete(s.holding, id)
		}
	}
}

func (s *trackingStore) held() []*webhooks.ClaimedDelivery {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]*webhooks.ClaimedDelivery, 0, len(s.holding))
	for _, c := range s.holding {
		out = append(out, c)
	}
	return out
}

func (s *trackingStore) claimCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.claims
}

var orderCreated = webhooks.MustNewRegistry(webhooks.EventType{Name: "order.created"})

func newDispatcher(t *testing.T, st webhooks.Store, cfg webhooks.Config) *webhooks.Dispatcher {
	t.Helper()
	cfg.Registry = orderCreated
	cfg.Store = st
	cfg.Logger = slog.New(slog.DiscardHandler)
	if cfg.RateLimit == 0 {
		cfg.RateLimit = 1e6
	}
	if cfg.PollInterval == 0 {
		cfg.PollInterval = 100 * time.Millisecond
	}
	if cfg.Sender == nil {
		snd := sender.New(&sender.Options{AllowPrivateNetworks: true}) // the receivers are on loopback
		t.Cleanup(snd.Close)
		cfg.Sender = snd
	}
	d, err := webhooks.New(cfg)
	require.NoError(t, err)
	return d
}

func stopWithin(t *testing.T, d *webhooks.Dispatcher, within time.Duration) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), within)
	defer cancel()
	require.NoError(t, d.Stop(ctx))
}

// emitAll emits events evt-<prefix>-00000... through the dispatchers in
// turn, from 8 goroutines.
func emitAll(t *testing.T, n int, prefix string, ds ...*webhooks.Dispatcher) {
	t.Helper()
	var next atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for g := range 8 {
		wg.Go(func() {
			d := ds[g%len(ds)]
			for {
				i := next.Add(1) - 1
				if i >= int64(n) {
					return
				}
				err := d.Emit(t.Context(), webhooks.Event{ID: fmt.Sprintf("evt-%s-%05d", prefix, i), Type: "order.created",
					Data: webhooks.EventData{ID: i, Type: "Order", Attributes: map[string]any{"n": i}}})
				if err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
}

// TestSeveralDispatchers: two dispatchers on two Redis connections share
// one prefix; 5,000 events to two webhooks arrive exactly once each.
func TestSeveralDispatchers(t *testing.T) {
	const events, hooks = 5000, 2
	prefix := uniquePrefix()
	s1 := track(newStore(t, newClient(t), prefix))
	s2 := track(newStore(t, newClient(t), prefix))
	d1 := newDispatcher(t, s1, webhooks.Config{})
	d2 := newDispatcher(t, s2, webhooks.Config{})
	rc := newTally(t, 0)
	for i := range hooks {
		url := fmt.Sprintf("%s/%d", rc.URL, i)
		_, err := d1.CreateWebhook(t.Context(), "", webhooks.WebhookInput{Name: &url, URL: &url, Events: []string{"*"}})
		require.NoError(t, err)
	}
	require.NoError(t, d1.Start(t.Context()))
	require.NoError(t, d2.Start(t.Context()))

	began := time.Now()
	emitAll(t, events, "many", d1, d2)
	require.Eventually(t, func() bool { return rc.distinct() == events*hooks }, 60*time.Second, 10*time.Millisecond,
		"only %d of %d deliveries arrived", rc.distinct(), events*hooks)
	elapsed := time.Since(began)
	stopWithin(t, d1, 10*time.Second)
	stopWithin(t, d2, 10*time.Second)

	byID, byPair := rc.duplicates()
	t.Logf("%d deliveries in %s (%.0f/s); claims: dispatcher 1 %d, dispatcher 2 %d; duplicates %d",
		events*hooks, elapsed.Round(time.Millisecond), float64(events*hooks)/elapsed.Seconds(), s1.claimCount(), s2.claimCount(), byID)
	require.Zero(t, byID, "duplicate deliveries (by delivery ID)")
	require.Zero(t, byPair, "duplicate deliveries (by event and webhook)")
	require.Equal(t, int64(events*hooks), rc.total.Load())
	require.Positive(t, s1.claimCount(), "dispatcher 1 took part")
	require.Positive(t, s2.claimCount(), "dispatcher 2 took part")
	require.Equal(t, events*hooks, countStatus(t, s1.Store, webhooks.StatusSuccess), "every delivery recorded SUCCESS")
}

// countStatus counts a store's deliveries of one status.
func countStatus(t *testing.T, st webhooks.Store, status webhooks.DeliveryStatus) int {
	t.Helper()
	n := 0
	p := webhooks.ListDeliveriesParams{Status: status, Limit: redisstore.MaxListLimit}
	for {
		page, err := st.ListDeliveries(t.Context(), p)
		require.NoError(t, err)
		n += len(page)
		if len(page) < p.Limit {
			return n
		}
		p.Before = page[len(page)-1].ID
	}
}

// TestDispatcherStoppedAbruptly: one of two dispatchers stops mid-run with
// an already cancelled context; every delivery it still held is delivered
// by the other once its lease lapses, and nothing is lost.
func TestDispatcherStoppedAbruptly(t *testing.T) {
	const events, hooks = 800, 2
	const lease = 3 * time.Second
	prefix := uniquePrefix()
	s1 := track(newStore(t, newClient(t), prefix))
	s2 := track(newStore(t, newClient(t), prefix))
	cfg := webhooks.Config{Lease: lease, Limits: webhooks.Limits{MaxTimeout: 2 * time.Second}}
	d1 := newDispatcher(t, s1, cfg)
	d2 := newDispatcher(t, s2, cfg)
	rc := newTally(t, 20*time.Millisecond) // slow enough that the victim has requests in flight
	for i := range hooks {
		url := fmt.Sprintf("%s/%d", rc.URL, i)
		_, err := d1.CreateWebhook(t.Context(), "", webhooks.WebhookInput{Name: &url, URL: &url, Events: []string{"*"},
			Timeout: webhooks.Ptr(time.Second)})
		require.NoError(t, err)
	}
	require.NoError(t, d1.Start(t.Context()))
	require.NoError(t, d2.Start(t.Context()))
	emitAll(t, events, "abrupt", d1, d2)

	require.Eventually(t, func() bool { return rc.total.Load() >= events/2 && len(s2.held()) > 0 }, 30*time.Second, time.Millisecond)
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	stoppedAt := time.Now()
	require.ErrorIs(t, d2.Stop(cancelled), context.Canceled)
	held := s2.held()
	t.Logf("stopped dispatcher 2 at %d/%d arrivals, holding %d claims", rc.total.Load(), events*hooks, len(held))
	require.NotEmpty(t, held, "the stopped dispatcher held claims")

	// Requests cut off by the stop may have reached the receiver already:
	// wait until the store records every delivery as sent.
	require.Eventually(t, func() bool {
		return rc.distinct() == events*hooks && countStatus(t, s1.Store, webhooks.StatusSuccess) == events*hooks
	}, 30*time.Second, 20*time.Millisecond, "only %d of %d deliveries arrived", rc.distinct(), events*hooks)
	recovered := time.Since(stoppedAt)
	stopWithin(t, d1, 10*time.Second)

	rc.mu.Lock()
	for _, c := range held {
		id := fmt.Sprint(c.Delivery.ID)
		require.Positive(t, rc.byID[id], "held delivery %d arrived", c.Delivery.ID)
		last := rc.last[id]
		require.False(t, last.Before(c.LeaseUntil.Add(-50*time.Millisecond)),
			"held delivery %d was re-sent at %s, before its lease lapsed at %s", c.Delivery.ID, last, c.LeaseUntil)
	}
	rc.mu.Unlock()
	for _, c := range held {
		d, err := s1.GetDelivery(t.Context(), c.Delivery.ID)
		require.NoError(t, err)
		require.Equal(t, webhooks.StatusSuccess, d.Status, "held delivery %d", c.Delivery.ID)
	}
	byID, byPair := rc.duplicates()
	t.Logf("all %d deliveries arrived %s after the stop (lease %s); lost 0; duplicates %d (requests cut off in flight by the stop)",
		events*hooks, recovered.Round(time.Millisecond), lease, byID)
	require.Equal(t, byID, byPair)
	require.LessOrEqual(t, byID, len(held), "only deliveries the stopped dispatcher held can arrive twice")
	require.Equal(t, events*hooks, countStatus(t, s1.Store, webhooks.StatusSuccess))
}
