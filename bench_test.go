package webhooks_test

import (
	"path/filepath"
	"testing"

	"github.com/webhookkit/webhooks/internal/e2ebench"
	"github.com/webhookkit/webhooks/store/memstore"
	"github.com/webhookkit/webhooks/store/sqlitestore"
)

// BenchmarkEndToEnd emits b.N events from 8 goroutines to 4 subscribed
// local endpoints and waits for every delivery to arrive. It reports
// deliveries/s (first emit to last 2xx received) and Emit latency.
//
//	go test -run '^$' -bench EndToEnd -benchtime 5000x .
func BenchmarkEndToEnd(b *testing.B) {
	b.Run("store=memory", func(b *testing.B) { e2ebench.Run(b, memstore.New()) })
	b.Run("store=sqlite", func(b *testing.B) {
		st, err := sqlitestore.Open(b.Context(), filepath.Join(b.TempDir(), "bench.db"), nil)
		if err != nil {
			b.Fatal(err)
		}
		defer st.Close()
		e2ebench.Run(b, st)
	})
}
