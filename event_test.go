package webhooks_test

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/webhookkit/webhooks"
)

func testRegistry(t *testing.T) *webhooks.Registry {
	t.Helper()
	r, err := webhooks.NewRegistry(
		webhooks.EventType{Name: "inspection.created", Category: "Maintenance", Description: "Inspection created"},
		webhooks.EventType{Name: "inspection.updated", Category: "Maintenance", Description: "Inspection updated"},
		webhooks.EventType{Name: "inspection.deleted", Category: "Maintenance", Description: "Inspection deleted"},
		webhooks.EventType{Name: "inspection_item.created", Category: "Maintenance"},
		webhooks.EventType{Name: "alert.created", Category: "Monitoring", Description: "Alert triggered"},
		webhooks.EventType{Name: "unit.created", Category: "Asset"},
	)
	require.NoError(t, err)
	return r
}

func TestRegistryListsGroupedAndSorted(t *testing.T) {
	r := testRegistry(t)
	cats := r.Categories()
	require.Len(t, cats, 3)
	require.Equal(t, "Asset", cats[0].Name)
	require.Equal(t, "Maintenance", cats[1].Name)
	require.Equal(t, []string{"inspection.created", "inspection.deleted", "inspection.updated", "inspection_item.created"},
		names(cats[1].Types))
	got, ok := r.Lookup("alert.created")
	require.True(t, ok)
	require.Equal(t, "Alert triggered", got.Description)
	_, ok = r.Lookup("alert.deleted")
	require.False(t, ok)
}

func names(ts []webhooks.EventType) []string {
	var out []string
	for _, t := range ts {
		out = append(out, t.Name)
	}
	return out
}

func TestRegistryRejectsBadNames(t *testing.T) {
	r := testRegistry(t)
	for _, bad := range []string{"", "inspection", "Inspection.created", "inspection.", ".created", "a.b.c", "inspection.created ", "1abc.created", "webhook.ping", "inspection.created"} {
		err := r.Register(webhooks.EventType{Name: bad})
		require.Error(t, err, "name %q", bad)
		require.Contains(t, err.Error(), "webhooks: ")
	}
	// Nothing of a failing batch is registered.
	require.Error(t, r.Register(webhooks.EventType{Name: "todo.created"}, webhooks.EventType{Name: "Bad"}))
	_, ok := r.Lookup("todo.created")
	require.False(t, ok)
	require.NoError(t, r.Register(webhooks.EventType{Name: "work_order.status_changed"}))
	got, _ := r.Lookup("work_order.status_changed")
	require.Equal(t, webhooks.DefaultCategory, got.Category)
}

func TestPatterns(t *testing.T) {
	r := testRegistry(t)
	for _, ok := range []string{"*", "inspection.*", "inspection.created", "inspection_item.*"} {
		require.NoError(t, r.ValidatePattern(ok), ok)
	}
	for _, bad := range []string{"inspection.exploded", "nothing.*", "insp*", "**", "*.created", "INSPECTION.*", ""} {
		require.Error(t, r.ValidatePattern(bad), bad)
	}
	err := r.ValidatePattern("inspection.exploded")
	require.True(t, errors.Is(err, webhooks.ErrUnknownEventType))
	require.Contains(t, err.Error(), `"inspection.exploded"`)

	require.True(t, webhooks.MatchPattern("*", "unit.created"))
	require.True(t, webhooks.MatchPattern("inspection.*", "inspection.created"))
	require.False(t, webhooks.MatchPattern("inspection.*", "inspection_item.created"))
	require.False(t, webhooks.MatchPattern("inspection.*", "unit.created"))
	require.True(t, webhooks.MatchPattern("unit.created", "unit.created"))
	require.False(t, webhooks.MatchPattern("unit.created", "unit.updated"))
	require.False(t, webhooks.MatchAny(nil, "unit.created"))
}

func TestNewEventIDIsUUIDv4(t *testing.T) {
	seen := map[string]bool{}
	for range 1000 {
		id := webhooks.NewEventID()
		require.Regexp(t, `^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`, id)
		require.False(t, seen[id])
		seen[id] = true
	}
}
