package portal

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	webhooks "github.com/webhookkit/webhooks"
	"github.com/webhookkit/webhooks/internal/httpkit"
)

// The create and edit forms: every configuration field, the event picker
// and field errors shown next to their inputs.

// webhookForm is the form's state: what was entered (as text, so a bad
// value is shown back as typed) and what is wrong with it.
type webhookForm struct {
	Edit           bool
	ID             int64
	Name           string
	Description    string
	URL            string
	HTTPMethod     string
	ContentType    string
	TimeoutMs      string
	MaxRetries     string
	AutoDisable    string
	Scheme         string
	Secret         string
	CompanyID      string
	CanPickCompany bool
	CompanyLabel   string
	Headers        string
	Filters        string // the payload filter as typed, or the stored one indented
	filtersSent    bool   // the post had the field (a page from before it leaves it alone)
	VerifySSL      bool
	Events         map[string]bool
	Unknown        []string // selected patterns the registry no longer has
	Picker         []pickerGroup
	Errors         map[string]string
	FormError      string
	MaxRetriesCap  int
	MinTimeoutMs   int64
	MaxTimeoutMs   int64
	// What a blank field takes on create, for the placeholders.
	DefaultMaxRetries int
	DefaultTimeoutMs  int64
}

type pickerGroup struct {
	Category  string
	Resources []pickerResource
}

type pickerResource struct {
	Pattern string // "resource.*"
	// ID of its checkbox: "evr-" and the resource; types' are "evt-" and the
	// name with "-" for "." (names are [a-z0-9_] either side of the dot), so
	// neither needs escaping in a CSS selector.
	ID    string
	Name  string
	Types []pickerType
}

type pickerType struct {
	Name, Description, ID string
}

// formFields are the form's field names, in the order errors are listed.
var formFields = []string{"companyId", "name", "description", "url", "events", "filters", "customHeaders",
	"httpMethod", "contentType", "timeoutMs", "maxRetries", "verifySsl", "autoDisableAfterFailures",
	"signatureScheme", "secret"}

// newWebhookForm is a form with the picker and limits filled in.
func (c *call) newWebhookForm() *webhookForm {
	lim := c.h.d.Limits()
	f := &webhookForm{
		Events: map[string]bool{}, Errors: map[string]string{}, VerifySSL: true,
		HTTPMethod: webhooks.DefaultHTTPMethod, MaxRetriesCap: lim.MaxRetries,
		MinTimeoutMs: lim.MinTimeout.Milliseconds(), MaxTimeoutMs: lim.MaxTimeout.Milliseconds(),
		// As the dispatcher defaults a webhook created without them.
		DefaultMaxRetries: min(lim.DefaultMaxRetries, lim.MaxRetries),
		DefaultTimeoutMs:  min(max(webhooks.DefaultTimeout, lim.MinTimeout), lim.MaxTimeout).Milliseconds(),
		CanPickCompany:    c.scope.CompanyID == nil,
		CompanyLabel:      companyLabel(c.scope.CompanyID),
	}
	for _, cat := range c.h.d.Registry().Categories() {
		g := pickerGroup{Category: cat.Name}
		for _, t := range cat.Types {
			res := t.Resource()
			if n := len(g.Resources); n == 0 || g.Resources[n-1].Name != res {
				g.Resources = append(g.Resources, pickerResource{Pattern: res + ".*", ID: "evr-" + res, Name: res})
			}
			r := &g.Resources[len(g.Resources)-1]
			r.Types = append(r.Types, pickerType{Name: t.Name, Description: t.Description, ID: "evt-" + strings.ReplaceAll(t.Name, ".", "-")})
		}
		f.Picker = append(f.Picker, g)
	}
	return f
}

func companyLabel(id *int64) string {
	if id == nil {
		return "All companies (system-wide)"
	}
	return "Company " + strconv.FormatInt(*id, 10)
}

// fill copies a stored webhook into the form (edit).
func (f *webhookForm) fill(w *webhooks.Webhook) {
	f.Edit, f.ID = true, w.ID
	f.Name, f.Description, f.URL = w.Name, w.Description, w.URL
	f.HTTPMethod, f.ContentType = w.HTTPMethod, w.ContentType
	f.TimeoutMs = strconv.FormatInt(w.Timeout.Milliseconds(), 10)
	f.MaxRetries = strconv.Itoa(w.MaxRetries)
	f.AutoDisable = strconv.Itoa(w.AutoDisableAfterFailures)
	f.Scheme, f.VerifySSL = w.SignatureScheme, w.VerifySSL
	f.CanPickCompany, f.CompanyLabel = false, companyLabel(w.CompanyID)
	names := make([]string, 0, len(w.CustomHeaders))
	for k := range w.CustomHeaders {
		names = append(names, k)
	}
	sort.Strings(names)
	lines := make([]string, len(names))
	for i, k := range names {
		lines[i] = k + ": " + w.CustomHeaders[k]
	}
	f.Headers = strings.Join(lines, "\n")
	f.Filters = indentJSON(w.Filters)
	f.setEvents(w.Events)
}

func (f *webhookForm) setEvents(events []string) {
	known := map[string]bool{webhooks.WildcardPattern: true}
	for _, g := range f.Picker {
		for _, r := range g.Resources {
			known[r.Pattern] = true
			for _, t := range r.Types {
				known[t.Name] = true
			}
		}
	}
	f.Unknown = nil
	for _, e := range events {
		f.Events[e] = true
		if !known[e] {
			f.Unknown = append(f.Unknown, e)
		}
	}
}

// read parses the posted form into f and an input. Values that are not
// numbers where numbers go are field errors here; the rest is validated by
// the dispatcher. Blank optional fields take the library's defaults on
// create (nil), and on edit keep what is stored.
func (f *webhookForm) read(r *http.Request, scope webhooks.Scope) webhooks.WebhookInput {
	v := r.PostForm
	f.Name, f.Description, f.URL = v.Get("name"), v.Get("description"), strings.TrimSpace(v.Get("url"))
	f.HTTPMethod, f.ContentType = v.Get("httpMethod"), strings.TrimSpace(v.Get("contentType"))
	f.TimeoutMs, f.MaxRetries = strings.TrimSpace(v.Get("timeoutMs")), strings.TrimSpace(v.Get("maxRetries"))
	f.AutoDisable, f.Scheme = strings.TrimSpace(v.Get("autoDisableAfterFailures")), v.Get("signatureScheme")
	f.Headers, f.VerifySSL = v.Get("customHeaders"), v.Get("verifySsl") == "on"
	f.Secret, f.CompanyID = strings.TrimSpace(v.Get("secret")), strings.TrimSpace(v.Get("companyId"))
	f.Filters, f.filtersSent = v.Get("filters"), v.Has("filters")
	f.Events = map[string]bool{}
	f.setEvents(v["events"])

	in := webhooks.WebhookInput{
		Name: &f.Name, Description: &f.Description, URL: &f.URL, SignatureScheme: &f.Scheme, VerifySSL: webhooks.Ptr(f.VerifySSL),
		Events: append([]string{}, v["events"]...),
	}
	if f.HTTPMethod != "" {
		in.HTTPMethod = &f.HTTPMethod
	}
	if f.ContentType != "" {
		in.ContentType = &f.ContentType
	}
	num := func(field, s string) *int {
		if s == "" {
			return nil
		}
		n, err := strconv.Atoi(s)
		if err != nil {
			f.Errors[field] = "must be a whole number"
			return nil
		}
		return &n
	}
	if n := num("timeoutMs", f.TimeoutMs); n != nil {
		in.Timeout = webhooks.Ptr(time.Duration(*n) * time.Millisecond)
	}
	in.MaxRetries = num("maxRetries", f.MaxRetries)
	in.AutoDisableAfterFailures = num("autoDisableAfterFailures", f.AutoDisable)
	in.CustomHeaders = f.parseHeaders()
	in.Filters = f.filterInput()
	if !f.Edit {
		if f.Secret != "" {
			in.Secret = &f.Secret
		}
		in.CompanyID = scope.CompanyID
		if scope.CompanyID == nil && f.CompanyID != "" {
			if id, ok := httpkit.ParseID(f.CompanyID); ok {
				in.CompanyID = &id
			} else {
				f.Errors["companyId"] = "must be a positive whole number, or blank for all companies"
			}
		}
	}
	return in
}

// parseHeaders reads "Name: value" lines.
func (f *webhookForm) parseHeaders() map[string]string {
	out := map[string]string{}
	var bad []string
	for i, line := range strings.Split(strings.ReplaceAll(f.Headers, "\r\n", "\n"), "\n") {
		if strings.TrimSpace(line) == "" {
			continue
		}
		k, val, ok := strings.Cut(line, ":")
		if !ok || strings.TrimSpace(k) == "" {
			bad = append(bad, "line "+strconv.Itoa(i+1)+": write Name: value")
			continue
		}
		out[strings.TrimSpace(k)] = strings.TrimSpace(val)
	}
	if len(bad) > 0 {
		f.Errors["customHeaders"] = strings.Join(bad, "; ")
	}
	return out
}

// filterInput is the typed payload filter for the dispatcher, which
// validates it. Blank means none: nil on create, and on edit null, which
// clears a stored filter; a post without the field changes nothing. Valid
// JSON is sent compacted, so that the indentation the edit form shows does
// not count toward Limits.MaxFilterBytes; anything else is sent as typed
// for the dispatcher's error.
func (f *webhookForm) filterInput() *json.RawMessage {
	typed := strings.TrimSpace(f.Filters)
	if typed == "" {
		if f.Edit && f.filtersSent {
			return webhooks.Ptr(json.RawMessage("null"))
		}
		return nil
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, []byte(typed)); err != nil {
		return webhooks.Ptr(json.RawMessage(typed))
	}
	return webhooks.Ptr(json.RawMessage(buf.Bytes()))
}

// absorb files an error from the dispatcher under its form field; it
// reports false for errors that are not about the input.
func (f *webhookForm) absorb(err error) bool {
	var ve *webhooks.ValidationError
	switch {
	case errors.As(err, &ve):
		// Fields are "name", "customHeaders.X-Foo", "events[2]",
		// "filters.data.status.$in": each filed under its input, with the
		// rest of the name leading the message.
		for _, fe := range ve.Fields {
			key, detail := fe.Field, ""
			if i := strings.IndexAny(key, ".["); i >= 0 {
				key, detail = key[:i], key[i:]
			}
			msg := fe.Message
			if strings.HasPrefix(detail, ".") {
				msg = detail[1:] + ": " + msg
			}
			if prev := f.Errors[key]; prev != "" {
				msg = prev + "; " + msg
			}
			f.Errors[key] = msg
		}
		if len(f.Errors) == 0 {
			f.FormError = err.Error()
		}
		return true
	case errors.Is(err, webhooks.ErrWebhookLimit):
		f.FormError = "You have reached the limit of webhooks: " + strings.TrimPrefix(err.Error(), "webhooks: ") +
			". Delete one before adding another."
		return true
	}
	return false
}

// ErrorList returns the field errors in form order, for the summary at the
// top of the form.
func (f *webhookForm) ErrorList() []string {
	var out []string
	for _, k := range formFields {
		if m := f.Errors[k]; m != "" {
			out = append(out, k+": "+m)
		}
	}
	return out
}

// GET /webhooks/new
func (c *call) newForm() error {
	return c.render(http.StatusOK, "form", "Add webhook", c.newWebhookForm())
}

// POST /webhooks/new: on success, on to the secret page.
func (c *call) create() error {
	f := c.newWebhookForm()
	in := f.read(c.r, c.scope)
	if len(f.Errors) == 0 {
		w, err := c.h.d.CreateWebhook(c.r.Context(), c.scope.Client, in)
		if err == nil {
			return c.flashSecret(w, false, "")
		}
		if !f.absorb(err) {
			return err
		}
	}
	f.Secret = "" // never echo a secret back into the page
	return c.render(http.StatusUnprocessableEntity, "form", "Add webhook", f)
}

// GET /webhooks/{id}/edit
func (c *call) editForm() error {
	w, err := c.webhook()
	if err != nil {
		return err
	}
	f := c.newWebhookForm()
	f.fill(w)
	return c.render(http.StatusOK, "form", "Edit "+w.Name, f)
}

// POST /webhooks/{id}/edit
func (c *call) update() error {
	w, err := c.webhook()
	if err != nil {
		return err
	}
	f := c.newWebhookForm()
	f.fill(w)
	in := f.read(c.r, c.scope)
	if len(f.Errors) == 0 {
		_, err := c.h.d.UpdateWebhook(c.r.Context(), c.scope.Client, w.ID, in)
		if err == nil {
			return c.redirect(webhookPath(w.ID), "updated")
		}
		if !f.absorb(err) {
			return err
		}
	}
	return c.render(http.StatusUnprocessableEntity, "form", "Edit "+w.Name, f)
}
