package main

import (
	"html/template"
	"net/http"
	"strconv"
	"strings"

	"github.com/webhookkit/webhooks"
)

// The portal's sign-in: a form that takes a demo token and keeps it in a
// cookie. A real host has its own sessions; the portal only needs an
// authorize function that reads them.

// portalPrefix is where the webhook portal is mounted.
const portalPrefix = "/portal"

// sessionCookie holds the signed-in demo token. HttpOnly keeps it from
// scripts; SameSite=Lax keeps it off cross-site subrequests and posts while
// still sending it when a link from elsewhere opens the portal (the
// portal's forms carry their own CSRF protection).
const sessionCookie = "webhooks_demo_session"

// portalAuthorize is the portal's AuthorizeFunc: the session cookie set by
// the sign-in form, or a bearer token as the admin API takes it.
func portalAuthorize(r *http.Request) (webhooks.Scope, error) {
	if c, err := r.Cookie(sessionCookie); err == nil {
		if t, ok := lookupToken(c.Value); ok {
			return t.scope(), nil
		}
	}
	return authorize(r)
}

func lookupToken(token string) (demoToken, bool) {
	for _, t := range demoTokens {
		if t.token == token {
			return t, true
		}
	}
	return demoToken{}, false
}

// signIn serves the sign-in form and the sign-out action.
type signIn struct {
	origin *http.CrossOriginProtection
}

func (s *signIn) register(mux *http.ServeMux) {
	s.origin = http.NewCrossOriginProtection()
	mux.HandleFunc("GET /sign-in", s.form)
	mux.Handle("POST /sign-in", s.origin.Handler(http.HandlerFunc(s.submit)))
	mux.Handle("POST /sign-out", s.origin.Handler(http.HandlerFunc(s.signOut)))
}

type signInPage struct {
	Tokens []demoToken
	Next   string
	Error  string
}

// Token returns the token for the template (demoToken's fields are unexported).
func (t demoToken) Token() string { return t.token }

// Label describes what the token may touch.
func (t demoToken) Label() string {
	if t.companyID == 0 {
		return t.client + ", every company"
	}
	return t.client + ", company " + strconv.FormatInt(t.companyID, 10) + " only"
}

var signInTemplate = template.Must(template.New("sign-in").Parse(`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Sign in · Webhooks</title>
<link rel="stylesheet" href="` + portalPrefix + `/assets/portal.css">
</head>
<body>
<header class="top"><span class="brand">Webhooks</span><span class="scope">example server</span></header>
<main id="main">
<h1>Sign in</h1>
{{with .Error}}<p class="flash flash-bad" role="alert">{{.}}</p>{{end}}
<form method="post" action="/sign-in" class="form">
  <input type="hidden" name="next" value="{{.Next}}">
  <fieldset>
  <legend>Demo account</legend>
  <div class="field">
    <label for="token">Token</label>
    <select id="token" name="token" aria-describedby="token-hint">
      {{range .Tokens}}<option value="{{.Token}}">{{.Token}} ({{.Label}})</option>{{end}}
    </select>
    <p class="hint" id="token-hint">The demo's bearer tokens. A company token sees only its company's webhooks.</p>
  </div>
  </fieldset>
  <div class="actions"><button type="submit" class="btn btn-primary">Sign in</button></div>
</form>
</main>
</body>
</html>
`))

func setPageHeaders(h http.Header) {
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "same-origin")
	h.Set("Cache-Control", "no-store")
}

// GET /sign-in
func (s *signIn) form(w http.ResponseWriter, r *http.Request) {
	s.render(w, http.StatusOK, safeNext(r.URL.Query().Get("next")), "")
}

func (s *signIn) render(w http.ResponseWriter, status int, next, msg string) {
	setPageHeaders(w.Header())
	w.WriteHeader(status)
	_ = signInTemplate.Execute(w, signInPage{Tokens: demoTokens, Next: next, Error: msg})
}

// POST /sign-in
func (s *signIn) submit(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 4<<10)
	next := safeNext(r.PostFormValue("next"))
	t, ok := lookupToken(r.PostFormValue("token"))
	if !ok {
		s.render(w, http.StatusUnauthorized, next, "Unknown token: choose one of the list.")
		return
	}
	http.SetCookie(w, &http.Cookie{
		Name: sessionCookie, Value: t.token, Path: "/",
		HttpOnly: true, SameSite: http.SameSiteLaxMode, Secure: r.TLS != nil,
	})
	http.Redirect(w, r, next, http.StatusSeeOther)
}

// POST /sign-out
func (s *signIn) signOut(w http.ResponseWriter, r *http.Request) {
	http.SetCookie(w, &http.Cookie{
		Name: sessionCookie, Value: "", Path: "/", MaxAge: -1,
		HttpOnly: true, SameSite: http.SameSiteLaxMode, Secure: r.TLS != nil,
	})
	http.Redirect(w, r, "/sign-in", http.StatusSeeOther)
}

// safeNext keeps redirects after sign-in inside the portal, so the form
// cannot be used to send a signed-in user to another site.
func safeNext(next string) string {
	if next == portalPrefix+"/" || strings.HasPrefix(next, portalPrefix+"/") && !strings.Contains(next, "//") && !strings.Contains(next, `\`) {
		return next
	}
	return portalPrefix + "/"
}
