package middleware_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tracklink/tracklink"
	"github.com/tracklink/tracklink/adapters/memstore"
	"github.com/tracklink/tracklink/middleware"
)

const (
	chromeUA  = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"
	iphoneIG  = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 Instagram 337.0.3.23.94 (iPhone14,5; iOS 17_5; en_US; en; scale=3.00; 1170x2532; 614436209)"
	testKey   = "0123456789abcdef0123456789abcdef"
	otherKey  = "fedcba9876543210fedcba9876543210"
	siteHost  = "tickets.example"
	googleRef = "https://www.google.com/"
)

// countingStore counts calls and can fail or block on demand.
type countingStore struct {
	tracklink.Store
	stamps atomic.Int64
	fail   atomic.Bool
	block  atomic.Bool
	seen   chan time.Duration // deadline left when a blocked call started
}

func (s *countingStore) Stamp(ctx context.Context, st tracklink.Stamp) (tracklink.StampResult, error) {
	s.stamps.Add(1)
	if s.block.Load() {
		if d, ok := ctx.Deadline(); ok && s.seen != nil {
			select {
			case s.seen <- time.Until(d):
			default:
			}
		}
		<-ctx.Done()
		return tracklink.StampResult{}, ctx.Err()
	}
	if s.fail.Load() {
		return tracklink.StampResult{}, errors.New("store down")
	}
	return s.Store.Stamp(ctx, st)
}

func newMW(t testing.TB, store tracklink.Store, mut ...func(*middleware.Config)) *middleware.Middleware {
	t.Helper()
	cfg := middleware.Config{Store: store, SessionKeys: [][]byte{[]byte(testKey), nil}, Insecure: true,
		// Generous: on a loaded machine the 50 ms default could fail a
		// landing open and lose its stamp. Tests about the deadline set
		// their own.
		StoreTimeout: 30 * time.Second}
	for _, f := range mut {
		f(&cfg)
	}
	m, err := middleware.New(cfg)
	require.NoError(t, err)
	t.Cleanup(func() {
		// Stops the queue's goroutines. A test that leaves stamps queued
		// on purpose closes the middleware itself first.
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := m.Close(ctx); err != nil {
			t.Errorf("close: %v", err)
		}
	})
	return m
}

// page echoes what the middleware put in the context.
var page = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	v, ok := tracklink.FromContext(r.Context())
	if !ok {
		io.WriteString(w, "no-session")
		return
	}
	io.WriteString(w, v.Session+" "+string(v.Current.Channel)+" "+v.Current.Source)
})

// browser is a cookie-jar client, as a browser would be.
type browser struct {
	t   *testing.T
	c   *http.Client
	url string
}

func newBrowser(t *testing.T, srv *httptest.Server) *browser {
	jar, err := cookiejar.New(nil)
	require.NoError(t, err)
	return &browser{t: t, url: srv.URL, c: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

func (b *browser) get(path string, header ...string) (int, string) {
	b.t.Helper()
	req, err := http.NewRequest(http.MethodGet, b.url+path, nil)
	require.NoError(b.t, err)
	req.Header.Set("User-Agent", chromeUA)
	req.Header.Set("Accept", "text/html,application/xhtml+xml")
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	res, err := b.c.Do(req)
	require.NoError(b.t, err)
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(body)
}

func TestPromoterLinkSurvivesBrowsingAndOrganicSearch(t *testing.T) {
	store := memstore.New()
	srv := httptest.NewServer(newMW(t, store).Handler(page))
	defer srv.Close()
	b := newBrowser(t, srv)

	_, body := b.get("/events/summer-fest?promoter=Ana", "Sec-Fetch-Site", "cross-site")
	ref := strings.Fields(body)[0]
	require.True(t, tracklink.ValidSession(ref), "session reference %q", ref)
	assert.Equal(t, ref+" promoter ana", body)

	// Two more pages on the site: same session, attribution unchanged.
	_, body = b.get("/events/summer-fest", "Referer", srv.URL+"/events/summer-fest")
	assert.Equal(t, ref+" promoter ana", body)
	_, body = b.get("/", "Referer", srv.URL+"/events/summer-fest")
	assert.Equal(t, ref+"  ", body, "the home page is untracked (no store call) but FromContext still reads the session")

	// An organic Google visit later: inferred never beats explicit.
	_, body = b.get("/events/summer-fest", "Referer", googleRef)
	assert.Equal(t, ref+" promoter ana", body)

	// Another event from Google: not ana.
	_, body = b.get("/events/winter-gala", "Referer", googleRef)
	assert.Equal(t, ref+" search google", body)

	ev, site, err := store.Touches(context.Background(), ref, "summer-fest")
	require.NoError(t, err)
	require.NotNil(t, ev)
	assert.Equal(t, "ana", ev.Promoter)
	assert.Nil(t, site, "event links never set the site-wide touch")
	ev, _, err = store.Touches(context.Background(), ref, "winter-gala")
	require.NoError(t, err)
	require.NotNil(t, ev)
	assert.Equal(t, tracklink.ChannelSearch, ev.Channel)
	assert.Empty(t, ev.Promoter)
}

func TestWhichRequestsAreTracked(t *testing.T) {
	cases := []struct {
		name    string
		method  string
		path    string
		headers []string
		stamped bool
	}{
		// event pages are always tracked
		{"event page", "GET", "/events/summer-fest", nil, true},
		{"event sub page", "GET", "/events/summer-fest/tickets", nil, true},
		{"event page from own site", "GET", "/events/summer-fest", []string{"Referer", "http://" + siteHost + "/"}, true},
		// other pages only with a signal
		{"home, no signal", "GET", "/", nil, false},
		{"home, own referrer", "GET", "/about", []string{"Referer", "http://" + siteHost + "/"}, false},
		{"home with promoter param", "GET", "/?promoter=ana", nil, true},
		{"home with utm_source", "GET", "/?utm_source=newsletter", nil, true},
		{"home with click id", "GET", "/?gclid=abc", nil, true},
		{"home from instagram", "GET", "/", []string{"Referer", "https://l.instagram.com/"}, true},
		{"home in Instagram's browser", "GET", "/", []string{"User-Agent", iphoneIG}, true},
		// never tracked
		{"POST", "POST", "/events/summer-fest?promoter=ana", nil, false},
		{"HEAD", "HEAD", "/events/summer-fest?promoter=ana", nil, false},
		{"asset", "GET", "/static/app.css?promoter=ana", nil, false},
		{"prefetch", "GET", "/events/summer-fest", []string{"Sec-Purpose", "prefetch"}, false},
		{"old prefetch", "GET", "/events/summer-fest", []string{"Purpose", "prefetch"}, false},
		{"fetch() call", "GET", "/events/summer-fest", []string{"Sec-Fetch-Dest", "empty"}, false},
		{"JSON API", "GET", "/events/summer-fest", []string{"Accept", "application/json"}, false},
		{"link preview", "GET", "/events/summer-fest?promoter=ana", []string{"User-Agent", "facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)"}, false},
		{"WhatsApp preview", "GET", "/events/summer-fest?promoter=ana", []string{"User-Agent", "WhatsApp/2.23.20.0"}, false},
		{"Googlebot", "GET", "/events/summer-fest", []string{"User-Agent", "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"}, false},
		{"curl", "GET", "/events/summer-fest", []string{"User-Agent", "curl/8.5.0"}, false},
		{"empty user agent", "GET", "/events/summer-fest", []string{"User-Agent", ""}, false},
		{"invalid event slug", "GET", "/events/Summer_Fest", nil, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cs := &countingStore{Store: memstore.New()}
			h := newMW(t, cs).Handler(page)
			req := httptest.NewRequest(tc.method, "http://"+siteHost+tc.path, nil)
			req.Header.Set("User-Agent", chromeUA)
			req.Header.Set("Accept", "text/html")
			for i := 0; i+1 < len(tc.headers); i += 2 {
				req.Header.Set(tc.headers[i], tc.headers[i+1])
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			assert.Equal(t, http.StatusOK, rec.Code)
			if tc.stamped {
				assert.EqualValues(t, 1, cs.stamps.Load(), "one store call")
				assert.NotEmpty(t, rec.Result().Cookies(), "session cookie set")
			} else {
				assert.EqualValues(t, 0, cs.stamps.Load(), "no store call")
				assert.Empty(t, rec.Result().Cookies(), "no cookie")
			}
		})
	}
}

func TestCookieAttributes(t *testing.T) {
	h := newMW(t, memstore.New(), func(c *middleware.Config) { c.Insecure = false }).Handler(page)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, landing("/events/summer-fest?promoter=ana"))
	cookies := rec.Result().Cookies()
	require.Len(t, cookies, 1)
	c := cookies[0]
	assert.Equal(t, "__Host-tl_session", c.Name)
	assert.True(t, c.Secure)
	assert.True(t, c.HttpOnly)
	assert.Equal(t, http.SameSiteLaxMode, c.SameSite)
	assert.Equal(t, "/", c.Path)
	assert.Empty(t, c.Domain)
	assert.Zero(t, c.MaxAge, "a browser-session cookie by default")
	assert.Less(t, len(c.Value), 200, "the cookie holds only a signed id")
	assert.NotContains(t, rec.Header().Get("Set-Cookie"), "ana", "the cookie holds nothing readable")
	assert.Equal(t, "private", rec.Header().Get("Cache-Control"), "a shared cache must not hand this cookie to others")
	assert.Contains(t, rec.Header().Values("Vary"), "Cookie")
}

func TestStampedResponseCacheHeaders(t *testing.T) {
	// A handler's stricter choice stands; a page without a new cookie is
	// left to the handler.
	noStore := newMW(t, memstore.New()).Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
	}))
	rec := serve(noStore, landing("/events/summer-fest?promoter=ana"))
	require.Len(t, rec.Result().Cookies(), 1)
	assert.Equal(t, "no-store", rec.Header().Get("Cache-Control"))

	h := newMW(t, memstore.New()).Handler(page)
	first := serve(h, landing("/events/summer-fest?promoter=ana"))
	require.Len(t, first.Result().Cookies(), 1)
	again := serve(h, landing("/events/summer-fest"), first.Result().Cookies()...)
	if len(again.Result().Cookies()) == 0 {
		assert.Empty(t, again.Header().Get("Cache-Control"), "no cookie set, no header added")
	}
	asset := serve(h, landing("/static/app.css"))
	assert.Empty(t, asset.Header().Get("Cache-Control"), "assets stay cacheable")
}

func landing(path string, header ...string) *http.Request {
	req := httptest.NewRequest("GET", "http://"+siteHost+path, nil)
	req.Header.Set("User-Agent", chromeUA)
	req.Header.Set("Accept", "text/html")
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	return req
}

func serve(h http.Handler, req *http.Request, cookies ...*http.Cookie) *httptest.ResponseRecorder {
	for _, c := range cookies {
		req.AddCookie(c)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

func TestTamperedExpiredAndRotatedCookies(t *testing.T) {
	store := memstore.New()
	old := newMW(t, store).Handler(page)
	first := serve(old, landing("/events/summer-fest?promoter=ana"))
	c := first.Result().Cookies()[0]
	ref := strings.Fields(first.Body.String())[0]

	t.Run("same key reads the session", func(t *testing.T) {
		rec := serve(old, landing("/events/summer-fest"), c)
		assert.Equal(t, ref+" promoter ana", rec.Body.String())
		assert.Empty(t, rec.Result().Cookies(), "an existing browser-session cookie is not rewritten")
	})
	t.Run("tampered cookie starts a fresh session quietly", func(t *testing.T) {
		bad := *c
		bad.Value = c.Value[:len(c.Value)-4] + "AAAA"
		var errs atomic.Int64
		h := newMW(t, store, func(cfg *middleware.Config) {
			cfg.Hooks.OnError = func(context.Context, error) { errs.Add(1) }
		}).Handler(page)
		rec := serve(h, landing("/events/summer-fest"), &bad)
		assert.Equal(t, http.StatusOK, rec.Code)
		assert.NotContains(t, rec.Body.String(), ref)
		assert.Len(t, rec.Result().Cookies(), 1, "a new cookie")
		assert.Zero(t, errs.Load(), "tampering is expected input, not an error")
	})
	t.Run("rotated keys still read old cookies", func(t *testing.T) {
		h := newMW(t, store, func(cfg *middleware.Config) {
			cfg.SessionKeys = [][]byte{[]byte(otherKey), nil, []byte(testKey), nil}
		}).Handler(page)
		rec := serve(h, landing("/events/summer-fest"), c)
		assert.Equal(t, ref+" promoter ana", rec.Body.String())
	})
	t.Run("retired key starts afresh", func(t *testing.T) {
		h := newMW(t, store, func(cfg *middleware.Config) { cfg.SessionKeys = [][]byte{[]byte(otherKey)} }).Handler(page)
		rec := serve(h, landing("/events/summer-fest"), c)
		assert.NotContains(t, rec.Body.String(), ref)
	})
	t.Run("oversized cookie ignored", func(t *testing.T) {
		big := &http.Cookie{Name: c.Name, Value: strings.Repeat("A", 8000)}
		rec := serve(old, landing("/events/summer-fest"), big)
		assert.Equal(t, http.StatusOK, rec.Code)
		assert.Len(t, rec.Result().Cookies(), 1)
	})
}

func TestCheckoutReadsSessionWithoutStoreCall(t *testing.T) {
	cs := &countingStore{Store: memstore.New()}
	h := newMW(t, cs).Handler(page)
	first := serve(h, landing("/events/summer-fest?promoter=ana"))
	ref := strings.Fields(first.Body.String())[0]
	require.EqualValues(t, 1, cs.stamps.Load())

	req := httptest.NewRequest("POST", "http://"+siteHost+"/events/summer-fest/checkout", strings.NewReader("qty=2"))
	rec := serve(h, req, first.Result().Cookies()...)
	assert.Equal(t, ref+"  ", rec.Body.String(), "checkout gets the session reference")
	assert.EqualValues(t, 1, cs.stamps.Load(), "and pays no store call")

	rec = serve(h, httptest.NewRequest("POST", "http://"+siteHost+"/events/summer-fest/checkout", nil))
	assert.Equal(t, "no-session", rec.Body.String())
}

func TestConsentRefused(t *testing.T) {
	cs := &countingStore{Store: memstore.New()}
	h := newMW(t, cs, func(c *middleware.Config) {
		c.Consent = func(r *http.Request) bool { return r.Header.Get("X-Consent") == "yes" }
	}).Handler(page)
	rec := serve(h, landing("/events/summer-fest?promoter=ana"))
	assert.Equal(t, "no-session", rec.Body.String())
	assert.Empty(t, rec.Result().Cookies())
	assert.Zero(t, cs.stamps.Load())

	rec = serve(h, landing("/events/summer-fest?promoter=ana", "X-Consent", "yes"))
	assert.Contains(t, rec.Body.String(), "promoter ana")
	assert.EqualValues(t, 1, cs.stamps.Load())
}

func TestCleanURLRedirectsOnce(t *testing.T) {
	store := memstore.New()
	srv := httptest.NewServer(newMW(t, store, func(c *middleware.Config) { c.CleanURL = true }).Handler(page))
	defer srv.Close()
	b := newBrowser(t, srv)
	req, _ := http.NewRequest("GET", srv.URL+"/events/summer-fest?promoter=ana&utm_source=ig&fbclid=xyz&seat=A1", nil)
	req.Header.Set("User-Agent", chromeUA)
	req.Header.Set("Accept", "text/html")
	res, err := b.c.Do(req)
	require.NoError(t, err)
	res.Body.Close()
	assert.Equal(t, http.StatusFound, res.StatusCode)
	assert.Equal(t, "/events/summer-fest?seat=A1", res.Header.Get("Location"))
	_, body := b.get("/events/summer-fest?seat=A1")
	assert.Contains(t, body, "promoter ana", "the stamp happened before the redirect")
}

func TestStoreOutageFailsOpen(t *testing.T) {
	cs := &countingStore{Store: memstore.New(), seen: make(chan time.Duration, 100)}
	var reported atomic.Int64
	mw := newMW(t, cs, func(c *middleware.Config) {
		c.StoreTimeout = 20 * time.Millisecond
		c.BreakerThreshold = 3
		c.BreakerCooldown = time.Hour
		c.QueueSize = -1 // the breaker alone: the queue would call the store later
		c.Hooks.OnError = func(context.Context, error) { reported.Add(1) }
	})
	h := mw.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "the page") }))

	cs.block.Store(true)
	for i := 0; i < 10; i++ {
		rec := serve(h, landing("/events/summer-fest?promoter=ana"))
		assert.Equal(t, http.StatusOK, rec.Code)
		assert.Equal(t, "the page", rec.Body.String(), "same body while the store hangs")
	}
	assert.EqualValues(t, 3, cs.stamps.Load(), "the breaker opened after 3 failures; later requests never touched the store")
	close(cs.seen)
	for left := range cs.seen {
		assert.LessOrEqual(t, left, 20*time.Millisecond, "each call was bounded by StoreTimeout")
	}
	assert.NotZero(t, reported.Load())
}

func TestBreakerRecovers(t *testing.T) {
	now := time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC)
	var mu sync.Mutex
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	cs := &countingStore{Store: memstore.New()}
	h := newMW(t, cs, func(c *middleware.Config) {
		c.BreakerThreshold, c.BreakerCooldown, c.Now = 2, time.Minute, clock
		c.QueueSize = -1 // the breaker alone: the queue would write the refused landings later
	}).Handler(page)
	cs.fail.Store(true)
	for i := 0; i < 5; i++ {
		serve(h, landing("/events/summer-fest"))
	}
	assert.EqualValues(t, 2, cs.stamps.Load())
	cs.fail.Store(false)
	mu.Lock()
	now = now.Add(2 * time.Minute)
	mu.Unlock()
	rec := serve(h, landing("/events/summer-fest?promoter=ana"))
	assert.Contains(t, rec.Body.String(), "promoter ana", "a probe after the cooldown closes the breaker")
	serve(h, landing("/events/summer-fest"))
	assert.EqualValues(t, 4, cs.stamps.Load())
}

func TestConfigValidation(t *testing.T) {
	_, err := middleware.New(middleware.Config{})
	assert.ErrorContains(t, err, "Store is required")
	_, err = middleware.New(middleware.Config{Store: memstore.New(), SessionKeys: [][]byte{[]byte("short")}})
	assert.ErrorContains(t, err, "16 bytes")
	_, err = middleware.New(middleware.Config{Store: memstore.New(), SessionKeys: [][]byte{[]byte(testKey), nil, []byte(otherKey)}})
	assert.ErrorContains(t, err, "pairs")
	_, err = middleware.New(middleware.Config{Store: memstore.New(), SessionKeys: [][]byte{[]byte(testKey), []byte("twenty-byte-aes-key!")}})
	assert.ErrorContains(t, err, "16, 24 or 32 bytes", "a bad encryption key fails New, not every request")
	_, err = middleware.New(middleware.Config{Store: memstore.New(), SessionKeys: [][]byte{[]byte(testKey), []byte(otherKey)}})
	assert.NoError(t, err, "32-byte AES key")
	_, err = middleware.New(middleware.Config{Store: memstore.New(), StoreTimeout: -time.Second})
	assert.ErrorContains(t, err, "StoreTimeout must not be negative")
}

func TestSkippedCheckoutStillReadsTheSession(t *testing.T) {
	cs := &countingStore{Store: memstore.New()}
	h := newMW(t, cs, func(c *middleware.Config) {
		c.Skip = func(r *http.Request) bool { return strings.HasPrefix(r.URL.Path, "/api/") }
	}).Handler(page)
	first := serve(h, landing("/events/summer-fest?promoter=ana"))
	ref := strings.Fields(first.Body.String())[0]
	rec := serve(h, httptest.NewRequest("POST", "http://"+siteHost+"/api/checkout.json", nil), first.Result().Cookies()...)
	assert.Equal(t, ref+"  ", rec.Body.String())
	rec = serve(h, landing("/api/events/summer-fest?promoter=bob"), first.Result().Cookies()...)
	assert.Equal(t, ref+"  ", rec.Body.String(), "a skipped GET is never stamped")
	assert.EqualValues(t, 1, cs.stamps.Load())
}

func TestCleanURLNeverLeavesTheSite(t *testing.T) {
	h := newMW(t, memstore.New(), func(c *middleware.Config) { c.CleanURL = true }).Handler(page)
	rec := serve(h, landing("//evil.example/?promoter=ana"))
	assert.NotEqual(t, http.StatusFound, rec.Code, "a protocol-relative path must not redirect")
	rec = serve(h, landing("/\\evil.example/?promoter=ana"))
	assert.Equal(t, "/%5Cevil.example/", rec.Header().Get("Location"), "the backslash stays escaped, on this site")
	rec = serve(h, landing("/events/summer-fest?promoter=ana"))
	assert.Equal(t, http.StatusFound, rec.Code)
	assert.Equal(t, "/events/summer-fest", rec.Header().Get("Location"))
}

func TestAttributionAtCheckout(t *testing.T) {
	store := memstore.New()
	mw := newMW(t, store)
	h := mw.Handler(page)
	first := serve(h, landing("/?promoter=ana", "Referer", "https://l.instagram.com/"))
	ref := strings.Fields(first.Body.String())[0]
	serve(h, landing("/events/winter-gala", "Referer", googleRef), first.Result().Cookies()...)

	// A site-wide promoter link credits any event…
	a, err := mw.Attribution(context.Background(), ref, "summer-fest")
	require.NoError(t, err)
	assert.Equal(t, tracklink.RuleSiteTouch, a.Rule)
	assert.Equal(t, "ana", a.Touch.Promoter)
	// …unless the event has its own touch stronger than direct.
	a, err = mw.Attribution(context.Background(), ref, "winter-gala")
	require.NoError(t, err)
	assert.Equal(t, tracklink.RuleEventTouch, a.Rule)
	assert.Equal(t, "google", a.Touch.Source)

	a, err = mw.Attribution(context.Background(), "AAAAAAAAAAAAAAAAAAAAAA", "summer-fest")
	require.NoError(t, err)
	assert.Equal(t, tracklink.RuleNoTouch, a.Rule, "an unknown session is direct")
	_, err = mw.Attribution(context.Background(), "not a ref", "summer-fest")
	assert.Error(t, err)
}

// TestOnlyKnownEventsAreCounted: with Config.Events, a made-up slug is
// served untracked (no store call, no cookie), the host's events count.
func TestOnlyKnownEventsAreCounted(t *testing.T) {
	store := &countingStore{Store: memstore.New()}
	var asked []string
	h := newMW(t, store, func(c *middleware.Config) {
		c.Events = func(_ context.Context, slug string) bool {
			asked = append(asked, slug)
			return slug == "summer-fest"
		}
	}).Handler(page)

	rec := serve(h, landing("/events/made-up-42?promoter=ana&utm_source=x"))
	assert.Equal(t, http.StatusOK, rec.Code)
	assert.Equal(t, "no-session", rec.Body.String(), "untracked")
	assert.Empty(t, rec.Result().Cookies())
	assert.Zero(t, store.stamps.Load(), "no store call for an unknown event")

	rec = serve(h, landing("/events/summer-fest?promoter=ana"))
	require.Len(t, rec.Result().Cookies(), 1)
	assert.Equal(t, int64(1), store.stamps.Load())
	assert.Contains(t, rec.Body.String(), "promoter ana")

	// Pages that are not event pages never ask, nor do bots.
	serve(h, landing("/about?promoter=ana"))
	bot := landing("/events/summer-fest")
	bot.Header.Set("User-Agent", "curl/8.4.0")
	serve(h, bot)
	assert.Equal(t, []string{"made-up-42", "summer-fest"}, asked)
}
