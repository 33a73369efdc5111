package middleware_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tracklink/tracklink"
	"github.com/tracklink/tracklink/adapters/memstore"
	"github.com/tracklink/tracklink/middleware"
)

// Fetch metadata of a top-level navigation from another site: a click by
// the visitor (Sec-Fetch-User ?1), and a navigation a script started
// (location.href = …) without one.
var (
	crossSiteClick    = []string{"Sec-Fetch-Site", "cross-site", "Sec-Fetch-Mode", "navigate", "Sec-Fetch-Dest", "document", "Sec-Fetch-User", "?1"}
	crossSiteRedirect = []string{"Sec-Fetch-Site", "cross-site", "Sec-Fetch-Mode", "navigate", "Sec-Fetch-Dest", "document"}
)

func TestScriptRedirectDoesNotReplaceThePromoter(t *testing.T) {
	store := memstore.New()
	var landings []tracklink.Touch
	var mu sync.Mutex
	srv := httptest.NewServer(newMW(t, store, func(c *middleware.Config) {
		c.Hooks.OnVisit = func(_ context.Context, v tracklink.Visit, _ bool) {
			mu.Lock()
			landings = append(landings, v.Landing)
			mu.Unlock()
		}
	}).Handler(page))
	defer srv.Close()
	b := newBrowser(t, srv)

	_, body := b.get("/events/summer-fest?promoter=ana", crossSiteClick...)
	ref := strings.Fields(body)[0]
	assert.Equal(t, ref+" promoter ana", body)

	// Another site's script sends the visitor through evil's link.
	_, body = b.get("/events/summer-fest?promoter=evil", append(crossSiteRedirect, "Referer", "https://stuffer.example/")...)
	assert.Equal(t, ref+" promoter ana", body, "a navigation without user activation replaces no promoter")
	_, body = b.get("/events/summer-fest?utm_source=evil&utm_campaign=x", crossSiteRedirect...)
	assert.Equal(t, ref+" promoter ana", body, "nor does it replace with a campaign")
	mu.Lock()
	last := landings[len(landings)-1]
	mu.Unlock()
	assert.True(t, last.Passive)
	assert.Contains(t, last.Evidence, "no user activation")

	// The visitor's own click on bob's link does.
	_, body = b.get("/events/summer-fest?promoter=bob", crossSiteClick...)
	assert.Equal(t, ref+" promoter bob", body)
	mu.Lock()
	assert.False(t, landings[len(landings)-1].Passive)
	mu.Unlock()

	// Without fetch metadata (an older browser) nothing is known: the
	// newest link wins as before.
	_, body = b.get("/events/summer-fest?promoter=carl")
	assert.Equal(t, ref+" promoter carl", body)

	ev, _, err := store.Touches(context.Background(), ref, "summer-fest")
	require.NoError(t, err)
	require.NotNil(t, ev)
	assert.Equal(t, "carl", ev.Promoter)
}

func TestRedirectedFreshSessionIsTracked(t *testing.T) {
	// A fresh session landing through a redirect (an in-app browser, a link
	// shortener) has no touch to protect: it is tracked as usual.
	cs := &countingStore{Store: memstore.New()}
	h := newMW(t, cs).Handler(page)
	rec := serve(h, landing("/events/summer-fest?promoter=ana", append(crossSiteRedirect, "Referer", "https://l.instagram.com/")...))
	assert.Contains(t, rec.Body.String(), " promoter ana")
	assert.Len(t, rec.Result().Cookies(), 1)
	assert.EqualValues(t, 1, cs.stamps.Load())

	// and it replaces a weaker touch
	first := serve(h, landing("/events/summer-fest", append(crossSiteClick, "Referer", googleRef)...))
	require.Contains(t, first.Body.String(), " search google")
	rec = serve(h, landing("/events/summer-fest?promoter=ana", crossSiteRedirect...), first.Result().Cookies()...)
	assert.Contains(t, rec.Body.String(), " promoter ana")
}

func TestPromoterLock(t *testing.T) {
	now := time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC)
	var mu sync.Mutex
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	advance := func(d time.Duration) { mu.Lock(); now = now.Add(d); mu.Unlock() }
	srv := httptest.NewServer(newMW(t, memstore.New(), func(c *middleware.Config) {
		c.PromoterLock, c.Now = time.Hour, clock
	}).Handler(page))
	defer srv.Close()
	b := newBrowser(t, srv)

	_, body := b.get("/events/summer-fest?promoter=ana", crossSiteClick...)
	ref := strings.Fields(body)[0]
	advance(30 * time.Minute)
	_, body = b.get("/events/summer-fest?promoter=bob", crossSiteClick...)
	assert.Equal(t, ref+" promoter ana", body, "another promoter's click within the lock")
	_, body = b.get("/events/summer-fest?utm_source=newsletter")
	assert.Equal(t, ref+" campaign newsletter", body, "a campaign link is no promoter: it replaces the locked touch")
	_, body = b.get("/events/summer-fest?promoter=ana", crossSiteClick...)
	assert.Equal(t, ref+" promoter ana", body)
	advance(61 * time.Minute)
	_, body = b.get("/events/summer-fest?promoter=bob", crossSiteClick...)
	assert.Equal(t, ref+" promoter bob", body, "after the lock")

	_, err := middleware.New(middleware.Config{Store: memstore.New(), PromoterLock: -time.Second})
	assert.ErrorContains(t, err, "PromoterLock must not be negative")
}

func TestDecoyCookieDoesNotResetTheSession(t *testing.T) {
	store := memstore.New()
	h := newMW(t, store).Handler(page)
	first := serve(h, landing("/events/summer-fest?promoter=ana"))
	c := first.Result().Cookies()[0]
	ref := strings.Fields(first.Body.String())[0]

	// Decoys of the session's name, sent before the real cookie (a longer
	// Path, a parent domain's cookie): unsigned, signed by someone else, empty.
	foreign := newMW(t, memstore.New(), func(cfg *middleware.Config) { cfg.SessionKeys = [][]byte{[]byte(otherKey)} }).Handler(page)
	theirs := serve(foreign, landing("/events/summer-fest?promoter=evil")).Result().Cookies()[0]
	decoys := []*http.Cookie{
		{Name: c.Name, Value: "decoy"},
		{Name: c.Name, Value: theirs.Value},
		{Name: c.Name, Value: ""},
	}
	rec := serve(h, landing("/events/summer-fest"), append(decoys, c)...)
	assert.Equal(t, ref+" promoter ana", rec.Body.String(), "the cookie that verifies is the session")
	assert.Empty(t, rec.Result().Cookies(), "no fresh cookie")

	// Checkout (an untracked request) reads it the same way.
	rec = serve(h, httptest.NewRequest("POST", "http://"+siteHost+"/events/summer-fest/checkout", nil), append(decoys, c)...)
	assert.Equal(t, ref+"  ", rec.Body.String())

	// Decoys alone start a fresh session; so do more decoys than read tries.
	rec = serve(h, landing("/events/summer-fest"), decoys...)
	assert.NotContains(t, rec.Body.String(), ref)
	assert.Len(t, rec.Result().Cookies(), 1)
	many := make([]*http.Cookie, 0, 40)
	for range 40 {
		many = append(many, &http.Cookie{Name: c.Name, Value: "decoy"})
	}
	rec = serve(h, landing("/events/summer-fest"), append(many, c)...)
	assert.Equal(t, http.StatusOK, rec.Code)
	assert.NotContains(t, rec.Body.String(), ref, "read tries a bounded number of cookies")
}

func TestWithoutFetchMetadataOnlyHTMLFirstIsALanding(t *testing.T) {
	cases := []struct {
		name    string
		headers []string
		stamped bool
	}{
		{"Safari navigation", []string{"Accept", "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}, true},
		{"XHTML first", []string{"Accept", "application/xhtml+xml,text/html;q=0.9"}, true},
		{"parameters and case", []string{"Accept", " Text/HTML ;q=1.0, */*"}, true},
		{"img or iframe load", []string{"Accept", "*/*"}, false},
		{"image", []string{"Accept", "image/avif,image/webp,*/*"}, false},
		{"HTML not first", []string{"Accept", "*/*,text/html"}, false},
		{"JSON first", []string{"Accept", "application/json,text/html"}, false},
		{"no Accept", []string{"Accept", ""}, false},
		// with fetch metadata, Sec-Fetch-Dest decides
		{"document, any Accept", []string{"Accept", "*/*", "Sec-Fetch-Dest", "document"}, true},
		{"iframe", []string{"Accept", "text/html", "Sec-Fetch-Dest", "iframe"}, false},
		{"image dest", []string{"Accept", "*/*", "Sec-Fetch-Dest", "image"}, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cs := &countingStore{Store: memstore.New()}
			h := newMW(t, cs).Handler(page)
			req := landing("/events/summer-fest?promoter=ana")
			for i := 0; i+1 < len(tc.headers); i += 2 {
				if tc.headers[i+1] == "" {
					req.Header.Del(tc.headers[i])
					continue
				}
				req.Header.Set(tc.headers[i], tc.headers[i+1])
			}
			rec := serve(h, req)
			if tc.stamped {
				assert.EqualValues(t, 1, cs.stamps.Load(), "stamped")
				assert.Len(t, rec.Result().Cookies(), 1)
			} else {
				assert.Zero(t, cs.stamps.Load(), "not a landing")
				assert.Empty(t, rec.Result().Cookies())
			}
		})
	}
}

func TestNewSessionBudget(t *testing.T) {
	now := time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC)
	var mu sync.Mutex
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	cs := &countingStore{Store: memstore.New()}
	var reported []error
	mw := newMW(t, cs, func(c *middleware.Config) {
		c.Now = clock
		c.ClientKey = func(r *http.Request) string { return r.Header.Get("X-Client") }
		c.NewSessionsPerMinute = 2
		c.Hooks.OnError = func(_ context.Context, err error) { reported = append(reported, err) }
	})
	h := mw.Handler(page)
	land := func(client string, cookies ...*http.Cookie) *httptest.ResponseRecorder {
		return serve(h, landing("/events/summer-fest?promoter=ana", "X-Client", client), cookies...)
	}

	first := land("a")
	require.Len(t, first.Result().Cookies(), 1)
	require.Len(t, land("a").Result().Cookies(), 1)
	require.EqualValues(t, 2, cs.stamps.Load())

	// the third new session of the minute is served untracked
	rec := land("a")
	assert.Equal(t, http.StatusOK, rec.Code)
	assert.Equal(t, "no-session", rec.Body.String())
	assert.Empty(t, rec.Result().Cookies(), "no cookie")
	assert.EqualValues(t, 2, cs.stamps.Load(), "no store write")
	assert.EqualValues(t, 1, mw.OverBudget())
	require.NotEmpty(t, reported)
	assert.ErrorIs(t, reported[len(reported)-1], middleware.ErrSessionBudget)

	// a session already started is tracked as usual
	rec = land("a", first.Result().Cookies()...)
	assert.Contains(t, rec.Body.String(), " promoter ana")
	assert.EqualValues(t, 3, cs.stamps.Load())
	// another client has its own budget; a request without a key has none
	assert.Len(t, land("b").Result().Cookies(), 1)
	for range 5 {
		assert.Len(t, land("").Result().Cookies(), 1)
	}

	// the next minute starts afresh
	mu.Lock()
	now = now.Add(time.Minute)
	mu.Unlock()
	assert.Len(t, land("a").Result().Cookies(), 1)
	assert.EqualValues(t, 1, mw.OverBudget())

	_, err := middleware.New(middleware.Config{Store: memstore.New(), NewSessionsPerMinute: 10})
	assert.ErrorContains(t, err, "needs Config.ClientKey")
	_, err = middleware.New(middleware.Config{Store: memstore.New(), NewSessionsPerMinute: -1})
	assert.ErrorContains(t, err, "must not be negative")
}

// TestNewSessionBudgetManyKeys: a flood of distinct keys (one new session
// each) keeps working on the fixed counters; only keys that share a
// counter with an earlier one can be refused, a small share.
func TestNewSessionBudgetManyKeys(t *testing.T) {
	cs := &countingStore{Store: memstore.New()}
	now := time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC)
	mw := newMW(t, cs, func(c *middleware.Config) {
		c.Now = func() time.Time { return now }
		c.ClientKey = func(r *http.Request) string { return r.Header.Get("X-Client") }
		c.NewSessionsPerMinute = 1
	})
	h := mw.Handler(page)
	const keys = 400
	for i := range keys {
		serve(h, landing("/events/summer-fest", "X-Client", "client-"+strconv.Itoa(i)))
	}
	// 400 keys on 4096 counters: about 19 share one with an earlier key
	assert.Less(t, mw.OverBudget(), int64(60))
	assert.EqualValues(t, keys, cs.stamps.Load()+mw.OverBudget())
}
