package webhooks

import (
	"context"
)

// Direct dispatch: when the dispatcher runs and has room, Emit stores its
// deliveries already leased to this process (EnqueueEvent.Lease) and hands
// them straight to their lanes, so a fresh event costs one store write and
// no Claim round trip. Everything else (retries, other processes' emits,
// EmitTx, emits while the lanes are full) goes through Claim as before;
// a lease this process cannot honour lapses or is released, and Claim
// picks the delivery up, so the shortcut never loses work.

// reservation is room held in the lanes for one event's deliveries between
// reserveDirect and dispatchDirect.
type reservation struct {
	client string
	hooks  []*Webhook
	lanes  []*lane
}

// reserveDirect holds room for one delivery in the lane of each of hooks
// that has some, and in the dispatcher's claim budget. It returns nil (use
// Claim for all) when the dispatcher is not running, is out of budget, or
// no lane has room. The webhooks whose lanes are full get their deliveries
// unleased (EnqueueEvent.LeaseOnly) and their lanes marked behind: Claim
// fills them as they drain, so a hanging endpoint neither slows the others'
// deliveries down nor costs a Claim per Emit. wake reports that the fetch
// loop should look now: the dispatcher had no budget or is not running.
func (d *Dispatcher) reserveDirect(client string, hooks []*Webhook) (r *reservation, wake bool) {
	if len(hooks) == 0 {
		return nil, false
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.state != stateRunning || d.claimed+len(hooks) > d.maxClaimed() {
		return nil, true
	}
	r = &reservation{client: client}
	for _, w := range hooks {
		l := d.laneFor(laneKey{client, w.ID})
		if d.laneFull(l) {
			l.behind = true
			continue
		}
		l.reserved++
		r.hooks = append(r.hooks, w)
		r.lanes = append(r.lanes, l)
	}
	if len(r.hooks) == 0 {
		return nil, false
	}
	d.claimed += len(r.hooks)
	return r, false
}

// leaseOnly is EnqueueEvent.LeaseOnly for r: nil when r covers every
// webhook.
func (r *reservation) leaseOnly(hooks []*Webhook) []int64 {
	if len(r.hooks) == len(hooks) {
		return nil
	}
	ids := make([]int64, len(r.hooks))
	for i, w := range r.hooks {
		ids[i] = w.ID
	}
	return ids
}

// dispatchDirect queues the deliveries Enqueue created under r's lease and
// frees the rest of r. If the dispatcher stopped meanwhile, the leases are
// released so that the next dispatcher claims them at once.
func (d *Dispatcher) dispatchDirect(r *reservation, st Store, item *EnqueueEvent, res EnqueueResult, err error) {
	if err != nil || res.Duplicate {
		d.mu.Lock()
		d.unreserve(r.lanes, len(r.lanes))
		d.mu.Unlock()
		return
	}
	ev, _ := UnmarshalEvent(item.Payload) // once for all its deliveries; an error is recorded when sending
	index := make(map[int64]int, len(r.hooks))
	for i, w := range r.hooks {
		index[w.ID] = i
	}
	d.mu.Lock()
	if d.state != stateRunning {
		d.unreserve(r.lanes, len(r.lanes))
		d.mu.Unlock()
		var refs []ClaimRef
		for _, ed := range res.Deliveries {
			if ed.Token != 0 {
				refs = append(refs, ClaimRef{DeliveryID: ed.ID, Token: ed.Token})
			}
		}
		ctx, cancel := context.WithTimeout(context.Background(), storeTimeout)
		defer cancel()
		if err := st.Release(ctx, refs); err != nil {
			d.log.Warn("webhooks: releasing deliveries leased at emit after Stop; they are sent after the lease", "client", r.client, "count", len(refs), "err", err)
		}
		return
	}
	used := make([]bool, len(r.hooks))
	leaseUntil := item.CreatedAt.Add(item.Lease)
	for _, ed := range res.Deliveries {
		i, ok := index[ed.WebhookID]
		if !ok || used[i] || ed.Token == 0 {
			continue // created unleased (LeaseOnly): Claim takes it
		}
		used[i] = true
		l := r.lanes[i]
		l.reserved--
		d.claimed--
		d.queueLocked(l, &job{client: r.client, store: st, claim: &ClaimedDelivery{
			Delivery: Delivery{
				ID: ed.ID, EventID: item.EventID, EventType: item.EventType,
				WebhookID: ed.WebhookID, CompanyID: item.CompanyID, Status: StatusPending,
				NextAttemptAt: item.CreatedAt, CreatedAt: item.CreatedAt, UpdatedAt: item.CreatedAt,
			},
			Token: ed.Token, LeaseUntil: leaseUntil, Webhook: r.hooks[i], Payload: item.Payload,
		}, event: ev})
	}
	for i, l := range r.lanes {
		if !used[i] { // the webhook was deleted before the write
			d.unreserve([]*lane{l}, 1)
		}
	}
	d.mu.Unlock()
}

// unreserve gives back n deliveries' room held in lanes. d.mu is held.
func (d *Dispatcher) unreserve(lanes []*lane, n int) {
	for _, l := range lanes {
		l.reserved--
	}
	d.claimed -= n
}
