package webhooks

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// emitBatcher groups concurrent Emit calls of one client into one Enqueue
// (group commit): while one write is under way, other callers queue, and
// the next write takes everything queued in a single transaction. With one
// caller at a time it adds nothing; with many it turns N small write
// transactions into a few large ones, which a single-writer store such as
// SQLite needs.
type emitBatcher struct {
	mu       sync.Mutex
	pending  []*emitRequest
	flushing bool
}

type emitRequest struct {
	item EnqueueEvent
	// stored, when set, is called by the writing goroutine with the item's
	// result (or the write's error) before the caller is told: it hands
	// deliveries leased at enqueue to the lanes even if the caller's
	// context ended meanwhile.
	stored func(EnqueueResult, error)
	done   chan error
}

const (
	// maxEmitBatch bounds one grouped write.
	maxEmitBatch = 256
	// emitWriteTimeout bounds one grouped write: it carries several
	// callers' events, so it cannot use any one caller's context.
	emitWriteTimeout = 30 * time.Second
)

// batcher returns the client's batcher.
func (d *Dispatcher) batcher(clientID string) *emitBatcher {
	if b, ok := d.batchers.Load(clientID); ok {
		return b.(*emitBatcher)
	}
	b, _ := d.batchers.LoadOrStore(clientID, &emitBatcher{})
	return b.(*emitBatcher)
}

// enqueue stores item, possibly in one write with other callers' items.
// The caller that finds no write under way writes what is queued, its own
// item first in line; whatever queued meanwhile is written by a background
// drain, so no caller waits for more than its own write. If ctx ends first
// enqueue returns ctx.Err(), and the event may still be stored (Emit is
// idempotent, so retrying is safe).
func (b *emitBatcher) enqueue(ctx context.Context, st Store, item EnqueueEvent, stored func(EnqueueResult, error)) error {
	req := &emitRequest{item: item, stored: stored, done: make(chan error, 1)}
	b.mu.Lock()
	b.pending = append(b.pending, req)
	if !b.flushing {
		b.flushing = true
		b.flushOnce(st) // unlocks
		b.mu.Lock()
		if len(b.pending) > 0 {
			go b.drain(st)
		} else {
			b.flushing = false
		}
	}
	b.mu.Unlock()
	select {
	case err := <-req.done:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// flushOnce writes one batch of what is queued. It is called with b.mu
// held and returns with it released.
func (b *emitBatcher) flushOnce(st Store) {
	batch := b.pending[:min(len(b.pending), maxEmitBatch)]
	b.pending = b.pending[len(batch):]
	b.mu.Unlock()
	items := make([]EnqueueEvent, len(batch))
	for i, r := range batch {
		items[i] = r.item
	}
	ctx, cancel := context.WithTimeout(context.Background(), emitWriteTimeout)
	res, err := st.Enqueue(ctx, items)
	cancel()
	if err == nil && len(res) != len(items) {
		err = fmt.Errorf("webhooks: store returned %d enqueue results for %d events", len(res), len(items))
	}
	for i, r := range batch {
		if r.stored != nil {
			var ri EnqueueResult
			if err == nil {
				ri = res[i]
			}
			r.stored(ri, err)
		}
		r.done <- err
	}
}

// drain writes batches until nothing is queued.
func (b *emitBatcher) drain(st Store) {
	b.mu.Lock()
	for len(b.pending) > 0 {
		b.flushOnce(st)
		b.mu.Lock()
	}
	b.flushing = false
	b.mu.Unlock()
}
