package main

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/webhookkit/webhooks"
)

// The host's own domain: inspections, and a generic endpoint that emits any
// registered event. Inspections are kept beside the client's webhook tables
// (its SQLite database, or its Postgres schema), and every write emits its
// event with EmitTx inside the transaction that writes the row, so the row
// and the event commit (or roll back) together; Wake after the commit sends
// it at once. With -redis the rows are in SQLite and the event is emitted
// after the commit (see sqliteInspections). The handlers see only
// inspectionStore (storage.go).
//
// Company rule: a company-scoped token acts for its own company (a
// companyId naming another one is 403). A client admin names the company
// with companyId in the body or the query string; without one the
// inspection or event is client-wide (no company): it reaches only the
// client's system-wide webhooks, and its payload has no "company".

// tenant is a demo client at run time: its companies and its inspections.
type tenant struct {
	*demoClient
	inspections inspectionStore
}

// inspection is a row of the inspections table, and its JSON form in
// responses and in webhook payloads (data.attributes).
type inspection struct {
	ID            int64   `json:"id"`
	CompanyID     *int64  `json:"companyId"`
	Title         string  `json:"title"`
	Status        string  `json:"status"`
	ScheduledDate *string `json:"scheduledDate"`
	CreatedAt     string  `json:"createdAt"`
	UpdatedAt     string  `json:"updatedAt"`
}

// inspectionStatuses are the values status accepts.
var inspectionStatuses = []string{"pending", "in_progress", "completed", "cancelled"}

const (
	maxTitleLength   = 200
	maxEventIDLength = 255
	maxBodyBytes     = 2 << 20 // webhook payloads are capped at 1 MiB; leave room for the envelope
)

// domain serves the host's endpoints.
type domain struct {
	d       *webhooks.Dispatcher
	tenants map[string]*tenant
	log     *slog.Logger
}

func (h *domain) register(mux *http.ServeMux) {
	mux.HandleFunc("POST /api/inspections", h.createInspection)
	mux.HandleFunc("GET /api/inspections", h.listInspections)
	mux.HandleFunc("GET /api/inspections/{id}", h.getInspection)
	mux.HandleFunc("PUT /api/inspections/{id}", h.updateInspection)
	mux.HandleFunc("DELETE /api/inspections/{id}", h.deleteInspection)
	mux.HandleFunc("POST /api/events", h.emitEvent)
}

// caller is an authenticated request's scope and tenant.
type caller struct {
	scope webhooks.Scope
	t     *tenant
}

// caller authenticates r; on failure it has answered 401.
func (h *domain) caller(w http.ResponseWriter, r *http.Request) (*caller, bool) {
	scope, err := authorize(r)
	t := h.tenants[scope.Client]
	if err != nil || t == nil {
		w.Header().Set("WWW-Authenticate", `Bearer realm="webhooks example"`)
		writeError(w, &apiError{status: http.StatusUnauthorized, Code: "unauthorized", Message: errUnauthenticated.Error()})
		return nil, false
	}
	return &caller{scope: scope, t: t}, true
}

// company resolves the company an action is for: the token's own, or for a
// client admin the requested one (nil: client-wide).
func (c *caller) company(requested *int64) (*webhooks.Company, error) {
	if own := c.scope.CompanyID; own != nil {
		if requested != nil && *requested != *own {
			return nil, &apiError{status: http.StatusForbidden, Code: "forbidden",
				Message: fmt.Sprintf("this token acts for company %d only, not company %d", *own, *requested)}
		}
		requested = own
	}
	if requested == nil {
		return nil, nil
	}
	co, ok := c.t.company(*requested)
	if !ok {
		return nil, validationError(webhooks.FieldError{Field: "companyId",
			Message: fmt.Sprintf("company %d does not exist in client %s", *requested, c.t.client.ID)})
	}
	return co, nil
}

func (h *domain) createInspection(w http.ResponseWriter, r *http.Request) {
	c, ok := h.caller(w, r)
	if !ok {
		return
	}
	obj, err := readObject(w, r)
	if err != nil {
		writeError(w, err)
		return
	}
	in, err := parseInspectionInput(obj, true)
	if err != nil {
		writeError(w, err)
		return
	}
	requested := in.companyID
	if requested == nil {
		if requested, err = queryCompanyID(r); err != nil {
			writeError(w, err)
			return
		}
	}
	company, err := c.company(requested)
	if err != nil {
		writeError(w, err)
		return
	}
	now := time.Now().UTC()
	ins := inspection{
		CompanyID: companyIDOf(company), Title: *in.title, Status: "pending",
		CreatedAt: rowTime(now), UpdatedAt: rowTime(now),
	}
	if in.status != nil {
		ins.Status = *in.status
	}
	if in.scheduledDateSet {
		ins.ScheduledDate = in.scheduledDate
	}
	eventID := webhooks.NewEventID()
	err = c.t.inspections.write(r.Context(), h.d, func(tbl inspectionTable) (*webhooks.Event, error) {
		if err := tbl.insert(r.Context(), &ins); err != nil {
			return nil, err
		}
		return &webhooks.Event{
			ID: eventID, Type: "inspection.created", Time: now, Client: c.t.client, Company: company,
			Data: webhooks.EventData{ID: ins.ID, Type: "Inspection", Attributes: ins},
		}, nil
	})
	if err != nil {
		h.fail(w, r, err)
		return
	}
	w.Header().Set("Location", "/api/inspections/"+strconv.FormatInt(ins.ID, 10))
	writeJSON(w, http.StatusCreated, map[string]any{
		"data": ins,
		"meta": map[string]any{"eventId": eventID, "event": "inspection.created"},
	})
}

func (h *domain) listInspections(w http.ResponseWriter, r *http.Request) {
	c, ok := h.caller(w, r)
	if !ok {
		return
	}
	filter, err := queryCompanyID(r)
	if err != nil {
		writeError(w, err)
		return
	}
	if own := c.scope.CompanyID; own != nil {
		if filter != nil && *filter != *own {
			writeJSON(w, http.StatusOK, map[string]any{"data": []inspection{}, "meta": map[string]any{"count": 0}})
			return
		}
		filter = own
	}
	list, err := c.t.inspections.read().list(r.Context(), filter)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"data": list, "meta": map[string]any{"count": len(list)}})
}

func (h *domain) getInspection(w http.ResponseWriter, r *http.Request) {
	c, ok := h.caller(w, r)
	if !ok {
		return
	}
	id, err := pathID(r)
	if err != nil {
		writeError(w, err)
		return
	}
	ins, err := loadInspection(r.Context(), c.t.inspections.read(), c, id)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"data": ins})
}

func (h *domain) updateInspection(w http.ResponseWriter, r *http.Request) {
	c, ok := h.caller(w, r)
	if !ok {
		return
	}
	id, err := pathID(r)
	if err != nil {
		writeError(w, err)
		return
	}
	obj, err := readObject(w, r)
	if err != nil {
		writeError(w, err)
		return
	}
	in, err := parseInspectionInput(obj, false)
	if err != nil {
		writeError(w, err)
		return
	}
	now := time.Now().UTC()
	eventID := webhooks.NewEventID()
	var ins *inspection
	var previous map[string]any
	err = c.t.inspections.write(r.Context(), h.d, func(tbl inspectionTable) (*webhooks.Event, error) {
		var err error
		if ins, err = loadInspection(r.Context(), tbl, c, id); err != nil {
			return nil, err
		}
		previous = map[string]any{}
		if in.title != nil && *in.title != ins.Title {
			previous["title"], ins.Title = ins.Title, *in.title
		}
		if in.status != nil && *in.status != ins.Status {
			previous["status"], ins.Status = ins.Status, *in.status
		}
		if in.scheduledDateSet && !equalPtr(in.scheduledDate, ins.ScheduledDate) {
			previous["scheduledDate"], ins.ScheduledDate = ins.ScheduledDate, in.scheduledDate
		}
		if len(previous) == 0 {
			return nil, nil // nothing changed: no write, no event
		}
		ins.UpdatedAt = rowTime(now)
		if err := tbl.update(r.Context(), ins); err != nil {
			return nil, err
		}
		company, err := c.inspectionCompany(ins)
		if err != nil {
			return nil, err
		}
		return &webhooks.Event{
			ID: eventID, Type: "inspection.updated", Time: now, Client: c.t.client, Company: company,
			Data: webhooks.EventData{ID: ins.ID, Type: "Inspection", Attributes: ins, Previous: previous},
		}, nil
	})
	if err != nil {
		h.fail(w, r, err)
		return
	}
	meta := map[string]any{"changed": false}
	if len(previous) > 0 {
		meta = map[string]any{"changed": true, "eventId": eventID, "event": "inspection.updated", "previous": previous}
	}
	writeJSON(w, http.StatusOK, map[string]any{"data": ins, "meta": meta})
}

func (h *domain) deleteInspection(w http.ResponseWriter, r *http.Request) {
	c, ok := h.caller(w, r)
	if !ok {
		return
	}
	id, err := pathID(r)
	if err != nil {
		writeError(w, err)
		return
	}
	now := time.Now().UTC()
	eventID := webhooks.NewEventID()
	var ins *inspection
	err = c.t.inspections.write(r.Context(), h.d, func(tbl inspectionTable) (*webhooks.Event, error) {
		var err error
		if ins, err = loadInspection(r.Context(), tbl, c, id); err != nil {
			return nil, err
		}
		if err := tbl.delete(r.Context(), ins.ID); err != nil {
			return nil, err
		}
		company, err := c.inspectionCompany(ins)
		if err != nil {
			return nil, err
		}
		// The seed's delete payload carries only the identifying attributes.
		return &webhooks.Event{
			ID: eventID, Type: "inspection.deleted", Time: now, Client: c.t.client, Company: company,
			Data: webhooks.EventData{ID: ins.ID, Type: "Inspection", Attributes: map[string]any{"id": ins.ID, "title": ins.Title}},
		}, nil
	})
	if err != nil {
		h.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"data": ins,
		"meta": map[string]any{"message": "Inspection deleted.", "eventId": eventID, "event": "inspection.deleted"},
	})
}

// inspectionCompany is the company of a stored inspection, with its name.
func (c *caller) inspectionCompany(ins *inspection) (*webhooks.Company, error) {
	if ins.CompanyID == nil {
		return nil, nil
	}
	co, ok := c.t.company(*ins.CompanyID)
	if !ok {
		return nil, fmt.Errorf("inspection %d belongs to unknown company %d", ins.ID, *ins.CompanyID)
	}
	return co, nil
}

// emitEvent is POST /api/events: {"event", "companyId"?, "eventId"?,
// "data"?: {"id", "type", "attributes", "previous"}, "metadata"?}. data is
// the payload's data object as receivers will see it.
func (h *domain) emitEvent(w http.ResponseWriter, r *http.Request) {
	c, ok := h.caller(w, r)
	if !ok {
		return
	}
	obj, err := readObject(w, r)
	if err != nil {
		writeError(w, err)
		return
	}
	ev, requested, err := parseEventInput(obj)
	if err != nil {
		writeError(w, err)
		return
	}
	if _, known := h.d.Registry().Lookup(ev.Type); !known {
		writeError(w, unknownEventType(ev.Type))
		return
	}
	if requested == nil {
		if requested, err = queryCompanyID(r); err != nil {
			writeError(w, err)
			return
		}
	}
	if ev.Company, err = c.company(requested); err != nil {
		writeError(w, err)
		return
	}
	ev.Client = c.t.client
	if ev.ID == "" {
		ev.ID = webhooks.NewEventID()
	}
	ev.Time = time.Now().UTC()
	if err := h.d.Emit(r.Context(), ev); err != nil {
		h.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusAccepted, map[string]any{
		"data": map[string]any{"eventId": ev.ID, "event": ev.Type, "client": ev.Client, "company": ev.Company},
		"meta": map[string]any{"message": "Event recorded: every subscribed, active webhook gets a delivery."},
	})
}

func unknownEventType(name string) *apiError {
	msg := fmt.Sprintf("unknown event type %q: GET /api/admin/webhooks/event-types lists the registered types", name)
	switch {
	case name == webhooks.PingEventType:
		msg = fmt.Sprintf("%q is reserved for test pings: POST /api/admin/webhooks/{id}/test sends one", name)
	case webhooks.ValidateEventTypeName(name) != nil:
		msg = strings.TrimPrefix(webhooks.ValidateEventTypeName(name).Error(), "webhooks: ")
	}
	return &apiError{status: http.StatusUnprocessableEntity, Code: "unknown_event_type", Message: msg,
		Fields: []webhooks.FieldError{{Field: "event", Message: msg}}}
}

// fail answers an error: an *apiError as it is, a library error by its
// kind, anything else as a logged 500.
func (h *domain) fail(w http.ResponseWriter, r *http.Request, err error) {
	var ae *apiError
	var lost *eventNotRecordedError
	switch {
	case errors.As(err, &ae):
	case errors.As(err, &lost):
		// -redis: the row committed, Emit failed (see sqliteInspections).
		h.log.Error("event not recorded after its row was saved", "method", r.Method, "path", r.URL.Path,
			"event", lost.event.Type, "eventId", lost.event.ID, "err", lost.err)
		ae = &apiError{status: http.StatusInternalServerError, Code: "event_not_recorded",
			Message: fmt.Sprintf("the change was saved, but its event %s (eventId %s) could not be recorded; see the server log",
				lost.event.Type, lost.event.ID)}
	case errors.Is(err, webhooks.ErrUnknownEventType), errors.Is(err, webhooks.ErrInvalid):
		ae = &apiError{status: http.StatusUnprocessableEntity, Code: "validation_failed", Message: strings.TrimPrefix(err.Error(), "webhooks: ")}
	case errors.Is(err, webhooks.ErrPayloadTooLarge):
		ae = &apiError{status: http.StatusRequestEntityTooLarge, Code: "payload_too_large", Message: strings.TrimPrefix(err.Error(), "webhooks: ")}
	case r.Context().Err() != nil:
		return // the caller went away; the transaction rolled back (or, for -redis, Emit ran anyway)
	default:
		h.log.Error("request failed", "method", r.Method, "path", r.URL.Path, "err", err)
		ae = &apiError{status: http.StatusInternalServerError, Code: "internal_error", Message: "internal error; see the server log"}
	}
	writeError(w, ae)
}

// loadInspection reads one inspection the caller may see; others, and
// missing ones, are a 404 alike.
func loadInspection(ctx context.Context, tbl inspectionTable, c *caller, id int64) (*inspection, error) {
	ins, err := tbl.get(ctx, id)
	if errors.Is(err, sql.ErrNoRows) || err == nil && !c.scope.Allows(ins.CompanyID) {
		return nil, &apiError{status: http.StatusNotFound, Code: "not_found", Message: fmt.Sprintf("inspection %d not found", id)}
	}
	return ins, err
}

// inspectionInput is a parsed create or update body.
type inspectionInput struct {
	title, status    *string
	scheduledDate    *string
	scheduledDateSet bool // present in the body, possibly null
	companyID        *int64
}

// parseInspectionInput validates {"title", "status", "scheduledDate",
// "companyId" (create only)}, naming every bad field.
func parseInspectionInput(obj map[string]json.RawMessage, create bool) (*inspectionInput, error) {
	var in inspectionInput
	var fe []webhooks.FieldError
	bad := func(field, format string, args ...any) {
		fe = append(fe, webhooks.FieldError{Field: field, Message: fmt.Sprintf(format, args...)})
	}
	for _, k := range sortedKeys(obj) {
		raw := obj[k]
		switch k {
		case "title":
			var s string
			if err := json.Unmarshal(raw, &s); err != nil {
				bad(k, "must be a string")
				continue
			}
			s = strings.TrimSpace(s)
			switch {
			case s == "":
				bad(k, "must not be empty")
			case utf8.RuneCountInString(s) > maxTitleLength:
				bad(k, "must be at most %d characters", maxTitleLength)
			}
			in.title = &s
		case "status":
			var s string
			if err := json.Unmarshal(raw, &s); err != nil || !slices.Contains(inspectionStatuses, s) {
				bad(k, "must be one of %s", strings.Join(inspectionStatuses, ", "))
				continue
			}
			in.status = &s
		case "scheduledDate":
			in.scheduledDateSet = true
			if isNull(raw) {
				continue
			}
			var s string
			if err := json.Unmarshal(raw, &s); err != nil || !validDate(s) {
				bad(k, "must be a date (2026-02-15), an RFC 3339 time, or null")
				continue
			}
			in.scheduledDate = &s
		case "companyId":
			if !create {
				bad(k, "cannot be changed; delete and re-create the inspection")
				continue
			}
			if isNull(raw) {
				continue
			}
			var id int64
			if err := json.Unmarshal(raw, &id); err != nil || id <= 0 {
				bad(k, "must be a positive integer or null")
				continue
			}
			in.companyID = &id
		default:
			bad(k, "unknown field; inspections have title, status, scheduledDate and companyId")
		}
	}
	if create && in.title == nil && !hasField(fe, "title") {
		bad("title", "is required")
	}
	if !create && len(fe) == 0 && in.title == nil && in.status == nil && !in.scheduledDateSet {
		bad("body", "names no field to update: send title, status or scheduledDate")
	}
	if len(fe) > 0 {
		return nil, validationError(fe...)
	}
	return &in, nil
}

// parseEventInput validates a POST /api/events body, except whether the type
// is registered.
func parseEventInput(obj map[string]json.RawMessage) (webhooks.Event, *int64, error) {
	var ev webhooks.Event
	var company *int64
	var fe []webhooks.FieldError
	bad := func(field, format string, args ...any) {
		fe = append(fe, webhooks.FieldError{Field: field, Message: fmt.Sprintf(format, args...)})
	}
	for _, k := range sortedKeys(obj) {
		raw := obj[k]
		switch k {
		case "event":
			if err := json.Unmarshal(raw, &ev.Type); err != nil || ev.Type == "" {
				bad(k, "must be an event type name such as alert.created")
			}
		case "eventId":
			if isNull(raw) {
				continue
			}
			if err := json.Unmarshal(raw, &ev.ID); err != nil || ev.ID == "" || len(ev.ID) > maxEventIDLength {
				bad(k, "must be a string of 1 to %d bytes (receivers deduplicate on it; a repeat is ignored)", maxEventIDLength)
			}
		case "companyId":
			if isNull(raw) {
				continue
			}
			var id int64
			if err := json.Unmarshal(raw, &id); err != nil || id <= 0 {
				bad(k, "must be a positive integer or null")
				continue
			}
			company = &id
		case "data":
			if isNull(raw) {
				continue
			}
			var data map[string]json.RawMessage
			if err := json.Unmarshal(raw, &data); err != nil {
				bad(k, "must be an object: {\"id\", \"type\", \"attributes\", \"previous\"}")
				continue
			}
			for _, dk := range sortedKeys(data) {
				v := data[dk]
				switch dk {
				case "id":
					if isNull(v) {
						continue
					}
					if c := bytes.TrimSpace(v)[0]; c != '"' && c != '-' && (c < '0' || c > '9') {
						bad("data.id", "must be a number or a string")
						continue
					}
					ev.Data.ID = v
				case "type":
					if isNull(v) {
						continue
					}
					if err := json.Unmarshal(v, &ev.Data.Type); err != nil {
						bad("data.type", "must be a string such as \"Alert\"")
					}
				case "attributes":
					if !isNull(v) {
						ev.Data.Attributes = v
					}
				case "previous":
					if !isNull(v) {
						ev.Data.Previous = v
					}
				default:
					bad("data."+dk, "unknown field; data has id, type, attributes and previous (put entity fields in attributes)")
				}
			}
		case "metadata":
			if isNull(raw) {
				continue
			}
			var md map[string]json.RawMessage
			if err := json.Unmarshal(raw, &md); err != nil {
				bad(k, "must be an object or null")
				continue
			}
			ev.Metadata = make(map[string]any, len(md))
			for mk, mv := range md {
				ev.Metadata[mk] = mv
			}
		default:
			bad(k, "unknown field; send event, companyId, eventId, data and metadata")
		}
	}
	if _, ok := obj["event"]; !ok {
		bad("event", "is required")
	}
	if len(fe) > 0 {
		return ev, nil, validationError(fe...)
	}
	return ev, company, nil
}

// readObject reads a JSON object body of at most maxBodyBytes.
func readObject(w http.ResponseWriter, r *http.Request) (map[string]json.RawMessage, error) {
	var obj map[string]json.RawMessage
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxBodyBytes))
	err := dec.Decode(&obj)
	if err == nil && dec.More() {
		err = errors.New("unexpected data after the JSON object")
	}
	var tooBig *http.MaxBytesError
	switch {
	case errors.As(err, &tooBig):
		return nil, &apiError{status: http.StatusRequestEntityTooLarge, Code: "payload_too_large",
			Message: fmt.Sprintf("request body exceeds %d bytes", maxBodyBytes)}
	case err != nil || obj == nil:
		msg := "request body must be a JSON object"
		if err != nil {
			msg += ": " + err.Error()
		}
		return nil, &apiError{status: http.StatusBadRequest, Code: "invalid_json", Message: msg}
	}
	return obj, nil
}

// queryCompanyID reads ?companyId=.
func queryCompanyID(r *http.Request) (*int64, error) {
	v := r.URL.Query().Get("companyId")
	if v == "" {
		return nil, nil
	}
	id, err := strconv.ParseInt(v, 10, 64)
	if err != nil || id <= 0 {
		return nil, validationError(webhooks.FieldError{Field: "companyId", Message: "must be a positive integer"})
	}
	return &id, nil
}

// pathID reads {id}; anything but a positive integer names no inspection.
func pathID(r *http.Request) (int64, error) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		return 0, &apiError{status: http.StatusNotFound, Code: "not_found", Message: fmt.Sprintf("inspection %q not found", r.PathValue("id"))}
	}
	return id, nil
}

// rowTime formats a row's createdAt and updatedAt like the seed: RFC 3339,
// UTC, to the second.
func rowTime(t time.Time) string { return t.UTC().Truncate(time.Second).Format(time.RFC3339) }

func validDate(s string) bool {
	if _, err := time.Parse(time.DateOnly, s); err == nil {
		return true
	}
	_, err := time.Parse(time.RFC3339, s)
	return err == nil
}

func isNull(raw json.RawMessage) bool { return string(bytes.TrimSpace(raw)) == "null" }

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

func hasField(fe []webhooks.FieldError, field string) bool {
	return slices.ContainsFunc(fe, func(f webhooks.FieldError) bool { return f.Field == field })
}

func equalPtr(a, b *string) bool {
	return a == nil && b == nil || a != nil && b != nil && *a == *b
}

func companyIDOf(c *webhooks.Company) *int64 {
	if c == nil {
		return nil
	}
	id := c.ID
	return &id
}

// apiError is an error answer, in the admin API's shape:
// {"error": {"code", "message", "fields"}}.
type apiError struct {
	status  int
	Code    string                `json:"code"`
	Message string                `json:"message"`
	Fields  []webhooks.FieldError `json:"fields,omitempty"`
}

func (e *apiError) Error() string { return e.Message }

// validationError is a 422 naming every bad field, worded like the admin API's.
func validationError(fields ...webhooks.FieldError) *apiError {
	parts := make([]string, len(fields))
	for i, f := range fields {
		parts[i] = f.Field + " " + f.Message
	}
	return &apiError{status: http.StatusUnprocessableEntity, Code: "validation_failed",
		Message: "invalid fields: " + strings.Join(parts, "; "), Fields: fields}
}

func writeError(w http.ResponseWriter, err error) {
	var ae *apiError
	if !errors.As(err, &ae) {
		ae = &apiError{status: http.StatusInternalServerError, Code: "internal_error", Message: "internal error"}
	}
	writeJSON(w, ae.status, map[string]any{"error": ae})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
}
