package webhooks_test

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/webhookkit/webhooks"
)

// GitHub publishes this vector for the same construction (HMAC-SHA256 of the
// raw body keyed by the secret string, hex, "sha256=" prefix).
func TestSignatureGitHubVector(t *testing.T) {
	require.Equal(t, "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17",
		webhooks.SignHMACSHA256("It's a Secret to Everybody", []byte("Hello, World!")))
}

func TestHMACSchemeHeadersAndVerify(t *testing.T) {
	s := webhooks.HMACScheme{Prefix: "X-TGM-"}
	h := http.Header{}
	body := []byte(`{"event":"unit.created"}`)
	s.Sign(h, &webhooks.Message{DeliveryID: 42, EventID: "e", EventType: "unit.created",
		Timestamp: time.Unix(1706745600, 0), Body: body}, []string{"whsec_secret-one-1234567890"})
	require.Equal(t, webhooks.SignHMACSHA256("whsec_secret-one-1234567890", body), h.Get("X-TGM-Signature"))
	require.Equal(t, "unit.created", h.Get("X-TGM-Event"))
	require.Equal(t, "42", h.Get("X-TGM-Delivery"))
	require.Equal(t, "1706745600", h.Get("X-TGM-Timestamp"))
	require.Equal(t, []string{"X-Tgm-Signature", "X-Tgm-Event", "X-Tgm-Delivery", "X-Tgm-Timestamp"}, s.Headers())

	v := &webhooks.Verifier{Secrets: []string{"old-secret-000000000", "whsec_secret-one-1234567890"}, Scheme: s}
	require.NoError(t, v.Verify(h, body))
	require.ErrorIs(t, v.Verify(h, append(body, ' ')), webhooks.ErrInvalidSignature)
	require.ErrorIs(t, webhooks.NewVerifier("another-secret-0000", s).Verify(h, body), webhooks.ErrInvalidSignature)
	require.ErrorIs(t, v.Verify(http.Header{}, body), webhooks.ErrInvalidSignature)
	bad := http.Header{}
	bad.Set("X-TGM-Signature", "md5=abc")
	require.ErrorIs(t, v.Verify(bad, body), webhooks.ErrInvalidSignature)
}

func TestVerifierMiddleware(t *testing.T) {
	const secret = "whsec_middleware-secret-123"
	var got []byte
	srv := httptest.NewServer(webhooks.NewVerifier(secret, nil).Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got, _ = io.ReadAll(r.Body)
		w.WriteHeader(http.StatusNoContent)
	})))
	defer srv.Close()

	post := func(body []byte, sig string) int {
		req, _ := http.NewRequest(http.MethodPost, srv.URL, bytes.NewReader(body))
		if sig != "" {
			req.Header.Set("X-Webhook-Signature", sig)
		}
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		return resp.StatusCode
	}
	body := []byte(`{"hello":"world"}`)
	require.Equal(t, http.StatusNoContent, post(body, webhooks.SignHMACSHA256(secret, body)))
	require.Equal(t, body, got)
	got = nil
	require.Equal(t, http.StatusUnauthorized, post(body, webhooks.SignHMACSHA256("wrong-secret-000000", body)))
	require.Equal(t, http.StatusUnauthorized, post(body, ""))
	require.Nil(t, got, "the handler must not run on a bad signature")
	big := bytes.Repeat([]byte("a"), 2<<20)
	require.Equal(t, http.StatusRequestEntityTooLarge, post(big, webhooks.SignHMACSHA256(secret, big)))
}

// The seed's own Node.js and Python verification functions, unchanged, must
// accept what the library signs.
func TestSeedSnippetsVerifySignatures(t *testing.T) {
	const secret = "whsec_seed-snippet-secret-42"
	body := []byte(`{"eventId":"e","event":"inspection.created","data":{"title":"Zürich ✓"}}`)
	sig := webhooks.SignHMACSHA256(secret, body)
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "body.json"), body, 0o600))

	t.Run("node", func(t *testing.T) {
		node, err := exec.LookPath("node")
		if err != nil {
			t.Skip("node not installed")
		}
		script := `const crypto = require('crypto');
function verifyWebhookSignature(payload, signature, secret) {
  const expectedSignature = 'sha256=' + crypto
    .createHmac('sha256', secret)
    .update(payload, 'utf8')
    .digest('hex');
  return crypto.timingSafeEqual(
    Buffer.from(signature),
    Buffer.from(expectedSignature)
  );
}
const payload = require('fs').readFileSync(process.argv[1]).toString();
process.exit(verifyWebhookSignature(payload, process.argv[2], process.argv[3]) ? 0 : 1);
`
		out, err := exec.Command(node, "-e", script, filepath.Join(dir, "body.json"), sig, secret).CombinedOutput()
		require.NoError(t, err, string(out))
	})
	t.Run("python", func(t *testing.T) {
		py, err := exec.LookPath("python3")
		if err != nil {
			t.Skip("python3 not installed")
		}
		script := `import hmac
import hashlib
import sys

def verify_signature(payload: str, signature: str, secret: str) -> bool:
    expected = 'sha256=' + hmac.new(
        secret.encode('utf-8'),
        payload.encode('utf-8'),
        hashlib.sha256
    ).hexdigest()
    return hmac.compare_digest(expected, signature)

payload = open(sys.argv[1], 'rb').read().decode('utf-8')
sys.exit(0 if verify_signature(payload, sys.argv[2], sys.argv[3]) else 1)
`
		out, err := exec.Command(py, "-c", script, filepath.Join(dir, "body.json"), sig, secret).CombinedOutput()
		require.NoError(t, err, string(out))
	})
}

func TestMiddlewareDropsDuplicates(t *testing.T) {
	const secret = "whsec_dedupe-secret-12345"
	calls := 0
	v := webhooks.NewVerifier(secret, nil)
	v.Dedupe = webhooks.NewMemoryDeduper(time.Hour)
	srv := httptest.NewServer(v.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { calls++ })))
	defer srv.Close()
	send := func(body string) int {
		req, _ := http.NewRequest(http.MethodPost, srv.URL, bytes.NewReader([]byte(body)))
		req.Header.Set("X-Webhook-Signature", webhooks.SignHMACSHA256(secret, []byte(body)))
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		return resp.StatusCode
	}
	require.Equal(t, 200, send(`{"eventId":"e-1"}`))
	require.Equal(t, 200, send(`{"eventId":"e-1"}`))
	require.Equal(t, 200, send(`{"eventId":"e-2"}`))
	require.Equal(t, 2, calls, "the repeat of e-1 is acknowledged but not handled")
}

func TestMemoryDeduperForgetsAfterTTL(t *testing.T) {
	d := webhooks.NewMemoryDeduper(time.Millisecond)
	first, err := d.FirstSeen(t.Context(), "x")
	require.NoError(t, err)
	require.True(t, first)
	first, _ = d.FirstSeen(t.Context(), "x")
	require.False(t, first)
	require.Eventually(t, func() bool { f, _ := d.FirstSeen(t.Context(), "x"); return f }, time.Second, time.Millisecond)
}
