package main

import (
	"errors"
	"net/http"
	"strings"

	"github.com/webhookkit/webhooks"
)

// The demo's tenants and callers. A real host has these in its own database
// and identity provider; here they are fixed so the example runs with no
// setup.

// demoCompany is a company inside a client.
type demoCompany struct {
	id   int64
	name string
}

// demoClient is a tenant: its own store (SQLite database, Postgres schema
// or Redis key prefix), its companies.
type demoClient struct {
	client    webhooks.Client
	companies []demoCompany
}

// company returns the client's company with id.
func (c *demoClient) company(id int64) (*webhooks.Company, bool) {
	for _, co := range c.companies {
		if co.id == id {
			return &webhooks.Company{ID: co.id, Name: co.name}, true
		}
	}
	return nil, false
}

// demoClients are the two clients of the demo, each with its own store.
var demoClients = []demoClient{
	{
		client:    webhooks.Client{ID: "acme-corp", Name: "Acme Corporation"},
		companies: []demoCompany{{1, "Acme HQ"}, {2, "Acme Plant B"}},
	},
	{
		client:    webhooks.Client{ID: "globex", Name: "Globex Inc"},
		companies: []demoCompany{{1, "Globex HQ"}},
	},
}

// demoToken is a bearer token and what it may touch.
type demoToken struct {
	token     string
	client    string
	companyID int64 // 0: the client's platform admin (every company)
}

// demoTokens are printed at start. The company-scoped tokens see only their
// company's webhooks, deliveries and inspections.
var demoTokens = []demoToken{
	{"acme-admin", "acme-corp", 0},
	{"acme-company-1", "acme-corp", 1},
	{"acme-company-2", "acme-corp", 2},
	{"globex-admin", "globex", 0},
}

// errUnauthenticated is returned for a missing, malformed or unknown token;
// the admin handler and the domain endpoints answer 401.
var errUnauthenticated = errors.New("missing or unknown bearer token (send Authorization: Bearer <token>)")

// scope returns the webhooks.Scope of a token. Each call returns a fresh
// CompanyID pointer, so callers cannot alter the table.
func (t demoToken) scope() webhooks.Scope {
	s := webhooks.Scope{Client: t.client}
	if t.companyID != 0 {
		id := t.companyID
		s.CompanyID = &id
	}
	return s
}

// authorize maps "Authorization: Bearer <token>" to the caller's scope. It
// has the signature of admin.AuthorizeFunc and also guards the domain
// endpoints.
func authorize(r *http.Request) (webhooks.Scope, error) {
	scheme, token, ok := strings.Cut(strings.TrimSpace(r.Header.Get("Authorization")), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return webhooks.Scope{}, errUnauthenticated
	}
	if t, ok := lookupToken(strings.TrimSpace(token)); ok {
		return t.scope(), nil
	}
	return webhooks.Scope{}, errUnauthenticated
}
