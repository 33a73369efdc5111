package tracklink

import (
	"errors"
	"strings"
	"testing"
)

func TestOrderSanitize(t *testing.T) {
	o := Order{ID: "o1", Session: "user-42", Event: " Summer-Fest ", Currency: " eur", PromoCode: strings.Repeat("x", MaxPromoterLen+1),
		Lines: []Line{{Kind: LinePrimary, Quantity: 1, UnitAmount: 100}}}
	ignored := o.Sanitize()
	if len(ignored) != 2 {
		t.Fatalf("ignored %v, want the promo code and the session", ignored)
	}
	for _, err := range ignored {
		if !errors.Is(err, ErrIgnoredInput) {
			t.Errorf("%v does not wrap ErrIgnoredInput", err)
		}
	}
	if o.Event != "summer-fest" || o.Currency != "EUR" || o.PromoCode != "" || o.Session != "" {
		t.Errorf("sanitized %+v", o)
	}
	if err := o.Validate(); err != nil {
		t.Errorf("a sanitized order fails: %v", err)
	}
	if again := o.Sanitize(); len(again) != 0 {
		t.Errorf("Sanitize is not idempotent: %v", again)
	}

	ok := Order{ID: "o2", Session: "sess000000000000000001", Event: "e", Currency: "EUR", PromoCode: " ANA10 ",
		Lines: []Line{{Kind: LinePrimary, Quantity: 1, UnitAmount: 100}}}
	if ignored := ok.Sanitize(); len(ignored) != 0 || ok.PromoCode != "ANA10" || ok.Session == "" {
		t.Errorf("a good order changed: %+v %v", ok, ignored)
	}
	ctl := Order{ID: "o3", Event: "e", Currency: "EUR", PromoCode: "AN\x00A", Lines: ok.Lines}
	if ignored := ctl.Sanitize(); len(ignored) != 1 || ctl.PromoCode != "" {
		t.Errorf("a promo code with a control character kept: %q %v", ctl.PromoCode, ignored)
	}
}

func TestOrderTotalCap(t *testing.T) {
	at := func(qty int, unit int64) Order {
		return Order{ID: "o", Event: "e", Currency: "EUR", Lines: []Line{{Kind: LinePrimary, Quantity: qty, UnitAmount: unit}}}
	}
	if err := at(10, MaxOrderAmount/10).Validate(); err != nil {
		t.Errorf("an order of exactly MaxOrderAmount fails: %v", err)
	}
	if err := at(10, MaxOrderAmount/10+1).Validate(); !errors.Is(err, ErrInvalidOrder) {
		t.Errorf("an order over MaxOrderAmount: %v", err)
	}
	// The largest order validation allows cannot overflow a sum of a
	// million of them.
	var sum int64
	for range 1_000_000 {
		sum += MaxOrderAmount
	}
	if sum <= 0 {
		t.Fatal("a million maximal orders overflow int64")
	}
}
