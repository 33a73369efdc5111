// Package middleware is tracklink's net/http middleware: it classifies each
// landing, stamps the browser session and counts the visit, in one store
// round trip, and never fails the page because of tracking.
package middleware

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tracklink/tracklink"
)

// Middleware stamps browser sessions. Create it with New; it is safe for
// concurrent use.
type Middleware struct {
	cfg        Config
	store      tracklink.SessionStore
	cookies    *cookieJar
	classifier tracklink.Classifier
	breaker    breaker
	limiter    reportLimiter
}

// ErrBreakerOpen is reported (once per opening) when the circuit breaker
// stops calling the store.
var ErrBreakerOpen = errors.New("middleware: store circuit breaker open; serving pages without stamping")

// New validates cfg, applies the defaults and returns a Middleware.
func New(cfg Config) (*Middleware, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	cfg.setDefaults()
	m := &Middleware{
		cfg:   cfg,
		store: cfg.Store,
		classifier: tracklink.Classifier{
			PlatformHosts:  cfg.PlatformHosts,
			Hosts:          cfg.Hosts,
			PromoterParams: cfg.PromoterParams,
		},
		breaker: breaker{threshold: int64(cfg.BreakerThreshold), cooldown: cfg.BreakerCooldown},
	}
	var generated bool
	m.cookies, generated = newCookieJar(&m.cfg)
	if err := m.cookies.check(); err != nil {
		return nil, err
	}
	if cfg.Events == nil {
		cfg.Logger.Warn("tracklink: no Config.Events; every valid event slug is counted, so made-up slugs create event counters in the store: set Events to the host's catalogue")
	}
	if generated {
		cfg.Logger.Warn("tracklink: no SessionKeys configured; using a random key for this process only: every restart starts all sessions afresh and instances cannot read each other's cookies")
	}
	return m, nil
}

// Handler wraps next. It has the func(http.Handler) http.Handler shape, so
// r.Use(m.Handler) works in chi and m.Handler(mux) in plain net/http.
func (m *Middleware) Handler(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		m.serve(w, r, next)
	})
}

func (m *Middleware) serve(w http.ResponseWriter, r *http.Request, next http.Handler) {
	if r.Method == http.MethodGet && isAsset(r.URL.Path) {
		next.ServeHTTP(w, r) // static files never need the session
		return
	}
	var event string
	var tracked bool
	if m.cfg.Skip == nil || !m.cfg.Skip(r) {
		event, tracked = m.tracked(r)
	}
	if !tracked {
		// Untracked: no store call, no cookie work unless a handler asks
		// FromContext for the session (checkout does).
		next.ServeHTTP(w, r.WithContext(&lazyVisit{Context: r.Context(), m: m, r: r}))
		return
	}
	if m.cfg.Consent != nil && !m.cfg.Consent(r) {
		next.ServeHTTP(w, r)
		return
	}
	v := m.stamp(w, r, event)
	ctx := tracklink.NewContext(r.Context(), v)
	if m.cfg.CleanURL && m.classifier.HasTrackingParams(r.URL.RawQuery) {
		if u, ok := m.cleanURL(r.URL); ok {
			http.Redirect(w, r, u, http.StatusFound)
			return
		}
	}
	next.ServeHTTP(w, r.WithContext(ctx))
}

// tracked decides, cheaply and without allocating, whether r is a human
// page view worth a store call: GET page views of event pages always;
// other pages only with tracking parameters, an external Referer, or no
// Referer and an in-app browser. Never HEAD or other methods, prefetches, non-document
// fetches, bots, link-preview fetchers or HTTP clients.
func (m *Middleware) tracked(r *http.Request) (event string, ok bool) {
	if r.Method != http.MethodGet {
		return "", false
	}
	h := r.Header
	if isPrefetch(h) || !isDocument(h) {
		return "", false
	}
	event, isEvent := m.cfg.EventPath(r.URL.Path)
	ua := header(h, "User-Agent")
	if !isEvent && !m.classifier.HasTrackingParams(r.URL.RawQuery) {
		// A Referer decides: another site is a landing, our own is
		// browsing. Without one, only an in-app browser tells a landing.
		if ref := header(h, "Referer"); ref != "" {
			if !m.classifier.ExternalReferrer(ref, r.Host) {
				return "", false
			}
		} else if _, _, inApp := tracklink.InAppBrowser(ua); !inApp {
			return "", false
		}
	}
	if IsBot(ua) {
		return "", false
	}
	if isEvent && m.cfg.Events != nil && !m.cfg.Events(r.Context(), event) {
		return "", false // a slug the host does not sell: served, untracked
	}
	return event, true
}

// stamp classifies the landing, sets the cookie and records the touch. It
// never fails: store trouble is reported and the visit goes untracked.
func (m *Middleware) stamp(w http.ResponseWriter, r *http.Request, event string) tracklink.Visit {
	now := m.cfg.Now()
	h := r.Header
	touch, ignored := m.classifier.Classify(tracklink.Landing{
		Host:          r.Host,
		Path:          r.URL.Path,
		RawQuery:      r.URL.RawQuery,
		Referer:       h.Get("Referer"),
		UserAgent:     h.Get("User-Agent"),
		SecFetchSite:  h.Get("Sec-Fetch-Site"),
		RequestedWith: h.Get("X-Requested-With"),
		Event:         event,
		At:            now,
	})
	if ignored != "" {
		m.report(r.Context(), fmt.Errorf("%w: %s", ErrIgnoredInput, ignored))
	}
	ref := m.cookies.read(r)
	fresh := ref == ""
	if fresh {
		ref = newSessionRef()
	}
	if fresh || m.cfg.CookieMaxAge > 0 {
		if err := m.cookies.write(w, ref); err != nil {
			m.report(r.Context(), fmt.Errorf("middleware: set cookie: %w", err))
			return tracklink.Visit{}
		}
	}
	v := tracklink.Visit{Session: ref, Landing: touch}
	if !m.breaker.allow(now) {
		return v
	}
	ctx, cancel := context.WithTimeout(r.Context(), m.cfg.StoreTimeout)
	res, err := m.store.Stamp(ctx, tracklink.Stamp{Session: ref, Touch: touch, Model: m.cfg.Model, TTL: m.cfg.TTL})
	cancel()
	if err != nil {
		if r.Context().Err() != nil { // the client went away; not the store's fault
			m.breaker.probing.Store(false)
			return v
		}
		if m.breaker.failure(now) {
			m.report(r.Context(), fmt.Errorf("%w: %w", ErrBreakerOpen, err))
		} else {
			m.report(r.Context(), fmt.Errorf("middleware: stamp: %w", err))
		}
		return v
	}
	m.breaker.success()
	v.Tracked, v.Current = true, res.Current
	if m.cfg.Hooks.OnVisit != nil {
		m.cfg.Hooks.OnVisit(r.Context(), v, res.Counted)
	}
	return v
}

// ErrIgnoredInput is reported through OnError when part of a request was
// ignored (an invalid promoter code, an over-long parameter). It is
// tracklink.ErrIgnoredInput, which the webhook uses for dropped order
// fields.
var ErrIgnoredInput = tracklink.ErrIgnoredInput

// cleanURL returns u without its tracking parameters.
func (m *Middleware) cleanURL(u *url.URL) (string, bool) {
	q, err := url.ParseQuery(u.RawQuery)
	if err != nil {
		return "", false
	}
	for k := range q {
		if m.classifier.IsTrackingParam(k) {
			delete(q, k)
		}
	}
	c := *u
	c.RawQuery = q.Encode()
	c.Scheme, c.Host, c.User = "", "", nil // same-origin relative redirect only
	uri := c.RequestURI()
	// "//evil.example/" or "/\evil.example/" would leave the site.
	if !strings.HasPrefix(uri, "/") || strings.HasPrefix(uri, "//") || strings.HasPrefix(uri, "/\\") {
		return "", false
	}
	return uri, true
}

// isPrefetch reports speculative loads (Chrome's Sec-Purpose, older
// Purpose and X-Moz headers): the visitor has not opened the page.
func isPrefetch(h http.Header) bool {
	for _, k := range [...]string{"Sec-Purpose", "Purpose", "X-Moz", "X-Purpose"} {
		if v := header(h, k); v != "" && (strings.Contains(v, "prefetch") || strings.Contains(v, "prerender") || strings.Contains(v, "preview")) {
			return true
		}
	}
	return false
}

// header is h.Get for a key already in canonical form: net/http's server
// canonicalises incoming keys, so the lookup can skip doing it again.
func header(h http.Header, canonicalKey string) string {
	if v := h[canonicalKey]; len(v) > 0 {
		return v[0]
	}
	return ""
}

// isDocument reports whether the request loads a page: Sec-Fetch-Dest is
// document (or absent), and an Accept header, when sent, admits HTML.
func isDocument(h http.Header) bool {
	if d := header(h, "Sec-Fetch-Dest"); d != "" {
		return d == "document"
	}
	a := header(h, "Accept")
	return a == "" || strings.Contains(a, "text/html") || strings.Contains(a, "*/*")
}

// isAsset reports static files by extension; they are never tracked.
func isAsset(path string) bool {
	dot := strings.LastIndexByte(path, '.')
	if dot < 0 || dot < strings.LastIndexByte(path, '/') {
		return false
	}
	switch strings.ToLower(path[dot+1:]) {
	case "css", "js", "mjs", "map", "json", "xml", "txt", "png", "jpg", "jpeg", "gif", "webp", "avif",
		"svg", "ico", "woff", "woff2", "ttf", "otf", "eot", "mp4", "webm", "mp3", "wasm", "pdf", "zip":
		return true
	}
	return false
}

// lazyVisit is the request context of an untracked request. It is itself
// the context (one small allocation) and reads the session cookie only
// when a handler calls tracklink.FromContext.
type lazyVisit struct {
	context.Context
	m       *Middleware
	r       *http.Request
	once    sync.Once
	session string
}

func (l *lazyVisit) Value(key any) any {
	if key == (tracklink.ContextKey{}) {
		return l
	}
	return l.Context.Value(key)
}

// Visit implements tracklink.VisitSource.
func (l *lazyVisit) Visit() (tracklink.Visit, bool) {
	l.once.Do(func() {
		if l.m.cfg.Consent == nil || l.m.cfg.Consent(l.r) {
			l.session = l.m.cookies.read(l.r)
		}
	})
	return tracklink.Visit{Session: l.session}, l.session != ""
}

// report sends an absorbed error to Hooks.OnError and the logger, at most
// once a second; the next report says how many were suppressed.
func (m *Middleware) report(ctx context.Context, err error) {
	suppressed, ok := m.limiter.allow(m.cfg.Now())
	if !ok {
		return
	}
	if m.cfg.Hooks.OnError != nil {
		m.cfg.Hooks.OnError(ctx, err)
	}
	m.cfg.Logger.LogAttrs(ctx, slog.LevelWarn, "tracklink", slog.String("error", err.Error()), slog.Int64("suppressed", suppressed))
}

type reportLimiter struct {
	last       atomic.Int64 // unix nanos of the last report
	suppressed atomic.Int64
}

func (l *reportLimiter) allow(now time.Time) (suppressed int64, ok bool) {
	n := now.UnixNano()
	last := l.last.Load()
	if last != 0 && n-last < int64(time.Second) || !l.last.CompareAndSwap(last, n) {
		l.suppressed.Add(1)
		return 0, false
	}
	return l.suppressed.Swap(0), true
}

// Attribution tells what an order for event, placed now by session, would
// be credited to under the webhook's rules (tracklink.Attribute), without
// a promo code. Checkout is not a tracked request, so its Visit carries the
// session but not its touches: call this there to show or log the credit.
// It costs one store read, bounded by StoreTimeout; on error the caller
// should carry on (the webhook decides at payment time anyway).
func (m *Middleware) Attribution(ctx context.Context, session, event string) (tracklink.Attribution, error) {
	if !tracklink.ValidSession(session) || (event != "" && !tracklink.ValidEvent(event)) {
		return tracklink.Attribution{}, fmt.Errorf("%w: session reference or event slug", ErrIgnoredInput)
	}
	ctx, cancel := context.WithTimeout(ctx, m.cfg.StoreTimeout)
	defer cancel()
	ev, site, err := m.store.Touches(ctx, session, event)
	if err != nil {
		return tracklink.Attribution{}, fmt.Errorf("middleware: attribution: %w", err)
	}
	return tracklink.Attribute(tracklink.Order{Session: session, Event: event, At: m.cfg.Now()}, ev, site, tracklink.AttributeOptions{}), nil
}
