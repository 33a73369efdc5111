package middleware

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"hash"
	"strconv"
	"sync"
)

// idCodec signs and verifies the session cookie in securecookie's format
// (base64url of "date|base64url(id)|HMAC-SHA256(name|date|base64url(id))",
// what securecookie.Encode writes for a NopEncoder value with no
// encryption key), without its per-call costs: one HMAC state per key
// reused from a pool, every buffer on the stack, no splitting. Cookies it
// writes are read by securecookie and the other way round, so sessions
// survive either codec and keys rotate as before. A SessionKeys pair with
// an encryption key goes through securecookie itself.
type idCodec struct {
	states sync.Pool // of *codecState under the key
	maxAge int64     // seconds; older cookies do not verify
}

// codecState is one HMAC state under the codec's key with the buffers a
// call needs, reused from the pool so that a call allocates nothing but
// the value it returns.
type codecState struct {
	h   hash.Hash
	msg [maxCookieValue + 64]byte
	dec [maxCookieValue * 3 / 4]byte
	out [maxCookieValue * 2]byte
	sum [macLen]byte
}

func newIDCodec(hashKey []byte, maxAge int64) *idCodec {
	key := append([]byte(nil), hashKey...)
	c := &idCodec{maxAge: maxAge}
	c.states.New = func() any { return &codecState{h: hmac.New(sha256.New, key)} }
	return c
}

const (
	macLen = sha256.Size
	// maxCookieValue is the longest cookie value worth decoding: an id
	// cookie is about 100 bytes (securecookie's MaxLength is set to the
	// same).
	maxCookieValue = 512
	idB64Len       = (idLen + 2) / 3 * 4 // base64url with padding
)

func (st *codecState) mac(msg []byte) []byte {
	st.h.Reset()
	st.h.Write(msg)
	return st.h.Sum(st.sum[:0])
}

// decode verifies value as the cookie name's and returns its id.
func (c *idCodec) decode(name, value string, now int64) (id [idLen]byte, ok bool) {
	if len(value) > maxCookieValue || len(name) > 64 {
		return id, false
	}
	st := c.states.Get().(*codecState)
	defer c.states.Put(st)
	n, err := base64.URLEncoding.Decode(st.dec[:], []byte(value))
	if err != nil {
		return id, false
	}
	b := st.dec[:n]
	// "date|value|mac": the mac is everything after the second '|'
	i := indexByte(b, '|')
	if i <= 0 {
		return id, false
	}
	j := indexByte(b[i+1:], '|')
	if j < 0 {
		return id, false
	}
	j += i + 1
	if len(b)-j-1 != macLen {
		return id, false
	}
	msg := append(append(append(st.msg[:0], name...), '|'), b[:j]...)
	if subtle.ConstantTimeCompare(st.mac(msg), b[j+1:]) != 1 {
		return id, false
	}
	t, ok := parseUnix(b[:i])
	if !ok || c.maxAge != 0 && t < now-c.maxAge {
		return id, false
	}
	val := b[i+1 : j]
	if len(val) != idB64Len {
		return id, false
	}
	var raw [idLen + 2]byte
	if m, err := base64.URLEncoding.Decode(raw[:], val); err != nil || m != idLen {
		return id, false
	}
	copy(id[:], raw[:idLen])
	return id, true
}

// encode signs id as the cookie name's value at time now.
func (c *idCodec) encode(name string, id [idLen]byte, now int64) string {
	st := c.states.Get().(*codecState)
	defer c.states.Put(st)
	// "name|date|value|" + mac, then the name and its '|' cut off
	b := append(st.msg[:0], name...)
	b = append(b, '|')
	b = strconv.AppendInt(b, now, 10)
	b = append(b, '|')
	var val [idB64Len]byte
	base64.URLEncoding.Encode(val[:], id[:])
	b = append(b, val[:]...)
	b = append(append(b, '|'), st.mac(b)...)
	b = b[len(name)+1:]
	n := base64.URLEncoding.EncodedLen(len(b))
	base64.URLEncoding.Encode(st.out[:n], b)
	return string(st.out[:n])
}

func indexByte(b []byte, c byte) int {
	for i, x := range b {
		if x == c {
			return i
		}
	}
	return -1
}

// parseUnix parses a non-negative decimal of at most 18 digits.
func parseUnix(b []byte) (int64, bool) {
	if len(b) == 0 || len(b) > 18 {
		return 0, false
	}
	var t int64
	for _, d := range b {
		if d < '0' || d > '9' {
			return 0, false
		}
		t = t*10 + int64(d-'0')
	}
	return t, true
}
