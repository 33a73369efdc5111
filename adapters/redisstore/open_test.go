package redisstore

import (
	"context"
	"errors"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/tracklink/tracklink"
)

// startServer starts a private redis-server on a free loopback port with
// the given settings and returns a client for it (both stopped when the
// test ends). Without redis-server it skips (fails with CI set).
func startServer(t *testing.T, args ...string) *redis.Client {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("redis-server not found (CI is set): %v", err)
		}
		t.Skip("redis-server not found; install redis-server to run this test")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	dir := t.TempDir()
	cmd := exec.Command(bin, append([]string{"--port", strconv.Itoa(port), "--bind", "127.0.0.1",
		"--save", "", "--dir", dir}, args...)...)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:" + strconv.Itoa(port), MaxRetries: -1})
	t.Cleanup(func() { _ = rdb.Close() })
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	for rdb.Ping(ctx).Err() != nil {
		select {
		case <-ctx.Done():
			t.Fatalf("private redis-server on port %d did not answer: %v", port, ctx.Err())
		case <-time.After(20 * time.Millisecond):
		}
	}
	return rdb
}

func TestNewChecksServer(t *testing.T) {
	cases := []struct {
		name    string
		args    []string
		opts    Options
		unsafe  bool
		mention string
	}{
		// what the ledger needs
		{"noeviction+aof", []string{"--appendonly", "yes", "--maxmemory-policy", "noeviction"}, Options{}, false, ""},
		{"volatile-lru+aof", []string{"--appendonly", "yes", "--maxmemory-policy", "volatile-lru"}, Options{}, false, ""},
		// what loses it
		{"allkeys-lru", []string{"--appendonly", "yes", "--maxmemory-policy", "allkeys-lru"}, Options{}, true, "maxmemory-policy"},
		{"no aof", []string{"--appendonly", "no", "--maxmemory-policy", "noeviction"}, Options{}, true, "appendonly"},
		// the opt-outs
		{"allkeys-lru, opted out", []string{"--appendonly", "no", "--maxmemory-policy", "allkeys-lru"}, Options{AllowUnsafeServer: true}, false, ""},
		{"allkeys-lru, sessions only", []string{"--appendonly", "no", "--maxmemory-policy", "allkeys-lru"}, Options{SessionsOnly: true}, false, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rdb := startServer(t, c.args...)
			s, err := New(t.Context(), rdb, c.opts)
			if c.unsafe {
				if !errors.Is(err, ErrUnsafeServer) || !strings.Contains(err.Error(), c.mention) {
					t.Fatalf("New: %v; want ErrUnsafeServer naming %s", err, c.mention)
				}
				return
			}
			if err != nil || s == nil {
				t.Fatalf("New: %v", err)
			}
			a := tracklink.Attribution{OrderID: "ord-1", Event: "ev", Currency: "EUR", Tickets: 1, Revenue: 100,
				Touch: tracklink.Touch{Channel: tracklink.ChannelDirect, Source: "direct", Event: "ev"}, Rule: tracklink.RuleNoTouch, At: time.Now()}
			_, err = s.Record(t.Context(), a)
			if c.opts.SessionsOnly {
				if !errors.Is(err, ErrSessionsOnly) {
					t.Fatalf("Record on a sessions-only store: %v; want ErrSessionsOnly", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Record: %v", err)
			}
		})
	}
	if _, err := New(t.Context(), nil, Options{}); err == nil {
		t.Error("New(nil client): no error")
	}
}

// TestKeyExpiry proves what makes volatile-* policies safe for the ledger:
// after a mixed workload every session key has a TTL and every other key
// none, but for the tombstone of a refund that came before its order.
func TestKeyExpiry(t *testing.T) {
	ts := newTestStore(t, Options{})
	ctx := t.Context()
	at := time.Now().UTC()
	if err := ts.SavePromoter(ctx, tracklink.Promoter{Code: "ana", Name: "Ana", Groups: []string{"crew"}, PromoCodes: []string{"ana10"}}); err != nil {
		t.Fatal(err)
	}
	if err := ts.SaveLink(ctx, tracklink.Link{ID: "l1", Event: "ev", Name: "News", UTM: tracklink.UTM{Source: "newsletter"}}); err != nil {
		t.Fatal(err)
	}
	touch := tracklink.Touch{Channel: tracklink.ChannelPromoter, Source: "ana", Promoter: "ana", Event: "ev", At: at}
	for i, sess := range []string{"sess000000000000000001", "sess000000000000000002"} {
		if _, err := ts.Stamp(ctx, tracklink.Stamp{Session: sess, Touch: touch, TTL: time.Hour}); err != nil {
			t.Fatal(err)
		}
		a := tracklink.Attribution{OrderID: "ord-" + strconv.Itoa(i), Event: "ev", Session: sess, Currency: "EUR", Tickets: 1, Revenue: 100, Touch: touch, Rule: tracklink.RuleEventTouch, At: at}
		if _, err := ts.Record(ctx, a); err != nil {
			t.Fatal(err)
		}
		if _, err := ts.ClaimHook(ctx, a.OrderID, tracklink.HookAttributed, time.Minute); err != nil {
			t.Fatal(err)
		}
	}
	if _, _, err := ts.Refund(ctx, "ord-0", at); err != nil {
		t.Fatal(err)
	}
	if _, _, err := ts.Refund(ctx, "ord-early", at); err != nil { // a tombstone
		t.Fatal(err)
	}
	if err := ts.CountVisits(ctx, []tracklink.VisitCount{{Event: "ev", Day: tracklink.Day(at), Key: "promoter|ana", Promoter: "ana", N: 2}}); err != nil {
		t.Fatal(err)
	}
	if _, err := ts.PromoterRanking(ctx, "", 0, 10); err != nil {
		t.Fatal(err)
	}
	var keys []string
	iter := ts.rdb.Scan(ctx, 0, ts.prefix+"*", 1000).Iterator()
	for iter.Next(ctx) {
		keys = append(keys, iter.Val())
	}
	if err := iter.Err(); err != nil {
		t.Fatal(err)
	}
	sessions, ledger := 0, 0
	for _, k := range keys {
		ttl, err := ts.rdb.PTTL(ctx, k).Result()
		if err != nil {
			t.Fatal(err)
		}
		switch {
		case strings.Contains(k, "{s:"):
			sessions++
			if ttl <= 0 {
				t.Errorf("session key %s has no TTL (%v)", k, ttl)
			}
		case k == ts.orderKey("ord-early"):
			if ttl <= 0 {
				t.Errorf("tombstone %s has no TTL (%v)", k, ttl)
			}
		default:
			ledger++
			if ttl != -1 {
				t.Errorf("ledger key %s has a TTL (%v)", k, ttl)
			}
		}
	}
	if sessions != 2 || ledger < 20 {
		t.Errorf("scanned %d session and %d ledger keys; want 2 and at least 20", sessions, ledger)
	}
}
