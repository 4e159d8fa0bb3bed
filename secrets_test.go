package webhooks_test

import (
	"bytes"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/webhookkit/webhooks"
	"github.com/webhookkit/webhooks/store/memstore"
	"github.com/webhookkit/webhooks/store/sqlitestore"
)

func testKeyring(t *testing.T, current string) *webhooks.Keyring {
	t.Helper()
	k, err := webhooks.NewKeyring(current, map[string][]byte{
		"k1": bytes.Repeat([]byte{1}, 32), "k2": bytes.Repeat([]byte{2}, 32),
	})
	require.NoError(t, err)
	return k
}

func TestKeyringRejectsBadKeys(t *testing.T) {
	_, err := webhooks.NewKeyring("k1", map[string][]byte{"k1": make([]byte, 16)})
	require.ErrorContains(t, err, "32")
	_, err = webhooks.NewKeyring("nope", map[string][]byte{"k1": make([]byte, 32)})
	require.Error(t, err)
	_, err = webhooks.NewKeyring("bad id!", map[string][]byte{"bad id!": make([]byte, 32)})
	require.Error(t, err)
}

// With a keyring the store holds only ciphertext bound to the client and
// webhook; deliveries still verify with the plain secret.
func TestSecretsEncryptedAtRest(t *testing.T) {
	var logs bytes.Buffer
	rc := newReceiver(t, nil)
	st := memstore.New()
	d := newTestDispatcher(t, webhooks.Config{Store: st, Keyring: testKeyring(t, "k1"),
		Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	w := hook(t, d, "", rc.URL, webhooks.WebhookInput{Events: []string{"unit.created"}})
	other := hook(t, d, "", rc.URL+"/other", webhooks.WebhookInput{Events: []string{"alert.created"}})

	raw, err := st.GetWebhook(t.Context(), w.ID)
	require.NoError(t, err)
	require.True(t, strings.HasPrefix(raw.Secret, "wke1:k1:"), raw.Secret)
	require.NotContains(t, raw.Secret, strings.TrimPrefix(w.Secret, "whsec_")[:8])
	got, err := d.GetWebhook(t.Context(), "", w.ID)
	require.NoError(t, err)
	require.Equal(t, w.Secret, got.Secret)

	start(t, d)
	require.NoError(t, d.Emit(t.Context(), webhooks.Event{Type: "unit.created"}))
	waitFor(t, "delivery", func() bool { return rc.count() == 1 })
	require.NoError(t, webhooks.NewVerifier(w.Secret, nil).Verify(rc.get(0).header, rc.get(0).body))

	// Ciphertext copied onto another webhook does not open there.
	require.NoError(t, st.SetWebhookSecret(t.Context(), other.ID, raw.Secret, time.Now()))
	require.NoError(t, d.Emit(t.Context(), webhooks.Event{Type: "alert.created"}))
	waitFor(t, "failed attempt", func() bool {
		ds := deliveriesOf(t, d, "", other.ID)
		return len(ds) == 1 && ds[0].AttemptCount == 1
	})
	require.Contains(t, deliveriesOf(t, d, "", other.ID)[0].ErrorMessage, "cannot be opened")
	require.Equal(t, 1, rc.count(), "nothing sent with a secret that does not open")
	require.NotContains(t, logs.String(), w.Secret, "secrets never reach the log")

	// A dispatcher without the key cannot read it either, and says why.
	plain := newTestDispatcher(t, webhooks.Config{Store: st})
	back, err := plain.GetWebhook(t.Context(), "", w.ID)
	require.NoError(t, err)
	require.Empty(t, back.Secret)
}

// Keys rotate: material sealed with an old key still opens while the key
// is in the ring, and regenerating re-seals with the current key.
func TestKeyringRotation(t *testing.T) {
	st := memstore.New()
	old := newTestDispatcher(t, webhooks.Config{Store: st, Keyring: testKeyring(t, "k1")})
	w := hook(t, old, "", "https://example.com", webhooks.WebhookInput{})
	d := newTestDispatcher(t, webhooks.Config{Store: st, Keyring: testKeyring(t, "k2")})
	got, err := d.GetWebhook(t.Context(), "", w.ID)
	require.NoError(t, err)
	require.Equal(t, w.Secret, got.Secret)
	_, err = d.RegenerateSecret(t.Context(), "", w.ID, 0)
	require.NoError(t, err)
	raw, _ := st.GetWebhook(t.Context(), w.ID)
	require.True(t, strings.HasPrefix(raw.Secret, "wke1:k2:"))
}

// After a regeneration the old secret keeps signing (Standard Webhooks
// carries both signatures) until its grace period ends.
func TestSecretRotationGracePeriod(t *testing.T) {
	for _, ring := range []*webhooks.Keyring{nil, testKeyring(t, "k1")} {
		rc := newReceiver(t, nil)
		clock := newFakeClock()
		d := newTestDispatcher(t, webhooks.Config{Scheme: webhooks.StandardScheme{}, Keyring: ring,
			Now: clock.Now, PollInterval: 2 * time.Millisecond})
		w := hook(t, d, "", rc.URL, webhooks.WebhookInput{})
		fresh, err := d.RegenerateSecret(t.Context(), "", w.ID, time.Hour)
		require.NoError(t, err)
		start(t, d)
		require.NoError(t, d.Emit(t.Context(), webhooks.Event{Type: "unit.created"}))
		waitFor(t, "delivery", func() bool { return rc.count() == 1 })
		h, body := rc.get(0).header, rc.get(0).body
		require.Len(t, strings.Fields(h.Get("webhook-signature")), 2)
		for _, s := range []string{w.Secret, fresh.Secret} {
			v := webhooks.NewVerifier(s, webhooks.StandardScheme{})
			v.Now = clock.Now
			require.NoError(t, v.Verify(h, body))
		}
		waitFor(t, "the first outcome recorded", func() bool {
			ds := deliveriesOf(t, d, "", w.ID)
			return len(ds) == 1 && ds[0].Status == webhooks.StatusSuccess
		}) // before the clock jumps past its lease
		clock.Advance(time.Hour + time.Second)
		require.NoError(t, d.Emit(t.Context(), webhooks.Event{Type: "unit.created"}))
		waitFor(t, "delivery", func() bool { return rc.count() == 2 })
		h, body = rc.get(1).header, rc.get(1).body
		require.Len(t, strings.Fields(h.Get("webhook-signature")), 1, "the old secret's grace period is over")
		v := webhooks.NewVerifier(w.Secret, webhooks.StandardScheme{})
		v.Now = clock.Now
		require.ErrorIs(t, v.Verify(h, body), webhooks.ErrInvalidSignature)

		_, err = d.RegenerateSecret(t.Context(), "", w.ID, 8*24*time.Hour)
		require.ErrorIs(t, err, webhooks.ErrInvalid)
	}
}

// Each webhook may pick its scheme; it travels with the secret material, so
// every store keeps it.
func TestPerWebhookSignatureScheme(t *testing.T) {
	for _, ring := range []*webhooks.Keyring{nil, testKeyring(t, "k1")} {
		rc := newReceiver(t, nil)
		d := newTestDispatcher(t, webhooks.Config{Scheme: webhooks.HMACScheme{Prefix: "X-TGM-"}, Keyring: ring})
		w := hook(t, d, "", rc.URL, webhooks.WebhookInput{SignatureScheme: webhooks.Ptr(webhooks.SchemeStandardWebhooks)})
		require.Equal(t, webhooks.SchemeStandardWebhooks, w.SignatureScheme)
		got, err := d.GetWebhook(t.Context(), "", w.ID)
		require.NoError(t, err)
		require.Equal(t, webhooks.SchemeStandardWebhooks, got.SignatureScheme)
		require.Equal(t, w.Secret, got.Secret)
		start(t, d)
		require.NoError(t, d.Emit(t.Context(), webhooks.Event{Type: "unit.created"}))
		waitFor(t, "delivery", func() bool { return rc.count() == 1 })
		require.NoError(t, webhooks.NewVerifier(w.Secret, webhooks.StandardScheme{}).Verify(rc.get(0).header, rc.get(0).body))
		require.Empty(t, rc.get(0).header.Get("X-TGM-Signature"))

		up, err := d.UpdateWebhook(t.Context(), "", w.ID, webhooks.WebhookInput{SignatureScheme: webhooks.Ptr(webhooks.SchemeHMACSHA256Hex)})
		require.NoError(t, err)
		require.Equal(t, webhooks.SchemeHMACSHA256Hex, up.SignatureScheme)
		require.Equal(t, w.Secret, up.Secret, "the secret survives a scheme change")
		require.NoError(t, d.Emit(t.Context(), webhooks.Event{Type: "unit.created"}))
		waitFor(t, "delivery", func() bool { return rc.count() == 2 })
		require.NoError(t, webhooks.NewVerifier(w.Secret, webhooks.HMACScheme{Prefix: "X-TGM-"}).Verify(rc.get(1).header, rc.get(1).body))

		_, err = d.UpdateWebhook(t.Context(), "", w.ID, webhooks.WebhookInput{SignatureScheme: webhooks.Ptr("md5")})
		require.Contains(t, fieldsOf(t, err), "signatureScheme")
		_, err = d.UpdateWebhook(t.Context(), "", w.ID, webhooks.WebhookInput{CustomHeaders: map[string]string{"Webhook-Id": "x"}})
		require.Contains(t, fieldsOf(t, err), "customHeaders.Webhook-Id", "no scheme's headers can be shadowed")
	}
}

// With a keyring, the plain secret appears nowhere in the SQLite files.
func TestSecretNotInStoreDump(t *testing.T) {
	dir := t.TempDir()
	st, err := sqlitestore.Open(t.Context(), filepath.Join(dir, "dump.db"), nil)
	require.NoError(t, err)
	d := newTestDispatcher(t, webhooks.Config{Store: st, Keyring: testKeyring(t, "k1")})
	w := hook(t, d, "", "https://example.com", webhooks.WebhookInput{})
	re, err := d.RegenerateSecret(t.Context(), "", w.ID, time.Hour) // old and new both in the material
	require.NoError(t, err)
	require.NoError(t, st.Close())
	files, _ := filepath.Glob(filepath.Join(dir, "dump.db*"))
	require.NotEmpty(t, files)
	for _, f := range files {
		b, err := os.ReadFile(f)
		require.NoError(t, err)
		for _, s := range []string{w.Secret, re.Secret, strings.TrimPrefix(w.Secret, "whsec_")[:12]} {
			require.False(t, bytes.Contains(b, []byte(s)), "%s holds a secret", f)
		}
	}
}
