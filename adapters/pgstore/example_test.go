package pgstore_test

import (
	"context"
	"log"
	"net/http"
	"os"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/redis/go-redis/v9"

	"github.com/tracklink/tracklink"
	"github.com/tracklink/tracklink/adapters/pgstore"
	"github.com/tracklink/tracklink/adapters/redisstore"
	"github.com/tracklink/tracklink/middleware"
	"github.com/tracklink/tracklink/report"
	"github.com/tracklink/tracklink/webhook"
)

// The recommended production wiring: sessions on Redis, the ledger
// (orders, registry, figures) on PostgreSQL, joined by tracklink.Compose.
func ExampleNew() {
	ctx := context.Background()
	cfg, err := pgstore.RecommendedConfig(os.Getenv("DATABASE_URL")) // statement_timeout 5s, lock_timeout 2s
	if err != nil {
		log.Fatal(err)
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		log.Fatal(err)
	}
	ledger, err := pgstore.New(ctx, pool, pgstore.Options{}) // schema "tracklink"
	if err != nil {
		log.Fatal(err)
	}
	if err := ledger.Migrate(ctx); err != nil { // or run adapters/pgstore/migrations/*.sql yourself
		log.Fatal(err)
	}
	rdb := redis.NewUniversalClient(redisstore.RecommendedOptions("127.0.0.1:6379"))
	sessions, err := redisstore.New(ctx, rdb, redisstore.Options{Prefix: "myshop:", SessionsOnly: true})
	if err != nil {
		log.Fatal(err)
	}
	store := tracklink.Compose(sessions, ledger, tracklink.ComposeOptions{})
	defer store.Close(context.Background()) // flushes the last visits

	onSale := map[string]bool{"summer-fest": true}
	mw, err := middleware.New(middleware.Config{
		Store:       store,
		SessionKeys: [][]byte{[]byte(os.Getenv("TRACKLINK_SESSION_KEY")), nil},
		Events:      func(_ context.Context, slug string) bool { return onSale[slug] },
	})
	if err != nil {
		log.Fatal(err)
	}
	wh, err := webhook.NewHandler(webhook.Config{Store: store, Provider: webhook.MustStripe(os.Getenv("STRIPE_WEBHOOK_SECRET"))})
	if err != nil {
		log.Fatal(err)
	}
	rp, err := report.New(report.Config{Store: store, BaseURL: "https://tickets.example"})
	if err != nil {
		log.Fatal(err)
	}
	defer rp.Close()

	mux := http.NewServeMux()
	mux.Handle("POST /webhooks/stripe", wh)
	// ... the shop's pages, and rp.Handler(isAdmin) behind the admin login
	log.Fatal(http.ListenAndServe(":8080", mw.Handler(mux)))
}
