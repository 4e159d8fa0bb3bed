package admin

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"reflect"
	"slices"
	"strings"
	"time"

	webhooks "github.com/webhookkit/webhooks"
)

// opt is a JSON field that remembers whether it was present and whether it
// was null, so an update applies exactly the fields sent.
type opt[T any] struct {
	set, null bool
	v         T
}

// UnmarshalJSON implements json.Unmarshaler; encoding/json calls it for
// null too.
func (o *opt[T]) UnmarshalJSON(b []byte) error {
	o.set = true
	if string(b) == "null" {
		o.null = true
		return nil
	}
	err := json.Unmarshal(b, &o.v)
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		// Name the field's own type ("an array of strings"), not an element's.
		te.Type, te.Field = reflect.TypeFor[T](), ""
	}
	return err
}

// ptr returns the value when present and not null.
func (o opt[T]) ptr() *T {
	if !o.set || o.null {
		return nil
	}
	v := o.v
	return &v
}

// webhookBody is the body of POST (create) and PUT (update): the seed's
// configuration fields plus "secret" (create only).
type webhookBody struct {
	Name                     opt[string]            `json:"name"`
	Description              opt[string]            `json:"description"`
	URL                      opt[string]            `json:"url"`
	CompanyID                opt[int64]             `json:"companyId"`
	Events                   opt[[]string]          `json:"events"`
	CustomHeaders            opt[map[string]string] `json:"customHeaders"`
	Filters                  opt[json.RawMessage]   `json:"filters"`
	HTTPMethod               opt[string]            `json:"httpMethod"`
	ContentType              opt[string]            `json:"contentType"`
	TimeoutMs                opt[int64]             `json:"timeoutMs"`
	MaxRetries               opt[int]               `json:"maxRetries"`
	VerifySSL                opt[bool]              `json:"verifySsl"`
	AutoDisableAfterFailures opt[int]               `json:"autoDisableAfterFailures"`
	SignatureScheme          opt[string]            `json:"signatureScheme"`
	Secret                   opt[string]            `json:"secret"`
}

// bodyFields are the exact (case-sensitive) keys webhookBody accepts;
// encoding/json alone would also take "Name" or "URL".
var bodyFields = jsonNames(reflect.TypeFor[webhookBody]())

func jsonNames(t reflect.Type) map[string]bool {
	out := map[string]bool{}
	for i := 0; i < t.NumField(); i++ {
		name, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ",")
		out[name] = true
	}
	return out
}

// input converts the fields common to create and update. On create a null
// is the same as an absent field (the default); update handles nulls before
// calling it.
func (b *webhookBody) input() webhooks.WebhookInput {
	in := webhooks.WebhookInput{
		Name:                     b.Name.ptr(),
		Description:              b.Description.ptr(),
		URL:                      b.URL.ptr(),
		HTTPMethod:               b.HTTPMethod.ptr(),
		ContentType:              b.ContentType.ptr(),
		MaxRetries:               b.MaxRetries.ptr(),
		VerifySSL:                b.VerifySSL.ptr(),
		AutoDisableAfterFailures: b.AutoDisableAfterFailures.ptr(),
		SignatureScheme:          b.SignatureScheme.ptr(),
	}
	if b.Events.set && !b.Events.null {
		in.Events = b.Events.v
		if in.Events == nil {
			in.Events = []string{}
		}
	}
	if b.CustomHeaders.set && !b.CustomHeaders.null {
		in.CustomHeaders = b.CustomHeaders.v
		if in.CustomHeaders == nil {
			in.CustomHeaders = map[string]string{}
		}
	}
	if b.Filters.set {
		raw := b.Filters.v
		if b.Filters.null {
			raw = json.RawMessage("null") // clears on update, no filter on create
		}
		in.Filters = &raw
	}
	if ms := b.TimeoutMs.ptr(); ms != nil {
		d := time.Duration(*ms) * time.Millisecond
		if *ms < 0 || *ms > int64(365*24*time.Hour/time.Millisecond) {
			d = -1 // out of every bound, without overflowing: validation names timeoutMs
		}
		in.Timeout = &d
	}
	return in
}

// decodeBody reads the request body, bounded by MaxBodyBytes, into dst: a
// JSON object whose keys are all in fields, with nothing after it.
func (c *call) decodeBody(dst any, fields map[string]bool) error {
	if ct := c.r.Header.Get("Content-Type"); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || (mt != "application/json" && !strings.HasSuffix(mt, "+json")) {
			return &apiError{status: http.StatusUnsupportedMediaType, code: codeUnsupportedMedia,
				message: fmt.Sprintf("Content-Type must be application/json, not %q", ct)}
		}
	}
	body, err := io.ReadAll(http.MaxBytesReader(c.w, c.r.Body, c.h.maxBody))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return &apiError{status: http.StatusRequestEntityTooLarge, code: codePayloadTooLarge,
				message: fmt.Sprintf("the request body exceeds %d bytes", mbe.Limit)}
		}
		return errInvalidJSON("reading the request body: " + err.Error())
	}
	trimmed := bytes.TrimLeft(body, " \t\r\n")
	if len(trimmed) == 0 {
		return errInvalidJSON("the request body is empty; want a JSON object")
	}
	if trimmed[0] != '{' {
		return errInvalidJSON("the request body must be a JSON object")
	}
	// Keys first, exactly as spelled, so that every unknown one is named.
	var keys map[string]json.RawMessage
	if err := json.Unmarshal(body, &keys); err != nil {
		return jsonProblem(err)
	}
	var unknown []webhooks.FieldError
	for k := range keys {
		if !fields[k] {
			unknown = append(unknown, webhooks.FieldError{Field: k, Message: "unknown field"})
		}
	}
	if len(unknown) > 0 {
		slices.SortFunc(unknown, func(a, b webhooks.FieldError) int { return strings.Compare(a.Field, b.Field) })
		names := make([]string, len(unknown))
		for i, f := range unknown {
			names[i] = fmt.Sprintf("%q", f.Field)
		}
		return errInvalidJSON("unknown field "+strings.Join(names, ", "), unknown...)
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		return jsonProblem(err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return errInvalidJSON("unexpected data after the JSON object")
	}
	return nil
}

// jsonProblem describes a decoding error as a 400 naming the problem.
func jsonProblem(err error) error {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se) && strings.Contains(se.Error(), "after top-level value"):
		return errInvalidJSON("unexpected data after the JSON object")
	case errors.As(err, &se):
		return errInvalidJSON(fmt.Sprintf("malformed JSON at byte %d: %s", se.Offset, se.Error()))
	case errors.As(err, &te):
		field := te.Field
		if field == "" {
			field = "(body)"
		}
		msg := fmt.Sprintf("must be %s, not %s", jsonTypeName(te.Type), te.Value)
		return errInvalidJSON(field+" "+msg, webhooks.FieldError{Field: field, Message: msg})
	case errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		return errInvalidJSON("the JSON body ends too early")
	}
	return errInvalidJSON(strings.TrimPrefix(err.Error(), "json: "))
}

// jsonTypeName names the JSON type expected for a Go type.
func jsonTypeName(t reflect.Type) string {
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "a boolean"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "an integer"
	case reflect.Slice:
		return "an array of " + strings.TrimPrefix(strings.TrimPrefix(jsonTypeName(t.Elem()), "a "), "an ") + "s"
	case reflect.Map:
		return "an object of " + strings.TrimPrefix(strings.TrimPrefix(jsonTypeName(t.Elem()), "a "), "an ") + "s"
	case reflect.Struct:
		return "an object"
	}
	return "a " + t.String()
}
