package admin_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"
	"github.com/stretchr/testify/require"

	webhooks "github.com/webhookkit/webhooks"
	"github.com/webhookkit/webhooks/store/memstore"
	"github.com/webhookkit/webhooks/transport/admin"
	"github.com/webhookkit/webhooks/transport/sender"
)

// seedCatalog is the seed's event catalog ("Available Events").
var seedCatalog = func() []webhooks.EventType {
	groups := []struct {
		category string
		events   [][2]string
	}{
		{"Asset", [][2]string{
			{"location.created", "Location/plant created"}, {"location.updated", "Location/plant updated"},
			{"location.deleted", "Location/plant deleted"}, {"unit.created", "Unit created"},
			{"unit.updated", "Unit updated"}, {"unit.deleted", "Unit deleted"},
			{"component.created", "Component created"}, {"component.updated", "Component updated"},
			{"component.deleted", "Component deleted"},
		}},
		{"Maintenance", [][2]string{
			{"inspection.created", "Inspection created"}, {"inspection.updated", "Inspection updated"},
			{"inspection.deleted", "Inspection deleted"}, {"intervention.created", "Intervention created"},
			{"intervention.updated", "Intervention updated"}, {"intervention.deleted", "Intervention deleted"},
			{"work_order.created", "Work order created"}, {"work_order.updated", "Work order updated"},
			{"work_order.deleted", "Work order deleted"}, {"work_order.status_changed", "Work order status changed"},
			{"failure.created", "Failure recorded"}, {"failure.updated", "Failure updated"},
			{"failure.deleted", "Failure deleted"},
		}},
		{"Monitoring", [][2]string{
			{"alert.created", "Alert triggered"}, {"alert.updated", "Alert updated"},
			{"alert.acknowledged", "Alert acknowledged"}, {"alert.resolved", "Alert resolved"},
			{"sensor.created", "Sensor configured"}, {"sensor.updated", "Sensor updated"},
			{"sensor.deleted", "Sensor removed"}, {"sensor.reading_received", "Sensor reading received"},
		}},
	}
	var out []webhooks.EventType
	for _, g := range groups {
		for _, e := range g.events {
			out = append(out, webhooks.EventType{Name: e[0], Category: g.category, Description: e[1]})
		}
	}
	return out
}()

// Test scopes travel in headers; authorize trusts them when the bearer
// token is "ok".
const (
	hdrClient  = "X-Test-Client"
	hdrCompany = "X-Test-Company"
)

func authorize(r *http.Request) (webhooks.Scope, error) {
	if r.Header.Get("Authorization") != "Bearer ok" {
		return webhooks.Scope{}, errors.New("bad token")
	}
	s := webhooks.Scope{Client: r.Header.Get(hdrClient)}
	if c := r.Header.Get(hdrCompany); c != "" {
		n, err := strconv.ParseInt(c, 10, 64)
		if err != nil {
			return webhooks.Scope{}, err
		}
		s.CompanyID = &n
	}
	return s, nil
}

// Scopes used throughout.
var (
	acmeAdmin = webhooks.Scope{Client: "acme"}
	acme1     = webhooks.Scope{Client: "acme", CompanyID: webhooks.Ptr[int64](1)}
	acme2     = webhooks.Scope{Client: "acme", CompanyID: webhooks.Ptr[int64](2)}
	noAuth    = webhooks.Scope{Client: "\x00no-auth"} // sends no credentials
)

// env is a real dispatcher on memstores for two clients, "acme" and
// "globex", behind the admin handler on a real HTTP server.
type env struct {
	d      *webhooks.Dispatcher
	stores map[string]*memstore.Store
	srv    *httptest.Server
	logs   *syncBuffer
	base   string // URL of the API root (the prefix)
}

type envConfig struct {
	opts  *admin.Options
	mount func(mux *http.ServeMux, h http.Handler) string // returns the API path
	wrap  func(client string, s webhooks.Store) webhooks.Store
}

func newEnv(t *testing.T, cfg ...envConfig) *env {
	t.Helper()
	var c envConfig
	if len(cfg) > 0 {
		c = cfg[0]
	}
	reg := webhooks.MustNewRegistry(seedCatalog...)
	e := &env{stores: map[string]*memstore.Store{}, logs: &syncBuffer{}}
	var res webhooks.StaticResolver
	for _, id := range []string{"acme", "globex"} {
		st := memstore.New()
		e.stores[id] = st
		var s webhooks.Store = st
		if c.wrap != nil {
			s = c.wrap(id, st)
		}
		res.Add(webhooks.Client{ID: id, Name: strings.ToUpper(id)}, s)
	}
	d, err := webhooks.New(webhooks.Config{
		Registry:     reg,
		Stores:       &res,
		PollInterval: 20 * time.Millisecond,
		Logger:       slog.New(slog.DiscardHandler),
		Sender:       sender.New(&sender.Options{AllowPrivateNetworks: true}), // test receivers are on loopback
	})
	require.NoError(t, err)
	e.d = d
	opts := c.opts
	if opts == nil {
		opts = &admin.Options{}
	}
	opts.Logger = slog.New(slog.NewTextHandler(e.logs, nil))
	h := admin.New(d, authorize, opts)
	mux := http.NewServeMux()
	path := admin.DefaultPrefix
	if c.mount != nil {
		path = c.mount(mux, h)
	} else {
		mux.Handle("/api/admin/webhooks/", h)
		mux.Handle("/api/admin/webhooks", h)
	}
	e.srv = httptest.NewServer(mux)
	t.Cleanup(e.srv.Close)
	e.base = e.srv.URL + path
	return e
}

// start runs the dispatcher until the test ends.
func (e *env) start(t *testing.T) {
	t.Helper()
	require.NoError(t, e.d.Start(context.Background()))
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		require.NoError(t, e.d.Stop(ctx))
	})
}

// resp is a response with its JSON decoded.
type resp struct {
	status int
	header http.Header
	raw    []byte
	body   map[string]any
}

func (r *resp) data() map[string]any { return r.body["data"].(map[string]any) }
func (r *resp) list() []any          { return r.body["data"].([]any) }
func (r *resp) meta() map[string]any { return r.body["meta"].(map[string]any) }
func (r *resp) errCode() string      { return r.body["error"].(map[string]any)["code"].(string) }
func (r *resp) errMessage() string   { return r.body["error"].(map[string]any)["message"].(string) }

// errFields returns error.fields as field → message.
func (r *resp) errFields() map[string]string {
	out := map[string]string{}
	fs, _ := r.body["error"].(map[string]any)["fields"].([]any)
	for _, f := range fs {
		m := f.(map[string]any)
		out[m["field"].(string)] = m["message"].(string)
	}
	return out
}

// id returns data.id.
func (r *resp) id() int64 { return int64(r.data()["id"].(float64)) }

// do sends a request as scope and returns the response, after checking
// the Content-Type and validating request (for 2xx) and response against
// the OpenAPI document. body is a string (sent verbatim) or a value
// encoded as JSON.
func (e *env) do(t *testing.T, scope webhooks.Scope, method, path string, body any, hdr ...string) *resp {
	t.Helper()
	var raw []byte
	switch b := body.(type) {
	case nil:
	case string:
		raw = []byte(b)
	case []byte:
		raw = b
	default:
		var err error
		raw, err = json.Marshal(b)
		require.NoError(t, err)
	}
	req, err := http.NewRequest(method, e.base+path, bytes.NewReader(raw))
	require.NoError(t, err)
	if raw != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	if scope != noAuth {
		req.Header.Set("Authorization", "Bearer ok")
		req.Header.Set(hdrClient, scope.Client)
		if scope.CompanyID != nil {
			req.Header.Set(hdrCompany, strconv.FormatInt(*scope.CompanyID, 10))
		}
	}
	res, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer res.Body.Close()
	got, err := io.ReadAll(res.Body)
	require.NoError(t, err)
	r := &resp{status: res.StatusCode, header: res.Header, raw: got}
	if strings.HasSuffix(path, "/openapi.yaml") && res.StatusCode == http.StatusOK {
		require.Equal(t, "application/yaml; charset=utf-8", res.Header.Get("Content-Type"))
	} else {
		require.Equal(t, "application/json; charset=utf-8", res.Header.Get("Content-Type"), "%s %s: %s", method, path, got)
		if method != http.MethodHead {
			require.NoError(t, json.Unmarshal(got, &r.body), "%s %s: %s", method, path, got)
			_, isData := r.body["data"]
			_, isErr := r.body["error"]
			require.True(t, isData != isErr, "exactly one of data and error: %s", got)
			require.Equal(t, isErr, res.StatusCode >= 400, "%s %s: %d %s", method, path, res.StatusCode, got)
		}
	}
	validateAgainstOpenAPI(t, e, req, raw, res, got)
	return r
}

var (
	docOnce   sync.Once
	docErr    error
	doc       *openapi3.T
	docRouter routers.Router
)

// loadDoc loads and validates the embedded OpenAPI document once.
func loadDoc(t *testing.T) (*openapi3.T, routers.Router) {
	t.Helper()
	docOnce.Do(func() {
		loader := openapi3.NewLoader()
		doc, docErr = loader.LoadFromData(admin.OpenAPI())
		if docErr != nil {
			return
		}
		if docErr = doc.Validate(loader.Context); docErr != nil {
			return
		}
		docRouter, docErr = gorillamux.NewRouter(doc)
	})
	require.NoError(t, docErr)
	return doc, docRouter
}

// validatedResponses counts responses validated against the document.
var validatedResponses atomic.Int64

func validateAgainstOpenAPI(t *testing.T, e *env, req *http.Request, reqBody []byte, res *http.Response, body []byte) {
	t.Helper()
	if req.Method == http.MethodHead {
		return // the document lists GET; HEAD is GET without a body
	}
	_, router := loadDoc(t)
	// The document's paths are at the default prefix: map the request there.
	p := strings.TrimPrefix(e.base, e.srv.URL)
	rel := strings.TrimPrefix(req.URL.Path, p)
	vreq := req.Clone(context.Background())
	vreq.URL.Path = admin.DefaultPrefix + rel
	vreq.URL.RawPath = ""
	route, params, err := router.FindRoute(vreq)
	if err != nil {
		require.Contains(t, []int{http.StatusNotFound, http.StatusMethodNotAllowed, http.StatusUnauthorized}, res.StatusCode,
			"%s %s is not in the OpenAPI document but answered %d", req.Method, req.URL.Path, res.StatusCode)
		return
	}
	opts := &openapi3filter.Options{
		AuthenticationFunc:    openapi3filter.NoopAuthenticationFunc,
		IncludeResponseStatus: true,
		MultiError:            true,
	}
	in := &openapi3filter.RequestValidationInput{Request: vreq, PathParams: params, Route: route, Options: opts}
	if res.StatusCode < 300 {
		vreq.Body = io.NopCloser(bytes.NewReader(reqBody))
		require.NoError(t, openapi3filter.ValidateRequest(context.Background(), in),
			"request %s %s %s does not match the OpenAPI document", req.Method, req.URL.Path, reqBody)
	}
	err = openapi3filter.ValidateResponse(context.Background(), &openapi3filter.ResponseValidationInput{
		RequestValidationInput: in,
		Status:                 res.StatusCode,
		Header:                 res.Header,
		Body:                   io.NopCloser(bytes.NewReader(body)),
		Options:                opts,
	})
	require.NoError(t, err, "response to %s %s (%d) does not match the OpenAPI document: %s", req.Method, req.URL.Path, res.StatusCode, body)
	validatedResponses.Add(1)
}

// receiver is a real webhook endpoint answering with a settable status.
type receiver struct {
	*httptest.Server
	status atomic.Int32
	hits   atomic.Int32
	mu     sync.Mutex
	last   *http.Request
	body   []byte
}

func newReceiver(t *testing.T, status int) *receiver {
	t.Helper()
	rc := &receiver{}
	rc.status.Store(int32(status))
	rc.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		rc.mu.Lock()
		rc.last, rc.body = r, b
		rc.mu.Unlock()
		rc.hits.Add(1)
		w.WriteHeader(int(rc.status.Load()))
		_, _ = io.WriteString(w, "receiver says "+strconv.Itoa(int(rc.status.Load())))
	}))
	t.Cleanup(rc.Close)
	return rc
}

// hook is a minimal valid create body.
func hook(url string, company any, events ...string) map[string]any {
	if len(events) == 0 {
		events = []string{"inspection.created"}
	}
	b := map[string]any{"name": "hook", "url": url, "events": events}
	if company != "absent" {
		b["companyId"] = company
	}
	return b
}

// eventually polls cond until it holds or the deadline passes.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// syncBuffer is a goroutine-safe log sink.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
