package redisstore

import (
	"fmt"

	"github.com/redis/go-redis/v9"
	"testing"
	"time"

	"github.com/tracklink/tracklink"
	"github.com/tracklink/tracklink/internal/redistest"
)

// The benchmarks measure one call against the test Redis (a network round
// trip dominates); allocs/op bounds the adapter's own garbage per call.

var benchAt = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func benchSession(i int) string { return fmt.Sprintf("bench%017d", i) }

// BenchmarkStamp bounds the tracked page view's store call: a new session
// (touch stored, visit counted) and a reload of an existing one (merge
// refused, nothing counted).
func BenchmarkStamp(b *testing.B) {
	touch := tracklink.Touch{
		Channel: tracklink.ChannelSocial, Source: "instagram", ReferrerHost: "l.instagram.com",
		Event: "summer-fest", Path: "/events/summer-fest", At: benchAt, Evidence: "referrer l.instagram.com",
	}
	b.Run("new-session", func(b *testing.B) {
		s := newTestStore(b, Options{})
		ctx := b.Context()
		b.ReportAllocs()
		i := 0
		defer redisCPU(b, s.rdb)()
		for b.Loop() {
			i++
			if _, err := s.Stamp(ctx, tracklink.Stamp{Session: benchSession(i), Touch: touch, TTL: time.Minute}); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("existing-session", func(b *testing.B) {
		s := newTestStore(b, Options{})
		ctx := b.Context()
		st := tracklink.Stamp{Session: benchSession(0), Touch: touch, TTL: time.Minute}
		if _, err := s.Stamp(ctx, st); err != nil {
			b.Fatal(err)
		}
		b.ReportAllocs()
		defer redisCPU(b, s.rdb)()
		for b.Loop() {
			if _, err := s.Stamp(ctx, st); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// redisCPU reports, when the returned func runs after the loop, the
// server's command CPU per operation (redis-µs/op): the whole server's,
// so exact only when nothing else uses it meanwhile.
func redisCPU(b *testing.B, rdb redis.UniversalClient) func() {
	start := redistest.CommandUsec(b.Context(), rdb)
	return func() {
		if end := redistest.CommandUsec(b.Context(), rdb); start >= 0 && end >= start && b.N > 0 {
			b.ReportMetric(float64(end-start)/float64(b.N), "redis-µs/op")
		}
	}
}

// BenchmarkTouches bounds the checkout's read of a session's touches.
func BenchmarkTouches(b *testing.B) {
	s := newTestStore(b, Options{})
	ctx := b.Context()
	touch := tracklink.Touch{Channel: tracklink.ChannelPromoter, Source: "ana", Promoter: "ana", Event: "summer-fest", At: benchAt}
	if _, err := s.Stamp(ctx, tracklink.Stamp{Session: benchSession(0), Touch: touch, TTL: time.Minute}); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := s.Touches(ctx, benchSession(0), "summer-fest"); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRecord bounds the webhook's exactly-once write of a new order.
func BenchmarkRecord(b *testing.B) {
	s := newTestStore(b, Options{})
	ctx := b.Context()
	touch := tracklink.Touch{Channel: tracklink.ChannelPromoter, Source: "ana", Promoter: "ana", Event: "summer-fest", At: benchAt}
	a := tracklink.Attribution{
		Event: "summer-fest", Session: benchSession(0), Currency: "EUR", Tickets: 2, Revenue: 5000,
		Touch: touch, Rule: tracklink.RuleEventTouch, At: benchAt.Add(time.Hour), TouchAge: time.Hour,
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		i++
		a.OrderID = fmt.Sprintf("ord-%d", i)
		if _, err := s.Record(ctx, a); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkEventTraffic bounds the dashboard's traffic table of an event
// with 100 sources, all time and over a 31-day range.
func BenchmarkEventTraffic(b *testing.B) {
	s := newTestStore(b, Options{})
	ctx := b.Context()
	for i := range 100 {
		touch := tracklink.Touch{Channel: tracklink.ChannelReferral, Source: fmt.Sprintf("site%03d.example", i), Event: "summer-fest", At: benchAt}
		if _, err := s.Stamp(ctx, tracklink.Stamp{Session: benchSession(i), Touch: touch, TTL: time.Minute}); err != nil {
			b.Fatal(err)
		}
		a := tracklink.Attribution{
			OrderID: fmt.Sprintf("ord-%d", i), Event: "summer-fest", Currency: "EUR", Tickets: 1, Revenue: 2500,
			Touch: touch, Rule: tracklink.RuleEventTouch, At: benchAt,
		}
		if _, err := s.Record(ctx, a); err != nil {
			b.Fatal(err)
		}
	}
	for _, r := range []struct{ name, from, to string }{
		{"all-time", "", ""},
		{"31-days", "2026-03-01", "2026-03-31"},
	} {
		b.Run(r.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				rows, err := s.EventTraffic(ctx, "summer-fest", r.from, r.to)
				if err != nil || len(rows) != 100 {
					b.Fatalf("%d rows, %v", len(rows), err)
				}
			}
		})
	}
}
