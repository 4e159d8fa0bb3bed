package pgstore_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/webhookkit/webhooks/store/pgstore"
)

// TestClaimPlanUsesPerWebhookIndex guards Claim's plans against the planner
// walking the due index filtered by webhook, which costs a walk over every
// delivery due before a webhook's first one. The per-webhook lookups must
// seek webhooks_deliveries_open; the due index may only serve the window.
// Checked for custom and generic plans, with and without the window, on an
// interleaved backlog (where the due index looks cheap to the planner).
func TestClaimPlanUsesPerWebhookIndex(t *testing.T) {
	s := newStore(t, nil)
	sc := `"` + s.Schema() + `"`
	for _, q := range []string{
		`INSERT INTO {s}.webhooks_endpoints (name, url, http_method, content_type, timeout_ns, max_retries,
	verify_ssl, auto_disable_after_failures, is_active, secret, created_at, updated_at)
SELECT 'h' || g, 'https://example.com', 'POST', 'application/json', 1000000000, 3, true, 10, true, 's', now(), now()
FROM generate_series(1, 3) AS g`,
		`INSERT INTO {s}.webhooks_events (event_id, event_type, payload, created_at)
SELECT 'e' || n, 'x.y', '\x7b7d', now() - interval '1 hour' + n * interval '1 ms' FROM generate_series(1, 20000) AS n`,
		`INSERT INTO {s}.webhooks_deliveries (event_pk, webhook_id, status, next_attempt_at, created_at, updated_at)
SELECT e.id, 1 + e.id % 3, 'PENDING', e.created_at, e.created_at, e.created_at
FROM {s}.webhooks_events AS e`,
		`ANALYZE {s}.webhooks_endpoints`, `ANALYZE {s}.webhooks_events`, `ANALYZE {s}.webhooks_deliveries`,
	} {
		if _, err := s.Pool().Exec(ctx, strings.ReplaceAll(q, "{s}", sc)); err != nil {
			t.Fatal(err)
		}
	}
	now := time.Now()
	for _, mode := range []string{"force_custom_plan", "force_generic_plan"} {
		for _, few := range []int{0, pgstore.ClaimFewHooks()} {
			err := pgx.BeginFunc(ctx, s.Pool(), func(tx pgx.Tx) error {
				if _, err := tx.Exec(ctx, `SET LOCAL plan_cache_mode = `+mode); err != nil {
					return err
				}
				if _, err := tx.Exec(ctx, `PREPARE claim_plan AS `+s.ClaimSQL()); err != nil {
					return err
				}
				var plan []byte
				// EXECUTE takes no bind parameters: literals.
				if err := tx.QueryRow(ctx, fmt.Sprintf(`EXPLAIN (FORMAT JSON) EXECUTE claim_plan('%s', '%s', 8, '{}', 100, 256, %d)`,
					now.Format(time.RFC3339Nano), now.Add(time.Minute).Format(time.RFC3339Nano), few)).Scan(&plan); err != nil {
					return err
				}
				var root []struct{ Plan planNode }
				if err := json.Unmarshal(plan, &root); err != nil {
					return err
				}
				walkPlan(root[0].Plan, func(n planNode) {
					if n.IndexName == "webhooks_deliveries_due" && strings.Contains(n.Filter+n.IndexCond, "webhook_id") {
						t.Errorf("%s, few=%d: the due index filtered by webhook: %+v", mode, few, n)
					}
					if strings.Contains(n.IndexCond, "webhook_id =") && n.IndexName != "webhooks_deliveries_open" {
						t.Errorf("%s, few=%d: a per-webhook lookup on %s: %+v", mode, few, n.IndexName, n)
					}
				})
				_, err := tx.Exec(ctx, `DEALLOCATE claim_plan`)
				return err
			})
			if err != nil {
				t.Fatal(err)
			}
		}
	}
}

type planNode struct {
	NodeType  string     `json:"Node Type"`
	IndexName string     `json:"Index Name"`
	IndexCond string     `json:"Index Cond"`
	Filter    string     `json:"Filter"`
	Plans     []planNode `json:"Plans"`
}

func walkPlan(n planNode, fn func(planNode)) {
	fn(n)
	for _, c := range n.Plans {
		walkPlan(c, fn)
	}
}
