package webhook

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/tracklink/tracklink"
	"github.com/tracklink/tracklink/webhook/webhooktest"
)

// t0 is the fixed time deliveries are signed at unless a test says
// otherwise.
var t0 = time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)

// Fixed secrets, so failures reproduce.
var (
	stdSecretA    = "whsec_" + base64.StdEncoding.EncodeToString([]byte("tracklink-test-secret-A-32-bytes"))
	stdSecretB    = "whsec_" + base64.StdEncoding.EncodeToString([]byte("tracklink-test-secret-B-32-bytes"))
	stripeSecretA = "whsec_stripeTestSecretA0123456789"
	stripeSecretB = "whsec_stripeTestSecretB0123456789"
)

// patientStoreTimeout is the StoreTimeout of tests against a real store
// that are not about deadlines: long enough that a loaded machine (-race,
// a high load average, the miniredis fallback) never turns a delivery into
// a 503, short enough that a hung store still fails the test.
const patientStoreTimeout = 30 * time.Second

// sessionN is a valid, distinct session reference.
func sessionN(n int) string { return fmt.Sprintf("sess%018d", n) }

// orderData is the data of a generic order.completed body.
type orderData struct {
	OrderID    string           `json:"order_id"`
	SessionRef string           `json:"session_ref,omitempty"`
	Event      string           `json:"event"`
	Currency   string           `json:"currency"`
	PromoCode  string           `json:"promo_code,omitempty"`
	CreatedAt  string           `json:"created_at,omitempty"`
	Lines      []tracklink.Line `json:"lines"`
}

// completedBody is a generic order.completed body: qty primary tickets at
// 2500 cents, plus one resale line.
func completedBody(id, session, event string, qty int) []byte {
	return marshalBody(TypeOrderCompleted, orderData{
		OrderID: id, SessionRef: session, Event: event, Currency: "EUR",
		Lines: []tracklink.Line{
			{Kind: tracklink.LinePrimary, TicketType: "GA", Quantity: qty, UnitAmount: 2500},
			{Kind: tracklink.LineResale, Quantity: 1, UnitAmount: 3000},
		},
	})
}

func refundedBody(id string) []byte {
	return []byte(fmt.Sprintf(`{"type":"order.refunded","data":{"order_id":%q}}`, id))
}

func marshalBody(typ string, data any) []byte {
	b, err := json.Marshal(map[string]any{"type": typ, "data": data})
	if err != nil {
		panic(err)
	}
	return b
}

// stdRequest is a generic delivery signed with secret at ts.
func stdRequest(secret string, ts time.Time, body []byte) *http.Request {
	r := httptest.NewRequest(http.MethodPost, "/webhooks/orders", bytes.NewReader(body))
	for k, v := range webhooktest.SignStandardWebhook(secret, "msg_"+fmt.Sprint(ts.UnixNano()), ts, body) {
		r.Header[k] = v
	}
	return r
}

// stripeSessionSpec describes a Stripe checkout.session.* event body.
type stripeSessionSpec struct {
	EventID, Type                      string
	SessionID, PaymentIntent           string
	ClientRef, Currency, PaymentStatus string
	AmountTotal                        int64
	Metadata                           map[string]string
	Created                            int64 // unix seconds, default t0
}

func stripeSessionBody(s stripeSessionSpec) []byte {
	if s.Type == "" {
		s.Type = StripeCheckoutCompleted
	}
	if s.Currency == "" {
		s.Currency = "eur"
	}
	if s.PaymentStatus == "" {
		s.PaymentStatus = "paid"
	}
	if s.Created == 0 {
		s.Created = t0.Unix()
	}
	obj := map[string]any{
		"id": s.SessionID, "object": "checkout.session", "amount_total": s.AmountTotal,
		"currency": s.Currency, "payment_status": s.PaymentStatus, "status": "complete",
		"mode": "payment", "metadata": s.Metadata, "livemode": false,
		"client_reference_id": nil, "payment_intent": nil,
	}
	if s.ClientRef != "" {
		obj["client_reference_id"] = s.ClientRef
	}
	if s.PaymentIntent != "" {
		obj["payment_intent"] = s.PaymentIntent
	}
	return stripeEventBody(s.EventID, s.Type, s.Created, obj)
}

func stripeChargeBody(eventID, chargeID, pi string, refunded bool) []byte {
	obj := map[string]any{
		"id": chargeID, "object": "charge", "amount": 5000, "amount_refunded": 5000,
		"refunded": refunded, "payment_intent": pi, "currency": "eur", "metadata": map[string]string{},
	}
	if !refunded {
		obj["amount_refunded"] = 1000
	}
	return stripeEventBody(eventID, StripeChargeRefunded, t0.Unix(), obj)
}

func stripeEventBody(id, typ string, created int64, obj any) []byte {
	b, err := json.Marshal(map[string]any{
		"id": id, "object": "event", "api_version": "2025-03-31.basil", "created": created,
		"type": typ, "livemode": false, "pending_webhooks": 1,
		"data": map[string]any{"object": obj},
	})
	if err != nil {
		panic(err)
	}
	return b
}

func stripeRequest(secret string, ts time.Time, body []byte) *http.Request {
	r := httptest.NewRequest(http.MethodPost, "/webhooks/stripe", bytes.NewReader(body))
	r.Header.Set("Content-Type", "application/json; charset=utf-8")
	r.Header.Set(HeaderStripeSignature, webhooktest.SignStripe(secret, ts, body))
	return r
}

// serve runs one request through h and returns the recorder.
func serve(h http.Handler, r *http.Request) *httptest.ResponseRecorder {
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

// decodeResult reads a 200/202 body.
func decodeResult(t *testing.T, w *httptest.ResponseRecorder) result {
	t.Helper()
	var res result
	if err := json.Unmarshal(w.Body.Bytes(), &res); err != nil {
		t.Fatalf("response %d %q is not JSON: %v", w.Code, w.Body.String(), err)
	}
	return res
}

// clockAt returns a Now func that reads t.
func clockAt(t time.Time) func() time.Time { return func() time.Time { return t } }

// trimmed is for comparing plain-text bodies.
func trimmed(w *httptest.ResponseRecorder) string { return strings.TrimSpace(w.Body.String()) }
