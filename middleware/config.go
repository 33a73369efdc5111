package middleware

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/tracklink/tracklink"
)

// Config configures a Middleware. The zero value of every field but Store
// is a documented default.
type Config struct {
	// Store is the session side: it keeps touches and decides which visits
	// count (and, for an all-in-one store such as memstore or redisstore,
	// counts them in the same step). Any tracklink.SessionStore: an
	// all-in-one store, or tracklink.Compose's. Required.
	Store tracklink.SessionStore

	// SessionKeys sign (and optionally encrypt) the session cookie, given in
	// pairs as for gorilla/sessions.NewCookieStore: an authentication key
	// (32 or 64 bytes recommended), then an encryption key (16, 24 or 32
	// bytes, or nil). The first pair signs new cookies; every pair is tried
	// when reading, so keys rotate by putting the new pair first. Default:
	// one random key per process, logged as a warning, which means every
	// restart starts every visitor's session afresh.
	SessionKeys [][]byte

	// CookieName is the session cookie's name. Default "tl_session", sent as
	// "__Host-tl_session" while the cookie is Secure, has no Domain and path
	// "/", so that no subdomain or plain-http page can plant it.
	CookieName string
	// CookieDomain sets the cookie's Domain attribute (and so drops the
	// __Host- prefix). Default: none, the cookie belongs to the exact host.
	CookieDomain string
	// Insecure drops the Secure attribute, for sites served over plain http
	// (local development). Default false: Secure.
	Insecure bool
	// SameSite is the cookie's SameSite mode. Default http.SameSiteLaxMode,
	// which keeps the cookie on top-level navigations from other sites (a
	// promoter link opened from Instagram) and off cross-site subrequests.
	SameSite http.SameSite
	// CookieMaxAge gives the cookie a Max-Age, a persistent attribution
	// window across browser restarts (e.g. 3 days). Default 0: the cookie
	// ends when the browser closes. Use it together with TTL.
	CookieMaxAge time.Duration

	// TTL is how long a session's touches live in the store after its last
	// tracked request (sliding). It bounds the sessions of browsers that
	// never close. Default 24h.
	TTL time.Duration
	// Model is the attribution model inside a session. Default
	// tracklink.LastTouch.
	Model tracklink.Model

	// PromoterLock, when > 0, keeps a promoter's touch from being replaced
	// by another promoter's link for this long after it was stamped
	// (tracklink.Stamp.PromoterLock), so that a second code pushed onto a
	// visitor (a forced redirect, a link dropped into the checkout flow)
	// cannot take the credit just before the sale. A campaign link or an
	// ad click still replaces it under Model. Default 0: no lock, the
	// newest promoter wins.
	PromoterLock time.Duration

	// EventPath finds the event slug in a request path. Default: a path
	// "/events/{slug}" or below it ("/events/{slug}/tickets"), with slug a
	// valid tracklink event slug.
	EventPath func(path string) (slug string, ok bool)
	// Events reports whether the host sells the event with this slug
	// (EventPath found it in the path). Only events it recognises are
	// stamped and counted; a page of any other slug is served untracked,
	// so made-up slugs cannot create event counters in the store. It runs
	// on every candidate event page view after the cheap checks: answer
	// from memory (a map or a cache of the host's catalogue). Default nil:
	// every valid slug counts, which lets anonymous visitors create
	// counters for slugs that do not exist; New logs a warning. Set it in
	// production.
	Events func(ctx context.Context, slug string) bool
	// PromoterParams are the query parameters read as promoter codes.
	// Default {"promoter"}.
	PromoterParams []string
	// PlatformHosts are hosts, besides the request's own Host, whose
	// referrers count as the platform itself (an app domain, a mail
	// sender's click tracker). A leading "." matches subdomains.
	PlatformHosts []string
	// Hosts adds or overrides host → source mappings of the built-in table.
	Hosts map[string]tracklink.HostSource
	// CleanURL redirects (302) a landing that carried tracking parameters to
	// the same URL without them, once, after stamping, so that a URL the
	// visitor shares onward does not credit the promoter again. Default off.
	CleanURL bool

	// Skip excludes requests from tracking (health checks, admin pages,
	// an API). Skipped requests are never stamped, but FromContext still
	// reads their session, so a skipped checkout endpoint works. GET
	// requests for static files (by extension) are always skipped and
	// carry no session.
	Skip func(*http.Request) bool
	// Consent reports whether the visitor agreed to be tracked. When it
	// returns false nothing is stored, no cookie is set, and the page is
	// served as usual. Default: nil, tracking without asking (use it where
	// your jurisdiction allows a first-party, purpose-limited cookie).
	Consent func(*http.Request) bool

	// ClientKey names the client a request comes from, for the budget of
	// new sessions (NewSessionsPerMinute): e.g. a keyed hash of the client
	// IP (behind a proxy, of the address the proxy reports) computed by
	// the host. tracklink keeps none of it: the key picks one of a fixed
	// number of counters and is dropped. "" exempts the request. It runs
	// only for landings that would start a new session.
	ClientKey func(*http.Request) string
	// NewSessionsPerMinute, when > 0 (with ClientKey), is how many new
	// sessions one client key may start per minute (the clock's minute):
	// past it, a landing without a valid session cookie is served
	// untracked (no cookie, no store write), reported as ErrSessionBudget
	// and counted by Middleware.OverBudget. Sessions already started are
	// tracked as usual. Keys share a fixed array of counters (4096), so
	// with many clients a few share a budget: a visitor may be served
	// untracked because another key used it up. Default 0: no budget.
	NewSessionsPerMinute int

	// StoreTimeout bounds each store call on the request path. Zero means
	// the default, 50ms; negative is an error (as in webhook.Config). The
	// page is served without waiting longer: the stamp is queued (see
	// QueueSize).
	StoreTimeout time.Duration
	// BreakerThreshold is how many consecutive store failures open the
	// circuit breaker. Default 5; -1 disables the breaker.
	BreakerThreshold int
	// BreakerCooldown is how long the breaker stays open before one request
	// probes the store again. Default 5s.
	BreakerCooldown time.Duration

	// QueueSize bounds the queue of stamps that missed StoreTimeout or met
	// an open breaker. Such a landing's page is served at once, with its
	// cookie, and its stamp (the touch at the landing's time, so the visit
	// counts on its day) is handed to the queue without waiting: a few
	// background goroutines write it soon after, each call bounded by
	// QueueTimeout, through the same breaker (while it is open they wait
	// for its cooldown), retrying a failed call with backoff up to 5
	// attempts. A stamp that finds the queue full is dropped. Stats counts
	// each of these outcomes. A retried stamp that the store had applied
	// after all counts its visit once (a store counts a visit once per
	// session, source and day). Each queued stamp holds a few hundred
	// bytes. Default 10000; -1 disables the queue (such landings go
	// untracked). Call Close on shutdown to write what is queued.
	QueueSize int
	// QueueTimeout bounds each store call of the queue. Default 2s;
	// negative is an error.
	QueueTimeout time.Duration

	// Hooks: OnVisit after each stamp, OnError for absorbed errors and
	// ignored input (rate-limited). Other hooks are the webhook's.
	Hooks tracklink.Hooks
	// Logger receives absorbed errors (rate-limited). Default: discards.
	Logger *slog.Logger
	// Now is the clock. Default time.Now.
	Now func() time.Time
}

const defaultCookieName = "tl_session"

func (c *Config) setDefaults() {
	if c.CookieName == "" {
		c.CookieName = defaultCookieName
	}
	if c.SameSite == 0 {
		c.SameSite = http.SameSiteLaxMode
	}
	if c.TTL <= 0 {
		c.TTL = 24 * time.Hour
	}
	if c.EventPath == nil {
		c.EventPath = DefaultEventPath
	}
	if len(c.PromoterParams) == 0 {
		c.PromoterParams = []string{"promoter"}
	}
	if c.StoreTimeout == 0 {
		c.StoreTimeout = 50 * time.Millisecond
	}
	if c.BreakerThreshold == 0 {
		c.BreakerThreshold = 5
	}
	if c.QueueSize == 0 {
		c.QueueSize = 10000
	}
	if c.QueueTimeout == 0 {
		c.QueueTimeout = 2 * time.Second
	}
	if c.BreakerCooldown <= 0 {
		c.BreakerCooldown = 5 * time.Second
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.Now == nil {
		c.Now = time.Now
	}
}

func (c *Config) validate() error {
	if c.Store == nil {
		return errors.New("middleware: Config.Store is required")
	}
	if len(c.SessionKeys)%2 != 0 && len(c.SessionKeys) != 1 {
		return errors.New("middleware: Config.SessionKeys must come in pairs (authentication key, encryption key or nil)")
	}
	for i := 0; i < len(c.SessionKeys); i += 2 {
		if len(c.SessionKeys[i]) < 16 {
			return errors.New("middleware: a session authentication key needs at least 16 bytes (32 or 64 recommended)")
		}
		if i+1 < len(c.SessionKeys) {
			switch len(c.SessionKeys[i+1]) {
			case 0, 16, 24, 32:
			default:
				return errors.New("middleware: a session encryption key must be 16, 24 or 32 bytes (AES), or nil")
			}
		}
	}
	if c.StoreTimeout < 0 {
		return errors.New("middleware: Config.StoreTimeout must not be negative (zero means the default)")
	}
	if c.NewSessionsPerMinute < 0 {
		return errors.New("middleware: Config.NewSessionsPerMinute must not be negative")
	}
	if c.NewSessionsPerMinute > 0 && c.ClientKey == nil {
		return errors.New("middleware: Config.NewSessionsPerMinute needs Config.ClientKey")
	}
	if c.PromoterLock < 0 {
		return errors.New("middleware: Config.PromoterLock must not be negative")
	}
	if c.QueueSize < -1 {
		return errors.New("middleware: Config.QueueSize must be positive, 0 for the default or -1 for no queue")
	}
	if c.QueueTimeout < 0 {
		return errors.New("middleware: Config.QueueTimeout must not be negative (zero means the default)")
	}
	if c.CookieMaxAge < 0 {
		return errors.New("middleware: Config.CookieMaxAge must not be negative")
	}
	for _, p := range c.PromoterParams {
		if p == "" || strings.ContainsAny(p, "&=#?") {
			return errors.New("middleware: invalid promoter parameter name " + p)
		}
	}
	return nil
}

// DefaultEventPath matches "/events/{slug}" and paths below it.
func DefaultEventPath(path string) (string, bool) {
	const prefix = "/events/"
	if !strings.HasPrefix(path, prefix) {
		return "", false
	}
	slug := path[len(prefix):]
	if i := strings.IndexByte(slug, '/'); i >= 0 {
		slug = slug[:i]
	}
	if !tracklink.ValidEvent(slug) {
		return "", false
	}
	return slug, true
}
