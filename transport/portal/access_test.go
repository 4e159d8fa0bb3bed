package portal_test

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	webhooks "github.com/webhookkit/webhooks"
	"github.com/webhookkit/webhooks/transport/portal"
)

// Who may see what, how requests are checked, and what every response carries.

func TestSignedOutGets401OrTheSignInRedirect(t *testing.T) {
	e := newEnv(t)
	anon := e.as(t, "")
	p := anon.get("/")
	require.Equal(t, http.StatusUnauthorized, p.status)
	require.Contains(t, text(p.body), "You are not signed in")
	require.Equal(t, http.StatusUnauthorized, anon.do(http.MethodPost, "/webhooks/new", url.Values{"name": {"x"}}).status)

	// Assets need no sign-in: the host's sign-in page may use the stylesheet.
	css := anon.get("/assets/portal.css")
	require.Equal(t, http.StatusOK, css.status)
	require.Equal(t, "text/css; charset=utf-8", css.header.Get("Content-Type"))
	js := anon.get("/assets/portal.js")
	require.Equal(t, http.StatusOK, js.status)
	require.Contains(t, js.body, "data-copy")
	require.Equal(t, http.StatusNotFound, anon.get("/assets/missing.css").status)
	require.NotEqual(t, http.StatusOK, anon.get("/assets/../portal.go").status)

	e = newEnv(t, envConfig{opts: &portal.Options{SignInURL: "/login?app=hooks"}})
	p = e.as(t, "").get("/webhooks/12?status=FAILED")
	require.Equal(t, http.StatusSeeOther, p.status)
	require.Equal(t, "/login?app=hooks&next=%2Fportal%2Fwebhooks%2F12", p.header.Get("Location"))
	p = e.as(t, "").do(http.MethodPost, "/webhooks/12/test", url.Values{})
	require.Equal(t, http.StatusSeeOther, p.status)
	require.Equal(t, "/login?app=hooks&next=%2Fportal%2F", p.header.Get("Location"), "a form post comes back to the list")

	// Behind http.StripPrefix, next still carries the prefix.
	e = newEnv(t, envConfig{
		opts: &portal.Options{SignInURL: "/login"},
		mount: func(mux *http.ServeMux, h http.Handler) string {
			mux.Handle("/portal/", http.StripPrefix("/portal", h))
			return "/portal"
		},
	})
	p = e.as(t, "").get("/webhooks/12")
	require.Equal(t, "/login?next=%2Fportal%2Fwebhooks%2F12", p.header.Get("Location"))
}

func TestEveryResponseCarriesTheSecurityHeaders(t *testing.T) {
	e := newEnv(t)
	u := e.as(t, "acme/1")
	w := e.create(t, "acme", webhooks.Ptr[int64](1), "hq")
	for _, path := range []string{"/", "/webhooks/new", idPath(w.ID), idPath(w.ID) + "/edit", "/nope"} {
		p := u.get(path)
		csp := p.header.Get("Content-Security-Policy")
		require.Contains(t, csp, "default-src 'none'", path)
		require.Contains(t, csp, "script-src 'self'", path)
		require.Contains(t, csp, "frame-ancestors 'none'", path)
		require.Contains(t, csp, "form-action 'self'", path)
		require.NotContains(t, csp, "unsafe-inline", path)
		require.Equal(t, "nosniff", p.header.Get("X-Content-Type-Options"), path)
		require.Equal(t, "same-origin", p.header.Get("Referrer-Policy"), path)
		require.Equal(t, "no-store", p.header.Get("Cache-Control"), path)
		// No inline script or style that the policy would block.
		require.NotContains(t, p.body, "<script>", path)
		require.NotContains(t, p.body, " style=", path)
		require.NotContains(t, p.body, "<style", path)
	}
	require.Equal(t, http.StatusNotFound, u.get("/nope").status)
}

func TestOtherCompaniesWebhooksAnswer404(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	mine := e.create(t, "acme", webhooks.Ptr[int64](1), "mine")
	theirs := e.create(t, "acme", webhooks.Ptr[int64](2), "theirs")
	system := e.create(t, "acme", nil, "system")
	_, err := e.d.SendTest(ctx, "acme", theirs.ID)
	require.NoError(t, err)
	e.down.Store(true)
	failed, err := e.d.SendTest(ctx, "acme", theirs.ID)
	require.NoError(t, err)
	require.Equal(t, webhooks.StatusFailed, failed.Status)

	u := e.as(t, "acme/1")
	list := text(u.get("/").body)
	require.Contains(t, list, "mine")
	require.NotContains(t, list, "theirs")
	require.NotContains(t, list, "system")

	for _, w := range []*webhooks.Webhook{theirs, system} {
		base := idPath(w.ID)
		for _, path := range []string{base, base + "/edit", base + "/delete", base + "/secret"} {
			require.Equal(t, http.StatusNotFound, u.get(path).status, path)
		}
		for _, path := range []string{base + "/edit", base + "/enable", base + "/disable", base + "/delete", base + "/secret", base + "/test"} {
			p := u.post(path, url.Values{"name": {"hijacked"}, "url": {"https://evil.example"}, "grace": {"0"}})
			require.Equal(t, http.StatusNotFound, p.status, path)
			require.Contains(t, text(p.body), "There is no such webhook or delivery")
		}
	}
	// Their delivery, even through my webhook's path.
	dpath := idPath(theirs.ID) + "/deliveries/" + strconv.FormatInt(failed.ID, 10)
	require.Equal(t, http.StatusNotFound, u.get(dpath).status)
	require.Equal(t, http.StatusNotFound, u.post(dpath+"/retry", nil).status)
	cross := idPath(mine.ID) + "/deliveries/" + strconv.FormatInt(failed.ID, 10)
	require.Equal(t, http.StatusNotFound, u.get(cross).status)
	require.Equal(t, http.StatusNotFound, u.post(cross+"/retry", nil).status)

	// Nothing changed.
	got, err := e.d.GetWebhook(ctx, "acme", theirs.ID)
	require.NoError(t, err)
	require.Equal(t, "theirs", got.Name)
	require.True(t, got.IsActive)
	require.Equal(t, theirs.Secret, got.Secret)
	d, err := e.d.Delivery(ctx, "acme", failed.ID)
	require.NoError(t, err)
	require.Equal(t, webhooks.StatusFailed, d.Status)
	hits := e.hits.Load()
	require.EqualValues(t, 2, hits, "no ping was sent for another company")

	// Another client's admin does not see acme's webhooks at all.
	g := e.as(t, "globex")
	require.NotContains(t, text(g.get("/").body), "mine")
	require.Equal(t, http.StatusNotFound, g.get(idPath(mine.ID)).status)

	// The client-wide admin sees all three, with their companies.
	admin := text(e.as(t, "acme").get("/").body)
	for _, row := range []string{"mine " + e.recv.URL + "/mine Company 1", "theirs " + e.recv.URL + "/theirs Company 2",
		"system " + e.recv.URL + "/system All companies (system-wide)"} {
		require.Contains(t, admin, row)
	}
	require.NotContains(t, list, "Company 1", "a company user is not told its company on every row")
}

func TestForgedCrossSiteFormsAreRejected(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	w := e.create(t, "acme", webhooks.Ptr[int64](1), "target")
	u := e.as(t, "acme/1")
	token := u.token()
	disable := idPath(w.ID) + "/disable"

	cases := []struct {
		name string
		form url.Values
		hdr  []string
	}{
		{"cross-site fetch metadata", url.Values{"csrf": {token}}, []string{"Sec-Fetch-Site", "cross-site"}},
		{"foreign Origin", url.Values{"csrf": {token}}, []string{"Origin", "https://evil.example"}},
		{"no token", url.Values{}, nil},
		{"wrong token", url.Values{"csrf": {token[:len(token)-2] + "xx"}}, nil},
	}
	for _, c := range cases {
		p := u.do(http.MethodPost, disable, c.form, c.hdr...)
		require.Equal(t, http.StatusForbidden, p.status, c.name)
		require.Contains(t, text(p.body), "sent from another site, or has expired", c.name)
	}
	// A token is bound to the browser's nonce cookie and to the scope: a
	// fresh browser, or another user of the same browser, cannot use it.
	stranger := e.as(t, "acme/1")
	require.Equal(t, http.StatusForbidden, stranger.do(http.MethodPost, disable, url.Values{"csrf": {token}}).status)
	u.scope = "acme"
	require.Equal(t, http.StatusForbidden, u.do(http.MethodPost, disable, url.Values{"csrf": {token}}).status)
	u.scope = "acme/1"

	got, err := e.d.GetWebhook(ctx, "acme", w.ID)
	require.NoError(t, err)
	require.True(t, got.IsActive, "no forged form took effect")

	// The same form, same-origin with its token, works.
	p := u.do(http.MethodPost, disable, url.Values{"csrf": {token}}, "Sec-Fetch-Site", "same-origin", "Origin", e.srv.URL)
	require.Equal(t, http.StatusSeeOther, p.status, p.body)
	got, err = e.d.GetWebhook(ctx, "acme", w.ID)
	require.NoError(t, err)
	require.False(t, got.IsActive)

	// The nonce cookie is HttpOnly, SameSite=Strict and scoped to the portal.
	res, err := http.Get(e.srv.URL + "/portal/")
	require.NoError(t, err)
	res.Body.Close()
	req, _ := http.NewRequest(http.MethodGet, e.base+"/", nil)
	req.Header.Set(scopeHeader, "acme")
	res, err = http.DefaultClient.Do(req)
	require.NoError(t, err)
	res.Body.Close()
	cookie := res.Header.Get("Set-Cookie")
	require.Contains(t, cookie, "HttpOnly")
	require.Contains(t, cookie, "SameSite=Strict")
	require.Contains(t, cookie, "Path=/portal/")
}

func TestOversizedOrMalformedFormsAre400(t *testing.T) {
	e := newEnv(t)
	u := e.as(t, "acme/1")
	u.token()
	p := u.do(http.MethodPost, "/webhooks/new", url.Values{"description": {strings.Repeat("x", 300<<10)}})
	require.Equal(t, http.StatusBadRequest, p.status)
	require.Contains(t, text(p.body), "larger than 256 KiB")
}

func TestMountedUnderAnyPrefix(t *testing.T) {
	for _, strip := range []bool{false, true} {
		e := newEnv(t, envConfig{
			opts: &portal.Options{Prefix: "/account/hooks/", Title: "Acme integrations"},
			mount: func(mux *http.ServeMux, h http.Handler) string {
				if strip {
					h = http.StripPrefix("/account/hooks", h)
				}
				mux.Handle("/account/hooks/", h)
				return "/account/hooks"
			},
		})
		w := e.create(t, "acme", webhooks.Ptr[int64](1), "hq")
		u := e.as(t, "acme/1")
		p := u.get("/")
		require.Equal(t, http.StatusOK, p.status, "strip=%v", strip)
		require.Contains(t, p.body, `href="/account/hooks/webhooks/`+strconv.FormatInt(w.ID, 10)+`"`)
		require.Contains(t, p.body, `href="/account/hooks/assets/portal.css"`)
		require.Contains(t, p.body, "<title>Webhooks · Acme integrations</title>")
		require.Equal(t, http.StatusOK, u.get("/assets/portal.css").status)
		p = u.post(idPath(w.ID)+"/disable", nil)
		require.Equal(t, http.StatusSeeOther, p.status, p.body)
		require.Equal(t, "/account/hooks"+idPath(w.ID)+"?done=disabled", p.header.Get("Location"))
	}
}

func TestWrongMethodIs405WithAllow(t *testing.T) {
	e := newEnv(t)
	w := e.create(t, "acme", webhooks.Ptr[int64](1), "hq")
	u := e.as(t, "acme/1")
	p := u.get(idPath(w.ID) + "/test")
	require.Equal(t, http.StatusMethodNotAllowed, p.status)
	require.Equal(t, "POST", p.header.Get("Allow"))
	p = u.post(idPath(w.ID), nil)
	require.Equal(t, http.StatusMethodNotAllowed, p.status)
	require.Equal(t, "GET", p.header.Get("Allow"))
	for _, path := range []string{"/webhooks/abc", "/webhooks/0", "/webhooks/01", idPath(w.ID) + "/", idPath(w.ID) + "/deliveries/x"} {
		require.Equal(t, http.StatusNotFound, u.get(path).status, path)
	}
}

func TestNewPanicsWithoutDispatcherOrAuthorize(t *testing.T) {
	e := newEnv(t)
	require.PanicsWithValue(t, "portal: New: nil *webhooks.Dispatcher", func() { portal.New(nil, authorize, nil) })
	require.PanicsWithValue(t, "portal: New: nil AuthorizeFunc (the portal needs the host's authentication)",
		func() { portal.New(e.d, nil, nil) })
}

func TestAClientWithoutAStoreSeesNotFound(t *testing.T) {
	e := newEnv(t)
	p := e.as(t, "nobody").get("/")
	require.Equal(t, http.StatusNotFound, p.status)
	require.Contains(t, text(p.body), "There are no webhooks for your account.")
}

func TestMountedAtTheRoot(t *testing.T) {
	e := newEnv(t, envConfig{
		opts:  &portal.Options{Prefix: "/"},
		mount: func(mux *http.ServeMux, h http.Handler) string { mux.Handle("/", h); return "" },
	})
	w := e.create(t, "acme", nil, "everyone")
	u := e.as(t, "acme")
	p := u.get("/")
	require.Equal(t, http.StatusOK, p.status)
	require.Contains(t, p.body, `href="/webhooks/`+strconv.FormatInt(w.ID, 10)+`"`)
	require.Contains(t, p.body, `href="/assets/portal.css"`)
	require.Equal(t, http.StatusSeeOther, u.post(idPath(w.ID)+"/disable", nil).status)
}

func TestTheSecretCookieIsBoundToItsWebhookAndScope(t *testing.T) {
	e := newEnv(t)
	u := e.as(t, "acme/1")
	p := u.post("/webhooks/new", url.Values{"name": {"hq"}, "url": {e.recv.URL}})
	require.Equal(t, http.StatusSeeOther, p.status, text(p.body))
	var sealed *http.Cookie
	for _, c := range (&http.Response{Header: p.header}).Cookies() {
		if c.Name == "webhooks_portal_secret" {
			sealed = c
		}
	}
	require.NotNil(t, sealed)
	require.True(t, sealed.HttpOnly)
	require.Equal(t, http.SameSiteStrictMode, sealed.SameSite)
	require.Equal(t, "/portal/", sealed.Path)
	require.Equal(t, 120, sealed.MaxAge)
	other := e.create(t, "acme", webhooks.Ptr[int64](1), "other")

	show := func(scope, path string, c *http.Cookie) string {
		req, err := http.NewRequest(http.MethodGet, e.base+path, nil)
		require.NoError(t, err)
		req.Header.Set(scopeHeader, scope)
		req.AddCookie(c)
		res, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		defer res.Body.Close()
		b, err := io.ReadAll(res.Body)
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, res.StatusCode)
		return text(string(b))
	}
	tampered := *sealed
	tampered.Value = sealed.Value[:len(sealed.Value)-4] + "AAAA"
	require.Contains(t, show("acme", "/webhooks/1/secret", sealed), "is shown only once", "another scope cannot open it")
	require.Contains(t, show("acme/1", idPath(other.ID)+"/secret", sealed), "is shown only once", "nor another webhook")
	require.Contains(t, show("acme/1", "/webhooks/1/secret", &tampered), "is shown only once", "nor a forged cookie")
	require.Contains(t, show("acme/1", "/webhooks/1/secret", sealed), "copy it now", "its owner can")
}
