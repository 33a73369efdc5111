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

// The Standard Webhooks reference vector, recomputed with openssl (see
// tracklinktest's signer_test.go): the provider must accept exactly this.
func TestStandardWebhooksKnownAnswer(t *testing.T) {
	p, err := NewStandardWebhooks("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
	if err != nil {
		t.Fatal(err)
	}
	h := http.Header{}
	h.Set("webhook-id", "msg_p5jXN8AQM9LWM0D4loKWxJek")
	h.Set("webhook-timestamp", "1614265330")
	h.Set("webhook-signature", "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=")
	body := []byte(`{"test": 2432232314}`)
	id, ts, err := p.Verify(h, body, time.Unix(1614265330, 0))
	if err != nil || id != "msg_p5jXN8AQM9LWM0D4loKWxJek" || ts.Unix() != 1614265330 {
		t.Fatalf("Verify = %q, %v, %v", id, ts, err)
	}
	// The signer produces the same header.
	if got := webhooktest.SignStandardWebhook("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
		"msg_p5jXN8AQM9LWM0D4loKWxJek", time.Unix(1614265330, 0), body).Get("webhook-signature"); got != h.Get("webhook-signature") {
		t.Fatalf("signer: %q", got)
	}
	// One byte off fails.
	if _, _, err := p.Verify(h, []byte(`{"test": 2432232315}`), time.Unix(1614265330, 0)); !errors.Is(err, ErrNoValidSignature) {
		t.Fatalf("tampered: %v", err)
	}
}

// TestStandardWebhooksMutations starts from a valid signed delivery and
// changes one thing at a time.
func TestStandardWebhooksMutations(t *testing.T) {
	body := completedBody("ord_1", sessionN(1), "summer-fest", 2)
	valid := func() http.Header { return webhooktest.SignStandardWebhook(stdSecretA, "msg_1", t0, body) }
	sigOf := func(secret string, b []byte) string {
		return webhooktest.SignStandardWebhook(secret, "msg_1", t0, b).Get("webhook-signature")
	}
	validSig := sigOf(stdSecretA, body)

	tests := []struct {
		name    string
		secrets []string // default stdSecretA
		mutate  func(h http.Header, body []byte) []byte
		now     time.Time // default t0
		want    error
	}{
		{name: "valid", mutate: func(h http.Header, b []byte) []byte { return b }},

		// Missing headers.
		{name: "no headers", mutate: func(h http.Header, b []byte) []byte {
			h.Del("webhook-id")
			h.Del("webhook-timestamp")
			h.Del("webhook-signature")
			return b
		}, want: ErrNoSignature},
		{name: "no webhook-id", mutate: func(h http.Header, b []byte) []byte { h.Del("webhook-id"); return b }, want: ErrInvalidHeader},
		{name: "no webhook-timestamp", mutate: func(h http.Header, b []byte) []byte { h.Del("webhook-timestamp"); return b }, want: ErrInvalidHeader},
		{name: "no webhook-signature", mutate: func(h http.Header, b []byte) []byte { h.Del("webhook-signature"); return b }, want: ErrNoSignature},

		// Wrong secret, tampered content.
		{name: "wrong secret", secrets: []string{stdSecretB}, mutate: func(h http.Header, b []byte) []byte { return b }, want: ErrNoValidSignature},
		{name: "flipped body byte", mutate: func(h http.Header, b []byte) []byte {
			c := append([]byte(nil), b...)
			c[len(c)/2] ^= 0x01
			return c
		}, want: ErrNoValidSignature},
		{name: "body with trailing newline", mutate: func(h http.Header, b []byte) []byte { return append(append([]byte(nil), b...), '\n') }, want: ErrNoValidSignature},
		{name: "other webhook-id", mutate: func(h http.Header, b []byte) []byte { h.Set("webhook-id", "msg_2"); return b }, want: ErrNoValidSignature},
		{name: "timestamp shifted one second, signature kept", mutate: func(h http.Header, b []byte) []byte {
			h.Set("webhook-timestamp", strconv.FormatInt(t0.Unix()+1, 10))
			return b
		}, now: t0, want: ErrNoValidSignature},
		{name: "truncated signature", mutate: func(h http.Header, b []byte) []byte {
			h.Set("webhook-signature", validSig[:len(validSig)-2])
			return b
		}, want: ErrNoValidSignature},

		// Timestamp window, both ways.
		{name: "5 minutes old", mutate: func(h http.Header, b []byte) []byte { return b }, now: t0.Add(5 * time.Minute)},
		{name: "too old", mutate: func(h http.Header, b []byte) []byte { return b }, now: t0.Add(5*time.Minute + time.Second), want: ErrTooOld},
		{name: "5 minutes ahead", mutate: func(h http.Header, b []byte) []byte { return b }, now: t0.Add(-5 * time.Minute)},
		{name: "too far in the future", mutate: func(h http.Header, b []byte) []byte { return b }, now: t0.Add(-5*time.Minute - time.Second), want: ErrTooNew},
		{name: "timestamp not a number", mutate: func(h http.Header, b []byte) []byte { h.Set("webhook-timestamp", "yesterday"); return b }, want: ErrInvalidHeader},
		{name: "negative timestamp", mutate: func(h http.Header, b []byte) []byte { h.Set("webhook-timestamp", "-1"); return b }, want: ErrInvalidHeader},
		{name: "timestamp in milliseconds", mutate: func(h http.Header, b []byte) []byte {
			h.Set("webhook-timestamp", strconv.FormatInt(t0.UnixMilli(), 10))
			return b
		}, want: ErrTooNew},

		// Several signatures, rotation, versions.
		{name: "several signatures, last valid", mutate: func(h http.Header, b []byte) []byte {
			h.Set("webhook-signature", "v1,Zm9v "+sigOf(stdSecretB, b)+" v1a,abc "+validSig)
			return b
		}},
		{name: "several signatures, none valid", mutate: func(h http.Header, b []byte) []byte {
			h.Set("webhook-signature", "v1,Zm9v "+sigOf(stdSecretB, b))
			return b
		}, want: ErrNoValidSignature},
		{name: "signature in a second header line", mutate: func(h http.Header, b []byte) []byte {
			h.Set("webhook-signature", "v1,Zm9v")
			h.Add("webhook-signature", validSig)
			return b
		}},
		{name: "rotation: old and new secrets, signed with the new", secrets: []string{stdSecretB, stdSecretA}, mutate: func(h http.Header, b []byte) []byte { return b }},
		{name: "rotation: old and new secrets, signed with the old", secrets: []string{stdSecretA, stdSecretB}, mutate: func(h http.Header, b []byte) []byte { return b }},
		{name: "secret without whsec_ prefix", secrets: []string{strings.TrimPrefix(stdSecretA, "whsec_")}, mutate: func(h http.Header, b []byte) []byte { return b }},
		{name: "only a v2 signature", mutate: func(h http.Header, b []byte) []byte {
			h.Set("webhook-signature", "v2,"+strings.TrimPrefix(validSig, "v1,"))
			return b
		}, want: ErrNoSignature},
		{name: "only an asymmetric v1a signature", mutate: func(h http.Header, b []byte) []byte {
			h.Set("webhook-signature", "v1a,"+strings.TrimPrefix(validSig, "v1,"))
			return b
		}, want: ErrNoSignature},
		{name: "empty v1 entry", mutate: func(h http.Header, b []byte) []byte { h.Set("webhook-signature", "v1,"); return b }, want: ErrNoSignature},
		{name: "signature without version", mutate: func(h http.Header, b []byte) []byte {
			h.Set("webhook-signature", strings.TrimPrefix(validSig, "v1,"))
			return b
		}, want: ErrNoSignature},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			secrets := tt.secrets
			if secrets == nil {
				secrets = []string{stdSecretA}
			}
			p, err := NewStandardWebhooks(secrets...)
			if err != nil {
				t.Fatal(err)
			}
			h := valid()
			b := tt.mutate(h, body)
			now := tt.now
			if now.IsZero() {
				now = t0
			}
			ev, err := p.Open(h, b, now)
			if tt.want == nil {
				if err != nil {
					t.Fatalf("Open: %v", err)
				}
				if ev.Kind != EventOrderCompleted || ev.Order.ID != "ord_1" || ev.DeliveryID != h.Get("webhook-id") {
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

func TestNewStandardWebhooksSecrets(t *testing.T) {
	for _, s := range []string{"", "whsec_", "whsec_not base64!", "whsec_" + "c2hvcnQ=" /* 5 bytes */} {
		if _, err := NewStandardWebhooks(s); err == nil {
			t.Errorf("NewStandardWebhooks(%q) accepted", s)
		}
	}
	if _, err := NewStandardWebhooks(); err == nil {
		t.Error("no secret accepted")
	}
	defer func() {
		if recover() == nil {
			t.Error("StandardWebhooks did not panic on a malformed secret")
		}
	}()
	MustStandardWebhooks("whsec_!!")
}

// TestParseStandardBody covers the generic format's payloads.
func TestParseStandardBody(t *testing.T) {
	ts := t0
	tests := []struct {
		name  string
		body  string
		kind  EventKind
		bad   bool // ErrBadPayload
		check func(t *testing.T, ev Event)
	}{
		{name: "completed", body: string(completedBody("ord_1", sessionN(1), "summer-fest", 2)), kind: EventOrderCompleted,
			check: func(t *testing.T, ev Event) {
				o := ev.Order
				tickets, revenue, excluded := o.Totals()
				if o.ID != "ord_1" || o.Session != sessionN(1) || o.Event != "summer-fest" || o.Currency != "EUR" ||
					tickets != 2 || revenue != 5000 || excluded != 1 || !o.At.Equal(ts) || ev.OrderID != "ord_1" {
					t.Errorf("order %+v", o)
				}
			}},
		{name: "created_at and lowercase currency", kind: EventOrderCompleted,
			body: `{"type":"order.completed","data":{"order_id":"o","event":"e","currency":"usd","promo_code":" ANA10 ","created_at":"2026-05-01T11:00:00+02:00","lines":[{"kind":"primary","quantity":1,"unit_amount":0}]}}`,
			check: func(t *testing.T, ev Event) {
				if ev.Order.Currency != "USD" || ev.Order.PromoCode != "ANA10" || !ev.Order.At.Equal(time.Date(2026, 5, 1, 9, 0, 0, 0, time.UTC)) || !ev.At.Equal(ev.Order.At) {
					t.Errorf("order %+v", ev.Order)
				}
			}},
		{name: "unknown fields are ignored", kind: EventOrderCompleted,
			body: `{"type":"order.completed","timestamp":"x","data":{"order_id":"o","event":"e","currency":"EUR","x":[1,2],"lines":[{"kind":"primary","quantity":1,"unit_amount":5,"seat":"A1"}]}}`},
		{name: "refunded", body: string(refundedBody("ord_1")), kind: EventOrderRefunded,
			check: func(t *testing.T, ev Event) {
				if ev.OrderID != "ord_1" || !ev.At.Equal(ts) {
					t.Errorf("event %+v", ev)
				}
			}},
		{name: "refunded_at", body: `{"type":"order.refunded","data":{"order_id":"o","refunded_at":"2026-04-30T10:00:00Z"}}`, kind: EventOrderRefunded,
			check: func(t *testing.T, ev Event) {
				if !ev.At.Equal(time.Date(2026, 4, 30, 10, 0, 0, 0, time.UTC)) {
					t.Errorf("At %v", ev.At)
				}
			}},
		// Unknown types are ignored, whatever their data.
		{name: "unknown type", body: `{"type":"order.updated","data":[1]}`, kind: EventIgnored},
		{name: "unknown type without data", body: `{"type":"ping"}`, kind: EventIgnored},

		// Bad payloads.
		{name: "not JSON", body: `order`, bad: true},
		{name: "empty body", body: ``, bad: true},
		{name: "array", body: `[]`, bad: true},
		{name: "no type", body: `{"data":{}}`, bad: true},
		{name: "no data", body: `{"type":"order.completed"}`, bad: true},
		{name: "partial refund: amount", body: `{"type":"order.refunded","data":{"order_id":"o","refund_id":"rf_1","amount":1200}}`, kind: EventPartialRefund,
			check: func(t *testing.T, ev Event) {
				if want := (tracklink.Refund{OrderID: "o", RefundID: "rf_1", Amount: 1200, At: ts}); ev.Refund != want || ev.OrderID != "o" {
					t.Errorf("refund %+v, want %+v", ev.Refund, want)
				}
			}},
		{name: "partial refund: lines", body: `{"type":"order.refunded","data":{"order_id":"o","refund_id":"rf_1","lines":[` +
			`{"kind":"primary","quantity":2,"unit_amount":2500},{"kind":"resale","quantity":1,"unit_amount":3000}]}}`, kind: EventPartialRefund,
			check: func(t *testing.T, ev Event) {
				if r := ev.Refund; r.Amount != 5000 || r.Tickets != 2 || r.RefundID != "rf_1" {
					t.Errorf("refund %+v, want 5000 and 2 tickets", r)
				}
			}},
		{name: "partial refund: amount and lines", body: `{"type":"order.refunded","data":{"order_id":"o","refund_id":"rf_1","amount":100,"lines":[` +
			`{"kind":"primary","quantity":1,"unit_amount":2500}]}}`, kind: EventPartialRefund,
			check: func(t *testing.T, ev Event) {
				if r := ev.Refund; r.Amount != 100 || r.Tickets != 1 {
					t.Errorf("refund %+v, want 100 and 1 ticket", r)
				}
			}},
		{name: "partial refund without refund_id", body: `{"type":"order.refunded","data":{"order_id":"o","amount":100}}`, bad: true},
		{name: "partial refund id too long", body: `{"type":"order.refunded","data":{"order_id":"o","amount":100,"refund_id":"` + strings.Repeat("r", 129) + `"}}`, bad: true},
		{name: "partial refund of nothing", body: `{"type":"order.refunded","data":{"order_id":"o","refund_id":"rf_1","amount":0}}`, bad: true},
		{name: "partial refund negative", body: `{"type":"order.refunded","data":{"order_id":"o","refund_id":"rf_1","amount":-5}}`, bad: true},
		{name: "partial refund bad lines", body: `{"type":"order.refunded","data":{"order_id":"o","refund_id":"rf_1","lines":[{"kind":"gift","quantity":1,"unit_amount":1}]}}`, bad: true},
		{name: "data null", body: `{"type":"order.refunded","data":null}`, bad: true},
		{name: "data not an object", body: `{"type":"order.refunded","data":"o"}`, bad: true},
		{name: "no order id", body: `{"type":"order.refunded","data":{}}`, bad: true},
		{name: "order id with a space", body: `{"type":"order.refunded","data":{"order_id":"a b"}}`, bad: true},
		{name: "order id too long", body: `{"type":"order.refunded","data":{"order_id":"` + strings.Repeat("x", 256) + `"}}`, bad: true},
		{name: "bad refunded_at", body: `{"type":"order.refunded","data":{"order_id":"o","refunded_at":"yesterday"}}`, kind: EventOrderRefunded, check: ignoredOne},
		{name: "unknown kind", body: `{"type":"order.completed","data":{"order_id":"o","event":"e","currency":"EUR","lines":[{"kind":"vip","quantity":1,"unit_amount":5}]}}`, bad: true},
		{name: "kind missing", body: `{"type":"order.completed","data":{"order_id":"o","event":"e","currency":"EUR","lines":[{"quantity":1,"unit_amount":5}]}}`, bad: true},
		{name: "quantity missing", body: `{"type":"order.completed","data":{"order_id":"o","event":"e","currency":"EUR","lines":[{"kind":"primary","unit_amount":5}]}}`, bad: true},
		{name: "unit_amount missing", body: `{"type":"order.completed","data":{"order_id":"o","event":"e","currency":"EUR","lines":[{"kind":"primary","quantity":1}]}}`, bad: true},
		{name: "fractional quantity", body: `{"type":"order.completed","data":{"order_id":"o","event":"e","currency":"EUR","lines":[{"kind":"primary","quantity":1.5,"unit_amount":5}]}}`, bad: true},
		{name: "negative amount", body: `{"type":"order.completed","data":{"order_id":"o","event":"e","currency":"EUR","lines":[{"kind":"primary","quantity":1,"unit_amount":-5}]}}`, bad: true},
		{name: "huge quantity", body: `{"type":"order.completed","data":{"order_id":"o","event":"e","currency":"EUR","lines":[{"kind":"primary","quantity":99999999999999999999,"unit_amount":5}]}}`, bad: true},
		{name: "no lines", body: `{"type":"order.completed","data":{"order_id":"o","event":"e","currency":"EUR","lines":[]}}`, bad: true},
		{name: "lines not an array", body: `{"type":"order.completed","data":{"order_id":"o","event":"e","currency":"EUR","lines":{}}}`, bad: true},
		{name: "too many lines", body: `{"type":"order.completed","data":{"order_id":"o","event":"e","currency":"EUR","lines":[` +
			strings.Repeat(`{"kind":"primary","quantity":1,"unit_amount":5},`, tracklink.MaxLines) + `{"kind":"primary","quantity":1,"unit_amount":5}]}}`, bad: true},
		{name: "uppercase event slug", kind: EventOrderCompleted,
			body: `{"type":"order.completed","data":{"order_id":"o","event":" Summer-Fest ","currency":"EUR","lines":[{"kind":"primary","quantity":1,"unit_amount":5}]}}`,
			check: func(t *testing.T, ev Event) {
				if ev.Order.Event != "summer-fest" || len(ev.Ignored) != 0 {
					t.Errorf("event %q, ignored %v", ev.Order.Event, ev.Ignored)
				}
			}},
		{name: "promo code too long", kind: EventOrderCompleted, check: ignoredOne,
			body: `{"type":"order.completed","data":{"order_id":"o","event":"e","currency":"EUR","promo_code":"` + strings.Repeat("A", 65) + `","lines":[{"kind":"primary","quantity":1,"unit_amount":5}]}}`},
		{name: "order total over the cap", bad: true,
			body: `{"type":"order.completed","data":{"order_id":"o","event":"e","currency":"EUR","lines":[{"kind":"primary","quantity":10000,"unit_amount":100000000001}]}}`},
		{name: "bad event slug", body: `{"type":"order.completed","data":{"order_id":"o","event":"Summer Fest","currency":"EUR","lines":[{"kind":"primary","quantity":1,"unit_amount":5}]}}`, bad: true},
		{name: "bad currency", body: `{"type":"order.completed","data":{"order_id":"o","event":"e","currency":"euro","lines":[{"kind":"primary","quantity":1,"unit_amount":5}]}}`, bad: true},
		{name: "bad session ref", body: `{"type":"order.completed","data":{"order_id":"o","session_ref":"user-42","event":"e","currency":"EUR","lines":[{"kind":"primary","quantity":1,"unit_amount":5}]}}`, kind: EventOrderCompleted, check: ignoredOne},
		{name: "created_at next week", body: `{"type":"order.completed","data":{"order_id":"o","event":"e","currency":"EUR","created_at":"2026-05-08T12:00:00Z","lines":[{"kind":"primary","quantity":1,"unit_amount":5}]}}`, kind: EventOrderCompleted, check: ignoredOne},
		{name: "created_at not RFC 3339", body: `{"type":"order.completed","data":{"order_id":"o","event":"e","currency":"EUR","created_at":"1 May 2026","lines":[{"kind":"primary","quantity":1,"unit_amount":5}]}}`, kind: EventOrderCompleted, check: ignoredOne},
		{name: "long ticket type", body: `{"type":"order.completed","data":{"order_id":"o","event":"e","currency":"EUR","lines":[{"kind":"primary","ticket_type":"` + strings.Repeat("x", 101) + `","quantity":1,"unit_amount":5}]}}`, kind: EventOrderCompleted,
			check: func(t *testing.T, ev Event) {
				if len(ev.Order.Lines) != 1 || ev.Order.Lines[0].TicketType != "" {
					t.Errorf("lines %+v", ev.Order.Lines)
				}
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ev, err := parseStandardBody([]byte(tt.body), ts)
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
				t.Fatalf("kind %v, want %v", ev.Kind, tt.kind)
			}
			if tt.check != nil {
				tt.check(t, ev)
			}
		})
	}
}

func TestCanonicalHeaderKeys(t *testing.T) {
	for k, want := range map[string]string{
		HeaderWebhookID: canonicalWebhookID, HeaderWebhookTimestamp: canonicalWebhookTimestamp,
		HeaderWebhookSignature: canonicalWebhookSignature, HeaderStripeSignature: HeaderStripeSignature,
	} {
		if got := http.CanonicalHeaderKey(k); got != want {
			t.Errorf("CanonicalHeaderKey(%q) = %q, want %q", k, got, want)
		}
	}
}

// ignoredOne checks that the event kept its order (or refund) and
// reported exactly one dropped field, with the order's id.
func ignoredOne(t *testing.T, ev Event) {
	t.Helper()
	if len(ev.Ignored) != 1 || !errors.Is(ev.Ignored[0], tracklink.ErrIgnoredInput) {
		t.Fatalf("ignored %v, want one ErrIgnoredInput", ev.Ignored)
	}
	if !strings.Contains(ev.Ignored[0].Error(), ev.OrderID) {
		t.Errorf("%v does not name the order %q", ev.Ignored[0], ev.OrderID)
	}
	if ev.Kind == EventOrderCompleted && (ev.Order.PromoCode != "" || ev.Order.Session != "") {
		t.Errorf("dropped fields kept: %+v", ev.Order)
	}
	if !ev.At.Equal(time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)) {
		t.Errorf("At %v, want the delivery's timestamp", ev.At)
	}
}
