package admin_test

import (
	"bytes"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/stretchr/testify/require"

	"github.com/webhookkit/webhooks/transport/admin"
)

func TestOpenAPIDocument(t *testing.T) {
	doc, _ := loadDoc(t) // loads and validates it
	require.True(t, strings.HasPrefix(doc.OpenAPI, "3.0."), doc.OpenAPI)

	// Every route is documented, and every documented operation is a route.
	var documented []string
	for p, item := range doc.Paths.Map() {
		for method := range item.Operations() {
			documented = append(documented, method+" "+p)
		}
	}
	routes := admin.Routes()
	slices.Sort(documented)
	slices.Sort(routes)
	require.Equal(t, routes, documented)
	require.Len(t, routes, 14, "the seed's 13 endpoints and the document")

	// Every operation documents 401 and, but for the document itself, 500;
	// every one with a request body documents 400, 413, 415 and 422.
	for p, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			require.NotNil(t, op.Responses.Status(401), "%s %s", method, p)
			if !strings.HasSuffix(p, "openapi.yaml") {
				require.NotNil(t, op.Responses.Status(500), "%s %s", method, p)
			}
			if op.RequestBody != nil {
				for _, code := range []int{400, 413, 415, 422} {
					require.NotNil(t, op.Responses.Status(code), "%s %s %d", method, p, code)
				}
			}
		}
	}

	// OpenAPI returns a copy.
	a := admin.OpenAPI()
	a[0] = 'X'
	require.NotEqual(t, a[0], admin.OpenAPI()[0])
}

// TestOpenAPIServed calls every documented operation against a live
// handler with real resources: none is answered as an unknown route
// (404 "no such endpoint") or with 405, and every response validates.
func TestOpenAPIServed(t *testing.T) {
	e := newEnv(t)
	rc := newReceiver(t, http.StatusInternalServerError)
	id := e.do(t, acmeAdmin, "POST", "", hook(rc.URL, 1)).id()
	did := int64(e.do(t, acmeAdmin, "POST", fmt.Sprintf("/%d/test", id), nil).data()["deliveryId"].(float64))

	doc, _ := loadDoc(t)
	type op struct{ method, path string }
	var ops []op
	for p, item := range doc.Paths.Map() {
		for method := range item.Operations() {
			ops = append(ops, op{method, p})
		}
	}
	// DELETE last, so the webhook exists for the others.
	slices.SortFunc(ops, func(a, b op) int {
		if (a.method == "DELETE") != (b.method == "DELETE") {
			if a.method == "DELETE" {
				return 1
			}
			return -1
		}
		return strings.Compare(a.method+a.path, b.method+b.path)
	})
	for _, o := range ops {
		rel := strings.TrimPrefix(o.path, admin.DefaultPrefix)
		rel = strings.NewReplacer("{id}", fmt.Sprint(id), "{deliveryId}", fmt.Sprint(did), "{companyId}", "1").Replace(rel)
		var body any
		switch {
		case o.method == "POST" && rel == "":
			body = hook(rc.URL, 1)
		case o.method == "PUT":
			body = map[string]any{"name": "renamed"}
		}
		r := e.do(t, acmeAdmin, o.method, rel, body)
		require.Less(t, r.status, 300, "%s %s: %d %s", o.method, o.path, r.status, r.raw)
	}

	// The served document is the embedded one.
	r := e.do(t, acme1, "GET", "/openapi.yaml", nil)
	require.True(t, bytes.Equal(admin.OpenAPI(), r.raw))
	_, err := openapi3.NewLoader().LoadFromData(r.raw)
	require.NoError(t, err)
}

// TestResponsesValidated makes sure the validation in env.do really runs,
// and really rejects a response that drifts from the document.
func TestResponsesValidated(t *testing.T) {
	before := validatedResponses.Load()
	e := newEnv(t)
	e.do(t, acmeAdmin, "GET", "/event-types", nil)
	require.Greater(t, validatedResponses.Load(), before)

	doc, _ := loadDoc(t)
	schema := doc.Components.Schemas["Webhook"].Value
	good := map[string]any{
		"id": 1, "name": "n", "description": "", "url": "https://x", "companyId": nil, "events": []any{},
		"customHeaders": map[string]any{}, "filters": nil, "httpMethod": "POST", "contentType": "application/json",
		"timeoutMs": 30000, "maxRetries": 3, "verifySsl": true, "autoDisableAfterFailures": 10, "signatureScheme": "default",
		"isActive": true, "hasSecret": true, "secretPreview": "whsec_abc12345...xyz9",
		"consecutiveFailures": 0, "disabledReason": nil, "createdAt": "2026-02-01T00:00:00Z",
		"updatedAt": "2026-02-01T00:00:00Z",
	}
	require.NoError(t, schema.VisitJSON(good))
	extra := map[string]any{"surprise": 1}
	for k, v := range good {
		extra[k] = v
	}
	require.Error(t, schema.VisitJSON(extra))
	missing := map[string]any{}
	for k, v := range good {
		if k != "isActive" {
			missing[k] = v
		}
	}
	require.Error(t, schema.VisitJSON(missing))
}
