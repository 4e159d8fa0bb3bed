package sqlitestore

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestClaimUsesDueIndex pins the claim query plan: the due index drives the
// scan in order, with no sort of all due rows.
func TestClaimUsesDueIndex(t *testing.T) {
	ctx := context.Background()
	s, err := Open(ctx, filepath.Join(t.TempDir(), "plan.db"), nil)
	require.NoError(t, err)
	defer s.Close()
	rows, err := s.w.QueryContext(ctx, "EXPLAIN QUERY PLAN "+claimSQL, 2, 1, 1, "[]", 10)
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
	all := strings.Join(plan, "\n")
	require.Contains(t, all, "USING INDEX webhooks_deliveries_due", all)
	require.NotContains(t, all, "TEMP B-TREE", all)
}
