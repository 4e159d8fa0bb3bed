package portal_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	webhooks "github.com/webhookkit/webhooks"
)

// Test pings, the delivery log, the delivery detail, retries and the chart.

func TestSendTestShowsTheOutcome(t *testing.T) {
	e := newEnv(t)
	w := e.create(t, "acme", webhooks.Ptr[int64](1), "hq")
	u := e.as(t, "acme/1")

	p := u.post(idPath(w.ID)+"/test", nil)
	require.Equal(t, http.StatusSeeOther, p.status, text(p.body))
	loc := p.header.Get("Location")
	require.Regexp(t, `^/portal/webhooks/\d+/deliveries/\d+\?done=test$`, loc)
	require.EqualValues(t, 1, e.hits.Load(), "the ping was sent before the answer")
	page := text(u.get(strings.TrimPrefix(loc, "/portal")).body)
	require.Regexp(t, `Test ping delivered: HTTP 200 in \d+ ms\.`, page)
	require.Contains(t, page, "webhook.ping")
	require.Contains(t, page, "SUCCESS")

	e.down.Store(true)
	p = u.post(idPath(w.ID)+"/test", nil)
	require.Equal(t, http.StatusSeeOther, p.status)
	page = text(u.get(strings.TrimPrefix(p.header.Get("Location"), "/portal")).body)
	require.Contains(t, page, "Test ping failed: HTTP 503")
	require.Contains(t, page, "FAILED")
	require.Contains(t, page, "Retry now")

	// Without ?done=test the banner is not shown: it is not a flash a link can fake.
	plain := text(u.get(strings.TrimSuffix(strings.TrimPrefix(p.header.Get("Location"), "/portal"), "?done=test")).body)
	require.NotContains(t, plain, "Test ping failed")
}

func TestDeliveryDetailShowsEveryAttemptAndRetries(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	w := e.create(t, "acme", webhooks.Ptr[int64](1), "hq")
	e.down.Store(true)
	d, err := e.d.SendTest(ctx, "acme", w.ID)
	require.NoError(t, err)
	u := e.as(t, "acme/1")
	path := idPath(w.ID) + "/deliveries/" + strconv.FormatInt(d.ID, 10)

	body := u.get(path).body
	att := between(t, body, `<section class="attempt"`, "</section>")
	require.Contains(t, text(att), "Attempt 1 — HTTP 503")
	require.Regexp(t, `\d+ ms`, text(att))
	require.Contains(t, text(att), "Error: HTTP 503")
	require.Contains(t, att, "&lt;b&gt;down for maintenance&lt;/b&gt;", "the response body is shown escaped")
	require.Contains(t, text(att), "Request headers")
	require.Contains(t, att, "Webhook-Signature", "request headers are listed")
	require.Contains(t, att, "Content-Type</th>", "response headers are listed")

	e.down.Store(false)
	p := u.post(path+"/retry", nil)
	require.Equal(t, http.StatusSeeOther, p.status)
	require.Equal(t, "/portal"+path+"?done=retried", p.header.Get("Location"))
	after, err := e.d.Delivery(ctx, "acme", d.ID)
	require.NoError(t, err)
	require.Equal(t, webhooks.StatusRetrying, after.Status)
	page := text(u.get(path + "?done=retried").body)
	require.Contains(t, page, "Delivery queued for retry.")
	require.Contains(t, page, "RETRYING")

	// The running dispatcher sends it; the detail then lists both attempts, newest first.
	require.NoError(t, e.d.Start(ctx))
	t.Cleanup(func() {
		sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		require.NoError(t, e.d.Stop(sctx))
	})
	require.Eventually(t, func() bool {
		got, err := e.d.Delivery(ctx, "acme", d.ID)
		return err == nil && got.Status == webhooks.StatusSuccess
	}, 10*time.Second, 5*time.Millisecond)
	body = u.get(path).body
	heads := regexp.MustCompile(`<h3>([^<]*)</h3>`).FindAllStringSubmatch(body, -1)
	require.Len(t, heads, 2)
	require.Contains(t, heads[0][1], "Attempt 2 — HTTP 200")
	require.Contains(t, heads[1][1], "Attempt 1 — HTTP 503")
	require.NotContains(t, body, "Retry now", "a delivered delivery offers no retry")

	// Retrying it anyway is refused.
	p = u.post(path+"/retry", nil)
	require.Equal(t, http.StatusConflict, p.status)
	require.Contains(t, text(p.body), "Only failed deliveries")
}

func TestLongResponseBodiesAreCut(t *testing.T) {
	e := newEnv(t)
	long := httptestServer(t, strings.Repeat("é", 5000))
	name := "long"
	w, err := e.d.CreateWebhook(context.Background(), "acme", webhooks.WebhookInput{
		CompanyID: webhooks.Ptr[int64](1), Name: &name, URL: &long})
	require.NoError(t, err)
	d, err := e.d.SendTest(context.Background(), "acme", w.ID)
	require.NoError(t, err)
	body := e.as(t, "acme/1").get(idPath(w.ID) + "/deliveries/" + strconv.FormatInt(d.ID, 10)).body
	require.Contains(t, body, "Response body (first 4 KiB)")
	pre := text(between(t, body, `<pre class="body"`, "</pre>"))
	require.Equal(t, strings.Repeat("é", 2048), pre, "cut at 4 KiB on a character boundary")
}

func TestDeliveryLogFiltersAndPages(t *testing.T) {
	// The pings are a second apart on the injected clock, so the log's
	// order (newest first) is also the order they were sent in.
	clk := &clock{now: time.Date(2026, 3, 10, 9, 0, 0, 0, time.UTC)}
	e := newEnv(t, envConfig{clock: clk})
	ctx := context.Background()
	w := e.create(t, "acme", webhooks.Ptr[int64](1), "hq")
	var ids []int64
	for i := 0; i < 23; i++ {
		clk.Set(clk.Now().Add(time.Second))
		e.down.Store(i%8 == 0) // 0, 8, 16 fail
		d, err := e.d.SendTest(ctx, "acme", w.ID)
		require.NoError(t, err)
		ids = append(ids, d.ID)
	}
	u := e.as(t, "acme/1")
	rowIDs := func(body string) []string {
		var out []string
		for _, m := range regexp.MustCompile(`<td data-label="Delivery"><a href="[^"]+">#(\d+)</a>`).FindAllStringSubmatch(body, -1) {
			out = append(out, m[1])
		}
		return out
	}
	first := u.get(idPath(w.ID)).body
	got := rowIDs(first)
	require.Len(t, got, 20)
	require.Equal(t, strconv.FormatInt(ids[22], 10), got[0], "newest first")
	require.Equal(t, strconv.FormatInt(ids[3], 10), got[19])
	older := regexp.MustCompile(`<a class="btn" href="([^"]+)">Older →</a>`).FindStringSubmatch(first)
	require.NotNil(t, older)
	require.NotContains(t, first, "← Newest")
	next := strings.TrimPrefix(strings.ReplaceAll(older[1], "&amp;", "&"), "/portal")
	second := u.get(next).body
	require.Equal(t, []string{strconv.FormatInt(ids[2], 10), strconv.FormatInt(ids[1], 10), strconv.FormatInt(ids[0], 10)}, rowIDs(second))
	require.NotContains(t, second, "Older →")
	require.Contains(t, second, "← Newest")

	failed := u.get(idPath(w.ID) + "?status=FAILED").body
	require.Equal(t, []string{strconv.FormatInt(ids[16], 10), strconv.FormatInt(ids[8], 10), strconv.FormatInt(ids[0], 10)}, rowIDs(failed))
	require.Contains(t, failed, `<option value="FAILED" selected>`)
	require.Contains(t, text(failed), "Deliveries, newest first — FAILED only")
	require.Empty(t, rowIDs(u.get(idPath(w.ID)+"?status=PENDING").body))
	require.Contains(t, text(u.get(idPath(w.ID)+"?status=PENDING").body), "No deliveries with status PENDING yet")

	for _, bad := range []string{"?status=LOST", "?before=abc", "?before=-3"} {
		p := u.get(idPath(w.ID) + bad)
		require.Equal(t, http.StatusBadRequest, p.status, bad)
	}
}

func TestChartCountsTheLast24HoursByTheInjectedClock(t *testing.T) {
	clk := &clock{}
	e := newEnv(t, envConfig{clock: clk})
	ctx := context.Background()
	w := e.create(t, "acme", webhooks.Ptr[int64](1), "hq")
	day := time.Date(2026, 3, 10, 0, 0, 0, 0, time.UTC)
	send := func(at time.Time, ok bool) {
		t.Helper()
		clk.Set(at)
		e.down.Store(!ok)
		_, err := e.d.SendTest(ctx, "acme", w.ID)
		require.NoError(t, err)
	}
	send(day.Add(-2*time.Hour), true) // outside the window
	send(day.Add(9*time.Hour+5*time.Minute), true)
	send(day.Add(9*time.Hour+55*time.Minute), true)
	send(day.Add(9*time.Hour+30*time.Minute), false)
	send(day.Add(14*time.Hour), false)
	clk.Set(day.Add(22*time.Hour + 40*time.Minute))

	body := e.as(t, "acme/1").get(idPath(w.ID)).body
	svg := between(t, body, `<svg class="chart"`, "</svg>")
	require.Contains(t, svg, "Deliveries per hour from 2026-03-09 23:00:00 UTC: 2 delivered, 2 failed, 0 in progress")
	require.Contains(t, svg, "<title>Mar 10 09:00–10:00 UTC: 2 delivered, 1 failed, 0 in progress</title>")
	require.Contains(t, svg, "<title>Mar 10 14:00–15:00 UTC: 0 delivered, 1 failed, 0 in progress</title>")
	require.Contains(t, svg, "<title>Mar 10 22:00–23:00 UTC: 0 delivered, 0 failed, 0 in progress</title>")
	require.Equal(t, 24, strings.Count(svg, "<g>"), "one bar per hour")
	require.Equal(t, 1, strings.Count(svg, `class="bar-ok"`), "09:00 has a delivered segment")
	require.Equal(t, 2, strings.Count(svg, `class="bar-bad"`), "09:00 and 14:00 have a failed segment")

	// A day later everything has left the window.
	clk.Set(day.Add(48 * time.Hour))
	body = e.as(t, "acme/1").get(idPath(w.ID)).body
	require.Contains(t, between(t, body, `<svg class="chart"`, "</svg>"), "0 delivered, 0 failed, 0 in progress</title>")
}

func TestEveryPageAndActionIsReachableByForm(t *testing.T) {
	e := newEnv(t)
	w := e.create(t, "acme", webhooks.Ptr[int64](1), "hq")
	page := e.as(t, "acme/1").get(idPath(w.ID)).body
	for _, action := range []string{"/test", "/disable", "/secret"} {
		require.Contains(t, page, `<form method="post" action="/portal`+idPath(w.ID)+action+`">`, action)
	}
	require.Contains(t, page, `href="/portal`+idPath(w.ID)+`/edit"`)
	require.Contains(t, page, `href="/portal`+idPath(w.ID)+`/delete"`)
	// Every POST form carries the token.
	forms := regexp.MustCompile(`(?s)<form method="post".*?</form>`).FindAllString(page, -1)
	require.Len(t, forms, 3)
	for _, f := range forms {
		require.Contains(t, f, `name="csrf"`)
	}
}

// httptestServer answers every request with body.
func httptestServer(t *testing.T, body string) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = io.WriteString(w, body)
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}
