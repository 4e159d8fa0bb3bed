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
	ready  map[int64]*readyHeap
	leases leaseHeap
}

func newQueue() queue { return queue{ready: make(map[int64]*readyHeap)} }

// makeReady puts d in its webhook's ready heap, or moves it after its due
// time changed.
func (q *queue) makeReady(d *delivery) {
	if d.readyAt >= 0 {
		heap.Fix(q.ready[d.d.WebhookID], d.readyAt)
		return
	}
	h := q.ready[d.d.WebhookID]
	if h == nil {
		h = &readyHeap{}
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
		heap.Fix(&q.leases, d.leaseAt)
		return
	}
	heap.Push(&q.leases, d)
}

// settled takes d out of the index: it was completed or deleted. A
// delivery completed for a retry is then made ready again by the caller.
func (q *queue) settled(d *delivery) {
	q.unready(d)
	if d.leaseAt >= 0 {
		heap.Remove(&q.leases, d.leaseAt)
	}
}

// lapse moves the deliveries whose claim expired by now back to ready.
// They stay held: their holder may still complete them until another
// claim replaces the token.
func (q *queue) lapse(now time.Time) {
	for len(q.leases) > 0 && !q.leases[0].leaseUntil.After(now) {
		q.makeReady(heap.Pop(&q.leases).(*delivery))
	}
}

// take removes and returns, oldest due first, up to limit deliveries due
// at now, at most perWebhook (when > 0) of one webhook, skipping webhooks
// for which skip reports true. It merges the webhooks' heaps through a heap
// of their heads, so only the deliveries taken are touched.
func (q *queue) take(now time.Time, limit, perWebhook int, skip func(webhookID int64) bool) []*delivery {
	var heads headHeap
	for id, h := range q.ready {
		if (*h)[0].d.NextAttemptAt.After(now) || skip(id) {
			continue
		}
		heads = append(heads, head{h: h})
	}
	heap.Init(&heads)
	var out []*delivery
	for len(out) < limit && len(heads) > 0 {
		top := &heads[0]
		d := heap.Pop(top.h).(*delivery)
		out = append(out, d)
		top.taken++
		if top.h.Len() == 0 || (perWebhook > 0 && top.taken >= perWebhook) || (*top.h)[0].d.NextAttemptAt.After(now) {
			heap.Pop(&heads)
		} else {
			heap.Fix(&heads, 0)
		}
	}
	for id, h := range q.ready {
		if h.Len() == 0 {
			delete(q.ready, id)
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

// readyHeap is one webhook's claimable deliveries, a min-heap by dueBefore
// that keeps each delivery's index in readyAt.
type readyHeap []*delivery

func (h readyHeap) Len() int           { return len(h) }
func (h readyHeap) Less(i, j int) bool { return dueBefore(h[i], h[j]) }
func (h readyHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].readyAt, h[j].readyAt = i, j
}
func (h *readyHeap) Push(x any) {
	d := x.(*delivery)
	d.readyAt = len(*h)
	*h = append(*h, d)
}
func (h *readyHeap) Pop() any {
	old := *h
	d := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	d.readyAt = -1
	return d
}

// leaseHeap orders claimed deliveries by lease expiry, keeping each
// delivery's index in leaseAt.
type leaseHeap []*delivery

func (h leaseHeap) Len() int           { return len(h) }
func (h leaseHeap) Less(i, j int) bool { return h[i].leaseUntil.Before(h[j].leaseUntil) }
func (h leaseHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].leaseAt, h[j].leaseAt = i, j
}
func (h *leaseHeap) Push(x any) {
	d := x.(*delivery)
	d.leaseAt = len(*h)
	*h = append(*h, d)
}
func (h *leaseHeap) Pop() any {
	old := *h
	d := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	d.leaseAt = -1
	return d
}

// head is one webhook's ready heap during take, with how many it gave.
type head struct {
	h     *readyHeap
	taken int
}

// headHeap orders webhooks by their oldest due delivery.
type headHeap []head

func (h headHeap) Len() int           { return len(h) }
func (h headHeap) Less(i, j int) bool { return dueBefore((*h[i].h)[0], (*h[j].h)[0]) }
func (h headHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *headHeap) Push(x any)        { *h = append(*h, x.(head)) }
func (h *headHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}
