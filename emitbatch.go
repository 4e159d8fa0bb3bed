package webhooks

import (
	"context"
	"sync"
)

// emitBatcher groups concurrent Emit calls on one store into one Enqueue
// (group commit): while one caller writes, the others queue, and the next
// writer takes everything queued in a single transaction. With one caller
// at a time it adds nothing; with many it turns N small write
// transactions into a few large ones, which is what a single-writer store
// such as SQLite needs.
type emitBatcher struct {
	mu       sync.Mutex
	pending  []*emitRequest
	flushing bool
}

type emitRequest struct {
	item EnqueueEvent
	done chan error
}

// maxEmitBatch bounds one grouped write.
const maxEmitBatch = 256

// batcher returns the batcher of a store.
func (d *Dispatcher) batcher(st Store) *emitBatcher {
	if b, ok := d.batchers.Load(st); ok {
		return b.(*emitBatcher)
	}
	b, _ := d.batchers.LoadOrStore(st, &emitBatcher{})
	return b.(*emitBatcher)
}

// enqueue stores item, possibly together with other callers' items, and
// returns once it is stored (or failed).
func (b *emitBatcher) enqueue(ctx context.Context, st Store, item EnqueueEvent) error {
	req := &emitRequest{item: item, done: make(chan error, 1)}
	b.mu.Lock()
	b.pending = append(b.pending, req)
	if b.flushing {
		b.mu.Unlock()
		return <-req.done // the current writer takes it next; it always answers
	}
	b.flushing = true
	for {
		batch := b.pending[:min(len(b.pending), maxEmitBatch)]
		b.pending = b.pending[len(batch):]
		b.mu.Unlock()
		// Other callers' events ride on this write: the caller's
		// cancellation must not fail them.
		b.write(context.WithoutCancel(ctx), st, batch)
		b.mu.Lock()
		if len(b.pending) == 0 {
			b.flushing = false
			b.mu.Unlock()
			return <-req.done
		}
	}
}

// write enqueues a batch; if the batch fails as a whole, each item is tried
// alone so one bad event cannot fail the others.
func (b *emitBatcher) write(ctx context.Context, st Store, batch []*emitRequest) {
	items := make([]EnqueueEvent, len(batch))
	for i, r := range batch {
		items[i] = r.item
	}
	if _, err := st.Enqueue(ctx, items); err == nil || len(batch) == 1 {
		for _, r := range batch {
			r.done <- err
		}
		return
	}
	for _, r := range batch {
		_, err := st.Enqueue(ctx, []EnqueueEvent{r.item})
		r.done <- err
	}
}
