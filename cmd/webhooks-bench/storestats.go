package main

import (
	"context"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/webhookkit/webhooks"
)

// StoreCalls counts the dispatcher's calls to its store during a scenario
// (-store-stats): how many, how many items each carried, how long they took.
// They show where the time goes without a profiler, and whether batching
// works (a Claim returning few rows costs a round trip all the same).
type StoreCalls struct {
	Match    OpStats `json:"matchWebhooks"`
	Enqueue  OpStats `json:"enqueue"`
	Claim    OpStats `json:"claim"`
	Complete OpStats `json:"complete"`
	Release  OpStats `json:"release"`
}

// OpStats summarises one store method.
type OpStats struct {
	Calls int64 `json:"calls"`
	// Items: events enqueued, deliveries claimed, completions or releases.
	Items   int64   `json:"items"`
	TotalMs float64 `json:"totalMs"`
}

func (s OpStats) String() string {
	if s.Calls == 0 {
		return "-"
	}
	return fmt.Sprintf("%d × %.1f in %.2fms", s.Calls, float64(s.Items)/float64(s.Calls), s.TotalMs/float64(s.Calls))
}

type opCounter struct{ calls, items, nanos atomic.Int64 }

func (c *opCounter) add(items int, since time.Time) {
	c.calls.Add(1)
	c.items.Add(int64(items))
	c.nanos.Add(int64(time.Since(since)))
}

func (c *opCounter) stats() OpStats {
	return OpStats{Calls: c.calls.Load(), Items: c.items.Load(), TotalMs: float64(c.nanos.Load()) / 1e6}
}

type storeCounters struct{ match, enqueue, claim, complete, release opCounter }

func (c *storeCounters) snapshot() *StoreCalls {
	return &StoreCalls{Match: c.match.stats(), Enqueue: c.enqueue.stats(), Claim: c.claim.stats(),
		Complete: c.complete.stats(), Release: c.release.stats()}
}

// countingStore wraps a store to count the calls on the delivery path.
type countingStore struct {
	webhooks.Store
	c *storeCounters
}

// countingListener keeps the wrapped store's Listener (Pub/Sub, LISTEN).
type countingListener struct {
	countingStore
	l webhooks.Listener
}

func (s countingListener) Listen(ctx context.Context, wake func()) error {
	return s.l.Listen(ctx, wake)
}

func withCounters(st webhooks.Store, c *storeCounters) webhooks.Store {
	cs := countingStore{Store: st, c: c}
	if l, ok := st.(webhooks.Listener); ok {
		return countingListener{countingStore: cs, l: l}
	}
	return cs
}

func (s countingStore) MatchWebhooks(ctx context.Context, p webhooks.MatchParams) ([]*webhooks.Webhook, error) {
	t0 := time.Now()
	ws, err := s.Store.MatchWebhooks(ctx, p)
	s.c.match.add(len(ws), t0)
	return ws, err
}

func (s countingStore) Enqueue(ctx context.Context, events []webhooks.EnqueueEvent) ([]webhooks.EnqueueResult, error) {
	t0 := time.Now()
	res, err := s.Store.Enqueue(ctx, events)
	s.c.enqueue.add(len(events), t0)
	return res, err
}

func (s countingStore) Claim(ctx context.Context, p webhooks.ClaimParams) ([]*webhooks.ClaimedDelivery, error) {
	t0 := time.Now()
	cl, err := s.Store.Claim(ctx, p)
	s.c.claim.add(len(cl), t0)
	return cl, err
}

func (s countingStore) Complete(ctx context.Context, cs []webhooks.Completion) (webhooks.CompleteResult, error) {
	t0 := time.Now()
	res, err := s.Store.Complete(ctx, cs)
	s.c.complete.add(len(cs), t0)
	return res, err
}

func (s countingStore) Release(ctx context.Context, claims []webhooks.ClaimRef) error {
	t0 := time.Now()
	err := s.Store.Release(ctx, claims)
	s.c.release.add(len(claims), t0)
	return err
}
