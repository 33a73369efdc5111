package webhook

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tracklink/tracklink"
	"github.com/tracklink/tracklink/adapters/memstore"
	"github.com/tracklink/tracklink/adapters/redisstore"
	"github.com/tracklink/tracklink/internal/redisstoretest"
	"github.com/tracklink/tracklink/internal/redistest"
	"github.com/tracklink/tracklink/webhook/webhooktest"
)

// benchStandardBody is a generic order.completed of about size bytes: a
// few lines plus a sender's own field, as a back office would send.
func benchStandardBody(size int) []byte {
	lines := make([]tracklink.Line, 8)
	for i := range lines {
		lines[i] = tracklink.Line{Kind: tracklink.LinePrimary, TicketType: fmt.Sprintf("type-%d", i), Quantity: 1 + i, UnitAmount: 2500}
	}
	base, _ := json.Marshal(map[string]any{"type": TypeOrderCompleted, "data": orderData{
		OrderID: "ord_0001", SessionRef: sessionN(1), Event: "summer-fest", Currency: "EUR", Lines: lines,
	}})
	return pad(base, size)
}

// benchStripeBody is a checkout.session.completed event of about size
// bytes, with the fields a real one carries.
func benchStripeBody(size int) []byte {
	obj := map[string]any{
		"id": "cs_test_a1b2c3", "object": "checkout.session", "amount_subtotal": 9000, "amount_total": 9000,
		"currency": "eur", "customer": "cus_123", "customer_email": nil, "client_reference_id": sessionN(1),
		"customer_details": map[string]any{"email": "ana@example.org", "name": "Ana", "address": map[string]any{"country": "DE", "city": "Berlin", "line1": "Street 1", "postal_code": "10115"}},
		"livemode":         false, "locale": "auto", "mode": "payment", "payment_intent": "pi_3abc",
		"payment_method_types": []string{"card", "sepa_debit"}, "payment_status": "paid", "status": "complete",
		"success_url":   "https://tickets.example.org/orders/success?session_id={CHECKOUT_SESSION_ID}",
		"cancel_url":    "https://tickets.example.org/events/summer-fest",
		"metadata":      map[string]string{MetadataEvent: "summer-fest", MetadataTickets: "3", MetadataPromoCode: "ANA10"},
		"total_details": map[string]any{"amount_discount": 0, "amount_shipping": 0, "amount_tax": 0},
		"automatic_tax": map[string]any{"enabled": false, "status": nil}, "expires_at": t0.Unix() + 86400,
	}
	return pad(stripeEventBody("evt_1", StripeCheckoutCompleted, t0.Unix(), obj), size)
}

// pad grows a JSON object body to size bytes with an extra field.
func pad(body []byte, size int) []byte {
	if n := size - len(body) - len(`,"x_pad":""`); n > 0 {
		body = append(body[:len(body)-1], `,"x_pad":"`+strings.Repeat("p", n)+`"}`...)
	}
	return body
}

var benchSizes = []int{256, 3 << 10, 64 << 10, 1 << 20}

// BenchmarkVerify bounds the signature check, the only work an
// unauthenticated sender can make us do besides reading the body: one
// HMAC-SHA256 over the body per secret. Target: ≤ 5 µs at 3 KB.
func BenchmarkVerify(b *testing.B) {
	std, _ := NewStandardWebhooks(stdSecretA)
	stripe, _ := NewStripe(stripeSecretA)
	for _, size := range benchSizes {
		body := pad([]byte(`{"type":"order.completed"}`), size)
		h := webhooktest.SignStandardWebhook(stdSecretA, "msg_1", t0, body)
		b.Run(fmt.Sprintf("standard/%dB", size), func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(body)))
			for b.Loop() {
				if _, _, err := std.Verify(h, body, t0); err != nil {
					b.Fatal(err)
				}
			}
		})
		sh := http.Header{}
		sh.Set(HeaderStripeSignature, webhooktest.SignStripe(stripeSecretA, t0, body))
		b.Run(fmt.Sprintf("stripe/%dB", size), func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(body)))
			for b.Loop() {
				if _, err := stripe.Verify(sh, body, t0); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
	// The peer: HMAC-SHA256 of 3 KB alone, the floor of Verify.
	b.Run("hmac-sha256/3072B", func(b *testing.B) {
		body := pad([]byte(`{}`), 3<<10)
		m := hmac.New(sha256.New, []byte(stripeSecretA))
		var sum [sha256.Size]byte
		b.ReportAllocs()
		b.SetBytes(int64(len(body)))
		for b.Loop() {
			m.Reset()
			m.Write(body)
			m.Sum(sum[:0])
		}
	})
	// A forged delivery costs the same HMAC; a stale one costs none.
	body := pad([]byte(`{}`), 3<<10)
	h := webhooktest.SignStandardWebhook(stdSecretB, "msg_1", t0, body)
	b.Run("standard/3072B/forged", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			_, _, _ = std.Verify(h, body, t0)
		}
	})
}

// BenchmarkOpen is verify + parse per provider for a 3 KB body.
func BenchmarkOpen(b *testing.B) {
	std, _ := NewStandardWebhooks(stdSecretA)
	stripe, _ := NewStripe(stripeSecretA)
	sb := benchStandardBody(3 << 10)
	sh := webhooktest.SignStandardWebhook(stdSecretA, "msg_1", t0, sb)
	b.Run("standard/3KB", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(sb)))
		for b.Loop() {
			if ev, err := std.Open(sh, sb, t0); err != nil || ev.Kind != EventOrderCompleted {
				b.Fatal(ev, err)
			}
		}
	})
	pb := benchStripeBody(3 << 10)
	ph := http.Header{}
	ph.Set(HeaderStripeSignature, webhooktest.SignStripe(stripeSecretA, t0, pb))
	b.Run("stripe/3KB", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(pb)))
		for b.Loop() {
			if ev, err := stripe.Open(ph, pb, t0); err != nil || ev.Kind != EventOrderCompleted {
				b.Fatal(ev, err)
			}
		}
	})
}

// BenchmarkHandler is a delivery end to end on memstore: new orders (each
// signed in the loop; "sign" is that share), and duplicates.
func BenchmarkHandler(b *testing.B) {
	s := memstore.New()
	h, err := NewHandler(Config{Store: s, Provider: MustStandardWebhooks(stdSecretA), Now: clockAt(t0)})
	if err != nil {
		b.Fatal(err)
	}
	b.Run("sign", func(b *testing.B) {
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			i++
			_ = stdRequest(stdSecretA, t0, completedBody(fmt.Sprintf("sign_%d", i), sessionN(1), "summer-fest", 2))
		}
	})
	b.Run("new", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			r := stdRequest(stdSecretA, t0, completedBody(newOrderID(), sessionN(1), "summer-fest", 2))
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			if w.Code != 200 {
				b.Fatal(w.Code, w.Body.String())
			}
		}
	})
	b.Run("duplicate", func(b *testing.B) {
		body := completedBody("dup", sessionN(1), "summer-fest", 2)
		r := stdRequest(stdSecretA, t0, body)
		b.ReportAllocs()
		for b.Loop() {
			r.Body = httpBody(body)
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			if w.Code != 200 {
				b.Fatal(w.Code, w.Body.String())
			}
		}
	})
}

// orderSeq numbers the new orders of every benchmark run, so that a run
// repeated by -count or by the benchmark's own calibration still sends
// new orders to a store that keeps the earlier ones.
var orderSeq atomic.Int64

func newOrderID() string { return fmt.Sprintf("new_%d", orderSeq.Add(1)) }

type nopBody struct{ *bytes.Reader }

func (nopBody) Close() error { return nil }

func httpBody(b []byte) nopBody { return nopBody{bytes.NewReader(b)} }

// BenchmarkHandlerRedis is the handler on a real Redis: a new order costs
// reading the session's touches, the atomic record script and the outbox
// ack; the roundtrips/op metric counts them with a go-redis hook.
func BenchmarkHandlerRedis(b *testing.B) {
	rdb, _ := redistest.Client(b)
	s := redisstoretest.New(rdb, redisstore.Options{Prefix: redistest.Prefix(b, rdb)})
	ctx := context.Background()
	if _, err := s.Stamp(ctx, tracklink.Stamp{Session: sessionN(1), TTL: time.Hour, Touch: tracklink.Touch{
		Channel: tracklink.ChannelPromoter, Source: "ana", Promoter: "ana", Event: "summer-fest", At: t0.Add(-time.Hour), Evidence: "param promoter=ana"}}); err != nil {
		b.Fatal(err)
	}
	rt := redistest.CountRoundTrips(rdb)
	h, err := NewHandler(Config{Store: s, Provider: MustStandardWebhooks(stdSecretA), Now: clockAt(t0)})
	if err != nil {
		b.Fatal(err)
	}
	b.Run("new", func(b *testing.B) {
		b.ReportAllocs()
		start, usec, i := rt.N(), redistest.CommandUsec(ctx, rdb), 0
		for b.Loop() {
			i++
			r := stdRequest(stdSecretA, t0, completedBody(newOrderID(), sessionN(1), "summer-fest", 2))
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			if w.Code != 200 {
				b.Fatal(w.Code, w.Body.String())
			}
		}
		b.ReportMetric(float64(rt.N()-start)/float64(i), "roundtrips/op")
		if end := redistest.CommandUsec(ctx, rdb); usec >= 0 && end >= usec {
			b.ReportMetric(float64(end-usec)/float64(i), "redis-µs/op")
		}
	})
	b.Run("duplicate", func(b *testing.B) {
		body := completedBody("dup", sessionN(1), "summer-fest", 2)
		r := stdRequest(stdSecretA, t0, body)
		b.ReportAllocs()
		start, i := rt.N(), 0
		for b.Loop() {
			i++
			r.Body = httpBody(body)
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			if w.Code != 200 {
				b.Fatal(w.Code, w.Body.String())
			}
		}
		b.ReportMetric(float64(rt.N()-start)/float64(i), "roundtrips/op")
	})
}
