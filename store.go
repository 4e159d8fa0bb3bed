package webhooks

import (
	"context"
	"errors"
	"strconv"
	"time"
)

// Sentinel errors callers branch on with errors.Is.
var (
	// ErrNotFound: no webhook or delivery with that ID in the client's store.
	ErrNotFound = errors.New("webhooks: not found")
	// ErrWebhookLimit: the company already has Limits.MaxWebhooksPerCompany webhooks.
	ErrWebhookLimit = errors.New("webhooks: webhook limit reached")
	// ErrUnknownEventType: an event type or pattern names no registered type.
	ErrUnknownEventType = errors.New("unknown event type")
	// ErrUnknownClient: the StoreResolver has no such client.
	ErrUnknownClient = errors.New("webhooks: unknown client")
	// ErrInvalid: bad input; a *ValidationError names the fields.
	ErrInvalid = errors.New("webhooks: invalid input")
	// ErrPayloadTooLarge: the payload exceeds Limits.MaxPayloadBytes and
	// Config.RejectOversizePayloads is set.
	ErrPayloadTooLarge = errors.New("webhooks: payload too large")
	// ErrNotRetryable: only FAILED and RETRYING deliveries can be retried by hand.
	ErrNotRetryable = errors.New("webhooks: delivery is not retryable")
	// ErrTxUnsupported: EmitTx on a store that cannot join a host transaction,
	// or with a transaction of another store's kind.
	ErrTxUnsupported = errors.New("webhooks: store does not support host transactions")
	// ErrStopped: the dispatcher is stopped or was never started.
	ErrStopped = errors.New("webhooks: dispatcher stopped")
)

// Store persists one client's webhooks, events, deliveries and attempts.
// Every method is safe for concurrent use, including from several processes
// sharing one database. Methods return errors wrapping ErrNotFound for
// missing rows. Times are stored to at least the microsecond and returned in
// UTC. store/storetest.Run is the executable form of this contract.
type Store interface {
	// CreateWebhook stores w, setting w.ID. It fails with ErrWebhookLimit when
	// w's company (or, for a system-wide webhook, the client) already has
	// maxPerCompany webhooks (<= 0: no limit); the count and the insert are
	// atomic. The caller sets CreatedAt and UpdatedAt (zero: the store's now).
	CreateWebhook(ctx context.Context, w *Webhook, maxPerCompany int) error
	// GetWebhook returns one webhook, including its secret.
	GetWebhook(ctx context.Context, id int64) (*Webhook, error)
	// UpdateWebhook overwrites the configuration fields of w.ID (name,
	// description, URL, events, custom headers, filters, method, content type,
	// timeout, retries, TLS verification, auto-disable threshold, UpdatedAt).
	// Company, secret, activity and failure counter are left alone.
	UpdateWebhook(ctx context.Context, w *Webhook) error
	// SetWebhookActive enables (resetting the failure counter and the reason)
	// or disables (recording reason) a webhook.
	SetWebhookActive(ctx context.Context, id int64, active bool, reason string, now time.Time) error
	// SetWebhookSecret replaces the secret.
	SetWebhookSecret(ctx context.Context, id int64, secret string, now time.Time) error
	// DeleteWebhook removes a webhook with its deliveries and attempts.
	DeleteWebhook(ctx context.Context, id int64) error
	// ListWebhooks returns webhooks ordered by ID.
	ListWebhooks(ctx context.Context, p ListWebhooksParams) ([]*Webhook, error)
	// MatchWebhooks returns the active webhooks that receive an event of type
	// p.EventType for company p.CompanyID: system-wide webhooks plus, when
	// p.CompanyID is set, that company's, whose Events select the type
	// (MatchAny). Ordered by ID.
	MatchWebhooks(ctx context.Context, p MatchParams) ([]*Webhook, error)

	// Enqueue stores events and one PENDING delivery per listed webhook,
	// atomically per event. An event whose ID is already stored is skipped
	// (Duplicate). Webhooks deleted meanwhile get no delivery; callers list
	// each webhook once. Results are in the order of events.
	Enqueue(ctx context.Context, events []EnqueueEvent) ([]EnqueueResult, error)
	// Claim leases up to p.Limit due deliveries: PENDING or RETRYING, of an
	// active webhook not in p.ExcludeWebhooks, with NextAttemptAt <= p.Now
	// and no unexpired lease; oldest due first. Each claim gets a fresh
	// fencing token, so no two callers hold the same delivery at once.
	Claim(ctx context.Context, p ClaimParams) ([]*ClaimedDelivery, error)
	// Complete records attempts and new states. A completion whose token is
	// not the delivery's current one, or whose claim was already completed
	// (a claim completes once), is rejected (listed in Stale) and changes
	// nothing. In the same transaction it resets (success) or
	// increments (failure) the webhook's ConsecutiveFailures and disables
	// the webhook when it reaches AutoDisableAfterFailures (when > 0), or
	// when the completion says so.
	Complete(ctx context.Context, cs []Completion) (CompleteResult, error)

	// Release gives claims back unsent: each delivery whose claim (ID and
	// token) is current and not yet completed loses its lease and is due
	// again at once, with no attempt recorded. Other refs are ignored. The
	// dispatcher releases what it claimed but cannot send soon.
	Release(ctx context.Context, claims []ClaimRef) error

	// GetDelivery returns a delivery with all its attempts.
	GetDelivery(ctx context.Context, id int64) (*Delivery, error)
	// ListDeliveries returns deliveries newest first (by ID), without attempts.
	ListDeliveries(ctx context.Context, p ListDeliveriesParams) ([]*Delivery, error)
	// RetryDelivery makes a FAILED or RETRYING delivery RETRYING and due at
	// now; others fail with ErrNotRetryable.
	RetryDelivery(ctx context.Context, id int64, now time.Time) error
	// Purge deletes deliveries (with attempts) created before the cutoff, and
	// events created before it that have no deliveries left (until then an
	// event ID still counts for idempotency). It returns how many deliveries went.
	Purge(ctx context.Context, before time.Time) (int64, error)
}

// ListWebhooksParams filters Store.ListWebhooks. The zero value lists all.
type ListWebhooksParams struct {
	// CompanyID lists only that company's webhooks.
	CompanyID *int64
	// OnlySystemWide lists only webhooks with no company (ignored when CompanyID is set).
	OnlySystemWide bool
}

// MatchParams selects webhooks for one event.
type MatchParams struct {
	// CompanyID of the event; nil for a client-wide event.
	CompanyID *int64
	// EventType of the event.
	EventType string
}

// EnqueueEvent is one event and the webhooks it goes to.
type EnqueueEvent struct {
	// EventID is unique within the client's store.
	EventID string
	// EventType and CompanyID are kept for history and scoping.
	EventType string
	CompanyID *int64
	// Payload is the encoded event (MarshalEvent), returned verbatim by Claim.
	Payload []byte
	// CreatedAt is the enqueue time; deliveries are due from then.
	CreatedAt time.Time
	// WebhookIDs get one delivery each.
	WebhookIDs []int64
	// Lease, when > 0, creates the deliveries already claimed by the caller
	// until CreatedAt+Lease, with tokens in the result: the caller sends them
	// at once without a Claim round trip.
	Lease time.Duration
	// LeaseOnly, when non-nil with Lease > 0, limits the lease to the
	// deliveries of these webhooks; the others are created due, unleased,
	// for Claim. Nil: every delivery is leased.
	LeaseOnly []int64
}

// Leased reports whether Enqueue creates the delivery to webhookID leased:
// Lease > 0 and LeaseOnly nil or listing the webhook.
func (e *EnqueueEvent) Leased(webhookID int64) bool {
	if e.Lease <= 0 {
		return false
	}
	if e.LeaseOnly == nil {
		return true
	}
	for _, id := range e.LeaseOnly {
		if id == webhookID {
			return true
		}
	}
	return false
}

// EnqueueResult reports one EnqueueEvent.
type EnqueueResult struct {
	// Duplicate: the event ID was already stored; nothing was added.
	Duplicate bool
	// Deliveries created, in the order of WebhookIDs (minus deleted webhooks).
	Deliveries []EnqueuedDelivery
}

// EnqueuedDelivery identifies a created delivery.
type EnqueuedDelivery struct {
	// ID of the delivery, and the webhook it goes to.
	ID, WebhookID int64
	// Token is the fencing token when EnqueueEvent.Lease > 0, else 0.
	Token int64
}

// ClaimParams configures Store.Claim.
type ClaimParams struct {
	// Now is the claim time.
	Now time.Time
	// Limit caps deliveries returned.
	Limit int
	// Lease is how long the claim holds; after Now+Lease others may claim.
	Lease time.Duration
	// ExcludeWebhooks are skipped (their lanes are full).
	ExcludeWebhooks []int64
	// MaxPerWebhook, when > 0, caps the deliveries of any one webhook in
	// this claim, so one endpoint's backlog cannot fill a batch the
	// dispatcher would only give back. A store may then return fewer than
	// Limit even when more are due, but must still return due deliveries
	// of other webhooks behind a capped one's backlog.
	MaxPerWebhook int
}

// ClaimedDelivery is a leased delivery with what it takes to send it.
type ClaimedDelivery struct {
	// Delivery as stored at claim time (no attempts).
	Delivery Delivery
	// Token fences the claim: Complete accepts only the current token.
	Token int64
	// LeaseUntil is when the claim lapses.
	LeaseUntil time.Time
	// Webhook is the receiving webhook, with its secret.
	Webhook *Webhook
	// Payload is the stored event (EnqueueEvent.Payload).
	Payload []byte
}

// ClaimRef identifies one claim of a delivery.
type ClaimRef struct {
	// DeliveryID and Token as returned by Claim.
	DeliveryID, Token int64
}

// Completion is the outcome of one attempt.
type Completion struct {
	// DeliveryID and Token identify the claim.
	DeliveryID, Token int64
	// Attempt to record; its Number is assigned by the store.
	Attempt Attempt
	// Status after the attempt: SUCCESS, RETRYING or FAILED.
	Status DeliveryStatus
	// NextAttemptAt when Status is RETRYING.
	NextAttemptAt time.Time
	// DisableWebhook, when non-empty, disables the webhook with this reason
	// (the endpoint answered 410 Gone).
	DisableWebhook string
	// Now is the completion time.
	Now time.Time
}

// CompleteResult reports what Complete did beyond recording.
type CompleteResult struct {
	// Stale lists delivery IDs whose token was out of date.
	Stale []int64
	// Disabled lists webhooks disabled by these completions.
	Disabled []DisabledWebhook
}

// DisabledWebhook is a webhook Complete disabled.
type DisabledWebhook struct {
	// ID of the webhook and why it was disabled.
	ID     int64
	Reason string
}

// ListDeliveriesParams filters Store.ListDeliveries.
type ListDeliveriesParams struct {
	// WebhookID lists one webhook's deliveries; 0 lists all.
	WebhookID int64
	// Status filters by status; "" for all.
	Status DeliveryStatus
	// Before is the cursor: only IDs below it; 0 starts from the newest.
	Before int64
	// Limit caps the page; the store applies at most 1000.
	Limit int
}

// Tx is a host transaction wrapped by a store package (for example
// sqlitestore.WrapTx), passed to Dispatcher.EmitTx.
type Tx interface {
	// Underlying returns the driver transaction, e.g. *sql.Tx.
	Underlying() any
}

// TxStore is a Store that can join a host transaction: WithTx returns a view
// of the store whose writes happen inside tx and commit or roll back with it.
// It fails with ErrTxUnsupported for a transaction of another kind.
type TxStore interface {
	Store
	WithTx(tx Tx) (Store, error)
}

// Listener is a Store that can hear other processes: after a write that
// makes deliveries due (Enqueue, RetryDelivery, Release, enabling a
// webhook) the store notifies every process sharing it, for example with
// Postgres NOTIFY sent in the same transaction (so EmitTx wakes others on
// commit) or Redis PUBLISH. The dispatcher calls Listen once per store
// after Start; polling remains the fallback for lost notifications.
type Listener interface {
	Store
	// Listen calls wake for each notification until ctx ends, then returns
	// ctx.Err(). It reconnects by itself after connection errors (logging
	// is the store's), and calls wake after reconnecting, since
	// notifications sent meanwhile are lost.
	Listen(ctx context.Context, wake func()) error
}

// AutoDisableReason is the reason recorded when a webhook reaches its
// consecutive-failure threshold.
func AutoDisableReason(failures int) string {
	return "disabled after " + strconv.Itoa(failures) + " consecutive failed deliveries"
}
