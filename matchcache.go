package webhooks

import (
	"context"
	"sync"
	"time"
)

// matchCache keeps the webhooks Store.MatchWebhooks returned for a client,
// company and event type for Config.WebhookCacheTTL, so an Emit costs one
// store round trip (the write) instead of two. Every webhook change made
// through the Dispatcher forgets the client's entries at once; a change made
// elsewhere (another process, the store directly) shows within the TTL.
type matchCache struct {
	ttl time.Duration // <= 0: no caching

	mu      sync.Mutex
	entries map[matchKey]matchEntry
	// gens counts each client's invalidations: an entry loaded before the
	// latest one is stale even if its TTL has not run out.
	gens map[string]uint64
}

type matchKey struct {
	client     string
	hasCompany bool
	company    int64
	eventType  string
}

type matchEntry struct {
	hooks   []*Webhook
	gen     uint64
	expires time.Time
}

// maxMatchEntries bounds the cache; past it, it starts over empty.
const maxMatchEntries = 10_000

func newMatchCache(ttl time.Duration) *matchCache {
	return &matchCache{ttl: ttl, entries: make(map[matchKey]matchEntry), gens: make(map[string]uint64)}
}

// match returns the active webhooks of client subscribed to p, from the
// cache or from st. The result is shared: callers must not modify it.
// Expiry uses the wall clock, not Config.Now, so a test's frozen clock
// cannot keep an entry forever.
func (c *matchCache) match(ctx context.Context, st Store, client string, p MatchParams) ([]*Webhook, error) {
	if c.ttl <= 0 {
		return st.MatchWebhooks(ctx, p)
	}
	key := matchKey{client: client, eventType: p.EventType}
	if p.CompanyID != nil {
		key.hasCompany, key.company = true, *p.CompanyID
	}
	now := time.Now()
	c.mu.Lock()
	gen := c.gens[client]
	e, ok := c.entries[key]
	c.mu.Unlock()
	if ok && e.gen == gen && now.Before(e.expires) {
		return e.hooks, nil
	}
	hooks, err := st.MatchWebhooks(ctx, p)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	if len(c.entries) >= maxMatchEntries {
		clear(c.entries)
	}
	c.entries[key] = matchEntry{hooks: hooks, gen: gen, expires: now.Add(c.ttl)}
	c.mu.Unlock()
	return hooks, nil
}

// forget drops the client's entries: one of its webhooks changed.
func (c *matchCache) forget(client string) {
	c.mu.Lock()
	c.gens[client]++
	c.mu.Unlock()
}
