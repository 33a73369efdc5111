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
	budget     *sessionBudget // nil without NewSessionsPerMinute
	counters   counters
	queue      *queue
}

// OverBudget returns how many landings were served untracked since New
// because their client key was over Config.NewSessionsPerMinute.
func (m *Middleware) OverBudget() int64 { return m.counters[cOverBudget].n.Load() }

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
		queue:   newQueue(cfg.QueueSize),
	}
	if cfg.NewSessionsPerMinute > 0 {
		m.budget = newSessionBudget(cfg.NewSessionsPerMinute)
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
	m.counters.add(cRequests)
	if r.Method == http.MethodGet && isAsset(r.URL.Path) {
		m.counters.add(cAsset)
		next.ServeHTTP(w, r) // static files never need the session
		return
	}
	event, outcome := "", cSkip
	if m.cfg.Skip == nil || !m.cfg.Skip(r) {
		event, outcome = m.tracked(r)
	}
	if outcome != cLanding {
		// Untracked: no store call, no cookie work unless a handler asks
		// FromContext for the session (checkout does).
		m.counters.add(outcome)
		next.ServeHTTP(w, r.WithContext(&lazyVisit{Context: r.Context(), m: m, r: r}))
		return
	}
	if m.cfg.Consent != nil && !m.cfg.Consent(r) {
		m.counters.add(cConsent)
		next.ServeHTTP(w, r)
		return
	}
	v, outcome := m.stamp(w, r, event)
	m.counters.add(outcome)
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
// fetches, bots, link-preview fetchers or HTTP clients. It returns cLanding
// for a landing, else the counter of the reason it is skipped.
func (m *Middleware) tracked(r *http.Request) (event string, outcome counter) {
	if r.Method != http.MethodGet {
		return "", cMethod
	}
	h := r.Header
	if isPrefetch(h) {
		return "", cPrefetch
	}
	if !isDocument(h) {
		return "", cNotDocument
	}
	event, isEvent := m.cfg.EventPath(r.URL.Path)
	ua := header(h, "User-Agent")
	if !isEvent && !m.classifier.HasTrackingParams(r.URL.RawQuery) {
		// A Referer decides: another site is a landing, our own is
		// browsing. Without one, only an in-app browser tells a landing.
		if ref := header(h, "Referer"); ref != "" {
			if !m.classifier.ExternalReferrer(ref, r.Host) {
				return "", cBrowsing
			}
		} else if _, _, inApp := tracklink.InAppBrowser(ua); !inApp {
			return "", cBrowsing
		}
	}
	if IsBot(ua) {
		return "", cBot
	}
	if isEvent && m.cfg.Events != nil && !m.cfg.Events(r.Context(), event) {
		return "", cUnknownEvent // a slug the host does not sell: served, untracked
	}
	return event, cLanding
}

// stamp classifies the landing, sets the cookie and records the touch. It
// never fails: a stamp that misses StoreTimeout or meets an open breaker
// is queued, other store trouble is reported and the visit goes
// untracked. It returns the counter of the landing's outcome.
func (m *Middleware) stamp(w http.ResponseWriter, r *http.Request, event string) (tracklink.Visit, counter) {
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
	if isPassive(h) {
		touch.Passive = true
		touch.Evidence += passiveEvidence
	}
	ref := m.cookies.read(r)
	fresh := ref == ""
	if fresh && m.budget != nil {
		if key := m.cfg.ClientKey(r); key != "" && !m.budget.allow(key, now) {
			m.report(r.Context(), ErrSessionBudget)
			return tracklink.Visit{}, cOverBudget
		}
	}
	if fresh {
		ref = newSessionRef()
	}
	if fresh || m.cfg.CookieMaxAge > 0 {
		if err := m.cookies.write(w, ref); err != nil {
			m.report(r.Context(), fmt.Errorf("middleware: set cookie: %w", err))
			return tracklink.Visit{}, cCookieError
		}
	}
	v := tracklink.Visit{Session: ref, Landing: touch}
	st := tracklink.Stamp{Session: ref, Touch: touch, Model: m.cfg.Model, TTL: m.cfg.TTL, PromoterLock: m.cfg.PromoterLock}
	if !m.breaker.allow(now) {
		return v, m.enqueue(queued{stamp: st, visit: v}, cBreakerOpen)
	}
	ctx, cancel := context.WithTimeout(r.Context(), m.cfg.StoreTimeout)
	res, err := m.store.Stamp(ctx, st)
	late := ctx.Err() != nil
	cancel()
	if err != nil {
		if r.Context().Err() != nil { // the client went away; not the store's fault
			m.breaker.probing.Store(false)
			return v, cCanceled
		}
		if m.breaker.failure(now) {
			m.report(r.Context(), fmt.Errorf("%w: %w", ErrBreakerOpen, err))
		} else {
			m.report(r.Context(), fmt.Errorf("middleware: stamp: %w", err))
		}
		if late || isTimeout(err) {
			return v, m.enqueue(queued{stamp: st, visit: v}, cDeadline)
		}
		return v, cStoreError
	}
	m.breaker.success()
	v.Tracked, v.Current = true, res.Current
	if m.cfg.Hooks.OnVisit != nil {
		m.cfg.Hooks.OnVisit(r.Context(), v, res.Counted)
	}
	return v, cStamped
}

// isTimeout reports an error that says a deadline passed: the context's,
// or a client's own I/O timeout that fired first.
func isTimeout(err error) bool {
	if errors.Is(err, context.DeadlineExceeded) {
		return true
	}
	var t interface{ Timeout() bool }
	return errors.As(err, &t) && t.Timeout()
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

// passiveEvidence ends the evidence of a passive touch.
const passiveEvidence = ", no user activation"

// isPassive reports a cross-site navigation the visitor did not start: the
// browser sent fetch metadata (Sec-Fetch-Site cross-site, Sec-Fetch-Mode
// navigate) but no Sec-Fetch-User ?1, as for a script or meta redirect on
// another site. Its touch never replaces an explicit one
// (tracklink.Stamp.Replaces). Without fetch metadata nothing is known and
// the touch is not passive.
func isPassive(h http.Header) bool {
	return header(h, "Sec-Fetch-Site") == "cross-site" && header(h, "Sec-Fetch-Mode") == "navigate" &&
		header(h, "Sec-Fetch-User") != "?1"
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

// isDocument reports whether the request loads a page. With fetch
// metadata, Sec-Fetch-Dest decides: document. Without it (older browsers),
// the first media range of Accept must be text/html or
// application/xhtml+xml, as browsers send for a navigation: an image or
// iframe load (Accept */* or image/…), a missing Accept or an API client
// is no landing.
func isDocument(h http.Header) bool {
	if d := header(h, "Sec-Fetch-Dest"); d != "" {
		return d == "document"
	}
	return acceptsHTMLFirst(header(h, "Accept"))
}

// acceptsHTMLFirst reports whether the first media range of an Accept
// value is text/html or application/xhtml+xml (any parameters, any case).
// It looks at the first range only, so its cost does not grow with the
// header.
func acceptsHTMLFirst(accept string) bool {
	first, _, _ := strings.Cut(accept, ",")
	first, _, _ = strings.Cut(first, ";")
	first = strings.TrimSpace(first)
	return strings.EqualFold(first, "text/html") || strings.EqualFold(first, "application/xhtml+xml")
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
