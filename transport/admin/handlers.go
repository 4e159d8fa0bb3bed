package admin

import (
	"net/http"
	"strconv"
	"time"

	webhooks "github.com/webhookkit/webhooks"
	"github.com/webhookkit/webhooks/internal/httpkit"
)

// Messages of "meta.message".
const (
	msgCreated     = "Webhook created. Save the secret key - it won't be shown again."
	msgRegenerated = "Secret regenerated. Save the new secret key - it won't be shown again."
	msgDeleted     = "Webhook deleted."
	msgRetried     = "Delivery queued for retry."
	msgPingOK      = "Test ping delivered."
	msgPingFailed  = "Test ping failed."
)

// Paging of GET /{id}/deliveries.
const (
	defaultPageLimit = 20
	maxPageLimit     = 100
)

func (c *call) ok(status int, data, meta any) error {
	writeJSON(c.w, status, envelope{Data: data, Meta: meta})
	return nil
}

func (c *call) client() string { return c.scope.Client }

// webhook loads the webhook named by the {id} wildcard and checks the
// caller's scope: another company's webhook, or a system-wide one for a
// company-scoped caller, is answered exactly like a missing one.
func (c *call) webhook(id int64) (*webhooks.Webhook, error) {
	w, err := c.h.d.GetWebhook(c.r.Context(), c.client(), id)
	if err != nil {
		return nil, err
	}
	if !c.scope.Allows(w.CompanyID) {
		return nil, errNotFound("not found")
	}
	return w, nil
}

// webhookPath parses {id} and loads the webhook; on false the response
// has been written.
func (c *call) webhookPath() (*webhooks.Webhook, bool) {
	id, ok := c.pathID("id")
	if !ok {
		return nil, false
	}
	w, err := c.webhook(id)
	if err != nil {
		c.h.writeError(c.w, c.r, err)
		return nil, false
	}
	return w, true
}

// deliveryPath parses {deliveryId}, loads the delivery and checks the scope
// through its webhook; on false the response has been written.
func (c *call) deliveryPath() (*webhooks.Delivery, bool) {
	id, ok := c.pathID("deliveryId")
	if !ok {
		return nil, false
	}
	d, err := c.h.d.Delivery(c.r.Context(), c.client(), id)
	if err == nil {
		_, err = c.webhook(d.WebhookID)
	}
	if err != nil {
		c.h.writeError(c.w, c.r, err)
		return nil, false
	}
	return d, true
}

// GET /event-types
func (c *call) eventTypes() error {
	cats := c.h.d.Registry().Categories()
	groups := make([]eventGroup, 0, len(cats)+1)
	total := 0
	for _, cat := range cats {
		g := eventGroup{Category: cat.Name, Events: make([]eventJSON, len(cat.Types))}
		for i, t := range cat.Types {
			g.Events[i] = eventJSON{Event: t.Name, Description: t.Description}
		}
		total += len(cat.Types)
		groups = append(groups, g)
	}
	groups = append(groups, eventGroup{Category: wildcardCategory,
		Events: []eventJSON{{Event: webhooks.WildcardPattern, Description: "Subscribe to ALL events"}}})
	return c.ok(http.StatusOK, groups, totalMeta{Total: total})
}

// GET /openapi.yaml
func (c *call) openAPI() error {
	h := c.w.Header()
	h.Set("Content-Type", "application/yaml; charset=utf-8")
	h.Set("X-Content-Type-Options", "nosniff")
	c.w.WriteHeader(http.StatusOK)
	_, _ = c.w.Write(openapiDoc)
	return nil
}

// GET /company/{companyId}
func (c *call) listCompany() error {
	company, ok := parseCompanyID(c.r.PathValue("companyId"))
	if !ok {
		c.h.noRoute(c.w, c.r)
		return nil
	}
	if !c.scope.Allows(company) {
		return errNotFound("not found")
	}
	p := webhooks.ListWebhooksParams{CompanyID: company, OnlySystemWide: company == nil}
	ws, err := c.h.d.ListWebhooks(c.r.Context(), c.client(), p)
	if err != nil {
		return err
	}
	out := make([]webhookJSON, len(ws))
	for i, w := range ws {
		out[i] = toWebhook(w)
	}
	return c.ok(http.StatusOK, out, listMeta{Total: len(out), Limit: c.h.d.Limits().MaxWebhooksPerCompany})
}

// POST / (the prefix itself)
func (c *call) create() error {
	var b webhookBody
	if err := c.decodeBody(&b, bodyFields); err != nil {
		return err
	}
	in := b.input()
	in.Secret = b.Secret.ptr()
	// companyId: absent takes the caller's company (none for a client-wide
	// admin: system-wide); null is system-wide; a company-scoped caller may
	// name only its own company.
	switch {
	case !b.CompanyID.set:
		in.CompanyID = c.scope.CompanyID
	case !b.CompanyID.null:
		in.CompanyID = &b.CompanyID.v
	}
	if !c.scope.Allows(in.CompanyID) {
		return errValidation(webhooks.FieldError{Field: "companyId",
			Message: "is not allowed for your scope: use " + strconv.FormatInt(*c.scope.CompanyID, 10) + " (your company) or leave it out"})
	}
	w, err := c.h.d.CreateWebhook(c.r.Context(), c.client(), in)
	if err != nil {
		return err
	}
	return c.ok(http.StatusCreated, webhookWithSecret{webhookJSON: toWebhook(w), Secret: w.Secret}, messageMeta{msgCreated})
}

// GET /{id}
func (c *call) get() error {
	w, ok := c.webhookPath()
	if !ok {
		return nil
	}
	return c.ok(http.StatusOK, toWebhook(w), nil)
}

// PUT /{id}: only the fields present change.
func (c *call) update() error {
	w, ok := c.webhookPath()
	if !ok {
		return nil
	}
	var b webhookBody
	if err := c.decodeBody(&b, bodyFields); err != nil {
		return err
	}
	var bad []webhooks.FieldError
	for _, f := range []struct {
		name string
		null bool
	}{
		{"name", b.Name.null}, {"url", b.URL.null}, {"httpMethod", b.HTTPMethod.null},
		{"contentType", b.ContentType.null}, {"timeoutMs", b.TimeoutMs.null},
		{"maxRetries", b.MaxRetries.null}, {"verifySsl", b.VerifySSL.null},
		{"autoDisableAfterFailures", b.AutoDisableAfterFailures.null},
		{"signatureScheme", b.SignatureScheme.null},
	} {
		if f.null {
			bad = append(bad, webhooks.FieldError{Field: f.name, Message: "must not be null"})
		}
	}
	if b.CompanyID.set && !sameCompany(b.CompanyID.ptr(), w.CompanyID) {
		bad = append(bad, webhooks.FieldError{Field: "companyId", Message: "cannot be changed after creation"})
	}
	if b.Secret.set {
		bad = append(bad, webhooks.FieldError{Field: "secret", Message: "cannot be updated; use POST /{id}/regenerate-secret"})
	}
	if len(bad) > 0 {
		return errValidation(bad...)
	}
	in := b.input()
	// null clears the optional fields.
	if b.Description.null {
		in.Description = webhooks.Ptr("")
	}
	if b.Events.null {
		in.Events = []string{}
	}
	if b.CustomHeaders.null {
		in.CustomHeaders = map[string]string{}
	}
	updated, err := c.h.d.UpdateWebhook(c.r.Context(), c.client(), w.ID, in)
	if err != nil {
		return err
	}
	return c.ok(http.StatusOK, toWebhook(updated), nil)
}

func sameCompany(a, b *int64) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	return *a == *b
}

// DELETE /{id}
func (c *call) delete() error {
	w, ok := c.webhookPath()
	if !ok {
		return nil
	}
	if err := c.h.d.DeleteWebhook(c.r.Context(), c.client(), w.ID); err != nil {
		return err
	}
	return c.ok(http.StatusOK, nil, messageMeta{msgDeleted})
}

// POST /{id}/enable
func (c *call) enable() error {
	w, ok := c.webhookPath()
	if !ok {
		return nil
	}
	updated, err := c.h.d.EnableWebhook(c.r.Context(), c.client(), w.ID)
	if err != nil {
		return err
	}
	return c.ok(http.StatusOK, toWebhook(updated), nil)
}

// POST /{id}/disable
func (c *call) disable() error {
	w, ok := c.webhookPath()
	if !ok {
		return nil
	}
	updated, err := c.h.d.DisableWebhook(c.r.Context(), c.client(), w.ID, "")
	if err != nil {
		return err
	}
	return c.ok(http.StatusOK, toWebhook(updated), nil)
}

// POST /{id}/regenerate-secret
func (c *call) regenerateSecret() error {
	w, ok := c.webhookPath()
	if !ok {
		return nil
	}
	// The body is optional: {"gracePeriodSeconds": n}, how long the old
	// secret keeps signing (default 24 h, 0 = stop at once, at most 7 days).
	grace := webhooks.DefaultSecretGrace
	if c.r.ContentLength != 0 {
		var b struct {
			GracePeriodSeconds *int64 `json:"gracePeriodSeconds"`
		}
		if err := c.decodeBody(&b, map[string]bool{"gracePeriodSeconds": true}); err != nil {
			return err
		}
		if b.GracePeriodSeconds != nil {
			max := int64(webhooks.MaxSecretGrace / time.Second)
			if *b.GracePeriodSeconds < 0 || *b.GracePeriodSeconds > max {
				return errValidation(webhooks.FieldError{Field: "gracePeriodSeconds",
					Message: "must be between 0 and " + strconv.FormatInt(max, 10)})
			}
			grace = time.Duration(*b.GracePeriodSeconds) * time.Second
		}
	}
	updated, err := c.h.d.RegenerateSecret(c.r.Context(), c.client(), w.ID, grace)
	if err != nil {
		return err
	}
	return c.ok(http.StatusOK, webhookWithSecret{webhookJSON: toWebhook(updated), Secret: updated.Secret}, messageMeta{msgRegenerated})
}

// POST /{id}/test
func (c *call) test() error {
	w, ok := c.webhookPath()
	if !ok {
		return nil
	}
	d, err := c.h.d.SendTest(c.r.Context(), c.client(), w.ID)
	if err != nil {
		return err
	}
	res := testResultJSON{
		DeliveryID:     d.ID,
		Status:         string(d.Status),
		Success:        d.Status == webhooks.StatusSuccess,
		ResponseStatus: optStatus(d.ResponseStatus),
		DurationMs:     d.Duration.Milliseconds(),
		ErrorMessage:   optString(d.ErrorMessage),
	}
	msg := msgPingOK
	if !res.Success {
		msg = msgPingFailed
	}
	return c.ok(http.StatusOK, res, messageMeta{msg})
}

// GET /{id}/deliveries (registered as GET /{id}/{sub})
func (c *call) deliveries() error {
	if c.r.PathValue("sub") != "deliveries" {
		c.h.noRoute(c.w, c.r)
		return nil
	}
	w, ok := c.webhookPath()
	if !ok {
		return nil
	}
	q := c.r.URL.Query()
	p := webhooks.ListDeliveriesParams{WebhookID: w.ID, Limit: defaultPageLimit}
	var bad []webhooks.FieldError
	if s, set := q["limit"]; set && s[0] != "" {
		n, err := strconv.Atoi(s[0])
		if err != nil || n < 1 || n > maxPageLimit {
			bad = append(bad, webhooks.FieldError{Field: "limit", Message: "must be an integer between 1 and " + strconv.Itoa(maxPageLimit)})
		}
		p.Limit = n
	}
	if s, set := q["cursor"]; set && s[0] != "" {
		n, ok := httpkit.ParseID(s[0])
		if !ok {
			bad = append(bad, webhooks.FieldError{Field: "cursor", Message: "must be the nextCursor of a previous page"})
		}
		p.Before = n
	}
	if s, set := q["status"]; set && s[0] != "" {
		p.Status = webhooks.DeliveryStatus(s[0])
		if !p.Status.Valid() {
			bad = append(bad, webhooks.FieldError{Field: "status", Message: "must be PENDING, RETRYING, SUCCESS or FAILED"})
		}
	}
	if len(bad) > 0 {
		return errValidation(bad...)
	}
	limit := p.Limit
	p.Limit++ // one more tells whether another page exists
	ds, err := c.h.d.Deliveries(c.r.Context(), c.client(), p)
	if err != nil {
		return err
	}
	meta := pageMeta{Limit: limit}
	if len(ds) > limit {
		ds = ds[:limit]
		next := strconv.FormatInt(ds[limit-1].ID, 10)
		meta.NextCursor = &next
	}
	out := make([]deliveryJSON, len(ds))
	for i, d := range ds {
		out[i] = toDelivery(d)
	}
	return c.ok(http.StatusOK, out, meta)
}

// GET /deliveries/{deliveryId}
func (c *call) delivery() error {
	d, ok := c.deliveryPath()
	if !ok {
		return nil
	}
	return c.ok(http.StatusOK, toDeliveryDetail(d), nil)
}

// POST /deliveries/{deliveryId}/retry
func (c *call) retry() error {
	d, ok := c.deliveryPath()
	if !ok {
		return nil
	}
	updated, err := c.h.d.RetryDelivery(c.r.Context(), c.client(), d.ID)
	if err != nil {
		return err
	}
	return c.ok(http.StatusOK, toDelivery(updated), messageMeta{msgRetried})
}
