package redisstore

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

// realRedis reports the address of the Redis the tests use:
// TRACKLINK_REDIS_ADDR, default 127.0.0.1:6379; err is set when it does not
// answer. It probes once per test binary.
func realRedis() (addr string, err error) {
	probeOnce.Do(func() {
		probeAddr = os.Getenv("TRACKLINK_REDIS_ADDR")
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

// testClient returns a client for the tests: the real Redis (see realRedis)
// or, when it does not answer and CI is unset, an in-process miniredis
// (returned too, so expiry tests can fast-forward its clock). With CI set a
// missing Redis fails the test.
func testClient(tb testing.TB) (*redis.Client, *miniredis.Miniredis) {
	tb.Helper()
	addr, err := realRedis()
	var mr *miniredis.Miniredis
	if err != nil {
		if os.Getenv("CI") != "" {
			tb.Fatalf("redis at %s does not answer (CI is set): %v", addr, err)
		}
		tb.Logf("redis at %s does not answer (%v); using an in-process miniredis", addr, err)
		mr = miniredis.RunT(tb)
		addr = mr.Addr()
	}
	opts := RecommendedOptions(addr).Simple()
	opts.PoolSize = 64
	opts.PoolTimeout = 10 * time.Second // the suite runs hundreds of goroutines at once
	opts.ReadTimeout, opts.WriteTimeout = 2*time.Second, 2*time.Second
	rdb := redis.NewClient(opts)
	tb.Cleanup(func() { _ = rdb.Close() })
	return rdb, mr
}

// testPrefix returns a unique key prefix and deletes its keys when the test
// ends (never FLUSHDB: the Redis may be shared).
func testPrefix(tb testing.TB, rdb redis.UniversalClient) string {
	tb.Helper()
	var b [8]byte
	_, _ = rand.Read(b[:])
	prefix := "tracklinktest-" + hex.EncodeToString(b[:]) + ":"
	tb.Cleanup(func() { deleteKeys(tb, rdb, prefix) })
	return prefix
}

func deleteKeys(tb testing.TB, rdb redis.UniversalClient, prefix string) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var cursor uint64
	for {
		keys, next, err := rdb.Scan(ctx, cursor, prefix+"*", 1000).Result()
		if err != nil {
			tb.Logf("cleanup of %s: %v", prefix, err)
			return
		}
		if len(keys) > 0 {
			if err := rdb.Unlink(ctx, keys...).Err(); err != nil {
				tb.Logf("cleanup of %s: %v", prefix, err)
				return
			}
		}
		if cursor = next; cursor == 0 {
			return
		}
	}
}

// testStore is a Store on a fresh prefix, with a way to let time pass for
// Redis's expiry.
type testStore struct {
	*Store
	rdb     *redis.Client
	advance func(time.Duration)
}

func newTestStore(tb testing.TB, opts Options) testStore {
	tb.Helper()
	rdb, mr := testClient(tb)
	opts.Prefix = testPrefix(tb, rdb)
	ts := testStore{Store: New(rdb, opts), rdb: rdb, advance: time.Sleep}
	if mr != nil {
		ts.advance = mr.FastForward
	}
	return ts
}
