package middleware

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/gorilla/securecookie"
	"github.com/gorilla/sessions"
)

// The session cookie holds nothing but 16 random bytes (128 bits), signed
// with the first SessionKeys pair (HMAC-SHA256 in gorilla/securecookie's
// format, the codec gorilla/sessions' CookieStore uses; see idCodec) and
// optionally encrypted (by securecookie itself). The
// id is the store's key for the session's touches; the session reference
// handed to checkout is the same id in unpadded URL-safe base64, 22
// characters of [A-Za-z0-9_-].
//
// We use the securecookie codecs and sessions.Options directly rather than
// a full sessions.Store: a Store gob-encodes a map and keeps a per-request
// registry, which would cost an order of magnitude more for one id.
//
// Attributes: HttpOnly (scripts never need it), SameSite=Lax (sent on
// top-level navigations from other sites, which is exactly a promoter link
// being opened, and not on cross-site subrequests), Secure unless
// Config.Insecure, Path=/ and no Domain, hence the __Host- prefix, which
// browsers only accept under those conditions, so neither a subdomain nor
// a plain-http page can overwrite it. No Max-Age unless configured: the
// cookie ends when the browser closes.
type cookieJar struct {
	name    string
	codecs  []cookieCodec // one per SessionKeys pair, the first signs
	options sessions.Options
}

// cookieCodec is a SessionKeys pair's codec: idCodec for a signing-only
// pair, securecookie for one that also encrypts.
type cookieCodec struct {
	fast   *idCodec
	secure securecookie.Codec
}

const idLen = 16

// maxCookieAge bounds how long a signed cookie is accepted at all; the
// store's TTL usually ends the session much earlier.
const maxCookieAge = 30 * 24 * time.Hour

func newCookieJar(c *Config) (*cookieJar, bool) {
	keys := c.SessionKeys
	generated := false
	if len(keys) == 0 {
		keys = [][]byte{securecookie.GenerateRandomKey(32), nil}
		generated = true
	} else if len(keys) == 1 {
		keys = [][]byte{keys[0], nil}
	}
	age := maxCookieAge
	if c.CookieMaxAge > age {
		age = c.CookieMaxAge
	}
	var codecs []cookieCodec
	for i := 0; i < len(keys); i += 2 {
		var block []byte
		if i+1 < len(keys) {
			block = keys[i+1]
		}
		if block == nil {
			codecs = append(codecs, cookieCodec{fast: newIDCodec(keys[i], int64(age/time.Second))})
			continue
		}
		sc := securecookie.New(keys[i], block)
		sc.SetSerializer(securecookie.NopEncoder{})
		sc.MaxAge(int(age / time.Second))
		sc.MaxLength(maxCookieValue) // refuse anything big before any work
		codecs = append(codecs, cookieCodec{secure: sc})
	}
	j := &cookieJar{
		name:   c.CookieName,
		codecs: codecs,
		options: sessions.Options{
			Path:     "/",
			Domain:   c.CookieDomain,
			MaxAge:   int(c.CookieMaxAge / time.Second),
			Secure:   !c.Insecure,
			HttpOnly: true,
			SameSite: c.SameSite,
		},
	}
	if j.options.Secure && j.options.Domain == "" {
		j.name = "__Host-" + j.name
	}
	return j, generated
}

// check signs a throwaway id, so a key securecookie cannot use fails New
// instead of every request.
func (j *cookieJar) check() error {
	for _, c := range j.codecs {
		if c.secure != nil {
			if _, err := c.secure.Encode(j.name, make([]byte, idLen)); err != nil {
				return fmt.Errorf("middleware: session keys: %w", err)
			}
		}
	}
	return nil
}

// decode verifies one cookie value with every pair's codec in turn.
func (j *cookieJar) decode(value string, now int64) (id [idLen]byte, ok bool) {
	for _, c := range j.codecs {
		if c.fast != nil {
			if id, ok = c.fast.decode(j.name, value, now); ok {
				return id, true
			}
			continue
		}
		var raw []byte
		if err := c.secure.Decode(j.name, value, &raw); err == nil && len(raw) == idLen {
			copy(id[:], raw)
			return id, true
		}
	}
	return id, false
}

// encode signs id with the first pair.
func (j *cookieJar) encode(id [idLen]byte, now int64) (string, error) {
	if c := j.codecs[0]; c.fast != nil {
		return c.fast.encode(j.name, id, now), nil
	}
	return j.codecs[0].secure.Encode(j.name, id[:])
}

// maxCookieCandidates bounds how many cookies of the session's name read
// tries to verify, so that a request stuffed with copies costs a bounded
// number of HMACs.
const maxCookieCandidates = 16

// read returns the session reference from the request's cookies of the
// session's name: the first one that verifies, so that a decoy planted
// under the same name (by a subdomain, with a longer Path, which browsers
// send first) cannot reset the session. "" when none does (tampered,
// expired, signed with a retired key, or more than maxCookieCandidates
// decoys before it): such a browser quietly starts a fresh session.
func (j *cookieJar) read(r *http.Request) string {
	tried := 0
	now := time.Now().Unix()
	for _, line := range r.Header["Cookie"] {
		for part := range strings.SplitSeq(line, ";") {
			name, value, ok := strings.Cut(strings.TrimSpace(part), "=")
			if !ok || name != j.name || value == "" {
				continue
			}
			if tried++; tried > maxCookieCandidates {
				return ""
			}
			if len(value) > 1 && value[0] == '"' && value[len(value)-1] == '"' {
				value = value[1 : len(value)-1]
			}
			if id, ok := j.decode(value, now); ok {
				return base64.RawURLEncoding.EncodeToString(id[:])
			}
		}
	}
	return ""
}

// write sets the cookie for session reference ref.
func (j *cookieJar) write(w http.ResponseWriter, ref string) error {
	var id [idLen]byte
	if n, err := base64.RawURLEncoding.Decode(id[:], []byte(ref)); err != nil || n != idLen || len(ref) != 22 {
		return errors.New("middleware: malformed session reference")
	}
	v, err := j.encode(id, time.Now().Unix())
	if err != nil {
		return err
	}
	h := w.Header()
	// A response that sets a session cookie must never be served from a
	// shared cache to another visitor: keep it private unless the handler
	// already forbade storing it, and key any cache on the cookie.
	if cc := h.Get("Cache-Control"); !strings.Contains(cc, "private") && !strings.Contains(cc, "no-store") {
		h.Set("Cache-Control", "private")
	}
	h.Add("Vary", "Cookie")
	http.SetCookie(w, sessions.NewCookie(j.name, v, &j.options))
	return nil
}

// newSessionRef returns a fresh random session reference.
func newSessionRef() string {
	var b [idLen]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails on supported platforms
	return base64.RawURLEncoding.EncodeToString(b[:])
}
