package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/webhookkit/webhooks"
)

// api serves the TengineAI REST routes of the seed on top of the library:
//
//	POST   /api/v1/projects/{project_id}/webhooks    create (url, events, secret, headers, filters)
//	GET    /api/v1/projects/{project_id}/webhooks    list
//	GET    /api/v1/webhooks/{webhook_id}             one webhook
//	DELETE /api/v1/webhooks/{webhook_id}             delete
//	POST   /api/v1/webhooks/{webhook_id}/test        send a test event now
//	GET    /api/v1/webhooks/{webhook_id}/deliveries  delivery log
//	PATCH  /api/v1/projects/{project_id}             update a project: project.updated
//	POST   /api/v1/projects/{project_id}/api_keys    create an API key: api_key.created
//
// Every route takes "Authorization: Bearer <API key>"; a key acts for its
// own project only, and another project's webhooks are "not found".
type api struct {
	d        *webhooks.Dispatcher
	projects *projects
	log      *slog.Logger
	now      func() time.Time
}

// maxBody bounds request bodies; the library bounds each field.
const maxBody = 64 << 10

func (a *api) routes() *http.ServeMux {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /api/v1/projects/{project_id}/webhooks", a.auth(a.createWebhook))
	mux.HandleFunc("GET /api/v1/projects/{project_id}/webhooks", a.auth(a.listWebhooks))
	mux.HandleFunc("GET /api/v1/webhooks/{webhook_id}", a.auth(a.getWebhook))
	mux.HandleFunc("DELETE /api/v1/webhooks/{webhook_id}", a.auth(a.deleteWebhook))
	mux.HandleFunc("POST /api/v1/webhooks/{webhook_id}/test", a.auth(a.testWebhook))
	mux.HandleFunc("GET /api/v1/webhooks/{webhook_id}/deliveries", a.auth(a.deliveries))
	mux.HandleFunc("PATCH /api/v1/projects/{project_id}", a.auth(a.updateProject))
	mux.HandleFunc("POST /api/v1/projects/{project_id}/api_keys", a.auth(a.createAPIKey))
	return mux
}

// apiError is an error response: {"error": {"code", "message", "fields"}}.
type apiError struct {
	status  int
	Code    string                `json:"code"`
	Message string                `json:"message"`
	Fields  []webhooks.FieldError `json:"fields,omitempty"`
}

func (e *apiError) Error() string { return e.Message }

func errNotFound(what string) *apiError {
	return &apiError{status: http.StatusNotFound, Code: "not_found", Message: what + " not found"}
}

func errBadRequest(msg string) *apiError {
	return &apiError{status: http.StatusBadRequest, Code: "invalid_request", Message: msg}
}

type handler func(w http.ResponseWriter, r *http.Request, p *project) error

// auth resolves the API key, checks a {project_id} in the path is the
// key's project, runs h and writes its error, if any, as JSON.
func (a *api) auth(h handler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		p, ok := a.projects.authenticate(r)
		var err error
		switch {
		case !ok:
			err = &apiError{status: http.StatusUnauthorized, Code: "unauthorized",
				Message: "send Authorization: Bearer <API key>"}
		case r.PathValue("project_id") != "" && r.PathValue("project_id") != p.id:
			err = errNotFound("project")
		default:
			err = h(w, r, p)
		}
		if err != nil {
			a.writeError(w, err)
		}
	}
}

func (a *api) writeError(w http.ResponseWriter, err error) {
	var ae *apiError
	var ve *webhooks.ValidationError
	switch {
	case errors.As(err, &ae):
	case errors.As(err, &ve):
		ae = &apiError{status: http.StatusUnprocessableEntity, Code: "validation_failed", Fields: renameFields(ve.Fields)}
		msgs := make([]string, len(ae.Fields))
		for i, f := range ae.Fields {
			msgs[i] = f.Field + ": " + f.Message
		}
		ae.Message = strings.Join(msgs, "; ")
	case errors.Is(err, webhooks.ErrNotFound):
		ae = errNotFound("webhook")
	case errors.Is(err, webhooks.ErrWebhookLimit):
		ae = &apiError{status: http.StatusConflict, Code: "webhook_limit", Message: strings.TrimPrefix(err.Error(), "webhooks: ")}
	case errors.Is(err, webhooks.ErrInvalid):
		ae = &apiError{status: http.StatusUnprocessableEntity, Code: "validation_failed", Message: strings.TrimPrefix(err.Error(), "webhooks: ")}
	default:
		a.log.Error("request failed", "err", err)
		ae = &apiError{status: http.StatusInternalServerError, Code: "internal", Message: "internal error; see the server log"}
	}
	writeJSON(w, ae.status, map[string]any{"error": ae})
}

// renameFields gives the library's field names the API's: customHeaders
// is "headers" here.
func renameFields(fs []webhooks.FieldError) []webhooks.FieldError {
	out := make([]webhooks.FieldError, len(fs))
	for i, f := range fs {
		if rest, ok := strings.CutPrefix(f.Field, "customHeaders"); ok {
			f.Field = "headers" + rest
		}
		out[i] = f
	}
	return out
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}

// decode reads a JSON object body into dst, refusing unknown fields.
func decode(r *http.Request, dst any) error {
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
	if err != nil {
		return errBadRequest("reading the body: " + err.Error())
	}
	if len(body) > maxBody {
		return &apiError{status: http.StatusRequestEntityTooLarge, Code: "too_large", Message: fmt.Sprintf("the body exceeds %d bytes", maxBody)}
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		return errBadRequest("the body must be a JSON object: " + strings.TrimPrefix(err.Error(), "json: "))
	}
	if dec.More() {
		return errBadRequest("unexpected data after the JSON object")
	}
	return nil
}

// webhookJSON is a webhook as the API shows it; secret only at creation.
type webhookJSON struct {
	ID         string            `json:"id"`
	ProjectID  string            `json:"project_id"`
	URL        string            `json:"url"`
	Events     []string          `json:"events"`
	Headers    map[string]string `json:"headers"`
	Filters    json.RawMessage   `json:"filters"`
	Active     bool              `json:"active"`
	MaxRetries int               `json:"max_retries"`
	Secret     string            `json:"secret,omitempty"`
	CreatedAt  string            `json:"created_at"`
}

const webhookIDPrefix = "wh_"

func (a *api) toJSON(w *webhooks.Webhook, withSecret bool) webhookJSON {
	out := webhookJSON{ID: webhookIDPrefix + strconv.FormatInt(w.ID, 10), URL: w.URL, Events: w.Events,
		Headers: w.CustomHeaders, Filters: w.Filters, Active: w.IsActive, MaxRetries: w.MaxRetries,
		CreatedAt: w.CreatedAt.UTC().Format(time.RFC3339)}
	if w.CompanyID != nil {
		out.ProjectID = a.projects.projectID(*w.CompanyID)
	}
	if out.Events == nil {
		out.Events = []string{}
	}
	if out.Headers == nil {
		out.Headers = map[string]string{}
	}
	if withSecret {
		out.Secret = w.Secret
	}
	return out
}

// createBody is the seed's create request.
type createBody struct {
	URL         *string           `json:"url"`
	Events      []string          `json:"events"`
	Secret      *string           `json:"secret"`
	Headers     map[string]string `json:"headers"`
	Filters     *json.RawMessage  `json:"filters"`
	Description *string           `json:"description"`
}

func (a *api) createWebhook(w http.ResponseWriter, r *http.Request, p *project) error {
	var b createBody
	if err := decode(r, &b); err != nil {
		return err
	}
	if len(b.Events) == 0 {
		return &webhooks.ValidationError{Fields: []webhooks.FieldError{{Field: "events", Message: "select at least one event, e.g. [\"project.created\"]"}}}
	}
	in := webhooks.WebhookInput{
		CompanyID: &p.company, URL: b.URL, Events: b.Events, Secret: b.Secret,
		CustomHeaders: b.Headers, Filters: b.Filters, Description: b.Description,
		Name: webhooks.Ptr(webhookName(b.URL)),
	}
	hook, err := a.d.CreateWebhook(r.Context(), "", in)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, a.toJSON(hook, true))
	return nil
}

// webhookName names a webhook after its host: the API has no name field
// but the library requires one.
func webhookName(raw *string) string {
	name := "webhook"
	if raw != nil {
		if u, err := url.Parse(*raw); err == nil && u.Host != "" {
			name = "webhook to " + u.Host
		}
	}
	for utf8.RuneCountInString(name) > 100 {
		_, size := utf8.DecodeLastRuneInString(name)
		name = name[:len(name)-size]
	}
	return name
}

func (a *api) listWebhooks(w http.ResponseWriter, r *http.Request, p *project) error {
	hooks, err := a.d.ListWebhooks(r.Context(), "", webhooks.ListWebhooksParams{CompanyID: &p.company})
	if err != nil {
		return err
	}
	out := make([]webhookJSON, 0, len(hooks))
	for _, h := range hooks {
		out = append(out, a.toJSON(h, false))
	}
	writeJSON(w, http.StatusOK, map[string]any{"data": out})
	return nil
}

// ownWebhook returns the {webhook_id} of the path if it belongs to p.
func (a *api) ownWebhook(r *http.Request, p *project) (*webhooks.Webhook, error) {
	raw := r.PathValue("webhook_id")
	n, err := strconv.ParseInt(strings.TrimPrefix(raw, webhookIDPrefix), 10, 64)
	if err != nil || !strings.HasPrefix(raw, webhookIDPrefix) || n <= 0 {
		return nil, errNotFound("webhook")
	}
	hook, err := a.d.GetWebhook(r.Context(), "", n)
	if err != nil {
		return nil, err
	}
	if !(webhooks.Scope{CompanyID: &p.company}).Allows(hook.CompanyID) {
		return nil, errNotFound("webhook")
	}
	return hook, nil
}

func (a *api) getWebhook(w http.ResponseWriter, r *http.Request, p *project) error {
	hook, err := a.ownWebhook(r, p)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, a.toJSON(hook, false))
	return nil
}

func (a *api) deleteWebhook(w http.ResponseWriter, r *http.Request, p *project) error {
	hook, err := a.ownWebhook(r, p)
	if err != nil {
		return err
	}
	if err := a.d.DeleteWebhook(r.Context(), "", hook.ID); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// testResult is the answer of POST /webhooks/{webhook_id}/test.
type testResult struct {
	DeliveryID int64   `json:"delivery_id"`
	EventID    string  `json:"event_id"`
	Success    bool    `json:"success"`
	StatusCode *int    `json:"status_code"`
	DurationMs int64   `json:"duration_ms"`
	Error      *string `json:"error"`
}

func (a *api) testWebhook(w http.ResponseWriter, r *http.Request, p *project) error {
	hook, err := a.ownWebhook(r, p)
	if err != nil {
		return err
	}
	dl, err := a.d.SendTest(r.Context(), "", hook.ID)
	if err != nil {
		return err
	}
	res := testResult{DeliveryID: dl.ID, EventID: eventIDPrefix + dl.EventID, Success: dl.Status == webhooks.StatusSuccess,
		DurationMs: dl.Duration.Milliseconds()}
	if dl.ResponseStatus != 0 {
		res.StatusCode = &dl.ResponseStatus
	}
	if dl.ErrorMessage != "" {
		res.Error = &dl.ErrorMessage
	}
	writeJSON(w, http.StatusOK, res)
	return nil
}

// deliveryJSON is one entry of the delivery log.
type deliveryJSON struct {
	ID         int64  `json:"id"`
	EventID    string `json:"event_id"`
	Type       string `json:"type"`
	Status     string `json:"status"`
	Attempts   int    `json:"attempts"`
	StatusCode int    `json:"status_code,omitempty"`
	CreatedAt  string `json:"created_at"`
}

func (a *api) deliveries(w http.ResponseWriter, r *http.Request, p *project) error {
	hook, err := a.ownWebhook(r, p)
	if err != nil {
		return err
	}
	ds, err := a.d.Deliveries(r.Context(), "", webhooks.ListDeliveriesParams{WebhookID: hook.ID, Limit: 100})
	if err != nil {
		return err
	}
	out := make([]deliveryJSON, 0, len(ds))
	for _, d := range ds {
		id := d.EventID
		if !strings.HasPrefix(id, eventIDPrefix) {
			id = eventIDPrefix + id
		}
		out = append(out, deliveryJSON{ID: d.ID, EventID: id, Type: d.EventType, Status: string(d.Status),
			Attempts: d.AttemptCount, StatusCode: d.ResponseStatus, CreatedAt: d.CreatedAt.UTC().Format(time.RFC3339)})
	}
	writeJSON(w, http.StatusOK, map[string]any{"data": out})
	return nil
}

// emit sends one of the project's events to its webhooks.
func (a *api) emit(r *http.Request, p *project, eventType string, data any) error {
	return a.d.Emit(r.Context(), webhooks.Event{
		ID: eventIDPrefix + randomHex(12), Type: eventType, Company: p.companyOf(),
		Data: webhooks.EventData{Attributes: data},
	})
}

func (a *api) updateProject(w http.ResponseWriter, r *http.Request, p *project) error {
	var b struct {
		Name        *string `json:"name"`
		Description *string `json:"description"`
	}
	if err := decode(r, &b); err != nil {
		return err
	}
	ve := &webhooks.ValidationError{}
	if b.Name != nil {
		if n := strings.TrimSpace(*b.Name); n == "" || utf8.RuneCountInString(n) > 100 {
			ve.Fields = append(ve.Fields, webhooks.FieldError{Field: "name", Message: "must be 1 to 100 characters"})
		} else {
			b.Name = &n
		}
	}
	if b.Description != nil && utf8.RuneCountInString(*b.Description) > 500 {
		ve.Fields = append(ve.Fields, webhooks.FieldError{Field: "description", Message: "must be at most 500 characters"})
	}
	if len(ve.Fields) > 0 {
		return ve
	}
	updated := a.projects.update(p.id, b.Name, b.Description, a.now())
	if err := a.emit(r, &updated, "project.updated", updated.json()); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, updated.json())
	return nil
}

// apiKeyJSON is an API key in payloads; the response adds the key itself.
type apiKeyJSON struct {
	ID          string   `json:"id"`
	Name        string   `json:"name"`
	Permissions []string `json:"permissions"`
	CreatedAt   string   `json:"created_at"`
}

var permissions = []string{"read", "write", "admin"}

func (a *api) createAPIKey(w http.ResponseWriter, r *http.Request, p *project) error {
	var b struct {
		Name        string   `json:"name"`
		Permissions []string `json:"permissions"`
	}
	if err := decode(r, &b); err != nil {
		return err
	}
	ve := &webhooks.ValidationError{}
	if n := strings.TrimSpace(b.Name); n == "" || utf8.RuneCountInString(n) > 100 {
		ve.Fields = append(ve.Fields, webhooks.FieldError{Field: "name", Message: "must be 1 to 100 characters"})
	}
	if b.Permissions == nil {
		b.Permissions = []string{"read"}
	}
	for i, perm := range b.Permissions {
		if !slices.Contains(permissions, perm) {
			ve.Fields = append(ve.Fields, webhooks.FieldError{Field: fmt.Sprintf("permissions[%d]", i), Message: "must be read, write or admin"})
		}
	}
	if len(ve.Fields) > 0 {
		return ve
	}
	key := apiKeyJSON{ID: "key_" + randomHex(6), Name: strings.TrimSpace(b.Name), Permissions: b.Permissions,
		CreatedAt: a.now().UTC().Format(time.RFC3339)}
	secret := a.projects.addKey(p.id)
	if err := a.emit(r, p, "api_key.created", key); err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, struct {
		apiKeyJSON
		Key string `json:"key"`
	}{key, secret})
	return nil
}
