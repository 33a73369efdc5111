package redisstore

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/tracklink/tracklink"
)

// Dashboard scale for the ranking benchmarks: 10,000 promoters in 10
// groups, 1,000 events with one campaign link each, 100,000 orders.
const (
	rankPromoters = 10_000
	rankGroups    = 10
	rankEvents    = 1_000
	rankOrders    = 100_000
)

func rankPromoter(i int) string { return fmt.Sprintf("p%05d", i%rankPromoters) }
func rankEvent(i int) string    { return fmt.Sprintf("ev-%04d", i%rankEvents) }

// populateRanking writes the registry, the links and the orders through
// the public API with 64 concurrent writers.
func populateRanking(b *testing.B, s *Store) {
	ctx := context.Background()
	parallel := func(n int, f func(i int) error) {
		b.Helper()
		var wg sync.WaitGroup
		var once sync.Once
		var first error
		for w := range 64 {
			wg.Go(func() {
				for i := w; i < n; i += 64 {
					if err := f(i); err != nil {
						once.Do(func() { first = err })
						return
					}
				}
			})
		}
		wg.Wait()
		if first != nil {
			b.Fatal(first)
		}
	}
	parallel(rankPromoters, func(i int) error {
		return s.SavePromoter(ctx, tracklink.Promoter{Code: rankPromoter(i), Name: "Promoter " + strconv.Itoa(i),
			Groups: []string{"g" + strconv.Itoa(i%rankGroups)}, Created: benchAt})
	})
	parallel(rankEvents, func(i int) error {
		return s.SaveLink(ctx, tracklink.Link{ID: "l" + strconv.Itoa(i), Event: rankEvent(i), Name: "News",
			UTM: tracklink.UTM{Source: "newsletter"}, Created: benchAt})
	})
	parallel(rankOrders, func(i int) error {
		p := rankPromoter(i * 7) // spread sales unevenly across promoters
		at := benchAt.Add(time.Duration(i) * time.Second)
		_, err := s.Record(ctx, tracklink.Attribution{OrderID: "o" + strconv.Itoa(i), Event: rankEvent(i), Currency: "EUR",
			Tickets: 1 + i%4, Revenue: int64(1+i%4) * 2500, At: at, Rule: tracklink.RuleEventTouch,
			Touch: tracklink.Touch{Channel: tracklink.ChannelPromoter, Source: p, Promoter: p, Event: rankEvent(i), At: at}})
		return err
	})
}

// BenchmarkRanking bounds the dashboard's reads at scale. The summaries,
// a ranking page, recent orders and one event's links read maintained
// aggregates and indexes, so their cost follows what they return; the
// "peer" sub-benchmarks read the way the dashboard did before (every
// member's figures; every link) for the ratio.
func BenchmarkRanking(b *testing.B) {
	ts := newTestStore(b, Options{})
	ts.rdb.Options().PoolSize = 128
	s := ts.Store
	start := time.Now()
	populateRanking(b, s)
	b.Logf("populated %d promoters, %d links, %d orders in %s", rankPromoters, rankEvents, rankOrders, time.Since(start).Round(time.Second))
	ctx := context.Background()
	// the first read builds the aggregates' ready marker; not measured
	if _, err := s.PromoterSummary(ctx, ""); err != nil {
		b.Fatal(err)
	}

	b.Run("summary-all", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			sum, err := s.PromoterSummary(ctx, "")
			if err != nil || sum.Promoters != rankPromoters || sum.Totals.Orders != rankOrders {
				b.Fatalf("%+v, %v", sum, err)
			}
		}
	})
	b.Run("summary-group", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			sum, err := s.PromoterSummary(ctx, "g3")
			if err != nil || sum.Promoters != rankPromoters/rankGroups {
				b.Fatalf("%+v, %v", sum, err)
			}
		}
	})
	b.Run("ranking-page-50", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			rows, err := s.PromoterRanking(ctx, "", 0, 50)
			if err != nil || len(rows) != 50 || rows[0].Stats.Totals.Tickets < rows[49].Stats.Totals.Tickets {
				b.Fatal(len(rows), err)
			}
		}
	})
	b.Run("ranking-group-page-50", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if rows, err := s.PromoterRanking(ctx, "g3", 0, 50); err != nil || len(rows) != 50 {
				b.Fatal(len(rows), err)
			}
		}
	})
	b.Run("recent-orders-50", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if as, err := s.RecentOrders(ctx, "", 50); err != nil || len(as) != 50 {
				b.Fatal(len(as), err)
			}
		}
	})
	b.Run("links-event", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if ls, err := s.Links(ctx, "ev-0042"); err != nil || len(ls) != 1 {
				b.Fatal(len(ls), err)
			}
		}
	})
	// peers: what the same answers cost without the aggregates
	b.Run("peer-links-all", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if ls, err := s.Links(ctx, ""); err != nil || len(ls) != rankEvents {
				b.Fatal(len(ls), err)
			}
		}
	})
	codes := make([]string, 0, rankPromoters/rankGroups)
	for i := 3; i < rankPromoters; i += rankGroups {
		codes = append(codes, rankPromoter(i))
	}
	b.Run("peer-stats-group", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if st, err := s.PromoterStats(ctx, codes); err != nil || len(st) != len(codes) {
				b.Fatal(len(st), err)
			}
		}
	})
}
