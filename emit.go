package webhooks

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
)

// Emit records ev and one delivery for every active webhook of ev's client
// subscribed to its type (for ev's company, or system-wide). When Emit
// returns nil the event is durable in the store; when the store fails Emit
// returns the error and nothing is partly stored. Emit is idempotent on
// ev.ID within a client: a repeat stores and sends nothing new, so callers
// may retry it. An event nobody subscribes to is not stored.
func (d *Dispatcher) Emit(ctx context.Context, ev Event) error {
	st, item, hooks, err := d.prepare(ctx, &ev, nil)
	if err != nil || item == nil {
		return err
	}
	var stored func(EnqueueResult, error)
	r, wake := d.reserveDirect(ev.Client.ID, hooks)
	if r != nil {
		item.Lease, item.LeaseOnly = d.cfg.Lease, r.leaseOnly(hooks)
		stored = func(res EnqueueResult, err error) { d.dispatchDirect(r, st, item, res, err) }
	}
	if err := d.batcher(ev.Client.ID).enqueue(ctx, st, *item, stored); err != nil {
		return fmt.Errorf("webhooks: emit %s %s: %w", ev.Type, item.EventID, err)
	}
	if wake {
		d.Wake() // deliveries for Claim; full lanes wake it themselves as they drain
	}
	return nil
}

// EmitTx is Emit inside the host's own transaction (a transactional
// outbox): the event and its deliveries commit or roll back with the host's
// rows. tx comes from the store package, e.g. sqlitestore.WrapTx(sqlTx); the
// client's store must implement TxStore. A store that notifies other
// processes (pgstore sends NOTIFY in the transaction) wakes every
// dispatcher at commit; otherwise deliveries start at the next poll, or at
// once if the host calls Wake after committing.
func (d *Dispatcher) EmitTx(ctx context.Context, tx Tx, ev Event) error {
	if tx == nil {
		return fmt.Errorf("webhooks: EmitTx: nil transaction: %w", ErrTxUnsupported)
	}
	st, item, _, err := d.prepare(ctx, &ev, tx)
	if err != nil || item == nil {
		return err
	}
	if _, err := st.Enqueue(ctx, []EnqueueEvent{*item}); err != nil {
		return fmt.Errorf("webhooks: emit %s %s: %w", ev.Type, item.EventID, err)
	}
	return nil
}

// prepare validates and completes ev, finds its webhooks and encodes it. It
// returns a nil item when no webhook is subscribed, and the subscribed
// webhooks in the order of item.WebhookIDs. With tx, the store is the
// client's store bound to tx.
func (d *Dispatcher) prepare(ctx context.Context, ev *Event, tx Tx) (Store, *EnqueueEvent, []*Webhook, error) {
	if _, ok := d.cfg.Registry.Lookup(ev.Type); !ok {
		if err := ValidateEventTypeName(ev.Type); err != nil {
			return nil, nil, nil, err
		}
		return nil, nil, nil, fmt.Errorf("webhooks: emit: %w %q (register it in the Registry first)", ErrUnknownEventType, ev.Type)
	}
	if ev.Client.ID == "" {
		if id, ok := ClientFromContext(ctx); ok {
			ev.Client.ID = id
		}
	}
	st, err := d.store(ctx, ev.Client.ID)
	if err != nil {
		return nil, nil, nil, err
	}
	if tx != nil {
		ts, ok := st.(TxStore)
		if !ok {
			return nil, nil, nil, fmt.Errorf("webhooks: EmitTx: client %q: %w", ev.Client.ID, ErrTxUnsupported)
		}
		if st, err = ts.WithTx(tx); err != nil {
			return nil, nil, nil, err
		}
	}
	if ev.Client.Name == "" {
		ev.Client = d.client(ctx, ev.Client.ID)
	}
	if ev.ID == "" {
		ev.ID = NewEventID()
	} else if err := validateEventID(ev.ID); err != nil {
		return nil, nil, nil, err
	}
	if ev.Time.IsZero() {
		ev.Time = d.now()
	} else if y := ev.Time.UTC().Year(); y < 1 || y > 9999 {
		return nil, nil, nil, fmt.Errorf("%w: event time %s is outside years 1-9999", ErrInvalid, ev.Time)
	}
	ev.Time = ev.Time.UTC()
	frozen, err := freezeEvent(ev)
	if err != nil {
		return nil, nil, nil, err
	}
	frozen, body, err := d.fitPayload(frozen)
	if err != nil {
		return nil, nil, nil, err
	}
	hooks, err := d.matches.match(ctx, st, ev.Client.ID, MatchParams{CompanyID: companyID(ev.Company), EventType: ev.Type})
	if err != nil {
		return nil, nil, nil, fmt.Errorf("webhooks: emit %s: matching webhooks: %w", ev.Type, err)
	}
	hooks = d.filterWebhooks(ev.Client.ID, frozen, body, hooks)
	if len(hooks) == 0 {
		return st, nil, nil, nil
	}
	payload, err := MarshalEvent(frozen)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("webhooks: emit %s: %w", ev.Type, err)
	}
	item := &EnqueueEvent{
		EventID:   ev.ID,
		EventType: ev.Type,
		CompanyID: companyID(ev.Company),
		Payload:   payload,
		CreatedAt: d.now(),
	}
	for _, w := range hooks {
		item.WebhookIDs = append(item.WebhookIDs, w.ID)
	}
	return st, item, hooks, nil
}

// fitPayload applies Limits.MaxPayloadBytes to the largest body the envelope
// can produce for ev (the longest webhook ID): truncate it as the seed
// describes, or reject it. It returns the event to store and its body,
// which payload filters read.
func (d *Dispatcher) fitPayload(ev *Event) (*Event, []byte, error) {
	body, err := d.cfg.Envelope.Marshal(ev, math.MaxInt64)
	if err != nil {
		return nil, nil, fmt.Errorf("webhooks: emit %s: encoding payload: %w", ev.Type, err)
	}
	limit := d.cfg.Limits.MaxPayloadBytes
	if len(body) <= limit {
		return ev, body, nil
	}
	if d.cfg.RejectOversizePayloads {
		return nil, nil, fmt.Errorf("webhooks: emit %s: %w: %d bytes, limit %d", ev.Type, ErrPayloadTooLarge, len(body), limit)
	}
	small := truncateEvent(ev)
	if body, err = d.cfg.Envelope.Marshal(small, math.MaxInt64); err != nil {
		return nil, nil, fmt.Errorf("webhooks: emit %s: encoding payload: %w", ev.Type, err)
	}
	if len(body) > limit {
		return nil, nil, fmt.Errorf("webhooks: emit %s: %w even truncated: %d bytes, limit %d", ev.Type, ErrPayloadTooLarge, len(body), limit)
	}
	return small, body, nil
}

// filterWebhooks drops the webhooks whose payload filter ev's body does not
// satisfy. Webhooks without filters cost nothing; the body is decoded once,
// and only when some webhook has a filter. A stored filter that does not
// compile matches nothing and is logged. hooks may be shared (the match
// cache): it is never modified.
func (d *Dispatcher) filterWebhooks(clientID string, ev *Event, body []byte, hooks []*Webhook) []*Webhook {
	filtered := false
	for _, w := range hooks {
		filtered = filtered || len(w.Filters) > 0
	}
	if !filtered {
		return hooks
	}
	var (
		doc     any
		decoded bool
		out     = make([]*Webhook, 0, len(hooks))
	)
	for _, w := range hooks {
		if len(w.Filters) == 0 {
			out = append(out, w)
			continue
		}
		f, err := d.filters.get(w.Filters)
		if err != nil {
			d.log.Error("webhooks: skipping webhook with an unreadable filter", "client", clientID, "webhook", w.ID, "err", err)
			continue
		}
		if !decoded {
			doc, decoded = d.filterDocument(ev, body), true
		}
		if f.Match(doc) {
			out = append(out, w)
		}
	}
	return out
}

// filterDocument decodes body and adds the envelope's FilterFields.
func (d *Dispatcher) filterDocument(ev *Event, body []byte) any {
	var doc any
	if err := json.Unmarshal(body, &doc); err != nil {
		return nil // a body that is not JSON has no paths: only $ne, $nin, $exists:false match
	}
	ff, ok := d.cfg.Envelope.(FilterFielder)
	if !ok {
		return doc
	}
	top, isObj := doc.(map[string]any)
	if !isObj {
		return doc
	}
	for k, v := range ff.FilterFields(ev) {
		if _, taken := top[k]; !taken {
			top[k] = normalizeJSON(v)
		}
	}
	return top
}

// normalizeJSON gives a FilterFields value the shape json.Unmarshal would
// (float64 numbers, map[string]any objects), so filters compare it alike.
// Maps and lists of such values are walked rather than re-encoded: Emit
// calls this for every event that meets a filtered webhook.
func normalizeJSON(v any) any {
	switch x := v.(type) {
	case string, bool, float64, nil:
		return v
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = normalizeJSON(e)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = normalizeJSON(e)
		}
		return out
	}
	b, err := json.Marshal(v)
	if err != nil {
		return nil
	}
	var out any
	if json.Unmarshal(b, &out) != nil {
		return nil
	}
	return out
}

func companyID(c *Company) *int64 {
	if c == nil {
		return nil
	}
	id := c.ID
	return &id
}

// validateEventID accepts IDs that can travel in a header: 1 to 255
// printable ASCII characters without spaces.
func validateEventID(id string) error {
	if len(id) > 255 {
		return fmt.Errorf("%w: event ID is longer than 255 bytes", ErrInvalid)
	}
	for i := 0; i < len(id); i++ {
		if id[i] <= ' ' || id[i] > '~' {
			return fmt.Errorf("%w: event ID %q: use printable ASCII without spaces", ErrInvalid, id)
		}
	}
	return nil
}
