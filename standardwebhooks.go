package webhooks

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// StandardScheme is Standard Webhooks v1 (standardwebhooks.com), which Svix
// and others use, so receivers can verify with the ecosystem's libraries:
//
//	webhook-id:        the event ID (the same on every retry)
//	webhook-timestamp: Unix seconds of the attempt
//	webhook-signature: v1,<base64 HMAC-SHA256(key, id + "." + timestamp + "." + body)>
//
// The key is the base64 text after "whsec_"; a secret that is not of that
// form (a user-supplied one) is used as raw bytes. During a rotation every
// secret signs, space-separated. Verify rejects timestamps more than
// Tolerance away from now.
type StandardScheme struct {
	// Tolerance for webhook-timestamp in Verify. Default 5 minutes.
	Tolerance time.Duration
}

// Standard Webhooks header names.
const (
	HeaderWebhookID        = "Webhook-Id"
	HeaderWebhookTimestamp = "Webhook-Timestamp"
	HeaderWebhookSignature = "Webhook-Signature"
)

// Headers implements Scheme.
func (StandardScheme) Headers() []string {
	return []string{HeaderWebhookID, HeaderWebhookTimestamp, HeaderWebhookSignature}
}

// Sign implements Scheme.
func (StandardScheme) Sign(h http.Header, msg *Message, secrets []string) {
	ts := strconv.FormatInt(msg.Timestamp.Unix(), 10)
	sigs := make([]string, 0, len(secrets))
	for _, s := range secrets {
		sigs = append(sigs, "v1,"+standardSignature(s, msg.EventID, ts, msg.Body))
	}
	h.Set(HeaderWebhookID, msg.EventID)
	h.Set(HeaderWebhookTimestamp, ts)
	h.Set(HeaderWebhookSignature, strings.Join(sigs, " "))
}

// Verify implements Scheme.
func (s StandardScheme) Verify(h http.Header, body []byte, secrets []string, now time.Time) error {
	id, ts, sigs := h.Get(HeaderWebhookID), h.Get(HeaderWebhookTimestamp), h.Get(HeaderWebhookSignature)
	if id == "" || ts == "" || sigs == "" {
		return fmt.Errorf("%w: webhook-id, webhook-timestamp and webhook-signature are required", ErrInvalidSignature)
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return fmt.Errorf("%w: webhook-timestamp %q is not Unix seconds", ErrInvalidSignature, ts)
	}
	tol := s.Tolerance
	if tol <= 0 {
		tol = 5 * time.Minute
	}
	if d := now.Sub(time.Unix(sec, 0)); d > tol || d < -tol {
		return fmt.Errorf("%w: webhook-timestamp is %s away from now (tolerance %s)", ErrInvalidSignature, d.Round(time.Second), tol)
	}
	for _, secret := range secrets {
		want := []byte(standardSignature(secret, id, ts, body))
		for _, got := range strings.Fields(sigs) {
			if v, sig, ok := strings.Cut(got, ","); ok && v == "v1" && hmac.Equal([]byte(sig), want) {
				return nil
			}
		}
	}
	return fmt.Errorf("%w: webhook-signature matches no secret", ErrInvalidSignature)
}

// standardSignature is base64(HMAC-SHA256(key, id.ts.body)).
func standardSignature(secret, id, ts string, body []byte) string {
	m := hmac.New(sha256.New, standardKey(secret))
	m.Write([]byte(id))
	m.Write([]byte{'.'})
	m.Write([]byte(ts))
	m.Write([]byte{'.'})
	m.Write(body)
	return base64.StdEncoding.EncodeToString(m.Sum(nil))
}

// standardKey decodes the base64 part of a "whsec_" secret; other secrets
// are their own bytes.
func standardKey(secret string) []byte {
	if rest, ok := strings.CutPrefix(secret, SecretPrefix); ok {
		if k, err := base64.StdEncoding.DecodeString(rest); err == nil {
			return k
		}
	}
	return []byte(secret)
}
