package portal

import (
	"context"
	"crypto/rand"
	"log/slog"
	"net/http"
	"path"
	"strings"

	webhooks "github.com/webhookkit/webhooks"
	"github.com/webhookkit/webhooks/transport/admin"
)

// DefaultPrefix is the path the portal serves under when Options.Prefix is
// empty.
const DefaultPrefix = "/portal"

// DefaultTitle heads every page when Options.Title is empty.
const DefaultTitle = "Webhooks"

// maxFormBytes bounds a form body; the largest form (a webhook with 20
// headers of 4 KiB and 100 event patterns) fits well within it.
const maxFormBytes = 256 << 10

// AuthorizeFunc is the admin API's: it authenticates a request and returns
// the caller's scope (client, and company when limited to one). An error
// means "not signed in": the portal redirects to Options.SignInURL, or
// answers 401. It runs on every request except for the static assets, so
// the host passes the same function, reading its session cookie, to both.
type AuthorizeFunc = admin.AuthorizeFunc

// Options configures the portal; a nil *Options or a zero field takes the
// default its doc states.
type Options struct {
	// Prefix is the path the portal is mounted at, as the browser sees it;
	// links and form actions start with it. Requests are served whether or
	// not the host strips it with http.StripPrefix. Default DefaultPrefix,
	// "/portal"; "/" mounts it at the root.
	Prefix string
	// Title heads every page and names the browser tab. Default
	// DefaultTitle, "Webhooks".
	Title string
	// SignInURL is where a request whose authorization fails is redirected
	// (303), with the requested path in the "next" query parameter. Default
	// "": the portal answers 401 with a short page instead.
	SignInURL string
	// SignOutURL, when set, adds a "Sign out" button that POSTs to it (the
	// host's handler ends the session). Default "": no button.
	SignOutURL string
	// CSRFKey signs the form tokens, and seals the cookie that carries a
	// new secret to the page showing it. Set the same key (at least 32 random
	// bytes) on every replica behind a load balancer, so a form rendered by
	// one is accepted by another. Default: 32 random bytes drawn by New,
	// which invalidates open forms when the process restarts.
	CSRFKey []byte
	// Logger receives unexpected errors (those answered 500). Default
	// slog.Default().
	Logger *slog.Logger
}

// handler is the http.Handler New returns. It is immutable after New.
type handler struct {
	d          *webhooks.Dispatcher
	authorize  AuthorizeFunc
	prefix     string // without a trailing slash; "" at the root
	title      string
	signIn     string
	signOut    string
	log        *slog.Logger
	csrf       csrfGuard
	flash      flashSealer
	pages      pageSet
	mux        *http.ServeMux
	assetsPath string
}

// New returns the portal for d as an http.Handler. authorize runs on every
// page and action; see the package documentation for the pages and how to
// mount it. opts may be nil (every default). New panics when d or authorize
// is nil: a portal without authentication is never what a host wants.
func New(d *webhooks.Dispatcher, authorize AuthorizeFunc, opts *Options) http.Handler {
	if d == nil {
		panic("portal: New: nil *webhooks.Dispatcher")
	}
	if authorize == nil {
		panic("portal: New: nil AuthorizeFunc (the portal needs the host's authentication)")
	}
	var o Options
	if opts != nil {
		o = *opts
	}
	h := &handler{d: d, authorize: authorize, title: o.Title, signIn: o.SignInURL, signOut: o.SignOutURL, log: o.Logger}
	switch p := strings.TrimRight(o.Prefix, "/"); {
	case o.Prefix == "":
		h.prefix = DefaultPrefix
	case p == "":
		h.prefix = ""
	case !strings.HasPrefix(p, "/"):
		h.prefix = "/" + p
	default:
		h.prefix = p
	}
	if h.title == "" {
		h.title = DefaultTitle
	}
	if h.log == nil {
		h.log = slog.Default()
	}
	key := o.CSRFKey
	if len(key) == 0 {
		key = make([]byte, 32)
		_, _ = rand.Read(key) // crypto/rand.Read never fails on supported platforms
	}
	h.csrf = newCSRFGuard(key, h.prefix+"/")
	h.flash = newFlashSealer(key, h.prefix+"/")
	h.pages = mustParsePages()
	h.assetsPath = "/assets/"
	h.mux = http.NewServeMux()
	h.routes()
	return h
}

// routes registers every page and action on paths relative to the prefix.
func (h *handler) routes() {
	page := func(pattern string, fn func(*call) error) { h.mux.HandleFunc(pattern, h.wrap(fn)) }
	page("GET /{$}", (*call).list)
	page("GET /webhooks/new", (*call).newForm)
	page("POST /webhooks/new", (*call).create)
	page("GET /webhooks/{id}", (*call).show)
	page("GET /webhooks/{id}/edit", (*call).editForm)
	page("POST /webhooks/{id}/edit", (*call).update)
	page("POST /webhooks/{id}/enable", (*call).enable)
	page("POST /webhooks/{id}/disable", (*call).disable)
	page("GET /webhooks/{id}/delete", (*call).confirmDelete)
	page("POST /webhooks/{id}/delete", (*call).delete)
	page("GET /webhooks/{id}/secret", (*call).secret)
	page("POST /webhooks/{id}/secret", (*call).regenerate)
	page("POST /webhooks/{id}/test", (*call).test)
	page("GET /webhooks/{id}/deliveries/{did}", (*call).delivery)
	page("POST /webhooks/{id}/deliveries/{did}/retry", (*call).retry)
	h.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		c, _ := r.Context().Value(callKey{}).(*call)
		if c == nil {
			return
		}
		if allowed := h.allowed(r); allowed != "" {
			w.Header().Set("Allow", allowed)
			c.fail(errStatus(http.StatusMethodNotAllowed, "This page does not accept "+r.Method+" requests."))
			return
		}
		c.fail(errStatus(http.StatusNotFound, "There is no such page."))
	})
}

// allowed returns the Allow header for a known path requested with the
// wrong method, or "" when no page has the path.
func (h *handler) allowed(r *http.Request) string {
	var out []string
	for _, m := range []string{http.MethodGet, http.MethodPost} {
		probe := r.Clone(r.Context())
		probe.Method = m
		if _, pattern := h.mux.Handler(probe); pattern != "/" && pattern != "" {
			out = append(out, m)
		}
	}
	return strings.Join(out, ", ")
}

// call is one authorized request being served.
type call struct {
	h     *handler
	w     http.ResponseWriter
	r     *http.Request
	scope webhooks.Scope
	token string // the CSRF token forms of this response carry
}

type callKey struct{}

// ServeHTTP serves assets, then authorizes, strips the prefix and routes.
func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	setSecurityHeaders(w.Header())
	rel, ok := h.relative(r.URL.Path)
	if ok && strings.HasPrefix(rel, h.assetsPath) && (r.Method == http.MethodGet || r.Method == http.MethodHead) {
		serveAsset(w, r, strings.TrimPrefix(rel, h.assetsPath))
		return
	}
	c := &call{h: h, w: w, r: r}
	scope, err := h.authorize(r)
	if err != nil {
		next := h.prefix + "/"
		if ok && cleanPath(rel) && r.Method == http.MethodGet {
			next = h.prefix + rel
		}
		c.signIn(next)
		return
	}
	c.scope = scope
	if !ok || !cleanPath(rel) {
		c.fail(errStatus(http.StatusNotFound, "There is no such page."))
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
		if err := r.ParseForm(); err != nil {
			c.fail(errStatus(http.StatusBadRequest, "The form could not be read: it is malformed or larger than 256 KiB."))
			return
		}
		if err := h.csrf.check(r, scope); err != nil {
			h.log.Info("portal: form rejected", "path", r.URL.Path, "err", err)
			c.fail(errStatus(http.StatusForbidden, "This form was sent from another site, or has expired. Reload the page and try again."))
			return
		}
	}
	c.token = h.csrf.token(w, r, scope)
	u := *r.URL
	u.Path, u.RawPath = rel, ""
	r2 := r.WithContext(context.WithValue(r.Context(), callKey{}, c))
	r2.URL = &u
	c.r = r2
	h.mux.ServeHTTP(w, r2)
}

// wrap adapts a page to ServeMux.
func (h *handler) wrap(fn func(*call) error) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		c := r.Context().Value(callKey{}).(*call)
		c.r = r
		if err := fn(c); err != nil {
			c.fail(err)
		}
	}
}

// signIn answers an unauthorized request: a redirect to the host's sign-in
// page that brings the user back to next (the page asked for, or the list
// when the request was a form), or a 401 page.
func (c *call) signIn(next string) {
	if c.h.signIn != "" {
		sep := "?"
		if strings.Contains(c.h.signIn, "?") {
			sep = "&"
		}
		http.Redirect(c.w, c.r, c.h.signIn+sep+"next="+urlQueryEscape(next), http.StatusSeeOther)
		return
	}
	c.renderStatus(http.StatusUnauthorized, "Sign in required", "You are not signed in, or your session has ended.")
}

// relative returns the path below the prefix ("/" for the prefix itself);
// paths without the prefix are taken as already stripped by the host.
func (h *handler) relative(p string) (string, bool) {
	switch {
	case p == "":
		return "/", true
	case h.prefix != "" && p == h.prefix:
		return "/", true
	case h.prefix != "" && strings.HasPrefix(p, h.prefix+"/"):
		return p[len(h.prefix):], true
	}
	return p, strings.HasPrefix(p, "/")
}

// cleanPath reports whether p is already clean (no empty, "." or ".."
// segment, no trailing slash), so that ServeMux serves it rather than
// redirecting to a cleaned path (which would drop the prefix when the host
// strips it).
func cleanPath(p string) bool { return path.Clean(p) == p }

// contentSecurityPolicy allows the portal's own stylesheet and script and
// nothing else: no inline script or style, no other origin, no framing.
const contentSecurityPolicy = "default-src 'none'; style-src 'self'; script-src 'self'; img-src 'self' data:; " +
	"form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

// setSecurityHeaders sets the headers every response carries. Pages are
// never cached: they show company data and, once, secrets.
func setSecurityHeaders(h http.Header) {
	h.Set("Content-Security-Policy", contentSecurityPolicy)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "same-origin")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Cache-Control", "no-store")
}
