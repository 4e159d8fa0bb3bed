package memstore

import (
	"math/rand/v2"
	"slices"
	"sort"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	webhooks "github.com/webhookkit/webhooks"
)

// naiveOldestDue is the definition oldestDue implements: sort everything,
// then take in order, skipping a webhook once it has perWebhook.
func naiveOldestDue(due []*delivery, limit, perWebhook int) []*delivery {
	all := slices.Clone(due)
	sort.Slice(all, func(i, j int) bool { return dueBefore(all[i], all[j]) })
	taken := map[int64]int{}
	var out []*delivery
	for _, d := range all {
		if len(out) == limit {
			break
		}
		if perWebhook > 0 && taken[d.d.WebhookID] >= perWebhook {
			continue
		}
		taken[d.d.WebhookID]++
		out = append(out, d)
	}
	return out
}

func TestOldestDueMatchesNaive(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	base := time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC)
	for round := range 2000 {
		n := rng.IntN(60)
		due := make([]*delivery, n)
		for i := range due {
			due[i] = &delivery{d: webhooks.Delivery{
				ID:            int64(i + 1),
				WebhookID:     int64(rng.IntN(5) + 1),
				NextAttemptAt: base.Add(time.Duration(rng.IntN(20)) * time.Second), // ties on purpose
			}}
		}
		rng.Shuffle(n, func(i, j int) { due[i], due[j] = due[j], due[i] })
		limit, perWebhook := rng.IntN(15)+1, rng.IntN(7)-1
		want := naiveOldestDue(due, limit, perWebhook)
		got := oldestDue(slices.Clone(due), limit, perWebhook)
		ids := func(ds []*delivery) []int64 {
			out := []int64{}
			for _, d := range ds {
				out = append(out, d.d.ID)
			}
			return out
		}
		require.Equal(t, ids(want), ids(got), "round %d: limit %d, perWebhook %d", round, limit, perWebhook)
	}
}
