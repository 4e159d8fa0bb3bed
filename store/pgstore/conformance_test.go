package pgstore_test

import (
	"testing"

	"github.com/webhookkit/webhooks"
	"github.com/webhookkit/webhooks/store/pgstore"
	"github.com/webhookkit/webhooks/store/storetest"
)

// TestConformance runs the store contract suite against the real Postgres,
// each subtest in a fresh schema (dropped when it ends).
func TestConformance(t *testing.T) {
	testURL(t)
	storetest.Run(t, func(t *testing.T) webhooks.Store { return newStore(t, nil) })
}

// TestConformanceWindowPath runs the suite with Claim reading the window
// first whatever the number of webhooks (the suite's stores have few), and
// again with a window so small that the per-webhook fallback runs often.
func TestConformanceWindowPath(t *testing.T) {
	testURL(t)
	restore := pgstore.SetClaimFewHooks(0)
	defer restore()
	t.Run("DefaultWindow", func(t *testing.T) {
		storetest.Run(t, func(t *testing.T) webhooks.Store { return newStore(t, nil) })
	})
	t.Run("TinyWindow", func(t *testing.T) {
		restore := pgstore.SetClaimWindow(1, 1)
		defer restore()
		storetest.Run(t, func(t *testing.T) webhooks.Store { return newStore(t, nil) })
	})
}
