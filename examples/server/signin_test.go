package main

import (
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// The example's sign-in for the portal: the form, its cookie, the redirect
// target, sign-out, and the portal reading the cookie or a bearer token.

func noRedirects(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }

// fetch sends req without following redirects and returns the response
// with its body read.
func fetch(t *testing.T, req *http.Request) (*http.Response, string) {
	t.Helper()
	res, err := (&http.Client{CheckRedirect: noRedirects}).Do(req)
	require.NoError(t, err)
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	require.NoError(t, err)
	return res, string(b)
}

func TestSignInSetsAnHttpOnlySameSiteCookie(t *testing.T) {
	ts := startServer(t, t.TempDir())
	require.Contains(t, ts.stdout.String(), "Webhook portal: "+ts.base+"/portal/")
	c := &http.Client{CheckRedirect: noRedirects}

	res, err := c.Get(ts.base + "/portal/webhooks/new")
	require.NoError(t, err)
	res.Body.Close()
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	require.Equal(t, "/sign-in?next=%2Fportal%2Fwebhooks%2Fnew", res.Header.Get("Location"))

	req, _ := http.NewRequest(http.MethodGet, ts.base+"/sign-in?next=%2Fportal%2Fwebhooks%2Fnew", nil)
	res, page := fetch(t, req)
	require.Equal(t, http.StatusOK, res.StatusCode)
	require.Contains(t, res.Header.Get("Content-Security-Policy"), "default-src 'none'")
	require.Contains(t, page, `<label for="token">Token</label>`)
	require.Contains(t, page, `<option value="acme-company-1">acme-company-1 (acme-corp, company 1 only)</option>`)
	require.Contains(t, page, `name="next" value="/portal/webhooks/new"`)

	res, err = c.PostForm(ts.base+"/sign-in", url.Values{"token": {"nope"}, "next": {"/portal/"}})
	require.NoError(t, err)
	res.Body.Close()
	require.Equal(t, http.StatusUnauthorized, res.StatusCode)
	require.Empty(t, res.Cookies())

	res, err = c.PostForm(ts.base+"/sign-in", url.Values{"token": {"acme-company-1"}, "next": {"/portal/webhooks/new"}})
	require.NoError(t, err)
	res.Body.Close()
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	require.Equal(t, "/portal/webhooks/new", res.Header.Get("Location"))
	cookies := res.Cookies()
	require.Len(t, cookies, 1)
	session := cookies[0]
	require.Equal(t, sessionCookie, session.Name)
	require.True(t, session.HttpOnly)
	require.Equal(t, http.SameSiteLaxMode, session.SameSite)
	require.Equal(t, "/", session.Path)

	// The cookie opens the portal in the token's scope.
	req, _ = http.NewRequest(http.MethodGet, ts.base+"/portal/", nil)
	req.AddCookie(session)
	res, page = fetch(t, req)
	require.Equal(t, http.StatusOK, res.StatusCode)
	require.Contains(t, page, "acme-corp · company 1")

	// So does a bearer token, as for the admin API.
	req, _ = http.NewRequest(http.MethodGet, ts.base+"/portal/", nil)
	req.Header.Set("Authorization", "Bearer globex-admin")
	res, page = fetch(t, req)
	require.Equal(t, http.StatusOK, res.StatusCode)
	require.Contains(t, page, "globex · all companies")

	// Sign-out clears the cookie.
	req, _ = http.NewRequest(http.MethodPost, ts.base+"/sign-out", nil)
	req.AddCookie(session)
	res, _ = fetch(t, req)
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	require.Equal(t, "/sign-in", res.Header.Get("Location"))
	require.Len(t, res.Cookies(), 1)
	require.Equal(t, -1, res.Cookies()[0].MaxAge)
}

func TestSignInStaysInThePortalAndRefusesCrossSitePosts(t *testing.T) {
	ts := startServer(t, t.TempDir())
	c := &http.Client{CheckRedirect: noRedirects}
	for _, next := range []string{"https://evil.example/", "//evil.example/portal/", "/portal//evil.example", `/portal/\evil`, "/api/admin/webhooks", ""} {
		res, err := c.PostForm(ts.base+"/sign-in", url.Values{"token": {"acme-admin"}, "next": {next}})
		require.NoError(t, err)
		res.Body.Close()
		require.Equal(t, "/portal/", res.Header.Get("Location"), "next=%q", next)
	}
	req, _ := http.NewRequest(http.MethodPost, ts.base+"/sign-in", strings.NewReader("token=acme-admin"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	res, _ := fetch(t, req)
	require.Equal(t, http.StatusForbidden, res.StatusCode, "login CSRF is refused")
	require.Empty(t, res.Cookies())
}
