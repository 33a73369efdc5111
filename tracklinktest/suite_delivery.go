package tracklinktest

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tracklink/tracklink"
)

// Retried writes (tracklink.Ledger, "Deliveries and retries"): a call that
// carries the token of the call that applied reports the first
// application; another delivery is a duplicate.

func testRetriedDelivery(t *testing.T, h *env) {
	first := tracklink.WithDelivery(t.Context(), "delivery-1")
	a := order("ord-1", "ev", campaignTouch("newsletter", "ev", base), 2, 0, 3000, "EUR", base)
	r, err := h.Ledger.Record(first, a)
	if err != nil || !r.Applied {
		t.Fatalf("first Record: %+v, %v; want applied", r, err)
	}
	// the same delivery again, as after a lost reply: it applied
	r, err = h.Ledger.Record(first, a)
	if err != nil || !r.Applied || !attributionEqual(r.Attribution, a) {
		t.Errorf("retried Record (same token): Applied %v, %+v, %v; want true and the stored attribution", r.Applied, r.Attribution, err)
	}
	wantPending(t, "retried Record", r.Pending, tracklink.HookAttributed)
	// another delivery of the order, and a call without a token, are duplicates
	r, err = h.Ledger.Record(tracklink.WithDelivery(t.Context(), "delivery-2"), a)
	if err != nil || r.Applied {
		t.Errorf("Record (other token): Applied %v, %v; want false", r.Applied, err)
	}
	if r := record(t, h, a); r.Applied {
		t.Errorf("Record (no token): Applied true; want false")
	}
	// it counted once whatever the retries said
	wantTraffic(t, h, "ev", "", "", src{"campaign|newsletter", counts(0, 1, 2, 0, "EUR", 3000)})

	// an order an early refund made count nothing: its retry says so too
	if _, ok := refund(t, h, "ord-2", base); ok {
		t.Fatal("Refund(ord-2) before Record: ok true")
	}
	b := order("ord-2", "ev", campaignTouch("newsletter", "ev", base), 1, 0, 1000, "EUR", base)
	d3 := tracklink.WithDelivery(t.Context(), "delivery-3")
	for i := range 2 {
		r, err := h.Ledger.Record(d3, b)
		if err != nil || r.Applied || !r.Attribution.Refunded {
			t.Errorf("Record #%d of an order refunded first: Applied %v, Refunded %v, %v; want false, true", i+1, r.Applied, r.Attribution.Refunded, err)
		}
	}
	wantTraffic(t, h, "ev", "", "", src{"campaign|newsletter", counts(0, 1, 2, 0, "EUR", 3000)})
}

func testRetriedRefund(t *testing.T, h *env) {
	a := order("ord-1", "ev", campaignTouch("newsletter", "ev", base), 2, 0, 3000, "EUR", base)
	record(t, h, a)
	first := tracklink.WithDelivery(t.Context(), "refund-1")
	r, ok, err := h.Ledger.Refund(first, "ord-1", base)
	if err != nil || !ok || !r.Applied {
		t.Fatalf("first Refund: %+v, %v, %v; want applied", r, ok, err)
	}
	r, ok, err = h.Ledger.Refund(first, "ord-1", base)
	if err != nil || !ok || !r.Applied || !r.Attribution.Refunded {
		t.Errorf("retried Refund (same token): Applied %v, ok %v, Refunded %v, %v; want true, true, true", r.Applied, ok, r.Attribution.Refunded, err)
	}
	r, ok, err = h.Ledger.Refund(tracklink.WithDelivery(t.Context(), "refund-2"), "ord-1", base)
	if err != nil || !ok || r.Applied {
		t.Errorf("Refund (other token): Applied %v, ok %v, %v; want false, true", r.Applied, ok, err)
	}
	// the Record's token is not the refund's
	r, err = h.Ledger.Record(first, a)
	if err != nil || r.Applied {
		t.Errorf("Record carrying the refund's token: Applied %v, %v; want false", r.Applied, err)
	}
	// reversed once
	wantTraffic(t, h, "ev", "", "")
}

func claim(t *testing.T, h *env, id string, kind tracklink.HookKind, lease time.Duration) bool {
	t.Helper()
	ok, err := h.Ledger.ClaimHook(t.Context(), id, kind, lease)
	if err != nil {
		t.Fatalf("ClaimHook(%s, %s): %v", id, kind, err)
	}
	return ok
}

func testClaimHook(t *testing.T, h *env) {
	ctx := t.Context()
	const lease = time.Minute
	if claim(t, h, "ord-unknown", tracklink.HookAttributed, lease) {
		t.Error("ClaimHook of an unknown order: true")
	}
	a := order("ord-1", "ev", campaignTouch("newsletter", "ev", base), 1, 0, 1000, "EUR", base)
	record(t, h, a)
	if claim(t, h, "ord-1", tracklink.HookRefunded, lease) {
		t.Error("ClaimHook of a hook not owed: true")
	}
	if !claim(t, h, "ord-1", tracklink.HookAttributed, lease) {
		t.Fatal("first ClaimHook: false")
	}
	if claim(t, h, "ord-1", tracklink.HookAttributed, lease) {
		t.Error("ClaimHook while another delivery holds the lease: true")
	}
	// the entry stays owed while leased: deliveries still see it
	r := record(t, h, a)
	wantPending(t, "Record while leased", r.Pending, tracklink.HookAttributed)
	// a failed hook releases it: the next delivery claims it at once
	if err := h.Ledger.ReleaseHook(ctx, "ord-1", tracklink.HookAttributed); err != nil {
		t.Fatal(err)
	}
	if !claim(t, h, "ord-1", tracklink.HookAttributed, lease) {
		t.Error("ClaimHook after ReleaseHook: false")
	}
	ack(t, h, "ord-1", tracklink.HookAttributed)
	if claim(t, h, "ord-1", tracklink.HookAttributed, lease) {
		t.Error("ClaimHook after Ack: true")
	}
	// releasing what nobody holds is not an error
	if err := h.Ledger.ReleaseHook(ctx, "ord-unknown", tracklink.HookAttributed); err != nil {
		t.Errorf("ReleaseHook of an unknown order: %v", err)
	}
	// the refund's entry is claimed apart from the order's
	refund(t, h, "ord-1", base)
	if !claim(t, h, "ord-1", tracklink.HookRefunded, lease) {
		t.Error("ClaimHook(refunded): false")
	}
	if _, err := h.Ledger.ClaimHook(ctx, "ord-1", tracklink.HookRefunded, 0); err == nil {
		t.Error("ClaimHook with a zero lease: no error")
	}
}

// testClaimHookConcurrent: of many deliveries claiming at once, one wins.
func testClaimHookConcurrent(t *testing.T, h *env) {
	record(t, h, order("ord-1", "ev", noTouch("ev"), 1, 0, 1000, "EUR", base))
	var won atomic.Int64
	var wg sync.WaitGroup
	for range 50 {
		wg.Go(func() {
			ok, err := h.Ledger.ClaimHook(t.Context(), "ord-1", tracklink.HookUnattributed, time.Minute)
			if err != nil {
				t.Error(err)
			}
			if ok {
				won.Add(1)
			}
		})
	}
	wg.Wait()
	if n := won.Load(); n != 1 {
		t.Errorf("%d of 50 concurrent ClaimHook calls won; want 1", n)
	}
}

// testHookLeaseExpires: a delivery that died holding a lease delays the
// hook until the lease ends, then a later delivery claims it (at least
// once).
func testHookLeaseExpires(t *testing.T, h *env) {
	record(t, h, order("ord-1", "ev", noTouch("ev"), 1, 0, 1000, "EUR", base))
	const lease = 200 * time.Millisecond
	if !claim(t, h, "ord-1", tracklink.HookUnattributed, lease) {
		t.Fatal("first ClaimHook: false")
	}
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	for {
		if h.LeaseClock != nil {
			h.LeaseClock(lease)
		}
		ok, err := h.Ledger.ClaimHook(ctx, "ord-1", tracklink.HookUnattributed, time.Minute)
		if err != nil {
			t.Fatalf("ClaimHook after the lease: %v (the lease never expired)", err)
		}
		if ok {
			break
		}
		select {
		case <-ctx.Done():
			t.Fatalf("ClaimHook still refused after the lease ended: %v", ctx.Err())
		case <-time.After(25 * time.Millisecond):
		}
	}
	// and the new lease holds
	if claim(t, h, "ord-1", tracklink.HookUnattributed, time.Minute) {
		t.Error("ClaimHook right after a new lease: true")
	}
}
