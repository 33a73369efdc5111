package webhook

import (
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/tracklink/tracklink"
	"github.com/tracklink/tracklink/webhook/webhooktest"
)

// FuzzStandardSignature feeds arbitrary webhook-* headers. Invariants: no
// panic; every error is a signature error; success only when the header
// carries the exact signature of (id, timestamp, body).
func FuzzStandardSignature(f *testing.F) {
	body := []byte(`{"type":"ping"}`)
	signed := webhooktest.SignStandardWebhook(stdSecretA, "msg_1", t0, body)
	f.Add("msg_1", signed.Get("webhook-timestamp"), signed.Get("webhook-signature"), body)
	f.Add("msg_1", "1777636800", "v1,a v1a,b v2,c  v1,", []byte("{}"))
	f.Add("", "", "", []byte(nil))
	f.Add("m", "99999999999999999999", "v1,====", []byte("x"))
	p, err := NewStandardWebhooks(stdSecretA)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, id, ts, sig string, body []byte) {
		h := http.Header{}
		h.Set("webhook-id", id)
		h.Set("webhook-timestamp", ts)
		h.Set("webhook-signature", sig)
		gotID, _, err := p.Verify(h, body, t0)
		if err != nil {
			if !errors.Is(err, ErrSignature) {
				t.Fatalf("error %v is not a signature error", err)
			}
			return
		}
		want := webhooktest.SignStandardWebhook(stdSecretA, id, t0, body).Get("webhook-signature")
		if gotID != id || !strings.Contains(" "+sig+" ", " "+want+" ") {
			t.Fatalf("accepted %q for id %q ts %q, want it to contain %q", sig, id, ts, want)
		}
	})
}

// FuzzStripeSignature feeds arbitrary Stripe-Signature values.
// Invariants: no panic; a parsed header has a digit-only t and at least
// one v1; success only when the header carries the right signature.
func FuzzStripeSignature(f *testing.F) {
	body := []byte(`{"id":"evt_1"}`)
	f.Add(webhooktest.SignStripe(stripeSecretA, t0, body), body)
	f.Add("t=1777636800,v1=00,v0=11,v1=", []byte("{}"))
	f.Add("t=,t=1,v1=x", []byte(nil))
	f.Add(",,,=,==,t==1", []byte("x"))
	p, err := NewStripe(stripeSecretA)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, header string, body []byte) {
		sh, err := parseStripeHeader(header)
		if err == nil {
			if sh.t == "" || strings.Trim(sh.t, "0123456789") != "" || sh.n == 0 {
				t.Fatalf("parsed %q as %+v", header, sh)
			}
		} else if !errors.Is(err, ErrSignature) {
			t.Fatalf("error %v is not a signature error", err)
		}
		h := http.Header{}
		h.Set(HeaderStripeSignature, header)
		if _, err := p.Verify(h, body, t0); err == nil {
			_, v1, _ := strings.Cut(webhooktest.SignStripe(stripeSecretA, time.Unix(sh.secs, 0), body), ",v1=")
			if !strings.Contains(strings.ToLower(header), "v1="+v1) {
				t.Fatalf("accepted %q without the right signature %s", header, v1)
			}
		}
	})
}

// checkEvent holds a parsed event to the package's promises.
func checkEvent(t *testing.T, ev Event, err error) {
	t.Helper()
	if err != nil {
		if !errors.Is(err, ErrBadPayload) {
			t.Fatalf("error %v does not wrap ErrBadPayload", err)
		}
		return
	}
	if len(ev.Type) > maxTypeLen || len(ev.DeliveryID) > maxDeliveryIDLen {
		t.Fatalf("unbounded type or delivery id: %d, %d bytes", len(ev.Type), len(ev.DeliveryID))
	}
	switch ev.Kind {
	case EventOrderCompleted:
		if err := ev.Order.Validate(); err != nil {
			t.Fatalf("completed order does not validate: %v", err)
		}
		if ev.Order.ID != ev.OrderID || len(ev.Order.Lines) > tracklink.MaxLines || !ev.Order.At.Equal(ev.At) {
			t.Fatalf("inconsistent event %+v", ev)
		}
	case EventOrderRefunded:
		if !validOrderID(ev.OrderID) {
			t.Fatalf("refund of invalid order id %q", ev.OrderID)
		}
	case EventIgnored:
		if ev.Reason == "" {
			t.Fatal("ignored without a reason")
		}
	default:
		t.Fatalf("kind %v", ev.Kind)
	}
}

// FuzzStandardBody: any signed body parses to a valid event or an
// ErrBadPayload, never a panic.
func FuzzStandardBody(f *testing.F) {
	f.Add(completedBody("ord_1", sessionN(1), "summer-fest", 2))
	f.Add(refundedBody("ord_1"))
	f.Add([]byte(`{"type":"order.completed","data":{"order_id":"o","event":"e","currency":"eur","created_at":"2026-05-01T12:00:00Z","lines":[{"kind":"primary","quantity":1,"unit_amount":1}]}}`))
	f.Add([]byte(`{"type":"order.completed","data":{"lines":null}}`))
	f.Add([]byte(`{"type":"x"}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		ev, err := parseStandardBody(body, t0)
		checkEvent(t, ev, err)
	})
}

// FuzzStripeBody: any signed Stripe body parses to a valid event or an
// ErrBadPayload, never a panic.
func FuzzStripeBody(f *testing.F) {
	md := map[string]string{MetadataEvent: "summer-fest", MetadataTickets: "3"}
	f.Add(stripeSessionBody(stripeSessionSpec{EventID: "evt_1", SessionID: "cs_1", PaymentIntent: "pi_1", ClientRef: sessionN(1), AmountTotal: 10001, Metadata: md}))
	f.Add(stripeSessionBody(stripeSessionSpec{EventID: "evt_1", SessionID: "cs_1", AmountTotal: 7, Metadata: map[string]string{
		MetadataEvent: "e", MetadataLines: `[{"kind":"primary","quantity":2,"unit_amount":5}]`}}))
	f.Add(stripeChargeBody("evt_2", "ch_1", "pi_1", true))
	f.Add([]byte(`{"type":"charge.refunded","data":{"object":{"payment_intent":{"id":"pi_1"},"refunded":true}}}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		ev, err := parseStripeBody(body, t0)
		checkEvent(t, ev, err)
		if err == nil && ev.Kind == EventOrderCompleted {
			if tk, _, _ := ev.Order.Totals(); tk < 0 {
				t.Fatalf("tickets %d", tk)
			}
		}
	})
}
