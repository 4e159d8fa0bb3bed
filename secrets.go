package webhooks

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Secrets at rest. A store keeps a webhook's secret material as one opaque
// string: the current secret, during a rotation the previous one with its
// expiry, and the webhook's signature scheme (kept with the secrets it
// signs with, so every store supports it without a schema change). Without a Keyring the material is readable (a plain secret,
// or "wks1:" + base64 JSON during a rotation); with one it is sealed with
// AES-256-GCM ("wke1:<key id>:" + base64 nonce and ciphertext), bound to
// the client and webhook IDs, so a ciphertext copied onto another webhook
// or client does not open. Stores never see plaintext then.

// ErrSecretUnreadable: a webhook's stored secret cannot be opened (a
// missing key, or material copied from another webhook).
var ErrSecretUnreadable = errors.New("webhooks: webhook secret cannot be opened")

const (
	plainSetPrefix  = "wks1:"
	sealedSetPrefix = "wke1:"
)

// Keyring holds the keys that seal webhook secrets at rest. New material
// is sealed with the current key; any key in the ring opens, so keys
// rotate by adding a new current key and keeping the old ones until every
// webhook was re-sealed (regenerating a secret re-seals it).
type Keyring struct {
	current string
	aeads   map[string]cipher.AEAD
}

// NewKeyring returns a keyring sealing with keys[current]. Keys are 32
// bytes (AES-256); IDs are 1 to 32 letters, digits, '-' or '_'.
func NewKeyring(current string, keys map[string][]byte) (*Keyring, error) {
	k := &Keyring{current: current, aeads: make(map[string]cipher.AEAD, len(keys))}
	for id, key := range keys {
		if id == "" || len(id) > 32 || strings.IndexFunc(id, func(r rune) bool {
			return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_')
		}) >= 0 {
			return nil, fmt.Errorf("webhooks: keyring: key ID %q: use 1 to 32 letters, digits, - or _", id)
		}
		if len(key) != 32 {
			return nil, fmt.Errorf("webhooks: keyring: key %q is %d bytes, want 32 (AES-256)", id, len(key))
		}
		block, err := aes.NewCipher(key)
		if err != nil {
			return nil, fmt.Errorf("webhooks: keyring: key %q: %w", id, err)
		}
		if k.aeads[id], err = cipher.NewGCM(block); err != nil {
			return nil, fmt.Errorf("webhooks: keyring: key %q: %w", id, err)
		}
	}
	if _, ok := k.aeads[current]; !ok {
		return nil, fmt.Errorf("webhooks: keyring: current key %q is not in the ring", current)
	}
	return k, nil
}

// secretSet is what the material holds.
type secretSet struct {
	Current  string `json:"c"`
	Previous string `json:"p,omitempty"`
	// PreviousUntil is when Previous stops signing, Unix seconds.
	PreviousUntil int64 `json:"pu,omitempty"`
	// Scheme is the webhook's signature scheme name; "" is the default.
	Scheme string `json:"s,omitempty"`
}

// signing returns the secrets that sign at now: the current one, then the
// previous while its grace period lasts.
func (s secretSet) signing(now time.Time) []string {
	if s.Previous != "" && now.Unix() < s.PreviousUntil {
		return []string{s.Current, s.Previous}
	}
	return []string{s.Current}
}

func secretAAD(client string, webhookID int64) []byte {
	return []byte("webhooks/secret/v1\x00" + client + "\x00" + strconv.FormatInt(webhookID, 10))
}

// seal encodes a secret set as stored material.
func (k *Keyring) seal(set secretSet, client string, webhookID int64) (string, error) {
	if k == nil {
		if set.Previous == "" && set.Scheme == "" {
			return set.Current, nil
		}
		b, err := json.Marshal(set)
		return plainSetPrefix + base64.StdEncoding.EncodeToString(b), err
	}
	b, err := json.Marshal(set)
	if err != nil {
		return "", err
	}
	aead := k.aeads[k.current]
	nonce := make([]byte, aead.NonceSize(), aead.NonceSize()+len(b)+aead.Overhead())
	_, _ = rand.Read(nonce) // crypto/rand.Read never fails on supported platforms
	out := aead.Seal(nonce, nonce, b, secretAAD(client, webhookID))
	return sealedSetPrefix + k.current + ":" + base64.StdEncoding.EncodeToString(out), nil
}

// open decodes stored material. Plain material opens without a keyring, so
// turning encryption on later keeps old webhooks working until re-sealed.
func (k *Keyring) open(material, client string, webhookID int64) (secretSet, error) {
	switch {
	case strings.HasPrefix(material, sealedSetPrefix):
		if k == nil {
			return secretSet{}, fmt.Errorf("%w: it is encrypted and Config.Keyring is not set", ErrSecretUnreadable)
		}
		id, enc, ok := strings.Cut(material[len(sealedSetPrefix):], ":")
		aead := k.aeads[id]
		if !ok || aead == nil {
			return secretSet{}, fmt.Errorf("%w: key %q is not in the keyring", ErrSecretUnreadable, id)
		}
		raw, err := base64.StdEncoding.DecodeString(enc)
		if err != nil || len(raw) < aead.NonceSize() {
			return secretSet{}, fmt.Errorf("%w: malformed ciphertext", ErrSecretUnreadable)
		}
		b, err := aead.Open(nil, raw[:aead.NonceSize()], raw[aead.NonceSize():], secretAAD(client, webhookID))
		if err != nil {
			return secretSet{}, fmt.Errorf("%w: it was not sealed for client %q webhook %d", ErrSecretUnreadable, client, webhookID)
		}
		var set secretSet
		if err := json.Unmarshal(b, &set); err != nil {
			return secretSet{}, fmt.Errorf("%w: %v", ErrSecretUnreadable, err)
		}
		return set, nil
	case strings.HasPrefix(material, plainSetPrefix):
		b, err := base64.StdEncoding.DecodeString(material[len(plainSetPrefix):])
		var set secretSet
		if err == nil {
			err = json.Unmarshal(b, &set)
		}
		if err != nil {
			return secretSet{}, fmt.Errorf("%w: %v", ErrSecretUnreadable, err)
		}
		return set, nil
	default:
		return secretSet{Current: material}, nil
	}
}
