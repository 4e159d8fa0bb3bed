// Package memstore is an in-memory implementation of webhooks.Store for
// tests, examples and demos.
//
// A memstore.Store is one client's store. Everything lives in the memory of
// the process and is lost when it exits: it is not durable, and it cannot be
// shared between processes. It does not implement webhooks.TxStore, so
// Dispatcher.EmitTx fails with webhooks.ErrTxUnsupported on it. Use
// store/sqlitestore (or another durable store) in production.
//
// All methods are safe for concurrent use; a single mutex serialises them.
// Values passed in are copied on the way in and values returned are fresh
// copies, so callers can never change the stored state by mutating them.
package memstore

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"sync"
	"time"

	webhooks "github.com/webhookkit/webhooks"
)

// Paging limits of ListDeliveries.
const (
	// DefaultListLimit is the page size of ListDeliveries when
	// ListDeliveriesParams.Limit is zero or negative.
	DefaultListLimit = 20
	// MaxListLimit is the largest page ListDeliveries returns, whatever
	// ListDeliveriesParams.Limit asks for.
	MaxListLimit = 1000
)

// Store is an in-memory webhooks.Store holding one client's webhooks,
// events, deliveries and attempts. It is not durable. The zero value is not
// usable; create one with New.
type Store struct {
	mu sync.Mutex

	lastWebhookID  int64
	lastDeliveryID int64

	webhooks   map[int64]*webhooks.Webhook
	events     map[string]*event
	deliveries map[int64]*delivery
	// queue indexes the PENDING and RETRYING deliveries for Claim, so
	// finished history and far-off retries do not slow claiming down.
	queue queue
}

// event is a stored event, kept for idempotency and for the payload.
type event struct {
	id        string
	eventType string
	companyID *int64
	payload   []byte
	createdAt time.Time
	// deliveries counts the event's deliveries still stored.
	deliveries int
}

// delivery is a stored delivery with its attempts and claim state.
type delivery struct {
	d        webhooks.Delivery // Attempts is always nil here
	attempts []webhooks.Attempt
	// token is the latest fencing token handed out (0: never claimed).
	token int64
	// held reports whether the holder of token may still complete it; it is
	// cleared by Complete.
	held bool
	// leaseUntil is when the current claim lapses; meaningful while held.
	leaseUntil time.Time
	// readyAt and leaseAt are the delivery's positions in the queue's
	// heaps, -1 when not in them.
	readyAt, leaseAt int
}

func newDelivery(d webhooks.Delivery) *delivery {
	return &delivery{d: d, readyAt: -1, leaseAt: -1}
}

var _ webhooks.Store = (*Store)(nil)

// New returns an empty in-memory store. IDs of webhooks and deliveries are
// assigned from counters starting at 1.
func New() *Store {
	return &Store{
		webhooks:   make(map[int64]*webhooks.Webhook),
		events:     make(map[string]*event),
		deliveries: make(map[int64]*delivery),
		queue:      newQueue(),
	}
}

// CreateWebhook implements webhooks.Store. It stores a copy of w and sets
// w.ID. A zero CreatedAt is set to the current time and a zero UpdatedAt to
// CreatedAt (both written back to w). maxPerCompany <= 0 means no limit;
// otherwise the call fails with an error wrapping webhooks.ErrWebhookLimit
// when w's company (nil: the system-wide webhooks) already has that many.
func (s *Store) CreateWebhook(ctx context.Context, w *webhooks.Webhook, maxPerCompany int) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("memstore: create webhook: %w", err)
	}
	if w == nil {
		return fmt.Errorf("memstore: create webhook: nil webhook: %w", webhooks.ErrInvalid)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if maxPerCompany > 0 {
		n := 0
		for _, x := range s.webhooks {
			if sameCompany(x.CompanyID, w.CompanyID) {
				n++
			}
		}
		if n >= maxPerCompany {
			return fmt.Errorf("memstore: create webhook: %d webhooks already exist for %s: %w",
				n, companyLabel(w.CompanyID), webhooks.ErrWebhookLimit)
		}
	}
	if w.CreatedAt.IsZero() {
		w.CreatedAt = time.Now().UTC()
	}
	if w.UpdatedAt.IsZero() {
		w.UpdatedAt = w.CreatedAt
	}
	s.lastWebhookID++
	w.ID = s.lastWebhookID
	stored := copyWebhook(w)
	stored.ClientID = "" // a store is one client's; the dispatcher fills it in
	s.webhooks[stored.ID] = stored
	return nil
}

// GetWebhook implements webhooks.Store. It returns a copy including the
// secret, or an error wrapping webhooks.ErrNotFound.
func (s *Store) GetWebhook(ctx context.Context, id int64) (*webhooks.Webhook, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("memstore: get webhook %d: %w", id, err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	w, err := s.webhook(id)
	if err != nil {
		return nil, err
	}
	return copyWebhook(w), nil
}

// UpdateWebhook implements webhooks.Store: it overwrites the configuration
// fields of w.ID with w's (name, description, URL, events, custom headers,
// filters, method, content type, timeout, retries, TLS verification,
// auto-disable threshold and UpdatedAt; a zero UpdatedAt becomes the current time,
// written back to w). Company, secret, activity, failure counter, disabled
// reason and CreatedAt are kept.
func (s *Store) UpdateWebhook(ctx context.Context, w *webhooks.Webhook) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("memstore: update webhook: %w", err)
	}
	if w == nil {
		return fmt.Errorf("memstore: update webhook: nil webhook: %w", webhooks.ErrInvalid)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	cur, err := s.webhook(w.ID)
	if err != nil {
		return err
	}
	in := copyWebhook(w)
	cur.Name = in.Name
	cur.Description = in.Description
	cur.URL = in.URL
	cur.Events = in.Events
	cur.CustomHeaders = in.CustomHeaders
	cur.Filters = in.Filters
	cur.HTTPMethod = in.HTTPMethod
	cur.ContentType = in.ContentType
	cur.Timeout = in.Timeout
	cur.MaxRetries = in.MaxRetries
	cur.VerifySSL = in.VerifySSL
	cur.AutoDisableAfterFailures = in.AutoDisableAfterFailures
	if in.UpdatedAt.IsZero() {
		in.UpdatedAt = time.Now().UTC()
	}
	cur.UpdatedAt = in.UpdatedAt
	w.UpdatedAt = in.UpdatedAt
	return nil
}

// SetWebhookActive implements webhooks.Store. Enabling resets
// ConsecutiveFailures to 0 and DisabledReason to ""; disabling records
// reason. UpdatedAt becomes now.
func (s *Store) SetWebhookActive(ctx context.Context, id int64, active bool, reason string, now time.Time) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("memstore: set webhook %d active: %w", id, err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	w, err := s.webhook(id)
	if err != nil {
		return err
	}
	w.IsActive = active
	if active {
		w.ConsecutiveFailures = 0
		w.DisabledReason = ""
	} else {
		w.DisabledReason = reason
	}
	w.UpdatedAt = now.UTC()
	return nil
}

// SetWebhookSecret implements webhooks.Store: it replaces the secret and sets
// UpdatedAt to now.
func (s *Store) SetWebhookSecret(ctx context.Context, id int64, secret string, now time.Time) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("memstore: set webhook %d secret: %w", id, err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	w, err := s.webhook(id)
	if err != nil {
		return err
	}
	w.Secret = secret
	w.UpdatedAt = now.UTC()
	return nil
}

// DeleteWebhook implements webhooks.Store: it removes the webhook and its
// deliveries with their attempts. Events stay (for idempotency) until Purge
// finds them without deliveries.
func (s *Store) DeleteWebhook(ctx context.Context, id int64) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("memstore: delete webhook %d: %w", id, err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, err := s.webhook(id); err != nil {
		return err
	}
	delete(s.webhooks, id)
	for did, d := range s.deliveries {
		if d.d.WebhookID == id {
			s.dropDelivery(did, d)
		}
	}
	return nil
}

// ListWebhooks implements webhooks.Store: copies ordered by ID, filtered by
// p.CompanyID or, when that is nil, p.OnlySystemWide.
func (s *Store) ListWebhooks(ctx context.Context, p webhooks.ListWebhooksParams) ([]*webhooks.Webhook, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("memstore: list webhooks: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]*webhooks.Webhook, 0, len(s.webhooks))
	for _, w := range s.webhooks {
		switch {
		case p.CompanyID != nil:
			if w.CompanyID == nil || *w.CompanyID != *p.CompanyID {
				continue
			}
		case p.OnlySystemWide:
			if w.CompanyID != nil {
				continue
			}
		}
		out = append(out, copyWebhook(w))
	}
	sortWebhooks(out)
	return out, nil
}

// MatchWebhooks implements webhooks.Store: copies of the active system-wide
// webhooks and, when p.CompanyID is set, of that company's, whose Events
// select p.EventType (webhooks.MatchAny), ordered by ID.
func (s *Store) MatchWebhooks(ctx context.Context, p webhooks.MatchParams) ([]*webhooks.Webhook, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("memstore: match webhooks: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []*webhooks.Webhook
	for _, w := range s.webhooks {
		if !w.IsActive {
			continue
		}
		if w.CompanyID != nil && (p.CompanyID == nil || *w.CompanyID != *p.CompanyID) {
			continue
		}
		if !webhooks.MatchAny(w.Events, p.EventType) {
			continue
		}
		out = append(out, copyWebhook(w))
	}
	sortWebhooks(out)
	return out, nil
}

// Enqueue implements webhooks.Store. For each event whose ID is not yet
// stored it keeps the event and creates one PENDING delivery per listed
// webhook that exists (a webhook listed twice gets one delivery), due at
// CreatedAt (the current time when zero). With Lease > 0 the deliveries are
// created already claimed until CreatedAt+Lease with token 1. An event ID
// already stored, including one earlier in the same call, is reported as
// Duplicate and adds nothing. An empty EventID fails the whole call with an
// error wrapping webhooks.ErrInvalid before anything is stored.
func (s *Store) Enqueue(ctx context.Context, events []webhooks.EnqueueEvent) ([]webhooks.EnqueueResult, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("memstore: enqueue: %w", err)
	}
	for i := range events {
		if events[i].EventID == "" {
			return nil, fmt.Errorf("memstore: enqueue: event %d has no ID: %w", i, webhooks.ErrInvalid)
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]webhooks.EnqueueResult, len(events))
	for i := range events {
		ev := &events[i]
		if _, dup := s.events[ev.EventID]; dup {
			out[i].Duplicate = true
			continue
		}
		created := ev.CreatedAt.UTC()
		if created.IsZero() {
			created = time.Now().UTC()
		}
		stored := &event{
			id:        ev.EventID,
			eventType: ev.EventType,
			companyID: copyInt64(ev.CompanyID),
			payload:   copyBytes(ev.Payload),
			createdAt: created,
		}
		s.events[ev.EventID] = stored
		seen := make(map[int64]bool, len(ev.WebhookIDs))
		for _, wid := range ev.WebhookIDs {
			if seen[wid] {
				continue
			}
			seen[wid] = true
			if _, ok := s.webhooks[wid]; !ok {
				continue // deleted meanwhile: no delivery
			}
			s.lastDeliveryID++
			d := newDelivery(webhooks.Delivery{
				ID:            s.lastDeliveryID,
				EventID:       ev.EventID,
				EventType:     ev.EventType,
				WebhookID:     wid,
				CompanyID:     copyInt64(ev.CompanyID),
				Status:        webhooks.StatusPending,
				NextAttemptAt: created,
				CreatedAt:     created,
				UpdatedAt:     created,
			})
			res := webhooks.EnqueuedDelivery{ID: d.d.ID, WebhookID: wid}
			if ev.Leased(wid) {
				d.token = 1
				d.held = true
				d.leaseUntil = created.Add(ev.Lease)
				res.Token = d.token
				s.queue.leased(d)
			} else {
				s.queue.makeReady(d)
			}
			s.deliveries[d.d.ID] = d
			stored.deliveries++
			out[i].Deliveries = append(out[i].Deliveries, res)
		}
	}
	return out, nil
}

// Claim implements webhooks.Store. It leases up to p.Limit (none when
// p.Limit <= 0) PENDING or RETRYING deliveries of active webhooks not in
// p.ExcludeWebhooks, due at p.Now (the current time when zero) and not
// under an unexpired lease, ordered by NextAttemptAt then ID; when
// p.MaxPerWebhook > 0, at most that many (the oldest due) of any one
// webhook. Each gets the next fencing token of its delivery (1 on the first
// claim) and a lease until p.Now+p.Lease. p.Lease <= 0 fails with an error
// wrapping webhooks.ErrInvalid.
func (s *Store) Claim(ctx context.Context, p webhooks.ClaimParams) ([]*webhooks.ClaimedDelivery, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("memstore: claim: %w", err)
	}
	if p.Lease <= 0 {
		return nil, fmt.Errorf("memstore: claim: lease %v: %w", p.Lease, webhooks.ErrInvalid)
	}
	if p.Limit <= 0 {
		return nil, nil
	}
	now := p.Now.UTC()
	if p.Now.IsZero() {
		now = time.Now().UTC()
	}
	excluded := make(map[int64]bool, len(p.ExcludeWebhooks))
	for _, id := range p.ExcludeWebhooks {
		excluded[id] = true
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.queue.lapse(now)
	due := s.queue.take(now, p.Limit, p.MaxPerWebhook, func(id int64) bool {
		w, ok := s.webhooks[id]
		return excluded[id] || !ok || !w.IsActive
	})
	out := make([]*webhooks.ClaimedDelivery, 0, len(due))
	for _, d := range due {
		d.token++
		d.held = true
		d.leaseUntil = now.Add(p.Lease)
		s.queue.leased(d)
		var payload []byte
		if ev, ok := s.events[d.d.EventID]; ok {
			payload = copyBytes(ev.payload)
		}
		out = append(out, &webhooks.ClaimedDelivery{
			Delivery:   copyDelivery(&d.d),
			Token:      d.token,
			LeaseUntil: d.leaseUntil,
			Webhook:    copyWebhook(s.webhooks[d.d.WebhookID]),
			Payload:    payload,
		})
	}
	return out, nil
}

// Complete implements webhooks.Store. A completion is applied only when its
// token is the delivery's current one and the claim has not been completed
// yet; otherwise (including for a delivery deleted meanwhile) it is listed
// in Stale and changes nothing. An applied completion records the attempt
// (numbered AttemptCount+1), sets the status, the latest-attempt summary,
// UpdatedAt (Now, the current time when zero) and, for RETRYING, NextAttemptAt, and releases the claim.
// A SUCCESS resets the webhook's ConsecutiveFailures, anything else
// increments it; the webhook is disabled with webhooks.AutoDisableReason when
// the counter reaches AutoDisableAfterFailures (> 0), or with
// Completion.DisableWebhook when set (that reason wins). Only webhooks that
// were active are listed in Disabled. The whole batch is applied atomically;
// an invalid Status fails the call with an error wrapping webhooks.ErrInvalid
// before anything changes.
func (s *Store) Complete(ctx context.Context, cs []webhooks.Completion) (webhooks.CompleteResult, error) {
	var res webhooks.CompleteResult
	if err := ctx.Err(); err != nil {
		return res, fmt.Errorf("memstore: complete: %w", err)
	}
	for _, c := range cs {
		switch c.Status {
		case webhooks.StatusSuccess, webhooks.StatusRetrying, webhooks.StatusFailed:
		default:
			return res, fmt.Errorf("memstore: complete delivery %d: status %q is not SUCCESS, RETRYING or FAILED: %w",
				c.DeliveryID, c.Status, webhooks.ErrInvalid)
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, c := range cs {
		d, ok := s.deliveries[c.DeliveryID]
		if !ok || !d.held || d.token != c.Token {
			res.Stale = append(res.Stale, c.DeliveryID)
			continue
		}
		now := c.Now.UTC()
		if now.IsZero() {
			now = time.Now().UTC()
		}
		a := copyAttempt(c.Attempt)
		a.Number = d.d.AttemptCount + 1
		d.attempts = append(d.attempts, a)
		d.d.Status = c.Status
		d.d.AttemptCount++
		s.queue.settled(d)
		if c.Status == webhooks.StatusRetrying {
			d.d.NextAttemptAt = c.NextAttemptAt.UTC()
			s.queue.makeReady(d)
		}
		d.d.ResponseStatus = a.ResponseStatus
		d.d.ErrorMessage = a.Error
		d.d.Duration = a.Duration
		d.d.UpdatedAt = now
		d.held = false
		d.leaseUntil = time.Time{}

		w, ok := s.webhooks[d.d.WebhookID]
		if !ok {
			continue
		}
		if c.Status == webhooks.StatusSuccess {
			w.ConsecutiveFailures = 0
		} else {
			w.ConsecutiveFailures++
		}
		if !w.IsActive {
			continue
		}
		reason := c.DisableWebhook
		if reason == "" && w.AutoDisableAfterFailures > 0 && w.ConsecutiveFailures >= w.AutoDisableAfterFailures {
			reason = webhooks.AutoDisableReason(w.ConsecutiveFailures)
		}
		if reason != "" {
			w.IsActive = false
			w.DisabledReason = reason
			w.UpdatedAt = now
			res.Disabled = append(res.Disabled, webhooks.DisabledWebhook{ID: w.ID, Reason: reason})
		}
	}
	return res, nil
}

// Release implements webhooks.Store: each current, uncompleted claim loses
// its lease; stale refs are ignored.
func (s *Store) Release(ctx context.Context, claims []webhooks.ClaimRef) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("memstore: release: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, c := range claims {
		if d, ok := s.deliveries[c.DeliveryID]; ok && d.held && d.token == c.Token {
			d.held = false
			d.leaseUntil = time.Time{}
			s.queue.settled(d)
			s.queue.makeReady(d)
		}
	}
	return nil
}

// GetDelivery implements webhooks.Store: a copy of the delivery with its
// attempts, oldest first, or an error wrapping webhooks.ErrNotFound.
func (s *Store) GetDelivery(ctx context.Context, id int64) (*webhooks.Delivery, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("memstore: get delivery %d: %w", id, err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	d, ok := s.deliveries[id]
	if !ok {
		return nil, fmt.Errorf("memstore: delivery %d: %w", id, webhooks.ErrNotFound)
	}
	out := copyDelivery(&d.d)
	out.Attempts = make([]webhooks.Attempt, len(d.attempts))
	for i, a := range d.attempts {
		out.Attempts[i] = copyAttempt(a)
	}
	return &out, nil
}

// ListDeliveries implements webhooks.Store: copies without attempts, newest
// (highest ID) first, filtered by p.WebhookID (0: all), p.Status ("" : all)
// and p.Before (> 0: IDs below it). p.Limit <= 0 means DefaultListLimit and
// is capped at MaxListLimit.
func (s *Store) ListDeliveries(ctx context.Context, p webhooks.ListDeliveriesParams) ([]*webhooks.Delivery, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("memstore: list deliveries: %w", err)
	}
	limit := p.Limit
	if limit <= 0 {
		limit = DefaultListLimit
	}
	limit = min(limit, MaxListLimit)
	s.mu.Lock()
	defer s.mu.Unlock()
	var picked []*delivery
	for _, d := range s.deliveries {
		if p.WebhookID != 0 && d.d.WebhookID != p.WebhookID {
			continue
		}
		if p.Status != "" && d.d.Status != p.Status {
			continue
		}
		if p.Before > 0 && d.d.ID >= p.Before {
			continue
		}
		picked = append(picked, d)
	}
	sort.Slice(picked, func(i, j int) bool { return picked[i].d.ID > picked[j].d.ID })
	if len(picked) > limit {
		picked = picked[:limit]
	}
	out := make([]*webhooks.Delivery, len(picked))
	for i, d := range picked {
		c := copyDelivery(&d.d)
		out[i] = &c
	}
	return out, nil
}

// RetryDelivery implements webhooks.Store: a FAILED or RETRYING delivery
// becomes RETRYING and due at now (UpdatedAt now too). Other statuses fail
// with an error wrapping webhooks.ErrNotRetryable, a missing delivery with
// one wrapping webhooks.ErrNotFound. The attempt count is kept.
func (s *Store) RetryDelivery(ctx context.Context, id int64, now time.Time) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("memstore: retry delivery %d: %w", id, err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	d, ok := s.deliveries[id]
	if !ok {
		return fmt.Errorf("memstore: delivery %d: %w", id, webhooks.ErrNotFound)
	}
	if d.d.Status != webhooks.StatusFailed && d.d.Status != webhooks.StatusRetrying {
		return fmt.Errorf("memstore: delivery %d is %s: %w", id, d.d.Status, webhooks.ErrNotRetryable)
	}
	now = now.UTC()
	d.d.Status = webhooks.StatusRetrying
	d.d.NextAttemptAt = now
	d.d.UpdatedAt = now
	if !d.held || d.leaseAt < 0 { // not under a live claim: due now
		s.queue.makeReady(d)
	}
	return nil
}

// Purge implements webhooks.Store: it deletes the deliveries (with their
// attempts) created before the cutoff and the events created before it that
// have no deliveries left, and returns how many deliveries it deleted. A
// purged event's ID can be enqueued again.
func (s *Store) Purge(ctx context.Context, before time.Time) (int64, error) {
	if err := ctx.Err(); err != nil {
		return 0, fmt.Errorf("memstore: purge: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var n int64
	for id, d := range s.deliveries {
		if d.d.CreatedAt.Before(before) {
			s.dropDelivery(id, d)
			n++
		}
	}
	for id, ev := range s.events {
		if ev.deliveries == 0 && ev.createdAt.Before(before) {
			delete(s.events, id)
		}
	}
	return n, nil
}

// webhook returns the stored webhook id or an error wrapping ErrNotFound.
// The caller holds s.mu.
func (s *Store) webhook(id int64) (*webhooks.Webhook, error) {
	w, ok := s.webhooks[id]
	if !ok {
		return nil, fmt.Errorf("memstore: webhook %d: %w", id, webhooks.ErrNotFound)
	}
	return w, nil
}

// dropDelivery deletes a delivery and updates its event's count. The caller
// holds s.mu.
func (s *Store) dropDelivery(id int64, d *delivery) {
	delete(s.deliveries, id)
	s.queue.settled(d)
	if ev, ok := s.events[d.d.EventID]; ok {
		ev.deliveries--
	}
}

func sameCompany(a, b *int64) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	return *a == *b
}

func companyLabel(c *int64) string {
	if c == nil {
		return "system-wide"
	}
	return fmt.Sprintf("company %d", *c)
}

func sortWebhooks(ws []*webhooks.Webhook) {
	sort.Slice(ws, func(i, j int) bool { return ws[i].ID < ws[j].ID })
}

func copyWebhook(w *webhooks.Webhook) *webhooks.Webhook {
	c := *w
	c.CompanyID = copyInt64(w.CompanyID)
	if w.Events != nil {
		c.Events = append([]string{}, w.Events...)
	}
	if w.CustomHeaders != nil {
		c.CustomHeaders = make(map[string]string, len(w.CustomHeaders))
		for k, v := range w.CustomHeaders {
			c.CustomHeaders[k] = v
		}
	}
	if w.Filters != nil {
		c.Filters = append(json.RawMessage{}, w.Filters...)
	}
	c.CreatedAt = w.CreatedAt.UTC()
	c.UpdatedAt = w.UpdatedAt.UTC()
	return &c
}

// copyDelivery copies d without its attempts.
func copyDelivery(d *webhooks.Delivery) webhooks.Delivery {
	c := *d
	c.CompanyID = copyInt64(d.CompanyID)
	c.Attempts = nil
	return c
}

func copyAttempt(a webhooks.Attempt) webhooks.Attempt {
	a.StartedAt = a.StartedAt.UTC()
	a.RequestHeaders = copyHeader(a.RequestHeaders)
	a.ResponseHeaders = copyHeader(a.ResponseHeaders)
	return a
}

func copyHeader(h http.Header) http.Header {
	if h == nil {
		return nil
	}
	return h.Clone()
}

func copyInt64(p *int64) *int64 {
	if p == nil {
		return nil
	}
	v := *p
	return &v
}

func copyBytes(b []byte) []byte {
	if b == nil {
		return nil
	}
	return append([]byte{}, b...)
}
