package portal

import (
	"net/http"
	"strconv"
	"time"

	webhooks "github.com/webhookkit/webhooks"
	"github.com/webhookkit/webhooks/internal/httpkit"
)

// The webhook list and the actions on one webhook.

// webhook loads the webhook named by the {id} wildcard and checks the
// caller's scope: another company's webhook, or a system-wide one for a
// company-scoped caller, is answered exactly like a missing one (404), so
// its existence does not leak.
func (c *call) webhook() (*webhooks.Webhook, error) {
	id, ok := httpkit.ParseID(c.r.PathValue("id"))
	if !ok {
		return nil, errStatus(http.StatusNotFound, "There is no such page.")
	}
	w, err := c.h.d.GetWebhook(c.r.Context(), c.scope.Client, id)
	if err != nil {
		return nil, err
	}
	if !c.scope.Allows(w.CompanyID) {
		return nil, webhooks.ErrNotFound
	}
	w.Secret = "" // never rendered outside the secret page
	return w, nil
}

// listRow is one webhook of the list with its latest delivery.
type listRow struct {
	W    *webhooks.Webhook
	Last *webhooks.Delivery
}

type listPage struct {
	Rows  []listRow
	Limit int
	// AllCompanies: the caller is the client-wide admin, so each row says
	// whose webhook it is.
	AllCompanies bool
}

// GET /
func (c *call) list() error {
	ctx := c.r.Context()
	ws, err := c.h.d.ListWebhooks(ctx, c.scope.Client, webhooks.ListWebhooksParams{CompanyID: c.scope.CompanyID})
	if err != nil {
		return err
	}
	rows := make([]listRow, len(ws))
	for i, w := range ws {
		w.Secret = ""
		rows[i].W = w
		last, err := c.h.d.Deliveries(ctx, c.scope.Client, webhooks.ListDeliveriesParams{WebhookID: w.ID, Limit: 1})
		if err != nil {
			return err
		}
		if len(last) > 0 {
			rows[i].Last = last[0]
		}
	}
	return c.render(http.StatusOK, "list", "Webhooks", listPage{
		Rows: rows, Limit: c.h.d.Limits().MaxWebhooksPerCompany, AllCompanies: c.scope.CompanyID == nil,
	})
}

// POST /webhooks/{id}/enable
func (c *call) enable() error {
	w, err := c.webhook()
	if err != nil {
		return err
	}
	if _, err := c.h.d.EnableWebhook(c.r.Context(), c.scope.Client, w.ID); err != nil {
		return err
	}
	return c.redirect(webhookPath(w.ID), "enabled")
}

// POST /webhooks/{id}/disable
func (c *call) disable() error {
	w, err := c.webhook()
	if err != nil {
		return err
	}
	if _, err := c.h.d.DisableWebhook(c.r.Context(), c.scope.Client, w.ID, "disabled in the portal"); err != nil {
		return err
	}
	return c.redirect(webhookPath(w.ID), "disabled")
}

// GET /webhooks/{id}/delete: a confirmation page, so that deleting takes a
// second, deliberate step without relying on a script.
func (c *call) confirmDelete() error {
	w, err := c.webhook()
	if err != nil {
		return err
	}
	return c.render(http.StatusOK, "delete", "Delete "+w.Name, w)
}

// POST /webhooks/{id}/delete
func (c *call) delete() error {
	w, err := c.webhook()
	if err != nil {
		return err
	}
	if err := c.h.d.DeleteWebhook(c.r.Context(), c.scope.Client, w.ID); err != nil {
		return err
	}
	return c.redirect("/", "deleted")
}

// graceChoices are the regeneration grace periods the page offers.
var graceChoices = []struct {
	Seconds int64
	Label   string
}{
	{0, "none: the old secret stops at once"},
	{3600, "1 hour"},
	{86400, "24 hours"},
	{604800, "7 days"},
}

// secretPage shows a secret once, after creation or regeneration; Gone
// when it was already shown (or the two minutes passed).
type secretPage struct {
	W           *webhooks.Webhook
	Secret      string
	Regenerated bool
	Grace       string
	Gone        bool
}

// POST /webhooks/{id}/secret
func (c *call) regenerate() error {
	w, err := c.webhook()
	if err != nil {
		return err
	}
	grace, label := time.Duration(-1), ""
	for _, g := range graceChoices {
		if c.r.PostFormValue("grace") == strconv.FormatInt(g.Seconds, 10) {
			grace, label = time.Duration(g.Seconds)*time.Second, g.Label
		}
	}
	if grace < 0 {
		return errStatus(http.StatusBadRequest, "Choose how long the old secret keeps working.")
	}
	updated, err := c.h.d.RegenerateSecret(c.r.Context(), c.scope.Client, w.ID, grace)
	if err != nil {
		return err
	}
	return c.flashSecret(updated, true, label)
}

// flashSecret hands a new secret to the page that shows it (see
// secretflash.go) and redirects there.
func (c *call) flashSecret(w *webhooks.Webhook, regenerated bool, grace string) error {
	c.h.flash.set(c.w, c.r, secretFlash{
		Webhook: w.ID, Scope: scopeKey(c.scope), Secret: w.Secret, Regenerated: regenerated, Grace: grace,
		Expires: time.Now().Add(flashTTL).Unix(),
	})
	return c.redirect(webhookPath(w.ID)+"/secret", "")
}

// GET /webhooks/{id}/secret: the secret, once.
func (c *call) secret() error {
	w, err := c.webhook()
	if err != nil {
		return err
	}
	fl, err := c.h.flash.take(c.w, c.r, w.ID, c.scope)
	if err != nil {
		return c.render(http.StatusOK, "secret", "Signing secret", secretPage{W: w, Gone: true})
	}
	return c.render(http.StatusOK, "secret", "Signing secret", secretPage{
		W: w, Secret: fl.Secret, Regenerated: fl.Regenerated, Grace: fl.Grace,
	})
}

// POST /webhooks/{id}/test: sends a ping now and shows its delivery.
func (c *call) test() error {
	w, err := c.webhook()
	if err != nil {
		return err
	}
	d, err := c.h.d.SendTest(c.r.Context(), c.scope.Client, w.ID)
	if err != nil {
		return err
	}
	return c.redirect(deliveryPath(w.ID, d.ID), "test")
}

func webhookPath(id int64) string { return "/webhooks/" + strconv.FormatInt(id, 10) }

func deliveryPath(webhookID, deliveryID int64) string {
	return webhookPath(webhookID) + "/deliveries/" + strconv.FormatInt(deliveryID, 10)
}
