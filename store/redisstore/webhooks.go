package redisstore

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"time"

	webhooks "github.com/webhookkit/webhooks"
)

// configFields are the webhook hash fields UpdateWebhook overwrites, with
// their values from w.
func configFields(w *webhooks.Webhook) ([]any, error) {
	events := w.Events
	if events == nil {
		events = []string{}
	}
	ev, err := json.Marshal(events)
	if err != nil {
		return nil, err
	}
	headers := w.CustomHeaders
	if headers == nil {
		headers = map[string]string{}
	}
	hd, err := json.Marshal(headers)
	if err != nil {
		return nil, err
	}
	return []any{
		"name", w.Name,
		"desc", w.Description,
		"url", w.URL,
		"events", string(ev),
		"headers", string(hd),
		"method", w.HTTPMethod,
		"ctype", w.ContentType,
		"timeout", itoa(int64(w.Timeout)),
		"retries", itoa(int64(w.MaxRetries)),
		"verify", flag(w.VerifySSL),
		"autodis", itoa(int64(w.AutoDisableAfterFailures)),
		"updated", micros(w.UpdatedAt),
		"filters", string(w.Filters), // "" = no filter
	}, nil
}

func flag(b bool) string {
	if b {
		return "1"
	}
	return "0"
}

// webhookFrom decodes a webhook hash (with its "id" field).
func webhookFrom(m map[string]string) *webhooks.Webhook {
	co, hasCo := m["co"]
	w := &webhooks.Webhook{
		ID:                       atoi64(m["id"]),
		CompanyID:                optInt64(co, hasCo),
		Name:                     m["name"],
		Description:              m["desc"],
		URL:                      m["url"],
		HTTPMethod:               m["method"],
		ContentType:              m["ctype"],
		Timeout:                  time.Duration(atoi64(m["timeout"])),
		MaxRetries:               atoi(m["retries"]),
		VerifySSL:                m["verify"] == "1",
		AutoDisableAfterFailures: atoi(m["autodis"]),
		IsActive:                 m["active"] == "1",
		Secret:                   m["secret"],
		ConsecutiveFailures:      atoi(m["fails"]),
		DisabledReason:           m["reason"],
		CreatedAt:                fromMicros(m["created"]),
		UpdatedAt:                fromMicros(m["updated"]),
	}
	w.Events = []string{}
	if v := m["events"]; v != "" {
		_ = json.Unmarshal([]byte(v), &w.Events)
	}
	w.CustomHeaders = map[string]string{}
	if v := m["headers"]; v != "" {
		_ = json.Unmarshal([]byte(v), &w.CustomHeaders)
	}
	if v := m["filters"]; v != "" {
		w.Filters = json.RawMessage(v)
	}
	return w
}

// webhooksFrom decodes an array of webhook hashes.
func webhooksFrom(v any) []*webhooks.Webhook {
	arr := list(v)
	out := make([]*webhooks.Webhook, 0, len(arr))
	for _, h := range arr {
		out = append(out, webhookFrom(hashOf(h)))
	}
	return out
}

// CreateWebhook implements webhooks.Store with create_webhook.lua. It sets
// w.ID from an INCR counter (IDs start at 1 and are never reused). A zero
// CreatedAt becomes the current time and a zero UpdatedAt CreatedAt (both
// written back to w). maxPerCompany <= 0 means no limit; otherwise the
// call fails with an error wrapping webhooks.ErrWebhookLimit when w's
// company (nil: the system-wide webhooks) already has that many. The count
// and the insert are one atomic script.
func (s *Store) CreateWebhook(ctx context.Context, w *webhooks.Webhook, maxPerCompany int) error {
	if w == nil {
		return fmt.Errorf("redisstore: create webhook: nil webhook: %w", webhooks.ErrInvalid)
	}
	if w.CreatedAt.IsZero() {
		w.CreatedAt = time.Now().UTC()
	}
	if w.UpdatedAt.IsZero() {
		w.UpdatedAt = w.CreatedAt
	}
	fields, err := configFields(w)
	if err != nil {
		return fmt.Errorf("redisstore: create webhook: %w", err)
	}
	fields = append(fields,
		"active", flag(w.IsActive),
		"secret", w.Secret,
		"fails", itoa(int64(w.ConsecutiveFailures)),
		"reason", w.DisabledReason,
		"created", micros(w.CreatedAt),
	)
	if w.CompanyID != nil {
		fields = append(fields, "co", itoa(*w.CompanyID))
	}
	args := append([]any{maxPerCompany}, fields...)
	res, err := s.run(ctx, scriptCreateWebhook, []string{s.key("seq", "webhook"), s.key("webhooks"), s.scopeKey(w.CompanyID)}, args...)
	if err != nil {
		return wrap("create webhook", err)
	}
	r := list(res)
	if len(r) != 2 {
		return fmt.Errorf("redisstore: create webhook: unexpected reply %v", res)
	}
	if str(r[0]) == "LIMIT" {
		return fmt.Errorf("redisstore: create webhook: %d webhooks already exist for %s: %w",
			int64Of(r[1]), companyLabel(w.CompanyID), webhooks.ErrWebhookLimit)
	}
	w.ID = int64Of(r[1])
	return nil
}

func companyLabel(c *int64) string {
	if c == nil {
		return "system-wide"
	}
	return fmt.Sprintf("company %d", *c)
}

// GetWebhook implements webhooks.Store: one HGETALL. The webhook comes
// with its secret; a missing one gives an error wrapping
// webhooks.ErrNotFound.
func (s *Store) GetWebhook(ctx context.Context, id int64) (*webhooks.Webhook, error) {
	m, err := s.rdb.HGetAll(ctx, s.webhookKey(id)).Result()
	if err != nil {
		return nil, wrap(fmt.Sprintf("get webhook %d", id), err)
	}
	if len(m) == 0 {
		return nil, fmt.Errorf("redisstore: webhook %d: %w", id, webhooks.ErrNotFound)
	}
	m["id"] = itoa(id)
	return webhookFrom(m), nil
}

// UpdateWebhook implements webhooks.Store with update_webhook.lua: it
// overwrites the configuration fields of w.ID (name, description, URL,
// events, custom headers, filters, method, content type, timeout, retries,
// TLS verification, auto-disable threshold and UpdatedAt; a zero UpdatedAt
// becomes the current time, written back to w) and moves the webhook's
// match-index entries to its new patterns. Company, secret, activity,
// failure counter, disabled reason and CreatedAt are kept.
func (s *Store) UpdateWebhook(ctx context.Context, w *webhooks.Webhook) error {
	if w == nil {
		return fmt.Errorf("redisstore: update webhook: nil webhook: %w", webhooks.ErrInvalid)
	}
	if w.UpdatedAt.IsZero() {
		w.UpdatedAt = time.Now().UTC()
	}
	fields, err := configFields(w)
	if err != nil {
		return fmt.Errorf("redisstore: update webhook %d: %w", w.ID, err)
	}
	args := append([]any{itoa(w.ID)}, fields...)
	res, err := s.run(ctx, scriptUpdateWebhook, []string{s.webhookKey(w.ID)}, args...)
	if err != nil {
		return wrap(fmt.Sprintf("update webhook %d", w.ID), err)
	}
	return s.statusReply(res, "webhook", w.ID)
}

// statusReply maps a script's "NOTFOUND" to webhooks.ErrNotFound.
func (s *Store) statusReply(res any, what string, id int64) error {
	if str(res) == "NOTFOUND" {
		return fmt.Errorf("redisstore: %s %d: %w", what, id, webhooks.ErrNotFound)
	}
	return nil
}

// SetWebhookActive implements webhooks.Store with set_active.lua.
// Enabling resets ConsecutiveFailures to 0 and DisabledReason to "", puts
// the webhook's waiting deliveries back in the claim queue and publishes a
// wake-up; disabling records reason and takes the webhook out of matching
// and claiming (its deliveries wait). UpdatedAt becomes now.
func (s *Store) SetWebhookActive(ctx context.Context, id int64, active bool, reason string, now time.Time) error {
	res, err := s.run(ctx, scriptSetActive, []string{s.webhookKey(id), s.key("ready")},
		itoa(id), flag(active), reason, micros(nowOr(now)))
	if err != nil {
		return wrap(fmt.Sprintf("set webhook %d active", id), err)
	}
	return s.statusReply(res, "webhook", id)
}

// SetWebhookSecret implements webhooks.Store with set_secret.lua: it
// replaces the secret and sets UpdatedAt to now.
func (s *Store) SetWebhookSecret(ctx context.Context, id int64, secret string, now time.Time) error {
	res, err := s.run(ctx, scriptSetSecret, []string{s.webhookKey(id)}, secret, micros(nowOr(now)))
	if err != nil {
		return wrap(fmt.Sprintf("set webhook %d secret", id), err)
	}
	return s.statusReply(res, "webhook", id)
}

// DeleteWebhook implements webhooks.Store with delete_webhook.lua: the
// webhook and its indexes go in one step, and with them (invisibly to every
// other method from then on) its deliveries and attempts, which are then
// deleted Batch at a time. Events stay (for idempotency) until Purge finds
// them without deliveries. Should the process stop halfway, the next Purge
// finishes the job.
func (s *Store) DeleteWebhook(ctx context.Context, id int64) error {
	res, err := s.run(ctx, scriptDeleteWebhook,
		[]string{s.webhookKey(id), s.key("webhooks"), s.key("ready"), s.key("trash")}, itoa(id), Batch)
	if err != nil {
		return wrap(fmt.Sprintf("delete webhook %d", id), err)
	}
	if err := s.statusReply(res, "webhook", id); err != nil {
		return err
	}
	if int64Of(res) > 0 {
		if err := s.drainTrash(ctx, id); err != nil {
			return fmt.Errorf("redisstore: delete webhook %d: deleting its deliveries: %w", id, err)
		}
	}
	return nil
}

// drainTrash deletes the deliveries left of deleted webhook id.
func (s *Store) drainTrash(ctx context.Context, id int64) error {
	for {
		res, err := s.run(ctx, scriptTrash, []string{s.key("trash")}, itoa(id), Batch)
		if err != nil {
			return err
		}
		if int64Of(res) == 0 {
			return nil
		}
	}
}

// ListWebhooks implements webhooks.Store with list_webhooks.lua: webhooks
// ordered by ID, from the index of p.CompanyID, or of the system-wide
// webhooks when p.OnlySystemWide, or of all.
func (s *Store) ListWebhooks(ctx context.Context, p webhooks.ListWebhooksParams) ([]*webhooks.Webhook, error) {
	idx := s.key("webhooks")
	switch {
	case p.CompanyID != nil:
		idx = s.scopeKey(p.CompanyID)
	case p.OnlySystemWide:
		idx = s.scopeKey(nil)
	}
	res, err := s.run(ctx, scriptListWebhooks, []string{idx})
	if err != nil {
		return nil, wrap("list webhooks", err)
	}
	return webhooksFrom(res), nil
}

// MatchWebhooks implements webhooks.Store with match.lua: one SUNION of the
// match-index sets (system-wide and, when p.CompanyID is set, the
// company's; for the patterns "*", p.EventType and every "resource.*" that
// selects it), which hold only active webhooks, then the webhooks' hashes,
// ordered by ID. Its cost grows with the webhooks that match, not with
// those that exist.
func (s *Store) MatchWebhooks(ctx context.Context, p webhooks.MatchParams) ([]*webhooks.Webhook, error) {
	patterns := []string{webhooks.WildcardPattern, p.EventType}
	for i := 0; i < len(p.EventType); i++ {
		if p.EventType[i] == '.' {
			patterns = append(patterns, p.EventType[:i]+".*")
		}
	}
	scopes := []string{"s"}
	if p.CompanyID != nil {
		scopes = append(scopes, "c"+itoa(*p.CompanyID))
	}
	keys := make([]string, 0, len(scopes)*len(patterns))
	for _, sc := range scopes {
		for _, pat := range patterns {
			keys = append(keys, s.key("sub", sc, pat))
		}
	}
	res, err := s.run(ctx, scriptMatch, keys)
	if err != nil {
		return nil, wrap("match webhooks", err)
	}
	all := webhooksFrom(res)
	out := all[:0]
	for _, w := range all {
		// The index already selects; this only guards against a hash
		// changed by hand.
		if w.IsActive && webhooks.MatchAny(w.Events, p.EventType) && companyMatches(w.CompanyID, p.CompanyID) {
			out = append(out, w)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, nil
}

func companyMatches(hook, event *int64) bool {
	return hook == nil || (event != nil && *hook == *event)
}
