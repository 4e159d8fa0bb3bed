package portal

import (
	"bytes"
	"embed"
	"encoding/json"
	"errors"
	"html/template"
	"io/fs"
	"net/http"
	"net/url"
	"path"
	"strconv"
	"strings"
	"time"

	webhooks "github.com/webhookkit/webhooks"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed assets
var assetFS embed.FS

// pageSet holds one template per page, each the layout plus the page's
// "content" block.
type pageSet map[string]*template.Template

var funcs = template.FuncMap{
	"when": func(t time.Time) string {
		if t.IsZero() {
			return "—"
		}
		return t.UTC().Format("2006-01-02 15:04:05 UTC")
	},
	"iso": func(t time.Time) string { return t.UTC().Format(time.RFC3339) },
	"ms":  func(d time.Duration) string { return strconv.FormatInt(d.Milliseconds(), 10) + " ms" },
	"statusClass": func(s webhooks.DeliveryStatus) string {
		return "badge-" + strings.ToLower(string(s))
	},
	"list":    func(s ...string) []string { return s },
	"json":    indentJSON,
	"company": companyLabel,
	"add":     func(a, b int) int { return a + b },
	"sub":     func(a, b int) int { return a - b },
}

// indentJSON lays out stored JSON (a payload filter) two spaces a level;
// "" for none.
func indentJSON(raw json.RawMessage) string {
	if len(raw) == 0 {
		return ""
	}
	var buf bytes.Buffer
	if err := json.Indent(&buf, raw, "", "  "); err != nil {
		return string(raw) // stored JSON was validated; show it as is rather than fail the page
	}
	return buf.String()
}

func mustParsePages() pageSet {
	base := template.Must(template.New("layout.html").Funcs(funcs).ParseFS(templateFS, "templates/layout.html"))
	names, err := fs.Glob(templateFS, "templates/*.html")
	if err != nil {
		panic(err)
	}
	ps := pageSet{}
	for _, n := range names {
		name := strings.TrimSuffix(path.Base(n), ".html")
		if name == "layout" {
			continue
		}
		ps[name] = template.Must(template.Must(base.Clone()).ParseFS(templateFS, n))
	}
	return ps
}

// view is what the layout renders around a page's content.
type view struct {
	App        string // Options.Title
	Title      string // this page's title
	Prefix     string
	CSRF       string
	SignOut    string
	ScopeLabel string
	Flash      string
	FlashKind  string // "ok" or "bad"
	Data       any
}

// render writes a page. Rendering goes to a buffer first, so a template
// error is answered 500 rather than a half-written page.
func (c *call) render(status int, page, title string, data any) error {
	v := view{
		App: c.h.title, Title: title, Prefix: c.h.prefix, CSRF: c.token,
		SignOut: c.h.signOut, ScopeLabel: scopeLabel(c.scope), Data: data,
	}
	v.Flash, v.FlashKind = flashMessage(c.r.URL.Query().Get("done"))
	var buf bytes.Buffer
	if err := c.h.pages[page].ExecuteTemplate(&buf, "layout", v); err != nil {
		return err
	}
	c.w.Header().Set("Content-Type", "text/html; charset=utf-8")
	c.w.WriteHeader(status)
	_, _ = c.w.Write(buf.Bytes())
	return nil
}

func scopeLabel(s webhooks.Scope) string {
	label := s.Client
	if label == "" {
		label = "default client"
	}
	if s.CompanyID != nil {
		return label + " · company " + strconv.FormatInt(*s.CompanyID, 10)
	}
	return label + " · all companies"
}

// flashMessage maps the "done" query parameter an action redirects with to
// its message. Unknown codes show nothing, so a crafted link cannot put
// arbitrary text on the page.
func flashMessage(code string) (string, string) {
	switch code {
	case "created":
		return "Webhook created.", "ok"
	case "updated":
		return "Changes saved.", "ok"
	case "enabled":
		return "Webhook enabled. Held deliveries resume.", "ok"
	case "disabled":
		return "Webhook disabled. New events are not sent to it until it is enabled.", "ok"
	case "deleted":
		return "Webhook deleted.", "ok"
	case "retried":
		return "Delivery queued for retry.", "ok"
	}
	return "", ""
}

// statusError is an error answered with a status and a message for people.
type statusError struct {
	status int
	msg    string
}

func (e *statusError) Error() string { return e.msg }

func errStatus(status int, msg string) error { return &statusError{status, msg} }

// fail answers an error: known ones with their status and message, others
// 500 (logged, with no detail shown).
func (c *call) fail(err error) {
	var se *statusError
	switch {
	case errors.As(err, &se):
		c.renderStatus(se.status, http.StatusText(se.status), se.msg)
	case errors.Is(err, webhooks.ErrNotFound):
		c.renderStatus(http.StatusNotFound, "Not found", "There is no such webhook or delivery.")
	case errors.Is(err, webhooks.ErrNotRetryable):
		c.renderStatus(http.StatusConflict, "Cannot retry", "Only failed deliveries, and those waiting for a retry, can be retried.")
	case errors.Is(err, webhooks.ErrUnknownClient):
		c.h.log.Error("portal: the caller's client has no store", "client", c.scope.Client, "err", err)
		c.renderStatus(http.StatusNotFound, "Not found", "There are no webhooks for your account.")
	default:
		c.h.log.Error("portal: unexpected error", "method", c.r.Method, "path", c.r.URL.Path, "err", err)
		c.renderStatus(http.StatusInternalServerError, "Something went wrong", "The request failed on our side. Try again in a moment.")
	}
}

type statusPage struct {
	Heading, Message string
	SignedIn         bool
}

// renderStatus writes a short page for an error or a sign-in prompt.
func (c *call) renderStatus(status int, heading, msg string) {
	data := statusPage{Heading: heading, Message: msg, SignedIn: status != http.StatusUnauthorized}
	if err := c.render(status, "status", heading, data); err != nil {
		c.h.log.Error("portal: rendering error page", "err", err)
		http.Error(c.w, msg, status)
	}
}

// redirect sends the browser to a portal path after an action (303, so a
// reload does not repeat the POST), with a flash code.
func (c *call) redirect(rel, done string) error {
	target := c.h.prefix + rel
	if done != "" {
		target += "?done=" + url.QueryEscape(done)
	}
	http.Redirect(c.w, c.r, target, http.StatusSeeOther)
	return nil
}

func urlQueryEscape(s string) string { return url.QueryEscape(s) }

// assetTypes are the content types of the embedded assets.
var assetTypes = map[string]string{
	".css": "text/css; charset=utf-8",
	".js":  "text/javascript; charset=utf-8",
	".svg": "image/svg+xml",
}

// serveAsset serves an embedded stylesheet or script. They change only with
// the binary, so browsers may keep them for an hour.
func serveAsset(w http.ResponseWriter, r *http.Request, name string) {
	ct, ok := assetTypes[path.Ext(name)]
	b, err := assetFS.ReadFile("assets/" + name)
	if !ok || err != nil || strings.Contains(name, "/") {
		http.Error(w, "not found", http.StatusNotFound)
		return
	}
	w.Header().Set("Content-Type", ct)
	w.Header().Set("Cache-Control", "public, max-age=3600")
	if r.Method == http.MethodHead {
		return
	}
	_, _ = w.Write(b)
}
