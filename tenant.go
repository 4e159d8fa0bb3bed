package webhooks

import (
	"context"
	"fmt"
	"sort"
	"sync"
)

// Client is a tenant of the platform: it has its own store (its own
// database), and its events reach only its own webhooks.
type Client struct {
	// ID is the client's stable identifier, e.g. "acme-corp". "" is the
	// single-tenant default client.
	ID string `json:"id"`
	// Name is shown in payloads. Default "".
	Name string `json:"name"`
}

// Company is a customer inside a client; webhooks belong to one company or,
// with no company, to the whole client (system-wide).
type Company struct {
	// ID of the company in the host's database.
	ID int64 `json:"id"`
	// Name is shown in payloads. Default "".
	Name string `json:"name"`
}

// Scope is what an authenticated caller of the admin API may touch: one
// client and, when CompanyID is set, only that company's webhooks. A nil
// CompanyID is the client's platform admin.
type Scope struct {
	// Client is the client ID.
	Client string
	// CompanyID restricts the caller to one company. Nil: the whole client.
	CompanyID *int64
}

// Allows reports whether the scope may see a webhook or delivery belonging
// to companyID (nil: system-wide, visible only to a client-wide scope).
func (s Scope) Allows(companyID *int64) bool {
	if s.CompanyID == nil {
		return true
	}
	return companyID != nil && *companyID == *s.CompanyID
}

// StoreResolver maps clients to their stores. One Dispatcher serves every
// client it lists.
type StoreResolver interface {
	// Clients lists the clients to serve. The dispatcher calls it on every
	// fetch cycle, so clients added at run time are picked up.
	Clients(ctx context.Context) ([]Client, error)
	// Store returns the client's store, or an error wrapping ErrUnknownClient.
	Store(ctx context.Context, clientID string) (Store, error)
}

// SingleStore is a StoreResolver for a single-tenant host: one store serving
// the default client "".
func SingleStore(s Store) StoreResolver {
	return &StaticResolver{stores: map[string]clientStore{"": {Client{}, s}}}
}

type clientStore struct {
	client Client
	store  Store
}

// StaticResolver is a StoreResolver over a fixed set of clients that can be
// extended at run time with Add. It is safe for concurrent use. The zero
// value is an empty resolver.
type StaticResolver struct {
	mu     sync.RWMutex
	stores map[string]clientStore
}

// Add registers (or replaces) a client's store.
func (r *StaticResolver) Add(c Client, s Store) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.stores == nil {
		r.stores = make(map[string]clientStore)
	}
	r.stores[c.ID] = clientStore{c, s}
}

// Clients implements StoreResolver; clients come sorted by ID.
func (r *StaticResolver) Clients(context.Context) ([]Client, error) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	out := make([]Client, 0, len(r.stores))
	for _, cs := range r.stores {
		out = append(out, cs.client)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, nil
}

// Store implements StoreResolver.
func (r *StaticResolver) Store(_ context.Context, clientID string) (Store, error) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	cs, ok := r.stores[clientID]
	if !ok {
		return nil, fmt.Errorf("webhooks: client %q: %w", clientID, ErrUnknownClient)
	}
	return cs.store, nil
}

type clientCtxKey struct{}

// WithClient returns a context carrying a client ID; Emit uses it when the
// event names no client.
func WithClient(ctx context.Context, clientID string) context.Context {
	return context.WithValue(ctx, clientCtxKey{}, clientID)
}

// ClientFromContext returns the client ID set by WithClient.
func ClientFromContext(ctx context.Context) (string, bool) {
	id, ok := ctx.Value(clientCtxKey{}).(string)
	return id, ok
}
