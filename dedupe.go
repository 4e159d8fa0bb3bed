package webhooks

import (
	"context"
	"encoding/json"
	"sync"
	"time"
)

// Deduper remembers event IDs a receiver has processed, so that
// Verifier.Middleware can drop repeats: deliveries are at least once.
type Deduper interface {
	// FirstSeen records id and reports whether it was new. Implementations
	// forget IDs after their TTL.
	FirstSeen(ctx context.Context, id string) (bool, error)
}

// MemoryDeduper is an in-process Deduper with a TTL. It is safe for
// concurrent use; create one with NewMemoryDeduper.
type MemoryDeduper struct {
	ttl  time.Duration
	now  func() time.Time
	mu   sync.Mutex
	seen map[string]time.Time // id → expiry
	next time.Time            // next sweep of expired IDs
}

// NewMemoryDeduper returns a MemoryDeduper remembering IDs for ttl
// (default 24 hours, longer than the default retry schedule).
func NewMemoryDeduper(ttl time.Duration) *MemoryDeduper {
	if ttl <= 0 {
		ttl = 24 * time.Hour
	}
	return &MemoryDeduper{ttl: ttl, now: time.Now, seen: make(map[string]time.Time)}
}

// FirstSeen implements Deduper.
func (m *MemoryDeduper) FirstSeen(_ context.Context, id string) (bool, error) {
	now := m.now()
	m.mu.Lock()
	defer m.mu.Unlock()
	if now.After(m.next) { // amortised sweep keeps memory at about one TTL of IDs
		for k, exp := range m.seen {
			if now.After(exp) {
				delete(m.seen, k)
			}
		}
		m.next = now.Add(m.ttl / 4)
	}
	if exp, ok := m.seen[id]; ok && !now.After(exp) {
		return false, nil
	}
	m.seen[id] = now.Add(m.ttl)
	return true, nil
}

// EventIDOf finds a request's event ID: the webhook-id header (Standard
// Webhooks), else the body's "eventId" (TGM envelope) or "id" field.
func EventIDOf(h interface{ Get(string) string }, body []byte) string {
	if id := h.Get(HeaderWebhookID); id != "" {
		return id
	}
	var b struct {
		EventID string `json:"eventId"`
		ID      any    `json:"id"`
	}
	if json.Unmarshal(body, &b) != nil {
		return ""
	}
	if b.EventID != "" {
		return b.EventID
	}
	if s, ok := b.ID.(string); ok {
		return s
	}
	return ""
}
