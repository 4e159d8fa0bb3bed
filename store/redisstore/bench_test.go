package redisstore_test

import (
	"testing"

	"github.com/webhookkit/webhooks/internal/e2ebench"
)

// BenchmarkEndToEnd runs the shared end-to-end benchmark (8 emitters, 4
// local endpoints) on a fresh key prefix of the Redis at
// WEBHOOKS_TEST_REDIS_URL:
//
//	WEBHOOKS_TEST_REDIS_URL=redis://127.0.0.1:6379/0 \
//	  go test -run '^$' -bench EndToEnd -benchtime 5000x ./store/redisstore/
func BenchmarkEndToEnd(b *testing.B) {
	e2ebench.Run(b, newStore(b, newClient(b), ""))
}
