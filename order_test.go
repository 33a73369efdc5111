package tracklink

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"
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

func TestAttributePromoCodePrecedence(t *testing.T) {
	at := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	o := Order{ID: "o1", Event: "summer-fest", Currency: "EUR", PromoCode: "ANA10", At: at,
		Lines: []Line{{Kind: LinePrimary, Quantity: 1, UnitAmount: 100}}}
	direct := &Touch{Channel: ChannelDirect, Source: "direct", Event: "summer-fest", At: at.Add(-time.Hour), Evidence: "Sec-Fetch-Site none"}
	social := &Touch{Channel: ChannelSocial, Source: "instagram", Event: "summer-fest", At: at.Add(-time.Hour), Evidence: "referrer instagram.com"}
	ben := &Touch{Channel: ChannelPromoter, Source: "ben", Promoter: "ben", Event: "summer-fest", At: at.Add(-time.Hour), Evidence: "param promoter=ben"}
	benSite := &Touch{Channel: ChannelPromoter, Source: "ben", Promoter: "ben", At: at.Add(-time.Hour), Evidence: "param promoter=ben"}
	ana := &Touch{Channel: ChannelPromoter, Source: "ana", Promoter: "ana", Event: "summer-fest", At: at.Add(-time.Hour), Evidence: "param promoter=ana"}
	click := &Touch{Channel: ChannelSearch, Source: "google", ClickID: "gclid", Event: "summer-fest", At: at.Add(-time.Hour), Evidence: "param gclid"}
	noBen := func(code, _ string) bool { return code != "ben" }

	tests := []struct {
		name            string
		order           Order
		event, site     *Touch
		opts            AttributeOptions
		key             string
		rule            Rule
		overruled       Rule // "" for none
		overruledSource string
		evidence        string
	}{
		{"code over direct", o, direct, nil, AttributeOptions{PromoCodeOwner: "ana"}, "promoter|ana", RulePromoCode, RuleWeakTouch, "direct",
			"promo code ANA10 of promoter ana (overruled weak event touch: Sec-Fetch-Site none)"},
		{"code over referrer", o, social, nil, AttributeOptions{PromoCodeOwner: "ana"}, "promoter|ana", RulePromoCode, RuleEventTouch, "instagram",
			"promo code ANA10 of promoter ana (overruled event touch: referrer instagram.com)"},
		{"code over another promoter's link", o, ben, nil, AttributeOptions{PromoCodeOwner: "ana"}, "promoter|ana", RulePromoCode, RuleEventTouch, "ben",
			"promo code ANA10 of promoter ana (overruled event touch: param promoter=ben)"},
		{"code over a site-wide link", o, nil, benSite, AttributeOptions{PromoCodeOwner: "ana"}, "promoter|ana", RulePromoCode, RuleSiteTouch, "ben",
			"promo code ANA10 of promoter ana (overruled site-wide touch: param promoter=ben)"},
		{"link first: another promoter's link stands", o, ben, nil, AttributeOptions{PromoCodeOwner: "ana", Precedence: LinkFirst}, "promoter|ben", RuleEventTouch, RulePromoCode, "ana",
			"event touch: param promoter=ben (1h0m0s before the order) (overruled promo code ANA10 of promoter ana)"},
		{"link first: an ad click stands", o, click, nil, AttributeOptions{PromoCodeOwner: "ana", Precedence: LinkFirst}, "search|google", RuleEventTouch, RulePromoCode, "ana",
			"event touch: param gclid (1h0m0s before the order) (overruled promo code ANA10 of promoter ana)"},
		{"link first: code over direct", o, direct, nil, AttributeOptions{PromoCodeOwner: "ana", Precedence: LinkFirst}, "promoter|ana", RulePromoCode, RuleWeakTouch, "direct",
			"promo code ANA10 of promoter ana (overruled weak event touch: Sec-Fetch-Site none)"},
		{"link first: code over referrer", o, social, nil, AttributeOptions{PromoCodeOwner: "ana", Precedence: LinkFirst}, "promoter|ana", RulePromoCode, RuleEventTouch, "instagram",
			"promo code ANA10 of promoter ana (overruled event touch: referrer instagram.com)"},
		{"link first: a vetoed site-wide link is no touch", o, nil, benSite, AttributeOptions{PromoCodeOwner: "ana", Precedence: LinkFirst, Allow: noBen}, "promoter|ana", RulePromoCode, "", "",
			"promo code ANA10 of promoter ana"},
		{"the code's own promoter: the link stands", o, ana, nil, AttributeOptions{PromoCodeOwner: "ana"}, "promoter|ana", RuleEventTouch, "", "",
			"event touch: param promoter=ana (1h0m0s before the order)"},
		{"no touch", o, nil, nil, AttributeOptions{PromoCodeOwner: "ana"}, "promoter|ana", RulePromoCode, "", "",
			"promo code ANA10 of promoter ana"},
		{"code of no registered promoter ignored", o, social, nil, AttributeOptions{}, "social|instagram", RuleEventTouch, "", "",
			"event touch: referrer instagram.com (1h0m0s before the order)"},
		{"code of no registered promoter, no touch", o, nil, nil, AttributeOptions{}, "direct|direct", RuleNoTouch, "", "", "no touch"},
		{"owner that is no promoter code ignored", o, direct, nil, AttributeOptions{PromoCodeOwner: "a b"}, "direct|direct", RuleWeakTouch, "", "",
			"weak event touch: Sec-Fetch-Site none (1h0m0s before the order)"},
		{"owner without a code ignored", Order{ID: "o1", Event: "summer-fest", Currency: "EUR", At: at}, social, nil, AttributeOptions{PromoCodeOwner: "ana"}, "social|instagram", RuleEventTouch, "", "",
			"event touch: referrer instagram.com (1h0m0s before the order)"},
		{"garbage code ignored", Order{ID: "o1", Event: "summer-fest", Currency: "EUR", PromoCode: "AN\x00A", At: at}, social, nil, AttributeOptions{PromoCodeOwner: "ana"}, "social|instagram", RuleEventTouch, "", "",
			"event touch: referrer instagram.com (1h0m0s before the order)"},
		{"oversized code ignored", Order{ID: "o1", Event: "summer-fest", Currency: "EUR", PromoCode: strings.Repeat("A", MaxPromoterLen+1), At: at}, nil, nil, AttributeOptions{PromoCodeOwner: "ana"}, "direct|direct", RuleNoTouch, "", "", "no touch"},
		{"unknown precedence means code first", o, ben, nil, AttributeOptions{PromoCodeOwner: "Ana", Precedence: Precedence(9)}, "promoter|ana", RulePromoCode, RuleEventTouch, "ben",
			"promo code ANA10 of promoter ana (overruled event touch: param promoter=ben)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := Attribute(tt.order, tt.event, tt.site, tt.opts)
			if a.Touch.Key() != tt.key || a.Rule != tt.rule || a.Evidence() != tt.evidence {
				t.Errorf("credited %s by %q, evidence %q; want %s by %q, %q", a.Touch.Key(), a.Rule, a.Evidence(), tt.key, tt.rule, tt.evidence)
			}
			switch {
			case tt.overruled == "" && a.Overruled != (Overruled{}):
				t.Errorf("overruled %+v, want none", a.Overruled)
			case tt.overruled != "" && (a.Overruled.Rule != tt.overruled || a.Overruled.Touch.Source != tt.overruledSource):
				t.Errorf("overruled %+v, want %s of %s", a.Overruled, tt.overruled, tt.overruledSource)
			}
			if err := a.Check(); err != nil {
				t.Errorf("Check: %v", err)
			}
		})
	}
}

func TestAttributionOverruledJSON(t *testing.T) {
	at := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	o := Order{ID: "o1", Event: "summer-fest", Currency: "EUR", PromoCode: "ANA10", At: at,
		Lines: []Line{{Kind: LinePrimary, Quantity: 1, UnitAmount: 100}}}
	social := &Touch{Channel: ChannelSocial, Source: "instagram", Event: "summer-fest", At: at.Add(-time.Hour), Evidence: "referrer instagram.com"}
	a := Attribute(o, social, nil, AttributeOptions{PromoCodeOwner: "ana"})
	b, err := json.Marshal(a)
	if err != nil {
		t.Fatal(err)
	}
	var back Attribution
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(back, a) || back.Evidence() != a.Evidence() {
		t.Errorf("round trip %s\n got %+v\nwant %+v", b, back, a)
	}
	plain, _ := json.Marshal(Attribute(o, social, nil, AttributeOptions{}))
	if strings.Contains(string(plain), "overruled") {
		t.Errorf("an attribution that overruled nothing encodes %s", plain)
	}
}

func TestPrecedenceValid(t *testing.T) {
	if !PromoCodeFirst.Valid() || !LinkFirst.Valid() || Precedence(2).Valid() || Precedence(-1).Valid() {
		t.Error("Precedence.Valid")
	}
	if PromoCodeFirst.String() != "promo code first" || LinkFirst.String() != "link first" {
		t.Error("Precedence.String")
	}
}
