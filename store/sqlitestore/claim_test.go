package sqlitestore_test

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/webhookkit/webhooks"
	"github.com/webhookkit/webhooks/store/memstore"
	"github.com/webhookkit/webhooks/store/sqlitestore"
	"github.com/webhookkit/webhooks/store/storetest"
)

// Claim walks a window of the oldest due deliveries and falls back to
// per-webhook index lookups when the window is full of deliveries it cannot
// take. The conformance suite runs with the default window, so its small
// data never leaves the window; these tests run it with a tiny window
// (often the fallback) and with none (always the fallback).
var claimWindows = []struct {
	name            string
	factor, minimum int
}{
	{"window0", 0, 0},
	{"window3", 0, 3},
	{"window2xLimit", 2, 1},
}

func TestConformanceClaimFallback(t *testing.T) {
	for _, w := range claimWindows[:2] {
		t.Run(w.name, func(t *testing.T) {
			defer sqlitestore.SetClaimWindow(w.factor, w.minimum)()
			storetest.Run(t, func(t *testing.T) webhooks.Store { return openStore(t, tempPath(t)) })
		})
	}
}

// TestClaimBacklogPastWindow puts more than the default window of
// unclaimable deliveries (a disabled webhook's, an excluded one's, a capped
// one's, leased ones) in front of a few claimable ones.
func TestClaimBacklogPastWindow(t *testing.T) {
	s := openStore(t, tempPath(t))
	off := createHook(t, s, "off")
	excluded := createHook(t, s, "excluded")
	capped := createHook(t, s, "capped")
	leased := createHook(t, s, "leased")
	late := createHook(t, s, "late")
	enqueueN := func(prefix string, h int64, n int, from time.Time) []int64 {
		evs := make([]webhooks.EnqueueEvent, n)
		for i := range evs {
			evs[i] = event(fmt.Sprintf("%s-%d", prefix, i), from.Add(time.Duration(i)*time.Millisecond), h)
		}
		res, err := s.Enqueue(ctx, evs)
		require.NoError(t, err)
		ids := make([]int64, n)
		for i, r := range res {
			ids[i] = r.Deliveries[0].ID
		}
		return ids
	}
	const n = 600 // > the default window, 256 rows for Limit 100
	enqueueN("off", off, n, base)
	enqueueN("excluded", excluded, n, base.Add(time.Second))
	lids := enqueueN("leased", leased, n, base.Add(2*time.Second))
	cids := enqueueN("capped", capped, n, base.Add(3*time.Second))
	lates := enqueueN("late", late, 5, base.Add(time.Hour))
	require.NoError(t, s.SetWebhookActive(ctx, off, false, "paused", base))
	now := base.Add(2 * time.Hour)

	cl, err := s.Claim(ctx, webhooks.ClaimParams{Now: now, Limit: 600, Lease: time.Hour,
		ExcludeWebhooks: []int64{excluded, capped, late}})
	require.NoError(t, err)
	require.Len(t, cl, n, "lease all of leased's")
	require.Equal(t, lids[0], cl[0].Delivery.ID)

	cl, err = s.Claim(ctx, webhooks.ClaimParams{Now: now, Limit: 100, Lease: time.Hour,
		ExcludeWebhooks: []int64{excluded}, MaxPerWebhook: 8})
	require.NoError(t, err)
	var ids []int64
	for _, c := range cl {
		ids = append(ids, c.Delivery.ID)
	}
	require.Equal(t, append(append([]int64{}, cids[:8]...), lates...), ids)

	cl, err = s.Claim(ctx, webhooks.ClaimParams{Now: now, Limit: 100, Lease: time.Hour,
		ExcludeWebhooks: []int64{excluded, capped}})
	require.NoError(t, err)
	require.Empty(t, cl, "nothing claimable: disabled, excluded or leased")
}

// TestClaimMatchesMemstore runs the same random histories against a
// sqlitestore (with tiny claim windows, so both selection paths run) and a
// memstore and requires the same claims: the memstore's straightforward
// selection is the reference.
func TestClaimMatchesMemstore(t *testing.T) {
	for _, w := range claimWindows {
		t.Run(w.name, func(t *testing.T) {
			defer sqlitestore.SetClaimWindow(w.factor, w.minimum)()
			for seed := range uint64(3) {
				t.Run(fmt.Sprint("seed", seed), func(t *testing.T) {
					compareClaims(t, rand.New(rand.NewPCG(seed, 42)))
				})
			}
		})
	}
}

func compareClaims(t *testing.T, rng *rand.Rand) {
	stores := []webhooks.Store{memstore.New(), openStore(t, tempPath(t))}
	each := func(fn func(s webhooks.Store) any) {
		t.Helper()
		want := fn(stores[0])
		require.Equal(t, want, fn(stores[1]), "sqlitestore differs from memstore")
	}
	const nHooks = 5
	var hooks []int64
	for i := range nHooks {
		each(func(s webhooks.Store) any { return createHook(t, s, fmt.Sprint("h", i)) })
		hooks = append(hooks, int64(i+1))
	}
	now := base
	held := map[int64]int64{} // delivery → token of a claim not yet completed
	for step := range 100 {
		now = now.Add(time.Duration(rng.IntN(2000)) * time.Millisecond)
		switch r := rng.IntN(10); {
		case r < 3: // enqueue a few events, unevenly spread over the webhooks
			var evs []webhooks.EnqueueEvent
			for i := range rng.IntN(20) + 1 {
				var to []int64
				for _, h := range hooks {
					if rng.IntN(int(h)+1) == 0 {
						to = append(to, h)
					}
				}
				at := now.Add(time.Duration(rng.IntN(5000)-2500) * time.Millisecond)
				evs = append(evs, event(fmt.Sprintf("s%d-%d", step, i), at, to...))
			}
			each(func(s webhooks.Store) any {
				res, err := s.Enqueue(ctx, evs)
				require.NoError(t, err)
				return res
			})
		case r < 4: // flip a webhook
			h := hooks[rng.IntN(nHooks)]
			active := rng.IntN(3) > 0
			each(func(s webhooks.Store) any { return s.SetWebhookActive(ctx, h, active, "flip", now) })
		default: // claim, then complete or release part of it
			p := webhooks.ClaimParams{
				Now:           now,
				Limit:         rng.IntN(12) + 1,
				Lease:         time.Duration(rng.IntN(5000)+1) * time.Millisecond,
				MaxPerWebhook: rng.IntN(5) - 1,
			}
			for _, h := range hooks {
				if rng.IntN(5) == 0 {
					p.ExcludeWebhooks = append(p.ExcludeWebhooks, h)
				}
			}
			var claimed []*webhooks.ClaimedDelivery
			each(func(s webhooks.Store) any {
				cl, err := s.Claim(ctx, p)
				require.NoError(t, err)
				claimed = cl
				type claimSummary struct {
					ID, Webhook, Token int64
					Lease              time.Time
				}
				out := []claimSummary{}
				for _, c := range cl {
					out = append(out, claimSummary{c.Delivery.ID, c.Webhook.ID, c.Token, c.LeaseUntil})
				}
				return out
			})
			if p.MaxPerWebhook > 0 {
				per := map[int64]int{}
				for _, c := range claimed {
					per[c.Delivery.WebhookID]++
					require.LessOrEqual(t, per[c.Delivery.WebhookID], p.MaxPerWebhook)
				}
			}
			var cs []webhooks.Completion
			var rel []webhooks.ClaimRef
			for _, c := range claimed {
				held[c.Delivery.ID] = c.Token
				switch rng.IntN(4) {
				case 0:
					cs = append(cs, webhooks.Completion{DeliveryID: c.Delivery.ID, Token: c.Token,
						Status: webhooks.StatusSuccess, Now: now})
				case 1:
					cs = append(cs, webhooks.Completion{DeliveryID: c.Delivery.ID, Token: c.Token,
						Status: webhooks.StatusRetrying, NextAttemptAt: now.Add(time.Duration(rng.IntN(3000)) * time.Millisecond), Now: now})
				case 2:
					rel = append(rel, webhooks.ClaimRef{DeliveryID: c.Delivery.ID, Token: c.Token})
				}
			}
			each(func(s webhooks.Store) any {
				res, err := s.Complete(ctx, cs)
				require.NoError(t, err)
				require.NoError(t, s.Release(ctx, rel))
				return res
			})
		}
	}
	require.NotEmpty(t, held, "the history claimed something")
}
