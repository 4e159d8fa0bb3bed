package webhooks_test

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/webhookkit/webhooks"
)

func compact(t *testing.T, s string) string {
	t.Helper()
	var b bytes.Buffer
	require.NoError(t, json.Compact(&b, []byte(s)))
	return b.String()
}

// The seed's "Standard Payload", byte for byte.
func TestTGMEnvelopeCreateMatchesSeed(t *testing.T) {
	attrs := compact(t, `{"id": 12345, "title": "Monthly Turbine Inspection", "status": "pending",
		"scheduledDate": "2026-02-15", "unit": {"id": 100, "name": "Turbine Unit 1"},
		"inspector": {"id": 50, "name": "John Smith"},
		"createdAt": "2026-02-01T12:30:45Z", "updatedAt": "2026-02-01T12:30:45Z"}`)
	ev := &webhooks.Event{
		ID:   "550e8400-e29b-41d4-a716-446655440000",
		Type: "inspection.created",
		Time: time.Date(2026, 2, 1, 12, 30, 45, 123_000_000, time.UTC),
		Data: webhooks.EventData{ID: 12345, Type: "Inspection", Attributes: json.RawMessage(attrs)},
	}
	got, err := webhooks.TGMEnvelope{}.Marshal(ev, 1)
	require.NoError(t, err)
	want := compact(t, `{
"eventId": "550e8400-e29b-41d4-a716-446655440000",
"event": "inspection.created",
"timestamp": "2026-02-01T12:30:45.123Z",
"webhookId": 1,
"apiVersion": "1.0",
"data": {"id": 12345, "type": "Inspection", "attributes": `+attrs+`, "previous": null},
"metadata": null
}`)
	require.Equal(t, want, string(got))
}

// Update and delete payloads carry previous (null when none) and metadata
// (null) too, so every event has one shape.
func TestTGMEnvelopeUpdateDeleteAndTenancy(t *testing.T) {
	loc := time.FixedZone("CET", 3600)
	ev := &webhooks.Event{
		ID:      "550e8400-e29b-41d4-a716-446655440001",
		Type:    "inspection.updated",
		Time:    time.Date(2026, 2, 1, 15, 0, 0, 0, loc),
		Client:  webhooks.Client{ID: "acme-corp", Name: "Acme Corporation"},
		Company: &webhooks.Company{ID: 1, Name: "Acme HQ"},
		Data: webhooks.EventData{ID: 12345, Type: "Inspection",
			Attributes: map[string]any{"id": 12345, "status": "completed"},
			Previous:   map[string]any{"status": "in_progress"}},
	}
	got, err := webhooks.TGMEnvelope{}.Marshal(ev, 7)
	require.NoError(t, err)
	require.Equal(t, `{"eventId":"550e8400-e29b-41d4-a716-446655440001","event":"inspection.updated",`+
		`"timestamp":"2026-02-01T14:00:00.000Z","webhookId":7,"apiVersion":"1.0",`+
		`"client":{"id":"acme-corp","name":"Acme Corporation"},"company":{"id":1,"name":"Acme HQ"},`+
		`"data":{"id":12345,"type":"Inspection","attributes":{"id":12345,"status":"completed"},`+
		`"previous":{"status":"in_progress"}},"metadata":null}`, string(got))

	del := &webhooks.Event{ID: "e3", Type: "inspection.deleted", Time: time.Date(2026, 2, 1, 15, 0, 0, 0, time.UTC),
		Data: webhooks.EventData{ID: 12345, Type: "Inspection", Attributes: map[string]any{"id": 12345}}}
	got, err = webhooks.TGMEnvelope{APIVersion: "2.0"}.Marshal(del, 1)
	require.NoError(t, err)
	require.JSONEq(t, `{"eventId":"e3","event":"inspection.deleted","timestamp":"2026-02-01T15:00:00.000Z",
		"webhookId":1,"apiVersion":"2.0","data":{"id":12345,"type":"Inspection","attributes":{"id":12345},"previous":null},
		"metadata":null}`, string(got))
}

func TestPingPayloadMatchesSeed(t *testing.T) {
	ping := webhooks.NewPingEvent(time.UnixMilli(1706745600000), webhooks.Client{})
	got, err := webhooks.TGMEnvelope{}.Marshal(ping, 1)
	require.NoError(t, err)
	require.Equal(t, compact(t, `{
"eventId": "ping-1706745600000",
"event": "webhook.ping",
"timestamp": "2024-02-01T00:00:00.000Z",
"webhookId": 1,
"apiVersion": "1.0",
"data": {"type": "WebhookTest", "attributes": {"message": "This is a test webhook delivery"}}
}`), string(got))
}

func TestStoredEventRoundTrip(t *testing.T) {
	ev := &webhooks.Event{ID: "x", Type: "unit.created", Time: time.Date(2026, 1, 2, 3, 4, 5, 6_000_000, time.UTC),
		Client: webhooks.Client{ID: "c", Name: "C"}, Company: &webhooks.Company{ID: 9, Name: "Nine"},
		Data:     webhooks.EventData{ID: "u-1", Type: "Unit", Attributes: json.RawMessage(`{"b":1,"a":2}`), Previous: json.RawMessage(`{"a":1}`)},
		Metadata: map[string]any{"source": json.RawMessage(`"api"`)}}
	b, err := webhooks.MarshalEvent(ev)
	require.NoError(t, err)
	back, err := webhooks.UnmarshalEvent(b)
	require.NoError(t, err)
	want, _ := webhooks.TGMEnvelope{}.Marshal(ev, 3)
	got, _ := webhooks.TGMEnvelope{}.Marshal(back, 3)
	require.Equal(t, string(want), string(got))
	_, err = webhooks.UnmarshalEvent([]byte("{"))
	require.Error(t, err)
}
