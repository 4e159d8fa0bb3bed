package webhooks

import (
	"net/http"
	"time"
)

// DeliveryStatus is where a delivery stands.
type DeliveryStatus string

// Delivery statuses. PENDING and RETRYING deliveries are due at their next
// attempt time; SUCCESS and FAILED are final (a manual retry re-queues FAILED).
const (
	// StatusPending: not attempted yet.
	StatusPending DeliveryStatus = "PENDING"
	// StatusRetrying: at least one attempt failed; another is scheduled.
	StatusRetrying DeliveryStatus = "RETRYING"
	// StatusSuccess: an attempt got a 2xx within the timeout.
	StatusSuccess DeliveryStatus = "SUCCESS"
	// StatusFailed: every allowed attempt failed, or the webhook gave up (410 Gone).
	StatusFailed DeliveryStatus = "FAILED"
)

// Valid reports whether s is one of the four statuses.
func (s DeliveryStatus) Valid() bool {
	switch s {
	case StatusPending, StatusRetrying, StatusSuccess, StatusFailed:
		return true
	}
	return false
}

// Delivery is one event sent to one webhook, with its latest outcome.
type Delivery struct {
	// ID is assigned by the store; it is also the X-…-Delivery header.
	ID int64
	// EventID and EventType identify the event.
	EventID   string
	EventType string
	// WebhookID is the receiving webhook.
	WebhookID int64
	// CompanyID is the event's company (nil: client-wide event).
	CompanyID *int64
	// Status of the delivery.
	Status DeliveryStatus
	// AttemptCount is how many attempts were made.
	AttemptCount int
	// NextAttemptAt is when a PENDING or RETRYING delivery is due.
	NextAttemptAt time.Time
	// ResponseStatus, ErrorMessage and Duration describe the latest attempt
	// (0, "" and 0 before the first).
	ResponseStatus int
	ErrorMessage   string
	Duration       time.Duration
	// CreatedAt is when the delivery was enqueued; UpdatedAt its latest change.
	CreatedAt, UpdatedAt time.Time
	// Attempts, oldest first; filled only by Store.GetDelivery.
	Attempts []Attempt
}

// Attempt is one HTTP request of a delivery and what came back.
type Attempt struct {
	// Number counts attempts of the delivery from 1.
	Number int
	// StartedAt is when the request was sent.
	StartedAt time.Time
	// RequestHeaders sent, without secrets (signatures are kept; they reveal nothing).
	RequestHeaders http.Header
	// ResponseStatus is the HTTP status, 0 when no response arrived.
	ResponseStatus int
	// ResponseHeaders received.
	ResponseHeaders http.Header
	// ResponseBody is at most the sender's capture cap (64 KiB by default).
	ResponseBody string
	// Duration of the exchange.
	Duration time.Duration
	// Error says why the attempt failed; "" on success.
	Error string
}
