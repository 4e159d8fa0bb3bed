package sqlitestore_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/webhookkit/webhooks"
	"github.com/webhookkit/webhooks/store/sqlitestore"
)

// backlogSize is the number of due deliveries the backlog benchmarks seed
// for one webhook.
const backlogSize = 200_000

// seedDeliveries inserts n events, each with one delivery of webhook in
// status, due (and created) from at on, one microsecond apart. It writes
// the rows with SQL because going through Enqueue would dominate the run.
func seedDeliveries(tb testing.TB, s *sqlitestore.Store, tag string, webhook int64, status webhooks.DeliveryStatus, n int, at time.Time) {
	tb.Helper()
	db := s.DB()
	tx, err := db.BeginTx(ctx, nil)
	require.NoError(tb, err)
	defer func() { _ = tx.Rollback() }()
	var first int64
	require.NoError(tb, tx.QueryRowContext(ctx, `SELECT coalesce(max(id), 0) + 1 FROM webhooks_events`).Scan(&first))
	_, err = tx.ExecContext(ctx, `WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i + 1 < ?)
	INSERT INTO webhooks_events (id, event_id, event_type, company_id, payload, created_at)
	SELECT ? + i, ? || '-' || i, 'order.created', NULL, x'7b7d', ? + i FROM n`,
		n, first, tag, at.UnixMicro())
	require.NoError(tb, err)
	_, err = tx.ExecContext(ctx, `INSERT INTO webhooks_deliveries
	(event_pk, webhook_id, status, attempt_count, next_attempt_at, created_at, updated_at)
	SELECT id, ?, ?, 0, created_at, created_at, created_at FROM webhooks_events WHERE id >= ? ORDER BY id`,
		webhook, string(status), first)
	require.NoError(tb, err)
	require.NoError(tb, tx.Commit())
}

// BenchmarkClaimBacklog measures one Claim (Limit 100, the dispatcher's
// default batch) against a backlog of 200k due deliveries of one webhook:
//
//   - Active: the webhook is active, no per-webhook cap.
//   - ActiveCap8: the same with MaxPerWebhook 8.
//   - Disabled: the webhook is disabled; nothing else is due.
//   - DisabledPlus10: disabled, and another webhook has 10 newer due deliveries.
//   - ExcludedPlus10: the backlog's webhook is in ExcludeWebhooks; another has 10.
//   - Cap8Plus10: MaxPerWebhook 8; another webhook has 10 newer due
//     deliveries behind the backlog (claims 8 + 8).
//   - Disabled5kIdle, Cap8Plus10-5kIdle: the same with 5,000 more active
//     webhooks that have nothing due (the per-webhook lookups visit each).
//
// Apart from the ones named, 20 idle active webhooks exist.
//
// Every iteration claims at a later Now with a 1 µs lease, so the previous
// iteration's leases have lapsed and each claim sees the same state.
func BenchmarkClaimBacklog(b *testing.B) {
	cases := []struct {
		name      string
		disable   bool
		exclude   bool
		cap       int
		others    int
		idle      int
		wantCount int
	}{
		{name: "Active", wantCount: 100},
		{name: "ActiveCap8", cap: 8, wantCount: 8},
		{name: "Disabled", disable: true, wantCount: 0},
		{name: "DisabledPlus10", disable: true, others: 10, wantCount: 10},
		{name: "ExcludedPlus10", exclude: true, others: 10, wantCount: 10},
		{name: "Cap8Plus10", cap: 8, others: 10, wantCount: 16},
		{name: "Disabled5kIdle", disable: true, idle: 5000, wantCount: 0},
		{name: "Cap8Plus10-5kIdle", cap: 8, others: 10, idle: 5000, wantCount: 16},
	}
	for _, tc := range cases {
		b.Run(tc.name, func(b *testing.B) {
			s := openStore(b, tempPath(b))
			big := createHook(b, s, "big")
			other := createHook(b, s, "other")
			// Idle webhooks the store has to look past.
			_, err := s.DB().ExecContext(ctx, `WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i + 1 < ?)
	INSERT INTO webhooks_endpoints (name, url, http_method, content_type, timeout_ns, max_retries,
		verify_ssl, auto_disable_after_failures, is_active, secret, created_at, updated_at)
	SELECT 'idle' || i, 'https://example.com/idle', 'POST', 'application/json', 1000000000, 3, 1, 10, 1, 's', 0, 0 FROM n`,
				20+tc.idle)
			require.NoError(b, err)
			seedDeliveries(b, s, "big", big, webhooks.StatusPending, backlogSize, base)
			if tc.others > 0 {
				seedDeliveries(b, s, "other", other, webhooks.StatusPending, tc.others, base.Add(time.Minute))
			}
			if tc.disable {
				require.NoError(b, s.SetWebhookActive(ctx, big, false, "paused", base))
			}
			p := webhooks.ClaimParams{Limit: 100, Lease: time.Microsecond, MaxPerWebhook: tc.cap}
			if tc.exclude {
				p.ExcludeWebhooks = []int64{big}
			}
			now := base.Add(time.Hour)
			for b.Loop() {
				now = now.Add(time.Second)
				p.Now = now
				cl, err := s.Claim(ctx, p)
				if err != nil {
					b.Fatal(err)
				}
				if len(cl) != tc.wantCount {
					b.Fatalf("claimed %d, want %d", len(cl), tc.wantCount)
				}
			}
		})
	}
}

// BenchmarkListDeliveriesRareStatus lists the FAILED deliveries of a webhook
// with 200k SUCCESS deliveries newer than its 5 FAILED ones.
func BenchmarkListDeliveriesRareStatus(b *testing.B) {
	s := openStore(b, tempPath(b))
	h := createHook(b, s, "h")
	seedDeliveries(b, s, "failed", h, webhooks.StatusFailed, 5, base)
	seedDeliveries(b, s, "ok", h, webhooks.StatusSuccess, backlogSize, base.Add(time.Minute))
	for b.Loop() {
		ds, err := s.ListDeliveries(ctx, webhooks.ListDeliveriesParams{WebhookID: h, Status: webhooks.StatusFailed, Limit: 20})
		if err != nil {
			b.Fatal(err)
		}
		if len(ds) != 5 {
			b.Fatalf("listed %d, want 5", len(ds))
		}
	}
}
