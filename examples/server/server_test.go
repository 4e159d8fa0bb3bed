package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/webhookkit/webhooks"
	"github.com/webhookkit/webhooks/transport/sender"
)

const waitFor = 15 * time.Second // deadline of every poll

// syncBuffer is an io.Writer safe for the server's goroutines and the test.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// testServer is run() in a goroutine on 127.0.0.1:0.
type testServer struct {
	base   string
	cancel context.CancelFunc
	done   chan error
	stdout *syncBuffer

	once sync.Once
	err  error
}

// startServer runs the server on dataDir with extra flags and waits until
// it prints its address. It is stopped when the test ends.
func startServer(t *testing.T, dataDir string, flags ...string) *testServer {
	t.Helper()
	return startServerIn(t, dataDir, "", flags...)
}

// startServerIn is startServer with a namespace for the Postgres schemas
// and Redis prefixes (config.namespace).
func startServerIn(t *testing.T, dataDir, namespace string, flags ...string) *testServer {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	ts := &testServer{cancel: cancel, done: make(chan error, 1), stdout: &syncBuffer{}}
	stderr := &syncBuffer{}
	args := append([]string{"-addr", "127.0.0.1:0", "-data", dataDir, "-shutdown-timeout", "5s"}, flags...)
	cfg, err := parseFlags(args, stderr)
	require.NoError(t, err)
	cfg.namespace = namespace
	go func() { ts.done <- serve(ctx, cfg, ts.stdout, stderr) }()
	t.Cleanup(func() {
		_ = ts.stop(t)
		if t.Failed() {
			t.Logf("server log:\n%s", stderr.String())
		}
	})

	const marker = "listening on "
	deadline := time.Now().Add(waitFor)
	for {
		out := ts.stdout.String()
		if i := strings.Index(out, marker); i >= 0 {
			if line, _, ok := strings.Cut(out[i+len(marker):], "\n"); ok {
				ts.base = line
				return ts
			}
		}
		select {
		case err := <-ts.done:
			ts.once.Do(func() { ts.err = err })
			t.Fatalf("server exited before listening: %v", err)
		case <-time.After(5 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("server did not print %q within %s; stdout:\n%s", marker, waitFor, out)
		}
	}
}

// stop cancels run's context and returns what run returned.
func (ts *testServer) stop(t *testing.T) error {
	t.Helper()
	ts.once.Do(func() {
		ts.cancel()
		select {
		case ts.err = <-ts.done:
		case <-time.After(waitFor):
			ts.err = errors.New("run did not return after its context was cancelled")
		}
	})
	return ts.err
}

// call sends a JSON request with a bearer token ("" for none) and decodes
// the JSON answer (nil when there is no body).
func (ts *testServer) call(t *testing.T, method, path, token string, body any) (int, map[string]any) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		raw, ok := body.(string)
		if !ok {
			b, err := json.Marshal(body)
			require.NoError(t, err)
			raw = string(b)
		}
		rd = strings.NewReader(raw)
	}
	req, err := http.NewRequest(method, ts.base+path, rd)
	require.NoError(t, err)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	if len(bytes.TrimSpace(raw)) == 0 {
		return resp.StatusCode, nil
	}
	var out map[string]any
	require.NoError(t, json.Unmarshal(raw, &out), "%s %s answered %d with non-JSON %q", method, path, resp.StatusCode, raw)
	return resp.StatusCode, out
}

// must is call, requiring the status.
func (ts *testServer) must(t *testing.T, want int, method, path, token string, body any) map[string]any {
	t.Helper()
	status, out := ts.call(t, method, path, token, body)
	require.Equal(t, want, status, "%s %s as %s: %v", method, path, token, out)
	return out
}

// receiver is a customer's endpoint that records every request. It answers
// 200, or 503 while down is set.
type receiver struct {
	*httptest.Server
	down atomic.Bool
	mu   sync.Mutex
	reqs []received
}

type received struct {
	header http.Header
	body   []byte
}

func newReceiver(t *testing.T) *receiver {
	rc := &receiver{}
	rc.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		rc.mu.Lock()
		rc.reqs = append(rc.reqs, received{header: r.Header.Clone(), body: body})
		rc.mu.Unlock()
		if rc.down.Load() {
			w.WriteHeader(http.StatusServiceUnavailable)
			_, _ = io.WriteString(w, `{"error":"maintenance window"}`)
			return
		}
		_, _ = io.WriteString(w, "OK")
	}))
	t.Cleanup(rc.Close)
	return rc
}

func (rc *receiver) count() int {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return len(rc.reqs)
}

// next waits for request number n (1-based).
func (rc *receiver) next(t *testing.T, n int) received {
	t.Helper()
	require.Eventually(t, func() bool { return rc.count() >= n }, waitFor, 5*time.Millisecond,
		"receiver did not get request %d", n)
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return rc.reqs[n-1]
}

// seedWebhook is the seed's "Creating a Webhook" body, aimed at url.
func seedWebhook(url string) map[string]any {
	return map[string]any{
		"name":                     "My Integration Webhook",
		"description":              "Sends events to our internal system",
		"url":                      url,
		"companyId":                1,
		"events":                   []string{"inspection.created", "inspection.updated", "alert.created"},
		"httpMethod":               "POST",
		"contentType":              "application/json",
		"timeoutMs":                30000,
		"maxRetries":               3,
		"verifySsl":                true,
		"autoDisableAfterFailures": 10,
	}
}

func obj(t *testing.T, v any) map[string]any {
	t.Helper()
	m, ok := v.(map[string]any)
	require.True(t, ok, "want a JSON object, got %#v", v)
	return m
}

func list(t *testing.T, v any) []any {
	t.Helper()
	l, ok := v.([]any)
	require.True(t, ok, "want a JSON array, got %#v", v)
	return l
}

// id reads a JSON number as int64.
func id(t *testing.T, v any) int64 {
	t.Helper()
	f, ok := v.(float64)
	require.True(t, ok, "want a number, got %#v", v)
	return int64(f)
}

func jsonOf(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	require.NoError(t, err)
	return string(b)
}

// createWebhook creates a webhook through the admin API and returns its ID
// and secret.
func createWebhook(t *testing.T, ts *testServer, token string, body map[string]any) (int64, string) {
	t.Helper()
	out := ts.must(t, http.StatusCreated, "POST", adminPrefix, token, body)
	data := obj(t, out["data"])
	secret, _ := data["secret"].(string)
	require.True(t, strings.HasPrefix(secret, webhooks.SecretPrefix), "the create answer carries the secret once: %v", data)
	return id(t, data["id"]), secret
}

// deliveries lists a webhook's deliveries through the admin API.
func deliveries(t *testing.T, ts *testServer, token string, webhookID int64) []any {
	t.Helper()
	out := ts.must(t, http.StatusOK, "GET", fmt.Sprintf("%s/%d/deliveries?limit=100", adminPrefix, webhookID), token, nil)
	return list(t, out["data"])
}

// checkSigned verifies one request as a TGM receiver would and returns its
// decoded body.
func checkSigned(t *testing.T, r received, secret, event string) map[string]any {
	t.Helper()
	require.Equal(t, webhooks.SignHMACSHA256(secret, r.body), r.header.Get("X-TGM-Signature"))
	require.NoError(t, webhooks.NewVerifier(secret, webhooks.HMACScheme{Prefix: "X-TGM-"}).Verify(r.header, r.body))
	require.Equal(t, event, r.header.Get("X-TGM-Event"))
	require.NotEmpty(t, r.header.Get("X-TGM-Delivery"))
	ts, err := strconv.ParseInt(r.header.Get("X-TGM-Timestamp"), 10, 64)
	require.NoError(t, err)
	require.InDelta(t, time.Now().Unix(), ts, 60)
	require.Equal(t, "application/json", r.header.Get("Content-Type"))
	var body map[string]any
	require.NoError(t, json.Unmarshal(r.body, &body))
	require.Equal(t, event, body["event"])
	require.Equal(t, "1.0", body["apiVersion"])
	return body
}

func TestCatalogIsTheSeeds(t *testing.T) {
	types := tgmCatalog()
	reg, err := webhooks.NewRegistry(types...)
	require.NoError(t, err)
	require.Len(t, reg.List(), 50)

	perCategory := map[string]int{}
	for _, et := range types {
		perCategory[et.Category]++
		require.NotEmpty(t, et.Description, et.Name)
	}
	require.Equal(t, map[string]int{
		"Asset": 9, "Maintenance": 13, "Monitoring": 8, "Lifecycle": 7, "Document": 6, "Communication": 7,
	}, perCategory)
	for name, want := range map[string]webhooks.EventType{
		"location.created":          {Category: "Asset", Description: "Location/plant created"},
		"work_order.status_changed": {Category: "Maintenance", Description: "Work order status changed"},
		"failure.created":           {Category: "Maintenance", Description: "Failure recorded"},
		"alert.created":             {Category: "Monitoring", Description: "Alert triggered"},
		"alert.acknowledged":        {Category: "Monitoring", Description: "Alert acknowledged"},
		"sensor.deleted":            {Category: "Monitoring", Description: "Sensor removed"},
		"sensor.reading_received":   {Category: "Monitoring", Description: "Sensor reading received"},
		"maintenance_plan.due":      {Category: "Lifecycle", Description: "Maintenance is due"},
		"spare_part.low_stock":      {Category: "Lifecycle", Description: "Spare part stock is low"},
		"document.created":          {Category: "Document", Description: "Document uploaded"},
		"comment.created":           {Category: "Communication", Description: "Comment added"},
		"todo.completed":            {Category: "Communication", Description: "Todo completed"},
	} {
		got, ok := reg.Lookup(name)
		require.True(t, ok, name)
		want.Name = name
		require.Equal(t, want, got)
	}
}

func TestNonPublicAddressesAreRefused(t *testing.T) {
	rc := newReceiver(t)
	_, port, err := net.SplitHostPort(rc.Listener.Addr().String())
	require.NoError(t, err)

	guarded := sender.New(senderOptions(false))
	t.Cleanup(guarded.Close)
	for _, host := range []string{
		"127.0.0.1", "127.8.9.10", "[::1]", "10.1.2.3", "172.16.0.1", "192.168.1.1", "100.64.0.1",
		"[fc00::1]", "169.254.169.254", "[fe80::1%25eth0]", "0.0.0.0", "[::]", "224.0.0.1", "[ff02::1]",
		"[::ffff:127.0.0.1]", "[::ffff:10.0.0.1]", "[64:ff9b::7f00:1]", "[2002:7f00:1::]",
		"2130706433", "0177.0.0.1", "127.1", "localhost",
	} {
		u := "http://" + host + ":" + port + "/"
		_, err := guarded.Send(context.Background(), &sender.Request{URL: u})
		require.ErrorIs(t, err, sender.ErrBlockedAddress, u)
	}
	require.Equal(t, 0, rc.count(), "nothing reached the loopback receiver")

	open := sender.New(senderOptions(true))
	t.Cleanup(open.Close)
	resp, err := open.Send(context.Background(), &sender.Request{URL: rc.URL})
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Equal(t, 1, rc.count())
}

func TestFlags(t *testing.T) {
	dir := t.TempDir()
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"extra"}, "unexpected argument"},
		{[]string{"-no-such-flag"}, "not defined"},
		{[]string{"-postgres", "postgres://127.0.0.1:1/x", "-redis", "redis://127.0.0.1:1/0"}, "mutually exclusive"},
		{[]string{"-redis", "http://127.0.0.1:6379"}, "-redis: "},
		{[]string{"-redis", "redis://127.0.0.1:6379/notanumber"}, "-redis: "},
		{[]string{"-postgres", "postgres://127.0.0.1:notaport/x"}, "-postgres: "},
	} {
		err := run(context.Background(), append([]string{"-data", dir}, c.args...), io.Discard, io.Discard)
		var usage usageError
		require.ErrorAs(t, err, &usage, c.args)
		require.Contains(t, err.Error(), c.want, c.args)
	}

	// Nothing listens on port 1: a clear error, not a usage error (exit 1).
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"-redis", "redis://127.0.0.1:1/0"}, "-redis: cannot connect to Redis at 127.0.0.1:1 (db 0)"},
		{[]string{"-postgres", "postgres://postgres@127.0.0.1:1/test?sslmode=disable&connect_timeout=5"},
			"-postgres: cannot connect to Postgres at 127.0.0.1:1/test"},
	} {
		err := run(context.Background(), append([]string{"-data", dir, "-addr", "127.0.0.1:0"}, c.args...), io.Discard, io.Discard)
		require.Error(t, err, c.args)
		var usage usageError
		require.False(t, errors.As(err, &usage), "%v: %v", c.args, err)
		require.Contains(t, err.Error(), c.want, c.args)
		require.Contains(t, err.Error(), "refused", c.args)
	}
}

func TestInspectionsAndEventsAreDeliveredSigned(t *testing.T) {
	rc := newReceiver(t)
	ts := startServer(t, t.TempDir(), "-allow-private-networks")
	out := ts.stdout.String()
	for _, tok := range []string{"acme-admin", "acme-company-1", "acme-company-2", "globex-admin"} {
		require.Contains(t, out, tok)
	}
	require.Contains(t, out, "curl -s -X POST \""+ts.base+adminPrefix+"\"")

	hookID, secret := createWebhook(t, ts, "acme-company-1", seedWebhook(rc.URL+"/webhooks/tgm"))

	// Created: the payload names the client and the company.
	created := ts.must(t, http.StatusCreated, "POST", "/api/inspections", "acme-company-1",
		`{"title": "Monthly Turbine Inspection", "status": "pending", "scheduledDate": "2026-02-15"}`)
	ins := obj(t, created["data"])
	insID := id(t, ins["id"])
	require.Equal(t, "pending", ins["status"])
	require.EqualValues(t, 1, ins["companyId"])
	body := checkSigned(t, rc.next(t, 1), secret, "inspection.created")
	require.Equal(t, obj(t, created["meta"])["eventId"], body["eventId"])
	require.EqualValues(t, hookID, body["webhookId"])
	require.JSONEq(t, `{"id": "acme-corp", "name": "Acme Corporation"}`, jsonOf(t, body["client"]))
	require.JSONEq(t, `{"id": 1, "name": "Acme HQ"}`, jsonOf(t, body["company"]))
	data := obj(t, body["data"])
	require.EqualValues(t, insID, data["id"])
	require.Equal(t, "Inspection", data["type"])
	require.Nil(t, data["previous"])
	attrs := obj(t, data["attributes"])
	require.Equal(t, "Monthly Turbine Inspection", attrs["title"])
	require.Equal(t, "2026-02-15", attrs["scheduledDate"])

	// Updated: previous holds the old values of the fields that changed.
	path := fmt.Sprintf("/api/inspections/%d", insID)
	updated := ts.must(t, http.StatusOK, "PUT", path, "acme-company-1",
		`{"title": "Monthly Turbine Inspection", "status": "completed"}`)
	require.Equal(t, "completed", obj(t, updated["data"])["status"])
	body = checkSigned(t, rc.next(t, 2), secret, "inspection.updated")
	data = obj(t, body["data"])
	require.JSONEq(t, `{"status": "pending"}`, jsonOf(t, data["previous"]))
	require.Equal(t, "completed", obj(t, data["attributes"])["status"])
	require.JSONEq(t, `{"id": 1, "name": "Acme HQ"}`, jsonOf(t, body["company"]))

	// An update that changes nothing emits nothing.
	unchanged := ts.must(t, http.StatusOK, "PUT", path, "acme-company-1", `{"status": "completed"}`)
	require.Equal(t, false, obj(t, unchanged["meta"])["changed"])

	// Any registered event through /api/events.
	emitted := ts.must(t, http.StatusAccepted, "POST", "/api/events", "acme-company-1",
		`{"event": "alert.created", "data": {"id": 7, "type": "Alert", "attributes": {"severity": "high"}}, "metadata": {"source": "test"}}`)
	body = checkSigned(t, rc.next(t, 3), secret, "alert.created")
	require.Equal(t, obj(t, emitted["data"])["eventId"], body["eventId"])
	require.JSONEq(t, `{"id": 7, "type": "Alert", "attributes": {"severity": "high"}, "previous": null}`, jsonOf(t, body["data"]))
	require.JSONEq(t, `{"source": "test"}`, jsonOf(t, body["metadata"]))
	require.JSONEq(t, `{"id": 1, "name": "Acme HQ"}`, jsonOf(t, body["company"]))

	// Not for this webhook: another company's inspection, a client-wide one
	// (client admin without companyId), an unsubscribed type. Emit is
	// synchronous, so the history is final when the answer arrives.
	ts.must(t, http.StatusCreated, "POST", "/api/inspections", "acme-company-2", `{"title": "Plant B check"}`)
	wide := ts.must(t, http.StatusCreated, "POST", "/api/inspections", "acme-admin", `{"title": "Client-wide audit"}`)
	require.Nil(t, obj(t, wide["data"])["companyId"])
	ts.must(t, http.StatusAccepted, "POST", "/api/events", "acme-company-1", `{"event": "unit.created"}`)
	ts.must(t, http.StatusAccepted, "POST", "/api/events", "acme-admin", `{"event": "alert.created", "companyId": 2}`)

	// Deleted: the client admin may act on any company's inspection.
	ts.must(t, http.StatusOK, "DELETE", path, "acme-admin", nil)
	ts.must(t, http.StatusNotFound, "GET", path, "acme-company-1", nil)
	// inspection.deleted is not subscribed: subscribe to it and delete another.
	ts.must(t, http.StatusOK, "PUT", fmt.Sprintf("%s/%d", adminPrefix, hookID), "acme-company-1",
		map[string]any{"events": []string{"inspection.*", "alert.created"}})
	second := ts.must(t, http.StatusCreated, "POST", "/api/inspections?companyId=1", "acme-admin", `{"title": "Weekly check"}`)
	secondID := id(t, obj(t, second["data"])["id"])
	body = checkSigned(t, rc.next(t, 4), secret, "inspection.created")
	require.JSONEq(t, `{"id": 1, "name": "Acme HQ"}`, jsonOf(t, body["company"]))
	ts.must(t, http.StatusOK, "DELETE", fmt.Sprintf("/api/inspections/%d", secondID), "acme-company-1", nil)
	body = checkSigned(t, rc.next(t, 5), secret, "inspection.deleted")
	require.JSONEq(t, fmt.Sprintf(`{"id": %d, "type": "Inspection", "attributes": {"id": %d, "title": "Weekly check"}, "previous": null}`, secondID, secondID),
		jsonOf(t, body["data"]))

	require.Eventually(t, func() bool {
		ds := deliveries(t, ts, "acme-company-1", hookID)
		if len(ds) != 5 {
			return false
		}
		for _, d := range ds {
			if obj(t, d)["status"] != "SUCCESS" {
				return false
			}
		}
		return true
	}, waitFor, 10*time.Millisecond)
	require.Equal(t, 5, rc.count())
}

func TestDomainEndpointErrors(t *testing.T) {
	ts := startServer(t, t.TempDir())
	for _, c := range []struct {
		method, path, token string
		body                any
		status              int
		code                string
	}{
		{"POST", "/api/inspections", "", `{"title": "x"}`, 401, "unauthorized"},
		{"POST", "/api/inspections", "nope", `{"title": "x"}`, 401, "unauthorized"},
		{"POST", "/api/inspections", "acme-company-1", `{"title": `, 400, "invalid_json"},
		{"POST", "/api/inspections", "acme-company-1", `[]`, 400, "invalid_json"},
		{"POST", "/api/inspections", "acme-company-1", `{"status": "done", "scheduledDate": "soon", "color": 1}`, 422, "validation_failed"},
		{"POST", "/api/inspections", "acme-company-1", `{"title": "x", "companyId": 2}`, 403, "forbidden"},
		{"POST", "/api/inspections", "acme-admin", `{"title": "x", "companyId": 9}`, 422, "validation_failed"},
		{"PUT", "/api/inspections/999", "acme-admin", `{"title": "x"}`, 404, "not_found"},
		{"PUT", "/api/inspections/abc", "acme-admin", `{"title": "x"}`, 404, "not_found"},
		{"POST", "/api/events", "acme-admin", `{"data": {}}`, 422, "validation_failed"},
		{"POST", "/api/events", "acme-admin", `{"event": "inspection.exploded"}`, 422, "unknown_event_type"},
		{"POST", "/api/events", "acme-admin", `{"event": "Not A Type"}`, 422, "unknown_event_type"},
		{"POST", "/api/events", "acme-admin", `{"event": "webhook.ping"}`, 422, "unknown_event_type"},
		{"POST", "/api/events", "acme-admin", `{"event": "alert.created", "data": {"title": "x"}}`, 422, "validation_failed"},
	} {
		status, out := ts.call(t, c.method, c.path, c.token, c.body)
		require.Equal(t, c.status, status, "%+v: %v", c, out)
		require.Equal(t, c.code, obj(t, out["error"])["code"], "%+v: %v", c, out)
	}

	_, out := ts.call(t, "POST", "/api/inspections", "acme-company-1", `{"status": "done", "scheduledDate": "soon", "color": 1}`)
	var fields []string
	for _, f := range list(t, obj(t, out["error"])["fields"]) {
		fields = append(fields, obj(t, f)["field"].(string))
	}
	require.Equal(t, []string{"color", "scheduledDate", "status", "title"}, fields)

	_, out = ts.call(t, "POST", "/api/events", "acme-admin", `{"event": "inspection.exploded"}`)
	require.Contains(t, obj(t, out["error"])["message"], `"inspection.exploded"`)
}

func TestTenantIsolation(t *testing.T) {
	rc := newReceiver(t)
	ts := startServer(t, t.TempDir(), "-allow-private-networks")
	hookID, _ := createWebhook(t, ts, "acme-company-1", seedWebhook(rc.URL))
	hook := fmt.Sprintf("%s/%d", adminPrefix, hookID)

	// The admin API: other clients and other companies get 404, not 403.
	ts.must(t, http.StatusOK, "GET", hook, "acme-company-1", nil)
	ts.must(t, http.StatusOK, "GET", hook, "acme-admin", nil)
	for _, token := range []string{"globex-admin", "acme-company-2"} {
		for _, c := range []struct{ method, path string }{
			{"GET", hook}, {"PUT", hook}, {"POST", hook + "/disable"}, {"POST", hook + "/test"},
			{"GET", hook + "/deliveries"}, {"POST", hook + "/regenerate-secret"}, {"DELETE", hook},
		} {
			var body any
			if c.method == "PUT" {
				body = map[string]any{"name": "taken over"}
			}
			status, out := ts.call(t, c.method, c.path, token, body)
			require.Equal(t, http.StatusNotFound, status, "%s %s as %s: %v", c.method, c.path, token, out)
		}
	}
	out := ts.must(t, http.StatusOK, "GET", adminPrefix+"/company/1", "globex-admin", nil)
	require.Empty(t, list(t, out["data"]), "globex's company 1 has no webhooks")
	out = ts.must(t, http.StatusOK, "GET", adminPrefix+"/company/1", "acme-admin", nil)
	require.Len(t, list(t, out["data"]), 1)
	for _, token := range []string{"", "globex", "Basic acme-admin"} {
		status, _ := ts.call(t, "GET", hook, token, nil)
		require.Equal(t, http.StatusUnauthorized, status, token)
	}

	// A delivery of acme's is invisible to globex and to company 2.
	ts.must(t, http.StatusCreated, "POST", "/api/inspections", "acme-company-1", `{"title": "Monthly Turbine Inspection"}`)
	rc.next(t, 1)
	ds := deliveries(t, ts, "acme-company-1", hookID)
	require.Len(t, ds, 1)
	delivery := fmt.Sprintf("%s/deliveries/%d", adminPrefix, id(t, obj(t, ds[0])["id"]))
	ts.must(t, http.StatusOK, "GET", delivery, "acme-company-1", nil)
	ts.must(t, http.StatusNotFound, "GET", delivery, "acme-company-2", nil)
	ts.must(t, http.StatusNotFound, "GET", delivery, "globex-admin", nil)
	ts.must(t, http.StatusNotFound, "POST", delivery+"/retry", "globex-admin", nil)

	// The domain endpoints: the same rule for inspections.
	ins := "/api/inspections/1"
	ts.must(t, http.StatusOK, "GET", ins, "acme-company-1", nil)
	ts.must(t, http.StatusNotFound, "GET", ins, "acme-company-2", nil)
	ts.must(t, http.StatusNotFound, "GET", ins, "globex-admin", nil)
	ts.must(t, http.StatusNotFound, "PUT", ins, "acme-company-2", `{"status": "cancelled"}`)
	ts.must(t, http.StatusNotFound, "DELETE", ins, "globex-admin", nil)
	out = ts.must(t, http.StatusOK, "GET", "/api/inspections", "acme-company-2", nil)
	require.Empty(t, list(t, out["data"]))
	out = ts.must(t, http.StatusOK, "GET", "/api/inspections", "globex-admin", nil)
	require.Empty(t, list(t, out["data"]))

	// A globex event reaches no acme webhook.
	ts.must(t, http.StatusAccepted, "POST", "/api/events", "globex-admin", `{"event": "inspection.created", "companyId": 1}`)
	require.Len(t, deliveries(t, ts, "acme-admin", hookID), 1)
	require.Equal(t, 1, rc.count())
}

func TestPrivateTargetsAreRefusedWithoutTheFlag(t *testing.T) {
	rc := newReceiver(t)
	// The webhook is created while the flag allows loopback targets, then
	// the server restarts without it: the guard refuses at send time what
	// is already stored (create-time validation may refuse new ones).
	dir := t.TempDir()
	ts := startServer(t, dir, "-allow-private-networks")
	hookID, _ := createWebhook(t, ts, "acme-admin", seedWebhook(rc.URL+"/webhooks/tgm"))
	require.NoError(t, ts.stop(t))
	ts = startServer(t, dir)
	require.Contains(t, ts.stdout.String(), "-allow-private-networks")

	ts.must(t, http.StatusCreated, "POST", "/api/inspections", "acme-company-1", `{"title": "Monthly Turbine Inspection"}`)
	var did int64
	require.Eventually(t, func() bool {
		ds := deliveries(t, ts, "acme-company-1", hookID)
		if len(ds) != 1 || id(t, obj(t, ds[0])["attemptCount"]) < 1 {
			return false
		}
		did = id(t, obj(t, ds[0])["id"])
		return true
	}, waitFor, 10*time.Millisecond)

	d := obj(t, ts.must(t, http.StatusOK, "GET", fmt.Sprintf("%s/deliveries/%d", adminPrefix, did), "acme-company-1", nil)["data"])
	require.Equal(t, "RETRYING", d["status"], "a refused dial is a failed attempt, retried on the schedule: %v", d)
	attempts := list(t, d["attempts"])
	require.Len(t, attempts, 1)
	msg, _ := obj(t, attempts[0])["errorMessage"].(string)
	require.Contains(t, msg, "blocked by the SSRF guard")
	require.Contains(t, msg, "loopback")

	// The test ping goes through the same guard.
	_, out := ts.call(t, "POST", fmt.Sprintf("%s/%d/test", adminPrefix, hookID), "acme-admin", nil)
	ping := obj(t, out["data"])
	require.Equal(t, false, ping["success"], "%v", ping)
	msg, _ = ping["errorMessage"].(string)
	require.Contains(t, msg, "blocked by the SSRF guard")
	require.Equal(t, 0, rc.count(), "nothing reached the loopback receiver")
}

func TestShutdownAndRestartKeepWebhooks(t *testing.T) {
	dir := t.TempDir()
	rc := newReceiver(t)
	ts := startServer(t, dir, "-allow-private-networks")
	hookID, secret := createWebhook(t, ts, "acme-company-1", seedWebhook(rc.URL))
	ts.must(t, http.StatusCreated, "POST", "/api/inspections", "acme-company-1", `{"title": "Before restart"}`)
	checkSigned(t, rc.next(t, 1), secret, "inspection.created")

	require.Contains(t, allStacks(), "webhooks.(*Dispatcher)", "the probe below sees a running dispatcher")
	require.NoError(t, ts.stop(t))
	require.Eventually(t, func() bool {
		return !strings.Contains(allStacks(), "webhooks.(*Dispatcher)")
	}, waitFor, 5*time.Millisecond, "dispatcher goroutines still running:\n%s", allStacks())
	_, err := net.DialTimeout("tcp", strings.TrimPrefix(ts.base, "http://"), time.Second)
	require.Error(t, err, "the listener is closed")

	ts = startServer(t, dir, "-allow-private-networks")
	hook := obj(t, ts.must(t, http.StatusOK, "GET", fmt.Sprintf("%s/%d", adminPrefix, hookID), "acme-company-1", nil)["data"])
	require.Equal(t, "My Integration Webhook", hook["name"])
	require.Len(t, list(t, ts.must(t, http.StatusOK, "GET", adminPrefix+"/company/1", "acme-company-1", nil)["data"]), 1)
	require.Len(t, deliveries(t, ts, "acme-company-1", hookID), 1, "history survives")
	require.Len(t, list(t, ts.must(t, http.StatusOK, "GET", "/api/inspections", "acme-admin", nil)["data"]), 1)

	ts.must(t, http.StatusCreated, "POST", "/api/inspections", "acme-company-1", `{"title": "After restart"}`)
	body := checkSigned(t, rc.next(t, 2), secret, "inspection.created")
	require.Equal(t, "After restart", obj(t, obj(t, body["data"])["attributes"])["title"])
}

func allStacks() string {
	buf := make([]byte, 1<<20)
	return string(buf[:runtime.Stack(buf, true)])
}
