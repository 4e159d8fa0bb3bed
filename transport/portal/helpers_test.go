package portal_test

import (
	"context"
	"errors"
	"html"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	webhooks "github.com/webhookkit/webhooks"
	"github.com/webhookkit/webhooks/store/memstore"
	"github.com/webhookkit/webhooks/transport/portal"
	"github.com/webhookkit/webhooks/transport/sender"
)

// catalog is a small event catalog in two categories.
var catalog = []webhooks.EventType{
	{Name: "inspection.created", Category: "Maintenance", Description: "Inspection created"},
	{Name: "inspection.updated", Category: "Maintenance", Description: "Inspection updated"},
	{Name: "work_order.created", Category: "Maintenance", Description: "Work order created"},
	{Name: "alert.created", Category: "Monitoring", Description: "Alert triggered"},
	{Name: "alert.resolved", Category: "Monitoring", Description: "Alert resolved"},
}

// The test's authorize trusts a header naming the scope: "acme" (the
// client-wide admin) or "acme/1" (company 1 only). No header: signed out.
const scopeHeader = "X-Test-Scope"

func authorize(r *http.Request) (webhooks.Scope, error) {
	v := r.Header.Get(scopeHeader)
	if v == "" {
		return webhooks.Scope{}, errors.New("not signed in")
	}
	client, company, ok := strings.Cut(v, "/")
	s := webhooks.Scope{Client: client}
	if ok {
		n, err := strconv.ParseInt(company, 10, 64)
		if err != nil {
			return webhooks.Scope{}, err
		}
		s.CompanyID = &n
	}
	return s, nil
}

// clock is a settable time source for Config.Now.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = t
}

// env is a real dispatcher on memstores for clients "acme" and "globex",
// the portal on a real HTTP server, and a receiver that answers 200 (or
// 503 while down).
type env struct {
	d     *webhooks.Dispatcher
	srv   *httptest.Server
	base  string // the portal's URL (prefix included, no trailing slash)
	clock *clock
	recv  *httptest.Server
	down  atomic.Bool
	hits  atomic.Int64
}

type envConfig struct {
	opts  *portal.Options
	mount func(mux *http.ServeMux, h http.Handler) string // returns the portal's path
	clock *clock
	// limits are the dispatcher's (zero: the defaults).
	limits webhooks.Limits
}

func newEnv(t *testing.T, cfgs ...envConfig) *env {
	t.Helper()
	var c envConfig
	if len(cfgs) > 0 {
		c = cfgs[0]
	}
	e := &env{clock: c.clock}
	var res webhooks.StaticResolver
	res.Add(webhooks.Client{ID: "acme"}, memstore.New())
	res.Add(webhooks.Client{ID: "globex"}, memstore.New())
	cfg := webhooks.Config{
		Registry: webhooks.MustNewRegistry(catalog...),
		Stores:   &res,
		Logger:   slog.New(slog.DiscardHandler),
		Sender:   sender.New(&sender.Options{AllowPrivateNetworks: true}), // the receiver is on loopback
		Limits:   c.limits,
	}
	if e.clock != nil {
		cfg.Now = e.clock.Now
	}
	d, err := webhooks.New(cfg)
	require.NoError(t, err)
	e.d = d
	e.recv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		e.hits.Add(1)
		if e.down.Load() {
			w.WriteHeader(http.StatusServiceUnavailable)
			_, _ = io.WriteString(w, "<b>down for maintenance</b>")
			return
		}
		_, _ = io.WriteString(w, `{"ok":true}`)
	}))
	t.Cleanup(e.recv.Close)

	opts := c.opts
	if opts == nil {
		opts = &portal.Options{}
	}
	opts.Logger = slog.New(slog.DiscardHandler)
	h := portal.New(d, authorize, opts)
	mux := http.NewServeMux()
	p := "/portal"
	if c.mount != nil {
		p = c.mount(mux, h)
	} else {
		mux.Handle("/portal/", h)
	}
	e.srv = httptest.NewServer(mux)
	t.Cleanup(e.srv.Close)
	e.base = e.srv.URL + p
	return e
}

// create makes a webhook directly through the dispatcher.
func (e *env) create(t *testing.T, client string, company *int64, name string) *webhooks.Webhook {
	t.Helper()
	w, err := e.d.CreateWebhook(context.Background(), client, webhooks.WebhookInput{
		CompanyID: company, Name: &name, URL: webhooks.Ptr(e.recv.URL + "/" + name),
		Events: []string{"inspection.created"},
	})
	require.NoError(t, err)
	return w
}

// user is a browser-like client signed in with one scope: a cookie jar,
// no redirects followed.
type user struct {
	t     *testing.T
	e     *env
	scope string
	c     *http.Client
}

func (e *env) as(t *testing.T, scope string) *user {
	jar, err := cookiejar.New(nil)
	require.NoError(t, err)
	return &user{t: t, e: e, scope: scope, c: &http.Client{
		Jar:           jar,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
}

// page is a response with its body read.
type page struct {
	status int
	header http.Header
	body   string
}

func (u *user) do(method, path string, form url.Values, hdr ...string) page {
	u.t.Helper()
	return u.send(method, u.e.base+path, form, hdr...)
}

// follow requests the redirect target of p.
func (u *user) follow(p page) page {
	u.t.Helper()
	require.Equal(u.t, http.StatusSeeOther, p.status, text(p.body))
	return u.send(http.MethodGet, u.e.srv.URL+p.header.Get("Location"), nil)
}

func (u *user) send(method, target string, form url.Values, hdr ...string) page {
	u.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, target, body)
	require.NoError(u.t, err)
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	if u.scope != "" {
		req.Header.Set(scopeHeader, u.scope)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	res, err := u.c.Do(req)
	require.NoError(u.t, err)
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	require.NoError(u.t, err)
	return page{status: res.StatusCode, header: res.Header, body: string(raw)}
}

func (u *user) get(path string) page {
	u.t.Helper()
	return u.do(http.MethodGet, path, nil)
}

var csrfRe = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// token loads a page and returns the CSRF token its forms carry (setting
// the nonce cookie on the way).
func (u *user) token() string {
	u.t.Helper()
	p := u.get("/")
	require.Equal(u.t, http.StatusOK, p.status, p.body)
	p = u.get("/webhooks/new")
	m := csrfRe.FindStringSubmatch(p.body)
	require.NotNil(u.t, m, "the form carries a CSRF token")
	return html.UnescapeString(m[1])
}

// post submits a form with a fresh CSRF token.
func (u *user) post(path string, form url.Values, hdr ...string) page {
	u.t.Helper()
	if form == nil {
		form = url.Values{}
	}
	form.Set("csrf", u.token())
	return u.do(http.MethodPost, path, form, hdr...)
}

// text strips tags and unescapes entities, collapsing white space, so
// assertions read like the page.
func text(s string) string {
	s = regexp.MustCompile(`(?s)<[^>]*>`).ReplaceAllString(s, " ")
	return strings.Join(strings.Fields(html.UnescapeString(s)), " ")
}

// between returns the markup from the first start to the next end.
func between(t *testing.T, s, start, end string) string {
	t.Helper()
	i := strings.Index(s, start)
	require.GreaterOrEqual(t, i, 0, "no %q in the page", start)
	j := strings.Index(s[i:], end)
	require.GreaterOrEqual(t, j, 0, "no %q after %q", end, start)
	return s[i : i+j+len(end)]
}

func idPath(id int64) string { return "/webhooks/" + strconv.FormatInt(id, 10) }
