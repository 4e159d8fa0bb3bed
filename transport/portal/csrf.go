package portal

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"net/http"

	webhooks "github.com/webhookkit/webhooks"
)

// Forms are protected twice:
//
//   - net/http's CrossOriginProtection rejects a state-changing request
//     that the browser marks as cross-origin (Sec-Fetch-Site, or an Origin
//     that is not the Host). It needs no state and stops every forged post
//     from a modern browser.
//   - A signed double-submit token covers what it cannot see: browsers
//     that send neither header, and a request whose origin headers were
//     stripped by a proxy. The portal sets a random nonce in an HttpOnly,
//     SameSite=Strict cookie scoped to its prefix, and each form carries
//     HMAC(key, nonce, scope). A cross-site page cannot read the cookie, and
//     one that can plant a cookie (a sibling subdomain) still cannot compute
//     the MAC without the key; binding the scope means a token issued to one
//     signed-in user does not validate for another.

// csrfCookie holds the per-browser nonce.
const csrfCookie = "webhooks_portal_csrf"

// csrfField is the form field carrying the token.
const csrfField = "csrf"

var (
	errCrossOrigin = errors.New("portal: cross-origin request")
	errNoNonce     = errors.New("portal: no CSRF cookie")
	errBadToken    = errors.New("portal: CSRF token missing or does not match")
)

// csrfGuard issues and checks form tokens.
type csrfGuard struct {
	key    []byte
	path   string // cookie path: the portal's prefix with a trailing slash
	origin *http.CrossOriginProtection
}

func newCSRFGuard(key []byte, path string) csrfGuard {
	return csrfGuard{key: key, path: path, origin: http.NewCrossOriginProtection()}
}

// token returns the token for forms of this response, setting the nonce
// cookie first when the browser has none.
func (g csrfGuard) token(w http.ResponseWriter, r *http.Request, s webhooks.Scope) string {
	nonce := ""
	if c, err := r.Cookie(csrfCookie); err == nil && validNonce(c.Value) {
		nonce = c.Value
	} else {
		b := make([]byte, 24)
		_, _ = rand.Read(b)
		nonce = base64.RawURLEncoding.EncodeToString(b)
		http.SetCookie(w, &http.Cookie{
			Name: csrfCookie, Value: nonce, Path: g.path,
			HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: r.TLS != nil,
		})
	}
	return g.mac(nonce, s)
}

// check verifies a state-changing request: same origin, and a form token
// matching the cookie's nonce and the caller's scope. The form must be
// parsed (or parseable) by then; check parses it.
func (g csrfGuard) check(r *http.Request, s webhooks.Scope) error {
	if err := g.origin.Check(r); err != nil {
		return errors.Join(errCrossOrigin, err)
	}
	c, err := r.Cookie(csrfCookie)
	if err != nil || !validNonce(c.Value) {
		return errNoNonce
	}
	got := r.PostFormValue(csrfField)
	if !hmac.Equal([]byte(got), []byte(g.mac(c.Value, s))) {
		return errBadToken
	}
	return nil
}

func (g csrfGuard) mac(nonce string, s webhooks.Scope) string {
	m := hmac.New(sha256.New, g.key)
	m.Write([]byte("webhooks-portal-csrf\x00" + nonce + "\x00" + scopeKey(s)))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// validNonce accepts what token sets: 32 base64url characters.
func validNonce(s string) bool {
	if len(s) != 32 {
		return false
	}
	_, err := base64.RawURLEncoding.DecodeString(s)
	return err == nil
}
