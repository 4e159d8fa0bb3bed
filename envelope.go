package webhooks

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"strconv"
	"time"
)

// Envelope renders the request body of one delivery: the wire format of a
// product. The library ships TGMEnvelope (the default); another product's
// format is a type implementing this interface, set in Config.Envelope.
// Payload filters read the body it renders; an Envelope may also implement
// FilterFielder to let filters address fields the body does not carry.
type Envelope interface {
	// Marshal returns the body sent to webhook webhookID for event ev. It is
	// called for every attempt and must be deterministic: a retry sends the
	// same bytes.
	Marshal(ev *Event, webhookID int64) ([]byte, error)
}

// TGMEnvelope is the TGM Expert payload:
//
//	{"eventId", "event", "timestamp", "webhookId", "apiVersion", "client",
//	 "company", "data": {"id", "type", "attributes", "previous"}, "metadata"}
//
// timestamp is the event time in RFC 3339 UTC with milliseconds. client is
// omitted for the single-tenant client "" and company for client-wide events;
// data.id is omitted when the event has none; data.previous and metadata are
// always present, null when empty. Test pings (webhook.ping) have the seed's
// shorter shape: data holds only type and attributes.
type TGMEnvelope struct {
	// APIVersion is the apiVersion field. Default "1.0".
	APIVersion string
}

// TimestampFormat is RFC 3339 with milliseconds, as in "2026-02-01T12:30:45.123Z".
const TimestampFormat = "2006-01-02T15:04:05.000Z07:00"

type tgmData struct {
	ID         any `json:"id,omitempty"`
	Type       any `json:"type"`
	Attributes any `json:"attributes"`
	Previous   any `json:"previous"`
}

type tgmPingData struct {
	Type       string `json:"type"`
	Attributes any    `json:"attributes"`
}

type tgmBody struct {
	EventID    string   `json:"eventId"`
	Event      string   `json:"event"`
	Timestamp  string   `json:"timestamp"`
	WebhookID  int64    `json:"webhookId"`
	APIVersion string   `json:"apiVersion"`
	Client     *Client  `json:"client,omitempty"`
	Company    *Company `json:"company,omitempty"`
	Data       any      `json:"data"`
	Metadata   any      `json:"metadata,omitempty"`
}

// Marshal implements Envelope.
func (e TGMEnvelope) Marshal(ev *Event, webhookID int64) ([]byte, error) {
	v := e.APIVersion
	if v == "" {
		v = "1.0"
	}
	b := tgmBody{
		EventID:    ev.ID,
		Event:      ev.Type,
		Timestamp:  ev.Time.UTC().Format(TimestampFormat),
		WebhookID:  webhookID,
		APIVersion: v,
		Company:    ev.Company,
	}
	if ev.Client.ID != "" {
		c := ev.Client
		b.Client = &c
	}
	if ev.Type == PingEventType {
		b.Data = tgmPingData{Type: ev.Data.Type, Attributes: ev.Data.Attributes}
		return json.Marshal(b)
	}
	b.Data = tgmData{ID: ev.Data.ID, Type: emptyToNil(ev.Data.Type), Attributes: ev.Data.Attributes, Previous: ev.Data.Previous}
	b.Metadata = json.RawMessage("null")
	if ev.Metadata != nil {
		b.Metadata = ev.Metadata
	}
	return json.Marshal(b)
}

func emptyToNil(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// NewPingEvent returns the webhook.ping test event of the seed: ID
// "ping-<unix milliseconds>", data type "WebhookTest" and a fixed message.
// Dispatcher.SendTest sends it as is unless another event of the client
// already has that ID (pings sent in the same millisecond); it then sends
// "ping-<unix milliseconds>-<16 random hex digits>".
func NewPingEvent(now time.Time, client Client) *Event {
	return &Event{
		ID:     pingID(now),
		Type:   PingEventType,
		Time:   now.UTC(),
		Client: client,
		Data: EventData{
			Type:       "WebhookTest",
			Attributes: map[string]any{"message": "This is a test webhook delivery"},
		},
	}
}

// maxPingTries bounds SendTest's search for a free ping ID: the seed's ID
// and then random variants, which in practice never collide.
const maxPingTries = 5

func pingID(now time.Time) string { return "ping-" + strconv.FormatInt(now.UnixMilli(), 10) }

// pingIDVariant is a ping ID for a millisecond whose plain ID is taken.
func pingIDVariant(now time.Time) string {
	var b [8]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails on supported platforms
	return pingID(now) + "-" + hex.EncodeToString(b[:])
}

// truncateEvent applies the seed's large-payload rule: keep data.id and
// data.type, drop everything else, and mark metadata.truncated.
func truncateEvent(ev *Event) *Event {
	out := *ev
	out.Data = EventData{ID: ev.Data.ID, Type: ev.Data.Type}
	out.Metadata = map[string]any{"truncated": true}
	return &out
}
