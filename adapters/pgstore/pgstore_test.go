package pgstore_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/tracklink/tracklink"
	"github.com/tracklink/tracklink/adapters/memstore"
	"github.com/tracklink/tracklink/adapters/pgstore"
	"github.com/tracklink/tracklink/adapters/redisstore"
	"github.com/tracklink/tracklink/internal/pgtest"
	"github.com/tracklink/tracklink/internal/redisstoretest"
	"github.com/tracklink/tracklink/internal/redistest"
	"github.com/tracklink/tracklink/tracklinktest"
)

// testMaxSources keeps the cap subtests short: each key is a round trip.
const testMaxSources = 16

var start = time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)

// newStore returns a migrated store on a fresh schema.
func newStore(t testing.TB, opts pgstore.Options) *pgstore.Store {
	t.Helper()
	pool, schema := pgtest.Pool(t)
	return openStore(t, pool, schema, opts)
}

func openStore(t testing.TB, pool *pgxpool.Pool, schema string, opts pgstore.Options) *pgstore.Store {
	t.Helper()
	opts.Schema = schema
	s, err := pgstore.New(t.Context(), pool, opts)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	if err := s.Migrate(t.Context()); err != nil {
		t.Fatalf("Migrate: %v", err)
	}
	t.Cleanup(s.Close)
	return s
}

func ledgerHarness(t *testing.T) tracklinktest.LedgerHarness {
	clock := tracklinktest.NewClock(start)
	s := newStore(t, pgstore.Options{MaxSources: testMaxSources, Now: clock.Now})
	return tracklinktest.LedgerHarness{Store: s, Now: clock.Now, MaxSources: testMaxSources}
}

func TestLedger(t *testing.T)   { tracklinktest.TestLedger(t, ledgerHarness) }
func TestReports(t *testing.T)  { tracklinktest.TestReports(t, ledgerHarness) }
func TestRegistry(t *testing.T) { tracklinktest.TestRegistry(t, ledgerHarness) }
func TestFeed(t *testing.T)     { tracklinktest.TestFeed(t, ledgerHarness) }

// TestComposed runs the whole suite on the production wiring: sessions on
// memstore or Redis, the ledger on PostgreSQL, visits counted on Stamp
// (the synchronous composition, so reads right after a stamp see it).
func TestComposed(t *testing.T) {
	t.Run("memstore", func(t *testing.T) {
		tracklinktest.TestStore(t, func(t *testing.T) tracklinktest.Harness {
			clock := tracklinktest.NewClock(start)
			sessions := memstore.NewWithOptions(memstore.Options{Now: clock.Now})
			ledger := newStore(t, pgstore.Options{MaxSources: testMaxSources, Now: clock.Now})
			s := tracklink.Compose(sessions, ledger, tracklink.ComposeOptions{FlushInterval: -1, Now: clock.Now})
			return tracklinktest.Harness{Store: s, Advance: clock.Advance, Now: clock.Now, MaxSources: testMaxSources}
		})
	})
}

// TestComposedRedisSessions: sessions on Redis (stamps that only mark),
// visits flushed to PostgreSQL in a batch, orders credited from the Redis
// touch. The session side's own suite runs in redisstore; the ledger's
// here.
func TestComposedRedisSessions(t *testing.T) {
	ctx := t.Context()
	rdb, _ := redistest.Client(t)
	sessions := redisstoretest.New(rdb, redisstore.Options{Prefix: redistest.Prefix(t, rdb)})
	ledger := newStore(t, pgstore.Options{})
	if err := ledger.SavePromoter(ctx, tracklink.Promoter{Code: "ana", Name: "Ana"}); err != nil {
		t.Fatal(err)
	}
	s := tracklink.Compose(sessions, ledger, tracklink.ComposeOptions{FlushInterval: time.Hour})
	defer s.Close(context.Background())
	day := time.Now().UTC()
	ana := tracklink.Touch{Channel: tracklink.ChannelPromoter, Source: "ana", Promoter: "ana", Event: "ev", At: day, Evidence: "param promoter=ana"}
	sess := func(i int) string { return "sess" + strings.Repeat("0", 17) + string(rune('a'+i)) }
	for i := range 3 {
		r, err := s.Stamp(ctx, tracklink.Stamp{Session: sess(i), Touch: ana, TTL: time.Hour})
		if err != nil || !r.Counted {
			t.Fatalf("Stamp %d: %+v, %v", i, r, err)
		}
	}
	// a reload counts nothing; Redis counted nothing itself
	if r, _ := s.Stamp(ctx, tracklink.Stamp{Session: sess(0), Touch: ana, TTL: time.Hour}); r.Counted {
		t.Error("a reload counted")
	}
	if rows, _ := sessions.EventTraffic(ctx, "ev", "", ""); len(rows) != 0 {
		t.Errorf("Redis counted visits itself: %+v", rows)
	}
	if err := s.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	rows, err := ledger.EventTraffic(ctx, "ev", "", "")
	if err != nil || len(rows) != 1 || rows[0].Key != "promoter|ana" || rows[0].Visits != 3 {
		t.Errorf("PostgreSQL traffic after the flush: %+v, %v; want promoter|ana 3 visits", rows, err)
	}
	ps, _ := ledger.PromoterStats(ctx, []string{"ana"})
	if ps[0].Totals.Visits != 3 {
		t.Errorf("ana's visits: %d, want 3", ps[0].Totals.Visits)
	}
	ev, _, err := s.Touches(ctx, sess(1), "ev")
	if err != nil || ev == nil || ev.Promoter != "ana" {
		t.Fatalf("Touches: %+v, %v", ev, err)
	}
	o := tracklink.Order{ID: "ord-1", Session: sess(1), Event: "ev", Currency: "EUR", At: day,
		Lines: []tracklink.Line{{Kind: tracklink.LinePrimary, Quantity: 2, UnitAmount: 2500}}}
	r, err := s.Record(ctx, tracklink.Attribute(o, ev, nil, tracklink.AttributeOptions{}))
	if err != nil || !r.Applied || r.Attribution.Touch.Promoter != "ana" {
		t.Fatalf("Record: %+v, %v", r, err)
	}
	if ps, _ := ledger.PromoterStats(ctx, []string{"ana"}); ps[0].Totals.Orders != 1 || ps[0].Totals.Revenue["EUR"] != 5000 {
		t.Errorf("ana's sales: %+v", ps[0].Totals)
	}
}

// TestMigrate: Migrate is idempotent, records the version, and New refuses
// a schema newer than the package.
func TestMigrate(t *testing.T) {
	ctx := t.Context()
	pool, schema := pgtest.Pool(t)
	s, err := pgstore.New(ctx, pool, pgstore.Options{Schema: schema})
	if err != nil {
		t.Fatalf("New before Migrate: %v", err)
	}
	if v, err := s.Version(ctx); err != nil || v != 0 {
		t.Fatalf("Version before Migrate = %d, %v; want 0", v, err)
	}
	for range 2 {
		if err := s.Migrate(ctx); err != nil {
			t.Fatalf("Migrate: %v", err)
		}
	}
	v, err := s.Version(ctx)
	if err != nil || v < 1 {
		t.Fatalf("Version after Migrate = %d, %v", v, err)
	}
	var n int
	if err := pool.QueryRow(ctx, `select count(*) from schema_migrations`).Scan(&n); err != nil || n != v {
		t.Errorf("schema_migrations has %d rows (%v), want %d", n, err, v)
	}
	sqls := s.MigrationSQL(0)
	if len(sqls) != v || !strings.Contains(sqls[0], `"`+schema+`".orders`) || strings.Contains(sqls[0], "tracklink.orders") {
		t.Errorf("MigrationSQL(0): %d files, first not written for schema %s", len(sqls), schema)
	}
	if len(s.MigrationSQL(v)) != 0 {
		t.Errorf("MigrationSQL(%d) is not empty", v)
	}
	if _, err := pool.Exec(ctx, `insert into schema_migrations (version, name) values ($1, 'from the future')`, v+1); err != nil {
		t.Fatal(err)
	}
	if _, err := pgstore.New(ctx, pool, pgstore.Options{Schema: schema}); !errors.Is(err, pgstore.ErrSchemaVersion) {
		t.Errorf("New on a newer schema: %v, want ErrSchemaVersion", err)
	}
	if err := s.Migrate(ctx); !errors.Is(err, pgstore.ErrSchemaVersion) {
		t.Errorf("Migrate on a newer schema: %v, want ErrSchemaVersion", err)
	}
}

// TestMigrateConcurrently: instances starting together migrate once.
func TestMigrateConcurrently(t *testing.T) {
	pool, schema := pgtest.Pool(t)
	errs := make(chan error, 4)
	for range 4 {
		go func() {
			s, err := pgstore.New(t.Context(), pool, pgstore.Options{Schema: schema})
			if err == nil {
				err = s.Migrate(t.Context())
			}
			errs <- err
		}()
	}
	for range 4 {
		if err := <-errs; err != nil {
			t.Errorf("concurrent Migrate: %v", err)
		}
	}
}

// TestRecommendedConfig: the statement and lock timeouts reach every
// connection as run-time parameters.
func TestRecommendedConfig(t *testing.T) {
	pgtest.Require(t)
	cfg, err := pgstore.RecommendedConfig(pgtest.URL())
	if err != nil {
		t.Fatal(err)
	}
	pool, err := pgxpool.NewWithConfig(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	for name, want := range map[string]string{"statement_timeout": "5s", "lock_timeout": "2s"} {
		var got string
		if err := pool.QueryRow(t.Context(), "show "+name).Scan(&got); err != nil || got != want {
			t.Errorf("show %s = %q, %v; want %q", name, got, err, want)
		}
	}
	if _, err := pgstore.RecommendedConfig("postgres://%zz"); err == nil {
		t.Error("RecommendedConfig of a bad URL: no error")
	}
}

// TestStatementTimeout: a call that would wait longer than the pool's
// statement_timeout fails with an error instead of hanging.
func TestStatementTimeout(t *testing.T) {
	schema := pgtest.Schema(t)
	// the schema is migrated without the timeout (a loaded machine may
	// take longer than it for a migration), then the store under test
	// runs on a pool whose every statement has it
	migrated, err := pgxpool.NewWithConfig(t.Context(), pgtest.Config(t, schema, 1))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(migrated.Close)
	openStore(t, migrated, schema, pgstore.Options{})
	cfg := pgtest.Config(t, schema, 4)
	cfg.ConnConfig.RuntimeParams["statement_timeout"] = "200"
	pool, err := pgxpool.NewWithConfig(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	s, err := pgstore.New(t.Context(), pool, pgstore.Options{Schema: schema})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(s.Close)
	// hold the order's lock from another connection
	conn, err := pool.Acquire(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Release()
	tx, err := conn.Begin(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(context.Background())
	if _, err := tx.Exec(t.Context(), `set local statement_timeout = 0`); err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(t.Context(), `select pg_advisory_xact_lock(1953263474, hashtext('/ord-1'))`); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	_, err = s.Record(ctx, tracklink.Attribution{OrderID: "ord-1", Event: "ev", Currency: "EUR", Tickets: 1, Revenue: 100,
		Touch: tracklink.Touch{Channel: tracklink.ChannelDirect, Source: "direct", Evidence: "no touch"}, Rule: tracklink.RuleNoTouch, At: start})
	if err == nil || ctx.Err() != nil {
		t.Fatalf("Record behind a held lock: err %v, ctx %v; want the statement timeout's error before the context's", err, ctx.Err())
	}
	if !strings.Contains(err.Error(), "statement timeout") {
		t.Errorf("Record behind a held lock: %v, want a statement timeout", err)
	}
}

// TestFeedAcrossInstances: two instances on one database; a change
// recorded through one reaches a subscriber of the other.
func TestFeedAcrossInstances(t *testing.T) {
	poolA, schema := pgtest.Pool(t)
	a := openStore(t, poolA, schema, pgstore.Options{})
	poolB, err := pgxpool.NewWithConfig(t.Context(), pgtest.Config(t, schema, 4))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(poolB.Close)
	b := openStore(t, poolB, schema, pgstore.Options{})
	ch, err := b.Subscribe(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	at := tracklink.Attribution{OrderID: "ord-x", Event: "ev", Currency: "EUR", Tickets: 2, Revenue: 5000,
		Touch: tracklink.Touch{Channel: tracklink.ChannelPromoter, Source: "ana", Promoter: "ana", Event: "ev", Evidence: "param promoter=ana"},
		Rule:  tracklink.RuleEventTouch, At: start}
	if _, err := a.Record(t.Context(), at); err != nil {
		t.Fatal(err)
	}
	select {
	case c := <-ch:
		if c.Kind != tracklink.HookAttributed || c.Attribution.OrderID != "ord-x" || c.Attribution.Revenue != 5000 {
			t.Errorf("change %+v", c)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no change within 10s")
	}
	// a change too large for a notification is read back
	big := at
	big.OrderID = "ord-big"
	big.Touch.Evidence = strings.Repeat("e", 9000)
	if _, err := a.Record(t.Context(), big); err != nil {
		t.Fatal(err)
	}
	select {
	case c := <-ch:
		if c.Attribution.OrderID != "ord-big" || len(c.Attribution.Touch.Evidence) != 9000 {
			t.Errorf("large change: order %q, evidence of %d bytes", c.Attribution.OrderID, len(c.Attribution.Touch.Evidence))
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no large change within 10s")
	}
	// Close ends the subscriptions
	b.Close()
	select {
	case _, ok := <-ch:
		if ok {
			t.Error("a change after Close")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("channel not closed by Close")
	}
}

// TestInvalidWritesNothing: a refused call leaves no row anywhere.
func TestInvalidWritesNothing(t *testing.T) {
	s := newStore(t, pgstore.Options{})
	ctx := t.Context()
	bad := tracklink.Attribution{OrderID: "ord-1", Event: "ev", Currency: "EUR", Tickets: 1, Revenue: tracklink.MaxOrderRevenue + 1,
		Touch: tracklink.Touch{Channel: tracklink.ChannelDirect, Source: "direct"}, Rule: tracklink.RuleNoTouch, At: start}
	if _, err := s.Record(ctx, bad); !errors.Is(err, pgstore.ErrInvalid) || !errors.Is(err, tracklink.ErrInvalid) {
		t.Errorf("Record out of range: %v, want ErrInvalid", err)
	}
	if err := s.CountVisits(ctx, []tracklink.VisitCount{{Event: "ev", Day: "2026-03-01", Key: "direct|direct", N: 1}, {Event: "ev", Day: "bad", Key: "direct|direct", N: 1}}); !errors.Is(err, pgstore.ErrInvalid) {
		t.Errorf("CountVisits with a bad day: %v, want ErrInvalid", err)
	}
	for _, table := range []string{"orders", "outbox", "event_days", "event_totals", "event_keys", "promoter_totals"} {
		var n int
		if err := s.Pool().QueryRow(ctx, `select count(*) from `+table).Scan(&n); err != nil || n != 0 {
			t.Errorf("%s holds %d rows (%v) after refused calls", table, n, err)
		}
	}
}
