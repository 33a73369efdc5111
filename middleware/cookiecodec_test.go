package middleware

import (
	"bytes"
	"encoding/base64"
	"testing"
	"time"

	"github.com/gorilla/securecookie"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var codecKey = []byte("0123456789abcdef0123456789abcdef")

func gorillaCodec(maxAge int) *securecookie.SecureCookie {
	sc := securecookie.New(codecKey, nil)
	sc.SetSerializer(securecookie.NopEncoder{})
	sc.MaxAge(maxAge)
	return sc
}

// idCodec writes what securecookie reads and reads what it writes, so
// sessions survive a change of codec in either direction.
func TestIDCodecMatchesSecureCookie(t *testing.T) {
	c := newIDCodec(codecKey, 3600)
	sc := gorillaCodec(3600)
	var id [idLen]byte
	for i := range id {
		id[i] = byte(i * 17)
	}
	now := time.Now().Unix()

	v := c.encode("__Host-tl_session", id, now)
	var raw []byte
	require.NoError(t, sc.Decode("__Host-tl_session", v, &raw))
	assert.Equal(t, id[:], raw)

	g, err := sc.Encode("__Host-tl_session", id[:])
	require.NoError(t, err)
	got, ok := c.decode("__Host-tl_session", g, now)
	require.True(t, ok)
	assert.Equal(t, id, got)
}

func TestIDCodecRefuses(t *testing.T) {
	c := newIDCodec(codecKey, 3600)
	var id [idLen]byte
	id[0] = 7
	now := time.Now().Unix()
	v := c.encode("tl", id, now)

	_, ok := c.decode("other", v, now)
	assert.False(t, ok, "another cookie name")
	_, ok = newIDCodec([]byte("fedcba9876543210fedcba9876543210"), 3600).decode("tl", v, now)
	assert.False(t, ok, "another key")
	_, ok = c.decode("tl", v, now+3601)
	assert.False(t, ok, "expired")
	_, ok = c.decode("tl", v, now+3599)
	assert.True(t, ok, "not yet expired")

	// every single-byte change of the signed content is refused
	raw, err := base64.URLEncoding.DecodeString(v)
	require.NoError(t, err)
	for i := range raw {
		bad := bytes.Clone(raw)
		bad[i] ^= 0x01
		_, ok := c.decode("tl", base64.URLEncoding.EncodeToString(bad), now)
		assert.False(t, ok, "byte %d changed", i)
	}
	for _, s := range []string{"", "x", "||", base64.URLEncoding.EncodeToString([]byte("1|2|3")), string(make([]byte, 600))} {
		_, ok := c.decode("tl", s, now)
		assert.False(t, ok, "%q", s)
	}
	// a securecookie value of something else than an id
	sc := gorillaCodec(3600)
	g, err := sc.Encode("tl", []byte("not sixteen bytes long"))
	require.NoError(t, err)
	_, ok = c.decode("tl", g, now)
	assert.False(t, ok)
}

// The fast path verifies no less than securecookie: whatever it accepts,
// securecookie accepts with the same id.
func FuzzIDCodec(f *testing.F) {
	c := newIDCodec(codecKey, 0)
	sc := gorillaCodec(0)
	var id [idLen]byte
	f.Add(c.encode("tl", id, 1_700_000_000))
	f.Add("MTcwMDAwMDAwMHxBQUFBQUFBQUFBQUFBQUFBQUFBQUFBPT18")
	f.Fuzz(func(t *testing.T, v string) {
		got, ok := c.decode("tl", v, 1_800_000_000)
		if !ok {
			return
		}
		var raw []byte
		if err := sc.Decode("tl", v, &raw); err != nil {
			t.Fatalf("accepted %q, securecookie refuses: %v", v, err)
		}
		if !bytes.Equal(raw, got[:]) {
			t.Fatalf("id %x, securecookie %x", got, raw)
		}
	})
}

// BenchmarkCookieCodec sets the session cookie's codec beside
// securecookie's, which writes and reads the same values.
func BenchmarkCookieCodec(b *testing.B) {
	c := newIDCodec(codecKey, 3600)
	sc := gorillaCodec(3600)
	var id [idLen]byte
	now := time.Now().Unix()
	v := c.encode("__Host-tl_session", id, now)
	b.Run("decode", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, ok := c.decode("__Host-tl_session", v, now); !ok {
				b.Fatal("refused")
			}
		}
	})
	b.Run("decode-securecookie", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			var raw []byte
			if err := sc.Decode("__Host-tl_session", v, &raw); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("encode", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			_ = c.encode("__Host-tl_session", id, now)
		}
	})
	b.Run("encode-securecookie", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := sc.Encode("__Host-tl_session", id[:]); err != nil {
				b.Fatal(err)
			}
		}
	})
}
