package report_test

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/tracklink/tracklink"
	"github.com/tracklink/tracklink/adapters/memstore"
	"github.com/tracklink/tracklink/adapters/redisstore"
	"github.com/tracklink/tracklink/internal/redisstoretest"
	"github.com/tracklink/tracklink/internal/redistest"
	"github.com/tracklink/tracklink/report"
)

// The dashboard at scale: 10,000 promoters in 10 groups, 1,000 events,
// 1,000,000 visits (TRACKLINK_BENCH_VISITS overrides) and 100,000 orders,
// all written through the public Store API over 30 days. Each query reads
// aggregates only, so its cost follows what it returns (promoters listed,
// days shown), not the history behind it.
const (
	benchPromoters = 10_000
	benchEvents    = 1_000
	benchOrders    = 100_000
	benchDays      = 30
)

var benchDay0 = time.Date(2026, 10, 1, 12, 0, 0, 0, time.UTC)

func benchVisits() int {
	if n, err := strconv.Atoi(os.Getenv("TRACKLINK_BENCH_VISITS")); err == nil && n > 0 {
		return n
	}
	return 1_000_000
}

func evName(i int) string { return fmt.Sprintf("ev-%04d", i%benchEvents) }
func prName(i int) string { return fmt.Sprintf("p%05d", i%benchPromoters) }

// populate fills s with concurrent writers.
func populate(b *testing.B, s fullStore) {
	ctx := context.Background()
	parallel := func(n int, f func(i int) error) {
		var wg sync.WaitGroup
		errs := make(chan error, 1)
		const workers = 64
		for w := 0; w < workers; w++ {
			wg.Go(func() {
				for i := w; i < n; i += workers {
					if err := f(i); err != nil {
						select {
						case errs <- err:
						default:
						}
						return
					}
				}
			})
		}
		wg.Wait()
		select {
		case err := <-errs:
			b.Fatal(err)
		default:
		}
	}
	start := time.Now()
	parallel(benchPromoters, func(i int) error {
		return s.SavePromoter(ctx, tracklink.Promoter{Code: prName(i), Name: "Promoter " + strconv.Itoa(i),
			Groups: []string{"g" + strconv.Itoa(i%10)}, Events: []string{evName(i), evName(i + 1), evName(i + 2)}, Created: benchDay0})
	})
	parallel(benchEvents, func(i int) error {
		return s.SaveLink(ctx, tracklink.Link{ID: "l" + strconv.Itoa(i), Event: evName(i), Name: "News", UTM: tracklink.UTM{Source: "newsletter"}, Created: benchDay0})
	})
	visits := benchVisits()
	parallel(visits, func(i int) error {
		// 100 landings per session, each on another (event, day): every one counts.
		p := prName(i / 100)
		t := tracklink.Touch{Channel: tracklink.ChannelPromoter, Source: p, Promoter: p, Event: evName(i),
			At: benchDay0.AddDate(0, 0, i%benchDays), Evidence: "param promoter=" + p}
		if i%3 == 0 {
			t = tracklink.Touch{Channel: tracklink.ChannelSocial, Source: "instagram", Event: evName(i), At: t.At, Evidence: "referrer l.instagram.com"}
		}
		_, err := s.Stamp(ctx, tracklink.Stamp{Session: fmt.Sprintf("bench%017d", i/100), Touch: t, TTL: time.Hour})
		return err
	})
	parallel(benchOrders, func(i int) error {
		p := prName(i)
		at := benchDay0.AddDate(0, 0, i%benchDays)
		_, err := s.Record(ctx, tracklink.Attribution{OrderID: "o" + strconv.Itoa(i), Event: evName(i), Currency: "EUR",
			Tickets: 1 + i%4, Revenue: int64(1+i%4) * 2500, At: at, Rule: tracklink.RuleEventTouch,
			Touch: tracklink.Touch{Channel: tracklink.ChannelPromoter, Source: p, Promoter: p, Event: evName(i), At: at.Add(-time.Hour), Evidence: "param promoter=" + p}})
		return err
	})
	b.Logf("populated %d promoters, %d events, %d visits, %d orders in %s", benchPromoters, benchEvents, visits, benchOrders, time.Since(start).Round(time.Second))
}

// BenchmarkDashboard runs each dashboard query on memstore and Redis.
// Targets: promoters summary and promoter detail under 10 ms on Redis.
func BenchmarkDashboard(b *testing.B) {
	stores := []struct {
		name string
		new  func(b *testing.B) fullStore
	}{
		{"memstore", func(*testing.B) fullStore { return memstore.New() }},
		{"redis", func(b *testing.B) fullStore {
			rdb, _ := redistest.Client(b)
			// Populating sends 64 writers at once.
			rdb.Options().PoolSize = 128
			return redisstoretest.New(rdb, redisstore.Options{Prefix: redistest.Prefix(b, rdb)})
		}},
	}
	for _, st := range stores {
		b.Run(st.name, func(b *testing.B) {
			s := st.new(b)
			populate(b, s)
			rp, err := report.New(report.Config{Store: s, BaseURL: "https://tickets.example", Now: func() time.Time { return benchDay0.AddDate(0, 0, benchDays-1) }})
			if err != nil {
				b.Fatal(err)
			}
			ctx := context.Background()
			// The promoters page: the summary cards and the first 50 rows.
			b.Run("promoters-summary-all", func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					rows, sum, err := rp.Promoters(ctx, report.Query{})
					if err != nil || len(rows) != 50 || sum.Promoters != benchPromoters || sum.Totals.Orders != benchOrders {
						b.Fatalf("%d rows, %+v, %v", len(rows), sum, err)
					}
				}
			})
			b.Run("promoters-summary-group", func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					if rows, sum, err := rp.Promoters(ctx, report.Query{Group: "g3"}); err != nil || len(rows) != 50 || sum.Promoters != benchPromoters/10 {
						b.Fatal(len(rows), sum, err)
					}
				}
			})
			b.Run("promoters-search", func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					if rows, _, err := rp.Promoters(ctx, report.Query{Search: "p0123"}); err != nil || len(rows) != 10 {
						b.Fatal(len(rows), err)
					}
				}
			})
			b.Run("promoter-detail-30d", func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					if d, err := rp.PromoterDetail(ctx, "p00042", "", ""); err != nil || len(d.Series) != 30 || d.Counts.Orders != benchOrders/benchPromoters {
						b.Fatal(d.Counts, err)
					}
				}
			})
			b.Run("event-traffic-30d", func(b *testing.B) {
				b.ReportAllocs()
				from, to := tracklink.Day(benchDay0), tracklink.Day(benchDay0.AddDate(0, 0, benchDays-1))
				for b.Loop() {
					if tr, err := rp.EventTraffic(ctx, "ev-0042", from, to); err != nil || tr.Total.Visits == 0 {
						b.Fatal(err)
					}
				}
			})
			b.Run("campaign-links-event", func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					if rows, err := rp.CampaignLinks(ctx, "ev-0042"); err != nil || len(rows) != 1 {
						b.Fatal(err)
					}
				}
			})
		})
	}
}

var _ redis.UniversalClient = (*redis.Client)(nil)
