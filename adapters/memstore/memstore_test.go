package memstore_test

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/tracklink/tracklink"
	"github.com/tracklink/tracklink/adapters/memstore"
	"github.com/tracklink/tracklink/tracklinktest"
)

func newHarness(t *testing.T) tracklinktest.Harness {
	clock := tracklinktest.NewClock(time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC))
	s := memstore.NewWithOptions(memstore.Options{Now: clock.Now})
	return tracklinktest.Harness{Store: s, Advance: clock.Advance, Now: clock.Now}
}

func TestStore(t *testing.T) {
	tracklinktest.TestStore(t, newHarness)
}

// TestRoles runs each role's suite on its own: a memstore serves as the
// session side or the durable side of a tracklink.Compose.
func TestRoles(t *testing.T) {
	ledger := func(t *testing.T) tracklinktest.LedgerHarness {
		h := newHarness(t)
		return tracklinktest.LedgerHarness{Store: h.Store.(*memstore.Store), Now: h.Now, Advance: h.Advance}
	}
	t.Run("Sessions", func(t *testing.T) {
		tracklinktest.TestSessionStore(t, func(t *testing.T) tracklinktest.SessionHarness {
			h := newHarness(t)
			return tracklinktest.SessionHarness{Store: h.Store, Advance: h.Advance, Now: h.Now}
		})
	})
	t.Run("Ledger", func(t *testing.T) { tracklinktest.TestLedger(t, ledger) })
	t.Run("Reports", func(t *testing.T) { tracklinktest.TestReports(t, ledger) })
	t.Run("Registry", func(t *testing.T) { tracklinktest.TestRegistry(t, ledger) })
	t.Run("Feed", func(t *testing.T) { tracklinktest.TestFeed(t, ledger) })
}

var day = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func promoterTouch(code string) tracklink.Touch {
	return tracklink.Touch{Channel: tracklink.ChannelPromoter, Source: code, Promoter: code, Event: "ev", At: day, Evidence: "param promoter=" + code}
}

// TestCopies checks that nothing a read returns aliases the store's state.
func TestCopies(t *testing.T) {
	ctx := t.Context()
	s := memstore.New()
	if err := s.SavePromoter(ctx, tracklink.Promoter{Code: "ana", Name: "Ana", Groups: []string{"crew"}, Events: []string{"ev"}, PromoCodes: []string{"ana10"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Record(ctx, tracklink.Attribution{OrderID: "o1", Event: "ev", Currency: "EUR", Tickets: 1, Revenue: 100, Touch: promoterTouch("ana"), Rule: tracklink.RuleEventTouch, At: day}); err != nil {
		t.Fatal(err)
	}

	p, _, _ := s.Promoter(ctx, "ana")
	p.Groups[0], p.Events[0], p.PromoCodes[0] = "x", "x", "x"
	ps, _ := s.Promoters(ctx)
	ps[0].Groups[0] = "x"
	if p, _, _ := s.Promoter(ctx, "ana"); p.Groups[0] != "crew" || p.Events[0] != "ev" || p.PromoCodes[0] != "ana10" {
		t.Errorf("Promoter aliased: %+v", p)
	}

	rows, _ := s.EventTraffic(ctx, "ev", "", "")
	rows[0].Revenue["EUR"] = 999
	days, _ := s.EventDays(ctx, "ev", "2026-03-01", "2026-03-01")
	days[0].Revenue["EUR"] = 999
	st, _ := s.PromoterStats(ctx, []string{"ana"})
	st[0].Totals.Revenue["EUR"] = 999
	st[0].Events["ev"].Revenue["EUR"] = 999
	pd, _ := s.PromoterDays(ctx, "ana", "2026-03-01", "2026-03-01")
	pd[0].Revenue["EUR"] = 999

	rows, _ = s.EventTraffic(ctx, "ev", "", "")
	days, _ = s.EventDays(ctx, "ev", "2026-03-01", "2026-03-01")
	st, _ = s.PromoterStats(ctx, []string{"ana"})
	pd, _ = s.PromoterDays(ctx, "ana", "2026-03-01", "2026-03-01")
	for what, got := range map[string]int64{
		"EventTraffic": rows[0].Revenue["EUR"], "EventDays": days[0].Revenue["EUR"],
		"PromoterStats.Totals": st[0].Totals.Revenue["EUR"], "PromoterStats.Events": st[0].Events["ev"].Revenue["EUR"],
		"PromoterDays": pd[0].Revenue["EUR"],
	} {
		if got != 100 {
			t.Errorf("%s aliased the store's revenue: %d, want 100", what, got)
		}
	}
}

// TestOrdersReentrant checks that fn may call the store during the walk.
func TestOrdersReentrant(t *testing.T) {
	ctx := t.Context()
	s := memstore.New()
	for i := range 600 {
		if _, err := s.Record(ctx, tracklink.Attribution{OrderID: fmt.Sprintf("o%04d", i), Event: "ev", Currency: "EUR", Tickets: 1, Rule: tracklink.RuleNoTouch, At: day.Add(time.Duration(i) * time.Second)}); err != nil {
			t.Fatal(err)
		}
	}
	n := 0
	err := s.Orders(ctx, "ev", func(a tracklink.Attribution) error {
		n++
		_, _, err := s.Refund(ctx, a.OrderID, day)
		return err
	})
	if err != nil || n != 600 {
		t.Fatalf("Orders: %d orders, err %v; want 600", n, err)
	}
	rows, _ := s.EventTraffic(ctx, "ev", "", "")
	if len(rows) != 0 {
		t.Errorf("EventTraffic after refunding everything = %+v, want none", rows)
	}
}

// TestNoGoroutineLeak checks that subscriptions leave no goroutine behind
// once their contexts end, and that a store starts none.
func TestNoGoroutineLeak(t *testing.T) {
	before := runtime.NumGoroutine()
	s := memstore.New()
	var chans []<-chan tracklink.Change
	ctx, cancel := context.WithCancel(t.Context())
	for range 100 {
		ch, err := s.Subscribe(ctx)
		if err != nil {
			t.Fatal(err)
		}
		chans = append(chans, ch)
	}
	if n := runtime.NumGoroutine(); n > before {
		t.Errorf("%d goroutines with 100 subscribers, %d before", n, before)
	}
	cancel()
	for _, ch := range chans {
		for range ch {
		}
	}
	// a subscription whose context already ended is closed at once
	done, stop := context.WithCancel(t.Context())
	stop()
	ch, err := s.Subscribe(done)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := <-ch; ok {
		t.Error("Subscribe with an ended context: channel open")
	}
	// The subscriptions' goroutines exit soon after their contexts end;
	// poll up to a generous deadline that only a leak reaches.
	deadline := time.Now().Add(30 * time.Second)
	for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > before {
		t.Errorf("%d goroutines after the subscriptions ended, %d before", n, before)
	}
}

// TestInvalid checks that bad arguments are refused with ErrInvalid.
func TestInvalid(t *testing.T) {
	ctx := t.Context()
	s := memstore.New()
	for name, err := range map[string]error{
		"Stamp bad session": func() error {
			_, err := s.Stamp(ctx, tracklink.Stamp{Session: "short", TTL: time.Hour})
			return err
		}(),
		"Stamp zero TTL": func() error {
			_, err := s.Stamp(ctx, tracklink.Stamp{Session: "abcdefghijklmnopqrstuv"})
			return err
		}(),
		"Stamp bad event": func() error {
			_, err := s.Stamp(ctx, tracklink.Stamp{Session: "abcdefghijklmnopqrstuv", TTL: time.Hour, Touch: tracklink.Touch{Event: "Bad Event"}})
			return err
		}(),
		"Record empty id":        func() error { _, err := s.Record(ctx, tracklink.Attribution{}); return err }(),
		"SavePromoter bad code":  s.SavePromoter(ctx, tracklink.Promoter{Code: "a b"}),
		"SavePromoter bad group": s.SavePromoter(ctx, tracklink.Promoter{Code: "ana", Groups: []string{" "}}),
		"SaveGroup empty":        s.SaveGroup(ctx, ""),
		"EventDays bad date": func() error {
			_, err := s.EventDays(ctx, "ev", "2026-02-30", "2026-03-01")
			return err
		}(),
		"EventTraffic one bound": func() error {
			_, err := s.EventTraffic(ctx, "ev", "2026-03-01", "")
			return err
		}(),
		"PromoterStats bad code": func() error {
			_, err := s.PromoterStats(ctx, []string{"~deleted"})
			return err
		}(),
	} {
		if !errors.Is(err, memstore.ErrInvalid) {
			t.Errorf("%s: err %v, want ErrInvalid", name, err)
		}
	}
	_ = s.SavePromoter(ctx, tracklink.Promoter{Code: "ana", PromoCodes: []string{"x1"}})
	if err := s.SavePromoter(ctx, tracklink.Promoter{Code: "bob", PromoCodes: []string{"X1"}}); !errors.Is(err, memstore.ErrConflict) {
		t.Errorf("promo code conflict: err %v, want ErrConflict", err)
	}
	// a cancelled context is honoured
	done, stop := context.WithCancel(ctx)
	stop()
	if _, err := s.Stamp(done, tracklink.Stamp{Session: "abcdefghijklmnopqrstuv", TTL: time.Hour}); !errors.Is(err, context.Canceled) {
		t.Errorf("Stamp with a cancelled context: err %v", err)
	}
}
