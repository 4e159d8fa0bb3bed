package redisstore_test

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/webhookkit/webhooks"
	"github.com/webhookkit/webhooks/store/storetest"
)

// clusterClient connects to the Redis Cluster listed (comma-separated
// host:port seeds) in WEBHOOKS_TEST_REDIS_CLUSTER_ADDRS, or skips: CI has
// no cluster, so this suite is optional.
func clusterClient(t *testing.T) *redis.ClusterClient {
	t.Helper()
	addrs := os.Getenv("WEBHOOKS_TEST_REDIS_CLUSTER_ADDRS")
	if addrs == "" {
		t.Skip("set WEBHOOKS_TEST_REDIS_CLUSTER_ADDRS (e.g. 127.0.0.1:7001,127.0.0.1:7002) to run the Cluster suite")
	}
	c := redis.NewClusterClient(&redis.ClusterOptions{Addrs: strings.Split(addrs, ",")})
	t.Cleanup(func() { _ = c.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	require.NoError(t, c.Ping(ctx).Err())
	return c
}

// TestClusterConformance runs the contract suite on Redis Cluster: every
// script's keys must hash to the client's slot.
func TestClusterConformance(t *testing.T) {
	c := clusterClient(t)
	storetest.Run(t, func(t *testing.T) webhooks.Store {
		st := newStoreNoCleanup(t, c)
		t.Cleanup(func() {
			// All of the client's keys are on the node owning its slot.
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			require.NoError(t, c.ForEachMaster(ctx, func(ctx context.Context, node *redis.Client) error {
				return deleteKeys(ctx, node, st.KeyPrefix())
			}))
		})
		return st
	})
}

// TestClusterListen: a script's PUBLISH reaches a subscriber on the
// cluster.
func TestClusterListen(t *testing.T) {
	c := clusterClient(t)
	st := newStoreNoCleanup(t, c)
	defer func() {
		_ = c.ForEachMaster(context.Background(), func(ctx context.Context, node *redis.Client) error {
			return deleteKeys(ctx, node, st.KeyPrefix())
		})
	}()
	wakes := make(chan struct{}, 10)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	go func() { _ = st.Listen(ctx, func() { wakes <- struct{}{} }) }()
	select {
	case <-wakes:
	case <-time.After(5 * time.Second):
		t.Fatal("no wake-up after subscribing")
	}
	h := &webhooks.Webhook{Name: "h", URL: "https://example.com/h", Events: []string{"*"}, IsActive: true}
	require.NoError(t, st.CreateWebhook(t.Context(), h, 0))
	_, err := st.Enqueue(t.Context(), []webhooks.EnqueueEvent{{EventID: "e", EventType: "a.b", Payload: []byte("{}"), WebhookIDs: []int64{h.ID}}})
	require.NoError(t, err)
	select {
	case <-wakes:
	case <-time.After(5 * time.Second):
		t.Fatal("no wake-up after Enqueue")
	}
}
