package webhooks

// Hooks into unexported machinery for the external tests.

// ReserveDirect is reserveDirect.
func (d *Dispatcher) ReserveDirect(client string, hooks []*Webhook) any {
	if r, _ := d.reserveDirect(client, hooks); r != nil {
		return r
	}
	return nil
}

// DispatchDirect is dispatchDirect for a reservation from ReserveDirect.
func (d *Dispatcher) DispatchDirect(r any, st Store, item *EnqueueEvent, res EnqueueResult) {
	d.dispatchDirect(r.(*reservation), st, item, res, nil)
}

// Claimed is how many deliveries the dispatcher counts as claimed.
func (d *Dispatcher) Claimed() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.claimed
}
