package main

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/tracklink/tracklink"
)

// The fake payment provider. A real shop hands the order to Stripe or
// similar and gets a webhook once the payment went through; this one
// "processes" the payment in a goroutine and then calls the shop's
// webhook endpoint over real HTTP, signed per Standard Webhooks
// (https://www.standardwebhooks.com/), retrying on failure as a provider
// does. Nothing here is part of tracklink: it is the outside world.

// providerOrder is what the checkout hands to the provider.
type providerOrder struct {
	ID        string           `json:"order_id"`
	Session   string           `json:"session_ref,omitempty"`
	Event     string           `json:"event"`
	Currency  string           `json:"currency"`
	PromoCode string           `json:"promo_code,omitempty"`
	Lines     []tracklink.Line `json:"lines"`
	CreatedAt time.Time        `json:"created_at"`
}

// paymentProvider delivers order.completed webhooks.
type paymentProvider struct {
	url    string // the shop's webhook endpoint
	key    []byte // the signing key (the secret's base64 part, decoded)
	delay  time.Duration
	client *http.Client
	log    *slog.Logger
	// retries are the waits between delivery attempts.
	retries []time.Duration
	// done is called with the order id and whether a delivery succeeded.
	done func(id string, delivered bool)

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

func newPaymentProvider(url, secret string, delay time.Duration, log *slog.Logger, done func(string, bool)) (*paymentProvider, error) {
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, "whsec_"))
	if err != nil || !strings.HasPrefix(secret, "whsec_") {
		return nil, fmt.Errorf("demo: webhook secret must be whsec_<base64>")
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &paymentProvider{
		url: url, key: key, delay: delay, log: log, done: done,
		client:  &http.Client{Timeout: 10 * time.Second},
		retries: []time.Duration{500 * time.Millisecond, 2 * time.Second, 5 * time.Second},
		ctx:     ctx, cancel: cancel,
	}, nil
}

// charge starts processing o; the webhook follows after the delay.
func (p *paymentProvider) charge(o providerOrder) {
	p.wg.Go(func() {
		if !p.sleep(p.delay) {
			p.log.Warn("payment abandoned at shutdown", "order", o.ID)
			return
		}
		p.done(o.ID, p.deliver(o))
	})
}

// deliver posts the signed webhook, retrying on errors and non-2xx
// answers. The message id stays the same across attempts, as the spec
// asks, so the receiver may deduplicate by it.
func (p *paymentProvider) deliver(o providerOrder) bool {
	body, err := json.Marshal(struct {
		Type string        `json:"type"`
		Data providerOrder `json:"data"`
	}{"order.completed", o})
	if err != nil {
		p.log.Error("payment: encode webhook", "order", o.ID, "error", err)
		return false
	}
	msgID := "msg_" + o.ID
	for attempt := 0; ; attempt++ {
		status, err := p.post(msgID, body)
		if err == nil && status >= 200 && status < 300 {
			p.log.Debug("payment: webhook delivered", "order", o.ID, "status", status, "attempt", attempt+1)
			return true
		}
		p.log.Warn("payment: webhook delivery failed", "order", o.ID, "status", status, "error", err, "attempt", attempt+1)
		if attempt >= len(p.retries) || !p.sleep(p.retries[attempt]) {
			return false
		}
	}
}

func (p *paymentProvider) post(msgID string, body []byte) (int, error) {
	ctx, cancel := context.WithTimeout(p.ctx, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, p.url, bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	for k, v := range signStandardWebhook(p.key, msgID, time.Now(), body) {
		req.Header[k] = v
	}
	req.Header.Set("User-Agent", "demo-payments/1.0")
	resp, err := p.client.Do(req)
	if err != nil {
		return 0, err
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	return resp.StatusCode, nil
}

// signStandardWebhook returns the headers of a Standard Webhooks delivery:
// webhook-signature is "v1," + base64(HMAC-SHA256(key, id.timestamp.body)).
func signStandardWebhook(key []byte, msgID string, ts time.Time, body []byte) http.Header {
	unix := strconv.FormatInt(ts.Unix(), 10)
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(msgID + "." + unix + "."))
	mac.Write(body)
	h := http.Header{}
	h.Set("Content-Type", "application/json")
	h.Set("Webhook-Id", msgID)
	h.Set("Webhook-Timestamp", unix)
	h.Set("Webhook-Signature", "v1,"+base64.StdEncoding.EncodeToString(mac.Sum(nil)))
	return h
}

// sleep waits d unless the provider is closing; it reports whether it
// waited the whole time.
func (p *paymentProvider) sleep(d time.Duration) bool {
	if d <= 0 {
		return p.ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-p.ctx.Done():
		return false
	}
}

// close abandons pending payments and waits for the goroutines.
func (p *paymentProvider) close() {
	p.cancel()
	p.wg.Wait()
	// A spare connection the client dialled but never used would hold the
	// server's Shutdown for 5 s.
	p.client.CloseIdleConnections()
}
