package webhooks

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Webhook is an endpoint subscription: where to send which events of one
// client, how, and its health. Stores persist every field.
type Webhook struct {
	// ID is assigned by the store at creation.
	ID int64
	// ClientID is the client whose store holds the webhook; set by the Dispatcher.
	ClientID string
	// CompanyID is the company whose events the webhook receives. Nil: system-wide,
	// receiving every company's events of the client.
	CompanyID *int64
	// Name, at most Limits.MaxNameLength (100) characters. Required.
	Name string
	// Description, at most Limits.MaxDescriptionLength (500) characters. Default "".
	Description string
	// URL of the endpoint: absolute http or https, at most 2,048 bytes. Required.
	URL string
	// Events are subscription patterns: exact names, "*" or "resource.*". Default none.
	Events []string
	// CustomHeaders are sent with every request. They never replace the
	// library's own headers. Default none.
	CustomHeaders map[string]string
	// HTTPMethod is POST, PUT or PATCH. Default POST.
	HTTPMethod string
	// ContentType of the request. Default "application/json".
	ContentType string
	// Timeout of one attempt, within [Limits.MinTimeout, Limits.MaxTimeout].
	// Default 30 s.
	Timeout time.Duration
	// MaxRetries is how many retries follow a failed first attempt, at most
	// Limits.MaxRetries. Default 3.
	MaxRetries int
	// VerifySSL checks the endpoint's TLS certificate. Default true.
	VerifySSL bool
	// AutoDisableAfterFailures disables the webhook after that many
	// consecutive failed attempts; 0 = never. Default 10.
	AutoDisableAfterFailures int
	// Filters is the webhook's payload filter (see ParseFilter) in canonical
	// JSON; nil: no filter, every subscribed event is delivered. Default nil.
	Filters json.RawMessage
	// SignatureScheme is SchemeHMACSHA256Hex or SchemeStandardWebhooks; ""
	// uses Config.Scheme. Default "". Kept in the secret material.
	SignatureScheme string
	// IsActive: only active webhooks receive events. Default true.
	IsActive bool
	// Secret signs requests. Dispatcher methods return the current secret
	// in plain text (show it to users only at creation and regeneration).
	// Stores keep the secret material the dispatcher gives them verbatim and
	// opaque: sealed when Config.Keyring is set, and holding the previous
	// secret during a rotation.
	Secret string
	// ConsecutiveFailures counts failed attempts since the last success or enable.
	ConsecutiveFailures int
	// DisabledReason says why the webhook was disabled; "" when active.
	DisabledReason string
	// CreatedAt and UpdatedAt are set by the store.
	CreatedAt, UpdatedAt time.Time
}

// SecretPreview returns the secret in the seed's masked form, e.g.
// "whsec_abc12345...xyz9".
func (w *Webhook) SecretPreview() string { return SecretPreview(w.Secret) }

// Limits bounds webhook configuration and traffic. Zero fields take the
// defaults below, which are the TGM Expert seed's.
type Limits struct {
	// MaxWebhooksPerCompany caps webhooks per company (and system-wide webhooks
	// per client). Default 20.
	MaxWebhooksPerCompany int
	// MaxNameLength in characters. Default 100.
	MaxNameLength int
	// MaxDescriptionLength in characters. Default 500.
	MaxDescriptionLength int
	// MaxRetries is the highest maxRetries a webhook may set. Default 3.
	MaxRetries int
	// MinTimeout and MaxTimeout bound a webhook's timeout. Defaults 1 s and 2 min.
	MinTimeout, MaxTimeout time.Duration
	// MaxPayloadBytes is the largest request body. Default 1 MiB.
	MaxPayloadBytes int
	// MaxEvents caps patterns per webhook. Default 100.
	MaxEvents int
	// MaxCustomHeaders caps custom headers per webhook. Default 20.
	MaxCustomHeaders int
	// DefaultMaxRetries is the MaxRetries of a webhook created without
	// one, capped at MaxRetries. Default DefaultMaxRetries (3).
	DefaultMaxRetries int
	// MaxFilterBytes caps a webhook's payload filter as JSON text.
	// Default 4,096.
	MaxFilterBytes int
}

// DefaultLimits are the seed's limits.
var DefaultLimits = Limits{
	MaxWebhooksPerCompany: 20,
	MaxNameLength:         100,
	MaxDescriptionLength:  500,
	MaxRetries:            3,
	MinTimeout:            time.Second,
	MaxTimeout:            2 * time.Minute,
	MaxPayloadBytes:       1 << 20,
	MaxEvents:             100,
	MaxCustomHeaders:      20,
	DefaultMaxRetries:     DefaultMaxRetries,
	MaxFilterBytes:        4096,
}

func (l Limits) withDefaults() Limits {
	d := DefaultLimits
	pick := func(v, def int) int {
		if v > 0 {
			return v
		}
		return def
	}
	pickD := func(v, def time.Duration) time.Duration {
		if v > 0 {
			return v
		}
		return def
	}
	return Limits{
		MaxWebhooksPerCompany: pick(l.MaxWebhooksPerCompany, d.MaxWebhooksPerCompany),
		MaxNameLength:         pick(l.MaxNameLength, d.MaxNameLength),
		MaxDescriptionLength:  pick(l.MaxDescriptionLength, d.MaxDescriptionLength),
		MaxRetries:            pick(l.MaxRetries, d.MaxRetries),
		MinTimeout:            pickD(l.MinTimeout, d.MinTimeout),
		MaxTimeout:            pickD(l.MaxTimeout, d.MaxTimeout),
		MaxPayloadBytes:       pick(l.MaxPayloadBytes, d.MaxPayloadBytes),
		MaxEvents:             pick(l.MaxEvents, d.MaxEvents),
		MaxCustomHeaders:      pick(l.MaxCustomHeaders, d.MaxCustomHeaders),
		DefaultMaxRetries:     pick(l.DefaultMaxRetries, d.DefaultMaxRetries),
		MaxFilterBytes:        pick(l.MaxFilterBytes, d.MaxFilterBytes),
	}
}

// Webhook configuration defaults, the seed's.
const (
	DefaultHTTPMethod               = http.MethodPost
	DefaultContentType              = "application/json"
	DefaultTimeout                  = 30 * time.Second
	DefaultMaxRetries               = 3
	DefaultAutoDisableAfterFailures = 10
)

// WebhookInput creates or updates a webhook. A nil field takes its default
// on create and is left unchanged on update, so an update applies only the
// fields sent. Use Ptr to fill pointer fields.
type WebhookInput struct {
	// CompanyID is set at creation only; updates ignore it. Nil: system-wide.
	CompanyID *int64
	// Name (required on create).
	Name *string
	// Description.
	Description *string
	// URL (required on create).
	URL *string
	// Events patterns; nil leaves them unchanged (empty on create).
	Events []string
	// CustomHeaders; nil leaves them unchanged (none on create).
	CustomHeaders map[string]string
	// HTTPMethod: POST, PUT or PATCH (case-insensitive).
	HTTPMethod *string
	// ContentType: a media type.
	ContentType *string
	// Timeout of one attempt.
	Timeout *time.Duration
	// MaxRetries after a failed first attempt.
	MaxRetries *int
	// VerifySSL checks TLS certificates.
	VerifySSL *bool
	// AutoDisableAfterFailures: consecutive failures before disabling; 0 = never.
	AutoDisableAfterFailures *int
	// SignatureScheme: SchemeHMACSHA256Hex, SchemeStandardWebhooks, or "" for
	// the dispatcher's default.
	SignatureScheme *string
	// Filters is a payload filter (see ParseFilter). Nil leaves it unchanged
	// (none on create); a pointer to null or {} clears it.
	Filters *json.RawMessage
	// Secret supplied by the user, at least 16 characters. Nil on create: a
	// generated "whsec_" secret. Updates ignore it (see RegenerateSecret).
	Secret *string
}

// Ptr returns a pointer to v, for WebhookInput fields.
func Ptr[T any](v T) *T { return &v }

// FieldError is one invalid field.
type FieldError struct {
	// Field is the JSON name of the field, e.g. "timeoutMs" or "customHeaders.X-Foo".
	Field string `json:"field"`
	// Message says what is wrong.
	Message string `json:"message"`
}

// ValidationError lists every invalid field of one input. It wraps ErrInvalid.
type ValidationError struct {
	// Fields, in a stable order.
	Fields []FieldError
}

func (e *ValidationError) Error() string {
	parts := make([]string, len(e.Fields))
	for i, f := range e.Fields {
		parts[i] = f.Field + ": " + f.Message
	}
	return "webhooks: invalid webhook: " + strings.Join(parts, "; ")
}

// Unwrap lets errors.Is(err, ErrInvalid) match.
func (e *ValidationError) Unwrap() error { return ErrInvalid }

func (e *ValidationError) add(field, format string, args ...any) {
	e.Fields = append(e.Fields, FieldError{Field: field, Message: fmt.Sprintf(format, args...)})
}

func (e *ValidationError) orNil() error {
	if len(e.Fields) == 0 {
		return nil
	}
	return e
}

// webhookRules validates inputs; reserved holds the canonical names of
// headers the signature scheme sets.
type webhookRules struct {
	reg            *Registry
	limits         Limits
	reserved       map[string]bool
	defaultTimeout time.Duration
	// checkHost refuses URLs whose host is an IP literal the SSRF guard
	// would block (names are checked at dial time, after resolution).
	checkHost func(rawURL string) error
	// requireHTTPS refuses http URLs.
	requireHTTPS bool
}

// apply validates in and writes it over w. On create, nil fields take
// defaults and Name and URL are required. Nothing is written when any field
// is invalid.
func (r webhookRules) apply(w *Webhook, in *WebhookInput, create bool) error {
	next := *w
	ve := &ValidationError{}
	if create {
		next = Webhook{
			CompanyID:                in.CompanyID,
			HTTPMethod:               DefaultHTTPMethod,
			ContentType:              DefaultContentType,
			Timeout:                  r.defaultTimeout,
			MaxRetries:               min(r.limits.DefaultMaxRetries, r.limits.MaxRetries),
			VerifySSL:                true,
			AutoDisableAfterFailures: DefaultAutoDisableAfterFailures,
			IsActive:                 true,
		}
		if in.Name == nil {
			ve.add("name", "is required")
		}
		if in.URL == nil {
			ve.add("url", "is required")
		}
		if in.CompanyID != nil && *in.CompanyID <= 0 {
			ve.add("companyId", "must be a positive integer or null")
		}
		if in.Secret != nil {
			if err := ValidateSecret(*in.Secret); err != nil {
				ve.add("secret", "%s", strings.TrimPrefix(err.Error(), "webhooks: secret "))
			}
			next.Secret = *in.Secret
		} else {
			next.Secret = NewSecret()
		}
	}
	if in.Name != nil {
		n := strings.TrimSpace(*in.Name)
		switch {
		case n == "":
			ve.add("name", "must not be empty")
		case utf8.RuneCountInString(n) > r.limits.MaxNameLength:
			ve.add("name", "must be at most %d characters", r.limits.MaxNameLength)
		case !utf8.ValidString(n) || hasControl(n):
			ve.add("name", "must be valid UTF-8 without control characters")
		}
		next.Name = n
	}
	if in.Description != nil {
		if utf8.RuneCountInString(*in.Description) > r.limits.MaxDescriptionLength {
			ve.add("description", "must be at most %d characters", r.limits.MaxDescriptionLength)
		} else if !utf8.ValidString(*in.Description) {
			ve.add("description", "must be valid UTF-8")
		}
		next.Description = *in.Description
	}
	if in.URL != nil {
		if err := validateURL(*in.URL); err != nil {
			ve.add("url", "%s", err.Error())
		} else if r.requireHTTPS && !strings.HasPrefix(*in.URL, "https://") {
			ve.add("url", "must start with https:// (this server requires TLS)")
		} else if r.checkHost != nil {
			if err := r.checkHost(*in.URL); err != nil {
				ve.add("url", "%s", strings.TrimPrefix(err.Error(), "sender: "))
			}
		}
		next.URL = *in.URL
	}
	if in.Events != nil {
		if len(in.Events) > r.limits.MaxEvents {
			ve.add("events", "at most %d patterns", r.limits.MaxEvents)
		}
		next.Events = make([]string, 0, len(in.Events))
		seen := map[string]bool{}
		for i, p := range in.Events {
			if err := r.reg.ValidatePattern(p); err != nil {
				ve.add(fmt.Sprintf("events[%d]", i), "%s", strings.TrimPrefix(err.Error(), "webhooks: "))
				continue
			}
			if !seen[p] {
				seen[p] = true
				next.Events = append(next.Events, p)
			}
		}
	}
	if in.CustomHeaders != nil {
		if len(in.CustomHeaders) > r.limits.MaxCustomHeaders {
			ve.add("customHeaders", "at most %d headers", r.limits.MaxCustomHeaders)
		}
		names := make([]string, 0, len(in.CustomHeaders))
		for k := range in.CustomHeaders {
			names = append(names, k)
		}
		sort.Strings(names)
		next.CustomHeaders = make(map[string]string, len(names))
		canonical := make(map[string]string, len(names))
		for _, k := range names {
			if msg := r.headerProblem(k, in.CustomHeaders[k]); msg != "" {
				ve.add("customHeaders."+k, "%s", msg)
			} else if other, dup := canonical[http.CanonicalHeaderKey(k)]; dup {
				ve.add("customHeaders."+k, "repeats header %q (names are case-insensitive)", other)
			}
			canonical[http.CanonicalHeaderKey(k)] = k
			next.CustomHeaders[k] = in.CustomHeaders[k]
		}
	}
	if in.HTTPMethod != nil {
		m := strings.ToUpper(strings.TrimSpace(*in.HTTPMethod))
		if m != http.MethodPost && m != http.MethodPut && m != http.MethodPatch {
			ve.add("httpMethod", "must be POST, PUT or PATCH, not %q", *in.HTTPMethod)
		}
		next.HTTPMethod = m
	}
	if in.ContentType != nil {
		if _, _, err := mime.ParseMediaType(*in.ContentType); err != nil || hasControl(*in.ContentType) {
			ve.add("contentType", "must be a media type such as application/json, not %q", *in.ContentType)
		}
		next.ContentType = *in.ContentType
	}
	if in.Timeout != nil {
		if t := *in.Timeout; t < r.limits.MinTimeout || t > r.limits.MaxTimeout {
			ve.add("timeoutMs", "must be between %d and %d", r.limits.MinTimeout.Milliseconds(), r.limits.MaxTimeout.Milliseconds())
		}
		next.Timeout = *in.Timeout
	}
	if in.MaxRetries != nil {
		if n := *in.MaxRetries; n < 0 || n > r.limits.MaxRetries {
			ve.add("maxRetries", "must be between 0 and %d", r.limits.MaxRetries)
		}
		next.MaxRetries = *in.MaxRetries
	}
	if in.VerifySSL != nil {
		next.VerifySSL = *in.VerifySSL
	}
	if in.SignatureScheme != nil {
		switch *in.SignatureScheme {
		case "", SchemeHMACSHA256Hex, SchemeStandardWebhooks:
		default:
			ve.add("signatureScheme", "must be %q or %q", SchemeHMACSHA256Hex, SchemeStandardWebhooks)
		}
		next.SignatureScheme = *in.SignatureScheme
	}
	if in.Filters != nil {
		canon, err := CanonicalFilter(*in.Filters, r.limits.MaxFilterBytes)
		var fe *ValidationError
		switch {
		case errors.As(err, &fe):
			ve.Fields = append(ve.Fields, fe.Fields...)
		case err != nil:
			ve.add("filters", "%s", err.Error())
		}
		next.Filters = canon
	}
	if in.AutoDisableAfterFailures != nil {
		if n := *in.AutoDisableAfterFailures; n < 0 || n > 10000 {
			ve.add("autoDisableAfterFailures", "must be between 0 (never) and 10000")
		}
		next.AutoDisableAfterFailures = *in.AutoDisableAfterFailures
	}
	if err := ve.orNil(); err != nil {
		return err
	}
	*w = next
	return nil
}

func validateURL(raw string) error {
	if len(raw) > 2048 {
		return errors.New("must be at most 2048 bytes")
	}
	if hasControl(raw) || strings.ContainsAny(raw, " \\") {
		return errors.New("must not contain spaces, backslashes or control characters")
	}
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Errorf("is not a valid URL: %v", strings.TrimPrefix(err.Error(), "parse "))
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return errors.New("must start with http:// or https://")
	}
	if u.Host == "" || u.Hostname() == "" {
		return errors.New("must name a host")
	}
	if u.User != nil {
		return errors.New("must not contain a user name or password")
	}
	if p := u.Port(); p != "" {
		if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
			return fmt.Errorf("port %q must be between 1 and 65535", p)
		}
	}
	return nil
}

// forbiddenHeaders can never be set by a webhook owner: they would break
// framing, routing or the signature.
var forbiddenHeaders = map[string]bool{
	"Host": true, "Content-Length": true, "Content-Type": true, "Transfer-Encoding": true,
	"Connection": true, "Te": true, "Upgrade": true, "Keep-Alive": true, "Trailer": true,
	"User-Agent": true,
}

func (r webhookRules) headerProblem(name, value string) string {
	if name == "" || !isToken(name) {
		return "header name must be a token (letters, digits and !#$%&'*+-.^_`|~)"
	}
	c := http.CanonicalHeaderKey(name)
	if forbiddenHeaders[c] || strings.HasPrefix(c, "Proxy-") || r.reserved[c] {
		return "header is set by the library and cannot be overridden"
	}
	if len(value) > 4096 {
		return "value must be at most 4096 bytes"
	}
	for _, c := range []byte(value) {
		if c < ' ' && c != '\t' || c == 0x7f {
			return "value must not contain control characters (CR, LF, NUL, ...)"
		}
	}
	return ""
}

func isToken(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0 {
			continue
		}
		return false
	}
	return true
}

func hasControl(s string) bool {
	for _, r := range s {
		if r < 0x20 || r == 0x7f {
			return true
		}
	}
	return false
}

// SecretPrefix starts every generated secret.
const SecretPrefix = "whsec_"

// NewSecret returns "whsec_" followed by 24 random bytes from crypto/rand in
// standard base64 (32 characters), which is also a valid Standard Webhooks key.
func NewSecret() string {
	b := make([]byte, 24)
	_, _ = rand.Read(b) // crypto/rand.Read never fails on supported platforms
	return SecretPrefix + base64.StdEncoding.EncodeToString(b)
}

// ValidateSecret checks a user-supplied secret: 16 to 256 printable ASCII
// characters without spaces, not starting with "wks1:" or "wke1:" (the
// library's stored-material prefixes).
func ValidateSecret(s string) error {
	if strings.HasPrefix(s, plainSetPrefix) || strings.HasPrefix(s, sealedSetPrefix) {
		return errors.New("webhooks: secret must not start with wks1: or wke1:")
	}
	if len(s) < 16 {
		return errors.New("webhooks: secret must be at least 16 characters")
	}
	if len(s) > 256 {
		return errors.New("webhooks: secret must be at most 256 characters")
	}
	for i := 0; i < len(s); i++ {
		if s[i] <= ' ' || s[i] > '~' {
			return errors.New("webhooks: secret must be printable ASCII without spaces")
		}
	}
	return nil
}

// SecretPreview masks a secret as the seed shows it: the "whsec_" prefix and
// 8 characters, "...", and the last 4 characters ("whsec_abc12345...xyz9").
// Only secrets with at least 32 characters after the prefix (generated ones
// have 32) show that much, leaving at least 20 hidden; shorter secrets show
// 2 characters on each side, or none below 16.
func SecretPreview(s string) string {
	prefix := ""
	if strings.HasPrefix(s, SecretPrefix) {
		prefix, s = SecretPrefix, s[len(SecretPrefix):]
	}
	switch {
	case s == "":
		return prefix
	case len(s) >= 32:
		return prefix + s[:8] + "..." + s[len(s)-4:]
	case len(s) >= 16:
		return prefix + s[:2] + "..." + s[len(s)-2:]
	default:
		return prefix + "..."
	}
}
