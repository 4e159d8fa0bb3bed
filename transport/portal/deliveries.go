package portal

import (
	"net/http"
	"net/url"
	"sort"
	"strconv"

	webhooks "github.com/webhookkit/webhooks"
	"github.com/webhookkit/webhooks/internal/httpkit"
)

// The webhook page (its settings, chart and delivery log) and the delivery
// detail.

// logPageSize is how many deliveries one page of the log shows.
const logPageSize = 20

// bodyExcerpt is how much of a response body the detail shows.
const bodyExcerpt = 4 << 10

var statuses = []webhooks.DeliveryStatus{webhooks.StatusPending, webhooks.StatusRetrying, webhooks.StatusSuccess, webhooks.StatusFailed}

type webhookPage struct {
	W        *webhooks.Webhook
	Rows     []*webhooks.Delivery
	Status   webhooks.DeliveryStatus
	Statuses []webhooks.DeliveryStatus
	Before   int64
	Older    string // URL of the next page; "" on the last
	Newest   string // URL of the first page; "" on it
	Chart    chart
	Graces   any
}

// GET /webhooks/{id}?status=FAILED&before=123
func (c *call) show() error {
	w, err := c.webhook()
	if err != nil {
		return err
	}
	q := c.r.URL.Query()
	p := webhooks.ListDeliveriesParams{WebhookID: w.ID, Limit: logPageSize + 1}
	if s := q.Get("status"); s != "" {
		p.Status = webhooks.DeliveryStatus(s)
		if !p.Status.Valid() {
			return errStatus(http.StatusBadRequest, "The status filter must be PENDING, RETRYING, SUCCESS or FAILED.")
		}
	}
	if s := q.Get("before"); s != "" {
		n, ok := httpkit.ParseID(s)
		if !ok {
			return errStatus(http.StatusBadRequest, "The page link is malformed: use the Older and Newest links.")
		}
		p.Before = n
	}
	ctx := c.r.Context()
	rows, err := c.h.d.Deliveries(ctx, c.scope.Client, p)
	if err != nil {
		return err
	}
	page := webhookPage{W: w, Status: p.Status, Statuses: statuses, Before: p.Before, Graces: graceChoices}
	link := func(before int64) string {
		v := url.Values{}
		if p.Status != "" {
			v.Set("status", string(p.Status))
		}
		if before > 0 {
			v.Set("before", strconv.FormatInt(before, 10))
		}
		u := c.h.prefix + webhookPath(w.ID)
		if len(v) > 0 {
			u += "?" + v.Encode()
		}
		return u + "#log"
	}
	if len(rows) > logPageSize {
		rows = rows[:logPageSize]
		page.Older = link(rows[logPageSize-1].ID)
	}
	if p.Before > 0 {
		page.Newest = link(0)
	}
	page.Rows = rows
	if page.Chart, err = c.chart(w.ID); err != nil {
		return err
	}
	return c.render(http.StatusOK, "webhook", w.Name, page)
}

type deliveryPage struct {
	W         *webhooks.Webhook
	D         *webhooks.Delivery
	Attempts  []attemptView
	Retryable bool
	// Test is set when the page follows "Send test": the ping's outcome.
	Test     bool
	TestOK   bool
	BackLink string
}

type attemptView struct {
	webhooks.Attempt
	Request   []headerLine
	Response  []headerLine
	Body      string
	Truncated bool
}

type headerLine struct{ Name, Value string }

// GET /webhooks/{id}/deliveries/{did}
func (c *call) delivery() error {
	w, d, err := c.loadDelivery()
	if err != nil {
		return err
	}
	page := deliveryPage{
		W: w, D: d,
		Retryable: d.Status == webhooks.StatusFailed || d.Status == webhooks.StatusRetrying,
		Test:      c.r.URL.Query().Get("done") == "test" && d.EventType == webhooks.PingEventType,
		TestOK:    d.Status == webhooks.StatusSuccess,
		BackLink:  c.h.prefix + webhookPath(w.ID) + "#log",
	}
	// Newest attempt first, as the log is ordered.
	for i := len(d.Attempts) - 1; i >= 0; i-- {
		a := d.Attempts[i]
		v := attemptView{Attempt: a, Request: headerLines(a.RequestHeaders), Response: headerLines(a.ResponseHeaders)}
		v.Body, v.Truncated = httpkit.Excerpt(a.ResponseBody, bodyExcerpt)
		page.Attempts = append(page.Attempts, v)
	}
	return c.render(http.StatusOK, "delivery", "Delivery "+strconv.FormatInt(d.ID, 10), page)
}

// POST /webhooks/{id}/deliveries/{did}/retry
func (c *call) retry() error {
	w, d, err := c.loadDelivery()
	if err != nil {
		return err
	}
	if _, err := c.h.d.RetryDelivery(c.r.Context(), c.scope.Client, d.ID); err != nil {
		return err
	}
	return c.redirect(deliveryPath(w.ID, d.ID), "retried")
}

// loadDelivery loads the webhook (scope-checked) and its delivery named by
// {did}; a delivery of another webhook is answered 404.
func (c *call) loadDelivery() (*webhooks.Webhook, *webhooks.Delivery, error) {
	w, err := c.webhook()
	if err != nil {
		return nil, nil, err
	}
	id, ok := httpkit.ParseID(c.r.PathValue("did"))
	if !ok {
		return nil, nil, webhooks.ErrNotFound
	}
	d, err := c.h.d.Delivery(c.r.Context(), c.scope.Client, id)
	if err != nil {
		return nil, nil, err
	}
	if d.WebhookID != w.ID {
		return nil, nil, webhooks.ErrNotFound
	}
	return w, d, nil
}

// headerLines sorts headers for display, one line per value.
func headerLines(h http.Header) []headerLine {
	names := make([]string, 0, len(h))
	for k := range h {
		names = append(names, k)
	}
	sort.Strings(names)
	var out []headerLine
	for _, k := range names {
		for _, v := range h[k] {
			out = append(out, headerLine{k, v})
		}
	}
	return out
}
