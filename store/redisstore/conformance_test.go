package redisstore_test

import (
	"testing"

	"github.com/webhookkit/webhooks"
	"github.com/webhookkit/webhooks/store/storetest"
)

// TestConformance runs the store contract suite against the Redis at
// WEBHOOKS_TEST_REDIS_URL, each subtest under its own key prefix.
func TestConformance(t *testing.T) {
	c := newClient(t)
	storetest.Run(t, func(t *testing.T) webhooks.Store { return newStore(t, c, "") })
}
