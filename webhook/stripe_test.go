package webhook

import (
	"errors"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tracklink/tracklink"
	"github.com/tracklink/tracklink/webhook/webhooktest"
)

// A vector computed by hand with
//
//	printf '%s' '1614265330.{"id":"evt_test","type":"checkout.session.completed"}' |
//	  openssl dgst -sha256 -hmac whsec_test_secret_for_tracklink
func TestStripeKnownAnswer(t *testing.T) {
	p, err := NewStripe("whsec_test_secret_for_tracklink")
	if err != nil {
		t.Fatal(err)
	}
	const sig = "t=1614265330,v1=d796dd300f9eb17637328285526ad0d2877c59ff9fa6b478c6f4471e9e72b5d2"
	body := []byte(`{"id":"evt_test","type":"checkout.session.completed"}`)
	h := http.Header{}
	h.Set("Stripe-Signature", sig)
	if ts, err := p.Verify(h, body, time.Unix(1614265330, 0)); err != nil || ts.Unix() != 1614265330 {
		t.Fatalf("Verify = %v, %v", ts, err)
	}
	if got := webhooktest.SignStripe("whsec_test_secret_for_tracklink", time.Unix(1614265330, 0), body); got != sig {
		t.Fatalf("signer: %q", got)
	}
}

// TestStripeMutations starts from a valid signed delivery and changes one
// thing at a time.
func TestStripeMutations(t *testing.T) {
	body := stripeSessionBody(stripeSessionSpec{
		EventID: "evt_1", SessionID: "cs_test_1", PaymentIntent: "pi_1", ClientRef: sessionN(1), AmountTotal: 5000,
		Metadata: map[string]string{MetadataEvent: "summer-fest", MetadataTickets: "2"},
	})
	v1Of := func(secret string, b []byte) string {
		_, v, _ := strings.Cut(webhooktest.SignStripe(secret, t0, b), ",v1=")
		return v
	}
	ts := strconv.FormatInt(t0.Unix(), 10)
	valid := v1Of(stripeSecretA, body)

	tests := []struct {
		name    string
		secrets []string
		header  string // default: signed by stripeSecretA at t0
		mutate  func(b []byte) []byte
		now     time.Time
		want    error
	}{
		{name: "valid"},
		{name: "missing header", header: "-", want: ErrNoSignature},
		{name: "wrong secret", secrets: []string{stripeSecretB}, want: ErrNoValidSignature},
		{name: "flipped body byte", mutate: func(b []byte) []byte {
			c := append([]byte(nil), b...)
			c[10] ^= 0x20
			return c
		}, want: ErrNoValidSignature},
		{name: "t changed, signature kept", header: "t=" + strconv.FormatInt(t0.Unix()+1, 10) + ",v1=" + valid, want: ErrNoValidSignature},

		// Tolerance, both ways.
		{name: "300 s old", now: t0.Add(300 * time.Second)},
		{name: "too old", now: t0.Add(301 * time.Second), want: ErrTooOld},
		{name: "300 s ahead", now: t0.Add(-300 * time.Second)},
		{name: "too far in the future", now: t0.Add(-301 * time.Second), want: ErrTooNew},

		// Several signatures, rotation, schemes.
		{name: "several v1, one valid", header: "t=" + ts + ",v1=" + v1Of(stripeSecretB, body) + ",v1=" + valid + ",v0=abc"},
		{name: "several v1, none valid", header: "t=" + ts + ",v1=" + v1Of(stripeSecretB, body) + ",v1=00", want: ErrNoValidSignature},
		{name: "rotation: two secrets, signed with the second", secrets: []string{stripeSecretB, stripeSecretA}},
		{name: "only v0", header: "t=" + ts + ",v0=" + valid, want: ErrNoSignature},
		{name: "unknown scheme only", header: "t=" + ts + ",v2=" + valid, want: ErrNoSignature},
		{name: "uppercase hex", header: "t=" + ts + ",v1=" + strings.ToUpper(valid)},
		{name: "spaces after commas", header: "t=" + ts + ", v1=" + valid},
		{name: "no t", header: "v1=" + valid, want: ErrInvalidHeader},
		{name: "two t", header: "t=" + ts + ",t=" + ts + ",v1=" + valid, want: ErrInvalidHeader},
		{name: "t not a number", header: "t=now,v1=" + valid, want: ErrInvalidHeader},
		{name: "garbage", header: "hello", want: ErrInvalidHeader},
		{name: "v1 not hex", header: "t=" + ts + ",v1=" + strings.Repeat("zz", 32), want: ErrNoValidSignature},
		{name: "v1 truncated", header: "t=" + ts + ",v1=" + valid[:62], want: ErrNoValidSignature},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			secrets := tt.secrets
			if secrets == nil {
				secrets = []string{stripeSecretA}
			}
			p, err := NewStripe(secrets...)
			if err != nil {
				t.Fatal(err)
			}
			h := http.Header{}
			switch tt.header {
			case "":
				h.Set(HeaderStripeSignature, webhooktest.SignStripe(stripeSecretA, t0, body))
			case "-":
			default:
				h.Set(HeaderStripeSignature, tt.header)
			}
			b := body
			if tt.mutate != nil {
				b = tt.mutate(body)
			}
			now := tt.now
			if now.IsZero() {
				now = t0
			}
			ev, err := p.Open(h, b, now)
			if tt.want == nil {
				if err != nil {
					t.Fatalf("Open: %v", err)
				}
				if ev.Kind != EventOrderCompleted || ev.OrderID != "pi_1" || ev.DeliveryID != "evt_1" {
					t.Fatalf("event %+v", ev)
				}
				return
			}
			if !errors.Is(err, tt.want) || !errors.Is(err, ErrSignature) {
				t.Fatalf("Open error %v, want %v (and ErrSignature)", err, tt.want)
			}
		})
	}
}

func TestNewStripeSecrets(t *testing.T) {
	for _, s := range []string{"", "whsec_", "sk_test_123", " whsec_abc"} {
		if _, err := NewStripe(s); err == nil {
			t.Errorf("NewStripe(%q) accepted", s)
		}
	}
	defer func() {
		if recover() == nil {
			t.Error("Stripe did not panic on a malformed secret")
		}
	}()
	MustStripe("sk_live_oops")
}

// TestParseStripeBody covers the events and the metadata.
func TestParseStripeBody(t *testing.T) {
	md := func(kv ...string) map[string]string {
		m := map[string]string{MetadataEvent: "summer-fest"}
		for i := 0; i+1 < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return m
	}
	session := func(mut func(s *stripeSessionSpec)) string {
		s := stripeSessionSpec{EventID: "evt_1", SessionID: "cs_test_1", PaymentIntent: "pi_1",
			ClientRef: sessionN(7), AmountTotal: 5000, Metadata: md(MetadataTickets, "2")}
		if mut != nil {
			mut(&s)
		}
		return string(stripeSessionBody(s))
	}
	lines := func(o tracklink.Order) (int, int64, int) { return o.Totals() }

	tests := []struct {
		name  string
		body  string
		kind  EventKind
		bad   bool
		check func(t *testing.T, ev Event)
	}{
		{name: "paid session", body: session(nil), kind: EventOrderCompleted, check: func(t *testing.T, ev Event) {
			o := ev.Order
			tk, rev, ex := lines(o)
			if o.ID != "pi_1" || o.Session != sessionN(7) || o.Event != "summer-fest" || o.Currency != "EUR" ||
				tk != 2 || rev != 5000 || ex != 0 || !o.At.Equal(t0) || ev.DeliveryID != "evt_1" {
				t.Errorf("order %+v", o)
			}
		}},
		{name: "async payment succeeded", kind: EventOrderCompleted,
			body: session(func(s *stripeSessionSpec) { s.Type = StripeCheckoutAsyncPaymentSucceed; s.EventID = "evt_2" }),
			check: func(t *testing.T, ev Event) {
				if ev.Order.ID != "pi_1" {
					t.Errorf("order id %q: the same session must be the same order", ev.Order.ID)
				}
			}},
		{name: "unpaid session waits for async_payment_succeeded", kind: EventIgnored,
			body: session(func(s *stripeSessionSpec) { s.PaymentStatus = "unpaid" })},
		{name: "free order", kind: EventOrderCompleted,
			body: session(func(s *stripeSessionSpec) {
				s.PaymentStatus = "no_payment_required"
				s.PaymentIntent = ""
				s.AmountTotal = 0
			}),
			check: func(t *testing.T, ev Event) {
				if ev.Order.ID != "cs_test_1" {
					t.Errorf("order id %q, want the session id", ev.Order.ID)
				}
			}},
		{name: "not a tracklink checkout", kind: EventIgnored,
			body: session(func(s *stripeSessionSpec) { s.Metadata = map[string]string{"sku": "mug"} })},
		{name: "tickets split the total exactly", kind: EventOrderCompleted,
			body: session(func(s *stripeSessionSpec) { s.AmountTotal = 10001; s.Metadata = md(MetadataTickets, "3") }),
			check: func(t *testing.T, ev Event) {
				if tk, rev, _ := lines(ev.Order); tk != 3 || rev != 10001 {
					t.Errorf("tickets %d revenue %d", tk, rev)
				}
			}},
		{name: "no ticket metadata counts one ticket", kind: EventOrderCompleted,
			body: session(func(s *stripeSessionSpec) { s.Metadata = md() }),
			check: func(t *testing.T, ev Event) {
				if tk, rev, _ := lines(ev.Order); tk != 1 || rev != 5000 {
					t.Errorf("tickets %d revenue %d", tk, rev)
				}
			}},
		{name: "lines metadata", kind: EventOrderCompleted,
			body: session(func(s *stripeSessionSpec) {
				s.Metadata = md(MetadataLines, `[{"kind":"primary","ticket_type":"VIP","quantity":2,"unit_amount":9000},{"kind":"transfer","quantity":1,"unit_amount":0}]`,
					MetadataPromoCode, "ANA10")
			}),
			check: func(t *testing.T, ev Event) {
				if tk, rev, ex := lines(ev.Order); tk != 2 || rev != 18000 || ex != 1 || ev.Order.PromoCode != "ANA10" {
					t.Errorf("tickets %d revenue %d excluded %d promo %q", tk, rev, ex, ev.Order.PromoCode)
				}
			}},
		{name: "client_reference_id used for something else", kind: EventOrderCompleted,
			body: session(func(s *stripeSessionSpec) { s.ClientRef = "user_42" }),
			check: func(t *testing.T, ev Event) {
				if ev.Order.Session != "" {
					t.Errorf("session %q", ev.Order.Session)
				}
			}},
		{name: "session in metadata", kind: EventOrderCompleted,
			body: session(func(s *stripeSessionSpec) { s.ClientRef = "user_42"; s.Metadata = md(MetadataSession, sessionN(9)) }),
			check: func(t *testing.T, ev Event) {
				if ev.Order.Session != sessionN(9) {
					t.Errorf("session %q", ev.Order.Session)
				}
			}},
		{name: "expanded payment_intent", kind: EventOrderCompleted,
			body: strings.Replace(session(nil), `"payment_intent":"pi_1"`, `"payment_intent":{"id":"pi_1","object":"payment_intent"}`, 1),
			check: func(t *testing.T, ev Event) {
				if ev.OrderID != "pi_1" {
					t.Errorf("order id %q", ev.OrderID)
				}
			}},
		{name: "full refund", body: string(stripeChargeBody("evt_3", "ch_1", "pi_1", true)), kind: EventOrderRefunded,
			check: func(t *testing.T, ev Event) {
				if ev.OrderID != "pi_1" || !ev.At.Equal(t0) {
					t.Errorf("event %+v", ev)
				}
			}},
		{name: "partial refund without the refunds list", body: string(stripeChargeBody("evt_3", "ch_1", "pi_1", false)), kind: EventPartialRefund,
			check: func(t *testing.T, ev Event) {
				want := tracklink.Refund{OrderID: "pi_1", RefundID: "amount_refunded:1000", Amount: 1000, At: t0, Cumulative: true}
				if ev.Refund != want {
					t.Errorf("refund %+v cumulative %v, want %+v, true", ev.Refund, ev.Refund.Cumulative, want)
				}
			}},
		{name: "partial refund with the refunds list", body: string(stripeEventBody("evt_5", StripeChargeRefunded, t0.Unix(), map[string]any{
			"id": "ch_1", "object": "charge", "amount": 5000, "amount_refunded": 1500, "refunded": false, "payment_intent": "pi_1",
			"refunds": map[string]any{"object": "list", "data": []map[string]any{
				{"id": "re_old", "amount": 1000, "created": t0.Unix() - 60},
				{"id": "re_new", "amount": 500, "created": t0.Unix() - 10},
			}}})), kind: EventPartialRefund,
			check: func(t *testing.T, ev Event) {
				want := tracklink.Refund{OrderID: "pi_1", RefundID: "re_new", Amount: 500, At: t0.Add(-10 * time.Second)}
				if !ev.Refund.At.Equal(want.At) || ev.Refund.RefundID != want.RefundID || ev.Refund.Amount != want.Amount || ev.Refund.Cumulative {
					t.Errorf("refund %+v cumulative %v, want %+v", ev.Refund, ev.Refund.Cumulative, want)
				}
			}},
		{name: "refund of nothing", body: strings.Replace(string(stripeChargeBody("evt_3", "ch_1", "pi_1", false)), `"amount_refunded":1000`, `"amount_refunded":0`, 1), kind: EventIgnored},
		{name: "refunded more than the charge", body: strings.Replace(string(stripeChargeBody("evt_3", "ch_1", "pi_1", false)), `"amount_refunded":1000`, `"amount_refunded":9000`, 1), bad: true},
		{name: "refund of a charge without PaymentIntent", body: string(stripeChargeBody("evt_3", "ch_1", "", true)), kind: EventIgnored},
		{name: "other event", body: string(stripeEventBody("evt_4", "customer.created", t0.Unix(), map[string]any{"id": "cus_1"})), kind: EventIgnored},
		{name: "expired session", body: session(func(s *stripeSessionSpec) { s.Type = "checkout.session.expired" }), kind: EventIgnored},

		// Bad payloads.
		{name: "not JSON", body: "{", bad: true},
		{name: "no type", body: `{"id":"evt_1"}`, bad: true},
		{name: "no object", body: `{"id":"evt_1","type":"checkout.session.completed","data":{}}`, bad: true},
		{name: "object not an object", body: `{"id":"evt_1","type":"charge.refunded","data":{"object":[]}}`, bad: true},
		{name: "bad event slug", body: session(func(s *stripeSessionSpec) { s.Metadata = map[string]string{MetadataEvent: "Summer!"} }), bad: true},
		{name: "bad tickets", body: session(func(s *stripeSessionSpec) { s.Metadata = md(MetadataTickets, "two") }), kind: EventOrderCompleted, check: stripeIgnoredOne},
		{name: "zero tickets", body: session(func(s *stripeSessionSpec) { s.Metadata = md(MetadataTickets, "0") }), kind: EventOrderCompleted, check: stripeIgnoredOne},
		{name: "bad lines", body: session(func(s *stripeSessionSpec) {
			s.Metadata = md(MetadataLines, `[{"kind":"vip","quantity":1,"unit_amount":1}]`)
		}), kind: EventOrderCompleted, check: stripeIgnoredOne},
		{name: "lines not JSON", body: session(func(s *stripeSessionSpec) { s.Metadata = md(MetadataLines, `2 x GA`) }), kind: EventOrderCompleted, check: stripeIgnoredOne},
		{name: "metadata over 500", body: session(func(s *stripeSessionSpec) { s.Metadata = md(MetadataPromoCode, strings.Repeat("x", 501)) }), kind: EventOrderCompleted, check: stripeIgnoredOne},
		{name: "no currency", body: strings.Replace(session(nil), `"currency":"eur"`, `"currency":null`, 1), bad: true},
		{name: "created far after the signature", body: session(func(s *stripeSessionSpec) { s.Created = t0.Add(48 * time.Hour).Unix() }), bad: true},
		{name: "payment_intent a number", body: strings.Replace(session(nil), `"payment_intent":"pi_1"`, `"payment_intent":7`, 1), bad: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ev, err := parseStripeBody([]byte(tt.body), t0)
			if tt.bad {
				if !errors.Is(err, ErrBadPayload) {
					t.Fatalf("err %v, want ErrBadPayload (event %+v)", err, ev)
				}
				return
			}
			if err != nil {
				t.Fatalf("parse: %v", err)
			}
			if ev.Kind != tt.kind {
				t.Fatalf("kind %v (%s), want %v", ev.Kind, ev.Reason, tt.kind)
			}
			if tt.check != nil {
				tt.check(t, ev)
			}
		})
	}
}

func TestSplitTotal(t *testing.T) {
	for _, tc := range []struct {
		n     int
		total int64
	}{{1, 0}, {1, 7}, {2, 5000}, {3, 10001}, {7, 6}, {10000, 99999999}, {4, -5}} {
		ls := splitTotal(tc.n, tc.total)
		o := tracklink.Order{Lines: ls}
		tk, rev, _ := o.Totals()
		want := max(tc.total, 0)
		if tk != tc.n || rev != want || len(ls) > 2 {
			t.Errorf("splitTotal(%d, %d) = %+v: %d tickets, %d revenue", tc.n, tc.total, ls, tk, rev)
		}
	}
}

// stripeIgnoredOne checks that the session still made an order counted
// from amount_total as one ticket, with one dropped field reported.
func stripeIgnoredOne(t *testing.T, ev Event) {
	t.Helper()
	if len(ev.Ignored) != 1 || !errors.Is(ev.Ignored[0], tracklink.ErrIgnoredInput) {
		t.Fatalf("ignored %v, want one ErrIgnoredInput", ev.Ignored)
	}
	tickets, revenue, _ := ev.Order.Totals()
	if tickets != 1 || revenue != 5000 || ev.Order.PromoCode != "" {
		t.Errorf("order %+v: %d tickets, revenue %d", ev.Order, tickets, revenue)
	}
}
