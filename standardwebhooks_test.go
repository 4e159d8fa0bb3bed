package webhooks_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/webhookkit/webhooks"
)

// The Standard Webhooks specification's own test vector.
func TestStandardSchemeSpecVector(t *testing.T) {
	const secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	ts := time.Unix(1614265330, 0)
	h := http.Header{}
	body := []byte(`{"test": 2432232314}`)
	webhooks.StandardScheme{}.Sign(h, &webhooks.Message{EventID: "msg_p5jXN8AQM9LWM0D4loKWxJek", Timestamp: ts, Body: body}, []string{secret})
	require.Equal(t, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=", h.Get("webhook-signature"))
	require.Equal(t, "msg_p5jXN8AQM9LWM0D4loKWxJek", h.Get("webhook-id"))
	require.Equal(t, "1614265330", h.Get("webhook-timestamp"))

	v := &webhooks.Verifier{Secrets: []string{secret}, Scheme: webhooks.StandardScheme{}, Now: func() time.Time { return ts.Add(time.Minute) }}
	require.NoError(t, v.Verify(h, body))
	require.ErrorIs(t, v.Verify(h, []byte(`{"test": 1}`)), webhooks.ErrInvalidSignature)

	late := *v
	late.Now = func() time.Time { return ts.Add(6 * time.Minute) }
	require.ErrorIs(t, late.Verify(h, body), webhooks.ErrInvalidSignature, "more than 5 minutes old")
	early := *v
	early.Now = func() time.Time { return ts.Add(-6 * time.Minute) }
	require.ErrorIs(t, early.Verify(h, body), webhooks.ErrInvalidSignature, "more than 5 minutes ahead")
}

// During a rotation every secret signs; a receiver holding either verifies.
func TestStandardSchemeSignsWithEverySecret(t *testing.T) {
	now := time.Now()
	h := http.Header{}
	body := []byte(`{}`)
	webhooks.StandardScheme{}.Sign(h, &webhooks.Message{EventID: "e1", Timestamp: now, Body: body},
		[]string{webhooks.NewSecret(), "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "plain-user-secret-123"})
	require.Len(t, strings.Fields(h.Get("webhook-signature")), 3)
	for _, s := range []string{"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "plain-user-secret-123"} {
		require.NoError(t, webhooks.NewVerifier(s, webhooks.StandardScheme{}).Verify(h, body))
	}
	require.ErrorIs(t, webhooks.NewVerifier(webhooks.NewSecret(), webhooks.StandardScheme{}).Verify(h, body), webhooks.ErrInvalidSignature)
	h.Del("webhook-id")
	require.ErrorIs(t, webhooks.NewVerifier("plain-user-secret-123", webhooks.StandardScheme{}).Verify(h, body), webhooks.ErrInvalidSignature)
}
