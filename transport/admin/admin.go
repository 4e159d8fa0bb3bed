package admin

import (
	"context"
	"log/slog"
	"net/http"
	"sort"
	"strings"

	webhooks "github.com/webhookkit/webhooks"
	"github.com/webhookkit/webhooks/internal/httpkit"
)

// DefaultPrefix is the path the handler serves under when Options.Prefix is
// empty: the seed's "/api/admin/webhooks".
const DefaultPrefix = "/api/admin/webhooks"

// DefaultMaxBodyBytes bounds request bodies when Options.MaxBodyBytes is
// zero or negative: 64 KiB.
const DefaultMaxBodyBytes = 64 << 10

// AuthorizeFunc authenticates a request and returns the caller's scope: the
// client whose webhooks it manages and, when Scope.CompanyID is set, the one
// company it is limited to. An error is answered 401 "unauthorized" (the
// error's text is not shown to the caller). It is called first on every
// request, before routing. There is no default: New panics without one.
type AuthorizeFunc func(r *http.Request) (webhooks.Scope, error)

// Options configures the handler; a nil *Options or a zero field takes the
// default its doc states.
type Options struct {
	// Prefix is the path the handler is mounted at; routes are
	// Prefix+"/event-types" and so on, and creation is POST Prefix.
	// Default (""): DefaultPrefix, "/api/admin/webhooks"; with the default,
	// requests whose path was already stripped of the prefix (the host
	// mounted the handler with http.StripPrefix) are served as well, since
	// no route of this API starts with "/api/". "/" serves only at the root
	// (stripped paths); any other value serves only under that prefix.
	Prefix string
	// MaxBodyBytes bounds request bodies; a larger body is answered 413
	// "payload_too_large". Default DefaultMaxBodyBytes (64 KiB).
	MaxBodyBytes int64
	// Logger receives unexpected errors (those answered 500). Default
	// slog.Default().
	Logger *slog.Logger
}

// handler is the http.Handler New returns. It is immutable after New.
type handler struct {
	d         *webhooks.Dispatcher
	authorize AuthorizeFunc
	prefix    string // "" serves at the root
	alsoRoot  bool   // also serve paths that do not carry the prefix
	maxBody   int64
	log       *slog.Logger
	mux       *http.ServeMux
	routes    []route
}

// New returns the admin API for d as an http.Handler. Every request is
// first passed to authorize; see the package documentation for the routes,
// the JSON shapes and how to mount it. opts may be nil (every default).
// New panics when d or authorize is nil: an admin API without
// authentication is never what a host wants.
func New(d *webhooks.Dispatcher, authorize AuthorizeFunc, opts *Options) http.Handler {
	if d == nil {
		panic("admin: New: nil *webhooks.Dispatcher")
	}
	if authorize == nil {
		panic("admin: New: nil AuthorizeFunc (the admin API needs the host's authentication)")
	}
	var o Options
	if opts != nil {
		o = *opts
	}
	h := &handler{d: d, authorize: authorize, maxBody: o.MaxBodyBytes, log: o.Logger}
	switch p := strings.TrimRight(o.Prefix, "/"); {
	case o.Prefix == "":
		h.prefix, h.alsoRoot = DefaultPrefix, true
	case p == "":
		h.prefix = ""
	default:
		if !strings.HasPrefix(p, "/") {
			p = "/" + p
		}
		h.prefix = p
	}
	if h.maxBody <= 0 {
		h.maxBody = DefaultMaxBodyBytes
	}
	if h.log == nil {
		h.log = slog.Default()
	}
	h.routes = routeTable()
	h.mux = http.NewServeMux()
	for _, rt := range h.routes {
		h.mux.HandleFunc(rt.muxPattern(), h.wrap(rt.handle))
	}
	// Anything no route claims: 404, or 405 with Allow when the path is
	// known (computed from the route table, not by ServeMux, whose 405s are
	// plain text and whose Allow would count wildcard routes that reject
	// the path, such as DELETE /{id} for /event-types).
	h.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		h.noRoute(w, r)
	})
	return h
}

// route is one endpoint. Paths are relative to the prefix; wildcards are
// {id} and {deliveryId} (a positive integer) and {companyId} (a positive
// integer or "system").
type route struct {
	method string
	path   string
	// mux overrides the ServeMux pattern path when the natural one would
	// conflict with another route's.
	mux    string
	handle func(*call) error
}

func (rt route) muxPattern() string {
	p := rt.path
	if rt.mux != "" {
		p = rt.mux
	}
	if p == "/" {
		p = "/{$}"
	}
	return rt.method + " " + p
}

// routeTable is the API: the seed's 13 endpoints and the OpenAPI document.
// (A function, not a variable: the handlers refer back to the table.)
func routeTable() []route {
	return []route{
		{method: http.MethodGet, path: "/event-types", handle: (*call).eventTypes},
		{method: http.MethodGet, path: "/openapi.yaml", handle: (*call).openAPI},
		{method: http.MethodGet, path: "/company/{companyId}", handle: (*call).listCompany},
		{method: http.MethodPost, path: "/", handle: (*call).create},
		{method: http.MethodGet, path: "/{id}", handle: (*call).get},
		{method: http.MethodPut, path: "/{id}", handle: (*call).update},
		{method: http.MethodDelete, path: "/{id}", handle: (*call).delete},
		{method: http.MethodPost, path: "/{id}/enable", handle: (*call).enable},
		{method: http.MethodPost, path: "/{id}/disable", handle: (*call).disable},
		{method: http.MethodPost, path: "/{id}/regenerate-secret", handle: (*call).regenerateSecret},
		{method: http.MethodPost, path: "/{id}/test", handle: (*call).test},
		// "GET /{id}/deliveries" and "GET /deliveries/{deliveryId}" both match
		// /deliveries/deliveries and neither is more specific, so ServeMux
		// would panic; the history route is registered as /{id}/{sub}, which
		// /deliveries/{deliveryId} and /company/{companyId} outrank, and the
		// handler checks sub.
		{method: http.MethodGet, path: "/{id}/deliveries", mux: "/{id}/{sub}", handle: (*call).deliveries},
		{method: http.MethodGet, path: "/deliveries/{deliveryId}", handle: (*call).delivery},
		{method: http.MethodPost, path: "/deliveries/{deliveryId}/retry", handle: (*call).retry},
	}
}

// call is one request being served.
type call struct {
	h     *handler
	w     http.ResponseWriter
	r     *http.Request
	scope webhooks.Scope
}

type scopeKey struct{}

// ServeHTTP authorizes the request, strips the prefix and dispatches.
func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	scope, err := h.authorize(r)
	if err != nil {
		h.writeError(w, r, &apiError{status: http.StatusUnauthorized, code: codeUnauthorized, message: "missing or invalid credentials"})
		return
	}
	rel, ok := h.relative(r.URL.Path)
	r2 := r.WithContext(context.WithValue(r.Context(), scopeKey{}, scope))
	u := *r.URL
	u.Path, u.RawPath = rel, ""
	r2.URL = &u
	if !ok || !cleanPath(rel) {
		h.writeError(w, r2, errNotFound("no such endpoint or resource: %s", r.URL.Path))
		return
	}
	h.mux.ServeHTTP(w, r2)
}

// relative returns the path below the prefix ("/" for the prefix itself).
func (h *handler) relative(p string) (string, bool) {
	switch {
	case h.prefix != "" && (p == h.prefix || p == h.prefix+"/"):
		return "/", true
	case h.prefix != "" && strings.HasPrefix(p, h.prefix+"/"):
		return p[len(h.prefix):], true
	case h.prefix == "" || h.alsoRoot:
		if p == "" {
			return "/", true
		}
		return p, strings.HasPrefix(p, "/")
	}
	return p, false
}

// cleanPath reports whether p has no empty, "." or ".." segment, so that
// ServeMux serves it rather than redirecting to a cleaned path (which would
// drop the prefix when the host strips it).
func cleanPath(p string) bool {
	if p == "/" {
		return true
	}
	for _, s := range strings.Split(p[1:], "/") {
		if s == "" || s == "." || s == ".." {
			return false
		}
	}
	return true
}

// wrap adapts an endpoint to ServeMux.
func (h *handler) wrap(fn func(*call) error) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		scope, _ := r.Context().Value(scopeKey{}).(webhooks.Scope)
		c := &call{h: h, w: w, r: r, scope: scope}
		if err := fn(c); err != nil {
			h.writeError(w, r, err)
		}
	}
}

// noRoute answers a request no endpoint serves: 405 with Allow when some
// route has this path, else 404.
func (h *handler) noRoute(w http.ResponseWriter, r *http.Request) {
	allowed := h.allowedMethods(r.URL.Path)
	if len(allowed) == 0 {
		h.writeError(w, r, errNotFound("no such endpoint or resource: %s", r.URL.Path))
		return
	}
	allow := strings.Join(allowed, ", ")
	w.Header().Set("Allow", allow)
	h.writeError(w, r, &apiError{
		status: http.StatusMethodNotAllowed, code: codeMethodNotAllowed,
		message: "method " + r.Method + " is not allowed here; allowed: " + allow,
	})
}

// allowedMethods lists the methods of the routes whose path template
// matches p with valid wildcard values, plus HEAD wherever GET is served.
func (h *handler) allowedMethods(p string) []string {
	set := map[string]bool{}
	for _, rt := range h.routes {
		if templateMatches(rt.path, p) {
			set[rt.method] = true
			if rt.method == http.MethodGet {
				set[http.MethodHead] = true
			}
		}
	}
	out := make([]string, 0, len(set))
	for m := range set {
		out = append(out, m)
	}
	sort.Strings(out)
	return out
}

func templateMatches(tmpl, p string) bool {
	if tmpl == "/" || p == "/" {
		return tmpl == p
	}
	ts, ps := strings.Split(tmpl[1:], "/"), strings.Split(p[1:], "/")
	if len(ts) != len(ps) {
		return false
	}
	for i, t := range ts {
		switch t {
		case "{id}", "{deliveryId}":
			if _, ok := httpkit.ParseID(ps[i]); !ok {
				return false
			}
		case "{companyId}":
			if _, ok := parseCompanyID(ps[i]); !ok {
				return false
			}
		default:
			if t != ps[i] {
				return false
			}
		}
	}
	return true
}

// systemCompany is the {companyId} that lists system-wide webhooks.
const systemCompany = "system"

// parseCompanyID accepts a positive integer (ok, non-nil) or "system" (ok, nil).
func parseCompanyID(s string) (*int64, bool) {
	if s == systemCompany {
		return nil, true
	}
	n, ok := httpkit.ParseID(s)
	if !ok {
		return nil, false
	}
	return &n, true
}

// pathID parses a wildcard that must be a positive integer; when it is not,
// the request is answered as noRoute answers it and ok is false.
func (c *call) pathID(name string) (int64, bool) {
	id, ok := httpkit.ParseID(c.r.PathValue(name))
	if !ok {
		c.h.noRoute(c.w, c.r)
	}
	return id, ok
}
