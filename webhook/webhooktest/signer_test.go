package webhooktest_test

import (
	"encoding/base64"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/tracklink/tracklink/webhook/webhooktest"
)

// The Standard Webhooks reference vector (the spec's libraries test
// against it); recomputed with
//
//	printf '%s' 'msg_p5jXN8AQM9LWM0D4loKWxJek.1614265330.{"test": 2432232314}' |
//	  openssl dgst -sha256 -mac HMAC -macopt hexkey:$(echo -n MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw | base64 -d | xxd -p -c 100) -binary | base64
func TestSignStandardWebhookKnownAnswer(t *testing.T) {
	h := webhooktest.SignStandardWebhook("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
		"msg_p5jXN8AQM9LWM0D4loKWxJek", time.Unix(1614265330, 0), []byte(`{"test": 2432232314}`))
	want := map[string]string{
		"webhook-id":        "msg_p5jXN8AQM9LWM0D4loKWxJek",
		"webhook-timestamp": "1614265330",
		"webhook-signature": "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=",
		"Content-Type":      "application/json",
	}
	for k, v := range want {
		if got := h.Get(k); got != v {
			t.Errorf("%s = %q, want %q", k, got, v)
		}
	}
	// The prefix is optional.
	h2 := webhooktest.SignStandardWebhook("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
		"msg_p5jXN8AQM9LWM0D4loKWxJek", time.Unix(1614265330, 0), []byte(`{"test": 2432232314}`))
	if h2.Get("webhook-signature") != want["webhook-signature"] {
		t.Errorf("without whsec_: %q", h2.Get("webhook-signature"))
	}
}

// Recomputed with
//
//	printf '%s' '1614265330.{"id":"evt_test","type":"checkout.session.completed"}' |
//	  openssl dgst -sha256 -hmac whsec_test_secret_for_tracklink
func TestSignStripeKnownAnswer(t *testing.T) {
	got := webhooktest.SignStripe("whsec_test_secret_for_tracklink", time.Unix(1614265330, 0),
		[]byte(`{"id":"evt_test","type":"checkout.session.completed"}`))
	want := "t=1614265330,v1=d796dd300f9eb17637328285526ad0d2877c59ff9fa6b478c6f4471e9e72b5d2"
	if got != want {
		t.Errorf("SignStripe = %q, want %q", got, want)
	}
}

func TestNewStandardWebhookSecret(t *testing.T) {
	a, b := webhooktest.NewStandardWebhookSecret(), webhooktest.NewStandardWebhookSecret()
	if a == b {
		t.Fatal("two secrets are equal")
	}
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(a, "whsec_"))
	if !strings.HasPrefix(a, "whsec_") || err != nil || len(key) != 32 {
		t.Fatalf("secret %q: want whsec_ + base64 of 32 bytes (err %v, %d bytes)", a, err, len(key))
	}
}

func TestSignedRequests(t *testing.T) {
	body := []byte(`{"type":"order.refunded","data":{"order_id":"o1"}}`)
	secret := webhooktest.NewStandardWebhookSecret()
	before := time.Now().Unix()
	r := webhooktest.StandardWebhookRequest("http://shop.test/webhooks", secret, body)
	if r.Method != "POST" || r.URL.Path != "/webhooks" || r.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("request %s %s %q", r.Method, r.URL, r.Header.Get("Content-Type"))
	}
	ts := r.Header.Get("webhook-timestamp")
	again := webhooktest.SignStandardWebhook(secret, r.Header.Get("webhook-id"), time.Unix(before, 0), body)
	if ts == again.Get("webhook-timestamp") && again.Get("webhook-signature") != r.Header.Get("webhook-signature") {
		t.Errorf("request signature %q, recomputed %q", r.Header.Get("webhook-signature"), again.Get("webhook-signature"))
	}
	if !strings.HasPrefix(r.Header.Get("webhook-id"), "msg_") {
		t.Errorf("webhook-id %q", r.Header.Get("webhook-id"))
	}
	got, _ := io.ReadAll(r.Body)
	if string(got) != string(body) || r.ContentLength != int64(len(body)) {
		t.Errorf("body %q (ContentLength %d)", got, r.ContentLength)
	}

	s := webhooktest.StripeRequest("http://shop.test/stripe", "whsec_x", body)
	if sig := s.Header.Get("Stripe-Signature"); !strings.HasPrefix(sig, "t=") || !strings.Contains(sig, ",v1=") {
		t.Errorf("Stripe-Signature %q", sig)
	}
}
