package portal_test

import (
	"context"
	"encoding/json"
	"fmt"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	webhooks "github.com/webhookkit/webhooks"
)

// Payload filters in the create and edit forms, the webhook page and the
// list; and the form's defaults under custom limits.

const statusFilter = `{"data.attributes.status": {"$in": ["FAILED", "CANCELLED"]}}`

// textarea returns what the form's textarea of that ID holds, unescaped.
func textarea(t *testing.T, body, id string) string {
	t.Helper()
	m := regexp.MustCompile(`(?s)<textarea id="` + id + `"[^>]*>(.*?)</textarea>`).FindStringSubmatch(body)
	require.NotNil(t, m, "no textarea %s", id)
	return html.UnescapeString(m[1])
}

// filterPre returns the filter the webhook page shows, or "" when it shows none.
func filterPre(t *testing.T, body string) string {
	t.Helper()
	m := regexp.MustCompile(`(?s)<pre class="filter" id="filter">(.*?)</pre>`).FindStringSubmatch(body)
	if m == nil {
		return ""
	}
	return html.UnescapeString(m[1])
}

// listRow returns the list's row of the named webhook.
func listRow(t *testing.T, body, name string) string {
	t.Helper()
	for _, r := range regexp.MustCompile(`(?s)<tr>.*?</tr>`).FindAllString(between(t, body, "<tbody>", "</tbody>"), -1) {
		if strings.Contains(r, ">"+name+"</a>") {
			return r
		}
	}
	t.Fatalf("no row for %q", name)
	return ""
}

func storedFilter(t *testing.T, e *env, id int64) string {
	t.Helper()
	w, err := e.d.GetWebhook(context.Background(), "acme", id)
	require.NoError(t, err)
	return string(w.Filters)
}

func TestPayloadFilterIsCreatedEditedAndCleared(t *testing.T) {
	e := newEnv(t)
	u := e.as(t, "acme/1")
	plain := e.create(t, "acme", webhooks.Ptr[int64](1), "everything")

	form := u.get("/webhooks/new").body
	require.Contains(t, form, `<label for="filters">Payload filter (JSON)`)
	require.Contains(t, form, `aria-describedby="filters-hint"`)
	require.Empty(t, textarea(t, form, "filters"), "no filter by default")
	require.Contains(t, text(between(t, form, `id="filters-hint"`, "</p>")), statusFilter, "the hint shows an example")
	require.NotContains(t, between(t, form, `id="filters-hint"`, "</p>"), "<a ", "the hint links nowhere")

	p := u.post("/webhooks/new", url.Values{"name": {"failures"}, "url": {e.recv.URL}, "events": {"*"},
		"filters": {"\r\n" + statusFilter + "\r\n"}})
	require.Equal(t, http.StatusSeeOther, p.status, text(p.body))
	ws, err := e.d.ListWebhooks(context.Background(), "acme", webhooks.ListWebhooksParams{})
	require.NoError(t, err)
	require.Len(t, ws, 2)
	w := ws[1]
	require.Equal(t, "failures", w.Name)
	require.JSONEq(t, statusFilter, string(w.Filters))

	// The list marks it; the webhook page and the edit form show it laid out.
	list := u.get("/").body
	require.Contains(t, text(listRow(t, list, "failures")), "filtered")
	require.NotContains(t, text(listRow(t, list, "everything")), "filtered")
	pretty := "{\n  \"data.attributes.status\": {\n    \"$in\": [\n      \"FAILED\",\n      \"CANCELLED\"\n    ]\n  }\n}"
	require.Equal(t, pretty, filterPre(t, u.get(idPath(w.ID)).body))
	require.Empty(t, filterPre(t, u.get(idPath(plain.ID)).body), "no filter, no filter section")
	edit := u.get(idPath(w.ID) + "/edit").body
	require.Equal(t, pretty, textarea(t, edit, "filters"))
	require.Empty(t, textarea(t, u.get(idPath(plain.ID)+"/edit").body, "filters"))

	// Editing replaces it.
	base := url.Values{"name": {"failures"}, "url": {e.recv.URL}, "events": {"*"}}
	with := func(filter string) url.Values {
		v := url.Values{"filters": {filter}}
		for k, vs := range base {
			v[k] = vs
		}
		return v
	}
	p = u.post(idPath(w.ID)+"/edit", with(`{"data.attributes.score": {"$gte": 50}}`))
	require.Equal(t, http.StatusSeeOther, p.status, text(p.body))
	require.JSONEq(t, `{"data.attributes.score": {"$gte": 50}}`, storedFilter(t, e, w.ID))

	// A post without the field (a form from before it) leaves it alone.
	p = u.post(idPath(w.ID)+"/edit", base)
	require.Equal(t, http.StatusSeeOther, p.status, text(p.body))
	require.JSONEq(t, `{"data.attributes.score": {"$gte": 50}}`, storedFilter(t, e, w.ID))

	// Clearing the field clears the filter.
	p = u.post(idPath(w.ID)+"/edit", with("  \n"))
	require.Equal(t, http.StatusSeeOther, p.status, text(p.body))
	require.Empty(t, storedFilter(t, e, w.ID))
	require.Empty(t, filterPre(t, u.get(idPath(w.ID)).body))
	require.NotContains(t, listRow(t, u.get("/").body, "failures"), "badge-filter")
}

// The edit form shows a stored filter indented, which can make it longer
// than Limits.MaxFilterBytes; saving the form unchanged must still work.
func TestSavingAnIndentedFilterUnchangedKeepsIt(t *testing.T) {
	e := newEnv(t)
	u := e.as(t, "acme/1")
	keys := make([]string, 0, 200)
	for i := 0; len(strings.Join(keys, ",")) < webhooks.DefaultLimits.MaxFilterBytes-100; i++ {
		keys = append(keys, fmt.Sprintf(`"data.attributes.k%03d":{"$ne":%d}`, i, i))
	}
	big := "{" + strings.Join(keys, ",") + "}"
	require.LessOrEqual(t, len(big), webhooks.DefaultLimits.MaxFilterBytes)
	p := u.post("/webhooks/new", url.Values{"name": {"big"}, "url": {e.recv.URL}, "filters": {big}})
	require.Equal(t, http.StatusSeeOther, p.status, text(p.body))
	stored := storedFilter(t, e, 1)
	require.JSONEq(t, big, stored)

	shown := textarea(t, u.get(idPath(1)+"/edit").body, "filters")
	require.Greater(t, len(shown), webhooks.DefaultLimits.MaxFilterBytes, "indented, it is over the limit")
	p = u.post(idPath(1)+"/edit", url.Values{"name": {"big"}, "url": {e.recv.URL}, "filters": {shown}})
	require.Equal(t, http.StatusSeeOther, p.status, text(p.body))
	require.Equal(t, stored, storedFilter(t, e, 1))
}

func TestInvalidPayloadFilterStandsNextToItsField(t *testing.T) {
	e := newEnv(t)
	u := e.as(t, "acme/1")
	for _, tc := range []struct{ typed, want string }{
		{`{"data.attributes.status": {"$like": "FAIL%"}}`, `data.attributes.status.$like: unknown operator`},
		{`{"data.attributes.status": `, "must be one JSON object"},
		{`["FAILED"]`, "must be a JSON object of paths to conditions"},
		{`{"$or": [], "data..id": 1}`, "$or: $or takes a non-empty array of filter objects; data..id: path must be dot-separated"},
		{`{"data.id": "` + strings.Repeat("x", webhooks.DefaultLimits.MaxFilterBytes) + `"}`, "must be at most 4096 bytes of JSON"},
	} {
		p := u.post("/webhooks/new", url.Values{"name": {"bad filter"}, "url": {e.recv.URL}, "events": {"*"}, "filters": {tc.typed}})
		require.Equal(t, http.StatusUnprocessableEntity, p.status, tc.typed)
		require.Contains(t, text(between(t, p.body, `id="filters-error"`, "</p>")), tc.want, tc.typed)
		require.Contains(t, text(between(t, p.body, `id="form-errors"`, "</div>")), "filters: ", "the summary lists it")
		require.Contains(t, between(t, p.body, `<textarea id="filters"`, ">"), `aria-invalid="true"`)
		require.Contains(t, between(t, p.body, `<textarea id="filters"`, ">"), `aria-describedby="filters-hint filters-error"`)
		require.Equal(t, tc.typed, textarea(t, p.body, "filters"), "the typed text is kept")
		require.NotContains(t, p.body, `id="events-error"`, "no other field is blamed")
	}
	ws, err := e.d.ListWebhooks(context.Background(), "acme", webhooks.ListWebhooksParams{})
	require.NoError(t, err)
	require.Empty(t, ws, "nothing was created")

	// On edit too, and the stored filter stays.
	w, err := e.d.CreateWebhook(context.Background(), "acme", webhooks.WebhookInput{CompanyID: webhooks.Ptr[int64](1),
		Name: webhooks.Ptr("hq"), URL: &e.recv.URL, Filters: webhooks.Ptr(json.RawMessage(statusFilter))})
	require.NoError(t, err)
	typed := `{"data.attributes.status": {"$in": "FAILED"}}`
	p := u.post(idPath(w.ID)+"/edit", url.Values{"name": {"hq"}, "url": {e.recv.URL}, "filters": {typed}})
	require.Equal(t, http.StatusUnprocessableEntity, p.status)
	require.Contains(t, text(between(t, p.body, `id="filters-error"`, "</p>")), "data.attributes.status.$in: ")
	require.Equal(t, typed, textarea(t, p.body, "filters"))
	require.JSONEq(t, statusFilter, storedFilter(t, e, w.ID))
}

// The form's placeholders and hints say what a blank field becomes, under
// the dispatcher's limits, and it does become that.
func TestFormDefaultsFollowTheLimits(t *testing.T) {
	e := newEnv(t, envConfig{limits: webhooks.Limits{MaxRetries: 5, DefaultMaxRetries: 1, MinTimeout: 40 * time.Second}})
	u := e.as(t, "acme/1")
	form := u.get("/webhooks/new").body
	retries := between(t, form, `<input id="maxRetries"`, ">")
	require.Contains(t, retries, `max="5"`)
	require.Contains(t, retries, `placeholder="1"`)
	require.Contains(t, text(between(t, form, `id="maxRetries-hint"`, "</p>")), "0 to 5; blank for the default (1).")
	require.Contains(t, between(t, form, `<input id="timeoutMs"`, ">"), `placeholder="40000"`)
	require.Contains(t, text(between(t, form, `id="timeoutMs-hint"`, "</p>")), "blank for the default (40000).")

	p := u.post("/webhooks/new", url.Values{"name": {"defaults"}, "url": {e.recv.URL}})
	require.Equal(t, http.StatusSeeOther, p.status, text(p.body))
	w, err := e.d.GetWebhook(context.Background(), "acme", 1)
	require.NoError(t, err)
	require.Equal(t, 1, w.MaxRetries)
	require.Equal(t, 40*time.Second, w.Timeout)

	edit := u.get(idPath(w.ID) + "/edit").body
	require.Contains(t, text(between(t, edit, `id="maxRetries-hint"`, "</p>")), "blank keeps the current value")
}
