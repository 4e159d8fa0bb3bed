package admin_test

import (
	"context"
	"fmt"
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"

	webhooks "github.com/webhookkit/webhooks"
)

// resource is a webhook of one client and company (nil: system-wide) with
// one FAILED delivery.
type resource struct {
	client         string
	company        *int64
	id, deliveryID int64
}

func (r resource) String() string {
	c := "system"
	if r.company != nil {
		c = fmt.Sprint(*r.company)
	}
	return fmt.Sprintf("%s/company %s/webhook %d/delivery %d", r.client, c, r.id, r.deliveryID)
}

// snapshot is everything the API could change in both clients.
func snapshot(t *testing.T, e *env) map[string]any {
	t.Helper()
	ctx := context.Background()
	out := map[string]any{}
	for _, client := range []string{"acme", "globex"} {
		ws, err := e.d.ListWebhooks(ctx, client, webhooks.ListWebhooksParams{})
		require.NoError(t, err)
		for _, w := range ws {
			out[fmt.Sprintf("%s/webhook/%d", client, w.ID)] = *w
			ds, err := e.d.Deliveries(ctx, client, webhooks.ListDeliveriesParams{WebhookID: w.ID, Limit: 100})
			require.NoError(t, err)
			for _, d := range ds {
				full, err := e.d.Delivery(ctx, client, d.ID)
				require.NoError(t, err)
				out[fmt.Sprintf("%s/delivery/%d", client, d.ID)] = *full
			}
		}
	}
	return out
}

// TestScopeMatrix: for two clients and three scopes each (client admin,
// company 1, company 2), every endpoint addressing a resource outside the
// scope (another client's, another company's, or system-wide for a company
// scope) answers 404 not_found and changes nothing.
func TestScopeMatrix(t *testing.T) {
	e := newEnv(t)
	rc := newReceiver(t, http.StatusInternalServerError)
	ctx := context.Background()
	companies := []*int64{webhooks.Ptr[int64](1), webhooks.Ptr[int64](2), nil}

	var resources []resource
	make3 := func(client string) {
		admin := webhooks.Scope{Client: client}
		for _, company := range companies {
			var c any
			if company != nil {
				c = *company
			}
			id := e.do(t, admin, "POST", "", hook(rc.URL, c)).id()
			ping := e.do(t, admin, "POST", fmt.Sprintf("/%d/test", id), nil).data()
			require.Equal(t, "FAILED", ping["status"])
			resources = append(resources, resource{client: client, company: company, id: id, deliveryID: int64(ping["deliveryId"].(float64))})
		}
	}
	make3("acme")
	// Burn globex's first IDs so no webhook or delivery ID exists in both
	// clients: addressing another client's ID must find nothing.
	for range companies {
		w, err := e.d.CreateWebhook(ctx, "globex", webhooks.WebhookInput{Name: webhooks.Ptr("burn"), URL: webhooks.Ptr(rc.URL)})
		require.NoError(t, err)
		_, err = e.d.SendTest(ctx, "globex", w.ID)
		require.NoError(t, err)
		require.NoError(t, e.d.DeleteWebhook(ctx, "globex", w.ID))
	}
	make3("globex")
	for _, a := range resources[:3] {
		for _, b := range resources[3:] {
			require.NotEqual(t, a.id, b.id)
			require.NotEqual(t, a.deliveryID, b.deliveryID)
		}
	}

	var scopes []webhooks.Scope
	for _, client := range []string{"acme", "globex"} {
		scopes = append(scopes, webhooks.Scope{Client: client},
			webhooks.Scope{Client: client, CompanyID: webhooks.Ptr[int64](1)},
			webhooks.Scope{Client: client, CompanyID: webhooks.Ptr[int64](2)})
	}
	scopeName := func(s webhooks.Scope) string {
		if s.CompanyID == nil {
			return s.Client + "/admin"
		}
		return fmt.Sprintf("%s/company %d", s.Client, *s.CompanyID)
	}

	before := snapshot(t, e)
	hits := rc.hits.Load()
	forbidden, allowed := 0, 0
	for _, s := range scopes {
		for _, res := range resources {
			what := scopeName(s) + " → " + res.String()
			if res.client == s.Client && s.Allows(res.company) {
				allowed++
				require.Equal(t, http.StatusOK, e.do(t, s, "GET", fmt.Sprintf("/%d", res.id), nil).status, what)
				require.Equal(t, http.StatusOK, e.do(t, s, "GET", fmt.Sprintf("/deliveries/%d", res.deliveryID), nil).status, what)
				r := e.do(t, s, "GET", fmt.Sprintf("/%d/deliveries", res.id), nil)
				require.Len(t, r.list(), 1, what)
				continue
			}
			forbidden++
			for _, call := range []struct {
				method, path string
				body         any
			}{
				{"GET", fmt.Sprintf("/%d", res.id), nil},
				{"PUT", fmt.Sprintf("/%d", res.id), `{"name": "hijacked", "url": "https://evil.example"}`},
				{"DELETE", fmt.Sprintf("/%d", res.id), nil},
				{"POST", fmt.Sprintf("/%d/enable", res.id), nil},
				{"POST", fmt.Sprintf("/%d/disable", res.id), nil},
				{"POST", fmt.Sprintf("/%d/regenerate-secret", res.id), nil},
				{"POST", fmt.Sprintf("/%d/test", res.id), nil},
				{"GET", fmt.Sprintf("/%d/deliveries", res.id), nil},
				{"GET", fmt.Sprintf("/deliveries/%d", res.deliveryID), nil},
				{"POST", fmt.Sprintf("/deliveries/%d/retry", res.deliveryID), nil},
			} {
				r := e.do(t, s, call.method, call.path, call.body)
				require.Equal(t, http.StatusNotFound, r.status, "%s: %s %s: %s", what, call.method, call.path, r.raw)
				require.Equal(t, "not_found", r.errCode())
				require.NotContains(t, string(r.raw), "whsec_")
			}
		}
		// Lists: a company scope sees no other company and no system-wide list.
		if s.CompanyID != nil {
			other := 3 - *s.CompanyID
			for _, p := range []string{fmt.Sprintf("/company/%d", other), "/company/system"} {
				r := e.do(t, s, "GET", p, nil)
				require.Equal(t, http.StatusNotFound, r.status, scopeName(s)+" "+p)
			}
			r := e.do(t, s, "POST", "", hook(rc.URL, other))
			require.Equal(t, http.StatusUnprocessableEntity, r.status)
			r = e.do(t, s, "POST", "", hook(rc.URL, nil))
			require.Equal(t, http.StatusUnprocessableEntity, r.status)
		}
		// A list only ever holds the caller's own client's webhooks.
		for _, p := range []string{"/company/1", "/company/2", "/company/system"} {
			r := e.do(t, s, "GET", p, nil)
			if r.status != http.StatusOK {
				continue
			}
			for _, w := range r.list() {
				id := int64(w.(map[string]any)["id"].(float64))
				found := false
				for _, res := range resources {
					if res.id == id {
						require.Equal(t, s.Client, res.client)
						require.True(t, s.Allows(res.company))
						found = true
					}
				}
				require.True(t, found)
			}
		}
	}
	require.Equal(t, 2*3+4*5, forbidden)
	require.Equal(t, 2*3+4*1, allowed)
	require.Equal(t, before, snapshot(t, e), "a refused request changed something")
	require.Equal(t, hits, rc.hits.Load(), "a refused test ping reached the receiver")
}
