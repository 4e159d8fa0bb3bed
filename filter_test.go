package webhooks_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/webhookkit/webhooks"
)

// doc is a TGM-shaped body the filter tests evaluate against.
const filterDoc = `{"event":"inspection.updated","company":{"id":7,"name":"Acme"},
 "data":{"id":42,"type":"Inspection","attributes":{"status":"FAILED","score":71.5,"tags":["a","b"],
 "inspector":null,"unit":{"code":"U-1"}}}}`

func decodeDoc(t *testing.T, s string) any {
	t.Helper()
	var v any
	require.NoError(t, json.Unmarshal([]byte(s), &v))
	return v
}

func TestFilterSemantics(t *testing.T) {
	doc := decodeDoc(t, filterDoc)
	cases := []struct {
		filter string
		want   bool
	}{
		{`{"data.attributes.status": "FAILED"}`, true},
		{`{"data.attributes.status": "PASSED"}`, false},
		{`{"data.attributes.status": {"$eq": "FAILED"}}`, true},
		{`{"data.attributes.status": {"$ne": "FAILED"}}`, false},
		{`{"data.attributes.status": {"$in": ["ERROR", "FAILED"]}}`, true},
		{`{"data.attributes.status": {"$nin": ["ERROR", "FAILED"]}}`, false},
		{`{"data.id": 42.0}`, true},  // numbers compare by value
		{`{"data.id": "42"}`, false}, // no type coercion
		{`{"data.attributes.score": {"$gt": 71, "$lte": 71.5}}`, true},
		{`{"data.attributes.score": {"$gt": 71.5}}`, false},
		{`{"data.attributes.score": {"$lt": "9"}}`, false}, // number vs string: no match
		{`{"data.attributes.status": {"$gte": "FA", "$lt": "FB"}}`, true},
		{`{"data.type": {"$prefix": "Insp"}}`, true},
		{`{"data.type": {"$prefix": "insp"}}`, false},
		{`{"data.id": {"$prefix": "4"}}`, false},
		{`{"data.attributes.tags": ["a", "b"]}`, true}, // deep equality
		{`{"data.attributes.tags": "a"}`, false},       // no "array contains"
		{`{"data.attributes.tags.1": "b"}`, true},      // array index
		{`{"data.attributes.tags.2": {"$exists": true}}`, false},
		{`{"data.attributes.unit": {"code": "U-1"}}`, true},
		{`{"data.attributes.unit": {"$eq": {"code": "U-2"}}}`, false},
		{`{"data.attributes.inspector": null}`, true}, // null is present
		{`{"data.attributes.inspector": {"$exists": true}}`, true},
		// Missing paths fail all but $ne, $nin and $exists:false.
		{`{"data.attributes.missing": {"$exists": false}}`, true},
		{`{"data.attributes.missing": {"$ne": 1}}`, true},
		{`{"data.attributes.missing": {"$nin": [1]}}`, true},
		{`{"data.attributes.missing": {"$eq": null}}`, false},
		{`{"data.attributes.missing": {"$lt": 1}}`, false},
		{`{"data.attributes.missing": {"$in": [null]}}`, false},
		{`{"data.type.deeper": {"$exists": false}}`, true},
		// Several keys AND; $and and $or combine.
		{`{"company.id": 7, "data.attributes.status": "FAILED"}`, true},
		{`{"company.id": 7, "data.attributes.status": "PASSED"}`, false},
		{`{"$or": [{"company.id": 8}, {"data.attributes.status": "FAILED"}]}`, true},
		{`{"$or": [{"company.id": 8}, {"data.attributes.status": "PASSED"}]}`, false},
		{`{"$and": [{"company.id": 7}, {"$or": [{"data.id": 1}, {"data.id": 42}]}]}`, true},
		{`{"$and": [{"company.id": 7}, {"data.id": 1}]}`, false},
		{`{}`, true},
		{`null`, true},
	}
	for _, c := range cases {
		f, err := webhooks.ParseFilter([]byte(c.filter), 0)
		require.NoError(t, err, c.filter)
		require.Equal(t, c.want, f.Match(doc), c.filter)
	}
}

func TestFilterValidationNamesPathAndOperator(t *testing.T) {
	cases := []struct {
		filter, field, msg string
	}{
		{`{"data.attributes.status": {"$regex": "x"}}`, "filters.data.attributes.status.$regex", `unknown operator "$regex"`},
		{`{"$or": [{"a": 1}, 3]}`, "filters.$or[1]", "non-empty filter object"},
		{`{"$or": [{"a": 1}, {"b": {"$in": 3}}]}`, "filters.$or[1].b.$in", "$in takes an array"},
		{`{"$or": []}`, "filters.$or", "non-empty array"},
		{`{"$not": {"a": 1}}`, "filters.$not", "unknown operator"},
		{`{"a": {"$gt": true}}`, "filters.a.$gt", "number or a string"},
		{`{"a": {"$exists": "yes"}}`, "filters.a.$exists", "true or false"},
		{`{"a": {"$prefix": 1}}`, "filters.a.$prefix", "takes a string"},
		{`{"a": {"$eq": 1, "b": 2}}`, "filters.a", "mixes operators"},
		{`{"a..b": 1}`, "filters.a..b", "empty segments"},
		{`[1]`, "filters", "JSON object"},
		{`{"a": 1} {}`, "filters", "one JSON object"},
		{`{"a":`, "filters", "one JSON object"},
	}
	for _, c := range cases {
		_, err := webhooks.ParseFilter([]byte(c.filter), 0)
		require.Error(t, err, c.filter)
		fields := fieldsOf(t, err)
		require.Contains(t, fields, c.field, c.filter)
		require.Contains(t, fields[c.field], c.msg, c.filter)
	}
}

func TestFilterLimits(t *testing.T) {
	big := `{"a": "` + strings.Repeat("x", 100) + `"}`
	_, err := webhooks.ParseFilter([]byte(big), 64)
	require.Contains(t, fieldsOf(t, err)["filters"], "at most 64 bytes")

	deep := `{"a": 1}`
	for range webhooks.MaxFilterDepth {
		deep = `{"$or": [` + deep + `]}`
	}
	_, err = webhooks.ParseFilter([]byte(deep), 0)
	require.Error(t, err)
	for _, msg := range fieldsOf(t, err) {
		require.Contains(t, msg, "deeper than")
	}
}

func TestCanonicalFilter(t *testing.T) {
	canon, err := webhooks.CanonicalFilter([]byte(` { "b" : {"$lt": 10.50}, "a": 1 } `), 0)
	require.NoError(t, err)
	require.JSONEq(t, `{"a":1,"b":{"$lt":10.50}}`, string(canon))
	require.Equal(t, `{"a":1,"b":{"$lt":10.50}}`, string(canon)) // sorted, compact, number text kept
	for _, empty := range []string{"", "null", "{}", " { } "} {
		canon, err := webhooks.CanonicalFilter([]byte(empty), 0)
		require.NoError(t, err)
		require.Nil(t, canon, "%q", empty)
	}
}

func TestWebhookFiltersValidatedAndCleared(t *testing.T) {
	d := newTestDispatcher(t, webhooks.Config{})
	ctx := t.Context()
	bad := json.RawMessage(`{"data.attributes.status": {"$like": "F%"}}`)
	_, err := d.CreateWebhook(ctx, "", webhooks.WebhookInput{Name: webhooks.Ptr("f"), URL: webhooks.Ptr("https://example.com/h"), Filters: &bad})
	require.Contains(t, fieldsOf(t, err), "filters.data.attributes.status.$like")

	good := json.RawMessage(`{"data.attributes.status": "FAILED"}`)
	w, err := d.CreateWebhook(ctx, "", webhooks.WebhookInput{Name: webhooks.Ptr("f"), URL: webhooks.Ptr("https://example.com/h"), Filters: &good})
	require.NoError(t, err)
	require.JSONEq(t, string(good), string(w.Filters))

	w, err = d.UpdateWebhook(ctx, "", w.ID, webhooks.WebhookInput{Name: webhooks.Ptr("renamed")})
	require.NoError(t, err)
	require.JSONEq(t, string(good), string(w.Filters), "an update without filters keeps them")

	_, err = d.UpdateWebhook(ctx, "", w.ID, webhooks.WebhookInput{Filters: &bad})
	require.Error(t, err)

	clear := json.RawMessage(`null`)
	w, err = d.UpdateWebhook(ctx, "", w.ID, webhooks.WebhookInput{Filters: &clear})
	require.NoError(t, err)
	require.Nil(t, w.Filters)
}

func TestEmitAppliesFilters(t *testing.T) {
	rc := newReceiver(t, nil)
	d := newTestDispatcher(t, webhooks.Config{})
	failed := json.RawMessage(`{"data.attributes.status": "FAILED", "company.id": 7}`)
	passed := json.RawMessage(`{"data.attributes.status": {"$ne": "FAILED"}}`)
	wFailed := hook(t, d, "", rc.URL+"/failed", webhooks.WebhookInput{Filters: &failed})
	wPassed := hook(t, d, "", rc.URL+"/passed", webhooks.WebhookInput{Filters: &passed})
	wAll := hook(t, d, "", rc.URL+"/all", webhooks.WebhookInput{})
	start(t, d)

	acme := &webhooks.Company{ID: 7, Name: "Acme"}
	emit := func(id, status string) {
		require.NoError(t, d.Emit(t.Context(), webhooks.Event{ID: id, Type: "inspection.updated", Company: acme,
			Data: webhooks.EventData{ID: 1, Type: "Inspection", Attributes: map[string]any{"status": status}}}))
	}
	emit("e1", "FAILED")
	emit("e2", "PASSED")
	waitFor(t, "four deliveries", func() bool { return rc.count() == 4 })
	events := func(w *webhooks.Webhook) []string {
		var out []string
		for _, dl := range deliveriesOf(t, d, "", w.ID) {
			out = append(out, dl.EventID)
		}
		return out
	}
	require.Equal(t, []string{"e1"}, events(wFailed))
	require.Equal(t, []string{"e2"}, events(wPassed))
	require.ElementsMatch(t, []string{"e1", "e2"}, events(wAll))
}

// tagEnvelope adds a "project" object to the filter document only.
type tagEnvelope struct{ webhooks.TGMEnvelope }

func (tagEnvelope) FilterFields(ev *webhooks.Event) map[string]any {
	return map[string]any{"project": map[string]any{"name": ev.Company.Name, "id": ev.Company.ID}}
}

func TestFilterFielderAddsFields(t *testing.T) {
	rc := newReceiver(t, nil)
	d := newTestDispatcher(t, webhooks.Config{Envelope: tagEnvelope{}})
	f := json.RawMessage(`{"project.name": "My Project", "project.id": {"$gte": 2}}`)
	w := hook(t, d, "", rc.URL, webhooks.WebhookInput{Filters: &f})
	start(t, d)
	require.NoError(t, d.Emit(t.Context(), webhooks.Event{ID: "other", Type: "unit.created", Company: &webhooks.Company{ID: 2, Name: "Other"}}))
	require.NoError(t, d.Emit(t.Context(), webhooks.Event{ID: "mine", Type: "unit.created", Company: &webhooks.Company{ID: 2, Name: "My Project"}}))
	waitFor(t, "one delivery", func() bool { return rc.count() == 1 })
	ds := deliveriesOf(t, d, "", w.ID)
	require.Len(t, ds, 1)
	require.Equal(t, "mine", ds[0].EventID)
	require.NotContains(t, string(rc.get(0).body), `"project"`, "filter fields are not sent")
}

// FuzzFilter: any input either parses or is rejected with a
// ValidationError; a parsed filter evaluates any JSON document without
// panicking, and its canonical form parses to the same verdicts.
func FuzzFilter(f *testing.F) {
	f.Add(`{"data.attributes.status": "FAILED"}`, filterDoc)
	f.Add(`{"$or": [{"a.b": {"$in": [1, "x", null]}}, {"c": {"$exists": false}}]}`, `{"a":{"b":1}}`)
	f.Add(`{"a": {"$gt": 1e400, "$prefix": "x"}}`, `{"a": 1e300}`)
	f.Add(`{"a.0.b": {"$ne": [1, {"c": 2}]}}`, `{"a":[{"b":[1,{"c":2}]}]}`)
	f.Add(`{"$and": [{"$and": [{"$or": [{"x": 1}]}]}]}`, `[]`)
	f.Fuzz(func(t *testing.T, filter, document string) {
		flt, err := webhooks.ParseFilter([]byte(filter), 0)
		if err != nil {
			fieldsOf(t, err)
			return
		}
		var doc any
		if json.Unmarshal([]byte(document), &doc) != nil {
			doc = nil
		}
		got := flt.Match(doc)
		canon, err := webhooks.CanonicalFilter([]byte(filter), 0)
		require.NoError(t, err)
		again, err := webhooks.ParseFilter(canon, 0)
		require.NoError(t, err)
		require.Equal(t, got, again.Match(doc), "canonical form %s of %s", canon, filter)
	})
}
