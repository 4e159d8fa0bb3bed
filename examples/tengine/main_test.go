package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/webhookkit/webhooks"
	"github.com/webhookkit/webhooks/store/sqlitestore"
	"github.com/webhookkit/webhooks/transport/sender"
)

// The seed's curl bodies, verbatim but for the URL, which becomes a test
// receiver's.
const (
	seedCreate = `{
       "url": "https://your-app.com/webhook",
       "events": ["project.created", "api_key.created"],
       "secret": "your-webhook-secret"
     }`
	seedHeaders = `{
       "url": "https://your-app.com/webhook",
       "events": ["project.created"],
       "headers": {
         "X-Custom-Header": "custom-value"
       }
     }`
	seedFilters = `{
  "url": "https://your-app.com/webhook",
  "events": ["project.created", "api_key.created"],
  "filters": {
    "project.name": "My Project"
  }
}`
)

// delivery is a request a receiver got.
type delivery struct {
	path   string
	header http.Header
	body   []byte
}

// sink is a real HTTP receiver recording every request.
type sink struct {
	*httptest.Server
	mu   sync.Mutex
	got  []delivery
	wait chan struct{}
}

func newSink(t *testing.T) *sink {
	s := &sink{wait: make(chan struct{}, 100)}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		s.mu.Lock()
		s.got = append(s.got, delivery{r.URL.Path, r.Header.Clone(), body})
		s.mu.Unlock()
		w.WriteHeader(http.StatusOK)
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *sink) byPath(path string) []delivery {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []delivery
	for _, d := range s.got {
		if d.path == path {
			out = append(out, d)
		}
	}
	return out
}

func (s *sink) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.got)
}

// newTestApp runs the product over a fresh SQLite file, delivering to
// loopback receivers.
func newTestApp(t *testing.T) (*app, *httptest.Server) {
	t.Helper()
	st, err := sqlitestore.Open(t.Context(), filepath.Join(t.TempDir(), "tengine.db"), nil)
	require.NoError(t, err)
	t.Cleanup(func() { _ = st.Close() })
	snd := sender.New(&sender.Options{AllowPrivateNetworks: true}) // receivers are on loopback
	t.Cleanup(snd.Close)
	a, err := newApp(st, snd, slog.New(slog.DiscardHandler))
	require.NoError(t, err)
	require.NoError(t, a.d.Start(t.Context()))
	srv := httptest.NewServer(a.handler)
	t.Cleanup(func() {
		srv.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		require.NoError(t, a.d.Stop(ctx))
	})
	return a, srv
}

// call sends a request with an API key and decodes the JSON answer.
func call(t *testing.T, srv *httptest.Server, key, method, path, body string) (int, map[string]any) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, srv.URL+path, rd)
	require.NoError(t, err)
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	require.NoError(t, err)
	var out map[string]any
	if len(raw) > 0 {
		require.NoError(t, json.Unmarshal(raw, &out), "%s", raw)
	}
	return res.StatusCode, out
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	require.Eventually(t, cond, 10*time.Second, 2*time.Millisecond, "waiting for %s", what)
}

// TestSeedCurlsAndNodeSnippet is the seed's walk-through against the
// example: its three create bodies, a domain event, the test curl, and
// its Node.js verification of what arrives.
func TestSeedCurlsAndNodeSnippet(t *testing.T) {
	_, srv := newTestApp(t)
	rc := newSink(t)
	const projects = "/api/v1/projects/" + demoProjectID

	status, created := call(t, srv, demoAPIKey, "POST", projects+"/webhooks",
		strings.Replace(seedCreate, "https://your-app.com/webhook", rc.URL+"/plain", 1))
	require.Equal(t, http.StatusCreated, status, "%v", created)
	require.Equal(t, "your-webhook-secret", created["secret"])
	require.Equal(t, demoProjectID, created["project_id"])
	require.Equal(t, float64(5), created["max_retries"], "the seed's five retries")
	require.Nil(t, created["filters"])
	plainID := created["id"].(string)

	status, withHeaders := call(t, srv, demoAPIKey, "POST", projects+"/webhooks",
		strings.Replace(seedHeaders, "https://your-app.com/webhook", rc.URL+"/headers", 1))
	require.Equal(t, http.StatusCreated, status, "%v", withHeaders)
	require.Equal(t, map[string]any{"X-Custom-Header": "custom-value"}, withHeaders["headers"])
	require.True(t, strings.HasPrefix(withHeaders["secret"].(string), "whsec_"), "a generated secret")

	status, filtered := call(t, srv, demoAPIKey, "POST", projects+"/webhooks",
		strings.Replace(seedFilters, "https://your-app.com/webhook", rc.URL+"/filtered", 1))
	require.Equal(t, http.StatusCreated, status, "%v", filtered)
	require.Equal(t, map[string]any{"project.name": "My Project"}, filtered["filters"])
	other := strings.Replace(strings.Replace(seedFilters, "https://your-app.com/webhook", rc.URL+"/other-name", 1),
		`"My Project"`, `"Someone Else's Project"`, 1)
	status, otherName := call(t, srv, demoAPIKey, "POST", projects+"/webhooks", other)
	require.Equal(t, http.StatusCreated, status, "%v", otherName)

	// A domain event: api_key.created goes to the plain webhook and the
	// matching filter, not to the other filter nor the project.created-only one.
	status, key := call(t, srv, demoAPIKey, "POST", projects+"/api_keys", `{"name": "My API Key", "permissions": ["read", "write"]}`)
	require.Equal(t, http.StatusCreated, status, "%v", key)
	waitFor(t, "two deliveries", func() bool { return rc.count() == 2 })
	require.Len(t, rc.byPath("/plain"), 1)
	require.Len(t, rc.byPath("/filtered"), 1)

	got := rc.byPath("/plain")[0]
	var body map[string]any
	require.NoError(t, json.Unmarshal(got.body, &body))
	require.Equal(t, "api_key.created", body["type"])
	require.Equal(t, apiVersion, body["api_version"])
	require.Regexp(t, `^evt_[0-9a-f]{24}$`, body["id"])
	_, err := time.Parse(time.RFC3339, body["created_at"].(string))
	require.NoError(t, err)
	require.Equal(t, map[string]any{"id": key["id"], "name": "My API Key", "permissions": []any{"read", "write"},
		"created_at": key["created_at"]}, body["data"])
	require.Equal(t, []string{"id", "type", "data", "created_at", "api_version"}, topKeys(t, got.body))
	require.Equal(t, webhooks.SignHMACSHA256("your-webhook-secret", got.body), got.header.Get("X-Tengine-Signature"))
	require.Equal(t, "api_key.created", got.header.Get("X-Tengine-Event"))
	require.NoError(t, webhooks.NewVerifier("your-webhook-secret", webhooks.HMACScheme{Prefix: headerPrefix}).Verify(got.header, got.body))
	runSeedNode(t, got, "your-webhook-secret")

	// The seed's test curl.
	status, test := call(t, srv, demoAPIKey, "POST", "/api/v1/webhooks/"+plainID+"/test", "")
	require.Equal(t, http.StatusOK, status, "%v", test)
	require.Equal(t, true, test["success"])
	require.Equal(t, float64(200), test["status_code"])
	pings := rc.byPath("/plain")
	require.Len(t, pings, 2)
	require.NoError(t, json.Unmarshal(pings[1].body, &body))
	require.Equal(t, "webhook.ping", body["type"])
	require.Equal(t, test["event_id"], body["id"])
	runSeedNode(t, pings[1], "your-webhook-secret")
	require.Empty(t, rc.byPath("/other-name"), "the filter on another project name matched nothing")
	require.Empty(t, rc.byPath("/headers"), "subscribed to project.created only")
}

// topKeys lists a JSON object's keys in their order in the text.
func topKeys(t *testing.T, b []byte) []string {
	dec := json.NewDecoder(bytes.NewReader(b))
	_, err := dec.Token()
	require.NoError(t, err)
	var keys []string
	for dec.More() {
		k, err := dec.Token()
		require.NoError(t, err)
		keys = append(keys, k.(string))
		var skip json.RawMessage
		require.NoError(t, dec.Decode(&skip))
	}
	return keys
}

// runSeedNode runs the seed's verifyWebhookSignature on a delivery. Node.js
// is required when WEBHOOKS_REQUIRE_SERVICES=1 (CI), else optional.
func runSeedNode(t *testing.T, d delivery, secret string) {
	t.Helper()
	node, err := exec.LookPath("node")
	if err != nil {
		if os.Getenv("WEBHOOKS_REQUIRE_SERVICES") == "1" {
			t.Fatalf("node is required (WEBHOOKS_REQUIRE_SERVICES=1): %v", err)
		}
		t.Log("node not installed: skipping the seed's Node.js check")
		return
	}
	bodyFile := filepath.Join(t.TempDir(), "body.json")
	require.NoError(t, os.WriteFile(bodyFile, d.body, 0o600))
	out, err := exec.Command(node, "testdata/seed_verify.js", bodyFile, d.header.Get("X-Tengine-Signature"), secret).CombinedOutput()
	require.NoError(t, err, "%s", out)
	require.JSONEq(t, `{"raw": true, "stringified": true, "tampered": false}`, string(out))
}

// TestProjectsAreScoped: a key acts for its own project only.
func TestProjectsAreScoped(t *testing.T) {
	_, srv := newTestApp(t)
	rc := newSink(t)
	status, hook := call(t, srv, demoAPIKey, "POST", "/api/v1/projects/"+demoProjectID+"/webhooks",
		`{"url": "`+rc.URL+`", "events": ["project.updated"]}`)
	require.Equal(t, http.StatusCreated, status, "%v", hook)
	id := hook["id"].(string)

	status, _ = call(t, srv, otherAPIKey, "POST", "/api/v1/webhooks/"+id+"/test", "")
	require.Equal(t, http.StatusNotFound, status)
	status, _ = call(t, srv, otherAPIKey, "POST", "/api/v1/projects/"+demoProjectID+"/webhooks", `{"url": "`+rc.URL+`", "events": ["project.updated"]}`)
	require.Equal(t, http.StatusNotFound, status)
	status, _ = call(t, srv, "wrong-key", "GET", "/api/v1/projects/"+demoProjectID+"/webhooks", "")
	require.Equal(t, http.StatusUnauthorized, status)
	status, list := call(t, srv, otherAPIKey, "GET", "/api/v1/projects/"+otherProjectID+"/webhooks", "")
	require.Equal(t, http.StatusOK, status)
	require.Empty(t, list["data"])

	// The other project's update reaches no webhook of this one.
	status, _ = call(t, srv, otherAPIKey, "PATCH", "/api/v1/projects/"+otherProjectID, `{"description": "x"}`)
	require.Equal(t, http.StatusOK, status)
	status, p := call(t, srv, demoAPIKey, "PATCH", "/api/v1/projects/"+demoProjectID, `{"description": "Renamed"}`)
	require.Equal(t, http.StatusOK, status, "%v", p)
	waitFor(t, "one delivery", func() bool { return rc.count() == 1 })
	var body map[string]any
	require.NoError(t, json.Unmarshal(rc.byPath("/")[0].body, &body))
	require.Equal(t, "project.updated", body["type"])
	require.Equal(t, "Renamed", body["data"].(map[string]any)["description"])
	require.Equal(t, demoProjectID, body["data"].(map[string]any)["id"])
	status, ds := call(t, srv, demoAPIKey, "GET", "/api/v1/webhooks/"+id+"/deliveries", "")
	require.Equal(t, http.StatusOK, status)
	require.Len(t, ds["data"], 1)
}

// TestBadInputIsNamed: bad filters, headers and bodies are 4xx naming
// the field, never 500.
func TestBadInputIsNamed(t *testing.T) {
	_, srv := newTestApp(t)
	path := "/api/v1/projects/" + demoProjectID + "/webhooks"
	cases := []struct {
		body   string
		status int
		field  string
	}{
		{`{"url": "https://x.example/h", "events": ["project.created"], "filters": {"project.name": {"$like": "My%"}}}`, 422, "filters.project.name.$like"},
		{`{"url": "https://x.example/h", "events": ["project.created"], "headers": {"X-Tengine-Signature": "forged"}}`, 422, "headers.X-Tengine-Signature"},
		{`{"url": "https://x.example/h", "events": ["project.exploded"]}`, 422, "events[0]"},
		{`{"url": "https://x.example/h", "events": []}`, 422, "events"},
		{`{"url": "https://x.example/h", "events": ["project.created"], "secret": "short"}`, 422, "secret"},
		{`{"url": "https://x.example/h", "events": ["project.created"], "colour": "red"}`, 400, ""},
		{`not json`, 400, ""},
	}
	for _, c := range cases {
		status, out := call(t, srv, demoAPIKey, "POST", path, c.body)
		require.Equal(t, c.status, status, "%s: %v", c.body, out)
		if c.field == "" {
			continue
		}
		var fields []string
		for _, f := range out["error"].(map[string]any)["fields"].([]any) {
			fields = append(fields, f.(map[string]any)["field"].(string))
		}
		require.Contains(t, fields, c.field, c.body)
	}
}

// TestRetryScheduleIsTheSeeds: five retries after 1, 5, 15, 60 and 240
// minutes (±10% jitter), by configuration.
func TestRetryScheduleIsTheSeeds(t *testing.T) {
	cfg := profileConfig(func(int64) string { return "" })
	want := []time.Duration{time.Minute, 5 * time.Minute, 15 * time.Minute, time.Hour, 4 * time.Hour}
	for i, w := range want {
		got := cfg.Retry.Delay(i+1, 0)
		require.InDelta(t, float64(w), float64(got), float64(w)/10+1, "retry %d", i+1)
	}
	a, _ := newTestApp(t)
	require.Equal(t, 5, a.d.Limits().MaxRetries)
	require.Equal(t, 5, a.d.Limits().DefaultMaxRetries)
}
