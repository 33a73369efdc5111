package redisstore_test

import (
	"log"

	"github.com/redis/go-redis/v9"

	"github.com/tracklink/tracklink/adapters/redisstore"
	"github.com/tracklink/tracklink/middleware"
)

// A Redis store with the client options tracklink recommends (short
// timeouts, one retry), shared by every instance of the shop.
func ExampleNew() {
	rdb := redis.NewUniversalClient(redisstore.RecommendedOptions("127.0.0.1:6379"))
	defer rdb.Close()
	store := redisstore.New(rdb, redisstore.Options{})
	mw, err := middleware.New(middleware.Config{Store: store, SessionKeys: [][]byte{[]byte("32 random bytes, the same everywhere"), nil}})
	if err != nil {
		log.Fatal(err)
	}
	_ = mw // mw.Handler(mux); the webhook and report take the same store
}
