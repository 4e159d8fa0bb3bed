package admin

import (
	"encoding/json"
	"net/http"
	"strings"
	"time"

	webhooks "github.com/webhookkit/webhooks"
	"github.com/webhookkit/webhooks/internal/httpkit"
)

// The JSON shapes of responses. Field names are the seed's; openapi.yaml
// describes each one and the tests hold the two together.

// envelope is every success response: {"data": ..., "meta": ...}.
type envelope struct {
	Data any `json:"data"`
	Meta any `json:"meta,omitempty"`
}

type messageMeta struct {
	Message string `json:"message"`
}

// webhookJSON is a webhook as the API shows it: never the secret.
type webhookJSON struct {
	ID                       int64             `json:"id"`
	Name                     string            `json:"name"`
	Description              string            `json:"description"`
	URL                      string            `json:"url"`
	CompanyID                *int64            `json:"companyId"`
	Events                   []string          `json:"events"`
	CustomHeaders            map[string]string `json:"customHeaders"`
	Filters                  json.RawMessage   `json:"filters"`
	HTTPMethod               string            `json:"httpMethod"`
	ContentType              string            `json:"contentType"`
	TimeoutMs                int64             `json:"timeoutMs"`
	MaxRetries               int               `json:"maxRetries"`
	VerifySSL                bool              `json:"verifySsl"`
	AutoDisableAfterFailures int               `json:"autoDisableAfterFailures"`
	SignatureScheme          string            `json:"signatureScheme"`
	IsActive                 bool              `json:"isActive"`
	HasSecret                bool              `json:"hasSecret"`
	SecretPreview            *string           `json:"secretPreview"`
	ConsecutiveFailures      int               `json:"consecutiveFailures"`
	DisabledReason           *string           `json:"disabledReason"`
	CreatedAt                string            `json:"createdAt"`
	UpdatedAt                string            `json:"updatedAt"`
}

// webhookWithSecret is the webhook plus its full secret: the create and
// regenerate-secret responses only.
type webhookWithSecret struct {
	webhookJSON
	Secret string `json:"secret"`
}

func toWebhook(w *webhooks.Webhook) webhookJSON {
	out := webhookJSON{
		ID:                       w.ID,
		Name:                     w.Name,
		Description:              w.Description,
		URL:                      w.URL,
		CompanyID:                w.CompanyID,
		Events:                   w.Events,
		CustomHeaders:            w.CustomHeaders,
		Filters:                  w.Filters,
		HTTPMethod:               w.HTTPMethod,
		ContentType:              w.ContentType,
		TimeoutMs:                w.Timeout.Milliseconds(),
		MaxRetries:               w.MaxRetries,
		VerifySSL:                w.VerifySSL,
		AutoDisableAfterFailures: w.AutoDisableAfterFailures,
		SignatureScheme:          schemeName(w.SignatureScheme),
		IsActive:                 w.IsActive,
		HasSecret:                w.Secret != "",
		ConsecutiveFailures:      w.ConsecutiveFailures,
		CreatedAt:                timestamp(w.CreatedAt),
		UpdatedAt:                timestamp(w.UpdatedAt),
	}
	if out.Events == nil {
		out.Events = []string{}
	}
	if out.CustomHeaders == nil {
		out.CustomHeaders = map[string]string{}
	}
	if w.Secret != "" {
		p := w.SecretPreview()
		out.SecretPreview = &p
	}
	if !w.IsActive {
		r := w.DisabledReason
		if r == "" {
			r = "disabled"
		}
		out.DisabledReason = &r
	}
	return out
}

// timestamp formats t as RFC 3339 in UTC, to the second, like the seed.
func timestamp(t time.Time) string {
	return t.UTC().Truncate(time.Second).Format(time.RFC3339)
}

// eventGroup is one category of GET /event-types.
type eventGroup struct {
	Category string      `json:"category"`
	Events   []eventJSON `json:"events"`
}

type eventJSON struct {
	Event       string `json:"event"`
	Description string `json:"description"`
}

// wildcardCategory is the group listing "*", as the seed's table does.
const wildcardCategory = "Wildcard"

// deliveryJSON is a delivery in history lists.
type deliveryJSON struct {
	ID             int64   `json:"id"`
	WebhookID      int64   `json:"webhookId"`
	EventID        string  `json:"eventId"`
	EventType      string  `json:"eventType"`
	Status         string  `json:"status"`
	AttemptCount   int     `json:"attemptCount"`
	ResponseStatus *int    `json:"responseStatus"`
	ErrorMessage   string  `json:"errorMessage,omitempty"`
	DurationMs     int64   `json:"durationMs"`
	NextAttemptAt  *string `json:"nextAttemptAt"`
	CreatedAt      string  `json:"createdAt"`
}

// deliveryDetail is GET /deliveries/{id}: the delivery and every attempt.
type deliveryDetail struct {
	deliveryJSON
	Attempts []attemptJSON `json:"attempts"`
}

type attemptJSON struct {
	Number                int               `json:"number"`
	StartedAt             string            `json:"startedAt"`
	RequestHeaders        map[string]string `json:"requestHeaders"`
	ResponseStatus        *int              `json:"responseStatus"`
	ResponseHeaders       map[string]string `json:"responseHeaders"`
	ResponseBody          string            `json:"responseBody"`
	ResponseBodyTruncated bool              `json:"responseBodyTruncated"`
	DurationMs            int64             `json:"durationMs"`
	ErrorMessage          *string           `json:"errorMessage"`
}

// responseBodyExcerpt is the most of a stored response body shown per attempt.
const responseBodyExcerpt = 4 << 10

func toDelivery(d *webhooks.Delivery) deliveryJSON {
	out := deliveryJSON{
		ID:             d.ID,
		WebhookID:      d.WebhookID,
		EventID:        d.EventID,
		EventType:      d.EventType,
		Status:         string(d.Status),
		AttemptCount:   d.AttemptCount,
		ResponseStatus: optStatus(d.ResponseStatus),
		ErrorMessage:   d.ErrorMessage,
		DurationMs:     d.Duration.Milliseconds(),
		CreatedAt:      timestamp(d.CreatedAt),
	}
	if (d.Status == webhooks.StatusPending || d.Status == webhooks.StatusRetrying) && !d.NextAttemptAt.IsZero() {
		t := timestamp(d.NextAttemptAt)
		out.NextAttemptAt = &t
	}
	return out
}

func toDeliveryDetail(d *webhooks.Delivery) deliveryDetail {
	out := deliveryDetail{deliveryJSON: toDelivery(d), Attempts: make([]attemptJSON, len(d.Attempts))}
	for i, a := range d.Attempts {
		body, cut := httpkit.Excerpt(a.ResponseBody, responseBodyExcerpt)
		out.Attempts[i] = attemptJSON{
			Number:                a.Number,
			StartedAt:             timestamp(a.StartedAt),
			RequestHeaders:        flatHeaders(a.RequestHeaders),
			ResponseStatus:        optStatus(a.ResponseStatus),
			ResponseHeaders:       flatHeaders(a.ResponseHeaders),
			ResponseBody:          body,
			ResponseBodyTruncated: cut,
			DurationMs:            a.Duration.Milliseconds(),
			ErrorMessage:          optString(a.Error),
		}
	}
	return out
}

func optStatus(s int) *int {
	if s == 0 {
		return nil
	}
	return &s
}

func optString(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// flatHeaders joins repeated header values with ", " (never null).
func flatHeaders(h http.Header) map[string]string {
	out := make(map[string]string, len(h))
	for k, vs := range h {
		out[k] = strings.Join(vs, ", ")
	}
	return out
}

// testResultJSON is POST /{id}/test: the outcome of the ping.
type testResultJSON struct {
	DeliveryID     int64   `json:"deliveryId"`
	Status         string  `json:"status"`
	Success        bool    `json:"success"`
	ResponseStatus *int    `json:"responseStatus"`
	DurationMs     int64   `json:"durationMs"`
	ErrorMessage   *string `json:"errorMessage"`
}

// listMeta is the meta of GET /company/{companyId}.
type listMeta struct {
	Total int `json:"total"`
	Limit int `json:"limit"`
}

// pageMeta is the meta of GET /{id}/deliveries.
type pageMeta struct {
	Limit      int     `json:"limit"`
	NextCursor *string `json:"nextCursor"`
}

// totalMeta is the meta of GET /event-types.
type totalMeta struct {
	Total int `json:"total"`
}

// schemeName shows the default scheme by its name: the seeds' HMAC scheme,
// unless the host configured another default (then "default").
func schemeName(s string) string {
	if s == "" {
		return "default"
	}
	return s
}
