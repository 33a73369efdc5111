// Package redistest gives tests a Redis: the real one at
// TRACKLINK_REDIS_ADDR (default 127.0.0.1:6379), or an in-process miniredis
// when TRACKLINK_REDIS_ADDR is "miniredis". When the Redis does not answer,
// the test is skipped with a message saying how to run it, or fails when
// CI is set. Every test gets its own key
// prefix, whose keys are deleted when it ends: the Redis may be shared,
// so nothing here ever flushes a database.
package redistest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"
)

var (
	probeOnce sync.Once
	probeErr  error
	probeAddr string
)

// Addr returns the address of the real Redis and whether it answered. It
// probes once per test binary.
func Addr() (addr string, err error) {
	probeOnce.Do(func() {
		probeAddr = os.Getenv("TRACKLINK_REDIS_ADDR")
		if probeAddr == Miniredis {
			return
		}
		if probeAddr == "" {
			probeAddr = "127.0.0.1:6379"
		}
		rdb := redis.NewClient(&redis.Options{Addr: probeAddr, MaxRetries: -1, DialTimeout: time.Second})
		defer rdb.Close()
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		probeErr = rdb.Ping(ctx).Err()
	})
	return probeAddr, probeErr
}

// Test clients wait generously: a loaded machine (-race, a high load
// average) can hold a reply for seconds, and a client that gives up and
// retries a script re-runs it, so a Record the server applied comes back
// as a duplicate and an exact count in the test is off by one. Tests
// about deadlines build their own clients (redisstore.RecommendedOptions);
// these bound only a real hang.
const (
	testTimeout     = 30 * time.Second // dial, read and write
	testPoolTimeout = 2 * time.Minute  // a queue of hundreds of goroutines
	testPoolSize    = 64
	// fallbackPoolSize bounds the commands in flight to a miniredis, which
	// runs one at a time: more connections only lengthen each reply's wait.
	fallbackPoolSize = 8
)

// Miniredis is the TRACKLINK_REDIS_ADDR that runs the Redis tests on an
// in-process miniredis instead of a server.
const Miniredis = "miniredis"

// Client returns a client for the test (closed when it ends) and, when it
// fell back to miniredis, the miniredis (so expiry tests can fast-forward
// its clock). Calls are bounded by their context (ContextTimeoutEnabled)
// and otherwise only by generous timeouts, and never retried.
func Client(tb testing.TB) (*redis.Client, *miniredis.Miniredis) {
	tb.Helper()
	addr, err := Addr()
	var mr *miniredis.Miniredis
	poolSize := testPoolSize
	switch {
	case addr == Miniredis:
		mr = miniredis.RunT(tb)
		addr = mr.Addr()
		poolSize = fallbackPoolSize
	case err != nil && os.Getenv("CI") != "":
		tb.Fatalf("redis at %s does not answer (CI is set): %v", addr, err)
	case err != nil:
		tb.Skipf("no Redis at %s (%v): start one (redis-server --port 6379 --save '' --appendonly no --daemonize yes), "+
			"point TRACKLINK_REDIS_ADDR at one, or set TRACKLINK_REDIS_ADDR=%s for an in-process Redis", addr, err, Miniredis)
	}
	rdb := redis.NewClient(&redis.Options{
		Addr:                  addr,
		ContextTimeoutEnabled: true,
		DialTimeout:           testTimeout,
		ReadTimeout:           testTimeout,
		WriteTimeout:          testTimeout,
		PoolSize:              poolSize,
		PoolTimeout:           testPoolTimeout,
		MaxRetries:            -1,
	})
	tb.Cleanup(func() { _ = rdb.Close() })
	return rdb, mr
}

// Prefix returns a unique key prefix and deletes its keys when the test
// ends.
func Prefix(tb testing.TB, rdb redis.UniversalClient) string {
	tb.Helper()
	var b [8]byte
	_, _ = rand.Read(b[:])
	prefix := "tracklinktest-" + hex.EncodeToString(b[:]) + ":"
	tb.Cleanup(func() { DeleteKeys(tb, rdb, prefix) })
	return prefix
}

// DeleteKeys unlinks every key under prefix (SCAN, never FLUSHDB).
func DeleteKeys(tb testing.TB, rdb redis.UniversalClient, prefix string) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	del := func(ctx context.Context, c *redis.Client) error {
		iter := c.Scan(ctx, 0, prefix+"*", 1000).Iterator()
		for iter.Next(ctx) {
			if err := c.Unlink(ctx, iter.Val()).Err(); err != nil {
				return err
			}
		}
		return iter.Err()
	}
	var err error
	switch c := rdb.(type) {
	case *redis.ClusterClient:
		err = c.ForEachMaster(ctx, del)
	case *redis.Client:
		err = del(ctx, c)
	}
	if err != nil {
		tb.Logf("cleanup of %s: %v", prefix, err)
	}
}
