package memstore

import (
	"context"
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/tracklink/tracklink"
)

// BenchmarkRanking bounds the dashboard's promoter reads at scale: 10,000
// promoters in 10 groups and 100,000 orders. The summary walks the
// registry without allocating per promoter; the ranking sorts the group.
func BenchmarkRanking(b *testing.B) {
	s := New()
	ctx := context.Background()
	at := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	code := func(i int) string { return fmt.Sprintf("p%05d", i%10_000) }
	for i := range 10_000 {
		if err := s.SavePromoter(ctx, tracklink.Promoter{Code: code(i), Groups: []string{"g" + strconv.Itoa(i%10)}}); err != nil {
			b.Fatal(err)
		}
	}
	for i := range 100_000 {
		p, ev := code(i*7), fmt.Sprintf("ev-%04d", i%1000)
		t := at.Add(time.Duration(i) * time.Second)
		if _, err := s.Record(ctx, tracklink.Attribution{OrderID: "o" + strconv.Itoa(i), Event: ev, Currency: "EUR",
			Tickets: 1 + i%4, Revenue: 2500, At: t, Rule: tracklink.RuleEventTouch,
			Touch: tracklink.Touch{Channel: tracklink.ChannelPromoter, Source: p, Promoter: p, Event: ev, At: t}}); err != nil {
			b.Fatal(err)
		}
	}
	for _, g := range []string{"", "g3"} {
		b.Run("summary-"+cmpOr(g, "all"), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := s.PromoterSummary(ctx, g); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run("ranking-page-50-"+cmpOr(g, "all"), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if rows, err := s.PromoterRanking(ctx, g, 0, 50); err != nil || len(rows) != 50 {
					b.Fatal(len(rows), err)
				}
			}
		})
	}
	b.Run("recent-orders-50", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if as, err := s.RecentOrders(ctx, "ev-0042", 50); err != nil || len(as) != 50 {
				b.Fatal(len(as), err)
			}
		}
	})
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}
