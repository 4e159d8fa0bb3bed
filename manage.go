package webhooks

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Webhook management: the operations behind the admin API and the portal,
// usable directly from Go. Each takes the client whose store holds the
// webhook; scoping to a company is the caller's job (see Scope).

// CreateWebhook validates in, applies defaults and stores the webhook. The
// returned Webhook carries the full secret: show it to the user now, it is
// not shown again. Errors: *ValidationError (ErrInvalid) naming every bad
// field, ErrWebhookLimit, ErrUnknownClient.
func (d *Dispatcher) CreateWebhook(ctx context.Context, clientID string, in WebhookInput) (*Webhook, error) {
	defer d.matches.forget(clientID) // after the write: a concurrent Emit must not re-cache the old state
	st, err := d.store(ctx, clientID)
	if err != nil {
		return nil, err
	}
	var w Webhook
	if err := d.rules.apply(&w, &in, true); err != nil {
		return nil, err
	}
	w.CreatedAt = d.now()
	w.UpdatedAt = w.CreatedAt
	plain := w.Secret
	set := secretSet{Current: plain, Scheme: w.SignatureScheme}
	if d.cfg.Keyring != nil {
		w.Secret = "" // sealing binds the webhook ID, known only once stored
	} else if w.Secret, err = d.cfg.Keyring.seal(set, clientID, 0); err != nil {
		return nil, err
	}
	if err := st.CreateWebhook(ctx, &w, d.cfg.Limits.MaxWebhooksPerCompany); err != nil {
		if errors.Is(err, ErrWebhookLimit) {
			return nil, fmt.Errorf("%w: at most %d webhooks per company", ErrWebhookLimit, d.cfg.Limits.MaxWebhooksPerCompany)
		}
		return nil, err
	}
	if d.cfg.Keyring != nil {
		if err := d.storeSecrets(ctx, st, clientID, w.ID, set); err != nil {
			_ = st.DeleteWebhook(context.WithoutCancel(ctx), w.ID)
			return nil, err
		}
	}
	w.ClientID = clientID
	w.Secret = plain
	return &w, nil
}

// storeSecrets seals a secret set for the webhook and stores it.
func (d *Dispatcher) storeSecrets(ctx context.Context, st Store, clientID string, id int64, set secretSet) error {
	defer d.matches.forget(clientID) // after the write: a concurrent Emit must not re-cache the old state
	material, err := d.cfg.Keyring.seal(set, clientID, id)
	if err != nil {
		return fmt.Errorf("webhooks: sealing secret: %w", err)
	}
	return st.SetWebhookSecret(ctx, id, material, d.now())
}

// reveal replaces stored secret material with the current plain secret.
// Unreadable material (a missing key) leaves Secret empty and is logged:
// reads keep working, deliveries record the error.
func (d *Dispatcher) reveal(clientID string, w *Webhook) *Webhook {
	w.ClientID = clientID
	set, err := d.cfg.Keyring.open(w.Secret, clientID, w.ID)
	if err != nil {
		d.log.Error("webhooks: reading webhook secret", "client", clientID, "webhook", w.ID, "err", err)
	}
	w.Secret = set.Current
	w.SignatureScheme = set.Scheme
	return w
}

// GetWebhook returns a webhook (with its secret; never show it to users).
func (d *Dispatcher) GetWebhook(ctx context.Context, clientID string, id int64) (*Webhook, error) {
	_, w, err := d.storedWebhook(ctx, clientID, id)
	if err != nil {
		return nil, err
	}
	return d.reveal(clientID, w), nil
}

// storedWebhook returns the client's store and a webhook as stored: its
// secret still in stored form (see reveal).
func (d *Dispatcher) storedWebhook(ctx context.Context, clientID string, id int64) (Store, *Webhook, error) {
	st, err := d.store(ctx, clientID)
	if err != nil {
		return nil, nil, err
	}
	w, err := st.GetWebhook(ctx, id)
	if err != nil {
		return nil, nil, err
	}
	return st, w, nil
}

// ListWebhooks lists a client's webhooks, filtered by p.
func (d *Dispatcher) ListWebhooks(ctx context.Context, clientID string, p ListWebhooksParams) ([]*Webhook, error) {
	st, err := d.store(ctx, clientID)
	if err != nil {
		return nil, err
	}
	ws, err := st.ListWebhooks(ctx, p)
	for _, w := range ws {
		d.reveal(clientID, w)
	}
	return ws, err
}

// UpdateWebhook applies the non-nil fields of in (company and secret are
// ignored) and returns the updated webhook.
func (d *Dispatcher) UpdateWebhook(ctx context.Context, clientID string, id int64, in WebhookInput) (*Webhook, error) {
	defer d.matches.forget(clientID) // after the write: a concurrent Emit must not re-cache the old state
	st, w, err := d.storedWebhook(ctx, clientID, id)
	if err != nil {
		return nil, err
	}
	in.CompanyID, in.Secret = nil, nil
	material := w.Secret
	set, openErr := d.cfg.Keyring.open(material, clientID, id)
	w.SignatureScheme = set.Scheme
	if err := d.rules.apply(w, &in, false); err != nil {
		return nil, err
	}
	w.UpdatedAt = d.now()
	if err := st.UpdateWebhook(ctx, w); err != nil {
		return nil, err
	}
	if w.SignatureScheme != set.Scheme {
		if openErr != nil {
			return nil, openErr
		}
		set.Scheme = w.SignatureScheme
		if err := d.storeSecrets(ctx, st, clientID, id, set); err != nil {
			return nil, err
		}
	}
	return d.GetWebhook(ctx, clientID, id)
}

// DeleteWebhook removes a webhook and its delivery history.
func (d *Dispatcher) DeleteWebhook(ctx context.Context, clientID string, id int64) error {
	defer d.matches.forget(clientID) // after the write: a concurrent Emit must not re-cache the old state
	st, err := d.store(ctx, clientID)
	if err != nil {
		return err
	}
	return st.DeleteWebhook(ctx, id)
}

// EnableWebhook activates a webhook and resets its failure counter; its
// held deliveries resume.
func (d *Dispatcher) EnableWebhook(ctx context.Context, clientID string, id int64) (*Webhook, error) {
	return d.setActive(ctx, clientID, id, true, "")
}

// DisableWebhook deactivates a webhook: it matches no new events, and its
// queued deliveries wait until it is enabled again (or retention purges them).
// reason defaults to "disabled by an administrator".
func (d *Dispatcher) DisableWebhook(ctx context.Context, clientID string, id int64, reason string) (*Webhook, error) {
	if reason == "" {
		reason = "disabled by an administrator"
	}
	return d.setActive(ctx, clientID, id, false, reason)
}

func (d *Dispatcher) setActive(ctx context.Context, clientID string, id int64, active bool, reason string) (*Webhook, error) {
	defer d.matches.forget(clientID) // after the write: a concurrent Emit must not re-cache the old state
	st, err := d.store(ctx, clientID)
	if err != nil {
		return nil, err
	}
	if err := st.SetWebhookActive(ctx, id, active, reason, d.now()); err != nil {
		return nil, err
	}
	if active {
		d.Wake()
	}
	return d.GetWebhook(ctx, clientID, id)
}

// DefaultSecretGrace is how long a replaced secret keeps signing by
// default; MaxSecretGrace is the longest allowed.
const (
	DefaultSecretGrace = 24 * time.Hour
	MaxSecretGrace     = 7 * 24 * time.Hour
)

// RegenerateSecret replaces a webhook's secret with a new generated one and
// returns the webhook carrying it: show it now, it is not shown again. The
// old secret keeps signing for grace (0: stops at once; at most
// MaxSecretGrace), alongside the new one where the scheme carries several
// signatures (StandardScheme); HMACScheme signs with the new one only.
func (d *Dispatcher) RegenerateSecret(ctx context.Context, clientID string, id int64, grace time.Duration) (*Webhook, error) {
	if grace < 0 || grace > MaxSecretGrace {
		return nil, fmt.Errorf("%w: grace period %s must be between 0 and %s", ErrInvalid, grace, MaxSecretGrace)
	}
	st, w, err := d.storedWebhook(ctx, clientID, id)
	if err != nil {
		return nil, err
	}
	set := secretSet{Current: NewSecret()}
	if old, err := d.cfg.Keyring.open(w.Secret, clientID, id); err == nil {
		set.Scheme = old.Scheme
		if grace > 0 && old.Current != "" {
			set.Previous, set.PreviousUntil = old.Current, d.now().Add(grace).Unix()
		}
	}
	if err := d.storeSecrets(ctx, st, clientID, id, set); err != nil {
		return nil, err
	}
	return d.GetWebhook(ctx, clientID, id)
}

// Deliveries lists delivery history newest first. p.Limit defaults to 20.
func (d *Dispatcher) Deliveries(ctx context.Context, clientID string, p ListDeliveriesParams) ([]*Delivery, error) {
	if p.Status != "" && !p.Status.Valid() {
		return nil, fmt.Errorf("%w: status %q: want PENDING, RETRYING, SUCCESS or FAILED", ErrInvalid, p.Status)
	}
	if p.Limit <= 0 {
		p.Limit = 20
	}
	st, err := d.store(ctx, clientID)
	if err != nil {
		return nil, err
	}
	return st.ListDeliveries(ctx, p)
}

// Delivery returns one delivery with every attempt.
func (d *Dispatcher) Delivery(ctx context.Context, clientID string, id int64) (*Delivery, error) {
	st, err := d.store(ctx, clientID)
	if err != nil {
		return nil, err
	}
	return st.GetDelivery(ctx, id)
}

// RetryDelivery re-queues a FAILED (or RETRYING) delivery to be sent at
// once; it is attempted one more time. Others: ErrNotRetryable.
func (d *Dispatcher) RetryDelivery(ctx context.Context, clientID string, id int64) (*Delivery, error) {
	st, err := d.store(ctx, clientID)
	if err != nil {
		return nil, err
	}
	if err := st.RetryDelivery(ctx, id, d.now()); err != nil {
		return nil, err
	}
	d.Wake()
	return st.GetDelivery(ctx, id)
}

// SendTest sends a webhook.ping to the webhook right away, with its own URL,
// method, headers, timeout and secret, whether or not the dispatcher runs or
// the webhook is active. The ping is recorded in the delivery history (one
// attempt, no automatic retries; it counts toward the failure counter like
// any attempt) and its delivery, with the attempt, is returned. Every call
// sends its own ping, however many run at once (see NewPingEvent for the
// event IDs); ErrNotFound means the webhook does not exist.
func (d *Dispatcher) SendTest(ctx context.Context, clientID string, webhookID int64) (*Delivery, error) {
	st, w, err := d.storedWebhook(ctx, clientID, webhookID)
	if err != nil {
		return nil, err
	}
	lease := w.Timeout + time.Minute
	now := d.now()
	ping := NewPingEvent(now, d.client(ctx, clientID))
	var (
		payload []byte
		res     []EnqueueResult
	)
	// Event IDs are unique per client and a ping's is per millisecond, so
	// pings sent together collide: each retry takes a random suffix, one
	// extra round trip however many pings race (numbered suffixes would
	// cost each racer a try per earlier ping). maxPingTries is only a guard:
	// 64 random bits do not repeat.
	for try := 1; ; try++ {
		if payload, err = MarshalEvent(ping); err != nil {
			return nil, err
		}
		res, err = st.Enqueue(ctx, []EnqueueEvent{{
			EventID: ping.ID, EventType: PingEventType, CompanyID: w.CompanyID, Payload: payload,
			CreatedAt: now, WebhookIDs: []int64{w.ID}, Lease: lease,
		}})
		if err != nil {
			return nil, fmt.Errorf("webhooks: test ping: %w", err)
		}
		if !res[0].Duplicate {
			break
		}
		if try == maxPingTries {
			return nil, fmt.Errorf("webhooks: test ping: event ID %q and %d random variants of it are all taken", pingID(now), try-1)
		}
		ping.ID = pingIDVariant(now)
	}
	if len(res[0].Deliveries) == 0 { // deleted since it was read
		return nil, fmt.Errorf("webhooks: test ping: webhook %d: %w", webhookID, ErrNotFound)
	}
	ref := res[0].Deliveries[0]
	now = d.now()
	cd := &ClaimedDelivery{
		Delivery: Delivery{ID: ref.ID, EventID: ping.ID, EventType: PingEventType, WebhookID: w.ID, CompanyID: w.CompanyID, Status: StatusPending},
		Token:    ref.Token, LeaseUntil: now.Add(lease), Webhook: w, Payload: payload,
	}
	attempt, status := d.attempt(ctx, clientID, cd, ping, now)
	next, at, disable := d.cfg.Retry.outcome(status, attempt.ResponseHeaders, 1, 0, d.now())
	if _, err := st.Complete(ctx, []Completion{{
		DeliveryID: ref.ID, Token: ref.Token, Attempt: attempt, Status: next, NextAttemptAt: at,
		DisableWebhook: disable, Now: d.now(),
	}}); err != nil {
		return nil, fmt.Errorf("webhooks: test ping: recording outcome: %w", err)
	}
	return st.GetDelivery(ctx, ref.ID)
}
