package portal

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"time"

	webhooks "github.com/webhookkit/webhooks"
)

// A new secret reaches the page that shows it through a sealed, short-lived
// cookie rather than in the POST's own answer: the POST redirects (303), so
// reloading the page cannot create the webhook again or rotate the secret
// a second time, and the secret never appears in a URL. The cookie is
// encrypted and authenticated (AES-GCM, key derived from Options.CSRFKey, so
// every replica can open it), bound to the webhook and the caller's scope,
// HttpOnly, SameSite=Strict, limited to the portal's path, valid for
// flashTTL, and cleared by the first page that shows it.

// flashCookie carries the sealed secret from the POST to the page.
const flashCookie = "webhooks_portal_secret"

// flashTTL bounds how long after the POST the secret can be shown.
const flashTTL = 2 * time.Minute

// secretFlash is what the cookie seals.
type secretFlash struct {
	Webhook     int64  `json:"w"`
	Scope       string `json:"s"`
	Secret      string `json:"k"`
	Regenerated bool   `json:"r,omitempty"`
	Grace       string `json:"g,omitempty"`
	Expires     int64  `json:"e"`
}

var errFlash = errors.New("portal: no readable secret cookie")

// flashSealer seals and opens secretFlash cookies.
type flashSealer struct {
	aead cipher.AEAD
	path string
}

func newFlashSealer(key []byte, path string) flashSealer {
	k := sha256.Sum256(append([]byte("webhooks-portal-secret-flash\x00"), key...))
	block, err := aes.NewCipher(k[:])
	if err != nil {
		panic(err) // a 32-byte key is always valid
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		panic(err)
	}
	return flashSealer{aead: aead, path: path}
}

func scopeKey(s webhooks.Scope) string {
	if s.CompanyID == nil {
		return s.Client + "\x00*"
	}
	return s.Client + "\x00" + strconv.FormatInt(*s.CompanyID, 10)
}

// set stores the flash in the response's cookie.
func (f flashSealer) set(w http.ResponseWriter, r *http.Request, fl secretFlash) {
	plain, _ := json.Marshal(fl) // plain strings and numbers: cannot fail
	nonce := make([]byte, f.aead.NonceSize())
	_, _ = rand.Read(nonce)
	sealed := f.aead.Seal(nonce, nonce, plain, []byte(flashCookie))
	http.SetCookie(w, &http.Cookie{
		Name: flashCookie, Value: base64.RawURLEncoding.EncodeToString(sealed), Path: f.path,
		MaxAge: int(flashTTL / time.Second), HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: r.TLS != nil,
	})
}

// take opens the request's flash for the webhook and scope, and clears the
// cookie in the response whatever it held.
func (f flashSealer) take(w http.ResponseWriter, r *http.Request, webhookID int64, s webhooks.Scope) (secretFlash, error) {
	c, err := r.Cookie(flashCookie)
	if err != nil {
		return secretFlash{}, errFlash
	}
	http.SetCookie(w, &http.Cookie{
		Name: flashCookie, Value: "", Path: f.path, MaxAge: -1,
		HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: r.TLS != nil,
	})
	sealed, err := base64.RawURLEncoding.DecodeString(c.Value)
	if err != nil || len(sealed) < f.aead.NonceSize() {
		return secretFlash{}, errFlash
	}
	n := f.aead.NonceSize()
	plain, err := f.aead.Open(nil, sealed[:n], sealed[n:], []byte(flashCookie))
	if err != nil {
		return secretFlash{}, errFlash
	}
	var fl secretFlash
	if json.Unmarshal(plain, &fl) != nil || fl.Webhook != webhookID || fl.Scope != scopeKey(s) ||
		time.Now().Unix() > fl.Expires {
		return secretFlash{}, errFlash
	}
	return fl, nil
}
