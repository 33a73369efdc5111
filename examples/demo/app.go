package main

import (
	"cmp"
	"context"
	"crypto/rand"
	"embed"
	"encoding/base64"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/tracklink/tracklink"
	"github.com/tracklink/tracklink/adapters/memstore"
	"github.com/tracklink/tracklink/middleware"
	"github.com/tracklink/tracklink/report"
	"github.com/tracklink/tracklink/webhook"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// Store is what the demo needs from a store: the write side the middleware
// and the webhook use, and the read side behind the dashboard. memstore and
// redisstore both are one.
type Store interface {
	tracklink.Store
	tracklink.ReportStore
}

// Options configure an App.
type Options struct {
	// BaseURL is the shop's public origin ("http://127.0.0.1:8080"), used
	// for promoter and campaign links. Required.
	BaseURL string
	// WebhookURL is where the fake payment provider posts orders. Default
	// BaseURL + "/webhooks/orders".
	WebhookURL string
	// WebhookSecret signs the provider's webhooks. Default: a random one.
	WebhookSecret string
	// Store keeps tracking data. Default: a fresh memstore.
	Store Store
	// AdminPassword protects /admin. Required.
	AdminPassword string
	// Insecure drops the Secure attribute of the session and admin
	// cookies, for plain http. Browsers keep Secure cookies over plain
	// http only on localhost, so a plain-http demo reached over the LAN
	// needs it; behind TLS leave it false.
	Insecure bool
	// Seed registers demo promoters, groups and campaign links.
	Seed bool
	// SeedDays adds that many days of visits and sales (with Seed).
	SeedDays int
	// PaymentDelay is how long the fake provider "processes" a payment.
	// Default 1.5s; negative means none.
	PaymentDelay time.Duration
	// Logger, default discards.
	Logger *slog.Logger
	// Now is the clock. Default time.Now.
	Now func() time.Time
}

// App is the demo ticket shop with its organiser dashboard.
type App struct {
	opts     Options
	store    Store
	events   []Event
	bySlug   map[string]Event
	reporter *report.Reporter
	mw       *middleware.Middleware
	payments *paymentProvider
	pages    map[string]*template.Template
	handler  http.Handler
	admin    adminSessions
	log      *slog.Logger

	mu     sync.Mutex
	orders map[string]*shopOrder // the shop's own order records
}

// shopOrder is the shop's record of an order (tracklink keeps its own).
type shopOrder struct {
	providerOrder
	Status string // "processing", "paid" or "failed"
	Total  int64
	Kind   tracklink.LineKind
}

// NewApp builds the shop, wires tracklink into it and seeds the store.
func NewApp(opts Options) (*App, error) {
	if opts.AdminPassword == "" {
		return nil, errors.New("demo: Options.AdminPassword is required")
	}
	u, err := url.Parse(opts.BaseURL)
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return nil, fmt.Errorf("demo: Options.BaseURL %q is not an http(s) origin", opts.BaseURL)
	}
	opts.BaseURL = strings.TrimRight(opts.BaseURL, "/")
	if opts.WebhookURL == "" {
		opts.WebhookURL = opts.BaseURL + "/webhooks/orders"
	}
	if opts.WebhookSecret == "" {
		opts.WebhookSecret = "whsec_" + base64.StdEncoding.EncodeToString(randomBytes(32))
	}
	if opts.Store == nil {
		opts.Store = memstore.New()
	}
	if opts.PaymentDelay == 0 {
		opts.PaymentDelay = 1500 * time.Millisecond
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	a := &App{
		opts:   opts,
		store:  opts.Store,
		events: catalogue(opts.Now()),
		log:    opts.Logger,
		orders: map[string]*shopOrder{},
		bySlug: map[string]Event{},
	}
	for _, e := range a.events {
		a.bySlug[e.Slug] = e
	}
	a.admin.sessions = map[string]time.Time{}
	if a.pages, err = parsePages(); err != nil {
		return nil, err
	}

	// tracklink: the middleware stamps browser sessions on the shop's pages.
	mw, err := middleware.New(middleware.Config{
		Store:       a.store,
		SessionKeys: [][]byte{randomBytes(32)}, // one per process: restarts start sessions afresh
		// Insecure only for plain http: the cookie then has no Secure
		// attribute (and no __Host- prefix). Browsers accept that on
		// loopback; anywhere else serve the shop over TLS.
		Insecure: opts.Insecure,
		// Only the shop's own events are counted; made-up slugs get the
		// shop's 404 page, untracked.
		Events: func(_ context.Context, slug string) bool { _, ok := a.bySlug[slug]; return ok },
		Skip: func(r *http.Request) bool {
			return strings.HasPrefix(r.URL.Path, "/admin") || strings.HasPrefix(r.URL.Path, "/static/")
		},
		Hooks: tracklink.Hooks{OnError: func(_ context.Context, err error) {
			a.log.Warn("tracklink", "error", err)
		}},
		Logger: opts.Logger,
		Now:    opts.Now,
	})
	if err != nil {
		return nil, err
	}
	a.mw = mw

	// tracklink: the webhook receiver attributes each paid order once.
	wh, err := webhook.NewHandler(webhook.Config{
		Store:    a.store,
		Provider: webhook.MustStandardWebhooks(opts.WebhookSecret),
		Hooks: tracklink.Hooks{
			OnAttributed: func(_ context.Context, at tracklink.Attribution) error {
				a.log.Info("sale attributed", "order", at.OrderID, "event", at.Event, "tickets", at.Tickets, "source", at.Touch.Key(), "evidence", at.Evidence())
				return nil
			},
			OnUnattributed: func(_ context.Context, at tracklink.Attribution) error {
				a.log.Info("sale without a touch", "order", at.OrderID, "event", at.Event, "tickets", at.Tickets)
				return nil
			},
			OnError: func(_ context.Context, err error) { a.log.Warn("webhook", "error", err) },
		},
		Logger: opts.Logger,
	})
	if err != nil {
		return nil, err
	}

	// tracklink: the reporting API behind the dashboard.
	a.reporter, err = report.New(report.Config{Store: a.store, BaseURL: opts.BaseURL, Logger: opts.Logger, Now: opts.Now})
	if err != nil {
		return nil, err
	}

	a.payments, err = newPaymentProvider(opts.WebhookURL, opts.WebhookSecret, opts.PaymentDelay, opts.Logger, a.paymentDone)
	if err != nil {
		return nil, err
	}

	if opts.Seed {
		if err := a.seed(context.Background(), opts.SeedDays); err != nil {
			return nil, fmt.Errorf("demo: seed: %w", err)
		}
	}

	shop := http.NewServeMux()
	static, _ := fs.Sub(staticFS, "static")
	shop.Handle("GET /static/", http.StripPrefix("/static/", cacheStatic(http.FileServerFS(static))))
	shop.HandleFunc("GET /{$}", a.home)
	shop.HandleFunc("GET /events/{slug}", a.eventPage)
	shop.HandleFunc("POST /events/{slug}/checkout", a.checkout)
	shop.HandleFunc("GET /orders/{id}", a.orderPage)
	shop.HandleFunc("GET /orders/{id}/status", a.orderStatus)
	shop.Handle("GET /t/", a.reporter.ShortLinkHandler())
	a.adminRoutes(shop)
	shop.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		a.render(w, r, http.StatusNotFound, "notfound", page{Title: "Page not found"})
	})

	// Cross-origin protection (Sec-Fetch-Site / Origin) on every form and
	// API call of the shop and the dashboard. The webhook stays outside:
	// its signature authenticates the sender, and it is outside the
	// tracking middleware too, as the webhook package asks.
	cop := http.NewCrossOriginProtection()
	root := http.NewServeMux()
	root.Handle("POST /webhooks/orders", wh)
	root.Handle("/", cop.Handler(mw.Handler(shop)))
	a.handler = securityHeaders(root)
	return a, nil
}

// ServeHTTP serves the shop, the dashboard and the webhook.
func (a *App) ServeHTTP(w http.ResponseWriter, r *http.Request) { a.handler.ServeHTTP(w, r) }

// Reporter returns the reporting API (for tests and for Close wiring).
func (a *App) Reporter() *report.Reporter { return a.reporter }

// Store returns the app's store.
func (a *App) Store() Store { return a.store }

// Close ends live streams, abandons pending payments and writes the
// stamps the middleware still has queued (for at most 5 s).
func (a *App) Close() {
	a.payments.close()
	a.reporter.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := a.mw.Close(ctx); err != nil {
		a.log.Warn("tracklink", "error", err)
	}
}

func securityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "strict-origin-when-cross-origin")
		next.ServeHTTP(w, r)
	})
}

func cacheStatic(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=300")
		next.ServeHTTP(w, r)
	})
}

// Server is an App listening on an address: main runs one, tests start
// one per test.
type Server struct {
	URL string // base URL, e.g. http://127.0.0.1:41234
	App *App

	srv  *http.Server
	done chan struct{} // closed when Serve returned
	err  error         // Serve's error
}

// Start listens on addr ("127.0.0.1:0" picks a free port), builds the App
// with BaseURL and WebhookURL from the address unless opts sets them, and
// serves it in the background until Shutdown.
func Start(addr string, opts Options) (*Server, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	local := loopbackURL(ln.Addr())
	if opts.BaseURL == "" {
		opts.BaseURL = local
	}
	if opts.WebhookURL == "" {
		opts.WebhookURL = local + "/webhooks/orders"
	}
	app, err := NewApp(opts)
	if err != nil {
		ln.Close()
		return nil, err
	}
	s := &Server{
		URL: opts.BaseURL,
		App: app,
		srv: &http.Server{
			Handler:           app,
			ReadHeaderTimeout: 10 * time.Second,
			IdleTimeout:       2 * time.Minute,
			// No WriteTimeout: the live stream stays open. Shutdown ends it
			// through Reporter.Close.
			ErrorLog: slog.NewLogLogger(app.log.Handler(), slog.LevelWarn),
		},
		done: make(chan struct{}),
	}
	s.srv.RegisterOnShutdown(app.reporter.Close)
	go func() {
		defer close(s.done)
		if err := s.srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
			s.err = err
		}
	}()
	return s, nil
}

// Shutdown abandons pending payments, ends live streams and stops the
// server gracefully. When ctx ends first it closes the connections still
// open and returns ctx's error.
func (s *Server) Shutdown(ctx context.Context) error {
	s.App.payments.close()
	err := s.srv.Shutdown(ctx)
	if err != nil {
		s.srv.Close() // out of time: cut what is still open
	}
	s.App.Close()
	<-s.done
	return cmp.Or(err, s.err)
}

// Done is closed when the server stopped serving; Err then says why.
func (s *Server) Done() <-chan struct{} { return s.done }

// Err is the error Serve returned, nil after Shutdown.
func (s *Server) Err() error { return s.err }

// loopbackURL is the http URL of a listener, with a wildcard address
// replaced by the loopback one.
func loopbackURL(addr net.Addr) string {
	host, port, err := net.SplitHostPort(addr.String())
	if err != nil {
		return "http://" + addr.String()
	}
	if ip := net.ParseIP(host); ip == nil || ip.IsUnspecified() {
		host = "127.0.0.1"
	}
	return "http://" + net.JoinHostPort(host, port)
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	_, _ = rand.Read(b) // never fails
	return b
}

func randomID(n int) string {
	return base64.RawURLEncoding.EncodeToString(randomBytes(n))
}
