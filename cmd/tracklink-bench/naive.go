package main

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/gorilla/securecookie"
	"github.com/gorilla/sessions"
	"github.com/redis/go-redis/v9"
)

// naiveCookie is the peer's session cookie name.
const naiveCookie = "shop_session"

// naiveMiddleware is the do-it-yourself peer the benchmark compares with:
// gorilla/sessions on every request, writing what the landing came by into
// the session and saving it. It classifies nothing.
func naiveMiddleware(store sessions.Store, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s, _ := store.Get(r, naiveCookie)
		q := r.URL.Query()
		if p := q.Get("promoter"); p != "" {
			s.Values["promoter"] = p
		}
		if ref := r.Referer(); ref != "" && len(ref) <= 2048 {
			s.Values["referer"] = ref
		}
		if _, ok := s.Values["first_seen"]; !ok {
			s.Values["first_seen"] = time.Now().Unix()
		}
		n, _ := s.Values["views"].(float64)
		s.Values["views"] = n + 1
		s.Values["last_path"] = r.URL.Path
		_ = s.Save(r, w)
		next.ServeHTTP(w, r)
	})
}

// naiveStore is a small Redis-backed gorilla sessions.Store of the kind
// written by hand: the session's values as JSON under a random id, read
// (GET) when the request has a cookie and written (SET with a TTL) on
// every save; the id travels in a securecookie.
type naiveStore struct {
	rdb    *redis.Client
	prefix string
	codecs []securecookie.Codec
	ttl    time.Duration
}

func (s *naiveStore) Get(r *http.Request, name string) (*sessions.Session, error) {
	return sessions.GetRegistry(r).Get(s, name)
}

func (s *naiveStore) New(r *http.Request, name string) (*sessions.Session, error) {
	sess := sessions.NewSession(s, name)
	sess.Options = &sessions.Options{Path: "/", HttpOnly: true, SameSite: http.SameSiteLaxMode, MaxAge: int(s.ttl / time.Second)}
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
	var vals map[string]any
	if len(data) > 64<<10 || json.Unmarshal(data, &vals) != nil {
		return sess, nil
	}
	for k, v := range vals {
		sess.Values[k] = v
	}
	sess.IsNew = false
	return sess, nil
}

func (s *naiveStore) Save(r *http.Request, w http.ResponseWriter, sess *sessions.Session) error {
	if sess.ID == "" {
		var b [32]byte
		_, _ = rand.Read(b[:])
		sess.ID = base64.RawURLEncoding.EncodeToString(b[:])
	}
	vals := make(map[string]any, len(sess.Values))
	for k, v := range sess.Values {
		switch k := k.(type) {
		case string:
			vals[k] = v
		case int:
			vals[strconv.Itoa(k)] = v
		default:
			vals[fmt.Sprint(k)] = v
		}
	}
	data, err := json.Marshal(vals)
	if err != nil {
		return err
	}
	if err := s.rdb.Set(r.Context(), s.prefix+sess.ID, data, s.ttl).Err(); err != nil {
		return err
	}
	v, err := securecookie.EncodeMulti(sess.Name(), sess.ID, s.codecs...)
	if err != nil {
		return err
	}
	http.SetCookie(w, sessions.NewCookie(sess.Name(), v, sess.Options))
	return nil
}
