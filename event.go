package webhooks

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"
)

// EventType describes one kind of event a host can emit, such as
// "inspection.created". Name follows the {resource}.{action} convention:
// lowercase letters, digits and underscores on each side of a single dot.
type EventType struct {
	// Name is the event code, e.g. "inspection.created". Required.
	Name string `json:"name"`
	// Category groups event types for listing, e.g. "Maintenance". Default "" (listed under "Other").
	Category string `json:"category"`
	// Description is a short human-readable sentence. Default "".
	Description string `json:"description"`
}

// Resource returns the part of the name before the dot ("inspection" for "inspection.created").
func (t EventType) Resource() string { r, _, _ := strings.Cut(t.Name, "."); return r }

// PingEventType is the reserved event type of test deliveries sent by
// Dispatcher.SendTest. It needs no registration and matches no subscription.
const PingEventType = "webhook.ping"

// WildcardPattern subscribes a webhook to every event type of its client.
const WildcardPattern = "*"

// DefaultCategory is the category listed for event types registered without one.
const DefaultCategory = "Other"

// ValidateEventTypeName reports whether name is a well-formed {resource}.{action}
// event code, and if not, why.
func ValidateEventTypeName(name string) error {
	resource, action, ok := strings.Cut(name, ".")
	if !ok {
		return fmt.Errorf("%w: event type %q: want {resource}.{action}, e.g. inspection.created", ErrInvalid, name)
	}
	if err := validateNamePart(resource); err != nil {
		return fmt.Errorf("%w: event type %q: resource %v", ErrInvalid, name, err)
	}
	if err := validateNamePart(action); err != nil {
		return fmt.Errorf("%w: event type %q: action %v", ErrInvalid, name, err)
	}
	return nil
}

func validateNamePart(s string) error {
	if s == "" {
		return fmt.Errorf("is empty")
	}
	if len(s) > 64 {
		return fmt.Errorf("is longer than 64 characters")
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c == '_':
		case c >= '0' && c <= '9' && i > 0:
		default:
			return fmt.Errorf("%q has %q: use lowercase letters, digits and _ (not first)", s, string(rune(c)))
		}
	}
	return nil
}

// Registry holds the event types a host emits. It is safe for concurrent use.
// The zero value is not usable; create one with NewRegistry.
type Registry struct {
	mu    sync.RWMutex
	types map[string]EventType
}

// NewRegistry returns a registry holding the given types. It returns an error
// naming the first malformed or duplicated type.
func NewRegistry(types ...EventType) (*Registry, error) {
	r := &Registry{types: make(map[string]EventType, len(types))}
	if err := r.Register(types...); err != nil {
		return nil, err
	}
	return r, nil
}

// MustNewRegistry is NewRegistry for package-level tables known to be valid;
// it panics on error.
func MustNewRegistry(types ...EventType) *Registry {
	r, err := NewRegistry(types...)
	if err != nil {
		panic(err)
	}
	return r
}

// Register adds event types. Nothing is added when any of them is malformed,
// reserved (webhook.*) or already registered.
func (r *Registry) Register(types ...EventType) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	seen := make(map[string]bool, len(types))
	for _, t := range types {
		if err := ValidateEventTypeName(t.Name); err != nil {
			return err
		}
		if t.Resource() == "webhook" {
			return fmt.Errorf("webhooks: event type %q: the webhook.* names are reserved for the library", t.Name)
		}
		if _, dup := r.types[t.Name]; dup || seen[t.Name] {
			return fmt.Errorf("webhooks: event type %q is registered twice", t.Name)
		}
		seen[t.Name] = true
	}
	for _, t := range types {
		if t.Category == "" {
			t.Category = DefaultCategory
		}
		r.types[t.Name] = t
	}
	return nil
}

// Lookup returns the event type registered under name.
func (r *Registry) Lookup(name string) (EventType, bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	t, ok := r.types[name]
	return t, ok
}

// List returns every registered type sorted by category, then name.
func (r *Registry) List() []EventType {
	r.mu.RLock()
	out := make([]EventType, 0, len(r.types))
	for _, t := range r.types {
		out = append(out, t)
	}
	r.mu.RUnlock()
	sort.Slice(out, func(i, j int) bool {
		if out[i].Category != out[j].Category {
			return out[i].Category < out[j].Category
		}
		return out[i].Name < out[j].Name
	})
	return out
}

// EventCategory is one group of Registry.Categories.
type EventCategory struct {
	// Name of the category.
	Name string `json:"name"`
	// Types in the category, sorted by name.
	Types []EventType `json:"types"`
}

// Categories returns the registered types grouped by category, both sorted.
func (r *Registry) Categories() []EventCategory {
	var out []EventCategory
	for _, t := range r.List() {
		if len(out) == 0 || out[len(out)-1].Name != t.Category {
			out = append(out, EventCategory{Name: t.Category})
		}
		out[len(out)-1].Types = append(out[len(out)-1].Types, t)
	}
	return out
}

// ValidatePattern checks one subscription pattern: an exact registered name,
// "*", or "resource.*" for a resource with at least one registered type.
func (r *Registry) ValidatePattern(p string) error {
	switch {
	case p == WildcardPattern:
		return nil
	case strings.HasSuffix(p, ".*"):
		res := strings.TrimSuffix(p, ".*")
		if err := validateNamePart(res); err != nil {
			return fmt.Errorf("webhooks: event pattern %q: resource %w", p, err)
		}
		r.mu.RLock()
		defer r.mu.RUnlock()
		for name := range r.types {
			if strings.HasPrefix(name, res+".") {
				return nil
			}
		}
		return fmt.Errorf("webhooks: event pattern %q: %w: no registered event type starts with %q", p, ErrUnknownEventType, res+".")
	default:
		if err := ValidateEventTypeName(p); err != nil {
			return err
		}
		if _, ok := r.Lookup(p); !ok {
			return fmt.Errorf("webhooks: %w %q", ErrUnknownEventType, p)
		}
		return nil
	}
}

// MatchPattern reports whether an event type name is selected by a
// subscription pattern (exact, "*" or "resource.*").
func MatchPattern(pattern, eventType string) bool {
	if pattern == WildcardPattern || pattern == eventType {
		return true
	}
	if res, ok := strings.CutSuffix(pattern, ".*"); ok {
		return strings.HasPrefix(eventType, res) && len(eventType) > len(res) && eventType[len(res)] == '.'
	}
	return false
}

// MatchAny reports whether any of the patterns selects eventType.
func MatchAny(patterns []string, eventType string) bool {
	for _, p := range patterns {
		if MatchPattern(p, eventType) {
			return true
		}
	}
	return false
}

// Event is something that happened in the host, delivered to every active
// webhook of its client whose company matches and whose patterns select Type.
type Event struct {
	// ID identifies the event; receivers deduplicate on it, and Emit is
	// idempotent on it within a client. Default: a random UUID (v4).
	ID string `json:"id"`
	// Type is a registered event type name. Required.
	Type string `json:"type"`
	// Time the event happened. Default: the dispatcher clock's now, in UTC.
	Time time.Time `json:"time"`
	// Client is the tenant. Default: the client in ctx (WithClient), else "",
	// the single-tenant default.
	Client Client `json:"client"`
	// Company the event belongs to. Nil: a client-wide event, delivered only to
	// system-wide webhooks (those with no company).
	Company *Company `json:"company,omitempty"`
	// Data describes the entity the event is about.
	Data EventData `json:"data"`
	// Metadata is free-form context copied into the payload. Default nil.
	Metadata map[string]any `json:"metadata,omitempty"`
}

// EventData is the entity an event concerns.
type EventData struct {
	// ID of the entity (a number or a string). Default nil.
	ID any `json:"id,omitempty"`
	// Type of the entity, e.g. "Inspection".
	Type string `json:"type,omitempty"`
	// Attributes is the entity's current state; anything encoding/json accepts.
	Attributes any `json:"attributes,omitempty"`
	// Previous holds the changed fields' prior values on update events. Default nil.
	Previous any `json:"previous,omitempty"`
}

// NewEventID returns a random RFC 4122 version 4 UUID.
func NewEventID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails on supported platforms
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	var s [36]byte
	hex.Encode(s[0:8], b[0:4])
	s[8] = '-'
	hex.Encode(s[9:13], b[4:6])
	s[13] = '-'
	hex.Encode(s[14:18], b[6:8])
	s[18] = '-'
	hex.Encode(s[19:23], b[8:10])
	s[23] = '-'
	hex.Encode(s[24:], b[10:])
	return string(s[:])
}

// freeze returns a copy of ev whose Data.Attributes, Data.Previous and
// Metadata are already-encoded JSON, so later changes by the caller cannot
// alter what is stored and the encoded size is known.
func freezeEvent(ev *Event) (*Event, error) {
	out := *ev
	var err error
	if out.Data.Attributes, err = freezeJSON(ev.Data.Attributes); err != nil {
		return nil, fmt.Errorf("webhooks: event %s: data.attributes: %w", ev.Type, err)
	}
	if out.Data.Previous, err = freezeJSON(ev.Data.Previous); err != nil {
		return nil, fmt.Errorf("webhooks: event %s: data.previous: %w", ev.Type, err)
	}
	if ev.Metadata != nil {
		out.Metadata = make(map[string]any, len(ev.Metadata))
		for k, v := range ev.Metadata {
			raw, err := freezeJSON(v)
			if err != nil {
				return nil, fmt.Errorf("webhooks: event %s: metadata.%s: %w", ev.Type, k, err)
			}
			out.Metadata[k] = raw
		}
	}
	return &out, nil
}

func freezeJSON(v any) (any, error) {
	switch v := v.(type) {
	case nil:
		return nil, nil
	case json.RawMessage:
		if !json.Valid(v) {
			return nil, fmt.Errorf("invalid JSON")
		}
		return v, nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	if string(b) == "null" {
		return nil, nil
	}
	return json.RawMessage(b), nil
}

// MarshalEvent encodes an event for storage. Stores keep these bytes
// verbatim and hand them back in ClaimedDelivery.Payload.
func MarshalEvent(ev *Event) ([]byte, error) { return json.Marshal(ev) }

// UnmarshalEvent decodes bytes produced by MarshalEvent. Attributes, Previous
// and Metadata values come back as json.RawMessage.
func UnmarshalEvent(b []byte) (*Event, error) {
	var wire struct {
		Event
		Data struct {
			ID         json.RawMessage `json:"id"`
			Type       string          `json:"type"`
			Attributes json.RawMessage `json:"attributes"`
			Previous   json.RawMessage `json:"previous"`
		} `json:"data"`
		Metadata map[string]json.RawMessage `json:"metadata"`
	}
	if err := json.Unmarshal(b, &wire); err != nil {
		return nil, fmt.Errorf("webhooks: decoding stored event: %w", err)
	}
	ev := wire.Event
	ev.Data = EventData{Type: wire.Data.Type}
	if len(wire.Data.ID) > 0 {
		ev.Data.ID = wire.Data.ID
	}
	if len(wire.Data.Attributes) > 0 {
		ev.Data.Attributes = wire.Data.Attributes
	}
	if len(wire.Data.Previous) > 0 {
		ev.Data.Previous = wire.Data.Previous
	}
	if wire.Metadata != nil {
		ev.Metadata = make(map[string]any, len(wire.Metadata))
		for k, v := range wire.Metadata {
			ev.Metadata[k] = v
		}
	}
	return &ev, nil
}
