package webhooks

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// ErrInvalidSignature: a request's signature is missing or matches no secret.
var ErrInvalidSignature = errors.New("webhooks: invalid signature")

// Message is what a signature scheme authenticates: one attempt of one delivery.
type Message struct {
	// DeliveryID identifies the delivery (the -Delivery header).
	DeliveryID int64
	// EventID and EventType identify the event.
	EventID, EventType string
	// Timestamp of the attempt; every attempt signs afresh.
	Timestamp time.Time
	// Body is the exact request body.
	Body []byte
}

// Scheme signs outgoing requests and verifies incoming ones.
type Scheme interface {
	// Sign sets the authentication headers of msg on h. With several
	// secrets (during a rotation) a scheme that can carry several
	// signatures signs with each; others sign with the first.
	Sign(h http.Header, msg *Message, secrets []string)
	// Verify checks h and body against any of the secrets at time now.
	// It returns an error wrapping ErrInvalidSignature on mismatch.
	Verify(h http.Header, body []byte, secrets []string, now time.Time) error
	// Headers lists the canonical names of the headers Sign sets; webhook
	// owners cannot override them with custom headers.
	Headers() []string
}

// Names of the built-in schemes, for Webhook.SignatureScheme.
const (
	// SchemeHMACSHA256Hex is HMACScheme, the seeds' scheme.
	SchemeHMACSHA256Hex = "hmac-sha256-hex"
	// SchemeStandardWebhooks is StandardScheme (Standard Webhooks v1).
	SchemeStandardWebhooks = "standard-webhooks"
)

// DefaultHeaderPrefix starts the names of HMACScheme's headers.
const DefaultHeaderPrefix = "X-Webhook-"

// HMACScheme is the seeds' scheme:
//
//	<Prefix>Signature: sha256=<hex HMAC-SHA256(secret, raw body)>
//	<Prefix>Event:     the event type
//	<Prefix>Delivery:  the delivery ID
//	<Prefix>Timestamp: Unix seconds of the attempt
//
// The HMAC key is the secret string's bytes as given (including any "whsec_"
// prefix), so the seed's Node.js and Python snippets verify it unchanged. The
// timestamp is not covered by the signature, so Verify cannot bound replay;
// receivers deduplicate on the event ID instead.
type HMACScheme struct {
	// Prefix of the header names, e.g. "X-TGM-". Default DefaultHeaderPrefix.
	Prefix string
}

func (s HMACScheme) prefix() string {
	if s.Prefix == "" {
		return DefaultHeaderPrefix
	}
	return s.Prefix
}

// SignatureHeader is the canonical name of the signature header.
func (s HMACScheme) SignatureHeader() string {
	return http.CanonicalHeaderKey(s.prefix() + "Signature")
}

// Headers implements Scheme.
func (s HMACScheme) Headers() []string {
	p := s.prefix()
	return []string{
		http.CanonicalHeaderKey(p + "Signature"), http.CanonicalHeaderKey(p + "Event"),
		http.CanonicalHeaderKey(p + "Delivery"), http.CanonicalHeaderKey(p + "Timestamp"),
	}
}

// Sign implements Scheme; it signs with secrets[0] only, because the seed's
// receivers compare the header as one value.
func (s HMACScheme) Sign(h http.Header, msg *Message, secrets []string) {
	p := s.prefix()
	if len(secrets) > 0 {
		h.Set(p+"Signature", SignHMACSHA256(secrets[0], msg.Body))
	}
	h.Set(p+"Event", msg.EventType)
	h.Set(p+"Delivery", strconv.FormatInt(msg.DeliveryID, 10))
	h.Set(p+"Timestamp", strconv.FormatInt(msg.Timestamp.Unix(), 10))
}

// Verify implements Scheme. now is unused: the timestamp is not signed.
func (s HMACScheme) Verify(h http.Header, body []byte, secrets []string, _ time.Time) error {
	got := h.Get(s.prefix() + "Signature")
	if got == "" {
		return fmt.Errorf("%w: no %s header", ErrInvalidSignature, s.SignatureHeader())
	}
	if !strings.HasPrefix(got, "sha256=") {
		return fmt.Errorf("%w: %s does not start with sha256=", ErrInvalidSignature, s.SignatureHeader())
	}
	for _, secret := range secrets {
		if hmac.Equal([]byte(got), []byte(SignHMACSHA256(secret, body))) {
			return nil
		}
	}
	return fmt.Errorf("%w: %s matches no secret", ErrInvalidSignature, s.SignatureHeader())
}

// SignHMACSHA256 returns "sha256=" + hex(HMAC-SHA256(secret, body)).
func SignHMACSHA256(secret string, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

// Verifier checks signed requests in receiver code.
type Verifier struct {
	// Secrets accepted; any one matching verifies. Required.
	Secrets []string
	// Scheme used. Default HMACScheme{} (X-Webhook- headers).
	Scheme Scheme
	// MaxBodyBytes bounds what Middleware reads. Default 1 MiB + 64 KiB.
	MaxBodyBytes int64
	// Now is the clock for schemes that sign a timestamp. Default time.Now.
	Now func() time.Time
	// Dedupe, when set, makes Middleware answer 200 to a verified request
	// whose event ID (EventIDOf) it has seen before, without calling the
	// handler. Default nil: every verified request reaches the handler.
	Dedupe Deduper
}

// NewVerifier returns a Verifier for one secret and scheme (nil: HMACScheme{}).
func NewVerifier(secret string, scheme Scheme) *Verifier {
	return &Verifier{Secrets: []string{secret}, Scheme: scheme}
}

// Verify checks one request's headers and raw body.
func (v *Verifier) Verify(h http.Header, body []byte) error {
	scheme := v.Scheme
	if scheme == nil {
		scheme = HMACScheme{}
	}
	now := time.Now
	if v.Now != nil {
		now = v.Now
	}
	if len(v.Secrets) == 0 {
		return fmt.Errorf("%w: verifier has no secret", ErrInvalidSignature)
	}
	return scheme.Verify(h, body, v.Secrets, now())
}

// Middleware reads the raw body once (up to MaxBodyBytes), verifies it, and
// answers 401 on a bad signature (413 on an oversize body) without calling
// next. With Dedupe set, a repeat of an event ID is answered 200 without
// calling next. next sees the same body bytes in r.Body.
func (v *Verifier) Middleware(next http.Handler) http.Handler {
	limit := v.MaxBodyBytes
	if limit <= 0 {
		limit = 1<<20 + 64<<10
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(io.LimitReader(r.Body, limit+1))
		if err != nil {
			http.Error(w, "cannot read body", http.StatusBadRequest)
			return
		}
		if int64(len(body)) > limit {
			http.Error(w, "body too large", http.StatusRequestEntityTooLarge)
			return
		}
		if err := v.Verify(r.Header, body); err != nil {
			http.Error(w, "invalid signature", http.StatusUnauthorized)
			return
		}
		if v.Dedupe != nil {
			if id := EventIDOf(r.Header, body); id != "" {
				first, err := v.Dedupe.FirstSeen(r.Context(), id)
				if err != nil {
					// Unsure: let the sender retry later rather than drop or repeat.
					http.Error(w, "deduplication unavailable", http.StatusServiceUnavailable)
					return
				}
				if !first {
					w.WriteHeader(http.StatusOK) // already processed: stop the retries
					return
				}
			}
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		next.ServeHTTP(w, r)
	})
}
