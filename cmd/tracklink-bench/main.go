// Command tracklink-bench measures what tracklink's middleware and webhook
// receiver cost a real HTTP server, beside a bare handler and the
// do-it-yourself peer (gorilla/sessions with a hand-written Redis store).
// It is a benchmark program, not a test.
//
//	go run ./cmd/tracklink-bench
//	go run ./cmd/tracklink-bench -redis 127.0.0.1:6379 -rounds 3 -duration 5s -conns 50
//	go run ./cmd/tracklink-bench -modes bare,tracked-new-redis
//
// Each mode runs in its own server process: the same binary re-executed
// with -serve MODE, listening on 127.0.0.1:0 and printing its address. The
// parent process is the load generator: -conns keep-alive HTTP/1.1
// connections, each in a closed loop (the next request when the previous
// answer is read), for -warmup unrecorded and then -duration recorded. A
// fresh server process serves each mode in each of -rounds rounds, and the
// modes are interleaved (each round starts one mode later), so drift on a
// shared machine spreads over all of them. The modes:
//
//   - bare: a handler writing a small HTML page.
//   - untracked: the middleware on a page navigated to from the own site.
//   - tracked-new-memstore, tracked-new-redis: an event page by a new
//     visitor each request (no cookie), with a browser's headers (Accept
//     text/html, Sec-Fetch-Dest document, Sec-Fetch-Mode navigate,
//     Sec-Fetch-Site cross-site), Referer https://l.instagram.com/ and a
//     promoter link on every other connection.
//   - tracked-returning-redis: the same page with the session cookie the
//     connection got on its first landing (a reload).
//   - naive-redis-new, naive-redis-cookie: the peer, gorilla/sessions with
//     a small Redis-backed store (the session's JSON read with GET when the
//     request has a cookie and written with SET on every request), without
//     and with its cookie.
//   - order-webhook-redis: signed Standard Webhooks order.completed
//     deliveries, a new order id each, for the session the connection
//     landed with.
//
// Per mode it reports the median over the rounds of: requests per second,
// p50 and p99 latency as the client saw it, the server process's CPU per
// request (utime + stime from /proc/PID/stat, at the kernel's 100 ticks a
// second), Redis's CPU per request (INFO cpu used_cpu_sys + used_cpu_user;
// the whole server's, so exact only when nothing else uses that Redis),
// Redis round trips per request (counted in the server process by a
// go-redis hook: a command sent alone or a pipeline is one) and
// allocations per request (the server's runtime.MemStats.Mallocs). The
// server process reports its counters on /debug/tracklink-bench. Ratios
// compare with bare and with the peer: a new visitor with naive-redis-new,
// a returning one with naive-redis-cookie.
//
// The load, the servers and Redis share the machine's cores: read the
// ratios and the CPU per request, which depend less on the machine than
// the rates do.
//
// The Redis modes write under a fresh key prefix ("tracklink-bench-<random>:")
// and delete its keys at the end (SCAN + UNLINK, never FLUSHDB). The
// server sets redisstore.Options.AllowUnsafeServer, which skips the check
// that the server cannot lose the ledger: benchmark Redis servers usually
// run with appendonly off. Everything is bounded: each server process is
// killed when its round ends or the parent fails, and exits by itself when
// the parent's pipe to it closes or its lifetime ends.
//
// -saturate runs the saturation drill instead: tracked-new-redis at full
// speed for -duration with -conns connections, -busy busy-loop processes
// beside it (the binary re-executed with -serve busy) and a StoreTimeout
// of 5ms unless -store-timeout is given, so that stamps miss it and are
// queued. When the load stops it waits up to 5s for the queue, closes the
// server's middleware (POST /debug/tracklink-bench/close), counts the
// session hashes in Redis, prints the accounting and exits non-zero if a
// page was not answered 200, fewer than -min-stamped of the landings were
// stamped within the 5s, the outcomes do not add up to the landings, or
// Redis holds fewer sessions than were stamped.
//
// -cpuprofile DIR writes a CPU profile of each server process (warm-up and
// recording) to DIR/MODE-ROUND.pprof, for go tool pprof.
package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"
)

func main() {
	var (
		serveMode = flag.String("serve", "", "run as the server process of this mode (used by the load generator)")
		redisAddr = flag.String("redis", "127.0.0.1:6379", "Redis address (host:port) for the Redis modes")
		prefix    = flag.String("prefix", "", "key prefix (server process only)")
		rounds    = flag.Int("rounds", 3, "rounds; each runs every mode once")
		duration  = flag.Duration("duration", 5*time.Second, "recorded load per mode and round")
		warmup    = flag.Duration("warmup", time.Second, "unrecorded load before each recording")
		conns     = flag.Int("conns", 50, "keep-alive connections, each a closed loop")
		modeList  = flag.String("modes", "", "comma-separated modes (default: all): "+modeNames())
		storeTO   = flag.Duration("store-timeout", 500*time.Millisecond, "middleware.Config.StoreTimeout of the servers")
		lifetime  = flag.Duration("lifetime", 2*time.Minute, "server process only: exit after this long")
		profile   = flag.String("cpuprofile", "", "write each server process's CPU profile to DIR/MODE-ROUND.pprof (server process: to this file)")
		sat       = flag.Bool("saturate", false, "run the saturation drill ("+saturateMode+" at full speed with -busy busy loops and a short -store-timeout) instead of the benchmark")
		busyN     = flag.Int("busy", 2, "saturation drill: busy-loop processes beside the server")
		minStamp  = flag.Float64("min-stamped", 0.99, "saturation drill: the fraction of landings that must be stamped")
	)
	flag.Parse()
	log.SetFlags(0)
	log.SetPrefix("tracklink-bench: ")
	if *serveMode != "" {
		err := serve(serveConfig{mode: *serveMode, redisAddr: *redisAddr, prefix: *prefix, conns: *conns,
			storeTimeout: *storeTO, lifetime: *lifetime, cpuProfile: *profile})
		if err != nil {
			log.Fatalf("serve %s: %v", *serveMode, err)
		}
		return
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if *sat {
		c := drillConfig{redisAddr: *redisAddr, duration: *duration, conns: *conns, busy: *busyN,
			storeTimeout: drillStoreTimeout, minStamped: *minStamp}
		flag.Visit(func(f *flag.Flag) {
			if f.Name == "store-timeout" {
				c.storeTimeout = *storeTO
			}
		})
		if err := c.validate(); err != nil {
			log.Print(err)
			flag.Usage()
			os.Exit(2)
		}
		if err := saturate(ctx, c, os.Stdout, os.Stderr); err != nil {
			stop()
			log.Fatal(err)
		}
		return
	}
	cfg := benchConfig{redisAddr: *redisAddr, rounds: *rounds, duration: *duration, warmup: *warmup,
		conns: *conns, storeTimeout: *storeTO, profileDir: *profile}
	var err error
	if cfg.modes, err = parseModes(*modeList); err == nil {
		err = cfg.validate()
	}
	if err != nil {
		log.Print(err)
		flag.Usage()
		os.Exit(2)
	}
	if cfg.profileDir != "" {
		if err := os.MkdirAll(cfg.profileDir, 0o755); err != nil {
			log.Fatal(err)
		}
	}
	if err := run(ctx, cfg, os.Stdout, os.Stderr); err != nil {
		stop()
		log.Fatal(err)
	}
}

func modeNames() string {
	var n []string
	for _, m := range modes {
		n = append(n, m.name)
	}
	return strings.Join(n, ",")
}

func parseModes(list string) ([]mode, error) {
	if strings.TrimSpace(list) == "" {
		return modes, nil
	}
	var out []mode
	seen := map[string]bool{}
	for _, name := range strings.Split(list, ",") {
		name = strings.TrimSpace(name)
		m, ok := modeByName(name)
		if !ok {
			return nil, fmt.Errorf("unknown mode %q (modes: %s)", name, modeNames())
		}
		if !seen[name] {
			seen[name] = true
			out = append(out, m)
		}
	}
	return out, nil
}

type benchConfig struct {
	redisAddr        string
	rounds           int
	duration, warmup time.Duration
	conns            int
	storeTimeout     time.Duration
	modes            []mode
	profileDir       string
}

func (c benchConfig) validate() error {
	switch {
	case c.rounds < 1 || c.rounds > 100:
		return errors.New("-rounds must be 1 to 100")
	case c.duration < 10*time.Millisecond || c.duration > 10*time.Minute:
		return errors.New("-duration must be 10ms to 10m")
	case c.warmup < 0 || c.warmup > time.Minute:
		return errors.New("-warmup must be 0 to 1m")
	case c.conns < 1 || c.conns > 1000:
		return errors.New("-conns must be 1 to 1000")
	case c.storeTimeout <= 0 || c.storeTimeout > time.Minute:
		return errors.New("-store-timeout must be more than 0 and at most 1m")
	case len(c.modes) == 0:
		return errors.New("no modes")
	}
	return nil
}

func (c benchConfig) usesRedis() bool {
	for _, m := range c.modes {
		if m.redis {
			return true
		}
	}
	return false
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// run is the load generator: every round runs every mode in its own
// server process and the report goes to out, progress to progress.
func run(ctx context.Context, cfg benchConfig, out, progress io.Writer) (err error) {
	self, err := os.Executable()
	if err != nil {
		return err
	}
	runID := randomHex(6)
	b := &bench{cfg: cfg, self: self, runID: runID, prefix: "tracklink-bench-" + runID + ":",
		progress: progress, results: map[string][]roundResult{}}
	if cfg.usesRedis() {
		if err := b.openRedis(ctx); err != nil {
			return err
		}
		defer b.closeRedis()
	}
	for r := range cfg.rounds {
		for i := range cfg.modes {
			m := cfg.modes[(i+r)%len(cfg.modes)]
			res, err := b.round(ctx, m, r)
			if err != nil {
				return fmt.Errorf("round %d, %s: %w", r+1, m.name, err)
			}
			b.results[m.name] = append(b.results[m.name], res)
			fmt.Fprintf(progress, "round %d/%d %-24s %8.0f req/s  p50 %-9v p99 %-9v server %5.1f µs/req\n",
				r+1, cfg.rounds, m.name, res.rps, round(res.p50), round(res.p99), res.serverCPU)
		}
	}
	b.report(out)
	return nil
}
