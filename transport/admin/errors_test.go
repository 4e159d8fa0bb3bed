package admin_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	webhooks "github.com/webhookkit/webhooks"
	"github.com/webhookkit/webhooks/transport/admin"
)

func TestInvalidJSON(t *testing.T) {
	e := newEnv(t)
	id := e.do(t, acmeAdmin, "POST", "", hook("https://example.com/h", 1)).id()
	for name, tc := range map[string]struct {
		body    string
		message string
		fields  []string
	}{
		"malformed":       {`{"name": "x",}`, "malformed JSON", nil},
		"truncated":       {`{"name": "x"`, "", nil},
		"empty":           {``, "empty", nil},
		"whitespace":      {"  \n", "empty", nil},
		"array":           {`[{"name": "x"}]`, "must be a JSON object", nil},
		"null":            {`null`, "must be a JSON object", nil},
		"string name":     {`{"name": 5, "url": "https://example.com"}`, "name must be a string, not number", []string{"name"}},
		"string timeout":  {`{"name": "x", "timeoutMs": "30000"}`, "timeoutMs must be an integer, not string", []string{"timeoutMs"}},
		"fraction":        {`{"name": "x", "maxRetries": 1.5}`, "maxRetries must be an integer", []string{"maxRetries"}},
		"bool":            {`{"name": "x", "verifySsl": "yes"}`, "verifySsl must be a boolean", []string{"verifySsl"}},
		"events type":     {`{"name": "x", "events": "inspection.created"}`, "events must be an array of strings", []string{"events"}},
		"event item type": {`{"name": "x", "events": [1]}`, "events must be an array of strings, not number", []string{"events"}},
		"headers type":    {`{"name": "x", "customHeaders": {"X-A": 1}}`, "customHeaders must be an object of strings, not number", []string{"customHeaders"}},
		"unknown":         {`{"name": "x", "nmae": "y", "isActive": false}`, `unknown field "isActive", "nmae"`, []string{"isActive", "nmae"}},
		"wrong case":      {`{"Name": "x"}`, `unknown field "Name"`, []string{"Name"}},
		"trailing":        {`{"name": "x"} {"name": "y"}`, "after the JSON object", nil},
		"trailing junk":   {`{"name": "x"}]`, "after the JSON object", nil},
	} {
		t.Run(name, func(t *testing.T) {
			for _, target := range []struct{ method, path string }{{"POST", ""}, {"PUT", fmt.Sprintf("/%d", id)}} {
				r := e.do(t, acmeAdmin, target.method, target.path, tc.body)
				require.Equal(t, http.StatusBadRequest, r.status, "%s %s", target.method, r.raw)
				require.Equal(t, "invalid_json", r.errCode())
				require.Contains(t, r.errMessage(), tc.message)
				if tc.fields != nil {
					require.Equal(t, tc.fields, sortedKeys(r.errFields()))
				}
			}
		})
	}
	// Nothing was created or changed.
	ws, err := e.d.ListWebhooks(context.Background(), "acme", webhooks.ListWebhooksParams{})
	require.NoError(t, err)
	require.Len(t, ws, 1)
	require.Equal(t, "hook", ws[0].Name)
}

func TestBodyLimitsAndMediaType(t *testing.T) {
	e := newEnv(t, envConfig{opts: &admin.Options{MaxBodyBytes: 1024}})
	big := fmt.Sprintf(`{"name": "x", "url": "https://example.com", "description": %q}`, strings.Repeat("d", 2000))
	r := e.do(t, acmeAdmin, "POST", "", big)
	require.Equal(t, http.StatusRequestEntityTooLarge, r.status)
	require.Equal(t, "payload_too_large", r.errCode())
	require.Contains(t, r.errMessage(), "1024")

	r = e.do(t, acmeAdmin, "POST", "", `{"name": "x", "url": "https://example.com"}`, "Content-Type", "text/plain")
	require.Equal(t, http.StatusUnsupportedMediaType, r.status)
	require.Equal(t, "unsupported_media_type", r.errCode())
	r = e.do(t, acmeAdmin, "POST", "", `{"name": "x", "url": "https://example.com"}`, "Content-Type", "application/json; charset=utf-8")
	require.Equal(t, http.StatusCreated, r.status)

	// The default limit is 64 KiB.
	e = newEnv(t)
	big = fmt.Sprintf(`{"name": "x", "url": "https://example.com", "description": %q}`, strings.Repeat("d", 65<<10))
	r = e.do(t, acmeAdmin, "POST", "", big)
	require.Equal(t, http.StatusRequestEntityTooLarge, r.status)
	require.Contains(t, r.errMessage(), "65536")
}

func TestValidationFailed(t *testing.T) {
	e := newEnv(t)
	r := e.do(t, acmeAdmin, "POST", "", `{
		"name": "", "url": "not a url", "companyId": 0, "events": ["inspection.created", "bogus.created", "inspection.*", "nope.*"],
		"customHeaders": {"Host": "evil", "X-Ok": "fine", "X-Bad": "a\r\nb"}, "httpMethod": "GET",
		"contentType": "", "timeoutMs": 999999, "maxRetries": -1, "autoDisableAfterFailures": -1, "secret": "short"}`)
	require.Equal(t, http.StatusUnprocessableEntity, r.status, "%s", r.raw)
	require.Equal(t, "validation_failed", r.errCode())
	require.Equal(t, []string{
		"autoDisableAfterFailures", "companyId", "contentType", "customHeaders.Host", "customHeaders.X-Bad",
		"events[1]", "events[3]", "httpMethod", "maxRetries", "name", "secret", "timeoutMs", "url",
	}, sortedKeys(r.errFields()))
	require.Contains(t, r.errFields()["events[1]"], "bogus.created")
	// Missing required fields.
	r = e.do(t, acmeAdmin, "POST", "", `{}`)
	require.Equal(t, http.StatusUnprocessableEntity, r.status)
	require.Equal(t, []string{"name", "url"}, sortedKeys(r.errFields()))
}

func TestPathIDs(t *testing.T) {
	e := newEnv(t)
	e.do(t, acmeAdmin, "POST", "", hook("https://example.com/h", 1))
	for _, p := range []string{"/abc", "/0", "/-1", "/01", "/+1", "/1.0", "/99999999999999999999", "/1e3", "/9"} {
		for _, suffix := range []string{"", "/deliveries", "/enable"} {
			method := "GET"
			if suffix == "/enable" {
				method = "POST"
			}
			r := e.do(t, acmeAdmin, method, p+suffix, nil)
			require.Equal(t, http.StatusNotFound, r.status, p+suffix)
			require.Equal(t, "not_found", r.errCode())
		}
	}
	for _, p := range []string{"/deliveries/abc", "/deliveries/0", "/deliveries/9", "/deliveries/x/retry"} {
		method := "GET"
		if strings.HasSuffix(p, "/retry") {
			method = "POST"
		}
		r := e.do(t, acmeAdmin, method, p, nil)
		require.Equal(t, http.StatusNotFound, r.status, p)
	}
	// Unknown and unclean paths.
	for _, p := range []string{"/nope/x/y", "/1/nope", "/1/", "/event-types/", "/company", "/company/1/x"} {
		r := e.do(t, acmeAdmin, "GET", p, nil)
		require.Equal(t, http.StatusNotFound, r.status, p)
		require.Equal(t, "not_found", r.errCode())
	}
}

func TestMethodNotAllowed(t *testing.T) {
	e := newEnv(t)
	id := e.do(t, acmeAdmin, "POST", "", hook("https://example.com/h", 1)).id()
	for _, tc := range []struct{ method, path, allow string }{
		{"GET", "", "POST"},
		{"DELETE", "", "POST"},
		{"DELETE", "/event-types", "GET, HEAD"},
		{"PUT", "/event-types", "GET, HEAD"},
		{"POST", "/event-types", "GET, HEAD"},
		{"POST", "/openapi.yaml", "GET, HEAD"},
		{"PATCH", fmt.Sprintf("/%d", id), "DELETE, GET, HEAD, PUT"},
		{"POST", fmt.Sprintf("/%d", id), "DELETE, GET, HEAD, PUT"},
		{"GET", fmt.Sprintf("/%d/enable", id), "POST"},
		{"DELETE", fmt.Sprintf("/%d/test", id), "POST"},
		{"POST", fmt.Sprintf("/%d/deliveries", id), "GET, HEAD"},
		{"POST", "/company/1", "GET, HEAD"},
		{"DELETE", "/company/system", "GET, HEAD"},
		{"POST", "/deliveries/1", "GET, HEAD"},
		{"GET", "/deliveries/1/retry", "POST"},
	} {
		r := e.do(t, acmeAdmin, tc.method, tc.path, nil)
		require.Equal(t, http.StatusMethodNotAllowed, r.status, "%s %s: %s", tc.method, tc.path, r.raw)
		require.Equal(t, "method_not_allowed", r.errCode())
		require.Equal(t, tc.allow, r.header.Get("Allow"), "%s %s", tc.method, tc.path)
	}
	// HEAD is served wherever GET is.
	r := e.do(t, acmeAdmin, "HEAD", fmt.Sprintf("/%d", id), nil)
	require.Equal(t, http.StatusOK, r.status)
}

func TestUnauthorized(t *testing.T) {
	e := newEnv(t)
	id := e.do(t, acmeAdmin, "POST", "", hook("https://example.com/h", 1)).id()
	for _, p := range []struct{ method, path string }{
		{"GET", "/event-types"}, {"GET", "/openapi.yaml"}, {"POST", ""}, {"GET", fmt.Sprintf("/%d", id)},
		{"DELETE", fmt.Sprintf("/%d", id)}, {"GET", "/no/such/route"}, {"PATCH", "/event-types"},
	} {
		r := e.do(t, noAuth, p.method, p.path, `{}`)
		require.Equal(t, http.StatusUnauthorized, r.status, p)
		require.Equal(t, "unauthorized", r.errCode())
		require.NotContains(t, r.errMessage(), "bad token", "the host's error text is not shown")
	}
	// A scope naming a client the dispatcher does not serve.
	r := e.do(t, webhooks.Scope{Client: "initech"}, "GET", fmt.Sprintf("/%d", id), nil)
	require.Equal(t, http.StatusUnauthorized, r.status)
	require.Equal(t, "unauthorized", r.errCode())
	r = e.do(t, webhooks.Scope{Client: "initech"}, "POST", "", hook("https://example.com/h", "absent"))
	require.Equal(t, http.StatusUnauthorized, r.status)
	// Nothing was deleted.
	_, err := e.d.GetWebhook(context.Background(), "acme", id)
	require.NoError(t, err)
}

// failingStore breaks GetWebhook and ListWebhooks, as a store that is down.
type failingStore struct {
	webhooks.Store
}

var errDiskOnFire = errors.New("disk on fire at /var/lib/secret-path")

func (failingStore) GetWebhook(context.Context, int64) (*webhooks.Webhook, error) {
	return nil, errDiskOnFire
}

func (failingStore) ListWebhooks(context.Context, webhooks.ListWebhooksParams) ([]*webhooks.Webhook, error) {
	return nil, errDiskOnFire
}

func TestInternalError(t *testing.T) {
	e := newEnv(t, envConfig{wrap: func(client string, s webhooks.Store) webhooks.Store {
		if client == "globex" {
			return failingStore{s}
		}
		return s
	}})
	globex := webhooks.Scope{Client: "globex"}
	for _, p := range []string{"/1", "/company/1"} {
		r := e.do(t, globex, "GET", p, nil)
		require.Equal(t, http.StatusInternalServerError, r.status)
		require.Equal(t, "internal_error", r.errCode())
		require.Equal(t, "internal error", r.errMessage())
		require.NotContains(t, string(r.raw), "disk on fire")
	}
	require.Contains(t, e.logs.String(), "disk on fire")
	require.Contains(t, e.logs.String(), "/company/1")
	// Bad input never reaches the store, so it is never a 500.
	r := e.do(t, globex, "GET", "/abc", nil)
	require.Equal(t, http.StatusNotFound, r.status)
	r = e.do(t, globex, "POST", "", `{"name": 1}`)
	require.Equal(t, http.StatusBadRequest, r.status)
}

func TestRoutingSpecificity(t *testing.T) {
	e := newEnv(t)
	rc := newReceiver(t, http.StatusOK)
	// Make webhook and delivery IDs differ so a mix-up shows.
	for i := 0; i < 3; i++ {
		e.do(t, acmeAdmin, "POST", "", hook(rc.URL, 1))
	}
	id := e.do(t, acmeAdmin, "POST", "", hook(rc.URL, 1)).id() // 4
	did := int64(e.do(t, acmeAdmin, "POST", fmt.Sprintf("/%d/test", id), nil).data()["deliveryId"].(float64))
	require.NotEqual(t, id, did)

	// /deliveries/{deliveryId} vs /{id}/deliveries
	r := e.do(t, acmeAdmin, "GET", fmt.Sprintf("/deliveries/%d", did), nil)
	require.Equal(t, http.StatusOK, r.status)
	require.Equal(t, float64(did), r.data()["id"])
	require.Contains(t, r.data(), "attempts")
	r = e.do(t, acmeAdmin, "GET", fmt.Sprintf("/%d/deliveries", id), nil)
	require.Equal(t, http.StatusOK, r.status)
	require.Len(t, r.list(), 1)
	// /company/{companyId} vs /{id}; /event-types vs /{id}
	r = e.do(t, acmeAdmin, "GET", "/company/1", nil)
	require.Len(t, r.list(), 4)
	r = e.do(t, acmeAdmin, "GET", "/event-types", nil)
	require.Equal(t, "Asset", r.list()[0].(map[string]any)["category"])
	r = e.do(t, acmeAdmin, "GET", fmt.Sprintf("/%d", id), nil)
	require.Equal(t, float64(id), r.data()["id"])
}

func TestMounting(t *testing.T) {
	body := hook("https://example.com/h", 1)
	for name, cfg := range map[string]envConfig{
		"default, both patterns": {},
		"default prefix, host strips it": {mount: func(mux *http.ServeMux, h http.Handler) string {
			mux.Handle("/api/admin/webhooks/", http.StripPrefix("/api/admin/webhooks", h))
			mux.Handle("/api/admin/webhooks", http.StripPrefix("/api/admin/webhooks", h))
			return "/api/admin/webhooks"
		}},
		"root only, host strips another prefix": {opts: &admin.Options{Prefix: "/"}, mount: func(mux *http.ServeMux, h http.Handler) string {
			mux.Handle("/hooks/", http.StripPrefix("/hooks", h))
			mux.Handle("/hooks", http.StripPrefix("/hooks", h))
			return "/hooks"
		}},
		"custom prefix": {opts: &admin.Options{Prefix: "/internal/hooks/"}, mount: func(mux *http.ServeMux, h http.Handler) string {
			mux.Handle("/internal/hooks/", h)
			mux.Handle("/internal/hooks", h)
			return "/internal/hooks"
		}},
		"default prefix, handler as the whole server": {mount: func(mux *http.ServeMux, h http.Handler) string {
			mux.Handle("/", h)
			return "/api/admin/webhooks"
		}},
	} {
		t.Run(name, func(t *testing.T) {
			e := newEnv(t, cfg)
			r := e.do(t, acmeAdmin, "POST", "", body)
			require.Equal(t, http.StatusCreated, r.status, "%s", r.raw)
			id := r.id()
			r = e.do(t, acmeAdmin, "GET", fmt.Sprintf("/%d", id), nil)
			require.Equal(t, http.StatusOK, r.status)
			r = e.do(t, acmeAdmin, "GET", "/event-types", nil)
			require.Equal(t, http.StatusOK, r.status)
			r = e.do(t, acmeAdmin, "GET", fmt.Sprintf("/%d/deliveries", id), nil)
			require.Equal(t, http.StatusOK, r.status)
			r = e.do(t, acmeAdmin, "GET", "/", nil) // the prefix with a slash is the collection too
			require.Equal(t, http.StatusMethodNotAllowed, r.status)
		})
	}
}

// serve calls the handler directly, without a host ServeMux (which would
// clean paths and redirect before the handler sees them).
func serve(h http.Handler, method, target string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, target, nil)
	req.Header.Set("Authorization", "Bearer ok")
	req.Header.Set(hdrClient, "acme")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

func TestPrefixAndUncleanPaths(t *testing.T) {
	e := newEnv(t)
	e.do(t, acmeAdmin, "POST", "", hook("https://example.com/h", 1))

	// A prefixed handler serves only under its prefix.
	h := admin.New(e.d, authorize, &admin.Options{Prefix: "/internal/hooks"})
	require.Equal(t, http.StatusNotFound, serve(h, "GET", "/event-types").Code)
	require.Equal(t, http.StatusNotFound, serve(h, "GET", "/internal/hooksX/event-types").Code)
	require.Equal(t, http.StatusOK, serve(h, "GET", "/internal/hooks/event-types").Code)
	require.Equal(t, http.StatusOK, serve(h, "GET", "/internal/hooks/1").Code)

	// The default serves both the prefixed and the stripped forms.
	h = admin.New(e.d, authorize, nil)
	require.Equal(t, http.StatusOK, serve(h, "GET", "/api/admin/webhooks/1").Code)
	require.Equal(t, http.StatusOK, serve(h, "GET", "/1").Code)
	require.Equal(t, http.StatusNotFound, serve(h, "GET", "/api/admin/webhooksX/1").Code)

	// Paths ServeMux would "clean" by redirecting (and so lose a stripped
	// prefix) are 404 instead.
	for _, p := range []string{"/api/admin/webhooks//1", "/api/admin/webhooks/1/./enable", "/api/admin/webhooks/x/../1", "//1"} {
		rec := serve(h, "GET", p)
		require.Equal(t, http.StatusNotFound, rec.Code, p)
		require.Empty(t, rec.Header().Get("Location"))
		require.Equal(t, "application/json; charset=utf-8", rec.Header().Get("Content-Type"))
	}
	// A stripped request with an empty path is the collection.
	req := httptest.NewRequest("GET", "/x", nil)
	req.URL.Path = ""
	req.Header.Set("Authorization", "Bearer ok")
	rec := httptest.NewRecorder()
	admin.New(e.d, authorize, &admin.Options{Prefix: "/"}).ServeHTTP(rec, req)
	require.Equal(t, http.StatusMethodNotAllowed, rec.Code)
	require.Equal(t, "POST", rec.Header().Get("Allow"))
}

func TestNewPanicsWithoutDispatcherOrAuth(t *testing.T) {
	e := newEnv(t)
	require.Panics(t, func() { admin.New(nil, authorize, nil) })
	require.Panics(t, func() { admin.New(e.d, nil, nil) })
	require.NotPanics(t, func() { admin.New(e.d, authorize, nil) })
}
