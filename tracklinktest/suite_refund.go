package tracklinktest

import (
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tracklink/tracklink"
)

// Partial refunds (tracklink.Ledger.PartialRefund): once per (order id,
// refund id), clamped to what the order still counts, taken off every
// bucket the order counts in.

func partialRefund(t *testing.T, h *env, r tracklink.Refund) tracklink.RefundRecord {
	t.Helper()
	rr, err := h.Ledger.PartialRefund(t.Context(), r)
	if err != nil {
		t.Fatalf("PartialRefund(%s, %s): %v", r.OrderID, r.RefundID, err)
	}
	return rr
}

// wantRefunded checks an attribution's refunded figures.
func wantRefunded(t *testing.T, what string, a tracklink.Attribution, revenue int64, tickets int, full bool) {
	t.Helper()
	if a.RefundedRevenue != revenue || a.RefundedTickets != tickets || a.Refunded != full {
		t.Errorf("%s: RefundedRevenue %d RefundedTickets %d Refunded %v; want %d, %d, %v",
			what, a.RefundedRevenue, a.RefundedTickets, a.Refunded, revenue, tickets, full)
	}
}

func testPartialRefund(t *testing.T, h *env) {
	ctx := t.Context()
	savePromoter(t, h, tracklink.Promoter{Code: "ana", Name: "Ana", Groups: []string{"crew"}})
	a := order("ord-1", "ev", promoterTouch("ana", "ev", base), 4, 1, 10000, "EUR", base)
	record(t, h, a)
	ack(t, h, "ord-1", tracklink.HookAttributed)

	// one ticket of four back, a day later: the figures leave the order's day
	refundAt := base.Add(24 * time.Hour)
	rr := partialRefund(t, h, tracklink.Refund{OrderID: "ord-1", RefundID: "re_1", Amount: 2500, Tickets: 1, At: refundAt})
	if !rr.Known || !rr.Applied {
		t.Errorf("PartialRefund: Known %v Applied %v; want true, true", rr.Known, rr.Applied)
	}
	if e := rr.Refund; e.ID != "re_1" || e.Revenue != 2500 || e.Tickets != 1 || e.Full || !e.At.Equal(refundAt) {
		t.Errorf("PartialRefund: entry %+v; want re_1, 2500, 1 ticket, not full, at %v", e, refundAt)
	}
	wantRefunded(t, "PartialRefund", rr.Attribution, 2500, 1, false)
	wantPending(t, "PartialRefund", rr.Pending, tracklink.PartialRefundHook("re_1"))

	want := counts(0, 1, 3, 1, "EUR", 7500)
	wantTraffic(t, h, "ev", "", "", src{"promoter|ana", want})
	wantTraffic(t, h, "ev", day0, day0, src{"promoter|ana", want})
	days, err := h.Ledger.EventDays(ctx, "ev", day0, day1)
	wantDays(t, "EventDays", days, err, dc(day0, want), dc(day1, counts(0, 0, 0, 0)))
	wantPromoterStats(t, promoterStats(t, h, "ana"), "ana", want, map[string]tracklink.Counts{"ev": want})
	pd, err := h.Ledger.PromoterDays(ctx, "ana", day0, day1)
	wantDays(t, "PromoterDays", pd, err, dc(day0, want), dc(day1, counts(0, 0, 0, 0)))
	wantSummary(t, h, "", 1, 1, want)
	wantSummary(t, h, "crew", 1, 1, want)
	got, ok, err := h.Ledger.Attribution(ctx, "ord-1")
	if err != nil || !ok {
		t.Fatalf("Attribution(ord-1): %v, %v", ok, err)
	}
	wantRefunded(t, "Attribution", got, 2500, 1, false)
	if got.Tickets != 4 || got.Revenue != 10000 {
		t.Errorf("Attribution: tickets %d revenue %d; want the order's own 4, 10000", got.Tickets, got.Revenue)
	}
	if as := orders(t, h, "ev"); len(as) != 1 || as[0].RefundedRevenue != 2500 || as[0].NetRevenue() != 7500 {
		t.Errorf("Orders(ev) = %+v; want ord-1 with 2500 refunded", as)
	}

	// money only: the tickets stay
	rr = partialRefund(t, h, tracklink.Refund{OrderID: "ord-1", RefundID: "re_2", Amount: 500, At: refundAt})
	if !rr.Applied || rr.Refund.Revenue != 500 || rr.Refund.Tickets != 0 {
		t.Errorf("money-only PartialRefund: Applied %v entry %+v", rr.Applied, rr.Refund)
	}
	wantRefunded(t, "second refund", rr.Attribution, 3000, 1, false)
	wantPending(t, "second refund", rr.Pending, tracklink.PartialRefundHook("re_1"), tracklink.PartialRefundHook("re_2"))
	want = counts(0, 1, 3, 1, "EUR", 7000)
	wantTraffic(t, h, "ev", "", "", src{"promoter|ana", want})
	wantPromoterStats(t, promoterStats(t, h, "ana"), "ana", want, map[string]tracklink.Counts{"ev": want})
	wantSummary(t, h, "crew", 1, 1, want)

	// the hooks are claimed and acked one by one
	if !claim(t, h, "ord-1", tracklink.PartialRefundHook("re_1"), time.Minute) {
		t.Error("ClaimHook(partial_refund:re_1): false")
	}
	if claim(t, h, "ord-1", tracklink.PartialRefundHook("re_9"), time.Minute) {
		t.Error("ClaimHook of a refund never applied: true")
	}
	ack(t, h, "ord-1", tracklink.PartialRefundHook("re_1"))
	rr = partialRefund(t, h, tracklink.Refund{OrderID: "ord-1", RefundID: "re_1", Amount: 2500, Tickets: 1, At: refundAt})
	wantPending(t, "after Ack", rr.Pending, tracklink.PartialRefundHook("re_2"))

	// invalid refunds are refused, nothing written
	for _, bad := range []tracklink.Refund{
		{OrderID: "ord-1", RefundID: "", Amount: 1},
		{OrderID: "ord-1", RefundID: "re x", Amount: 1},
		{OrderID: "ord-1", RefundID: string(make([]byte, tracklink.MaxRefundIDLen+1)), Amount: 1},
		{OrderID: "ord-1", RefundID: "re_bad", Amount: -1},
		{OrderID: "ord-1", RefundID: "re_bad"},
		{OrderID: "ord-1", RefundID: "re_bad", Amount: 1, Tickets: -1},
		{OrderID: "", RefundID: "re_bad", Amount: 1},
	} {
		if _, err := h.Ledger.PartialRefund(ctx, bad); err == nil {
			t.Errorf("PartialRefund(%+v): no error", bad)
		}
	}
	wantTraffic(t, h, "ev", "", "", src{"promoter|ana", want})
}

// testPartialRefundDuplicate: the same refund id delivered again, or many
// times at once, is applied once.
func testPartialRefundDuplicate(t *testing.T, h *env) {
	record(t, h, order("ord-1", "ev", campaignTouch("newsletter", "ev", base), 5, 0, 5000, "EUR", base))
	r := tracklink.Refund{OrderID: "ord-1", RefundID: "re_1", Amount: 1000, Tickets: 1, At: base}
	first := tracklink.WithDelivery(t.Context(), "refund-delivery-1")
	rr, err := h.Ledger.PartialRefund(first, r)
	if err != nil || !rr.Applied {
		t.Fatalf("first PartialRefund: %+v, %v; want applied", rr, err)
	}
	// its retry (same token) is told it applied; another delivery is a
	// duplicate, with the stored entry even when it says otherwise
	rr, err = h.Ledger.PartialRefund(first, r)
	if err != nil || !rr.Applied || rr.Refund.Revenue != 1000 {
		t.Errorf("retried PartialRefund: Applied %v entry %+v, %v; want true", rr.Applied, rr.Refund, err)
	}
	other := r
	other.Amount, other.Tickets = 4000, 4
	rr = partialRefund(t, h, other)
	if rr.Applied || !rr.Known || rr.Refund.Revenue != 1000 || rr.Refund.Tickets != 1 {
		t.Errorf("duplicate PartialRefund: Applied %v Known %v entry %+v; want false, true, the first entry", rr.Applied, rr.Known, rr.Refund)
	}
	wantRefunded(t, "duplicate", rr.Attribution, 1000, 1, false)
	wantPending(t, "duplicate", rr.Pending, tracklink.HookAttributed, tracklink.PartialRefundHook("re_1"))
	wantTraffic(t, h, "ev", "", "", src{"campaign|newsletter", counts(0, 1, 4, 0, "EUR", 4000)})

	// concurrent deliveries of one new refund id: one applies
	const n = 16
	var applied atomic.Int64
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			ctx := tracklink.WithDelivery(t.Context(), fmt.Sprintf("concurrent-%d", i))
			rr, err := h.Ledger.PartialRefund(ctx, tracklink.Refund{OrderID: "ord-1", RefundID: "re_2", Amount: 500, At: base})
			if err != nil {
				t.Errorf("concurrent PartialRefund: %v", err)
				return
			}
			if rr.Applied {
				applied.Add(1)
			}
		})
	}
	wg.Wait()
	if got := applied.Load(); got != 1 {
		t.Errorf("%d of %d concurrent deliveries of one refund applied; want 1", got, n)
	}
	wantTraffic(t, h, "ev", "", "", src{"campaign|newsletter", counts(0, 1, 4, 0, "EUR", 3500)})
	a, _, _ := h.Ledger.Attribution(t.Context(), "ord-1")
	wantRefunded(t, "after concurrent deliveries", a, 1500, 1, false)
}

// testPartialRefundConcurrentIDs: different refund ids at once each apply
// once, and their sum is taken off.
func testPartialRefundConcurrentIDs(t *testing.T, h *env) {
	savePromoter(t, h, tracklink.Promoter{Code: "bo", Name: "Bo"})
	record(t, h, order("ord-1", "ev", promoterTouch("bo", "ev", base), 10, 0, 10000, "EUR", base))
	const n = 8
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			_, err := h.Ledger.PartialRefund(t.Context(), tracklink.Refund{
				OrderID: "ord-1", RefundID: fmt.Sprintf("re_%d", i), Amount: 1000, Tickets: 1, At: base})
			if err != nil {
				t.Errorf("PartialRefund re_%d: %v", i, err)
			}
		})
	}
	wg.Wait()
	want := counts(0, 1, 2, 0, "EUR", 2000)
	wantTraffic(t, h, "ev", "", "", src{"promoter|bo", want})
	wantPromoterStats(t, promoterStats(t, h, "bo"), "bo", want, map[string]tracklink.Counts{"ev": want})
	wantSummary(t, h, "", 1, 1, want)
	a, _, _ := h.Ledger.Attribution(t.Context(), "ord-1")
	wantRefunded(t, "after concurrent refunds", a, 8000, 8, false)
}

// testPartialRefundClamped: a refund asking for more than the order still
// counts takes off what is left, completes the refund and never goes
// negative.
func testPartialRefundClamped(t *testing.T, h *env) {
	savePromoter(t, h, tracklink.Promoter{Code: "ana", Name: "Ana", Groups: []string{"crew"}})
	record(t, h, order("ord-1", "ev", promoterTouch("ana", "ev", base), 2, 1, 4000, "EUR", base))
	record(t, h, order("ord-2", "ev", promoterTouch("ana", "ev", base), 1, 0, 1000, "EUR", base))
	ack(t, h, "ord-1", tracklink.HookAttributed)
	partialRefund(t, h, tracklink.Refund{OrderID: "ord-1", RefundID: "re_1", Amount: 1500, Tickets: 1, At: base})
	at := base.Add(time.Hour)
	rr := partialRefund(t, h, tracklink.Refund{OrderID: "ord-1", RefundID: "re_2", Amount: 9999, Tickets: 7, At: at})
	if !rr.Applied || rr.Refund.Revenue != 2500 || rr.Refund.Tickets != 1 || !rr.Refund.Full {
		t.Errorf("over-refund: Applied %v entry %+v; want 2500, 1 ticket, full", rr.Applied, rr.Refund)
	}
	wantRefunded(t, "over-refund", rr.Attribution, 4000, 2, true)
	if !rr.Attribution.RefundedAt.Equal(at) || rr.Attribution.NetRevenue() != 0 {
		t.Errorf("over-refund: RefundedAt %v net %d; want %v, 0", rr.Attribution.RefundedAt, rr.Attribution.NetRevenue(), at)
	}
	// the refund that completed it owes both hooks
	wantPending(t, "over-refund", rr.Pending, tracklink.PartialRefundHook("re_1"), tracklink.PartialRefundHook("re_2"), tracklink.HookRefunded)
	// only ord-2 is left, and the order and its excluded ticket went too
	want := counts(0, 1, 1, 0, "EUR", 1000)
	wantTraffic(t, h, "ev", "", "", src{"promoter|ana", want})
	wantPromoterStats(t, promoterStats(t, h, "ana"), "ana", want, map[string]tracklink.Counts{"ev": want})
	wantSummary(t, h, "crew", 1, 1, want)

	// nothing more comes off a refunded order: a new refund id, a full refund
	rr = partialRefund(t, h, tracklink.Refund{OrderID: "ord-1", RefundID: "re_3", Amount: 100, At: at})
	if rr.Applied || !rr.Known {
		t.Errorf("PartialRefund of a refunded order: Applied %v Known %v; want false, true", rr.Applied, rr.Known)
	}
	if r, ok := refund(t, h, "ord-1", at); !ok || r.Applied {
		t.Errorf("Refund after a completing partial refund: ok %v Applied %v; want true, false", ok, r.Applied)
	}
	wantTraffic(t, h, "ev", "", "", src{"promoter|ana", want})

	// the last order of the promoter refunded in full at once: inactive
	rr = partialRefund(t, h, tracklink.Refund{OrderID: "ord-2", RefundID: "re_4", Amount: 1000, At: at})
	if !rr.Refund.Full || !rr.Attribution.Refunded {
		t.Errorf("a refund of the whole amount: entry %+v Refunded %v; want full", rr.Refund, rr.Attribution.Refunded)
	}
	wantTraffic(t, h, "ev", "", "")
	wantSummary(t, h, "crew", 1, 0, counts(0, 0, 0, 0))
}

// testPartialThenFull: a full refund after partial ones reverses only what
// they left.
func testPartialThenFull(t *testing.T, h *env) {
	savePromoter(t, h, tracklink.Promoter{Code: "ana", Name: "Ana"})
	record(t, h, order("ord-1", "ev", promoterTouch("ana", "ev", base), 3, 2, 6000, "EUR", base))
	partialRefund(t, h, tracklink.Refund{OrderID: "ord-1", RefundID: "re_1", Amount: 2000, Tickets: 1, At: base})
	wantTraffic(t, h, "ev", "", "", src{"promoter|ana", counts(0, 1, 2, 2, "EUR", 4000)})
	at := base.Add(2 * time.Hour)
	r, ok := refund(t, h, "ord-1", at)
	if !ok || !r.Applied {
		t.Errorf("Refund after a partial refund: ok %v Applied %v; want true, true", ok, r.Applied)
	}
	wantRefunded(t, "Refund after partial", r.Attribution, 6000, 3, true)
	wantPending(t, "Refund after partial", r.Pending, tracklink.HookAttributed, tracklink.PartialRefundHook("re_1"), tracklink.HookRefunded)
	wantTraffic(t, h, "ev", "", "")
	wantPromoterStats(t, promoterStats(t, h, "ana"), "ana", counts(0, 0, 0, 0), nil)
	wantSummary(t, h, "", 1, 0, counts(0, 0, 0, 0))
	// and a partial refund after it changes nothing
	rr := partialRefund(t, h, tracklink.Refund{OrderID: "ord-1", RefundID: "re_2", Amount: 1, At: at})
	if rr.Applied {
		t.Error("PartialRefund after Refund: Applied true")
	}
	wantTraffic(t, h, "ev", "", "")
}

// testPartialRefundUnknown: a refund of an order not recorded writes
// nothing, and a late Record counts in full.
func testPartialRefundUnknown(t *testing.T, h *env) {
	rr := partialRefund(t, h, tracklink.Refund{OrderID: "ord-1", RefundID: "re_1", Amount: 100, At: base})
	if rr.Known || rr.Applied {
		t.Errorf("PartialRefund of an unknown order: Known %v Applied %v; want false, false", rr.Known, rr.Applied)
	}
	r := record(t, h, order("ord-1", "ev", noTouch("ev"), 1, 0, 1000, "EUR", base))
	if !r.Applied || r.Attribution.RefundedRevenue != 0 {
		t.Errorf("Record after an unknown partial refund: Applied %v RefundedRevenue %d; want true, 0", r.Applied, r.Attribution.RefundedRevenue)
	}
	wantTraffic(t, h, "ev", "", "", src{"direct|direct", counts(0, 1, 1, 0, "EUR", 1000)})
	// the refund delivered again now applies
	rr = partialRefund(t, h, tracklink.Refund{OrderID: "ord-1", RefundID: "re_1", Amount: 100, At: base})
	if !rr.Applied {
		t.Error("PartialRefund redelivered after the Record: Applied false")
	}
	wantTraffic(t, h, "ev", "", "", src{"direct|direct", counts(0, 1, 1, 0, "EUR", 900)})
}

// testPartialRefundCap: an order takes at most MaxOrderRefunds refund ids.
func testPartialRefundCap(t *testing.T, h *env) {
	record(t, h, order("ord-1", "ev", noTouch("ev"), 1, 0, 1_000_000, "EUR", base))
	for i := range tracklink.MaxOrderRefunds {
		partialRefund(t, h, tracklink.Refund{OrderID: "ord-1", RefundID: fmt.Sprintf("re_%d", i), Amount: 1, At: base})
	}
	if _, err := h.Ledger.PartialRefund(t.Context(), tracklink.Refund{OrderID: "ord-1", RefundID: "re_over", Amount: 1, At: base}); err == nil {
		t.Errorf("refund number %d of one order: no error", tracklink.MaxOrderRefunds+1)
	}
	// a known one is still answered, and a full refund still works
	if rr := partialRefund(t, h, tracklink.Refund{OrderID: "ord-1", RefundID: "re_0", Amount: 1, At: base}); rr.Applied {
		t.Error("duplicate at the cap: Applied true")
	}
	wantTraffic(t, h, "ev", "", "", src{"direct|direct", counts(0, 1, 1, 0, "EUR", 1_000_000-tracklink.MaxOrderRefunds)})
	if r, ok := refund(t, h, "ord-1", base); !ok || !r.Applied {
		t.Errorf("Refund at the cap: ok %v Applied %v", ok, r.Applied)
	}
	wantTraffic(t, h, "ev", "", "")
}

// testPartialRefundCumulative: totals refunded so far (Refund.Cumulative)
// take off the part the order has not had, in any order of arrival and at
// once: two totals leave the larger refunded, never their sum.
func testPartialRefundCumulative(t *testing.T, h *env) {
	total := func(id string, amount int64) tracklink.Refund {
		return tracklink.Refund{OrderID: id, RefundID: fmt.Sprintf("total:%d", amount), Amount: amount, At: base, Cumulative: true}
	}
	savePromoter(t, h, tracklink.Promoter{Code: "cy", Name: "Cy"})
	// in order, then out of order
	record(t, h, order("ord-1", "ev", promoterTouch("cy", "ev", base), 3, 0, 9000, "EUR", base))
	partialRefund(t, h, total("ord-1", 1000))
	rr := partialRefund(t, h, total("ord-1", 1500))
	if rr.Refund.Revenue != 500 {
		t.Errorf("second total took off %d, want 500", rr.Refund.Revenue)
	}
	record(t, h, order("ord-2", "ev", promoterTouch("cy", "ev", base), 3, 0, 9000, "EUR", base))
	partialRefund(t, h, total("ord-2", 1500))
	if rr := partialRefund(t, h, total("ord-2", 1000)); rr.Refund.Revenue != 0 {
		t.Errorf("an earlier total after a later one took off %d, want 0", rr.Refund.Revenue)
	}
	// at once
	record(t, h, order("ord-3", "ev", promoterTouch("cy", "ev", base), 3, 0, 9000, "EUR", base))
	var wg sync.WaitGroup
	for _, amount := range []int64{1000, 1500, 1200} {
		wg.Go(func() {
			if _, err := h.Ledger.PartialRefund(t.Context(), total("ord-3", amount)); err != nil {
				t.Errorf("PartialRefund total %d: %v", amount, err)
			}
		})
	}
	wg.Wait()
	for _, id := range []string{"ord-1", "ord-2", "ord-3"} {
		a, _, _ := h.Ledger.Attribution(t.Context(), id)
		wantRefunded(t, id, a, 1500, 0, false)
	}
	want := counts(0, 3, 9, 0, "EUR", 27000-3*1500)
	wantTraffic(t, h, "ev", "", "", src{"promoter|cy", want})
}
