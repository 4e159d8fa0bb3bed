package redisstore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
)

// Deduper is a webhooks.Deduper on Redis, for receivers running several
// processes: SET NX with a TTL records each event ID once across all of
// them. Set it as webhooks.Verifier.Dedupe.
type Deduper struct {
	client redis.UniversalClient
	prefix string
	ttl    time.Duration
}

// NewDeduper returns a Deduper keeping IDs under prefix (default
// "webhooks-dedupe:") for ttl (default 24 hours).
func NewDeduper(client redis.UniversalClient, prefix string, ttl time.Duration) *Deduper {
	if prefix == "" {
		prefix = "webhooks-dedupe:"
	}
	if ttl <= 0 {
		ttl = 24 * time.Hour
	}
	return &Deduper{client: client, prefix: prefix, ttl: ttl}
}

// FirstSeen implements webhooks.Deduper.
func (d *Deduper) FirstSeen(ctx context.Context, id string) (bool, error) {
	err := d.client.SetArgs(ctx, d.prefix+id, 1, redis.SetArgs{Mode: "NX", TTL: d.ttl}).Err()
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, redis.Nil):
		return false, nil
	default:
		return false, fmt.Errorf("redisstore: dedupe %q: %w", id, err)
	}
}
