package storetest

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"

	webhooks "github.com/webhookkit/webhooks"
)

// requireFilters checks a stored payload filter comes back byte for byte
// (the dispatcher caches compiled filters by their bytes); nil and empty
// both mean "no filter".
func requireFilters(t *testing.T, want, got json.RawMessage, what string) {
	t.Helper()
	if len(want) == 0 {
		require.Empty(t, got, what)
		return
	}
	require.Equal(t, string(want), string(got), what)
}

// testWebhookFilters: a webhook's payload filter survives create, every
// read path (get, list, match, claim), update to another filter, an update
// that leaves it, and clearing.
func testWebhookFilters(t *testing.T, s webhooks.Store) {
	first := json.RawMessage(`{"$or":[{"data.name":"My Project"},{"project.name":{"$prefix":"My"}}]}`)
	second := json.RawMessage(`{"data.attributes.score":{"$gte":50.5}}`)
	w := newWebhook("filtered", company(3), "*")
	w.Filters = first
	id := create(t, s, w)
	plain := createSimple(t, s, "plain", company(3))

	requireFilters(t, first, getWebhook(t, s, id).Filters, "get")
	requireFilters(t, nil, getWebhook(t, s, plain).Filters, "get unfiltered")
	for _, got := range listWebhooks(t, s, webhooks.ListWebhooksParams{CompanyID: company(3)}) {
		if got.ID == id {
			requireFilters(t, first, got.Filters, "list")
		} else {
			requireFilters(t, nil, got.Filters, "list unfiltered")
		}
	}
	ms, err := s.MatchWebhooks(ctx, webhooks.MatchParams{CompanyID: company(3), EventType: "inspection.created"})
	require.NoError(t, err)
	require.Len(t, ms, 2)
	for _, got := range ms {
		if got.ID == id {
			requireFilters(t, first, got.Filters, "match")
		}
	}

	upd := getWebhook(t, s, id)
	upd.Filters = second
	require.NoError(t, s.UpdateWebhook(ctx, upd))
	requireFilters(t, second, getWebhook(t, s, id).Filters, "after update")

	upd = getWebhook(t, s, id)
	upd.Name = "renamed"
	require.NoError(t, s.UpdateWebhook(ctx, upd))
	requireFilters(t, second, getWebhook(t, s, id).Filters, "after an update of other fields")

	upd.Filters = nil
	require.NoError(t, s.UpdateWebhook(ctx, upd))
	requireFilters(t, nil, getWebhook(t, s, id).Filters, "after clearing")
}
