package admin_test

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/webhookkit/webhooks"
	"github.com/webhookkit/webhooks/store/memstore"
	"github.com/webhookkit/webhooks/transport/admin"
)

// FuzzRequestBodies: whatever the body, create and update answer with JSON
// and never with a 500. Seeds live in testdata/fuzz/FuzzRequestBodies.
func FuzzRequestBodies(f *testing.F) {
	f.Add([]byte(`{"name":"n","url":"https://example.com","events":["inspection.created"],"companyId":1}`))
	f.Add([]byte(`{"name":"n","url":"https://example.com","timeoutMs":1e309}`))
	f.Add([]byte(`{"customHeaders":{"X-A":"\u0000"},"events":null}`))
	f.Add([]byte(`[]`))
	reg := webhooks.MustNewRegistry(webhooks.EventType{Name: "inspection.created"})
	d, err := webhooks.New(webhooks.Config{Registry: reg, Store: memstore.New(), Logger: slog.New(slog.DiscardHandler),
		Limits: webhooks.Limits{MaxWebhooksPerCompany: 1 << 30}})
	if err != nil {
		f.Fatal(err)
	}
	h := admin.New(d, func(*http.Request) (webhooks.Scope, error) { return webhooks.Scope{Client: ""}, nil }, nil)
	seed := httptest.NewRecorder()
	h.ServeHTTP(seed, jsonRequest("POST", "/api/admin/webhooks", []byte(`{"name":"n","url":"https://example.com"}`)))
	if seed.Code != http.StatusCreated {
		f.Fatalf("seed webhook: %d %s", seed.Code, seed.Body)
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		for _, r := range []*http.Request{
			jsonRequest("POST", "/api/admin/webhooks", body),
			jsonRequest("PUT", "/api/admin/webhooks/1", body),
			jsonRequest("POST", "/api/admin/webhooks/1/regenerate-secret", body),
		} {
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, r)
			if rec.Code >= 500 {
				t.Fatalf("%s %s: %d for body %q: %s", r.Method, r.URL.Path, rec.Code, body, rec.Body)
			}
			if !json.Valid(rec.Body.Bytes()) {
				t.Fatalf("%s %s: response is not JSON: %q", r.Method, r.URL.Path, rec.Body)
			}
		}
	})
}

func jsonRequest(method, target string, body []byte) *http.Request {
	r := httptest.NewRequest(method, target, bytes.NewReader(body))
	r.Header.Set("Content-Type", "application/json")
	return r
}
