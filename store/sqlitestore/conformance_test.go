package sqlitestore_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/webhookkit/webhooks"
	"github.com/webhookkit/webhooks/store/sqlitestore"
	"github.com/webhookkit/webhooks/store/storetest"
)

// TestConformance runs the store contract suite against a fresh database
// file per subtest.
func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) webhooks.Store {
		s, err := sqlitestore.Open(context.Background(), filepath.Join(t.TempDir(), "client.db"), nil)
		require.NoError(t, err)
		t.Cleanup(func() { require.NoError(t, s.Close()) })
		return s
	})
}
