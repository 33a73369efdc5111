package middleware_test

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/tracklink/tracklink"
	"github.com/tracklink/tracklink/adapters/memstore"
	"github.com/tracklink/tracklink/middleware"
)

// FuzzMiddleware feeds hostile requests (query, path, Referer, user agent,
// fetch metadata, cookie) through the middleware: it never panics, never
// changes the page, and anything it hands the handler is well-formed.
func FuzzMiddleware(f *testing.F) {
	f.Add("/events/summer-fest", "promoter=ana&utm_source=ig", "https://l.instagram.com/", chromeUA, "cross-site", "")
	f.Add("/", "gclid=x&promoter=%zz", "android-app://com.instagram.android/", iphoneIG, "none", "garbage")
	f.Add("/evil.example/", "promoter=ana", "", chromeUA, "none", "")
	f.Add("/events/a/b", "promoter="+strings.Repeat("a", 100), "http://[::1", "", "", strings.Repeat("A", 600))
	store := memstore.New()
	mw, err := middleware.New(middleware.Config{Store: store, SessionKeys: [][]byte{[]byte(testKey)}, Insecure: true, CleanURL: true})
	if err != nil {
		f.Fatal(err)
	}
	h := mw.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if v, ok := tracklink.FromContext(r.Context()); ok {
			if !tracklink.ValidSession(v.Session) {
				panic("malformed session reference " + v.Session)
			}
			if v.Tracked && !v.Current.Channel.Valid() {
				panic("invalid channel " + string(v.Current.Channel))
			}
		}
		w.Write([]byte("page"))
	}))
	f.Fuzz(func(t *testing.T, path, query, referer, ua, site, cookie string) {
		u := &url.URL{Path: "/" + path, RawQuery: query}
		req, err := http.NewRequest("GET", "http://"+siteHost+u.RequestURI(), nil)
		if err != nil {
			return // not a request a server would parse either
		}
		req.Header.Set("Referer", referer)
		req.Header.Set("User-Agent", ua)
		req.Header.Set("Sec-Fetch-Site", site)
		req.Header.Set("Cookie", "tl_session="+cookie)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK && rec.Code != http.StatusFound {
			t.Fatalf("status %d", rec.Code)
		}
		if rec.Code == http.StatusOK && rec.Body.String() != "page" {
			t.Fatalf("body %q", rec.Body.String())
		}
		if loc := rec.Header().Get("Location"); rec.Code == http.StatusFound &&
			(!strings.HasPrefix(loc, "/") || strings.HasPrefix(loc, "//") || strings.HasPrefix(loc, "/\\")) {
			t.Fatalf("redirect off-site: %q", loc)
		}
	})
}
