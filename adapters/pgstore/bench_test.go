package pgstore_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/tracklink/tracklink"
	"github.com/tracklink/tracklink/adapters/memstore"
	"github.com/tracklink/tracklink/adapters/pgstore"
	"github.com/tracklink/tracklink/adapters/redisstore"
	"github.com/tracklink/tracklink/internal/pgtest"
	"github.com/tracklink/tracklink/internal/redisstoretest"
	"github.com/tracklink/tracklink/internal/redistest"
)

// queryCounter counts the queries a pgx connection sends: one per
// statement, one per batch (a batch is one round trip).
type queryCounter struct{ n atomic.Int64 }

func (c *queryCounter) TraceQueryStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceQueryStartData) context.Context {
	c.n.Add(1)
	return ctx
}
func (c *queryCounter) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}
func (c *queryCounter) TraceBatchStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceBatchStartData) context.Context {
	c.n.Add(1)
	return ctx
}
func (c *queryCounter) TraceBatchQuery(context.Context, *pgx.Conn, pgx.TraceBatchQueryData) {}
func (c *queryCounter) TraceBatchEnd(context.Context, *pgx.Conn, pgx.TraceBatchEndData)     {}

// benchLedger is one peer of the order benchmarks.
type benchLedger struct {
	name  string
	store tracklink.LedgerStore
	trips func() int64 // round trips so far; nil when the store has none
}

// benchLedgers returns the three durable stores, each with a registered
// promoter in two groups (the most work an order does: its figures, the
// promoter's, the groups' sums and the ranking).
func benchLedgers(b *testing.B, conns int32) []benchLedger {
	b.Helper()
	var out []benchLedger
	out = append(out, benchLedger{name: "memstore", store: memstore.New()})

	rdb, _ := redistest.Client(b)
	rt := redistest.CountRoundTrips(rdb)
	out = append(out, benchLedger{name: "redis", store: redisstoretest.New(rdb, redisstore.Options{Prefix: redistest.Prefix(b, rdb)}), trips: rt.N})

	schema := pgtest.Schema(b)
	cfg := pgtest.Config(b, schema, conns)
	delete(cfg.ConnConfig.RuntimeParams, "synchronous_commit") // the server's default: commits wait for the disk
	qc := &queryCounter{}
	cfg.ConnConfig.Tracer = qc
	pool, err := pgxpool.NewWithConfig(b.Context(), cfg)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(pool.Close)
	pg := openStore(b, pool, schema, pgstore.Options{})
	out = append(out, benchLedger{name: "postgres", store: pg, trips: qc.n.Load})

	for _, l := range out {
		for p := range benchPromoters {
			code := benchPromoter(p)
			if err := l.store.SavePromoter(b.Context(), tracklink.Promoter{Code: code, Name: code, Groups: []string{"crew", "vip"}}); err != nil {
				b.Fatal(err)
			}
		}
	}
	// Warm every connection up: PostgreSQL compiles the PL/pgSQL
	// functions and plans their statements once per connection.
	var wg sync.WaitGroup
	for _, l := range out {
		for w := range 2 * int(conns) {
			wg.Go(func() {
				for i := range 4 {
					n := int64(-1 - w*4 - i)
					if _, err := l.store.Record(b.Context(), benchOrder(n, w%benchPromoters, i)); err != nil {
						b.Error(err)
					}
				}
			})
		}
	}
	wg.Wait()
	return out
}

const benchPromoters = 16

func benchPromoter(p int) string {
	if p == 0 {
		return "ana"
	}
	return fmt.Sprintf("promoter%02d", p)
}

var benchEvents = []string{"summer-fest", "winter-gala", "jazz-night", "rock-night"}

// benchOrder is the i-th order of a benchmark: credited to promoter p on
// event e (p < 0: an order with no touch, credited to direct).
func benchOrder(i int64, p, e int) tracklink.Attribution {
	ev := benchEvents[e%len(benchEvents)]
	at := time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC).Add(time.Duration(i) * time.Second)
	touch := tracklink.Touch{Channel: tracklink.ChannelDirect, Source: "direct", Event: ev, Evidence: "no touch"}
	rule := tracklink.RuleNoTouch
	if p >= 0 {
		code := benchPromoter(p)
		touch = tracklink.Touch{Channel: tracklink.ChannelPromoter, Source: code, Promoter: code, Event: ev,
			Path: "/events/" + ev, At: at.Add(-time.Hour), Evidence: "param promoter=" + code}
		rule = tracklink.RuleEventTouch
	}
	return tracklink.Attribution{OrderID: fmt.Sprintf("bench-%d-%d", benchRun, i), Event: ev,
		Session: "sessionref000000000001", Currency: "EUR", Tickets: 2, Revenue: 5000,
		Touch: touch, Rule: rule, TouchAge: time.Hour, At: at}
}

// benchRun keeps order ids apart across runs of a benchmark function.
var benchRun = time.Now().UnixNano()

// BenchmarkNewOrder bounds the cost of recording a new order (the claim,
// the attribution, every aggregate, the outbox entry and the feed's
// change) on each durable store, one at a time: time, allocations on the
// Go side, and round trips.
func BenchmarkNewOrder(b *testing.B) {
	for _, l := range benchLedgers(b, 4) {
		b.Run(l.name, func(b *testing.B) {
			b.ReportAllocs()
			var i int64
			var before int64
			if l.trips != nil {
				before = l.trips()
			}
			for b.Loop() {
				i++
				r, err := l.store.Record(b.Context(), benchOrder(i, int(i%benchPromoters), int(i)))
				if err != nil || !r.Applied {
					b.Fatal(r, err)
				}
			}
			if l.trips != nil {
				b.ReportMetric(float64(l.trips()-before)/float64(i), "roundtrips/op")
			}
		})
	}
}

// BenchmarkOrdersParallel bounds throughput: 16 goroutines record new
// orders at once, on a pool of 16 connections for PostgreSQL (Redis's
// client pool is larger). "spread": orders of 16 registered promoters on 4
// events (every order also updates the sums of the promoters' groups);
// "one-source": every order is a direct sale of one event, the on-sale
// rush, whose orders all update the same figures.
func BenchmarkOrdersParallel(b *testing.B) {
	for _, l := range benchLedgers(b, 16) {
		for _, mix := range []struct {
			name  string
			order func(i int64) tracklink.Attribution
		}{
			{"spread", func(i int64) tracklink.Attribution {
				return benchOrder(i, int(i%benchPromoters), int(i/benchPromoters))
			}},
			{"one-source", func(i int64) tracklink.Attribution { return benchOrder(i, -1, 0) }},
		} {
			b.Run(l.name+"/"+mix.name, func(b *testing.B) {
				b.ReportAllocs()
				b.SetParallelism(max(1, 16/testingProcs()))
				var seq atomic.Int64
				start := time.Now()
				b.RunParallel(func(pb *testing.PB) {
					for pb.Next() {
						if _, err := l.store.Record(context.Background(), mix.order(seq.Add(1)+1e7*int64(len(mix.name)))); err != nil {
							b.Error(err)
							return
						}
					}
				})
				b.ReportMetric(float64(seq.Load())/time.Since(start).Seconds(), "orders/s")
			})
		}
	}
}

// BenchmarkCountVisits bounds one flush of tracklink.Compose's buffer: a
// batch of 100 distinct (event, day, key) entries, one statement on
// PostgreSQL.
func BenchmarkCountVisits(b *testing.B) {
	batch := make([]tracklink.VisitCount, 100)
	for i := range batch {
		batch[i] = tracklink.VisitCount{Event: benchEvents[i%len(benchEvents)], Day: "2026-06-01",
			Key: fmt.Sprintf("referral|site%02d.example", i%25), N: 3}
		if i%10 == 0 {
			batch[i].Key, batch[i].Promoter = "promoter|ana", "ana"
		}
	}
	for _, l := range benchLedgers(b, 4) {
		b.Run(l.name, func(b *testing.B) {
			b.ReportAllocs()
			var n, before int64
			if l.trips != nil {
				before = l.trips()
			}
			for b.Loop() {
				n++
				if err := l.store.CountVisits(b.Context(), batch); err != nil {
					b.Fatal(err)
				}
			}
			if l.trips != nil {
				b.ReportMetric(float64(l.trips()-before)/float64(n), "roundtrips/op")
			}
		})
	}
}
