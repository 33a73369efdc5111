package memstore_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/tracklink/tracklink"
	"github.com/tracklink/tracklink/adapters/memstore"
)

func sessionRefs(n int) []string {
	refs := make([]string, n)
	for i := range refs {
		refs[i] = fmt.Sprintf("b%021d", i)
	}
	return refs
}

// BenchmarkStamp bounds the store's share of a tracked page view: a first
// landing (new session, a visit counted) and a reload (existing session,
// nothing counted).
func BenchmarkStamp(b *testing.B) {
	touch := tracklink.Touch{Channel: tracklink.ChannelSocial, Source: "instagram", Event: "summer-fest", At: day, Evidence: "referrer l.instagram.com"}
	b.Run("new-session", func(b *testing.B) {
		s := memstore.New()
		refs := sessionRefs(b.N)
		ctx := b.Context()
		b.ReportAllocs()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			if _, err := s.Stamp(ctx, tracklink.Stamp{Session: refs[i], Touch: touch, TTL: time.Hour}); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("existing-session", func(b *testing.B) {
		s := memstore.New()
		refs := sessionRefs(1000)
		ctx := b.Context()
		for _, r := range refs {
			if _, err := s.Stamp(ctx, tracklink.Stamp{Session: r, Touch: touch, TTL: time.Hour}); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportAllocs()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			if _, err := s.Stamp(ctx, tracklink.Stamp{Session: refs[i%len(refs)], Touch: touch, TTL: time.Hour}); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkRecord bounds the store's share of a paid-order webhook: a new
// order and a duplicate delivery.
func BenchmarkRecord(b *testing.B) {
	touch := promoterTouch("ana")
	b.Run("new", func(b *testing.B) {
		s := memstore.New()
		ids := make([]string, b.N)
		for i := range ids {
			ids[i] = fmt.Sprintf("ord-%d", i)
		}
		ctx := b.Context()
		b.ReportAllocs()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			a := tracklink.Attribution{OrderID: ids[i], Event: "summer-fest", Currency: "EUR", Tickets: 2, Revenue: 5000, Touch: touch, Rule: tracklink.RuleEventTouch, At: day}
			if _, err := s.Record(ctx, a); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("duplicate", func(b *testing.B) {
		s := memstore.New()
		ctx := b.Context()
		a := tracklink.Attribution{OrderID: "ord-1", Event: "summer-fest", Currency: "EUR", Tickets: 2, Revenue: 5000, Touch: touch, Rule: tracklink.RuleEventTouch, At: day}
		if _, err := s.Record(ctx, a); err != nil {
			b.Fatal(err)
		}
		b.ReportAllocs()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			if _, err := s.Record(ctx, a); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkEventTraffic bounds the event-traffic report of an event with
// 100 source keys over 30 days: all time (one map) and a 30-day range
// (summing day buckets).
func BenchmarkEventTraffic(b *testing.B) {
	s := memstore.New()
	ctx := b.Context()
	for i := range 100 {
		for d := range 30 {
			touch := tracklink.Touch{Channel: tracklink.ChannelReferral, Source: fmt.Sprintf("site%d.example", i), Event: "summer-fest", At: day.AddDate(0, 0, d)}
			if _, err := s.Stamp(ctx, tracklink.Stamp{Session: fmt.Sprintf("e%021d", i*100+d), Touch: touch, TTL: time.Hour}); err != nil {
				b.Fatal(err)
			}
		}
	}
	for _, r := range []struct{ name, from, to string }{
		{"all-time", "", ""},
		{"30-days", "2026-03-01", "2026-03-30"},
	} {
		b.Run(r.name, func(b *testing.B) {
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				rows, err := s.EventTraffic(ctx, "summer-fest", r.from, r.to)
				if err != nil || len(rows) != 100 {
					b.Fatalf("%d rows, %v", len(rows), err)
				}
			}
		})
	}
}

// BenchmarkRecordHistory shows a new order's cost beside the orders
// already held, arriving in time order and out of it (webhooks retried
// hours later): it must not grow with the history in either case.
func BenchmarkRecordHistory(b *testing.B) {
	touch := promoterTouch("ana")
	for _, held := range []int{1_000, 100_000} {
		for _, order := range []string{"in-order", "out-of-order"} {
			b.Run(fmt.Sprintf("%s/held=%d", order, held), func(b *testing.B) {
				s := memstore.New()
				ctx := b.Context()
				at := func(i int) time.Time {
					if order == "in-order" {
						return day.Add(time.Duration(i) * time.Millisecond)
					}
					// a scattered time within the same day
					return day.Add(time.Duration(i*7919%86_400_000) * time.Millisecond)
				}
				rec := func(i int) {
					a := tracklink.Attribution{OrderID: fmt.Sprintf("ord-%d", i), Event: "summer-fest", Currency: "EUR", Tickets: 1, Revenue: 2500, Touch: touch, Rule: tracklink.RuleEventTouch, At: at(i)}
					if _, err := s.Record(ctx, a); err != nil {
						b.Fatal(err)
					}
				}
				for i := 0; i < held; i++ {
					rec(i)
				}
				b.ReportAllocs()
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					rec(held + i)
				}
			})
		}
	}
}
