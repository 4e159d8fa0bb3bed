package sender

import (
	"errors"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// DefaultContentType is the Content-Type sent when [Request.ContentType]
// is empty.
const DefaultContentType = "application/json"

// DefaultTimeout is the whole-exchange deadline used when
// [Request.Timeout] is zero.
const DefaultTimeout = 30 * time.Second

// Request describes one delivery attempt. The sender only reads it, so a
// Request may be reused for retries; the zero value is not valid because
// URL is required.
type Request struct {
	// URL is the receiver's endpoint. It must be an absolute http or https
	// URL with a host; there is no default. Credentials in it are sent as
	// basic auth by net/http and are redacted from error messages.
	URL string

	// Method is the HTTP method. Default "POST" when empty; only "POST",
	// "PUT" and "PATCH" (exact, upper case) are accepted, anything else
	// fails with [ErrInvalidRequest].
	Method string

	// ContentType is sent as the Content-Type header. Default
	// [DefaultContentType] ("application/json") when empty.
	ContentType string

	// Body is sent verbatim; Content-Length is derived from it. Default nil:
	// an empty body with Content-Length 0.
	Body []byte

	// Header holds custom headers chosen by the webhook owner. They are
	// applied first, so [Request.Protected] overrides them. Host,
	// Content-Length, Content-Type, Transfer-Encoding, Connection and
	// User-Agent are always dropped from it (names compared
	// case-insensitively). Default nil: no custom headers.
	Header http.Header

	// Protected holds the headers the library sets itself (signature,
	// event, delivery id, timestamp). They are applied after Header and
	// always win: a custom header with the same canonical name is dropped
	// entirely, not merged. The framing headers listed for Header are
	// dropped from Protected too. Default nil: none.
	Protected http.Header

	// Timeout bounds the whole exchange: dial, TLS, sending, waiting and
	// reading the capped response body. Default [DefaultTimeout] (30s) when
	// zero; negative fails with [ErrInvalidRequest].
	Timeout time.Duration

	// InsecureSkipVerify disables TLS certificate verification for this
	// request (the webhook's verifySsl=false). Default false: certificates
	// are verified.
	InsecureSkipVerify bool
}

// senderOwned lists headers whose value must come from the sender or from
// net/http itself: letting a webhook owner set them could desynchronise
// message framing (request smuggling), retarget virtual hosts, or disguise
// the sender's identity.
var senderOwned = map[string]bool{
	"Host":              true,
	"Content-Length":    true,
	"Content-Type":      true,
	"Transfer-Encoding": true,
	"Connection":        true,
	"User-Agent":        true,
}

// prepared is a validated Request, resolved against defaults.
type prepared struct {
	method  string
	url     *url.URL
	timeout time.Duration
}

func prepare(req *Request) (prepared, error) {
	if req == nil {
		return prepared{}, invalidf("nil request")
	}
	method := req.Method
	switch method {
	case "":
		method = http.MethodPost
	case http.MethodPost, http.MethodPut, http.MethodPatch:
	default:
		return prepared{}, invalidf("method %q not allowed (want POST, PUT or PATCH)", method)
	}
	u, err := url.Parse(req.URL)
	if err != nil {
		var uerr *url.Error
		if errors.As(err, &uerr) {
			// url.Error quotes the raw URL, credentials included, and
			// this message ends up in delivery history.
			err = uerr.Err
		}
		return prepared{}, invalidf("URL: %w", err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return prepared{}, invalidf("URL %q: scheme must be http or https", u.Redacted())
	}
	if u.Opaque != "" || u.Hostname() == "" {
		return prepared{}, invalidf("URL %q: missing host", u.Redacted())
	}
	timeout := req.Timeout
	switch {
	case timeout < 0:
		return prepared{}, invalidf("negative timeout %s", timeout)
	case timeout == 0:
		timeout = DefaultTimeout
	}
	return prepared{method: method, url: u, timeout: timeout}, nil
}

// buildHeader merges custom and protected headers so that protected names
// replace, rather than add to, custom ones; a receiver seeing two
// signature values could otherwise be tricked into checking the forged one.
// It validates what it keeps so a malformed header is reported as an
// invalid request rather than as an opaque transport failure.
func buildHeader(req *Request, userAgent string) (http.Header, error) {
	h := make(http.Header, len(req.Header)+len(req.Protected)+2)
	protected := make(map[string]bool, len(req.Protected))
	for name := range req.Protected {
		protected[http.CanonicalHeaderKey(name)] = true
	}
	for name, values := range req.Header {
		key := http.CanonicalHeaderKey(name)
		if senderOwned[key] || protected[key] {
			continue
		}
		if err := addValid(h, key, values); err != nil {
			return nil, err
		}
	}
	for name, values := range req.Protected {
		key := http.CanonicalHeaderKey(name)
		if senderOwned[key] {
			continue
		}
		if err := addValid(h, key, values); err != nil {
			return nil, err
		}
	}
	contentType := req.ContentType
	if contentType == "" {
		contentType = DefaultContentType
	}
	h.Set("Content-Type", contentType)
	h.Set("User-Agent", userAgent)
	return h, nil
}

func addValid(h http.Header, key string, values []string) error {
	if !validHeaderName(key) {
		return invalidf("header name %q", key)
	}
	for _, v := range values {
		if !validHeaderValue(v) {
			return invalidf("header %s: value contains control characters", key)
		}
		h.Add(key, v)
	}
	return nil
}

// validHeaderName reports whether name is an RFC 9110 token.
func validHeaderName(name string) bool {
	if name == "" {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0:
		default:
			return false
		}
	}
	return true
}

// validHeaderValue rejects control characters other than tab; CR and LF in
// particular would let a value inject extra headers.
func validHeaderValue(v string) bool {
	for i := 0; i < len(v); i++ {
		if c := v[i]; (c < 0x20 && c != '\t') || c == 0x7f {
			return false
		}
	}
	return true
}
