package webhooks_test

import (
	"encoding/base64"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/webhookkit/webhooks"
	"github.com/webhookkit/webhooks/store/memstore"
	"github.com/webhookkit/webhooks/transport/sender"
)

func newTestDispatcher(t *testing.T, cfg webhooks.Config) *webhooks.Dispatcher {
	t.Helper()
	if cfg.Registry == nil {
		cfg.Registry = testRegistry(t)
	}
	if cfg.Store == nil && cfg.Stores == nil {
		cfg.Store = memstore.New()
	}
	if cfg.Sender == nil {
		cfg.Sender = sender.New(&sender.Options{AllowPrivateNetworks: true}) // receivers are on loopback
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	d, err := webhooks.New(cfg)
	require.NoError(t, err)
	return d
}

func fieldsOf(t *testing.T, err error) map[string]string {
	t.Helper()
	var ve *webhooks.ValidationError
	require.True(t, errors.As(err, &ve), "want *ValidationError, got %v", err)
	require.ErrorIs(t, err, webhooks.ErrInvalid)
	out := map[string]string{}
	for _, f := range ve.Fields {
		out[f.Field] = f.Message
	}
	return out
}

func TestCreateWebhookDefaults(t *testing.T) {
	d := newTestDispatcher(t, webhooks.Config{})
	ctx := t.Context()
	w, err := d.CreateWebhook(ctx, "", webhooks.WebhookInput{
		Name: webhooks.Ptr("My Integration Webhook"), URL: webhooks.Ptr("https://example.com/hook"),
		Events: []string{"inspection.created", "inspection.created", "alert.created"},
	})
	require.NoError(t, err)
	require.Positive(t, w.ID)
	require.Equal(t, "POST", w.HTTPMethod)
	require.Equal(t, "application/json", w.ContentType)
	require.Equal(t, 30*time.Second, w.Timeout)
	require.Equal(t, 3, w.MaxRetries)
	require.True(t, w.VerifySSL)
	require.Equal(t, 10, w.AutoDisableAfterFailures)
	require.True(t, w.IsActive)
	require.Nil(t, w.CompanyID)
	require.Equal(t, []string{"inspection.created", "alert.created"}, w.Events, "duplicates dropped, order kept")

	require.True(t, strings.HasPrefix(w.Secret, "whsec_"))
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(w.Secret, "whsec_"))
	require.NoError(t, err)
	require.Len(t, key, 24)
	require.Regexp(t, `^whsec_.{8}\.\.\..{4}$`, w.SecretPreview())
	require.NotContains(t, w.SecretPreview(), w.Secret[14:len(w.Secret)-4])

	zero := 0
	w2, err := d.CreateWebhook(ctx, "", webhooks.WebhookInput{
		Name: webhooks.Ptr("n"), URL: webhooks.Ptr("http://example.com"), CompanyID: webhooks.Ptr[int64](4),
		AutoDisableAfterFailures: &zero, MaxRetries: &zero, VerifySSL: webhooks.Ptr(false),
		HTTPMethod: webhooks.Ptr("put"), Timeout: webhooks.Ptr(5 * time.Second),
		Secret: webhooks.Ptr("my-own-secret-0123"), CustomHeaders: map[string]string{"X-Team": "ops"},
	})
	require.NoError(t, err)
	require.Equal(t, 0, w2.AutoDisableAfterFailures, "explicit 0 means never")
	require.Equal(t, 0, w2.MaxRetries)
	require.False(t, w2.VerifySSL)
	require.Equal(t, "PUT", w2.HTTPMethod)
	require.Equal(t, int64(4), *w2.CompanyID)
	require.Equal(t, "my-own-secret-0123", w2.Secret)
	require.Equal(t, "my...23", w2.SecretPreview(), "short user secrets show little")
}

func TestCreateWebhookReportsEveryBadField(t *testing.T) {
	d := newTestDispatcher(t, webhooks.Config{})
	neg := -1
	_, err := d.CreateWebhook(t.Context(), "", webhooks.WebhookInput{
		Name:                     webhooks.Ptr(strings.Repeat("n", 101)),
		Description:              webhooks.Ptr(strings.Repeat("d", 501)),
		URL:                      webhooks.Ptr("ftp://user:pw@example.com"),
		CompanyID:                webhooks.Ptr[int64](0),
		Events:                   []string{"inspection.created", "nope.created", "Bad"},
		CustomHeaders:            map[string]string{"Host": "evil", "X-Webhook-Signature": "forged", "X-Ok": "a\r\nb", "Bad Name": "v", "proxy-authorization": "x"},
		HTTPMethod:               webhooks.Ptr("GET"),
		ContentType:              webhooks.Ptr("not a type"),
		Timeout:                  webhooks.Ptr(-time.Second),
		MaxRetries:               webhooks.Ptr(4),
		AutoDisableAfterFailures: &neg,
		Secret:                   webhooks.Ptr("short"),
	})
	f := fieldsOf(t, err)
	for _, name := range []string{"name", "description", "url", "companyId", "events[1]", "events[2]",
		"customHeaders.Host", "customHeaders.X-Webhook-Signature", "customHeaders.X-Ok", "customHeaders.Bad Name",
		"customHeaders.proxy-authorization", "httpMethod", "contentType", "timeoutMs", "maxRetries",
		"autoDisableAfterFailures", "secret"} {
		require.Contains(t, f, name)
	}
	require.Contains(t, f["events[1]"], `"nope.created"`)
	require.Len(t, f, 17)
	ws, err := d.ListWebhooks(t.Context(), "", webhooks.ListWebhooksParams{})
	require.NoError(t, err)
	require.Empty(t, ws, "nothing stored")

	_, err = d.CreateWebhook(t.Context(), "", webhooks.WebhookInput{})
	f = fieldsOf(t, err)
	require.Equal(t, "is required", f["name"])
	require.Equal(t, "is required", f["url"])

	_, err = d.CreateWebhook(t.Context(), "", webhooks.WebhookInput{Name: webhooks.Ptr("x"), URL: webhooks.Ptr("https://x.example"),
		CustomHeaders: map[string]string{"X-A": "1", "x-a": "2", "X-Tab": "a\tb", "X-Bell": "a\x07b", "User-Agent": "me"}})
	f = fieldsOf(t, err)
	require.Len(t, f, 3, "%v", f)
	require.Contains(t, f, "customHeaders.x-a")
	require.Contains(t, f, "customHeaders.X-Bell")
	require.Contains(t, f, "customHeaders.User-Agent")

	for _, u := range []string{"", "example.com/x", "http://example.com:0/", "http://example.com:70000/", "http://", "https:///path", "http://exa mple.com", "javascript:alert(1)", "http://" + strings.Repeat("a", 2050) + ".com"} {
		_, err = d.CreateWebhook(t.Context(), "", webhooks.WebhookInput{Name: webhooks.Ptr("x"), URL: webhooks.Ptr(u)})
		require.Contains(t, fieldsOf(t, err), "url", u)
	}
}

func TestUpdateAppliesOnlySentFields(t *testing.T) {
	d := newTestDispatcher(t, webhooks.Config{})
	ctx := t.Context()
	w, err := d.CreateWebhook(ctx, "", webhooks.WebhookInput{Name: webhooks.Ptr("a"), URL: webhooks.Ptr("https://a.example"),
		Description: webhooks.Ptr("keep me"), Events: []string{"unit.created"}})
	require.NoError(t, err)
	up, err := d.UpdateWebhook(ctx, "", w.ID, webhooks.WebhookInput{Name: webhooks.Ptr("b"), Events: []string{"*"},
		Secret: webhooks.Ptr("ignored-secret-12345"), CompanyID: webhooks.Ptr[int64](3)})
	require.NoError(t, err)
	require.Equal(t, "b", up.Name)
	require.Equal(t, "keep me", up.Description)
	require.Equal(t, "https://a.example", up.URL)
	require.Equal(t, []string{"*"}, up.Events)
	require.Equal(t, w.Secret, up.Secret)
	require.Nil(t, up.CompanyID)

	_, err = d.UpdateWebhook(ctx, "", w.ID, webhooks.WebhookInput{Name: webhooks.Ptr(""), URL: webhooks.Ptr("nope")})
	require.Len(t, fieldsOf(t, err), 2)
	again, err := d.GetWebhook(ctx, "", w.ID)
	require.NoError(t, err)
	require.Equal(t, "b", again.Name, "a failed update changes nothing")

	_, err = d.UpdateWebhook(ctx, "", 999, webhooks.WebhookInput{Name: webhooks.Ptr("x")})
	require.ErrorIs(t, err, webhooks.ErrNotFound)

	old := again.Secret
	re, err := d.RegenerateSecret(ctx, "", w.ID, webhooks.DefaultSecretGrace)
	require.NoError(t, err)
	require.NotEqual(t, old, re.Secret)
}

func TestWebhookLimitPerCompany(t *testing.T) {
	d := newTestDispatcher(t, webhooks.Config{Limits: webhooks.Limits{MaxWebhooksPerCompany: 2}})
	ctx := t.Context()
	in := webhooks.WebhookInput{Name: webhooks.Ptr("w"), URL: webhooks.Ptr("https://x.example"), CompanyID: webhooks.Ptr[int64](1)}
	for range 2 {
		_, err := d.CreateWebhook(ctx, "", in)
		require.NoError(t, err)
	}
	_, err := d.CreateWebhook(ctx, "", in)
	require.ErrorIs(t, err, webhooks.ErrWebhookLimit)
	in.CompanyID = webhooks.Ptr[int64](2)
	_, err = d.CreateWebhook(ctx, "", in)
	require.NoError(t, err)
}

// With the SSRF guard on (the default), URLs naming denied addresses are
// refused at creation, whatever their spelling; tenants cannot opt out.
func TestCreateRefusesInternalTargets(t *testing.T) {
	d := newTestDispatcher(t, webhooks.Config{Sender: sender.New(nil)})
	for _, u := range []string{"http://127.0.0.1/", "http://2130706433/", "http://0177.0.0.1/", "http://127.1/",
		"http://[::ffff:7f00:1]/", "http://localhost:8080/", "htTp://0", "HTTP://0x7f.1/", "http://169.254.169.254/latest/meta-data", "http://10.0.0.5/", "http://[::1]/"} {
		_, err := d.CreateWebhook(t.Context(), "", webhooks.WebhookInput{Name: webhooks.Ptr("x"), URL: webhooks.Ptr(u)})
		require.Contains(t, fieldsOf(t, err)["url"], "blocked", u)
	}
	_, err := d.CreateWebhook(t.Context(), "", webhooks.WebhookInput{Name: webhooks.Ptr("x"), URL: webhooks.Ptr("https://hooks.example.com/x")})
	require.NoError(t, err)
}

func TestRequireHTTPS(t *testing.T) {
	d := newTestDispatcher(t, webhooks.Config{RequireHTTPS: true})
	_, err := d.CreateWebhook(t.Context(), "", webhooks.WebhookInput{Name: webhooks.Ptr("x"), URL: webhooks.Ptr("http://hooks.example.com/")})
	require.Contains(t, fieldsOf(t, err)["url"], "https")
	_, err = d.CreateWebhook(t.Context(), "", webhooks.WebhookInput{Name: webhooks.Ptr("x"), URL: webhooks.Ptr("https://hooks.example.com/")})
	require.NoError(t, err)
}
