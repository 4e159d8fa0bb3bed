package main

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/webhookkit/webhooks"
	"github.com/webhookkit/webhooks/store/memstore"
	"github.com/webhookkit/webhooks/transport/sender"
)

// syncBuffer is an io.Writer safe for the worker and the test.
type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
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

func startReceiver(t *testing.T, o options) (*httptest.Server, *syncBuffer) {
	t.Helper()
	out := &syncBuffer{}
	rc, h := newReceiver(o, out)
	srv := httptest.NewServer(h)
	t.Cleanup(func() { srv.Close(); rc.close() })
	return srv, out
}

func post(t *testing.T, url string, h http.Header, body string) int {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	require.NoError(t, err)
	req.Header = h
	res, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	_, _ = io.Copy(io.Discard, res.Body)
	_ = res.Body.Close()
	return res.StatusCode
}

func signed(scheme webhooks.Scheme, secret, id, body string) http.Header {
	h := http.Header{"Content-Type": {"application/json"}}
	scheme.Sign(h, &webhooks.Message{DeliveryID: 1, EventID: id, EventType: "project.updated",
		Timestamp: time.Now(), Body: []byte(body)}, []string{secret})
	return h
}

func waitPrinted(t *testing.T, out *syncBuffer, n int) {
	t.Helper()
	require.Eventually(t, func() bool { return strings.Count(out.String(), "(verified)") == n },
		10*time.Second, 2*time.Millisecond, "waiting for %d printed events; got %q", n, out.String())
}

func TestVerifiesDedupesAndPrints(t *testing.T) {
	for _, c := range []struct {
		name   string
		o      options
		scheme webhooks.Scheme
	}{
		{"tengine hmac", options{secret: "your-webhook-secret", prefix: "Tengine", scheme: "hmac"}, webhooks.HMACScheme{Prefix: "X-Tengine-"}},
		{"tgm hmac, full prefix", options{secret: "whsec_abc", prefix: "X-TGM-", scheme: "hmac"}, webhooks.HMACScheme{Prefix: "X-TGM-"}},
		{"standard", options{secret: webhooks.NewSecret(), scheme: "standard"}, webhooks.StandardScheme{}},
	} {
		t.Run(c.name, func(t *testing.T) {
			srv, out := startReceiver(t, c.o)
			body := `{"id":"evt_1","type":"project.updated","data":{"name":"My Project"}}`
			h := signed(c.scheme, c.o.secret, "evt_1", body)
			require.Equal(t, http.StatusOK, post(t, srv.URL+"/webhook", h, body))
			require.Equal(t, http.StatusOK, post(t, srv.URL+"/webhook", h, body), "a repeat is acknowledged")
			require.Equal(t, http.StatusUnauthorized, post(t, srv.URL+"/webhook", h, body+" "), "tampered body")
			wrong := signed(c.scheme, c.o.secret+"x", "evt_2", body)
			require.Equal(t, http.StatusUnauthorized, post(t, srv.URL+"/webhook", wrong, body), "wrong secret")
			waitPrinted(t, out, 1)
			second := `{"id":"evt_2","type":"project.updated","data":{}}`
			require.Equal(t, http.StatusOK, post(t, srv.URL+"/webhook", signed(c.scheme, c.o.secret, "evt_2", second), second))
			waitPrinted(t, out, 2)
			require.Contains(t, out.String(), "event project.updated evt_1 (verified)")
			require.Contains(t, out.String(), `"name": "My Project"`)
			require.Equal(t, 1, strings.Count(out.String(), " evt_1 "), "the repeat was not processed")
		})
	}
}

// A real dispatcher with the TGM example's configuration delivers into the
// receiver started with -prefix TGM.
func TestReceivesFromADispatcher(t *testing.T) {
	const secret = "a-user-supplied-secret"
	srv, out := startReceiver(t, options{secret: secret, prefix: "TGM", scheme: "hmac"})
	reg := webhooks.MustNewRegistry(webhooks.EventType{Name: "inspection.created"})
	d, err := webhooks.New(webhooks.Config{Registry: reg, Store: memstore.New(), Scheme: webhooks.HMACScheme{Prefix: "X-TGM-"},
		Sender: sender.New(&sender.Options{AllowPrivateNetworks: true}), Logger: slog.New(slog.DiscardHandler)}) // receiver on loopback
	require.NoError(t, err)
	_, err = d.CreateWebhook(t.Context(), "", webhooks.WebhookInput{Name: webhooks.Ptr("r"), URL: webhooks.Ptr(srv.URL + "/webhook"),
		Events: []string{"*"}, Secret: webhooks.Ptr(secret)})
	require.NoError(t, err)
	require.NoError(t, d.Start(t.Context()))
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		require.NoError(t, d.Stop(ctx))
	})
	require.NoError(t, d.Emit(t.Context(), webhooks.Event{ID: "e-42", Type: "inspection.created"}))
	waitPrinted(t, out, 1)
	require.Contains(t, out.String(), "event inspection.created e-42 (verified)")
}

func TestFlags(t *testing.T) {
	_, err := parseFlags([]string{}, io.Discard)
	require.ErrorContains(t, err, "-secret is required")
	_, err = parseFlags([]string{"-secret", "s", "-scheme", "rsa"}, io.Discard)
	require.ErrorContains(t, err, `-scheme "rsa"`)
	for in, want := range map[string]string{"Tengine": "X-Tengine-", "X-TGM-": "X-TGM-", "x-acme": "x-acme-"} {
		require.Equal(t, want, headerPrefix(in))
	}
}
