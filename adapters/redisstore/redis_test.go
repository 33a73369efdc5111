package redisstore

import (
	"context"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"

	"github.com/tracklink/tracklink/internal/redistest"
)

func testClient(tb testing.TB) (*redis.Client, *miniredis.Miniredis) { return redistest.Client(tb) }

func testPrefix(tb testing.TB, rdb redis.UniversalClient) string { return redistest.Prefix(tb, rdb) }

// testStore is a Store on a fresh prefix, with a way to let time pass for
// Redis's expiry.
type testStore struct {
	*Store
	rdb     *redis.Client
	prefix  string
	advance func(time.Duration)
}

func newTestStore(tb testing.TB, opts Options) testStore {
	tb.Helper()
	rdb, mr := testClient(tb)
	opts.Prefix = testPrefix(tb, rdb)
	ts := testStore{Store: mustNew(rdb, opts), rdb: rdb, prefix: opts.Prefix, advance: time.Sleep}
	if mr != nil {
		ts.advance = mr.FastForward
	}
	return ts
}

// mustNew is New for a test server, which need not keep the ledger safe.
func mustNew(rdb redis.UniversalClient, opts Options) *Store {
	opts.AllowUnsafeServer = true
	s, err := New(context.Background(), rdb, opts)
	if err != nil {
		panic(err)
	}
	return s
}
