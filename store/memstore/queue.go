package memstore

import (
	"container/heap"
	"time"
)

// queue indexes the open deliveries Claim may take, so a claim costs
// O(W + k log n) for W webhooks with claimable work and k deliveries taken,
// however many deliveries are stored, leased or waiting for a later retry:
//
//   - ready holds, per webhook, the open deliveries not under a live lease
//     (never claimed, released, completed for a retry, or whose lease
//     lapsed), ordered by due time then ID;
//   - leases holds the deliveries under a claim, by expiry; Claim moves the
//     lapsed ones back to ready, Complete and Release take theirs out.
type queue struct {
	ready  map[int64]*indexedHeap
	leases *indexedHeap
}

func newQueue() queue {
	return queue{ready: make(map[int64]*indexedHeap), leases: &indexedHeap{less: leaseBefore, pos: leasePos}}
}

// makeReady puts d in its webhook's ready heap, or moves it after its due
// time changed.
func (q *queue) makeReady(d *delivery) {
	if d.readyAt >= 0 {
		heap.Fix(q.ready[d.d.WebhookID], d.readyAt)
		return
	}
	h := q.ready[d.d.WebhookID]
	if h == nil {
		h = &indexedHeap{less: dueBefore, pos: readyPos}
		q.ready[d.d.WebhookID] = h
	}
	heap.Push(h, d)
}

// unready takes d out of its webhook's ready heap, if there.
func (q *queue) unready(d *delivery) {
	if d.readyAt < 0 {
		return
	}
	h := q.ready[d.d.WebhookID]
	heap.Remove(h, d.readyAt)
	if h.Len() == 0 {
		delete(q.ready, d.d.WebhookID)
	}
}

// leased records d's new claim (token and leaseUntil already set) and
// takes d out of ready.
func (q *queue) leased(d *delivery) {
	q.unready(d)
	if d.leaseAt >= 0 {
		heap.Fix(q.leases, d.leaseAt)
		return
	}
	heap.Push(q.leases, d)
}

// settled takes d out of the index: it was completed or deleted. A
// delivery completed for a retry is then made ready again by the caller.
func (q *queue) settled(d *delivery) {
	q.unready(d)
	if d.leaseAt >= 0 {
		heap.Remove(q.leases, d.leaseAt)
	}
}

// lapse moves the deliveries whose claim expired by now back to ready.
// They stay held: their holder may still complete them until another
// claim replaces the token.
func (q *queue) lapse(now time.Time) {
	for q.leases.Len() > 0 && !q.leases.items[0].leaseUntil.After(now) {
		q.makeReady(heap.Pop(q.leases).(*delivery))
	}
}

// take removes and returns, oldest due first, up to limit deliveries due
// at now, at most perWebhook (when > 0) of one webhook, skipping webhooks
// for which skip reports true. It merges the webhooks' heaps through a heap
// of their heads, so only the deliveries taken are touched.
func (q *queue) take(now time.Time, limit, perWebhook int, skip func(webhookID int64) bool) []*delivery {
	var heads headHeap
	for id, h := range q.ready {
		if h.items[0].d.NextAttemptAt.After(now) || skip(id) {
			continue
		}
		heads = append(heads, head{id: id, h: h})
	}
	heap.Init(&heads)
	var out []*delivery
	for len(out) < limit && len(heads) > 0 {
		top := &heads[0]
		out = append(out, heap.Pop(top.h).(*delivery))
		top.taken++
		switch {
		case top.h.Len() == 0:
			delete(q.ready, top.id)
			heap.Pop(&heads)
		case perWebhook > 0 && top.taken >= perWebhook, top.h.items[0].d.NextAttemptAt.After(now):
			heap.Pop(&heads)
		default:
			heap.Fix(&heads, 0)
		}
	}
	return out
}

// dueBefore orders deliveries oldest due first, then by ID.
func dueBefore(a, b *delivery) bool {
	if !a.d.NextAttemptAt.Equal(b.d.NextAttemptAt) {
		return a.d.NextAttemptAt.Before(b.d.NextAttemptAt)
	}
	return a.d.ID < b.d.ID
}

// leaseBefore orders claimed deliveries by lease expiry.
func leaseBefore(a, b *delivery) bool { return a.leaseUntil.Before(b.leaseUntil) }

func readyPos(d *delivery) *int { return &d.readyAt }
func leasePos(d *delivery) *int { return &d.leaseAt }

// indexedHeap is a min-heap of deliveries by less that keeps each
// delivery's index in the field pos returns (-1 once out), so a delivery
// can be moved or removed in O(log n).
type indexedHeap struct {
	items []*delivery
	less  func(a, b *delivery) bool
	pos   func(d *delivery) *int
}

func (h *indexedHeap) Len() int           { return len(h.items) }
func (h *indexedHeap) Less(i, j int) bool { return h.less(h.items[i], h.items[j]) }
func (h *indexedHeap) Swap(i, j int) {
	h.items[i], h.items[j] = h.items[j], h.items[i]
	*h.pos(h.items[i]), *h.pos(h.items[j]) = i, j
}
func (h *indexedHeap) Push(x any) {
	d := x.(*delivery)
	*h.pos(d) = len(h.items)
	h.items = append(h.items, d)
}
func (h *indexedHeap) Pop() any {
	last := len(h.items) - 1
	d := h.items[last]
	h.items[last] = nil
	h.items = h.items[:last]
	*h.pos(d) = -1
	return d
}

// head is one webhook's ready heap during take, with how many it gave.
type head struct {
	id    int64
	h     *indexedHeap
	taken int
}

// headHeap orders webhooks by their oldest due delivery.
type headHeap []head

func (h headHeap) Len() int           { return len(h) }
func (h headHeap) Less(i, j int) bool { return dueBefore(h[i].h.items[0], h[j].h.items[0]) }
func (h headHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *headHeap) Push(x any)        { *h = append(*h, x.(head)) }
func (h *headHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}
