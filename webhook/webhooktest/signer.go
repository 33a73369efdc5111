package webhooktest

// The test signer: sign webhook deliveries the way the payment providers
// do, so that a host's tests (and ours) can post orders to the webhook
// receiver without a real provider. Like stripe-go's
// GenerateTestSignedPayload, it is for tests and demos: production code
// never signs.

import (
	"bytes"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// NewStandardWebhookSecret returns a fresh Standard Webhooks secret:
// "whsec_" followed by standard base64 of 32 random bytes.
func NewStandardWebhookSecret() string {
	key := make([]byte, 32)
	_, _ = rand.Read(key) // crypto/rand.Read never fails
	return "whsec_" + base64.StdEncoding.EncodeToString(key)
}

// SignStandardWebhook signs body as a Standard Webhooks sender does and
// returns the webhook-id, webhook-timestamp and webhook-signature headers
// (plus Content-Type: application/json). The signature is
// "v1," + base64(HMAC-SHA256(key, msgID + "." + unix seconds + "." + body)),
// key being the base64 after the secret's "whsec_" prefix. It panics when
// secret is not base64 (a mistake in the test, not data).
func SignStandardWebhook(secret, msgID string, ts time.Time, body []byte) http.Header {
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, "whsec_"))
	if err != nil {
		panic(fmt.Sprintf("webhooktest: SignStandardWebhook: secret is not whsec_<base64>: %v", err))
	}
	unix := strconv.FormatInt(ts.Unix(), 10)
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(msgID))
	mac.Write([]byte{'.'})
	mac.Write([]byte(unix))
	mac.Write([]byte{'.'})
	mac.Write(body)
	h := make(http.Header, 4)
	h.Set("Content-Type", "application/json")
	h.Set("webhook-id", msgID)
	h.Set("webhook-timestamp", unix)
	h.Set("webhook-signature", "v1,"+base64.StdEncoding.EncodeToString(mac.Sum(nil)))
	return h
}

// SignStripe returns the Stripe-Signature header value Stripe would send
// for body at ts with the endpoint secret: "t=<unix>,v1=<hex HMAC-SHA256
// of "t.body" keyed by the whole secret string>".
func SignStripe(secret string, ts time.Time, body []byte) string {
	unix := strconv.FormatInt(ts.Unix(), 10)
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(unix))
	mac.Write([]byte{'.'})
	mac.Write(body)
	return "t=" + unix + ",v1=" + hex.EncodeToString(mac.Sum(nil))
}

// StandardWebhookRequest returns a POST of body to url signed with secret
// now, under a fresh message id. It works both with http.Client.Do and
// with a handler's ServeHTTP. It panics on a malformed url or secret.
func StandardWebhookRequest(url, secret string, body []byte) *http.Request {
	r := signerRequest(url, body)
	for k, v := range SignStandardWebhook(secret, "msg_"+signerRandomID(), time.Now(), body) {
		r.Header[k] = v
	}
	return r
}

// StripeRequest returns a POST of body to url signed now with the Stripe
// endpoint secret. It panics on a malformed url.
func StripeRequest(url, secret string, body []byte) *http.Request {
	r := signerRequest(url, body)
	r.Header.Set("Content-Type", "application/json; charset=utf-8")
	r.Header.Set("Stripe-Signature", SignStripe(secret, time.Now(), body))
	return r
}

func signerRequest(url string, body []byte) *http.Request {
	r, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		panic(fmt.Sprintf("webhooktest: %v", err))
	}
	return r
}

// signerRandomID returns 16 random bytes in unpadded URL-safe base64.
func signerRandomID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}
