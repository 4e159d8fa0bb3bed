package main

import (
	"bytes"
	"encoding/json"
	"time"

	"github.com/webhookkit/webhooks"
)

// The TengineAI product as configuration of the library: its catalog,
// envelope, signature header, retry schedule and limits. Nothing here is
// in the library; everything is its public API.

// apiVersion is the api_version of every payload.
const apiVersion = "2021-09-01"

// tengineCatalog is the seed's event list.
func tengineCatalog() []webhooks.EventType {
	return []webhooks.EventType{
		{Name: "project.created", Category: "Project", Description: "New project created"},
		{Name: "project.updated", Category: "Project", Description: "Project settings updated"},
		{Name: "project.deleted", Category: "Project", Description: "Project deleted"},
		{Name: "api_key.created", Category: "API Key", Description: "New API key generated"},
		{Name: "api_key.revoked", Category: "API Key", Description: "API key revoked"},
		{Name: "api_key.updated", Category: "API Key", Description: "API key permissions updated"},
		{Name: "integration.connected", Category: "Integration", Description: "OAuth integration connected"},
		{Name: "integration.disconnected", Category: "Integration", Description: "OAuth integration disconnected"},
		{Name: "integration.updated", Category: "Integration", Description: "Integration settings updated"},
		{Name: "usage.threshold_reached", Category: "Usage", Description: "Usage threshold exceeded"},
		{Name: "usage.limit_exceeded", Category: "Usage", Description: "Usage limit exceeded"},
	}
}

// retrySchedule is the seed's: after the immediate attempt, retries after
// 1 minute, 5 minutes, 15 minutes, 1 hour and 4 hours.
var retrySchedule = []time.Duration{time.Minute, 5 * time.Minute, 15 * time.Minute, time.Hour, 4 * time.Hour}

// headerPrefix names the headers: X-Tengine-Signature (sha256=<hex>),
// X-Tengine-Event, X-Tengine-Delivery, X-Tengine-Timestamp.
const headerPrefix = "X-Tengine-"

// profileConfig returns the library configuration of the product; the
// caller adds the registry, store, sender and logger.
func profileConfig(projectID func(companyID int64) string) webhooks.Config {
	return webhooks.Config{
		Envelope: tengineEnvelope{projectID: projectID},
		Scheme:   webhooks.HMACScheme{Prefix: headerPrefix},
		Retry:    webhooks.RetryPolicy{Schedule: retrySchedule},
		// Five retries, the seed's schedule, for every new webhook.
		Limits: webhooks.Limits{MaxRetries: len(retrySchedule), DefaultMaxRetries: len(retrySchedule)},
		// The library's truncation keeps TGM's data.id and data.type; the
		// Tengine body has neither, so an oversize event is refused instead.
		RejectOversizePayloads: true,
	}
}

// tengineEnvelope renders the seed's body:
//
//	{"id": "evt_...", "type": "project.created", "data": {...},
//	 "created_at": "2024-01-01T00:00:00Z", "api_version": "2021-09-01"}
//
// data is the event's attributes: the resource as the API shows it. The
// body is compact JSON without HTML escaping, so that even the seed's
// JSON.stringify(req.body) receiver re-creates the signed bytes for
// ordinary payloads (the raw body is still the right thing to verify).
type tengineEnvelope struct {
	// projectID maps a company (the library's scope) to its project ID.
	projectID func(companyID int64) string
}

type tengineBody struct {
	ID         string `json:"id"`
	Type       string `json:"type"`
	Data       any    `json:"data"`
	CreatedAt  string `json:"created_at"`
	APIVersion string `json:"api_version"`
}

// eventIDPrefix starts every Tengine event ID.
const eventIDPrefix = "evt_"

// Marshal implements webhooks.Envelope.
func (e tengineEnvelope) Marshal(ev *webhooks.Event, _ int64) ([]byte, error) {
	id := ev.ID
	if len(id) < len(eventIDPrefix) || id[:len(eventIDPrefix)] != eventIDPrefix {
		id = eventIDPrefix + id // the library's test pings are "ping-<ms>"
	}
	data := ev.Data.Attributes
	if data == nil {
		data = struct{}{}
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(tengineBody{ID: id, Type: ev.Type, Data: data,
		CreatedAt: ev.Time.UTC().Format(time.RFC3339), APIVersion: apiVersion}); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// FilterFields implements webhooks.FilterFielder: filters may address the
// project the event concerns as project.id and project.name (the seed's
// {"filters": {"project.name": "My Project"}}), though the body does not
// carry it.
func (e tengineEnvelope) FilterFields(ev *webhooks.Event) map[string]any {
	if ev.Company == nil {
		return nil
	}
	return map[string]any{"project": map[string]any{"id": e.projectID(ev.Company.ID), "name": ev.Company.Name}}
}
