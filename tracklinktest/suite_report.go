package tracklinktest

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/tracklink/tracklink"
)

// seedTraffic stamps and records a small, known history on events "ev" and
// "other" over day0 and day1:
//
//	ev day0: instagram 2 visits, ana 1 visit + ord-1 (2 tickets, 5000 EUR),
//	         direct ord-2 (1 ticket, 1000 EUR, 1 resale)
//	ev day1: ana 1 visit + ord-3 (1 ticket, 20 USD), newsletter 1 visit
//	other day1: ana 1 visit + ord-4 (4 tickets, 8000 EUR)
func seedTraffic(t *testing.T, h *env) {
	t.Helper()
	d1 := base.Add(24 * time.Hour)
	insta := sourceTouch(tracklink.ChannelSocial, "instagram", "ev", base)
	visit(t, h, sessionRef(1), insta)
	visit(t, h, sessionRef(2), insta)
	visit(t, h, sessionRef(3), promoterTouch("ana", "ev", base))
	visit(t, h, sessionRef(4), promoterTouch("ana", "ev", d1))
	visit(t, h, sessionRef(5), campaignTouch("newsletter", "ev", d1))
	visit(t, h, sessionRef(6), promoterTouch("ana", "other", d1))

	record(t, h, order("ord-1", "ev", promoterTouch("ana", "ev", base), 2, 0, 5000, "EUR", base.Add(time.Hour)))
	record(t, h, order("ord-2", "ev", noTouch("ev"), 1, 1, 1000, "EUR", base.Add(2*time.Hour)))
	record(t, h, order("ord-3", "ev", promoterTouch("ana", "ev", d1), 1, 0, 20, "USD", d1.Add(time.Hour)))
	record(t, h, order("ord-4", "other", promoterTouch("ana", "other", d1), 4, 0, 8000, "EUR", d1.Add(time.Hour)))
}

func testEventTraffic(t *testing.T, h *env) {
	seedTraffic(t, h)
	// sorted by visits descending, then key
	wantTraffic(t, h, "ev", "", "",
		src{"promoter|ana", counts(2, 2, 3, 0, "EUR", 5000, "USD", 20)},
		src{"social|instagram", counts(2, 0, 0, 0)},
		src{"campaign|newsletter", counts(1, 0, 0, 0)},
		src{"direct|direct", counts(0, 1, 1, 1, "EUR", 1000)})
	wantTraffic(t, h, "ev", day0, day0,
		src{"social|instagram", counts(2, 0, 0, 0)},
		src{"promoter|ana", counts(1, 1, 2, 0, "EUR", 5000)},
		src{"direct|direct", counts(0, 1, 1, 1, "EUR", 1000)})
	wantTraffic(t, h, "ev", day1, day2,
		src{"campaign|newsletter", counts(1, 0, 0, 0)},
		src{"promoter|ana", counts(1, 1, 1, 0, "USD", 20)})
	wantTraffic(t, h, "ev", day0, day2,
		src{"promoter|ana", counts(2, 2, 3, 0, "EUR", 5000, "USD", 20)},
		src{"social|instagram", counts(2, 0, 0, 0)},
		src{"campaign|newsletter", counts(1, 0, 0, 0)},
		src{"direct|direct", counts(0, 1, 1, 1, "EUR", 1000)})
	wantTraffic(t, h, "other", "", "", src{"promoter|ana", counts(1, 1, 4, 0, "EUR", 8000)})
	wantTraffic(t, h, "nothing-here", "", "")
	wantTraffic(t, h, "ev", "2026-02-01", "2026-02-28")
}

func testEventDays(t *testing.T, h *env) {
	seedTraffic(t, h)
	got, err := h.Ledger.EventDays(t.Context(), "ev", "2026-02-28", day2)
	wantDays(t, "EventDays(ev)", got, err,
		dc("2026-02-28", counts(0, 0, 0, 0)),
		dc(day0, counts(3, 2, 3, 1, "EUR", 6000)),
		dc(day1, counts(2, 1, 1, 0, "USD", 20)),
		dc(day2, counts(0, 0, 0, 0)))
	got, err = h.Ledger.EventDays(t.Context(), "other", day1, day1)
	wantDays(t, "EventDays(other)", got, err, dc(day1, counts(1, 1, 4, 0, "EUR", 8000)))
	// a year of an event with no figures is 366 zero days (2028 is a leap year)
	got, err = h.Ledger.EventDays(t.Context(), "nothing-here", "2028-01-01", "2028-12-31")
	if err != nil || len(got) != 366 || got[0].Day != "2028-01-01" || got[365].Day != "2028-12-31" {
		t.Errorf("EventDays over 2028: %d days, err %v; want 366 days", len(got), err)
	}
	for _, d := range got {
		if !isZero(d.Counts) {
			t.Errorf("EventDays over 2028: %s has %s", d.Day, fmtCounts(d.Counts))
			break
		}
	}
}

func testPromoterReports(t *testing.T, h *env) {
	// ana's visits count on her own figures because she is registered
	savePromoter(t, h, tracklink.Promoter{Code: "ana", Name: "Ana"})
	seedTraffic(t, h)
	ps, err := h.Ledger.PromoterStats(t.Context(), []string{"ana", "nobody", "ANA"})
	if err != nil {
		t.Fatalf("PromoterStats: %v", err)
	}
	if len(ps) != 3 {
		t.Fatalf("PromoterStats returned %d entries, want 3 (one per code asked)", len(ps))
	}
	anaEvents := map[string]tracklink.Counts{
		"ev":    counts(2, 2, 3, 0, "EUR", 5000, "USD", 20),
		"other": counts(1, 1, 4, 0, "EUR", 8000),
	}
	anaTotal := counts(3, 3, 7, 0, "EUR", 13000, "USD", 20)
	wantPromoterStats(t, ps[0], "ana", anaTotal, anaEvents)
	wantPromoterStats(t, ps[1], "nobody", counts(0, 0, 0, 0), nil)
	// codes are case-insensitive
	wantPromoterStats(t, ps[2], "ana", anaTotal, anaEvents)

	got, err := h.Ledger.PromoterDays(t.Context(), "Ana", "2026-02-28", day2)
	wantDays(t, "PromoterDays(ana)", got, err,
		dc("2026-02-28", counts(0, 0, 0, 0)),
		dc(day0, counts(1, 1, 2, 0, "EUR", 5000)),
		dc(day1, counts(2, 2, 5, 0, "EUR", 8000, "USD", 20)),
		dc(day2, counts(0, 0, 0, 0)))
	got, err = h.Ledger.PromoterDays(t.Context(), "nobody", day0, day1)
	wantDays(t, "PromoterDays(nobody)", got, err, dc(day0, counts(0, 0, 0, 0)), dc(day1, counts(0, 0, 0, 0)))
}

func testOrders(t *testing.T, h *env) {
	// recorded out of order; two orders share a time and sort by id
	at := base
	for _, o := range []struct {
		id, event string
		at        time.Time
	}{
		{"ord-c", "ev", at.Add(2 * time.Hour)},
		{"ord-b", "other", at.Add(time.Hour)},
		{"ord-a", "ev", at.Add(2 * time.Hour)},
		{"ord-z", "ev", at},
		{"ord-0", "ev", at.Add(48 * time.Hour)},
	} {
		record(t, h, order(o.id, o.event, campaignTouch("newsletter", o.event, at), 1, 0, 100, "EUR", o.at))
	}
	refund(t, h, "ord-a", at.Add(3*time.Hour))

	as := orders(t, h, "ev")
	if got, want := orderIDs(as), []string{"ord-z", "ord-a", "ord-c", "ord-0"}; !slices.Equal(got, want) {
		t.Errorf("Orders(ev) = %v, want %v", got, want)
	}
	for _, a := range as {
		if a.Refunded != (a.OrderID == "ord-a") {
			t.Errorf("Orders(ev): %s Refunded %v", a.OrderID, a.Refunded)
		}
		if a.Tickets != 1 || a.Revenue != 100 || a.Touch.Key() != "campaign|newsletter" {
			t.Errorf("Orders(ev): %s is %+v", a.OrderID, a)
		}
	}
	if got, want := orderIDs(orders(t, h, "")), []string{"ord-z", "ord-b", "ord-a", "ord-c", "ord-0"}; !slices.Equal(got, want) {
		t.Errorf("Orders(\"\") = %v, want %v", got, want)
	}
	if got := orders(t, h, "nothing-here"); len(got) != 0 {
		t.Errorf("Orders(nothing-here) = %v, want none", orderIDs(got))
	}
	// fn's error stops the walk and comes back
	stop := errors.New("stop")
	var seen int
	err := h.Ledger.Orders(t.Context(), "", func(tracklink.Attribution) error {
		seen++
		if seen == 2 {
			return stop
		}
		return nil
	})
	if !errors.Is(err, stop) || seen != 2 {
		t.Errorf("Orders with a failing fn: err %v after %d calls; want stop after 2", err, seen)
	}
}

func testBadRanges(t *testing.T, h *env) {
	ctx := t.Context()
	for _, r := range []struct{ why, from, to string }{
		{"not a date", "2026-13-01", "2026-12-01"},
		{"not a date", "yesterday", day0},
		{"from after to", day1, day0},
		{"over 400 days", "2025-01-01", "2026-12-31"},
	} {
		if _, err := h.Ledger.EventDays(ctx, "ev", r.from, r.to); err == nil {
			t.Errorf("EventDays(%s..%s) (%s): no error", r.from, r.to, r.why)
		}
		if _, err := h.Ledger.PromoterDays(ctx, "ana", r.from, r.to); err == nil {
			t.Errorf("PromoterDays(%s..%s) (%s): no error", r.from, r.to, r.why)
		}
	}
	for _, r := range []struct{ why, from, to string }{
		{"not a date", "2026-13-01", "2026-12-01"},
		{"from after to", day1, day0},
	} {
		if _, err := h.Ledger.EventTraffic(ctx, "ev", r.from, r.to); err == nil {
			t.Errorf("EventTraffic(%s..%s) (%s): no error", r.from, r.to, r.why)
		}
	}
}
