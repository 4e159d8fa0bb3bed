package pgstore_test

import (
	"fmt"
	"net/url"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/webhookkit/webhooks"
	"github.com/webhookkit/webhooks/internal/e2ebench"
	"github.com/webhookkit/webhooks/store/pgstore"
)

// BenchmarkEndToEnd runs the shared end-to-end benchmark (8 emitters, 4
// endpoints, ~1 KiB events) on a fresh schema, with a pool of 16
// connections:
//
//	go test -run '^$' -bench EndToEnd -benchtime 5000x ./store/pgstore/
func BenchmarkEndToEnd(b *testing.B) {
	u, err := url.Parse(testURL(b))
	require.NoError(b, err)
	q := u.Query()
	if q.Get("pool_max_conns") == "" {
		q.Set("pool_max_conns", "16")
	}
	u.RawQuery = q.Encode()
	s, err := pgstore.Open(ctx, u.String(), &pgstore.Options{Schema: freshSchema(b)})
	require.NoError(b, err)
	defer s.Close()
	e2ebench.Run(b, s)
}

// BenchmarkClaimBacklog measures one Claim (Limit 100, MaxPerWebhook 8, as
// the dispatcher asks) over a backlog of 200,000 due deliveries; each claim
// is then completed (untimed), as the dispatcher would:
//
//   - 4hooks: four active webhooks, 50,000 each, interleaved;
//   - disabled-front: a disabled webhook's 100,000 in front of four active
//     webhooks' 100,000 (the window is useless; the per-webhook path runs);
//   - 5000hooks: 5,000 active webhooks with 40 each.
func BenchmarkClaimBacklog(b *testing.B) {
	for _, bc := range []struct {
		name   string
		hooks  int
		active string // SQL over g: is webhook g active
		owner  string // SQL over n (1..200000): the webhook of delivery n
	}{
		{"4hooks", 4, "true", "1 + n % 4"},
		{"disabled-front", 5, "g <> 1", "CASE WHEN n <= 100000 THEN 1 ELSE 2 + n % 4 END"},
		{"5000hooks", 5000, "true", "1 + n % 5000"},
	} {
		b.Run(bc.name, func(b *testing.B) {
			s := newStore(b, nil)
			seedBacklog(b, s, bc.hooks, bc.active, bc.owner)
			b.ResetTimer()
			for b.Loop() {
				cl, err := s.Claim(ctx, webhooks.ClaimParams{Limit: 100, MaxPerWebhook: 8, Lease: time.Minute})
				if err != nil || len(cl) == 0 {
					b.Fatal(len(cl), err)
				}
				b.StopTimer()
				cs := make([]webhooks.Completion, len(cl))
				for i, c := range cl {
					cs[i] = webhooks.Completion{DeliveryID: c.Delivery.ID, Token: c.Token, Status: webhooks.StatusSuccess,
						Attempt: webhooks.Attempt{StartedAt: time.Now(), ResponseStatus: 200}}
				}
				if _, err := s.Complete(ctx, cs); err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
			}
		})
	}
}

// seedBacklog writes webhooks and 200,000 due deliveries with SQL (faster
// than Enqueue for a fixture), then analyzes the tables.
func seedBacklog(tb testing.TB, s *pgstore.Store, hooks int, active, owner string) {
	tb.Helper()
	sc := `"` + s.Schema() + `".`
	for _, q := range []string{
		fmt.Sprintf(`INSERT INTO %swebhooks_endpoints (company_id, name, url, http_method, content_type,
	timeout_ns, max_retries, verify_ssl, auto_disable_after_failures, is_active, secret, created_at, updated_at)
SELECT g, 'h' || g, 'https://example.com/' || g, 'POST', 'application/json', 30000000000, 3, true, 10, %s,
	'whsec_0123456789abcdef', now(), now()
FROM generate_series(1, %d) AS g`, sc, active, hooks),
		fmt.Sprintf(`INSERT INTO %swebhooks_events (event_id, event_type, payload, created_at)
SELECT 'e' || n, 'order.created', convert_to(repeat('x', 1000), 'UTF8'), now() - interval '1 hour' + n * interval '1 ms'
FROM generate_series(1, 200000) AS n`, sc),
		fmt.Sprintf(`INSERT INTO %swebhooks_deliveries (event_pk, webhook_id, status, next_attempt_at, created_at, updated_at)
SELECT n, %s, 'PENDING', e.created_at, e.created_at, e.created_at
FROM generate_series(1, 200000) AS n JOIN %swebhooks_events AS e ON e.id = n`, sc, owner, sc),
		`ANALYZE ` + sc + `webhooks_endpoints`,
		`ANALYZE ` + sc + `webhooks_events`,
		`ANALYZE ` + sc + `webhooks_deliveries`,
	} {
		_, err := s.Pool().Exec(ctx, q)
		require.NoError(tb, err)
	}
}

// BenchmarkEmit measures Emit alone (match the webhooks, store the event
// and its deliveries in one statement), with no dispatcher running, from 1
// and from 8 goroutines (whose writes the dispatcher groups into shared
// statements). It reports emits/s and the latency p50/p99.
func BenchmarkEmit(b *testing.B) {
	for _, par := range []int{1, 8} {
		b.Run(fmt.Sprintf("goroutines=%d", par), func(b *testing.B) {
			s := newStore(b, nil)
			d := newDispatcher(b, webhooks.Config{Store: s})
			for i := range 4 {
				addHook(b, d, fmt.Sprintf("https://example.com/%d", i), webhooks.WebhookInput{})
			}
			attrs := map[string]any{"blob": string(make([]byte, 900))}
			lat := make([]time.Duration, b.N)
			var next atomic.Int64
			b.ResetTimer()
			var wg sync.WaitGroup
			for range par {
				wg.Go(func() {
					for {
						i := next.Add(1) - 1
						if i >= int64(b.N) {
							return
						}
						t0 := time.Now()
						if err := d.Emit(ctx, webhooks.Event{Type: "order.created", Data: webhooks.EventData{ID: 1, Attributes: attrs}}); err != nil {
							b.Error(err)
							return
						}
						lat[i] = time.Since(t0)
					}
				})
			}
			wg.Wait()
			b.StopTimer()
			slices.Sort(lat)
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "emits/s")
			b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "emit-p50-µs")
			b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "emit-p99-µs")
		})
	}
}
