package portal_test

import (
	"context"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	webhooks "github.com/webhookkit/webhooks"
)

// The list, the create and edit forms, the secret page and the actions on
// one webhook.

func TestEmptyListInvitesToAddAWebhook(t *testing.T) {
	e := newEnv(t)
	p := e.as(t, "acme/1").get("/")
	require.Equal(t, http.StatusOK, p.status)
	require.Equal(t, "text/html; charset=utf-8", p.header.Get("Content-Type"))
	body := text(p.body)
	require.Contains(t, body, "No webhooks yet")
	require.Contains(t, body, "acme · company 1")
	require.Contains(t, p.body, `href="/portal/webhooks/new"`)
}

func TestListShowsStateEventsFailuresAndLastDelivery(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	ok := e.create(t, "acme", webhooks.Ptr[int64](1), "orders")
	off := e.create(t, "acme", webhooks.Ptr[int64](1), "legacy")
	_, err := e.d.SendTest(ctx, "acme", ok.ID)
	require.NoError(t, err)
	e.down.Store(true)
	_, err = e.d.SendTest(ctx, "acme", off.ID)
	require.NoError(t, err)
	_, err = e.d.DisableWebhook(ctx, "acme", off.ID, "endpoint retired")
	require.NoError(t, err)

	p := e.as(t, "acme/1").get("/")
	rows := regexp.MustCompile(`(?s)<tr>.*?</tr>`).FindAllString(between(t, p.body, "<tbody>", "</tbody>"), -1)
	require.Len(t, rows, 2)
	first, second := text(rows[0]), text(rows[1])
	require.Contains(t, first, "orders "+e.recv.URL+"/orders")
	require.Contains(t, first, "Active")
	require.Contains(t, first, "inspection.created")
	require.Regexp(t, `<td data-label="Failures in a row" class="num">0</td>`, rows[0])
	require.Contains(t, first, "SUCCESS HTTP 200")
	require.Contains(t, second, "Disabled endpoint retired")
	require.Contains(t, second, "FAILED HTTP 503")
	require.Regexp(t, `<td data-label="Failures in a row" class="num">1</td>`, rows[1])
}

func TestCreateShowsTheSecretOnce(t *testing.T) {
	e := newEnv(t)
	u := e.as(t, "acme/1")
	form := u.get("/webhooks/new").body
	// The picker groups the registry by category, with "*" and "resource.*".
	require.Contains(t, form, `<legend>Maintenance</legend>`)
	require.Contains(t, form, `<legend>Monitoring</legend>`)
	for _, v := range []string{"*", "inspection.*", "work_order.*", "alert.*", "inspection.created", "alert.resolved"} {
		require.Contains(t, form, `name="events" value="`+v+`"`)
	}
	// Every input has a label.
	ids := regexp.MustCompile(`<(?:input|select|textarea) id="([^"]+)"`).FindAllStringSubmatch(form, -1)
	require.NotEmpty(t, ids)
	for _, m := range ids {
		require.Contains(t, form, `<label for="`+m[1]+`"`, "input %s has a label", m[1])
	}
	for _, l := range regexp.MustCompile(`<label for="([^"]+)"`).FindAllStringSubmatch(form, -1) {
		require.Contains(t, form, `id="`+l[1]+`"`, "label for %s names an input", l[1])
	}
	require.NotContains(t, form, `id="companyId"`, "a company-scoped user does not choose the company")

	p := u.post("/webhooks/new", url.Values{
		"name": {"ERP bridge"}, "url": {e.recv.URL + "/erp"}, "description": {"orders"},
		"events":     {"inspection.*", "alert.created"},
		"httpMethod": {"PUT"}, "contentType": {"application/vnd.acme+json"}, "timeoutMs": {"5000"},
		"maxRetries": {"2"}, "autoDisableAfterFailures": {"4"}, "signatureScheme": {"standard-webhooks"},
		"customHeaders": {"X-Api-Key: k1\r\nX-Team: ops"},
	})
	require.Equal(t, http.StatusSeeOther, p.status, text(p.body))
	require.Equal(t, "/portal/webhooks/1/secret", p.header.Get("Location"), "the secret is not in the URL")
	require.NotContains(t, p.header.Get("Set-Cookie"), "whsec_", "the cookie carrying it is sealed")
	p = u.follow(p)
	require.Equal(t, http.StatusOK, p.status)
	require.Equal(t, "no-store", p.header.Get("Cache-Control"))
	secret := regexp.MustCompile(`id="secret" class="mono" type="text" readonly value="([^"]+)"`).FindStringSubmatch(p.body)
	require.NotNil(t, secret, "the answer shows the secret")
	require.Contains(t, p.body, `data-copy="secret"`)

	ws, err := e.d.ListWebhooks(context.Background(), "acme", webhooks.ListWebhooksParams{})
	require.NoError(t, err)
	require.Len(t, ws, 1)
	w := ws[0]
	require.Equal(t, html.UnescapeString(secret[1]), w.Secret)
	require.Equal(t, int64(1), *w.CompanyID, "the company is the caller's")
	require.Equal(t, "ERP bridge", w.Name)
	require.Equal(t, "orders", w.Description)
	require.Equal(t, []string{"inspection.*", "alert.created"}, w.Events)
	require.Equal(t, "PUT", w.HTTPMethod)
	require.Equal(t, "application/vnd.acme+json", w.ContentType)
	require.Equal(t, 5*time.Second, w.Timeout)
	require.Equal(t, 2, w.MaxRetries)
	require.Equal(t, 4, w.AutoDisableAfterFailures)
	require.Equal(t, webhooks.SchemeStandardWebhooks, w.SignatureScheme)
	require.False(t, w.VerifySSL, "an unticked checkbox is false")
	require.Equal(t, map[string]string{"X-Api-Key": "k1", "X-Team": "ops"}, w.CustomHeaders)

	// Not shown again: not on the secret page reloaded, the list, the
	// webhook page or the edit form.
	again := u.get(idPath(w.ID) + "/secret")
	require.Equal(t, http.StatusOK, again.status)
	require.Contains(t, text(again.body), "is shown only once")
	for _, path := range []string{idPath(w.ID) + "/secret", "/", idPath(w.ID), idPath(w.ID) + "/edit"} {
		require.NotContains(t, html.UnescapeString(u.get(path).body), w.Secret, path)
	}
}

func TestClientAdminChoosesTheCompanyAndMaySupplyASecret(t *testing.T) {
	e := newEnv(t)
	u := e.as(t, "acme")
	require.Contains(t, u.get("/webhooks/new").body, `id="companyId"`)
	p := u.follow(u.post("/webhooks/new", url.Values{"name": {"plant b"}, "url": {e.recv.URL}, "companyId": {"2"},
		"secret": {"my-own-secret-0123456789"}, "verifySsl": {"on"}}))
	require.Contains(t, p.body, `value="my-own-secret-0123456789"`)
	p = u.post("/webhooks/new", url.Values{"name": {"everyone"}, "url": {e.recv.URL}})
	require.Equal(t, http.StatusSeeOther, p.status, text(p.body))
	ws, err := e.d.ListWebhooks(context.Background(), "acme", webhooks.ListWebhooksParams{})
	require.NoError(t, err)
	require.Len(t, ws, 2)
	require.Equal(t, int64(2), *ws[0].CompanyID)
	require.True(t, ws[0].VerifySSL)
	require.Nil(t, ws[1].CompanyID, "blank company: system-wide")
	require.Equal(t, webhooks.DefaultTimeout, ws[1].Timeout, "blank fields take the defaults")
	require.Equal(t, webhooks.DefaultAutoDisableAfterFailures, ws[1].AutoDisableAfterFailures)

	p = u.post("/webhooks/new", url.Values{"name": {"x"}, "url": {e.recv.URL}, "companyId": {"plant"}})
	require.Equal(t, http.StatusUnprocessableEntity, p.status)
	require.Contains(t, text(between(t, p.body, `id="companyId-error"`, "</p>")), "must be a positive whole number")
}

func TestValidationErrorsStandNextToTheirFields(t *testing.T) {
	e := newEnv(t)
	u := e.as(t, "acme/1")
	p := u.post("/webhooks/new", url.Values{
		"name": {"  "}, "url": {"ftp://x"}, "timeoutMs": {"soon"}, "maxRetries": {"9"},
		"customHeaders": {"no colon here\nHost: evil"}, "events": {"inspection.created"},
		"secret": {"short"}, "httpMethod": {"GET"},
	})
	require.Equal(t, http.StatusUnprocessableEntity, p.status)
	require.Contains(t, text(between(t, p.body, `id="timeoutMs-error"`, "</p>")), "must be a whole number")
	require.Contains(t, text(between(t, p.body, `id="customHeaders-error"`, "</p>")), "line 1: write Name: value")
	require.Contains(t, p.body, `aria-invalid="true"`)
	require.NotContains(t, p.body, `value="short"`, "a typed secret is not echoed back")
	require.Contains(t, p.body, `value="inspection.created" checked`, "picks are kept")
	require.Contains(t, p.body, `value="soon"`, "a bad value is shown as typed")

	// Once the form parses, the dispatcher's errors are filed by field.
	p = u.post("/webhooks/new", url.Values{
		"name": {"  "}, "url": {"ftp://x"}, "maxRetries": {"9"}, "customHeaders": {"Host: evil"},
		"secret": {"short"}, "httpMethod": {"GET"}, "timeoutMs": {"10"},
	})
	require.Equal(t, http.StatusUnprocessableEntity, p.status)
	for field, msg := range map[string]string{
		"name":          "must not be empty",
		"url":           "must start with http:// or https://",
		"maxRetries":    "must be between 0 and 3",
		"customHeaders": "Host: header is set by the library",
		"secret":        "at least 16 characters",
		"httpMethod":    "must be POST, PUT or PATCH",
		"timeoutMs":     "must be between 1000 and 120000",
	} {
		require.Contains(t, text(between(t, p.body, `id="`+field+`-error"`, "</p>")), msg, field)
	}
	require.Contains(t, text(between(t, p.body, `id="form-errors"`, "</div>")), "The webhook was not saved")
	ws, err := e.d.ListWebhooks(context.Background(), "acme", webhooks.ListWebhooksParams{})
	require.NoError(t, err)
	require.Empty(t, ws, "nothing was created")
}

func TestTheWebhookLimitIsAFormError(t *testing.T) {
	e := newEnv(t)
	for i := 0; i < webhooks.DefaultLimits.MaxWebhooksPerCompany; i++ {
		e.create(t, "acme", webhooks.Ptr[int64](1), "w")
	}
	p := e.as(t, "acme/1").post("/webhooks/new", url.Values{"name": {"one more"}, "url": {e.recv.URL}})
	require.Equal(t, http.StatusUnprocessableEntity, p.status)
	require.Contains(t, text(p.body), "You have reached the limit of webhooks")
}

func TestEditChangesEveryField(t *testing.T) {
	e := newEnv(t)
	w := e.create(t, "acme", webhooks.Ptr[int64](1), "old")
	u := e.as(t, "acme/1")
	form := u.get(idPath(w.ID) + "/edit").body
	require.Contains(t, form, `value="old"`)
	require.Contains(t, form, `value="inspection.created" checked`)
	require.Contains(t, form, `value="30000"`)
	require.NotContains(t, form, `id="secret"`, "the secret is changed by regeneration, not edited")

	p := u.post(idPath(w.ID)+"/edit", url.Values{
		"name": {"new"}, "url": {e.recv.URL + "/v2"}, "description": {"second version"},
		"events": {"*"}, "httpMethod": {"PATCH"}, "contentType": {"text/plain"}, "timeoutMs": {"2000"},
		"maxRetries": {"0"}, "autoDisableAfterFailures": {"0"}, "signatureScheme": {"hmac-sha256-hex"},
		"customHeaders": {"X-Version: 2"}, "verifySsl": {"on"},
	})
	require.Equal(t, http.StatusSeeOther, p.status, text(p.body))
	require.Equal(t, "/portal"+idPath(w.ID)+"?done=updated", p.header.Get("Location"))
	got, err := e.d.GetWebhook(context.Background(), "acme", w.ID)
	require.NoError(t, err)
	require.Equal(t, "new", got.Name)
	require.Equal(t, e.recv.URL+"/v2", got.URL)
	require.Equal(t, "second version", got.Description)
	require.Equal(t, []string{"*"}, got.Events)
	require.Equal(t, "PATCH", got.HTTPMethod)
	require.Equal(t, "text/plain", got.ContentType)
	require.Equal(t, 2*time.Second, got.Timeout)
	require.Equal(t, 0, got.MaxRetries)
	require.Equal(t, 0, got.AutoDisableAfterFailures)
	require.Equal(t, webhooks.SchemeHMACSHA256Hex, got.SignatureScheme)
	require.Equal(t, map[string]string{"X-Version": "2"}, got.CustomHeaders)
	require.True(t, got.VerifySSL)
	require.Equal(t, w.Secret, got.Secret)
	require.Contains(t, text(u.get(idPath(w.ID)+"?done=updated").body), "Changes saved.")

	// Clearing the events and headers empties them.
	p = u.post(idPath(w.ID)+"/edit", url.Values{"name": {"new"}, "url": {e.recv.URL}})
	require.Equal(t, http.StatusSeeOther, p.status, text(p.body))
	got, err = e.d.GetWebhook(context.Background(), "acme", w.ID)
	require.NoError(t, err)
	require.Empty(t, got.Events)
	require.Empty(t, got.CustomHeaders)

	p = u.post(idPath(w.ID)+"/edit", url.Values{"name": {""}, "url": {e.recv.URL}})
	require.Equal(t, http.StatusUnprocessableEntity, p.status)
	require.Contains(t, text(between(t, p.body, `id="name-error"`, "</p>")), "must not be empty")
}

func TestDisableEnableAndDelete(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	w := e.create(t, "acme", webhooks.Ptr[int64](1), "hq")
	u := e.as(t, "acme/1")

	p := u.post(idPath(w.ID)+"/disable", nil)
	require.Equal(t, http.StatusSeeOther, p.status)
	page := text(u.get(idPath(w.ID) + "?done=disabled").body)
	require.Contains(t, page, "Webhook disabled.")
	require.Contains(t, page, "Disabled: disabled in the portal.")
	got, err := e.d.GetWebhook(ctx, "acme", w.ID)
	require.NoError(t, err)
	require.False(t, got.IsActive)

	require.Equal(t, http.StatusSeeOther, u.post(idPath(w.ID)+"/enable", nil).status)
	got, err = e.d.GetWebhook(ctx, "acme", w.ID)
	require.NoError(t, err)
	require.True(t, got.IsActive)
	require.Empty(t, got.DisabledReason)

	// Deleting asks first; the confirmation is a page with a POST form.
	confirm := u.get(idPath(w.ID) + "/delete")
	require.Equal(t, http.StatusOK, confirm.status)
	require.Contains(t, text(confirm.body), "This cannot be undone.")
	require.Contains(t, confirm.body, `action="/portal`+idPath(w.ID)+`/delete"`)
	_, err = e.d.GetWebhook(ctx, "acme", w.ID)
	require.NoError(t, err, "looking at the confirmation deletes nothing")
	p = u.post(idPath(w.ID)+"/delete", nil)
	require.Equal(t, http.StatusSeeOther, p.status)
	require.Equal(t, "/portal/?done=deleted", p.header.Get("Location"))
	_, err = e.d.GetWebhook(ctx, "acme", w.ID)
	require.ErrorIs(t, err, webhooks.ErrNotFound)
	require.Contains(t, text(u.get("/?done=deleted").body), "Webhook deleted.")
	require.Equal(t, http.StatusNotFound, u.get(idPath(w.ID)).status)
}

func TestRegenerateShowsTheNewSecretOnce(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	w := e.create(t, "acme", webhooks.Ptr[int64](1), "hq")
	u := e.as(t, "acme/1")
	page := u.get(idPath(w.ID)).body
	require.Contains(t, page, `<option value="86400" selected>24 hours</option>`)

	p := u.post(idPath(w.ID)+"/secret", url.Values{"grace": {"0"}})
	require.Equal(t, http.StatusSeeOther, p.status, text(p.body))
	p = u.follow(p)
	require.Equal(t, "no-store", p.header.Get("Cache-Control"))
	got, err := e.d.GetWebhook(ctx, "acme", w.ID)
	require.NoError(t, err)
	require.NotEqual(t, w.Secret, got.Secret)
	require.Contains(t, html.UnescapeString(p.body), `value="`+got.Secret+`"`)
	require.Contains(t, text(p.body), "Old secret keeps working: none: the old secret stops at once.")
	require.NotContains(t, html.UnescapeString(u.get(idPath(w.ID)).body), got.Secret)
	require.Contains(t, text(u.get(idPath(w.ID)+"/secret").body), "is shown only once", "reloading shows it no more")

	for _, bad := range []string{"", "-1", "60", "9999999"} {
		p = u.post(idPath(w.ID)+"/secret", url.Values{"grace": {bad}})
		require.Equal(t, http.StatusBadRequest, p.status, bad)
	}
	again, err := e.d.GetWebhook(ctx, "acme", w.ID)
	require.NoError(t, err)
	require.Equal(t, got.Secret, again.Secret, "a refused regeneration changes nothing")
}
