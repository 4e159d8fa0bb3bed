package sqlitestore

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/webhookkit/webhooks"
)

// queryPlan returns the EXPLAIN QUERY PLAN details of query, one per line.
func queryPlan(t *testing.T, s *Store, query string, args ...any) string {
	t.Helper()
	rows, err := s.w.QueryContext(context.Background(), "EXPLAIN QUERY PLAN "+query, args...)
	require.NoError(t, err)
	defer rows.Close()
	var plan []string
	for rows.Next() {
		var id, parent, notused int
		var detail string
		require.NoError(t, rows.Scan(&id, &parent, &notused, &detail))
		plan = append(plan, detail)
	}
	require.NoError(t, rows.Err())
	return strings.Join(plan, "\n")
}

func openPlanStore(t *testing.T) *Store {
	t.Helper()
	s, err := Open(context.Background(), filepath.Join(t.TempDir(), "plan.db"), nil)
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// TestClaimPlans pins the claim query plans. The window query walks the due
// index in due order, with no sort of all due rows, so Claim can stop
// reading after the window. The per-webhook query skips through the
// per-webhook due index from one webhook to the next, seeks it for each
// webhook's oldest due deliveries and sorts only the candidates it found.
func TestClaimPlans(t *testing.T) {
	s := openPlanStore(t)

	all := queryPlan(t, s, claimWindowSQL, 1)
	require.Contains(t, all, "USING INDEX webhooks_deliveries_due", all)
	require.NotContains(t, all, "TEMP B-TREE", all)

	all = queryPlan(t, s, claimPerWebhookSQL, "[]", 1, 1, 8, 100)
	require.Contains(t, all, "SEARCH x USING INDEX webhooks_deliveries_webhook_due (webhook_id>?)", all)
	require.Contains(t, all, "SEARCH w USING INTEGER PRIMARY KEY (rowid=?)", all)
	require.NotContains(t, all, "SCAN w", all)
	require.Contains(t, all, "CORRELATED LIST SUBQUERY", all)
	require.Contains(t, all, "SEARCH x USING INDEX webhooks_deliveries_webhook_due (webhook_id=? AND next_attempt_at<?)", all)
	require.Contains(t, all, "SEARCH d USING INTEGER PRIMARY KEY (rowid=?)", all)

	all = queryPlan(t, s, claimUpdateSQL, 2, "[1,2]", 1)
	require.Contains(t, all, "INTEGER PRIMARY KEY (rowid=?)", all)
}

// TestListDeliveriesPlan: filtered by webhook and status, the list seeks the
// (webhook_id, status, id) index and reads newest first, with no sort and no
// walk over the webhook's other deliveries.
func TestListDeliveriesPlan(t *testing.T) {
	s := openPlanStore(t)
	query, args := listDeliveriesQuery(webhooks.ListDeliveriesParams{WebhookID: 1, Status: webhooks.StatusFailed}, 20)
	all := queryPlan(t, s, query, args...)
	require.Contains(t, all, "USING INDEX webhooks_deliveries_webhook_status (webhook_id=? AND status=?)", all)
	require.NotContains(t, all, "TEMP B-TREE", all)

	query, args = listDeliveriesQuery(webhooks.ListDeliveriesParams{WebhookID: 1, Status: webhooks.StatusFailed, Before: 100}, 20)
	all = queryPlan(t, s, query, args...)
	require.Contains(t, all, "USING INDEX webhooks_deliveries_webhook_status (webhook_id=? AND status=? AND id<?)", all)
	require.NotContains(t, all, "TEMP B-TREE", all)

	// The other filters keep their own indexes, in ID order.
	for _, tc := range []struct {
		p     webhooks.ListDeliveriesParams
		index string
	}{
		{webhooks.ListDeliveriesParams{WebhookID: 1}, "webhooks_deliveries_webhook (webhook_id=?)"},
		{webhooks.ListDeliveriesParams{Status: webhooks.StatusFailed}, "webhooks_deliveries_status (status=?)"},
	} {
		query, args = listDeliveriesQuery(tc.p, 20)
		all = queryPlan(t, s, query, args...)
		require.Contains(t, all, "USING INDEX "+tc.index, all)
		require.NotContains(t, all, "TEMP B-TREE", all)
	}
}
