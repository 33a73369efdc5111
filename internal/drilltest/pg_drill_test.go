package drilltest

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/tracklink/tracklink"
	"github.com/tracklink/tracklink/adapters/memstore"
	"github.com/tracklink/tracklink/adapters/pgstore"
)

// TestPostgresCrashDrill runs sessions in memory and the ledger on a
// private PostgreSQL server, which it crashes (pg_ctl stop -m immediate)
// while browsers land and the provider delivers their orders, then starts
// again (crash recovery). It asserts that the receiver answered only 200,
// 202 or 503 (503 while the ledger was down), that pages answered 200
// throughout, and that after the provider's retries every order is
// recorded exactly once, including every order acknowledged before the
// crash: a 2xx is a promise the crash must not break.
func TestPostgresCrashDrill(t *testing.T) {
	if testing.Short() {
		t.Skip("drill: starts a private PostgreSQL server")
	}
	pg := startPostgres(t)
	// the production configuration (synchronous commit, as the 2xx
	// promise needs), with timeouts a loaded machine can afford
	cfg, err := pgstore.RecommendedConfig(pg.URL())
	if err != nil {
		t.Fatal(err)
	}
	cfg.MaxConns = 16
	cfg.ConnConfig.ConnectTimeout = 5 * time.Second
	cfg.ConnConfig.RuntimeParams["statement_timeout"] = "30000"
	cfg.ConnConfig.RuntimeParams["lock_timeout"] = "10000"
	ctx, cancel := context.WithTimeout(context.Background(), patience)
	defer cancel()
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	ledger, err := pgstore.New(ctx, pool, pgstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := ledger.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(ledger.Close)
	store := tracklink.Compose(memstore.New(), ledger, tracklink.ComposeOptions{})
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
	d.waitFor("orders acknowledged before the crash", func() bool { return d.oks() >= settled })
	downFor := d.outage(func() { pg.crash(t) }, func() { pg.restart(t) })
	restartedAt := d.oks()
	d.waitFor("orders acknowledged after the restart", func() bool { return d.oks() >= restartedAt+settled })
	n := d.done(http.StatusOK, http.StatusAccepted, http.StatusServiceUnavailable)
	t.Logf("PostgreSQL was down %v; %d orders", downFor.Round(time.Millisecond), n)
}
