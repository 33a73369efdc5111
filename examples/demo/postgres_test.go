package main

import (
	"net/url"
	"testing"

	"github.com/tracklink/tracklink/adapters/pgstore"
	"github.com/tracklink/tracklink/internal/pgtest"
)

// TestPostgresLedger runs the shop with -postgres: sessions in memory, the
// ledger, registry and figures in PostgreSQL (a schema of the test's own).
func TestPostgresLedger(t *testing.T) {
	schema := pgtest.Schema(t)
	store, closeLedger, err := postgresStore(pgtest.URL(), schema, nil, discard())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(closeLedger)
	s := startDemo(t, Options{Store: store, Seed: true, SeedDays: 2})
	b := newBrowser(t, s)
	flush := func() {
		t.Helper()
		if err := store.(composed).Flush(t.Context()); err != nil {
			t.Fatal(err)
		}
	}
	flush() // the seeded visits
	before := anaVisits(t, store)
	if resp, _ := b.get("/events/summer-fest?promoter=ana"); resp.StatusCode != 200 {
		t.Fatalf("event page: %d", resp.StatusCode)
	}
	// the landing's visit reaches PostgreSQL with the next flush
	flush()
	if after := anaVisits(t, store); after != before+1 {
		t.Errorf("ana's visits on summer-fest: %d after the landing, want %d", after, before+1)
	}
	id := b.buy("summer-fest", url.Values{"qty_ga": {"2"}, "qty_vip": {"0"}})
	b.waitPaid(id)
	a := attribution(t, s, id)
	if a.Touch.Promoter != "ana" || a.Tickets != 2 || a.Revenue != 9000 {
		t.Errorf("attribution = %+v", a)
	}
	// and the order is a row of the schema's orders table
	pg := store.(composed).Ledger().(*pgstore.Store)
	var n int
	if err := pg.Pool().QueryRow(t.Context(), `select count(*) from `+schema+`.orders where order_id = $1`, id).Scan(&n); err != nil || n != 1 {
		t.Errorf("orders rows for %s: %d, %v; want 1", id, n, err)
	}
}

func anaVisits(t *testing.T, s Store) int64 {
	t.Helper()
	rows, err := s.EventTraffic(t.Context(), "summer-fest", "", "")
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rows {
		if r.Key == "promoter|ana" {
			return r.Visits
		}
	}
	return 0
}
