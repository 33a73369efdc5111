package middleware_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/gob"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/gorilla/securecookie"
	"github.com/gorilla/sessions"
	"github.com/redis/go-redis/v9"

	"github.com/tracklink/tracklink"
	"github.com/tracklink/tracklink/adapters/memstore"
	"github.com/tracklink/tracklink/adapters/redisstore"
	"github.com/tracklink/tracklink/internal/redisstoretest"
	"github.com/tracklink/tracklink/internal/redistest"
)

var okHandler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusOK) })

// checkoutHandler reads the session like a host's checkout would.
var checkoutHandler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	if v, ok := tracklink.FromContext(r.Context()); ok && v.Session == "" {
		panic("unreachable")
	}
	w.WriteHeader(http.StatusOK)
})

// nopWriter is a ResponseWriter that keeps nothing, so benchmarks measure
// the middleware rather than httptest.ResponseRecorder.
type nopWriter struct{ h http.Header }

func (w *nopWriter) Header() http.Header         { return w.h }
func (w *nopWriter) Write(b []byte) (int, error) { return len(b), nil }
func (w *nopWriter) WriteHeader(int)             {}
func (w *nopWriter) reset() {
	for k := range w.h {
		delete(w.h, k)
	}
}

func benchRedis(b *testing.B) *redis.Client {
	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:6379", ContextTimeoutEnabled: true, ReadTimeout: time.Second, WriteTimeout: time.Second})
	if err := rdb.Ping(context.Background()).Err(); err != nil {
		b.Skipf("no Redis on 127.0.0.1:6379: %v", err)
	}
	b.Cleanup(func() { rdb.Close() })
	return rdb
}

func cleanupPrefix(b *testing.B, rdb *redis.Client, prefix string) {
	b.Cleanup(func() {
		ctx := context.Background()
		iter := rdb.Scan(ctx, 0, prefix+"*", 1000).Iterator()
		for iter.Next(ctx) {
			rdb.Unlink(ctx, iter.Val())
		}
	})
}

func randPrefix(name string) string {
	var b [6]byte
	rand.Read(b[:])
	return fmt.Sprintf("tlbench-%s-%x:", name, b)
}

// BenchmarkMiddleware compares the middleware's cost with its peers in one
// run, so the ratios hold on a noisy machine:
//
//   - bare: the host's handler alone, the floor.
//   - untracked: a request the middleware passes through (a checkout POST
//     that reads the session lazily; target ≤ 1µs and ≤ 2 allocs over bare,
//     no store call).
//   - untracked-asset: a static file, skipped before anything else.
//   - tracked-memstore / tracked-redis: a landing with a promoter link on an
//     event page, with a session cookie (one store round trip).
//   - naive-gorilla-redis: gorilla/sessions with a Redis-backed session
//     store saving on every request, the usual do-it-yourself approach.
func BenchmarkMiddleware(b *testing.B) {
	w := &nopWriter{h: http.Header{}}
	run := func(b *testing.B, h http.Handler, req *http.Request) {
		b.ReportAllocs()
		for b.Loop() {
			w.reset()
			h.ServeHTTP(w, req)
		}
	}
	cookieFor := func(b *testing.B, h http.Handler) *http.Cookie {
		rec := serve(h, landing("/events/summer-fest?promoter=ana"))
		cs := rec.Result().Cookies()
		if len(cs) != 1 {
			b.Fatal("no session cookie")
		}
		return cs[0]
	}

	b.Run("bare", func(b *testing.B) {
		run(b, checkoutHandler, httptest.NewRequest("POST", "http://"+siteHost+"/events/summer-fest/checkout", nil))
	})
	b.Run("untracked", func(b *testing.B) {
		h := newMW(b, memstore.New()).Handler(checkoutHandler)
		req := httptest.NewRequest("POST", "http://"+siteHost+"/events/summer-fest/checkout", nil)
		req.Header.Set("User-Agent", chromeUA)
		run(b, h, req)
	})
	b.Run("untracked-page", func(b *testing.B) {
		h := newMW(b, memstore.New()).Handler(okHandler)
		run(b, h, landing("/about", "Referer", "http://"+siteHost+"/"))
	})
	b.Run("untracked-asset", func(b *testing.B) {
		h := newMW(b, memstore.New()).Handler(okHandler)
		run(b, h, landing("/static/app.js"))
	})
	b.Run("tracked-memstore", func(b *testing.B) {
		h := newMW(b, memstore.New()).Handler(okHandler)
		req := landing("/events/summer-fest?promoter=ana")
		req.AddCookie(cookieFor(b, h))
		run(b, h, req)
	})
	b.Run("tracked-redis", func(b *testing.B) {
		rdb := benchRedis(b)
		prefix := randPrefix("mw")
		cleanupPrefix(b, rdb, prefix)
		h := newMW(b, redisstoretest.New(rdb, redisstore.Options{Prefix: prefix})).Handler(okHandler)
		req := landing("/events/summer-fest?promoter=ana")
		req.AddCookie(cookieFor(b, h))
		rt := redistest.CountRoundTrips(rdb)
		run(b, h, req)
		b.ReportMetric(float64(rt.N())/float64(b.N), "roundtrips/op")
	})
	b.Run("naive-gorilla-redis", func(b *testing.B) {
		rdb := benchRedis(b)
		prefix := randPrefix("naive")
		cleanupPrefix(b, rdb, prefix)
		store := &naiveRedisStore{rdb: rdb, prefix: prefix, codecs: securecookie.CodecsFromPairs([]byte(testKey))}
		h := naiveMiddleware(store, okHandler)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, landing("/events/summer-fest?promoter=ana"))
		req := landing("/events/summer-fest?promoter=ana")
		req.AddCookie(rec.Result().Cookies()[0])
		rt := redistest.CountRoundTrips(rdb)
		run(b, h, req)
		b.ReportMetric(float64(rt.N())/float64(b.N), "roundtrips/op")
	})
}

// naiveMiddleware is the do-it-yourself peer: load the gorilla session,
// write the promoter into it, save it, on every request.
func naiveMiddleware(store sessions.Store, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// gorilla's registry rewrites *r to cache the session in its
		// context; a server hands each request a fresh *r, so must we.
		r = r.WithContext(r.Context())
		s, _ := store.Get(r, "naive")
		if p := r.URL.Query().Get("promoter"); p != "" {
			s.Values["promoter"] = p
		}
		s.Values["last_path"] = r.URL.Path
		_ = s.Save(r, w)
		next.ServeHTTP(w, r)
	})
}

// naiveRedisStore is a minimal Redis-backed gorilla sessions.Store in the
// style of the common community stores: gob-encoded values under a random
// id, the id in a securecookie.
type naiveRedisStore struct {
	rdb    *redis.Client
	prefix string
	codecs []securecookie.Codec
}

func (s *naiveRedisStore) Get(r *http.Request, name string) (*sessions.Session, error) {
	return sessions.GetRegistry(r).Get(s, name)
}

func (s *naiveRedisStore) New(r *http.Request, name string) (*sessions.Session, error) {
	sess := sessions.NewSession(s, name)
	sess.Options = &sessions.Options{Path: "/", HttpOnly: true, SameSite: http.SameSiteLaxMode}
	sess.IsNew = true
	c, err := r.Cookie(name)
	if err != nil {
		return sess, nil
	}
	if err := securecookie.DecodeMulti(name, c.Value, &sess.ID, s.codecs...); err != nil {
		return sess, nil
	}
	data, err := s.rdb.Get(r.Context(), s.prefix+sess.ID).Bytes()
	if err != nil {
		return sess, nil
	}
	if err := gob.NewDecoder(bytes.NewReader(data)).Decode(&sess.Values); err == nil {
		sess.IsNew = false
	}
	return sess, nil
}

func (s *naiveRedisStore) Save(r *http.Request, w http.ResponseWriter, sess *sessions.Session) error {
	if sess.ID == "" {
		var b [32]byte
		rand.Read(b[:])
		sess.ID = base64.RawURLEncoding.EncodeToString(b[:])
	}
	var buf bytes.Buffer
	if err := gob.NewEncoder(&buf).Encode(sess.Values); err != nil {
		return err
	}
	if err := s.rdb.Set(r.Context(), s.prefix+sess.ID, buf.Bytes(), 24*time.Hour).Err(); err != nil {
		return err
	}
	v, err := securecookie.EncodeMulti(sess.Name(), sess.ID, s.codecs...)
	if err != nil {
		return err
	}
	http.SetCookie(w, sessions.NewCookie(sess.Name(), v, sess.Options))
	return nil
}

var _ io.Writer = (*nopWriter)(nil)
