package redisstore_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/webhookkit/webhooks"
	"github.com/webhookkit/webhooks/store/redisstore"
)

var _ webhooks.Deduper = (*redisstore.Deduper)(nil)

func TestDeduperSharedAcrossClients(t *testing.T) {
	a, b := newClient(t), newClient(t)
	prefix := "test-dedupe-" + webhooks.NewEventID() + ":"
	t.Cleanup(func() { a.Del(t.Context(), prefix+"e1", prefix+"e2") })
	da := redisstore.NewDeduper(a, prefix, time.Minute)
	db := redisstore.NewDeduper(b, prefix, time.Minute)
	first, err := da.FirstSeen(t.Context(), "e1")
	require.NoError(t, err)
	require.True(t, first)
	first, err = db.FirstSeen(t.Context(), "e1")
	require.NoError(t, err)
	require.False(t, first, "another process saw it already")
	first, err = db.FirstSeen(t.Context(), "e2")
	require.NoError(t, err)
	require.True(t, first)
	ttl, err := a.TTL(t.Context(), prefix+"e1").Result()
	require.NoError(t, err)
	require.Greater(t, ttl, 50*time.Second)
}
