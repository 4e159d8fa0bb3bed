package main

import (
	"crypto/rand"
	"encoding/hex"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/webhookkit/webhooks"
)

// The product's own domain: projects and their API keys. A real host keeps
// them in its database; here they live in memory, seeded with the demo
// project, while webhooks, events and deliveries are in the library's
// SQLite store.
//
// Each project is a company of the library's single client: the library
// scopes webhooks, matching and history by company, so a project's
// webhooks receive only its own events, and webhook IDs stay unique across
// projects (the seed's /webhooks/{webhook_id}/test names no project).

// project is a TengineAI project.
type project struct {
	id          string
	company     int64
	name        string
	description string
	createdAt   time.Time
	updatedAt   time.Time
}

// projectJSON is a project in responses and in payloads (data), with the
// seed's field order.
type projectJSON struct {
	ID          string `json:"id"`
	Name        string `json:"name"`
	Description string `json:"description"`
	CreatedAt   string `json:"created_at"`
	UpdatedAt   string `json:"updated_at"`
}

func (p *project) json() projectJSON {
	return projectJSON{ID: p.id, Name: p.name, Description: p.description,
		CreatedAt: p.createdAt.UTC().Format(time.RFC3339), UpdatedAt: p.updatedAt.UTC().Format(time.RFC3339)}
}

// company is the project as the library's company.
func (p *project) companyOf() *webhooks.Company {
	return &webhooks.Company{ID: p.company, Name: p.name}
}

// demoProject and demoAPIKey are the seeded project and its key, printed at
// start; otherProject shows that projects do not see each other's webhooks.
const (
	demoProjectID  = "proj_demo"
	demoAPIKey     = "demo-api-key"
	otherProjectID = "proj_other"
	otherAPIKey    = "other-api-key"
)

// projects holds the projects and API keys; safe for concurrent use.
type projects struct {
	mu        sync.Mutex
	byID      map[string]*project
	byCompany map[int64]*project
	keys      map[string]string // API key → project ID
}

func newProjects(now time.Time) *projects {
	ps := &projects{byID: map[string]*project{}, byCompany: map[int64]*project{}, keys: map[string]string{}}
	for i, p := range []struct{ id, name, desc, key string }{
		{demoProjectID, "My Project", "A sample project", demoAPIKey},
		{otherProjectID, "Other Project", "Another team's project", otherAPIKey},
	} {
		pr := &project{id: p.id, company: int64(i + 1), name: p.name, description: p.desc, createdAt: now, updatedAt: now}
		ps.byID[pr.id], ps.byCompany[pr.company] = pr, pr
		ps.keys[p.key] = pr.id
	}
	return ps
}

// authenticate returns the project of the request's bearer API key.
func (ps *projects) authenticate(r *http.Request) (*project, bool) {
	key, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok {
		return nil, false
	}
	ps.mu.Lock()
	defer ps.mu.Unlock()
	id, ok := ps.keys[strings.TrimSpace(key)]
	if !ok {
		return nil, false
	}
	p := *ps.byID[id]
	return &p, true
}

// projectID maps a company back to its project ID (for FilterFields).
func (ps *projects) projectID(company int64) string {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	if p, ok := ps.byCompany[company]; ok {
		return p.id
	}
	return ""
}

// update applies a change to a project and returns its new state.
func (ps *projects) update(id string, name, desc *string, now time.Time) project {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	p := ps.byID[id]
	if name != nil {
		p.name = *name
	}
	if desc != nil {
		p.description = *desc
	}
	p.updatedAt = now
	return *p
}

// addKey registers a new API key of a project and returns it.
func (ps *projects) addKey(projectID string) string {
	key := "tk_" + randomHex(20)
	ps.mu.Lock()
	ps.keys[key] = projectID
	ps.mu.Unlock()
	return key
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read never fails on supported platforms
	return hex.EncodeToString(b)
}
