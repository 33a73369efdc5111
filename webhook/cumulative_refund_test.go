package webhook

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/tracklink/tracklink"
)

// stripeTotalRefunded is a charge.refunded without its refunds list whose
// amount_refunded is total.
func stripeTotalRefunded(evt, total string) []byte {
	b := string(stripeChargeBody(evt, "ch_1", "pi_1", false))
	return []byte(strings.Replace(b, `"amount_refunded":1000`, `"amount_refunded":`+total, 1))
}

func stripeOrder(t *testing.T, h http.Handler) {
	t.Helper()
	spec := stripeSessionSpec{EventID: "evt_1", SessionID: "cs_1", PaymentIntent: "pi_1", AmountTotal: 9000,
		Metadata: map[string]string{MetadataEvent: "summer-fest", MetadataTickets: "3"}}
	if w := serve(h, stripeRequest(stripeSecretA, t0, stripeSessionBody(spec))); w.Code != 200 {
		t.Fatalf("order: %d %s", w.Code, w.Body.String())
	}
}

// Two Stripe totals delivered at once (or late, out of order) refund the
// larger total once, never their sum: the ledger takes the difference
// under its own lock.
func TestStripeCumulativeRefundsAtOnce(t *testing.T) {
	for range 20 {
		s := newMemstore(t)
		h, err := NewHandler(Config{Store: s, Provider: MustStripe(stripeSecretA), Now: clockAt(t0)})
		if err != nil {
			t.Fatal(err)
		}
		stripeOrder(t, h)
		var wg sync.WaitGroup
		for _, total := range []string{"1000", "1500"} {
			wg.Go(func() {
				if w := serve(h, stripeRequest(stripeSecretA, t0, stripeTotalRefunded("evt_"+total, total))); w.Code != 200 {
					t.Errorf("total %s: %d %s", total, w.Code, w.Body.String())
				}
			})
		}
		wg.Wait()
		a, _, err := s.Attribution(t.Context(), "pi_1")
		if err != nil {
			t.Fatal(err)
		}
		if a.RefundedRevenue != 1500 {
			t.Fatalf("Stripe refunded 1500 in all; the ledger took off %d", a.RefundedRevenue)
		}
	}
}

// A cumulative refund whose hook failed runs the hook again on the
// provider's redelivery.
func TestStripeCumulativeRefundHookRetried(t *testing.T) {
	s := newMemstore(t)
	var calls atomic.Int32
	var fail atomic.Bool
	fail.Store(true)
	hooks := tracklink.Hooks{OnPartialRefund: func(context.Context, tracklink.Attribution, tracklink.RefundEntry) error {
		calls.Add(1)
		if fail.Load() {
			return errors.New("down")
		}
		return nil
	}}
	h, err := NewHandler(Config{Store: s, Provider: MustStripe(stripeSecretA), Hooks: hooks, Now: clockAt(t0)})
	if err != nil {
		t.Fatal(err)
	}
	stripeOrder(t, h)
	if w := serve(h, stripeRequest(stripeSecretA, t0, stripeTotalRefunded("evt_3", "1000"))); w.Code != 500 {
		t.Fatalf("failed hook: %d, want 500", w.Code)
	}
	fail.Store(false)
	if w := serve(h, stripeRequest(stripeSecretA, t0, stripeTotalRefunded("evt_3", "1000"))); w.Code != 200 {
		t.Fatalf("redelivery: %d %s", w.Code, w.Body.String())
	}
	if n := calls.Load(); n != 2 {
		t.Errorf("OnPartialRefund ran %d times, want 2 (failed, then again on the redelivery)", n)
	}
	a, _, _ := s.Attribution(t.Context(), "pi_1")
	if a.RefundedRevenue != 1000 {
		t.Errorf("refunded %d, want 1000 once", a.RefundedRevenue)
	}
}

// refusingPromoStore's promo code lookup refuses every code as invalid.
type refusingPromoStore struct{ testStore }

func (refusingPromoStore) PromoterByPromoCode(context.Context, string) (string, bool, error) {
	return "", false, fmt.Errorf("%w: promo code refused", tracklink.ErrInvalid)
}

// A promo code the store refuses to look up is ignored and reported: the
// order still records (customer input never fails an order).
func TestPromoCodeRefusedStillRecords(t *testing.T) {
	s := newMemstore(t)
	var reported atomic.Int32
	h, err := NewHandler(Config{Store: refusingPromoStore{s}, Provider: MustStandardWebhooks(stdSecretA), Now: clockAt(t0),
		Hooks: tracklink.Hooks{OnError: func(_ context.Context, err error) {
			if errors.Is(err, tracklink.ErrIgnoredInput) {
				reported.Add(1)
			}
		}}})
	if err != nil {
		t.Fatal(err)
	}
	body := marshalBody(TypeOrderCompleted, orderData{OrderID: "ord-promo", Event: "summer-fest", Currency: "EUR", PromoCode: "ANA10",
		Lines: []tracklink.Line{{Kind: tracklink.LinePrimary, TicketType: "GA", Quantity: 1, UnitAmount: 2500}}})
	if w := serve(h, stdRequest(stdSecretA, t0, body)); w.Code != 200 {
		t.Fatalf("order with a refused promo code: %d %s", w.Code, w.Body.String())
	}
	if _, ok, err := s.Attribution(t.Context(), "ord-promo"); err != nil || !ok {
		t.Fatalf("order not recorded: %v %v", ok, err)
	}
	if reported.Load() == 0 {
		t.Error("the refused promo code was not reported")
	}
}
