package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"runtime"
	"runtime/pprof"
	"slices"
	"sync/atomic"
	"time"

	"github.com/gorilla/securecookie"
	"github.com/redis/go-redis/v9"

	"github.com/tracklink/tracklink"
	"github.com/tracklink/tracklink/adapters/memstore"
	"github.com/tracklink/tracklink/adapters/redisstore"
	"github.com/tracklink/tracklink/middleware"
	"github.com/tracklink/tracklink/webhook"
)

// debugPath answers the server's counters (debugStats as JSON); it is
// served beside the app, outside the middleware, and not counted as a
// request. debugClosePath (a POST) closes the middleware, draining its
// queue for up to closeTimeout, and answers the final counters.
const (
	debugPath      = "/debug/tracklink-bench"
	debugClosePath = debugPath + "/close"
	closeTimeout   = 5 * time.Second
)

// secretEnv hands the Standard Webhooks secret to the server process.
const secretEnv = "TRACKLINK_BENCH_WEBHOOK_SECRET"

const pageBody = "<!doctype html><title>event</title><h1>event</h1><p>tickets on sale</p>"

// sessionKey signs the session cookies of the server process.
var sessionKey = []byte("tracklink-bench-session-key-32by")

var events = func() []string {
	var e []string
	for i := range 20 {
		e = append(e, fmt.Sprintf("event-%02d", i))
	}
	return e
}()

// debugStats are a server process's counters since it started.
type debugStats struct {
	Served   int64  `json:"served"`   // requests, the debug endpoint's excluded
	Mallocs  uint64 `json:"mallocs"`  // runtime.MemStats.Mallocs
	Trips    int64  `json:"trips"`    // Redis round trips: commands sent alone and pipelines
	Absorbed int64  `json:"absorbed"` // store errors the middleware absorbed (page served untracked)
	// Tracklink is the middleware's Stats; nil in the modes without it.
	Tracklink *middleware.Stats `json:"tracklink,omitempty"`
	// CloseError is what Middleware.Close returned (debugClosePath only).
	CloseError string `json:"close_error,omitempty"`
}

// serverCounters are what the debug endpoint reports.
type serverCounters struct {
	served, trips, absorbed atomic.Int64
}

// tripHook counts each command sent alone and each pipeline as one round
// trip; go-redis' connection handshake is not counted.
type tripHook struct{ n *atomic.Int64 }

func (tripHook) DialHook(next redis.DialHook) redis.DialHook { return next }

func (h tripHook) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		h.n.Add(1)
		return next(ctx, cmd)
	}
}

func (h tripHook) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		if len(cmds) > 0 && cmds[0].Name() == "hello" {
			return next(ctx, cmds)
		}
		h.n.Add(1)
		return next(ctx, cmds)
	}
}

type serveConfig struct {
	mode         string
	redisAddr    string
	prefix       string
	conns        int
	storeTimeout time.Duration
	lifetime     time.Duration
	cpuProfile   string // file for a CPU profile of the process, "" for none
}

// serve is the server process: it builds the mode's app, listens on
// 127.0.0.1:0, prints "listening ADDR" and serves until its standard input
// closes (the parent went away), its lifetime ends, or it is killed.
func serve(c serveConfig) error {
	if c.mode == busyMode {
		return busy(c.lifetime)
	}
	m, ok := modeByName(c.mode)
	if !ok {
		return fmt.Errorf("unknown mode %q", c.mode)
	}
	var ctr serverCounters
	var rdb *redis.Client
	if m.redis {
		if c.prefix == "" {
			return errors.New("-prefix is required for a Redis mode")
		}
		opts := redisstore.RecommendedOptions(c.redisAddr).Simple()
		opts.PoolSize = max(c.conns, 10)
		rdb = redis.NewClient(opts)
		defer rdb.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		err := rdb.Ping(ctx).Err()
		cancel()
		if err != nil {
			return fmt.Errorf("redis %s: %w", c.redisAddr, err)
		}
		rdb.AddHook(tripHook{&ctr.trips})
	}
	app, mw, err := buildApp(m, rdb, c, &ctr)
	if err != nil {
		return err
	}
	stats := func() debugStats {
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		d := debugStats{Served: ctr.served.Load(), Mallocs: ms.Mallocs, Trips: ctr.trips.Load(), Absorbed: ctr.absorbed.Load()}
		if mw != nil {
			s := mw.Stats()
			d.Tracklink = &s
		}
		return d
	}
	// closeMW closes the middleware (once it is closed, a later Close
	// returns at once) and returns the final counters.
	closeMW := func() debugStats {
		var cerr error
		if mw != nil {
			ctx, cancel := context.WithTimeout(context.Background(), closeTimeout)
			cerr = mw.Close(ctx)
			cancel()
		}
		d := stats()
		if cerr != nil {
			d.CloseError = cerr.Error()
		}
		return d
	}
	if mw != nil {
		defer func() {
			d, _ := json.Marshal(closeMW())
			fmt.Fprintf(os.Stderr, "final stats: %s\n", d)
		}()
	}
	root := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.URL.Path == debugPath:
			w.Header().Set("Content-Type", "application/json")
			_ = json.NewEncoder(w).Encode(stats())
			return
		case r.URL.Path == debugClosePath && r.Method == http.MethodPost:
			w.Header().Set("Content-Type", "application/json")
			_ = json.NewEncoder(w).Encode(closeMW())
			return
		}
		ctr.served.Add(1)
		app.ServeHTTP(w, r)
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	srv := &http.Server{
		Handler:           root,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       10 * time.Second,
		WriteTimeout:      10 * time.Second,
		IdleTimeout:       time.Minute,
		MaxHeaderBytes:    16 << 10,
	}
	if c.cpuProfile != "" {
		f, err := os.Create(c.cpuProfile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	fmt.Printf("listening %s\n", ln.Addr())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	go func() {
		_, _ = io.Copy(io.Discard, os.Stdin)
		done <- nil
	}()
	select {
	case err := <-done:
		if errors.Is(err, http.ErrServerClosed) {
			err = nil
		}
		return err
	case <-time.After(c.lifetime):
		return fmt.Errorf("lifetime of %v ended", c.lifetime)
	}
}

// buildApp returns the mode's handler and its middleware (nil in the
// modes without one).
func buildApp(m mode, rdb *redis.Client, c serveConfig, ctr *serverCounters) (http.Handler, *middleware.Middleware, error) {
	page := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = io.WriteString(w, pageBody)
	})
	switch m.kind {
	case kindBare:
		return page, nil, nil
	case kindNaive:
		store := &naiveStore{rdb: rdb, prefix: c.prefix + "naive:", codecs: securecookie.CodecsFromPairs(sessionKey), ttl: 24 * time.Hour}
		return naiveMiddleware(store, page), nil, nil
	}

	var store tracklink.SessionStore
	var ledger webhook.Store
	switch {
	case m.redis:
		// A benchmark server: AllowUnsafeServer skips the persistence check
		// (the local Redis runs with appendonly off).
		s, err := redisstore.New(context.Background(), rdb, redisstore.Options{Prefix: c.prefix, AllowUnsafeServer: true})
		if err != nil {
			return nil, nil, err
		}
		store, ledger = s, s
	default:
		s := memstore.New()
		store, ledger = s, s
	}
	mw, err := middleware.New(middleware.Config{
		Store:        store,
		SessionKeys:  [][]byte{sessionKey, nil},
		Insecure:     true,
		StoreTimeout: c.storeTimeout,
		Events:       func(_ context.Context, slug string) bool { return slices.Contains(events, slug) },
		Hooks:        tracklink.Hooks{OnError: func(context.Context, error) { ctr.absorbed.Add(1) }},
	})
	if err != nil {
		return nil, nil, err
	}
	site := http.NewServeMux()
	site.Handle("GET /", page)
	if m.kind == kindWebhook {
		secret := os.Getenv(secretEnv)
		if secret == "" {
			return nil, nil, errors.New(secretEnv + " is not set")
		}
		provider, err := webhook.NewStandardWebhooks(secret)
		if err != nil {
			return nil, nil, err
		}
		wh, err := webhook.NewHandler(webhook.Config{Store: ledger, Provider: provider})
		if err != nil {
			return nil, nil, err
		}
		// The load generator lands once per connection and needs the
		// session id its orders refer to (what a checkout hands the
		// payment provider).
		site.HandleFunc("GET /events/{slug}", func(w http.ResponseWriter, r *http.Request) {
			if v, ok := tracklink.FromContext(r.Context()); ok {
				w.Header().Set("X-Session", v.Session)
			}
			page(w, r)
		})
		site.Handle("POST /webhooks/orders", wh)
	}
	return mw.Handler(site), mw, nil
}
