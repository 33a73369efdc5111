package redisstore_test

import (
	"context"
	"errors"
	"log"

	"github.com/redis/go-redis/v9"

	"github.com/tracklink/tracklink/adapters/redisstore"
	"github.com/tracklink/tracklink/middleware"
)

// A Redis store holding everything (sessions, ledger, registry, figures)
// for a small shop, with the client options tracklink recommends (short
// timeouts, one retry), shared by every instance of the shop. New refuses
// a server that may lose orders: it needs appendonly yes and a
// maxmemory-policy of noeviction or volatile-*.
func ExampleNew() {
	ctx := context.Background()
	rdb := redis.NewUniversalClient(redisstore.RecommendedOptions("127.0.0.1:6379"))
	defer rdb.Close()
	store, err := redisstore.New(ctx, rdb, redisstore.Options{Prefix: "myshop:"})
	if errors.Is(err, redisstore.ErrUnsafeServer) {
		log.Fatalf("fix the Redis configuration: %v", err)
	}
	if err != nil {
		log.Fatal(err)
	}
	mw, err := middleware.New(middleware.Config{Store: store, SessionKeys: [][]byte{[]byte("32 random bytes, the same everywhere"), nil}})
	if err != nil {
		log.Fatal(err)
	}
	_ = mw // mw.Handler(mux); the webhook and report take the same store
}
