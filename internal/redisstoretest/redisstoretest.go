// Package redisstoretest makes redisstore stores for tests, whose Redis
// (the shared test server, a private one a drill starts) need not keep
// the ledger safe: the stores skip the server check.
package redisstoretest

import (
	"context"

	"github.com/redis/go-redis/v9"

	"github.com/tracklink/tracklink/adapters/redisstore"
)

// New returns redisstore.New(rdb, opts) with opts.AllowUnsafeServer set.
// It panics on a wiring mistake (a nil client, a bad prefix), which a test
// makes, not a server.
func New(rdb redis.UniversalClient, opts redisstore.Options) *redisstore.Store {
	opts.AllowUnsafeServer = true
	s, err := redisstore.New(context.Background(), rdb, opts)
	if err != nil {
		panic(err)
	}
	return s
}
