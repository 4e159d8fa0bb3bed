package admin

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"

	webhooks "github.com/webhookkit/webhooks"
)

// Error codes of the "error.code" field.
const (
	codeInvalidJSON          = "invalid_json"
	codeUnauthorized         = "unauthorized"
	codeNotFound             = "not_found"
	codeMethodNotAllowed     = "method_not_allowed"
	codeUnsupportedMedia     = "unsupported_media_type"
	codePayloadTooLarge      = "payload_too_large"
	codeValidationFailed     = "validation_failed"
	codeWebhookLimit         = "webhook_limit_reached"
	codeDeliveryNotRetryable = "delivery_not_retryable"
	codeInternal             = "internal_error"
)

// apiError is an error answered with its own status and code.
type apiError struct {
	status  int
	code    string
	message string
	fields  []webhooks.FieldError
}

func (e *apiError) Error() string { return e.code + ": " + e.message }

func errNotFound(format string, args ...any) *apiError {
	return &apiError{status: http.StatusNotFound, code: codeNotFound, message: fmt.Sprintf(format, args...)}
}

func errInvalidJSON(message string, fields ...webhooks.FieldError) *apiError {
	return &apiError{status: http.StatusBadRequest, code: codeInvalidJSON, message: message, fields: fields}
}

func errValidation(fields ...webhooks.FieldError) *apiError {
	msg := "invalid fields: "
	for i, f := range fields {
		if i > 0 {
			msg += "; "
		}
		msg += f.Field + " " + f.Message
	}
	return &apiError{status: http.StatusUnprocessableEntity, code: codeValidationFailed, message: msg, fields: fields}
}

// errorBody is the JSON of every error response.
type errorBody struct {
	Error errorDetail `json:"error"`
}

type errorDetail struct {
	Code    string                `json:"code"`
	Message string                `json:"message"`
	Fields  []webhooks.FieldError `json:"fields,omitempty"`
}

// classify maps an error of the root package (or of this one) to a response.
// Anything unrecognised is a 500.
func classify(err error) *apiError {
	var ae *apiError
	if errors.As(err, &ae) {
		return ae
	}
	var ve *webhooks.ValidationError
	switch {
	case errors.As(err, &ve):
		return errValidation(ve.Fields...)
	case errors.Is(err, webhooks.ErrNotFound):
		return errNotFound("not found")
	case errors.Is(err, webhooks.ErrWebhookLimit):
		return &apiError{status: http.StatusConflict, code: codeWebhookLimit, message: rootMessage(err)}
	case errors.Is(err, webhooks.ErrNotRetryable):
		return &apiError{status: http.StatusConflict, code: codeDeliveryNotRetryable,
			message: "only FAILED and RETRYING deliveries can be retried"}
	case errors.Is(err, webhooks.ErrUnknownClient):
		return &apiError{status: http.StatusUnauthorized, code: codeUnauthorized,
			message: "your credentials name a client this API does not serve"}
	case errors.Is(err, webhooks.ErrInvalid):
		return &apiError{status: http.StatusUnprocessableEntity, code: codeValidationFailed, message: rootMessage(err)}
	}
	return nil
}

// rootMessage is a root error's text without the package prefix.
func rootMessage(err error) string {
	return strings.ReplaceAll(err.Error(), "webhooks: ", "")
}

// writeError answers err; unexpected errors are logged and answered 500
// without detail.
func (h *handler) writeError(w http.ResponseWriter, r *http.Request, err error) {
	ae := classify(err)
	if ae == nil {
		h.log.ErrorContext(r.Context(), "webhooks admin API: internal error",
			"method", r.Method, "path", r.URL.Path, "err", err)
		ae = &apiError{status: http.StatusInternalServerError, code: codeInternal, message: "internal error"}
	}
	writeJSON(w, ae.status, errorBody{Error: errorDetail{Code: ae.code, Message: ae.message, Fields: ae.fields}})
}

// writeJSON writes v as the response with status.
func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil { // only our own response types get here; they always encode
		status = http.StatusInternalServerError
		b = []byte(`{"error":{"code":"internal_error","message":"internal error"}}`)
	}
	hd := w.Header()
	hd.Set("Content-Type", "application/json; charset=utf-8")
	hd.Set("Cache-Control", "no-store") // responses may carry secrets
	hd.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_, _ = w.Write(append(b, '\n'))
}
