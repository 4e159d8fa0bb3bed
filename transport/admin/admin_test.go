package admin_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/stretchr/testify/require"

	webhooks "github.com/webhookkit/webhooks"
)

// seedCreateBody is the body of the seed's "Creating a Webhook" curl,
// verbatim but for the URL, which is replaced by a test receiver's.
const seedCreateBody = `{
"name": "My Integration Webhook",
"description": "Sends events to our internal system",
"url": "https://your-server.com/webhooks/tgm",
"companyId": 1,
"events": ["inspection.created", "inspection.updated", "alert.created"],
"httpMethod": "POST",
"contentType": "application/json",
"timeoutMs": 30000,
"maxRetries": 3,
"verifySsl": true,
"autoDisableAfterFailures": 10
}`

var previewRE = regexp.MustCompile(`^whsec_.{8}\.\.\..{4}$`)

func TestCreateWithSeedBody(t *testing.T) {
	e := newEnv(t)
	rc := newReceiver(t, http.StatusOK)
	body := strings.Replace(seedCreateBody, "https://your-server.com/webhooks/tgm", rc.URL+"/webhooks/tgm", 1)

	r := e.do(t, acmeAdmin, "POST", "", body)
	require.Equal(t, http.StatusCreated, r.status, "%s", r.raw)
	d := r.data()
	require.Equal(t, float64(1), d["id"])
	require.Equal(t, "My Integration Webhook", d["name"])
	require.Equal(t, "Sends events to our internal system", d["description"])
	require.Equal(t, rc.URL+"/webhooks/tgm", d["url"])
	require.Equal(t, float64(1), d["companyId"])
	require.Equal(t, true, d["isActive"])
	require.Equal(t, []any{"inspection.created", "inspection.updated", "alert.created"}, d["events"])
	require.Equal(t, true, d["hasSecret"])
	require.Regexp(t, previewRE, d["secretPreview"])
	created, err := time.Parse(time.RFC3339, d["createdAt"].(string))
	require.NoError(t, err)
	require.WithinDuration(t, time.Now(), created, time.Minute)
	require.True(t, strings.HasSuffix(d["createdAt"].(string), "Z"), "UTC")
	require.Equal(t, "POST", d["httpMethod"])
	require.Equal(t, "application/json", d["contentType"])
	require.Equal(t, float64(30000), d["timeoutMs"])
	require.Equal(t, float64(3), d["maxRetries"])
	require.Equal(t, true, d["verifySsl"])
	require.Equal(t, float64(10), d["autoDisableAfterFailures"])
	require.Equal(t, map[string]any{}, d["customHeaders"])
	require.Nil(t, d["disabledReason"])
	require.Equal(t, "Webhook created. Save the secret key - it won't be shown again.", r.meta()["message"])

	// The secret is shown now, once; its preview is the masked form.
	secret := d["secret"].(string)
	require.True(t, strings.HasPrefix(secret, "whsec_"))
	require.Equal(t, webhooks.SecretPreview(secret), d["secretPreview"])
	got := e.do(t, acmeAdmin, "GET", fmt.Sprintf("/%d", r.id()), nil)
	require.Equal(t, http.StatusOK, got.status)
	require.NotContains(t, got.data(), "secret")
	require.NotContains(t, string(got.raw), secret)
	require.Equal(t, d["secretPreview"], got.data()["secretPreview"])

	// And it is the secret that signs: the seed's verification accepts a ping.
	ping := e.do(t, acmeAdmin, "POST", fmt.Sprintf("/%d/test", r.id()), nil)
	require.Equal(t, true, ping.data()["success"], "%s", ping.raw)
	rc.mu.Lock()
	sig, raw := rc.last.Header.Get("X-Webhook-Signature"), rc.body
	rc.mu.Unlock()
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write(raw)
	require.Equal(t, "sha256="+hex.EncodeToString(mac.Sum(nil)), sig)
}

func TestCreateDefaultsAndUserSecret(t *testing.T) {
	e := newEnv(t)
	// Only the required fields: every default of the seed's table.
	r := e.do(t, acmeAdmin, "POST", "", `{"name": "minimal", "url": "https://example.com/h"}`)
	require.Equal(t, http.StatusCreated, r.status, "%s", r.raw)
	d := r.data()
	require.Nil(t, d["companyId"], "a client-wide admin leaving companyId out creates a system-wide webhook")
	require.Equal(t, []any{}, d["events"])
	require.Equal(t, "", d["description"])
	require.Equal(t, "POST", d["httpMethod"])
	require.Equal(t, float64(30000), d["timeoutMs"])

	// null takes the default too; a user-supplied secret is kept.
	r = e.do(t, acmeAdmin, "POST", "", map[string]any{
		"name": "custom", "url": "https://example.com/h", "companyId": nil, "events": nil,
		"description": nil, "secret": "my-own-secret-of-24-chars",
		"customHeaders": map[string]string{"X-Api-Key": "k"}, "httpMethod": "put",
	})
	require.Equal(t, http.StatusCreated, r.status, "%s", r.raw)
	require.Equal(t, "my-own-secret-of-24-chars", r.data()["secret"])
	require.Equal(t, webhooks.SecretPreview("my-own-secret-of-24-chars"), r.data()["secretPreview"])
	require.Equal(t, "PUT", r.data()["httpMethod"])
	require.Equal(t, map[string]any{"X-Api-Key": "k"}, r.data()["customHeaders"])

	// A company-scoped caller: companyId left out means its company.
	r = e.do(t, acme2, "POST", "", hook("https://example.com/h", "absent"))
	require.Equal(t, http.StatusCreated, r.status, "%s", r.raw)
	require.Equal(t, float64(2), r.data()["companyId"])
	r = e.do(t, acme2, "POST", "", hook("https://example.com/h", 2))
	require.Equal(t, http.StatusCreated, r.status, "%s", r.raw)

	// ... and it can create for no other company, nor system-wide.
	for _, company := range []any{1, nil} {
		r = e.do(t, acme2, "POST", "", hook("https://example.com/h", company))
		require.Equal(t, http.StatusUnprocessableEntity, r.status, "%s", r.raw)
		require.Equal(t, "validation_failed", r.errCode())
		require.Contains(t, r.errFields()["companyId"], "not allowed for your scope")
	}
	ws, err := e.d.ListWebhooks(context.Background(), "acme", webhooks.ListWebhooksParams{})
	require.NoError(t, err)
	require.Len(t, ws, 4)
}

func TestEventTypes(t *testing.T) {
	e := newEnv(t)
	r := e.do(t, acme1, "GET", "/event-types", nil)
	require.Equal(t, http.StatusOK, r.status)
	groups := r.list()
	require.Len(t, groups, 4)
	var cats []string
	for _, g := range groups {
		cats = append(cats, g.(map[string]any)["category"].(string))
	}
	require.Equal(t, []string{"Asset", "Maintenance", "Monitoring", "Wildcard"}, cats)
	maint := groups[1].(map[string]any)["events"].([]any)
	require.Contains(t, maint, map[string]any{"event": "inspection.created", "description": "Inspection created"})
	require.Equal(t, []any{map[string]any{"event": "*", "description": "Subscribe to ALL events"}},
		groups[3].(map[string]any)["events"])
	require.Equal(t, float64(len(seedCatalog)), r.meta()["total"])
	// Sorted by name within a category.
	var names []string
	for _, ev := range maint {
		names = append(names, ev.(map[string]any)["event"].(string))
	}
	require.True(t, slices.IsSorted(names))
}

func TestCompanyList(t *testing.T) {
	e := newEnv(t)
	url := "https://example.com/h"
	var ids []float64
	for _, company := range []any{1, 2, 1, nil} {
		r := e.do(t, acmeAdmin, "POST", "", hook(url, company))
		require.Equal(t, http.StatusCreated, r.status)
		ids = append(ids, r.data()["id"].(float64))
	}
	listIDs := func(r *resp) []float64 {
		var out []float64
		for _, w := range r.list() {
			require.NotContains(t, w.(map[string]any), "secret")
			out = append(out, w.(map[string]any)["id"].(float64))
		}
		return out
	}

	r := e.do(t, acmeAdmin, "GET", "/company/1", nil)
	require.Equal(t, http.StatusOK, r.status)
	require.Equal(t, []float64{ids[0], ids[2]}, listIDs(r))
	require.Equal(t, map[string]any{"total": float64(2), "limit": float64(20)}, r.meta())

	r = e.do(t, acme1, "GET", "/company/1", nil)
	require.Equal(t, []float64{ids[0], ids[2]}, listIDs(r))

	r = e.do(t, acmeAdmin, "GET", "/company/system", nil)
	require.Equal(t, http.StatusOK, r.status)
	require.Equal(t, []float64{ids[3]}, listIDs(r))

	r = e.do(t, acmeAdmin, "GET", "/company/3", nil)
	require.Equal(t, http.StatusOK, r.status)
	require.Equal(t, []any{}, r.list())

	for _, p := range []string{"/company/2", "/company/system"} {
		r = e.do(t, acme1, "GET", p, nil)
		require.Equal(t, http.StatusNotFound, r.status, p)
		require.Equal(t, "not_found", r.errCode())
	}
	for _, p := range []string{"/company/abc", "/company/0", "/company/-1", "/company/01"} {
		r = e.do(t, acmeAdmin, "GET", p, nil)
		require.Equal(t, http.StatusNotFound, r.status, p)
	}
	// The other client's store has none of these.
	r = e.do(t, webhooks.Scope{Client: "globex"}, "GET", "/company/1", nil)
	require.Equal(t, []any{}, r.list())
}

func TestGetUpdateDelete(t *testing.T) {
	e := newEnv(t)
	r := e.do(t, acme1, "POST", "", strings.Replace(seedCreateBody, "https://your-server.com/webhooks/tgm", "https://example.com/a", 1))
	require.Equal(t, http.StatusCreated, r.status)
	id := r.id()
	p := fmt.Sprintf("/%d", id)

	before := e.do(t, acme1, "GET", p, nil).data()
	require.Equal(t, id, int64(before["id"].(float64)))
	require.Equal(t, float64(0), before["consecutiveFailures"])

	// Only the fields sent change.
	r = e.do(t, acme1, "PUT", p, `{"name": "Renamed", "timeoutMs": 5000}`)
	require.Equal(t, http.StatusOK, r.status, "%s", r.raw)
	after := r.data()
	for k, v := range before {
		switch k {
		case "name":
			require.Equal(t, "Renamed", after[k])
		case "timeoutMs":
			require.Equal(t, float64(5000), after[k])
		case "updatedAt":
		default:
			require.Equal(t, v, after[k], k)
		}
	}
	require.NotContains(t, after, "secret")

	// Replacing collections, and null clearing the clearable fields.
	r = e.do(t, acme1, "PUT", p, map[string]any{"events": []string{"alert.*"}, "customHeaders": map[string]string{"X-A": "1"}})
	require.Equal(t, []any{"alert.*"}, r.data()["events"])
	require.Equal(t, map[string]any{"X-A": "1"}, r.data()["customHeaders"])
	r = e.do(t, acme1, "PUT", p, `{"description": null, "events": null, "customHeaders": null}`)
	require.Equal(t, http.StatusOK, r.status, "%s", r.raw)
	require.Equal(t, "", r.data()["description"])
	require.Equal(t, []any{}, r.data()["events"])
	require.Equal(t, map[string]any{}, r.data()["customHeaders"])

	// companyId may be repeated but not changed; secret and nulls are refused.
	r = e.do(t, acme1, "PUT", p, `{"companyId": 1, "name": "Same company"}`)
	require.Equal(t, http.StatusOK, r.status, "%s", r.raw)
	r = e.do(t, acmeAdmin, "PUT", p, `{"companyId": 2, "secret": "0123456789abcdefghij", "name": null, "verifySsl": null}`)
	require.Equal(t, http.StatusUnprocessableEntity, r.status, "%s", r.raw)
	require.Equal(t, "validation_failed", r.errCode())
	require.Equal(t, []string{"companyId", "name", "secret", "verifySsl"}, sortedKeys(r.errFields()))
	r = e.do(t, acmeAdmin, "PUT", p, `{"companyId": null}`)
	require.Equal(t, http.StatusUnprocessableEntity, r.status)

	// Every invalid field at once, nothing stored.
	r = e.do(t, acme1, "PUT", p, `{"timeoutMs": 5, "httpMethod": "GET", "events": ["nope.created"], "url": "ftp://x", "maxRetries": 9}`)
	require.Equal(t, http.StatusUnprocessableEntity, r.status, "%s", r.raw)
	require.Equal(t, []string{"events[0]", "httpMethod", "maxRetries", "timeoutMs", "url"}, sortedKeys(r.errFields()))
	require.Equal(t, "Same company", e.do(t, acme1, "GET", p, nil).data()["name"])

	// Delete: 200 with data null; then it is gone.
	r = e.do(t, acme1, "DELETE", p, nil)
	require.Equal(t, http.StatusOK, r.status)
	require.Nil(t, r.body["data"])
	require.Contains(t, r.body, "data")
	require.Equal(t, "Webhook deleted.", r.meta()["message"])
	for _, method := range []string{"GET", "PUT", "DELETE"} {
		var body any
		if method == "PUT" {
			body = `{"name": "x"}`
		}
		r = e.do(t, acme1, method, p, body)
		require.Equal(t, http.StatusNotFound, r.status, method)
		require.Equal(t, "not_found", r.errCode())
	}
}

func sortedKeys(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

func TestEnableDisableRegenerate(t *testing.T) {
	e := newEnv(t)
	r := e.do(t, acmeAdmin, "POST", "", hook("https://example.com/h", 1))
	id, secret := r.id(), r.data()["secret"].(string)

	r = e.do(t, acme1, "POST", fmt.Sprintf("/%d/disable", id), nil)
	require.Equal(t, http.StatusOK, r.status)
	require.Equal(t, false, r.data()["isActive"])
	require.Equal(t, "disabled by an administrator", r.data()["disabledReason"])
	require.Nil(t, r.body["meta"])

	r = e.do(t, acme1, "POST", fmt.Sprintf("/%d/enable", id), nil)
	require.Equal(t, http.StatusOK, r.status)
	require.Equal(t, true, r.data()["isActive"])
	require.Nil(t, r.data()["disabledReason"])

	r = e.do(t, acme1, "POST", fmt.Sprintf("/%d/regenerate-secret", id), nil)
	require.Equal(t, http.StatusOK, r.status)
	fresh := r.data()["secret"].(string)
	require.NotEqual(t, secret, fresh)
	require.True(t, strings.HasPrefix(fresh, "whsec_"))
	require.Regexp(t, previewRE, r.data()["secretPreview"])
	require.Equal(t, "Secret regenerated. Save the new secret key - it won't be shown again.", r.meta()["message"])
	stored, err := e.d.GetWebhook(context.Background(), "acme", id)
	require.NoError(t, err)
	require.Equal(t, fresh, stored.Secret)
	got := e.do(t, acme1, "GET", fmt.Sprintf("/%d", id), nil)
	require.Equal(t, r.data()["secretPreview"], got.data()["secretPreview"])
	require.NotContains(t, string(got.raw), fresh)
}

func TestPingAppearsInHistory(t *testing.T) {
	e := newEnv(t)
	rc := newReceiver(t, http.StatusOK)
	id := e.do(t, acmeAdmin, "POST", "", hook(rc.URL, 1)).id()

	r := e.do(t, acme1, "POST", fmt.Sprintf("/%d/test", id), nil)
	require.Equal(t, http.StatusOK, r.status, "%s", r.raw)
	d := r.data()
	require.Equal(t, "SUCCESS", d["status"])
	require.Equal(t, true, d["success"])
	require.Equal(t, float64(200), d["responseStatus"])
	require.Nil(t, d["errorMessage"])
	require.Equal(t, "Test ping delivered.", r.meta()["message"])
	require.EqualValues(t, 1, rc.hits.Load())
	okID := d["deliveryId"].(float64)

	rc.status.Store(http.StatusInternalServerError)
	r = e.do(t, acme1, "POST", fmt.Sprintf("/%d/test", id), nil)
	d = r.data()
	require.Equal(t, "FAILED", d["status"])
	require.Equal(t, false, d["success"])
	require.Equal(t, float64(500), d["responseStatus"])
	require.NotEmpty(t, d["errorMessage"])
	require.Equal(t, "Test ping failed.", r.meta()["message"])
	failedID := d["deliveryId"].(float64)

	// Both are in the history, newest first.
	r = e.do(t, acme1, "GET", fmt.Sprintf("/%d/deliveries", id), nil)
	require.Equal(t, http.StatusOK, r.status)
	list := r.list()
	require.Len(t, list, 2)
	first, second := list[0].(map[string]any), list[1].(map[string]any)
	require.Equal(t, failedID, first["id"])
	require.Equal(t, okID, second["id"])
	require.Equal(t, "webhook.ping", first["eventType"])
	require.Equal(t, "FAILED", first["status"])
	require.Equal(t, float64(1), first["attemptCount"])
	require.Equal(t, float64(500), first["responseStatus"])
	require.NotEmpty(t, first["errorMessage"])
	require.Nil(t, first["nextAttemptAt"])
	require.Equal(t, float64(id), first["webhookId"])
	require.NotContains(t, second, "errorMessage", "omitted when the delivery did not fail")
	require.Equal(t, map[string]any{"limit": float64(20), "nextCursor": nil}, r.meta())

	// The detail has the attempt.
	r = e.do(t, acme1, "GET", fmt.Sprintf("/deliveries/%d", int64(failedID)), nil)
	require.Equal(t, http.StatusOK, r.status)
	att := r.data()["attempts"].([]any)
	require.Len(t, att, 1)
	a := att[0].(map[string]any)
	require.Equal(t, float64(1), a["number"])
	require.Equal(t, float64(500), a["responseStatus"])
	require.Equal(t, "receiver says 500", a["responseBody"])
	require.Equal(t, false, a["responseBodyTruncated"])
	require.Equal(t, "webhook.ping", a["requestHeaders"].(map[string]any)["X-Webhook-Event"])
	require.NotEmpty(t, a["errorMessage"])
	_, err := time.Parse(time.RFC3339, a["startedAt"].(string))
	require.NoError(t, err)
}

func TestRetryFailedDelivery(t *testing.T) {
	e := newEnv(t)
	rc := newReceiver(t, http.StatusServiceUnavailable)
	id := e.do(t, acmeAdmin, "POST", "", hook(rc.URL, 1)).id()
	failed := e.do(t, acme1, "POST", fmt.Sprintf("/%d/test", id), nil).data()
	require.Equal(t, "FAILED", failed["status"])
	did := int64(failed["deliveryId"].(float64))

	// The dispatcher is not running yet: the retry is queued, RETRYING.
	rc.status.Store(http.StatusOK)
	r := e.do(t, acme1, "POST", fmt.Sprintf("/deliveries/%d/retry", did), nil)
	require.Equal(t, http.StatusOK, r.status, "%s", r.raw)
	require.Equal(t, "RETRYING", r.data()["status"])
	require.NotNil(t, r.data()["nextAttemptAt"])
	require.Equal(t, "Delivery queued for retry.", r.meta()["message"])
	require.EqualValues(t, 1, rc.hits.Load())

	// Once the dispatcher runs, it is delivered.
	e.start(t)
	eventually(t, "the retried delivery to succeed", func() bool {
		d, err := e.d.Delivery(context.Background(), "acme", did)
		require.NoError(t, err)
		return d.Status == webhooks.StatusSuccess
	})
	r = e.do(t, acme1, "GET", fmt.Sprintf("/deliveries/%d", did), nil)
	require.Equal(t, "SUCCESS", r.data()["status"])
	require.Equal(t, float64(2), r.data()["attemptCount"])
	require.Len(t, r.data()["attempts"], 2)
	require.Nil(t, r.data()["nextAttemptAt"])
	require.EqualValues(t, 2, rc.hits.Load())

	// A successful delivery is not retryable.
	r = e.do(t, acme1, "POST", fmt.Sprintf("/deliveries/%d/retry", did), nil)
	require.Equal(t, http.StatusConflict, r.status)
	require.Equal(t, "delivery_not_retryable", r.errCode())
}

func TestEmittedEventsDelivered(t *testing.T) {
	e := newEnv(t)
	rc := newReceiver(t, http.StatusOK)
	id := e.do(t, acme1, "POST", "", hook(rc.URL, "absent", "inspection.*")).id()
	e.start(t)
	ctx := webhooks.WithClient(context.Background(), "acme")
	require.NoError(t, e.d.Emit(ctx, webhooks.Event{Type: "inspection.created", Company: &webhooks.Company{ID: 1}}))
	eventually(t, "the delivery", func() bool {
		r := e.do(t, acme1, "GET", fmt.Sprintf("/%d/deliveries?status=SUCCESS", id), nil)
		return len(r.list()) == 1
	})
	r := e.do(t, acme1, "GET", fmt.Sprintf("/%d/deliveries", id), nil)
	d := r.list()[0].(map[string]any)
	require.Equal(t, "inspection.created", d["eventType"])
	require.Equal(t, float64(200), d["responseStatus"])
	require.NotEmpty(t, d["eventId"])
}

func TestDeliveriesPagination(t *testing.T) {
	e := newEnv(t)
	id := e.do(t, acmeAdmin, "POST", "", hook("https://example.com/h", 1)).id()
	ctx := webhooks.WithClient(context.Background(), "acme")
	const n = 45
	for i := 0; i < n; i++ { // the dispatcher is not started: all stay PENDING
		require.NoError(t, e.d.Emit(ctx, webhooks.Event{Type: "inspection.created", Company: &webhooks.Company{ID: 1}}))
	}
	var seen []float64
	cursor, pages := "", 0
	for {
		q := fmt.Sprintf("/%d/deliveries?limit=20", id)
		if cursor != "" {
			q += "&cursor=" + cursor
		}
		r := e.do(t, acme1, "GET", q, nil)
		require.Equal(t, http.StatusOK, r.status, "%s", r.raw)
		pages++
		for _, d := range r.list() {
			m := d.(map[string]any)
			require.Equal(t, "PENDING", m["status"])
			require.NotNil(t, m["nextAttemptAt"])
			require.Nil(t, m["responseStatus"])
			seen = append(seen, m["id"].(float64))
		}
		require.Equal(t, float64(20), r.meta()["limit"])
		next := r.meta()["nextCursor"]
		if next == nil {
			require.Len(t, r.list(), n%20)
			break
		}
		require.Len(t, r.list(), 20)
		cursor = next.(string)
		require.Equal(t, fmt.Sprint(seen[len(seen)-1]), cursor)
	}
	require.Equal(t, 3, pages)
	require.Len(t, seen, n)
	require.True(t, slices.IsSortedFunc(seen, func(a, b float64) int { return int(b - a) }), "newest first")
	require.Equal(t, n, len(slices.Compact(slices.Clone(seen))), "no repeats")

	// An exact multiple ends without an empty page.
	r := e.do(t, acme1, "GET", fmt.Sprintf("/%d/deliveries?limit=45", id), nil)
	require.Len(t, r.list(), 45)
	require.Nil(t, r.meta()["nextCursor"])
	// Default limit 20; filters.
	r = e.do(t, acme1, "GET", fmt.Sprintf("/%d/deliveries", id), nil)
	require.Len(t, r.list(), 20)
	r = e.do(t, acme1, "GET", fmt.Sprintf("/%d/deliveries?status=FAILED", id), nil)
	require.Len(t, r.list(), 0)
	r = e.do(t, acme1, "GET", fmt.Sprintf("/%d/deliveries?status=PENDING&limit=100", id), nil)
	require.Len(t, r.list(), 45)

	// Bad parameters: 422 naming each.
	for q, fields := range map[string][]string{
		"limit=0":                       {"limit"},
		"limit=101":                     {"limit"},
		"limit=x":                       {"limit"},
		"status=DONE":                   {"status"},
		"status=pending":                {"status"},
		"cursor=abc":                    {"cursor"},
		"cursor=-5&limit=1000&status=x": {"cursor", "limit", "status"},
	} {
		r := e.do(t, acme1, "GET", fmt.Sprintf("/%d/deliveries?%s", id, q), nil)
		require.Equal(t, http.StatusUnprocessableEntity, r.status, q)
		require.Equal(t, "validation_failed", r.errCode())
		require.Equal(t, fields, sortedKeys(r.errFields()), q)
	}
}

func TestWebhookLimit(t *testing.T) {
	e := newEnv(t)
	for i := 0; i < 20; i++ {
		r := e.do(t, acme1, "POST", "", hook("https://example.com/h", 1))
		require.Equal(t, http.StatusCreated, r.status)
	}
	r := e.do(t, acme1, "POST", "", hook("https://example.com/h", 1))
	require.Equal(t, http.StatusConflict, r.status)
	require.Equal(t, "webhook_limit_reached", r.errCode())
	require.Contains(t, r.errMessage(), "20")
	// Another company still has room.
	r = e.do(t, acme2, "POST", "", hook("https://example.com/h", 2))
	require.Equal(t, http.StatusCreated, r.status)
	r = e.do(t, acmeAdmin, "GET", "/company/1", nil)
	require.Equal(t, float64(20), r.meta()["total"])
}

func TestAttemptResponseBodyExcerpt(t *testing.T) {
	e := newEnv(t)
	long := strings.Repeat("é", 3000) // 6000 bytes; the 4 KiB cut falls inside a character
	rc := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte("x" + long))
	}))
	t.Cleanup(rc.Close)
	id := e.do(t, acmeAdmin, "POST", "", hook(rc.URL, 1)).id()
	did := int64(e.do(t, acmeAdmin, "POST", fmt.Sprintf("/%d/test", id), nil).data()["deliveryId"].(float64))
	a := e.do(t, acmeAdmin, "GET", fmt.Sprintf("/deliveries/%d", did), nil).data()["attempts"].([]any)[0].(map[string]any)
	body := a["responseBody"].(string)
	require.Equal(t, true, a["responseBodyTruncated"])
	require.LessOrEqual(t, len(body), 4096)
	require.Greater(t, len(body), 4090)
	require.True(t, utf8.ValidString(body))
	require.Equal(t, "x"+long[:len(body)-1], body)
}

func TestTimeoutOutOfRange(t *testing.T) {
	e := newEnv(t)
	for _, ms := range []string{"-1", "0", "999", "120001", "9223372036854775807", "99999999999999"} {
		r := e.do(t, acmeAdmin, "POST", "", `{"name": "x", "url": "https://example.com", "timeoutMs": `+ms+`}`)
		require.Equal(t, http.StatusUnprocessableEntity, r.status, ms)
		require.Equal(t, []string{"timeoutMs"}, sortedKeys(r.errFields()), ms)
	}
	r := e.do(t, acmeAdmin, "POST", "", `{"name": "x", "url": "https://example.com", "timeoutMs": 9223372036854775808}`)
	require.Equal(t, http.StatusBadRequest, r.status)
	require.Equal(t, map[string]string{"timeoutMs": "must be an integer, not number 9223372036854775808"}, r.errFields())
}

func TestRegenerateGracePeriod(t *testing.T) {
	e := newEnv(t)
	id := e.do(t, acmeAdmin, "POST", "", hook("https://example.com/h", 1)).id()
	r := e.do(t, acme1, "POST", fmt.Sprintf("/%d/regenerate-secret", id), map[string]any{"gracePeriodSeconds": 0})
	require.Equal(t, http.StatusOK, r.status)
	for _, bad := range []any{map[string]any{"gracePeriodSeconds": -1}, map[string]any{"gracePeriodSeconds": 604801}} {
		r = e.do(t, acme1, "POST", fmt.Sprintf("/%d/regenerate-secret", id), bad)
		require.Equal(t, http.StatusUnprocessableEntity, r.status)
		require.Contains(t, r.errFields(), "gracePeriodSeconds")
	}
	r = e.do(t, acme1, "POST", fmt.Sprintf("/%d/regenerate-secret", id), map[string]any{"grace": 5})
	require.Equal(t, http.StatusBadRequest, r.status)
}

func TestSignatureSchemeField(t *testing.T) {
	e := newEnv(t)
	b := hook("https://example.com/h", 1)
	b["signatureScheme"] = "standard-webhooks"
	r := e.do(t, acmeAdmin, "POST", "", b)
	require.Equal(t, http.StatusCreated, r.status)
	require.Equal(t, "standard-webhooks", r.data()["signatureScheme"])
	id := r.id()
	r = e.do(t, acmeAdmin, "PUT", fmt.Sprintf("/%d", id), map[string]any{"signatureScheme": "hmac-sha256-hex"})
	require.Equal(t, http.StatusOK, r.status)
	require.Equal(t, "hmac-sha256-hex", r.data()["signatureScheme"])
	r = e.do(t, acmeAdmin, "PUT", fmt.Sprintf("/%d", id), map[string]any{"signatureScheme": "md5"})
	require.Equal(t, http.StatusUnprocessableEntity, r.status)
	require.Contains(t, r.errFields(), "signatureScheme")
}
