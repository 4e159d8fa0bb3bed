package webhooks_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/webhookkit/webhooks"
	"github.com/webhookkit/webhooks/store/memstore"
)

// claimCounter counts the deliveries a dispatcher takes through Claim.
type claimCounter struct {
	*memstore.Store
	claimed atomic.Int64
	mu      sync.Mutex
	byHook  map[int64]int
}

func (s *claimCounter) Claim(ctx context.Context, p webhooks.ClaimParams) ([]*webhooks.ClaimedDelivery, error) {
	cl, err := s.Store.Claim(ctx, p)
	s.claimed.Add(int64(len(cl)))
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.byHook == nil {
		s.byHook = map[int64]int{}
	}
	for _, c := range cl {
		s.byHook[c.Webhook.ID]++
	}
	return cl, err
}

func (s *claimCounter) claimedFor(webhookID int64) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.byHook[webhookID]
}

// A running dispatcher with room sends what Emit stores without claiming
// it: the deliveries are leased to it by the Enqueue itself.
func TestEmitSendsWithoutClaim(t *testing.T) {
	rc := newReceiver(t, nil)
	st := &claimCounter{Store: memstore.New()}
	d := newTestDispatcher(t, webhooks.Config{Store: st, PollInterval: time.Hour})
	w1 := hook(t, d, "", rc.URL+"/1", webhooks.WebhookInput{})
	w2 := hook(t, d, "", rc.URL+"/2", webhooks.WebhookInput{})
	start(t, d)
	const events = 20
	for range events {
		require.NoError(t, d.Emit(t.Context(), webhooks.Event{Type: "unit.created"}))
	}
	waitFor(t, "every delivery recorded", func() bool {
		n := 0
		for _, w := range []*webhooks.Webhook{w1, w2} {
			for _, dl := range deliveriesOf(t, d, "", w.ID) {
				if dl.Status == webhooks.StatusSuccess {
					n++
				}
			}
		}
		return n == 2*events
	})
	require.Equal(t, 2*events, rc.count())
	require.Zero(t, st.claimed.Load(), "no delivery went through Claim")
}

// When a lane is full, Emit leaves its deliveries to Claim, which takes
// them as the lane drains: nothing waits for the poll or is lost.
func TestEmitFallsBackToClaimWhenLaneIsFull(t *testing.T) {
	slow := newHangingServer(t)
	st := &claimCounter{Store: memstore.New()}
	d := newTestDispatcher(t, webhooks.Config{Store: st, MaxInFlightPerWebhook: 1, PollInterval: time.Hour})
	hook(t, d, "", slow.URL, webhooks.WebhookInput{})
	start(t, d)
	const events = 8 // the lane holds 3 (3 × MaxInFlightPerWebhook)
	for range events {
		require.NoError(t, d.Emit(t.Context(), webhooks.Event{Type: "unit.created"}))
	}
	waitFor(t, "the first request", func() bool { return slow.arrived.Load() == 1 })
	slow.Release()
	waitFor(t, "every event", func() bool { return slow.arrived.Load() == events })
	require.GreaterOrEqual(t, st.claimed.Load(), int64(events-3), "the events past the lane's room went through Claim")
}

// A full lane leaves only its own deliveries to Claim: the other webhooks
// of the same events are still sent directly.
func TestFullLaneDoesNotHoldBackOtherWebhooks(t *testing.T) {
	hang := newHangingServer(t)
	defer hang.Release()
	rc := newReceiver(t, nil)
	st := &claimCounter{Store: memstore.New()}
	d := newTestDispatcher(t, webhooks.Config{Store: st, MaxInFlightPerWebhook: 1, PollInterval: time.Hour})
	hook(t, d, "", hang.URL, webhooks.WebhookInput{})
	healthy := hook(t, d, "", rc.URL, webhooks.WebhookInput{})
	start(t, d)
	const events = 10 // the hanging lane holds 3
	for i := range events {
		require.NoError(t, d.Emit(t.Context(), webhooks.Event{Type: "unit.created"}))
		waitFor(t, "the healthy endpoint keeps up", func() bool { return rc.count() == i+1 })
	}
	require.Zero(t, st.claimedFor(healthy.ID), "the healthy webhook's deliveries were all sent directly")
}

// Webhook changes made through the Dispatcher apply to the next Emit at
// once; changes written to the store behind its back apply after
// WebhookCacheTTL (here: never within the test, and at once with the cache
// off).
func TestWebhookCache(t *testing.T) {
	for _, tc := range []struct {
		name         string
		ttl          time.Duration
		seesBehindIt bool
	}{{"cached", time.Hour, false}, {"off", -1, true}} {
		t.Run(tc.name, func(t *testing.T) {
			rc := newReceiver(t, nil)
			st := memstore.New()
			d := newTestDispatcher(t, webhooks.Config{Store: st, WebhookCacheTTL: tc.ttl})
			w := hook(t, d, "", rc.URL, webhooks.WebhookInput{})
			emitted := func() int {
				require.NoError(t, d.Emit(t.Context(), webhooks.Event{Type: "unit.created"}))
				return len(deliveriesOf(t, d, "", w.ID))
			}
			require.Equal(t, 1, emitted())
			_, err := d.DisableWebhook(t.Context(), "", w.ID, "")
			require.NoError(t, err)
			require.Equal(t, 1, emitted(), "disabled through the dispatcher: no delivery")
			_, err = d.EnableWebhook(t.Context(), "", w.ID)
			require.NoError(t, err)
			require.Equal(t, 2, emitted(), "enabled through the dispatcher: delivered again")

			require.NoError(t, st.SetWebhookActive(t.Context(), w.ID, false, "behind its back", time.Now()))
			if tc.seesBehindIt {
				require.Equal(t, 2, emitted(), "no cache: the store's change applies at once")
			} else {
				require.Equal(t, 3, emitted(), "cached: the store's change waits for the TTL")
			}
		})
	}
}

// An Emit whose write finishes after Stop began gives its leased
// deliveries back, so the next dispatcher sends them at once instead of
// after the lease.
func TestDirectDispatchAfterStopReleases(t *testing.T) {
	ctx := t.Context()
	st := memstore.New()
	d := newTestDispatcher(t, webhooks.Config{Store: st})
	w := &webhooks.Webhook{Name: "w", URL: "https://example.com", Events: []string{"*"}, IsActive: true}
	require.NoError(t, st.CreateWebhook(ctx, w, 0))
	require.NoError(t, d.Start(ctx))
	r := d.ReserveDirect("", []*webhooks.Webhook{w})
	require.NotNil(t, r, "a running dispatcher with room reserves")
	require.NoError(t, d.Stop(ctx))

	now := time.Now()
	item := &webhooks.EnqueueEvent{EventID: "e1", EventType: "unit.created", Payload: []byte(`{}`), CreatedAt: now,
		WebhookIDs: []int64{w.ID}, Lease: time.Hour}
	res, err := st.Enqueue(ctx, []webhooks.EnqueueEvent{*item})
	require.NoError(t, err)
	d.DispatchDirect(r, st, item, res[0])

	free, err := st.Claim(ctx, webhooks.ClaimParams{Now: now, Limit: 10, Lease: time.Minute})
	require.NoError(t, err)
	require.Len(t, free, 1, "released: claimable at once, not after the hour-long lease")
	require.Zero(t, d.Claimed(), "the reservation was given back")
}
