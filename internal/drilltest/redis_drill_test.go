package drilltest

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/tracklink/tracklink"
	"github.com/tracklink/tracklink/adapters/pgstore"
	"github.com/tracklink/tracklink/adapters/redisstore"
	"github.com/tracklink/tracklink/internal/pgtest"
	"github.com/tracklink/tracklink/internal/redistest"
)

// TestRedisKillDrill runs the production wiring (sessions on Redis, the
// ledger on PostgreSQL) and kills (SIGKILL) the Redis server while
// browsers land through ana's link and the provider delivers their orders,
// then starts it again, empty, on the same port. It asserts that pages
// answered 200 throughout (fail open), that the receiver answered only 200
// or 503 (503 while it could not read the sessions), and that every order
// acknowledged is recorded exactly once: orders whose touch went with the
// sessions count as direct, never twice and never lost.
func TestRedisKillDrill(t *testing.T) {
	if testing.Short() {
		t.Skip("drill: starts a private redis-server")
	}
	pgtest.Require(t)
	srv := redistest.StartServer(t)
	rdb := redis.NewClient(&redis.Options{
		Addr:                  srv.Addr,
		ContextTimeoutEnabled: true,
		DialTimeout:           2 * time.Second,
		ReadTimeout:           5 * time.Second,
		WriteTimeout:          5 * time.Second,
		PoolSize:              32,
		PoolTimeout:           10 * time.Second,
		MaxRetries:            1,
	})
	t.Cleanup(func() { _ = rdb.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), patience)
	defer cancel()
	sessions, err := redisstore.New(ctx, rdb, redisstore.Options{Prefix: "drill:", SessionsOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	ledger := pgtest.Ledger(t, pgstore.Options{})
	store := tracklink.Compose(sessions, ledger, tracklink.ComposeOptions{})
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), patience)
		defer cancel()
		if err := store.Close(ctx); err != nil {
			t.Errorf("close: %v", err)
		}
	})
	if err := store.SavePromoter(ctx, tracklink.Promoter{Code: "ana", Name: "Ana", Events: []string{event}}); err != nil {
		t.Fatal(err)
	}

	d := startDrill(t, store)
	d.waitFor("orders acknowledged before the kill", func() bool { return d.oks() >= settled })
	downFor := d.outage(srv.Kill, func() { srv.Restart(t) })
	restartedAt := d.oks()
	d.waitFor("orders acknowledged after the restart", func() bool { return d.oks() >= restartedAt+settled })
	n := d.done(http.StatusOK, http.StatusServiceUnavailable)
	t.Logf("Redis was down %v; %d orders", downFor.Round(time.Millisecond), n)
}
