package webhooks

import (
	"net/http"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

// Fuzz targets for the inputs attackers control. Seeds live in
// testdata/fuzz/<target>; CI runs each for a few seconds.

// FuzzValidateURL: any string either validates as an absolute http(s) URL
// with a host and no user-info, or is rejected; never a panic.
func FuzzValidateURL(f *testing.F) {
	for _, s := range []string{"https://example.com/hooks", "http://user:pw@x", "javascript:alert(1)", "http://[::1]:80/", "http://%zz"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		if err := validateURL(raw); err == nil {
			low := strings.ToLower(raw) // schemes are case-insensitive (RFC 3986 3.1)
			if !strings.HasPrefix(low, "http://") && !strings.HasPrefix(low, "https://") {
				t.Fatalf("accepted %q without an http(s) scheme", raw)
			}
			if strings.ContainsAny(raw, " \r\n\t\x00") || len(raw) > 2048 {
				t.Fatalf("accepted %q", raw)
			}
		}
	})
}

// FuzzHeaderProblem: an accepted custom header can always be sent: a token
// name, no control characters, never a reserved name.
func FuzzHeaderProblem(f *testing.F) {
	f.Add("X-Team", "ops")
	f.Add("Host", "evil")
	f.Add("X-A", "a\r\nInjected: 1")
	f.Add("proxy-authorization", "x")
	f.Fuzz(func(t *testing.T, name, value string) {
		r := webhookRules{reserved: map[string]bool{"X-Webhook-Signature": true}}
		if r.headerProblem(name, value) != "" {
			return
		}
		if !isToken(name) || name == "" {
			t.Fatalf("accepted name %q", name)
		}
		c := http.CanonicalHeaderKey(name)
		if forbiddenHeaders[c] || strings.HasPrefix(c, "Proxy-") || c == "X-Webhook-Signature" {
			t.Fatalf("accepted reserved header %q", name)
		}
		for _, b := range []byte(value) {
			if b < ' ' && b != '\t' || b == 0x7f {
				t.Fatalf("accepted control byte %#x in %q", b, value)
			}
		}
	})
}

// FuzzVerify: verification never panics, and a body changed after signing
// never verifies, under either scheme.
func FuzzVerify(f *testing.F) {
	f.Add([]byte(`{"eventId":"e"}`), "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "sha256=00", "v1,AAAA", "1614265330")
	f.Fuzz(func(t *testing.T, body []byte, secret, hmacSig, stdSig, ts string) {
		now := time.Unix(1614265330, 0)
		h := http.Header{}
		h.Set("X-Webhook-Signature", hmacSig)
		h.Set(HeaderWebhookID, "msg")
		h.Set(HeaderWebhookTimestamp, ts)
		h.Set(HeaderWebhookSignature, stdSig)
		_ = HMACScheme{}.Verify(h, body, []string{secret}, now)
		_ = StandardScheme{}.Verify(h, body, []string{secret}, now)

		for _, s := range []Scheme{HMACScheme{}, StandardScheme{}} {
			signed := http.Header{}
			s.Sign(signed, &Message{EventID: "msg", Timestamp: now, Body: body}, []string{secret})
			if err := s.Verify(signed, body, []string{secret}, now); err != nil {
				t.Fatalf("%T: own signature rejected: %v", s, err)
			}
			tampered := append([]byte{'x'}, body...)
			if s.Verify(signed, tampered, []string{secret}, now) == nil {
				t.Fatalf("%T: tampered body verified", s)
			}
		}
	})
}

// FuzzEventTypeName: accepted names are {resource}.{action} in lowercase
// ASCII; nothing panics.
func FuzzEventTypeName(f *testing.F) {
	f.Add("inspection.created")
	f.Add("a.b.c")
	f.Fuzz(func(t *testing.T, name string) {
		if ValidateEventTypeName(name) != nil {
			return
		}
		if !utf8.ValidString(name) || strings.Count(name, ".") != 1 || strings.ToLower(name) != name {
			t.Fatalf("accepted %q", name)
		}
	})
}
