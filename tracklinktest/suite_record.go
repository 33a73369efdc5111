package tracklinktest

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tracklink/tracklink"
)

func testRecordOnce(t *testing.T, h *env) {
	a := order("ord-1", "ev", promoterTouch("ana", "ev", base.Add(-time.Hour)), 2, 1, 5000, "EUR", base)
	r := record(t, h, a)
	if !r.Applied || !attributionEqual(r.Attribution, a) {
		t.Errorf("first Record: Applied %v, Attribution %+v; want true, %+v", r.Applied, r.Attribution, a)
	}
	wantPending(t, "first Record", r.Pending, tracklink.HookAttributed)

	// a second delivery carrying other figures changes nothing
	dup := a
	dup.Tickets, dup.Revenue, dup.Touch = 9, 99999, campaignTouch("newsletter", "ev", base)
	r = record(t, h, dup)
	if r.Applied || !attributionEqual(r.Attribution, a) {
		t.Errorf("duplicate Record: Applied %v, Attribution %+v; want false, the first one", r.Applied, r.Attribution)
	}
	// the hook has not been acknowledged yet: it is still owed
	wantPending(t, "duplicate Record", r.Pending, tracklink.HookAttributed)

	got, ok, err := h.Ledger.Attribution(t.Context(), "ord-1")
	if err != nil || !ok || !attributionEqual(got, a) {
		t.Errorf("Attribution(ord-1) = %+v, %v, %v; want the first one", got, ok, err)
	}
	if _, ok, err := h.Ledger.Attribution(t.Context(), "ord-missing"); ok || err != nil {
		t.Errorf("Attribution(ord-missing): ok %v, err %v; want false, nil", ok, err)
	}
	wantTraffic(t, h, "ev", "", "", src{"promoter|ana", counts(0, 1, 2, 1, "EUR", 5000)})
	wantPromoterStats(t, promoterStats(t, h, "ana"), "ana", counts(0, 1, 2, 1, "EUR", 5000),
		map[string]tracklink.Counts{"ev": counts(0, 1, 2, 1, "EUR", 5000)})
}

func testRecordUnattributed(t *testing.T, h *env) {
	a := order("ord-1", "ev", noTouch("ev"), 3, 0, 4500, "USD", base)
	r := record(t, h, a)
	if !r.Applied {
		t.Errorf("Record: Applied false")
	}
	wantPending(t, "Record (no touch)", r.Pending, tracklink.HookUnattributed)
	wantTraffic(t, h, "ev", "", "", src{"direct|direct", counts(0, 1, 3, 0, "USD", 4500)})
}

// testRecordOverruled: what a promo code overruled is stored with the
// attribution and read back by every query, refunded or not.
func testRecordOverruled(t *testing.T, h *env) {
	ctx := t.Context()
	a := order("ord-1", "ev", promoterTouch("ana", "ev", time.Time{}), 2, 0, 5000, "EUR", base)
	a.Rule, a.Touch.Evidence = tracklink.RulePromoCode, "promo code ANA10"
	over := sourceTouch(tracklink.ChannelSocial, "instagram", "ev", base.Add(-time.Hour))
	a.Overruled = tracklink.Overruled{Rule: tracklink.RuleEventTouch, Touch: over}
	want := "promo code ANA10 of promoter ana (overruled event touch: " + over.Evidence + ")"
	check := func(what string, got tracklink.Attribution) {
		t.Helper()
		if !touchEqual(got.Overruled.Touch, a.Overruled.Touch) || got.Overruled.Rule != a.Overruled.Rule || got.Evidence() != want {
			t.Errorf("%s: Overruled %+v, evidence %q; want %+v, %q", what, got.Overruled, got.Evidence(), a.Overruled, want)
		}
	}
	check("Record", record(t, h, a).Attribution)
	got, ok, err := h.Ledger.Attribution(ctx, "ord-1")
	if err != nil || !ok {
		t.Fatalf("Attribution(ord-1): %v %v", ok, err)
	}
	check("Attribution", got)
	for _, o := range orders(t, h, "ev") {
		check("Orders", o)
	}
	recent, err := h.Ledger.RecentOrders(ctx, "", 10)
	if err != nil || len(recent) != 1 {
		t.Fatalf("RecentOrders: %v %v", recent, err)
	}
	check("RecentOrders", recent[0])
	r, ok := refund(t, h, "ord-1", base.Add(time.Hour))
	if !ok {
		t.Fatal("Refund: order not found")
	}
	check("Refund", r.Attribution)
	got, _, _ = h.Ledger.Attribution(ctx, "ord-1")
	check("Attribution after the refund", got)

	// an attribution that overruled nothing reads back with a zero Overruled
	b := order("ord-2", "ev", promoterTouch("ana", "ev", base), 1, 0, 2500, "EUR", base)
	record(t, h, b)
	if got, _, _ := h.Ledger.Attribution(ctx, "ord-2"); got.Overruled != (tracklink.Overruled{}) {
		t.Errorf("Attribution(ord-2).Overruled = %+v, want zero", got.Overruled)
	}
}

func testRefund(t *testing.T, h *env) {
	ctx := t.Context()
	// a visit and two orders on the (registered) promoter; one of them is
	// refunded
	savePromoter(t, h, tracklink.Promoter{Code: "ana", Name: "Ana"})
	visit(t, h, sessionRef(1), promoterTouch("ana", "ev", base))
	a := order("ord-1", "ev", promoterTouch("ana", "ev", base), 2, 1, 5000, "EUR", base)
	b := order("ord-2", "ev", promoterTouch("ana", "ev", base), 1, 0, 2500, "EUR", base.Add(24*time.Hour))
	record(t, h, a)
	record(t, h, b)
	ack(t, h, "ord-1", tracklink.HookAttributed)

	// refunded a day later: the figures leave the order's own day
	refundAt := base.Add(48 * time.Hour)
	r, ok := refund(t, h, "ord-1", refundAt)
	if !ok || !r.Applied {
		t.Errorf("Refund: ok %v Applied %v; want true, true", ok, r.Applied)
	}
	if !r.Attribution.Refunded || !r.Attribution.RefundedAt.Equal(refundAt) || r.Attribution.Tickets != 2 {
		t.Errorf("Refund: Attribution %+v; want Refunded at %v with its tickets", r.Attribution, refundAt)
	}
	wantPending(t, "Refund", r.Pending, tracklink.HookRefunded)

	wantTraffic(t, h, "ev", "", "", src{"promoter|ana", counts(1, 1, 1, 0, "EUR", 2500)})
	days, err := h.Ledger.EventDays(ctx, "ev", day0, day2)
	wantDays(t, "EventDays after refund", days, err,
		dc(day0, counts(1, 0, 0, 0)), dc(day1, counts(0, 1, 1, 0, "EUR", 2500)), dc(day2, counts(0, 0, 0, 0)))
	wantPromoterStats(t, promoterStats(t, h, "ana"), "ana", counts(1, 1, 1, 0, "EUR", 2500),
		map[string]tracklink.Counts{"ev": counts(1, 1, 1, 0, "EUR", 2500)})
	pd, err := h.Ledger.PromoterDays(ctx, "ana", day0, day1)
	wantDays(t, "PromoterDays after refund", pd, err, dc(day0, counts(1, 0, 0, 0)), dc(day1, counts(0, 1, 1, 0, "EUR", 2500)))

	// a second refund changes nothing and still owes the unacknowledged hook
	r, ok = refund(t, h, "ord-1", refundAt.Add(time.Hour))
	if !ok || r.Applied || !r.Attribution.RefundedAt.Equal(refundAt) {
		t.Errorf("second Refund: ok %v Applied %v RefundedAt %v; want true, false, %v", ok, r.Applied, r.Attribution.RefundedAt, refundAt)
	}
	wantPending(t, "second Refund", r.Pending, tracklink.HookRefunded)
	ack(t, h, "ord-1", tracklink.HookRefunded)
	r, _ = refund(t, h, "ord-1", refundAt)
	wantPending(t, "Refund after Ack", r.Pending)
	wantTraffic(t, h, "ev", "", "", src{"promoter|ana", counts(1, 1, 1, 0, "EUR", 2500)})

	// a duplicate Record of the refunded order changes nothing either
	rec := record(t, h, a)
	if rec.Applied || !rec.Attribution.Refunded {
		t.Errorf("Record after Refund: Applied %v Refunded %v; want false, true", rec.Applied, rec.Attribution.Refunded)
	}
	wantTraffic(t, h, "ev", "", "", src{"promoter|ana", counts(1, 1, 1, 0, "EUR", 2500)})
	got, ok, err := h.Ledger.Attribution(ctx, "ord-1")
	if err != nil || !ok || !got.Refunded {
		t.Errorf("Attribution(ord-1) = %+v, %v, %v; want refunded", got, ok, err)
	}

	// refunding the other order leaves nothing but the visit
	refund(t, h, "ord-2", refundAt)
	wantTraffic(t, h, "ev", "", "", src{"promoter|ana", counts(1, 0, 0, 0)})
	wantPromoterStats(t, promoterStats(t, h, "ana"), "ana", counts(1, 0, 0, 0),
		map[string]tracklink.Counts{"ev": counts(1, 0, 0, 0)})
}

func testRefundBeforeRecord(t *testing.T, h *env) {
	refundAt := base.Add(time.Minute)
	r, ok := refund(t, h, "ord-1", refundAt)
	if ok || r.Applied {
		t.Errorf("Refund of an unknown order: ok %v Applied %v; want false, false", ok, r.Applied)
	}
	if _, ok, _ := h.Ledger.Attribution(t.Context(), "ord-1"); ok {
		t.Errorf("Attribution after an early refund: ok true, want false")
	}
	// the late order is stored as refunded and counts nothing
	a := order("ord-1", "ev", promoterTouch("ana", "ev", base), 2, 0, 5000, "EUR", base)
	rec := record(t, h, a)
	if rec.Applied || !rec.Attribution.Refunded || !rec.Attribution.RefundedAt.Equal(refundAt) {
		t.Errorf("late Record: Applied %v Refunded %v RefundedAt %v; want false, true, %v",
			rec.Applied, rec.Attribution.Refunded, rec.Attribution.RefundedAt, refundAt)
	}
	// the host hears of the sale and of its refund
	wantPending(t, "late Record", rec.Pending, tracklink.HookAttributed, tracklink.HookRefunded)
	wantTraffic(t, h, "ev", "", "")
	wantPromoterStats(t, promoterStats(t, h, "ana"), "ana", counts(0, 0, 0, 0), nil)
	// a refund now is a duplicate
	r, ok = refund(t, h, "ord-1", refundAt)
	if !ok || r.Applied {
		t.Errorf("Refund after the late Record: ok %v Applied %v; want true, false", ok, r.Applied)
	}
	wantTraffic(t, h, "ev", "", "")
	// Orders lists it, refunded
	as := orders(t, h, "ev")
	if len(as) != 1 || as[0].OrderID != "ord-1" || !as[0].Refunded {
		t.Errorf("Orders(ev) = %+v, want ord-1 refunded", as)
	}
}

func testOutbox(t *testing.T, h *env) {
	a := order("ord-1", "ev", campaignTouch("newsletter", "ev", base), 1, 0, 1000, "EUR", base)
	r := record(t, h, a)
	wantPending(t, "Record", r.Pending, tracklink.HookAttributed)
	// Ack of a hook not owed, or of an unknown order, is not an error
	ack(t, h, "ord-1", tracklink.HookRefunded)
	ack(t, h, "ord-unknown", tracklink.HookAttributed)
	r = record(t, h, a)
	wantPending(t, "Record after a stray Ack", r.Pending, tracklink.HookAttributed)
	ack(t, h, "ord-1", tracklink.HookAttributed)
	r = record(t, h, a)
	wantPending(t, "Record after Ack", r.Pending)
	// a refund whose hook failed: both deliveries owe it
	r, _ = refund(t, h, "ord-1", base)
	wantPending(t, "Refund", r.Pending, tracklink.HookRefunded)
	r = record(t, h, a)
	wantPending(t, "Record after Refund", r.Pending, tracklink.HookRefunded)
	ack(t, h, "ord-1", tracklink.HookRefunded)
	r = record(t, h, a)
	wantPending(t, "Record after both Acks", r.Pending)
	// outboxes are per order
	b := order("ord-2", "ev", noTouch("ev"), 1, 0, 1000, "EUR", base)
	r = record(t, h, b)
	wantPending(t, "Record(ord-2)", r.Pending, tracklink.HookUnattributed)
}

func testRecordConcurrent(t *testing.T, h *env) {
	const (
		n          = 200
		deliveries = 3
	)
	var applied atomic.Int64
	var wg sync.WaitGroup
	for d := range deliveries {
		for i := range n {
			wg.Go(func() {
				touch := promoterTouch("ana", "ev", base)
				if i%2 == 1 {
					touch = campaignTouch("newsletter", "ev", base)
				}
				a := order(fmt.Sprintf("ord-%03d", i), "ev", touch, 2, 1, 1000, "EUR", base)
				a.Revenue += int64(d) // a later delivery's figures must never count
				r, err := h.Ledger.Record(t.Context(), a)
				if err != nil {
					t.Errorf("Record: %v", err)
					return
				}
				if r.Applied {
					applied.Add(1)
				}
			})
		}
	}
	wg.Wait()
	if got := applied.Load(); got != n {
		t.Errorf("%d Records applied, want %d", got, n)
	}
	// refund half of the orders twice, concurrently
	var refunded atomic.Int64
	for range 2 {
		for i := 0; i < n; i += 2 {
			wg.Go(func() {
				r, _, err := h.Ledger.Refund(t.Context(), fmt.Sprintf("ord-%03d", i), base)
				if err != nil {
					t.Errorf("Refund: %v", err)
					return
				}
				if r.Applied {
					refunded.Add(1)
				}
			})
		}
	}
	wg.Wait()
	if got := refunded.Load(); got != n/2 {
		t.Errorf("%d Refunds applied, want %d", got, n/2)
	}
	// every order's revenue is that of whichever delivery won: read it back
	var rev int64
	for _, a := range orders(t, h, "ev") {
		if !a.Refunded {
			rev += a.Revenue
		}
	}
	if rev < n/2*1000 || rev > n/2*1002 {
		t.Errorf("stored revenue %d out of range", rev)
	}
	wantTraffic(t, h, "ev", "", "", src{"campaign|newsletter", counts(0, n/2, n, n/2, "EUR", int(rev))})
	wantPromoterStats(t, promoterStats(t, h, "ana"), "ana", counts(0, 0, 0, 0), nil)
}

func testExcluded(t *testing.T, h *env) {
	// resold and transferred tickets are recorded, never counted as sales;
	// an order with no primary tickets counts its excluded tickets only (no
	// order, no revenue, no active promoter)
	savePromoter(t, h, tracklink.Promoter{Code: "ana", Name: "Ana", Groups: []string{"crew"}})
	a := order("ord-1", "ev", promoterTouch("ana", "ev", base), 2, 3, 5000, "EUR", base)
	b := order("ord-2", "ev", promoterTouch("ana", "ev", base), 0, 4, 0, "EUR", base)
	c := order("ord-3", "ev", promoterTouch("bob", "ev", base), 0, 1, 0, "EUR", base)
	record(t, h, a)
	record(t, h, b)
	record(t, h, c)
	wantTraffic(t, h, "ev", "", "",
		src{"promoter|ana", counts(0, 1, 2, 7, "EUR", 5000)},
		src{"promoter|bob", counts(0, 0, 0, 1)})
	wantPromoterStats(t, promoterStats(t, h, "ana"), "ana", counts(0, 1, 2, 7, "EUR", 5000),
		map[string]tracklink.Counts{"ev": counts(0, 1, 2, 7, "EUR", 5000)})
	wantPromoterStats(t, promoterStats(t, h, "bob"), "bob", counts(0, 0, 0, 1),
		map[string]tracklink.Counts{"ev": counts(0, 0, 0, 1)})
	pd, err := h.Ledger.PromoterDays(t.Context(), "ana", day0, day0)
	wantDays(t, "PromoterDays(ana)", pd, err, dc(day0, counts(0, 1, 2, 7, "EUR", 5000)))
	wantSummary(t, h, "crew", 1, 1, counts(0, 1, 2, 7, "EUR", 5000))
	got, ok, err := h.Ledger.Attribution(t.Context(), "ord-2")
	if err != nil || !ok || got.Excluded != 4 || got.Tickets != 0 {
		t.Errorf("Attribution(ord-2) = %+v, %v, %v; want 0 tickets, 4 excluded", got, ok, err)
	}
	// refunds reverse exactly what each order added
	refund(t, h, "ord-1", base)
	wantTraffic(t, h, "ev", "", "",
		src{"promoter|ana", counts(0, 0, 0, 4)},
		src{"promoter|bob", counts(0, 0, 0, 1)})
	wantSummary(t, h, "crew", 1, 0, counts(0, 0, 0, 4))
	refund(t, h, "ord-2", base)
	refund(t, h, "ord-3", base)
	wantTraffic(t, h, "ev", "", "")
	wantPromoterStats(t, promoterStats(t, h, "ana"), "ana", counts(0, 0, 0, 0), nil)
	wantPromoterStats(t, promoterStats(t, h, "bob"), "bob", counts(0, 0, 0, 0), nil)
	wantSummary(t, h, "crew", 1, 0, counts(0, 0, 0, 0))
	wantSummary(t, h, "", 1, 0, counts(0, 0, 0, 0))
}

func testRecordInvalid(t *testing.T, h *env) {
	good := order("ord-1", "ev", promoterTouch("ana", "ev", base), 2, 0, 5000, "EUR", base)
	for _, c := range []struct {
		why string
		mut func(a *tracklink.Attribution)
	}{
		{"empty order id", func(a *tracklink.Attribution) { a.OrderID = "" }},
		{"order id with a space", func(a *tracklink.Attribution) { a.OrderID = "ord 1" }},
		{"order id too long", func(a *tracklink.Attribution) { a.OrderID = strings.Repeat("o", tracklink.MaxOrderIDLen+1) }},
		{"bad event", func(a *tracklink.Attribution) { a.Event = "Bad Event" }},
		{"bad currency", func(a *tracklink.Attribution) { a.Currency = "eur" }},
		{"negative tickets", func(a *tracklink.Attribution) { a.Tickets = -1 }},
		{"too many tickets", func(a *tracklink.Attribution) { a.Tickets = tracklink.MaxOrderTickets + 1 }},
		{"negative revenue", func(a *tracklink.Attribution) { a.Revenue = -1 }},
		{"revenue out of range", func(a *tracklink.Attribution) { a.Revenue = tracklink.MaxOrderRevenue + 1 }},
		{"uppercase promoter code", func(a *tracklink.Attribution) { a.Touch.Promoter, a.Touch.Source = "Ana", "Ana" }},
		{"source key too long", func(a *tracklink.Attribution) {
			a.Touch = sourceTouch(tracklink.ChannelReferral, strings.Repeat("x", tracklink.MaxKeyLen), "ev", base)
		}},
	} {
		a := good
		c.mut(&a)
		if _, err := h.Ledger.Record(t.Context(), a); !errors.Is(err, tracklink.ErrInvalid) {
			t.Errorf("Record (%s): err %v, want one wrapping tracklink.ErrInvalid", c.why, err)
		}
	}
	// nothing was written
	if _, ok, err := h.Ledger.Attribution(t.Context(), "ord-1"); ok || err != nil {
		t.Errorf("Attribution(ord-1) after refused Records: ok %v err %v", ok, err)
	}
	wantTraffic(t, h, "ev", "", "")
	wantPromoterStats(t, promoterStats(t, h, "ana"), "ana", counts(0, 0, 0, 0), nil)
	if got := orders(t, h, ""); len(got) != 0 {
		t.Errorf("Orders after refused Records = %v", orderIDs(got))
	}
	// the good one goes through
	if r := record(t, h, good); !r.Applied {
		t.Errorf("Record(good): Applied false")
	}
}

func testCountVisits(t *testing.T, h *env) {
	ctx := t.Context()
	savePromoter(t, h, tracklink.Promoter{Code: "ana", Name: "Ana"})
	vc := func(event, day, key, promoter string, n int64) tracklink.VisitCount {
		return tracklink.VisitCount{Event: event, Day: day, Key: key, Promoter: promoter, N: n}
	}
	if err := h.Counter.CountVisits(ctx, nil); err != nil {
		t.Fatalf("CountVisits(nil): %v", err)
	}
	batch := []tracklink.VisitCount{
		vc("ev", day0, "social|instagram", "", 5),
		vc("ev", day0, "promoter|ana", "ana", 3),
		vc("ev", day1, "promoter|ana", "ana", 2),
		vc("ev", day1, "promoter|zed", "zed", 4), // not registered: the event only
		vc("", day0, "search|google", "", 7),
		vc("other", day1, "promoter|ana", "ana", 1),
	}
	if err := h.Counter.CountVisits(ctx, batch); err != nil {
		t.Fatalf("CountVisits: %v", err)
	}
	// the same entry twice in one call counts twice
	if err := h.Counter.CountVisits(ctx, []tracklink.VisitCount{vc("ev", day0, "social|instagram", "", 1), vc("ev", day0, "social|instagram", "", 1)}); err != nil {
		t.Fatalf("CountVisits: %v", err)
	}
	// a batch with one bad entry counts nothing
	for _, bad := range []tracklink.VisitCount{
		vc("Bad Event", day0, "social|instagram", "", 1),
		vc("ev", "yesterday", "social|instagram", "", 1),
		vc("ev", day0, "nochannel", "", 1),
		vc("ev", day0, "bogus|x", "", 1),
		vc("ev", day0, "social|instagram", "", 0),
		vc("ev", day0, "promoter|Ana", "Ana", 1),
		vc("ev", day0, "referral|"+strings.Repeat("x", tracklink.MaxKeyLen), "", 1),
	} {
		err := h.Counter.CountVisits(ctx, []tracklink.VisitCount{vc("ev", day0, "social|instagram", "", 100), bad})
		if !errors.Is(err, tracklink.ErrInvalid) {
			t.Errorf("CountVisits with %+v: err %v, want one wrapping tracklink.ErrInvalid", bad, err)
		}
	}
	wantTraffic(t, h, "ev", "", "",
		src{"social|instagram", counts(7, 0, 0, 0)},
		src{"promoter|ana", counts(5, 0, 0, 0)},
		src{"promoter|zed", counts(4, 0, 0, 0)})
	wantTraffic(t, h, "ev", day1, day1,
		src{"promoter|zed", counts(4, 0, 0, 0)},
		src{"promoter|ana", counts(2, 0, 0, 0)})
	wantTraffic(t, h, "", "", "", src{"search|google", counts(7, 0, 0, 0)})
	days, err := h.Ledger.EventDays(ctx, "ev", day0, day1)
	wantDays(t, "EventDays(ev)", days, err, dc(day0, counts(10, 0, 0, 0)), dc(day1, counts(6, 0, 0, 0)))
	wantPromoterStats(t, promoterStats(t, h, "ana"), "ana", counts(6, 0, 0, 0),
		map[string]tracklink.Counts{"ev": counts(5, 0, 0, 0), "other": counts(1, 0, 0, 0)})
	wantPromoterStats(t, promoterStats(t, h, "zed"), "zed", counts(0, 0, 0, 0), nil)
	pd, err := h.Ledger.PromoterDays(ctx, "ana", day0, day1)
	wantDays(t, "PromoterDays(ana)", pd, err, dc(day0, counts(3, 0, 0, 0)), dc(day1, counts(3, 0, 0, 0)))
}
