package sqlshared

import (
	"encoding/json"
	"fmt"

	"github.com/webhookkit/webhooks"
)

// EncodeWebhookConfig encodes the JSON columns of w: its events and custom
// headers.
func EncodeWebhookConfig(w *webhooks.Webhook) (events, headers []byte, err error) {
	if events, err = json.Marshal(w.Events); err != nil {
		return nil, nil, fmt.Errorf("events: %w", err)
	}
	if headers, err = json.Marshal(w.CustomHeaders); err != nil {
		return nil, nil, fmt.Errorf("custom headers: %w", err)
	}
	return events, headers, nil
}

// DecodeWebhookConfig decodes the JSON columns events and custom headers
// into w, replacing what w.Events and w.CustomHeaders held. w.ID names the
// webhook in errors.
func DecodeWebhookConfig(w *webhooks.Webhook, events, headers []byte) error {
	w.Events, w.CustomHeaders = nil, nil
	if err := json.Unmarshal(events, &w.Events); err != nil {
		return fmt.Errorf("webhook %d: events: %w", w.ID, err)
	}
	if err := json.Unmarshal(headers, &w.CustomHeaders); err != nil {
		return fmt.Errorf("webhook %d: custom headers: %w", w.ID, err)
	}
	return nil
}

// EncodeAttemptHeaders encodes the JSON columns of a: its request and
// response headers.
func EncodeAttemptHeaders(a *webhooks.Attempt) (req, resp []byte, err error) {
	if req, err = json.Marshal(a.RequestHeaders); err != nil {
		return nil, nil, fmt.Errorf("request headers: %w", err)
	}
	if resp, err = json.Marshal(a.ResponseHeaders); err != nil {
		return nil, nil, fmt.Errorf("response headers: %w", err)
	}
	return req, resp, nil
}

// DecodeAttemptHeaders decodes the JSON columns request and response
// headers into a. a.Number names the attempt in errors.
func DecodeAttemptHeaders(a *webhooks.Attempt, req, resp []byte) error {
	if err := json.Unmarshal(req, &a.RequestHeaders); err != nil {
		return fmt.Errorf("attempt %d: request headers: %w", a.Number, err)
	}
	if err := json.Unmarshal(resp, &a.ResponseHeaders); err != nil {
		return fmt.Errorf("attempt %d: response headers: %w", a.Number, err)
	}
	return nil
}

// FiltersColumn is the filters column for a webhook's payload filter: NULL
// (nil) for none, else its canonical JSON as text (not a JSON column type,
// so the bytes come back unchanged).
func FiltersColumn(f json.RawMessage) *string {
	if len(f) == 0 {
		return nil
	}
	s := string(f)
	return &s
}

// FiltersFromColumn reads the filters column back: nil for NULL.
func FiltersFromColumn(s *string) json.RawMessage {
	if s == nil {
		return nil
	}
	return json.RawMessage(*s)
}
