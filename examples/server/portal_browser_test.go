package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
	"github.com/stretchr/testify/require"
)

// The portal end to end in headless Chromium, as a customer uses it: sign
// in, create a webhook, read its secret, send a test ping, see it in the
// log, retry a failed delivery; with screenshots at desktop and phone width.
//
// It is skipped when no Chromium is installed, unless
// WEBHOOKS_REQUIRE_SERVICES=1 (set by .ci/run, which installs Debian's
// chromium): then a missing browser fails the test. Screenshots go to a
// temporary directory, or to WEBHOOKS_PORTAL_SCREENSHOTS when set (the
// README's come from WEBHOOKS_PORTAL_SCREENSHOTS=docs/img, relative to the
// repository root).

// browserBudget bounds the whole browser session.
const browserBudget = 60 * time.Second

// chromiumPath finds a Chromium binary, or skips (or fails, when services
// are required).
func chromiumPath(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("WEBHOOKS_REQUIRE_SERVICES") == "1" {
		t.Fatal("no Chromium found (chromium, chromium-browser, google-chrome) and WEBHOOKS_REQUIRE_SERVICES=1: install Debian's chromium package")
	}
	t.Skip("no Chromium installed (apt-get install chromium); the portal's browser test is skipped")
	return ""
}

// screenshotDir is where the test writes its PNGs.
func screenshotDir(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("WEBHOOKS_PORTAL_SCREENSHOTS")
	if dir == "" {
		return t.TempDir()
	}
	if !filepath.IsAbs(dir) {
		dir = filepath.Join("..", "..", dir) // the test runs in examples/server
	}
	require.NoError(t, os.MkdirAll(dir, 0o755))
	return dir
}

// all returns the requests received so far.
func (rc *receiver) all() []received {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]received(nil), rc.reqs...)
}

func TestPortalInBrowser(t *testing.T) {
	chromium := chromiumPath(t)
	shots := screenshotDir(t)
	started := time.Now()
	ts := startServer(t, t.TempDir(), "-allow-private-networks")
	rc := newReceiver(t)

	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromium),
		chromedp.NoSandbox, // CI runs as root
		chromedp.DisableGPU,
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 900),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
	)
	ctx, cancel := context.WithTimeout(context.Background(), browserBudget)
	defer cancel()
	actx, cancelAlloc := chromedp.NewExecAllocator(ctx, opts...)
	defer cancelAlloc()
	bctx, cancelBrowser := chromedp.NewContext(actx)
	defer cancelBrowser()

	run := func(what string, steps ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		require.NoError(t, chromedp.Do(bctx, steps...), what)
	}
	shot := func(name string) chromedp.Action[chromedp.Void] {
		return chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
			png, err := chromedp.FullScreenshot(100)(ctx, tg)
			if err != nil {
				return err
			}
			return os.WriteFile(filepath.Join(shots, name), png, 0o644)
		})
	}
	text := func(sel string) string {
		t.Helper()
		q, err := json.Marshal(sel)
		require.NoError(t, err)
		// Read through script rather than node IDs, which a navigation that
		// just finished may have invalidated.
		return value(t, bctx, "read "+sel, chromedp.Evaluate[string](
			`(el => el ? (el.innerText ?? el.textContent) : "")(document.querySelector(`+string(q)+`))`))
	}

	// Signed out, the portal sends the browser to the host's sign-in form.
	run("open the portal signed out",
		chromedp.Navigate(ts.base+portalPrefix+"/"),
		chromedp.WaitVisible(chromedp.ID("token")),
		shot("portal-sign-in.png"),
	)
	require.Equal(t, ts.base+"/sign-in?next=%2Fportal%2F", value(t, bctx, "location", chromedp.Location()))
	run("sign in as Acme HQ",
		chromedp.SetValue(chromedp.ID("token"), "acme-company-1"),
		chromedp.Click(chromedp.CSS(`button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(".empty")),
		shot("portal-empty.png"),
	)
	require.Contains(t, text(".top .scope"), "acme-corp · company 1")

	// Keyboard alone: Tab from the top of the page reaches "Add webhook".
	focused := ""
	for i := 0; i < 10 && focused != "Add webhook"; i++ {
		run("tab", chromedp.KeyEvent(kb.Tab))
		focused = value(t, bctx, "focus", chromedp.Evaluate[string](`document.activeElement.textContent.trim()`))
	}
	require.Equal(t, "Add webhook", focused, "the Add webhook link is reachable with Tab")
	run("open the form with Enter", chromedp.KeyEvent(kb.Enter), chromedp.WaitVisible(chromedp.ID("name")))

	// A bad URL and a bad payload filter are shown next to their fields,
	// and nothing is created.
	run("submit an invalid form",
		chromedp.SendKeys(chromedp.ID("name"), "Orders to ERP"),
		chromedp.SendKeys(chromedp.ID("url"), "ftp://erp.example"),
		chromedp.SendKeys(chromedp.ID("filters"), `{"data.attributes.status": {"$like": "FAIL%"}}`),
		chromedp.Click(chromedp.ID("evt-inspection-created")),
		chromedp.Click(chromedp.ID("evr-alert")),
		chromedp.Submit(chromedp.ID("name")),
		chromedp.WaitVisible(chromedp.ID("url-error")),
		shot("portal-form-errors.png"),
	)
	require.Contains(t, text("#url-error"), "must start with http:// or https://")
	require.Contains(t, text("#filters-error"), `data.attributes.status.$like: unknown operator`)
	typed := value(t, bctx, "the typed filter", chromedp.Evaluate[string](`document.getElementById("filters").value`))
	require.Equal(t, `{"data.attributes.status": {"$like": "FAIL%"}}`, typed, "the typed filter is kept")
	kept := value(t, bctx, "the picks survive", chromedp.Evaluate[bool](
		`document.getElementById("evr-alert").checked && document.getElementById("evt-inspection-created").checked`))
	require.True(t, kept, "the event picks are kept when the form is shown again")

	value(t, bctx, "drop the filter", chromedp.Evaluate[string](`document.getElementById("filters").value = ""`))
	run("fix the URL and create",
		chromedp.SetValue(chromedp.ID("url"), rc.URL+"/hooks/erp"),
		chromedp.SendKeys(chromedp.ID("description"), "Order and inspection events for the ERP bridge"),
		chromedp.Submit(chromedp.ID("name")),
		// Not "#secret" alone: the form's own optional secret field has that
		// ID, and Submit does not wait for the next page.
		chromedp.WaitVisible(chromedp.CSS(".secret-box #secret")),
	)
	secret := value(t, bctx, "read the secret", chromedp.Evaluate[string](`document.getElementById("secret").value`))
	require.True(t, strings.HasPrefix(secret, "whsec_"), "the secret page shows the secret: %q", secret)
	run("copy it",
		chromedp.Click(chromedp.CSS(`button[data-copy]`)),
		chromedp.WaitVisible(chromedp.CSS(`#copy-status:not(:empty)`)),
		shot("portal-secret.png"),
	)

	secretURL := value(t, bctx, "location", chromedp.Location())
	require.True(t, strings.HasSuffix(secretURL, "/secret"), secretURL)
	run("reload the secret page", chromedp.Reload(), chromedp.WaitVisible(chromedp.CSS("main h1")))
	require.Contains(t, text("main"), "is shown only once", "reloading neither shows the secret again nor creates another webhook")

	run("go to the webhook",
		chromedp.Click(chromedp.CSS(`a.btn-primary`)),
		chromedp.WaitVisible(chromedp.ID("log")),
	)
	loc := value(t, bctx, "location", chromedp.Location())
	webhookURL := strings.Split(loc, "?")[0]
	require.NotContains(t, loc, secret, "the secret never travels in a URL")
	page := value(t, bctx, "the webhook page", chromedp.Evaluate[string](`document.documentElement.outerHTML`))
	require.NotContains(t, page, secret, "the secret is not shown again")

	// A test ping reaches the receiver, signed with the secret the page showed.
	run("send a test ping",
		chromedp.Click(chromedp.CSS(`form[action$="/test"] button`)),
		chromedp.WaitVisible(chromedp.CSS(".flash")),
	)
	require.Contains(t, text(".flash"), "Test ping delivered: HTTP 200")
	reqs := rc.all()
	require.Len(t, reqs, 1)
	checkSigned(t, reqs[0], secret, "webhook.ping")

	// A failing endpoint: the ping fails, then a retry succeeds once it is back.
	rc.down.Store(true)
	run("send a failing ping",
		chromedp.Navigate(webhookURL),
		chromedp.Click(chromedp.CSS(`form[action$="/test"] button`)),
		chromedp.WaitVisible(chromedp.CSS(".flash-bad")),
	)
	require.Contains(t, text(".flash-bad"), "Test ping failed: HTTP 503")
	require.Contains(t, text(".attempt pre.body"), "maintenance window")
	run("failed delivery", shot("portal-delivery-failed.png"))
	rc.down.Store(false)
	run("retry it",
		chromedp.Click(chromedp.CSS(`form[action$="/retry"] button`)),
		chromedp.WaitVisible(chromedp.CSS(".flash-ok")),
	)
	require.Contains(t, text(".flash-ok"), "queued for retry")
	deadline := time.Now().Add(waitFor)
	for status := ""; status != "SUCCESS"; {
		require.True(t, time.Now().Before(deadline), "the retried delivery did not succeed; status %q", status)
		run("reload the delivery", chromedp.Reload(), chromedp.WaitVisible(chromedp.CSS("h1 + .badge")))
		status = text("h1 + .badge")
	}
	require.Contains(t, text(".attempt h3"), "Attempt 2 — HTTP 200", "the newest attempt comes first")

	// Some traffic for the chart and the log, then the log filtered and whole.
	for i := 0; i < 6; i++ {
		ts.must(t, http.StatusAccepted, "POST", "/api/events", "acme-company-1",
			fmt.Sprintf(`{"event": "alert.created", "data": {"id": %d, "type": "Alert", "attributes": {"severity": "high"}}}`, i+1))
	}
	require.Eventually(t, func() bool { return len(rc.all()) >= 9 }, waitFor, 10*time.Millisecond)
	run("filter the log by FAILED",
		chromedp.Navigate(webhookURL),
		chromedp.SetValue(chromedp.ID("status"), "FAILED"),
		chromedp.Submit(chromedp.ID("status")),
		chromedp.WaitVisible(chromedp.CSS(`#log > p.muted`)), // only on a page without rows
	)
	require.Contains(t, text("#log > p.muted"), "No deliveries with status FAILED", "the retried ping succeeded, so none is FAILED")
	deadline = time.Now().Add(waitFor)
	for {
		run("the whole log", chromedp.Navigate(webhookURL), chromedp.WaitVisible(chromedp.ID("log")))
		badges := value(t, bctx, "log badges", chromedp.Evaluate[[]string](
			`[...document.querySelectorAll("table.log .badge")].map(b => b.textContent)`))
		if len(badges) == 8 && !strings.Contains(strings.Join(badges, ","), "PENDING") {
			require.NotContains(t, badges, "FAILED")
			break
		}
		require.True(t, time.Now().Before(deadline), "the log did not show 8 finished deliveries: %v", badges)
	}
	require.Contains(t, text("svg.chart title"), "8 delivered")
	run("webhook page with log", shot("portal-delivery-log.png"))

	// A second, disabled webhook made through the admin API shows in the
	// list with its reason.
	other, _ := createWebhook(t, ts, "acme-company-1", map[string]any{
		"name": "Maintenance dashboard", "url": "https://dashboard.example/hooks", "events": []string{"*"}})
	ts.must(t, http.StatusOK, "POST", fmt.Sprintf("%s/%d/disable", adminPrefix, other), "acme-company-1", nil)
	run("webhook list",
		chromedp.Navigate(ts.base+portalPrefix+"/"),
		chromedp.WaitVisible(chromedp.CSS("table.list")),
		shot("portal-list.png"),
	)
	require.Contains(t, text("table.list"), "Orders to ERP")
	require.Contains(t, text("table.list"), "SUCCESS")
	require.Contains(t, text("table.list"), "Disabled\ndisabled by an administrator")
	require.Equal(t, 2, value(t, bctx, "rows", chromedp.Evaluate[int](`document.querySelectorAll("table.list tbody tr").length`)),
		"one webhook made in the portal, one through the API")

	// At phone width the list stacks and nothing scrolls sideways.
	run("phone width",
		chromedp.EmulateViewport(375, 812),
		chromedp.Reload(),
		chromedp.WaitVisible(chromedp.CSS("table.list")),
		shot("portal-list-375.png"),
	)
	overflow := value(t, bctx, "overflow", chromedp.Evaluate[bool](`document.documentElement.scrollWidth > window.innerWidth`))
	require.False(t, overflow, "the list fits 375 px without horizontal scrolling")
	run("log at phone width",
		chromedp.Navigate(webhookURL),
		chromedp.WaitVisible(chromedp.ID("log")),
		shot("portal-delivery-log-375.png"),
	)
	overflow = value(t, bctx, "overflow", chromedp.Evaluate[bool](`document.documentElement.scrollWidth > window.innerWidth`))
	require.False(t, overflow, "the webhook page fits 375 px without horizontal scrolling")

	t.Logf("browser session took %s; screenshots in %s", time.Since(started).Round(time.Millisecond), shots)
}

// value runs one action that returns a value.
func value[T any](t *testing.T, ctx context.Context, what string, a chromedp.Action[T]) T {
	t.Helper()
	v, err := chromedp.Run(ctx, a)
	require.NoError(t, err, what)
	return v
}
