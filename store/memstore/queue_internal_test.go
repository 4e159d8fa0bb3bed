package memstore

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sort"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	webhooks "github.com/webhookkit/webhooks"
)

// naiveClaimable is Claim's definition, computed from every stored
// delivery: open, not under a live lease, due, of an active webhook not
// excluded; oldest due first, at most perWebhook of one webhook.
func naiveClaimable(s *Store, now time.Time, limit, perWebhook int, excluded map[int64]bool) []int64 {
	var all []*delivery
	for _, d := range s.deliveries {
		open := d.d.Status == webhooks.StatusPending || d.d.Status == webhooks.StatusRetrying
		w, ok := s.webhooks[d.d.WebhookID]
		if !open || (d.held && d.leaseUntil.After(now)) || d.d.NextAttemptAt.After(now) ||
			!ok || !w.IsActive || excluded[d.d.WebhookID] {
			continue
		}
		all = append(all, d)
	}
	sort.Slice(all, func(i, j int) bool { return dueBefore(all[i], all[j]) })
	taken := map[int64]int{}
	out := []int64{}
	for _, d := range all {
		if len(out) == limit {
			break
		}
		if perWebhook > 0 && taken[d.d.WebhookID] >= perWebhook {
			continue
		}
		taken[d.d.WebhookID]++
		out = append(out, d.d.ID)
	}
	return out
}

// TestQueueMatchesDefinition drives the store through random enqueues,
// claims, completions, releases, manual retries, webhook switches and clock
// steps, and checks before every claim that the indexed Claim returns
// exactly what scanning every delivery would.
func TestQueueMatchesDefinition(t *testing.T) {
	ctx := context.Background()
	for seed := range uint64(40) {
		rng := rand.New(rand.NewPCG(seed, 7))
		s := New()
		now := time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC)
		var hooks []int64
		for i := range 4 {
			w := &webhooks.Webhook{Name: fmt.Sprint("w", i), URL: "https://example.com", Events: []string{"*"}, IsActive: true}
			require.NoError(t, s.CreateWebhook(ctx, w, 0))
			hooks = append(hooks, w.ID)
		}
		var claims []*webhooks.ClaimedDelivery
		events := 0
		for step := range 400 {
			switch op := rng.IntN(8); op {
			case 0, 1: // enqueue, sometimes leased at once
				events++
				ev := webhooks.EnqueueEvent{EventID: fmt.Sprint("e", events), EventType: "a.b", CreatedAt: now, WebhookIDs: hooks[:1+rng.IntN(len(hooks))]}
				if rng.IntN(3) == 0 {
					ev.Lease = time.Duration(1+rng.IntN(5)) * time.Second
				}
				res, err := s.Enqueue(ctx, []webhooks.EnqueueEvent{ev})
				require.NoError(t, err)
				for _, d := range res[0].Deliveries {
					if d.Token != 0 {
						claims = append(claims, &webhooks.ClaimedDelivery{Delivery: webhooks.Delivery{ID: d.ID}, Token: d.Token})
					}
				}
			case 2: // claim and compare with the definition
				limit, per := 1+rng.IntN(8), rng.IntN(4)
				excluded := map[int64]bool{}
				var ex []int64
				if rng.IntN(3) == 0 {
					ex = []int64{hooks[rng.IntN(len(hooks))]}
					excluded[ex[0]] = true
				}
				want := naiveClaimable(s, now, limit, per, excluded)
				got, err := s.Claim(ctx, webhooks.ClaimParams{Now: now, Limit: limit, Lease: time.Duration(1+rng.IntN(5)) * time.Second, MaxPerWebhook: per, ExcludeWebhooks: ex})
				require.NoError(t, err)
				ids := []int64{}
				for _, c := range got {
					ids = append(ids, c.Delivery.ID)
				}
				require.Equal(t, want, ids, "seed %d step %d", seed, step)
				claims = append(claims, got...)
			case 3: // complete a claim (possibly stale)
				if len(claims) == 0 {
					continue
				}
				i := rng.IntN(len(claims))
				c := claims[i]
				claims = append(claims[:i], claims[i+1:]...)
				status := []webhooks.DeliveryStatus{webhooks.StatusSuccess, webhooks.StatusRetrying, webhooks.StatusFailed}[rng.IntN(3)]
				_, err := s.Complete(ctx, []webhooks.Completion{{DeliveryID: c.Delivery.ID, Token: c.Token, Status: status,
					NextAttemptAt: now.Add(time.Duration(rng.IntN(4)) * time.Second), Now: now}})
				require.NoError(t, err)
			case 4: // release a claim
				if len(claims) == 0 {
					continue
				}
				i := rng.IntN(len(claims))
				require.NoError(t, s.Release(ctx, []webhooks.ClaimRef{{DeliveryID: claims[i].Delivery.ID, Token: claims[i].Token}}))
				claims = append(claims[:i], claims[i+1:]...)
			case 5: // manual retry of a random delivery
				if len(s.deliveries) == 0 {
					continue
				}
				_ = s.RetryDelivery(ctx, int64(1+rng.IntN(len(s.deliveries))), now)
			case 6: // disable or enable a webhook
				require.NoError(t, s.SetWebhookActive(ctx, hooks[rng.IntN(len(hooks))], rng.IntN(2) == 0, "test", now))
			case 7: // time passes
				now = now.Add(time.Duration(rng.IntN(3)) * time.Second)
			}
		}
	}
}
