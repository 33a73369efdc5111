// Command demo is a small ticket shop with tracklink wired in, and the
// organiser's dashboard that shows where visits and sales come from.
//
//	go run ./examples/demo
//
// opens the shop on http://127.0.0.1:8080 (loopback only) with an
// in-process store seeded with 30 days of traffic, and prints the URLs to
// try and the dashboard's password. Flags:
//
//	-addr 127.0.0.1:8080   listen address; -addr :8080 serves the LAN too
//	-redis URL             keep tracking data in Redis (redis://localhost:6379/0)
//	-redis-prefix P        key prefix in Redis (default "tracklink-demo:")
//	-postgres URL          keep orders, promoters and figures in PostgreSQL, schema tracklink_demo
//	                       (postgres://postgres@127.0.0.1:5432/test); sessions stay in memory or -redis
//	-seed=false            start empty
//	-seed-days N           days of seeded history (default 30)
//	-admin-password P      dashboard password (default: random, printed)
//	-base-url URL          public origin, when a proxy serves the demo under another name
//	-insecure-cookies      cookies without Secure even off loopback (plain-http LAN demo)
//	-payment-delay 1.5s    how long the fake payment provider takes
//	-shutdown-timeout 10s  how long a graceful stop waits for requests in flight
//
// Ctrl-C (SIGINT) or SIGTERM stops the demo gracefully: live dashboard
// streams are closed, requests in flight finish (for at most
// -shutdown-timeout), the Redis client is closed and the process exits 0.
// A second signal stops it at once. Note that `go run` does not pass
// SIGTERM on to the program it runs; to stop the demo from a script, build
// it with `go build` and signal the binary.
//
// The shop is served over plain http. Session cookies then cannot be
// Secure: the demo drops Secure when it listens on loopback, where
// browsers treat http as secure enough. On another address it keeps
// Secure (as a real deployment behind TLS must), so over plain http on a
// LAN pass -insecure-cookies as well, or put TLS in front.
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/tracklink/tracklink/adapters/redisstore"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "demo:", err)
		os.Exit(1)
	}
}

func run() error {
	addr := flag.String("addr", "127.0.0.1:8080", "listen address (use :8080 to serve the LAN)")
	redisURL := flag.String("redis", "", "Redis URL (redis://host:6379/0); default: in-process memory store")
	prefix := flag.String("redis-prefix", "tracklink-demo:", "key prefix in Redis")
	pgURL := flag.String("postgres", "", "PostgreSQL URL for the ledger, registry and figures (sessions stay in memory or -redis)")
	seed := flag.Bool("seed", true, "seed demo promoters, links and history")
	seedDays := flag.Int("seed-days", 30, "days of seeded visits and sales")
	password := flag.String("admin-password", "", "dashboard password (default: random, printed at start-up)")
	baseURL := flag.String("base-url", "", "public origin for links (default: from -addr)")
	insecure := flag.Bool("insecure-cookies", false, "drop the Secure cookie attribute even off loopback (plain-http LAN demo)")
	delay := flag.Duration("payment-delay", 1500*time.Millisecond, "how long the fake payment provider takes")
	shutdownTimeout := flag.Duration("shutdown-timeout", 10*time.Second, "how long a graceful stop waits for requests in flight")
	verbose := flag.Bool("v", false, "debug logging")
	flag.Parse()

	// Catch the signals before anything starts, so that none arriving once
	// the shop answers kills it mid-request.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	level := slog.LevelInfo
	if *verbose {
		level = slog.LevelDebug
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))

	opts := Options{
		AdminPassword: *password,
		Seed:          *seed,
		SeedDays:      *seedDays,
		PaymentDelay:  *delay,
		BaseURL:       *baseURL,
		Logger:        log,
		Insecure:      *insecure || loopback(*addr),
	}
	if opts.AdminPassword == "" {
		opts.AdminPassword = randomID(9)
	}
	if *redisURL != "" {
		ro, err := redis.ParseURL(*redisURL)
		if err != nil {
			return fmt.Errorf("-redis: %w", err)
		}
		// Bounded waits: a hung Redis must not hold the shop's pages (the
		// middleware fails open after its own 50 ms timeout).
		ro.ContextTimeoutEnabled = true
		ro.DialTimeout = 500 * time.Millisecond
		ro.ReadTimeout = 500 * time.Millisecond
		ro.WriteTimeout = 500 * time.Millisecond
		ro.PoolTimeout = 200 * time.Millisecond
		ro.MaxRetries = 1
		rdb := redis.NewClient(ro)
		defer rdb.Close()
		pctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		err = rdb.Ping(pctx).Err()
		cancel()
		if err != nil {
			return fmt.Errorf("redis %s: %w", ro.Addr, err)
		}
		// With -postgres the ledger lives there and Redis holds the
		// sessions only. Holding everything, Redis must keep orders
		// (appendonly, no eviction): a demo warns and goes on where a
		// shop would stop.
		ropts := redisstore.Options{Prefix: *prefix, SessionsOnly: *pgURL != "", AllowUnsafeServer: true}
		rs, err := redisstore.New(ctx, rdb, ropts)
		if err != nil {
			return err
		}
		if !ropts.SessionsOnly {
			if err := rs.CheckServer(ctx); err != nil {
				log.Warn("redis may lose orders", "err", err)
			}
		}
		opts.Store = rs
	}
	if *pgURL != "" {
		s, closeLedger, err := postgresStore(*pgURL, demoSchema, opts.Store, log)
		if err != nil {
			return err
		}
		defer closeLedger()
		opts.Store = s
	}

	started := time.Now()
	srv, err := Start(*addr, opts)
	if err != nil {
		return err
	}
	store := "in-process memory (gone when the demo stops)"
	if *redisURL != "" {
		store = "Redis, key prefix " + *prefix
	}
	if *pgURL != "" {
		store += "; ledger and figures in PostgreSQL, schema " + demoSchema
	}
	short := ""
	if *seed {
		short = "  short link: " + srv.URL + "/t/summer-fest-newsletter  (302 to the campaign link above)\n"
	}
	fmt.Printf(`
  tracklink demo — ready in %s
  store:      %s

  shop:       %[3]s/
  dashboard:  %[3]s/admin   password: %[4]s
  promoter:   %[3]s/events/summer-fest?promoter=ana
  campaign:   %[3]s/events/summer-fest?utm_source=newsletter&utm_medium=email&utm_campaign=june-newsletter
%[5]s
  Press Ctrl-C to stop.

`, time.Since(started).Round(time.Millisecond), store, srv.URL, opts.AdminPassword, short)

	select {
	case <-ctx.Done():
	case <-srv.Done():
		return srv.Err()
	}
	stop() // from here a second signal ends the process at once
	log.Info("shutting down; a second Ctrl-C stops at once", "cause", context.Cause(ctx), "timeout", *shutdownTimeout)
	sctx, cancel := context.WithTimeout(context.Background(), *shutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	log.Info("stopped")
	return nil // the deferred rdb.Close closes the Redis client
}

// loopback reports whether a listen address serves this machine only.
func loopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
