package redisstore_test

import (
	"context"
	"fmt"
	"os"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/webhookkit/webhooks/store/redisstore"
)

// redisOptions returns the options of WEBHOOKS_TEST_REDIS_URL. When it is
// unset the test is skipped, unless WEBHOOKS_REQUIRE_SERVICES=1 (CI), where
// it fails.
func redisOptions(t testing.TB) *redis.Options {
	t.Helper()
	u := os.Getenv("WEBHOOKS_TEST_REDIS_URL")
	if u == "" {
		if os.Getenv("WEBHOOKS_REQUIRE_SERVICES") == "1" {
			t.Fatal("WEBHOOKS_REQUIRE_SERVICES=1 but WEBHOOKS_TEST_REDIS_URL is not set")
		}
		t.Skip("set WEBHOOKS_TEST_REDIS_URL (e.g. redis://127.0.0.1:6379/0) to run the Redis suites")
	}
	opts, err := redis.ParseURL(u)
	require.NoError(t, err, "WEBHOOKS_TEST_REDIS_URL")
	return opts
}

// newClient connects to the test Redis and fails the test when it does
// not answer (the URL was set, so it is required).
func newClient(t testing.TB) *redis.Client {
	t.Helper()
	c := redis.NewClient(redisOptions(t))
	t.Cleanup(func() { _ = c.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	require.NoError(t, c.Ping(ctx).Err(), "Redis at WEBHOOKS_TEST_REDIS_URL does not answer")
	return c
}

var prefixSeq atomic.Int64

// uniquePrefix returns a key prefix no other test (in this or another
// process sharing the Redis) uses.
func uniquePrefix() string {
	return fmt.Sprintf("whtest-%d-%d-%d", os.Getpid(), time.Now().UnixNano(), prefixSeq.Add(1))
}

// newStore returns a store on c under prefix (a fresh one when ""),
// whose keys are deleted when the test ends.
func newStore(t testing.TB, c redis.UniversalClient, prefix string) *redisstore.Store {
	t.Helper()
	if prefix == "" {
		prefix = uniquePrefix()
	}
	st, err := redisstore.New(c, &redisstore.Options{Prefix: prefix})
	require.NoError(t, err)
	cleanupKeys(t, c, st.KeyPrefix())
	return st
}

// newStoreNoCleanup returns a store on c under a fresh prefix; the caller
// deletes its keys.
func newStoreNoCleanup(t testing.TB, c redis.UniversalClient) *redisstore.Store {
	t.Helper()
	st, err := redisstore.New(c, &redisstore.Options{Prefix: uniquePrefix()})
	require.NoError(t, err)
	return st
}

// cleanupKeys deletes every key starting with keyPrefix when the test ends
// (SCAN MATCH, never FLUSHDB: the Redis is shared).
func cleanupKeys(t testing.TB, c redis.UniversalClient, keyPrefix string) {
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		require.NoError(t, deleteKeys(ctx, c, keyPrefix))
	})
}

func deleteKeys(ctx context.Context, c redis.UniversalClient, keyPrefix string) error {
	iter := c.Scan(ctx, 0, keyPrefix+"*", 1000).Iterator()
	var batch []string
	for iter.Next(ctx) {
		batch = append(batch, iter.Val())
		if len(batch) == 500 {
			if err := c.Unlink(ctx, batch...).Err(); err != nil {
				return err
			}
			batch = batch[:0]
		}
	}
	if err := iter.Err(); err != nil {
		return err
	}
	if len(batch) > 0 {
		return c.Unlink(ctx, batch...).Err()
	}
	return nil
}
