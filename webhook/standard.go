package webhook

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/tracklink/tracklink"
)

// The Standard Webhooks headers (https://www.standardwebhooks.com/).
const (
	HeaderWebhookID        = "webhook-id"
	HeaderWebhookTimestamp = "webhook-timestamp"
	HeaderWebhookSignature = "webhook-signature"
)

// The generic order event types.
const (
	TypeOrderCompleted = "order.completed"
	TypeOrderRefunded  = "order.refunded"
)

// The headers' canonical forms (textproto.CanonicalMIMEHeaderKey), to read
// them without canonicalising per request.
const (
	canonicalWebhookID        = "Webhook-Id"
	canonicalWebhookTimestamp = "Webhook-Timestamp"
	canonicalWebhookSignature = "Webhook-Signature"
)

// headerValue is h.Get for a canonical key.
func headerValue(h http.Header, canonicalKey string) string {
	if v := h[canonicalKey]; len(v) > 0 {
		return v[0]
	}
	return ""
}

// StandardWebhooksTolerance is how far the webhook-timestamp may be from
// the receiver's clock, in either direction. The spec recommends five
// minutes: long enough for clock skew and a slow network, short enough that
// a captured delivery cannot be replayed later (replaying it within the
// window changes nothing either: orders are recorded once by id).
const StandardWebhooksTolerance = 5 * time.Minute

// Secret limits. The spec asks for keys of 24 to 64 bytes; we accept up to
// 128 so that a longer key from another sender still works.
const (
	minStandardKeyLen = 24
	maxStandardKeyLen = 128
	secretPrefix      = "whsec_"
)

// StandardWebhooksProvider verifies deliveries signed per the Standard
// Webhooks spec and parses tracklink's generic order format (see the
// package documentation).
type StandardWebhooksProvider struct {
	keys []*macPool
}

var _ Provider = (*StandardWebhooksProvider)(nil)

// macPool keeps keyed HMAC-SHA256 states for one secret: Reset returns an
// HMAC to its keyed state, so a delivery neither re-derives the key pads
// nor allocates.
type macPool struct{ p sync.Pool }

type macState struct {
	h       hash.Hash
	scratch []byte // the signed content's prefix ("id.ts." or "t.")
	sum     [sha256.Size]byte
}

func newMACPool(key []byte) *macPool {
	k := append([]byte(nil), key...)
	mp := &macPool{}
	mp.p.New = func() any { return &macState{h: hmac.New(sha256.New, k), scratch: make([]byte, 0, 64)} }
	return mp
}

// sum returns HMAC-SHA256(key, prefix[0] + "." + prefix[1] + "." … + body):
// the prefix strings each followed by a dot, then the body.
func (mp *macPool) sum(body []byte, prefix ...string) [sha256.Size]byte {
	m := mp.p.Get().(*macState)
	m.scratch = m.scratch[:0]
	for _, p := range prefix {
		m.scratch = append(append(m.scratch, p...), '.')
	}
	m.h.Reset()
	m.h.Write(m.scratch)
	m.h.Write(body)
	m.h.Sum(m.sum[:0])
	out := m.sum
	if cap(m.scratch) <= 1024 { // keep pooled states small
		mp.p.Put(m)
	}
	return out
}

// NewStandardWebhooks returns a provider that accepts deliveries signed with
// any of secrets (several during a rotation). Each secret is the sender's
// "whsec_" followed by standard base64 of a 24 to 128 byte key; the prefix
// may be left out.
func NewStandardWebhooks(secrets ...string) (*StandardWebhooksProvider, error) {
	if len(secrets) == 0 {
		return nil, errors.New("webhook: standard webhooks: no secret")
	}
	p := &StandardWebhooksProvider{}
	for i, s := range secrets {
		key, err := decodeStandardSecret(s)
		if err != nil {
			return nil, fmt.Errorf("webhook: standard webhooks: secret %d: %w", i, err)
		}
		p.keys = append(p.keys, newMACPool(key))
	}
	return p, nil
}

// MustStandardWebhooks is NewStandardWebhooks for wiring code: it panics
// when a secret is malformed, which is a configuration mistake, not request
// data.
func MustStandardWebhooks(secret string, more ...string) Provider {
	p, err := NewStandardWebhooks(append([]string{secret}, more...)...)
	if err != nil {
		panic(err)
	}
	return p
}

// StandardWebhooks is MustStandardWebhooks.
//
// Deprecated: use MustStandardWebhooks, whose name says that it panics, or
// NewStandardWebhooks.
func StandardWebhooks(secret string, more ...string) Provider {
	return MustStandardWebhooks(secret, more...)
}

func decodeStandardSecret(s string) ([]byte, error) {
	s = strings.TrimPrefix(s, secretPrefix)
	key, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		return nil, errors.New("not whsec_ followed by standard base64")
	}
	if len(key) < minStandardKeyLen || len(key) > maxStandardKeyLen {
		return nil, fmt.Errorf("key is %d bytes, want %d to %d", len(key), minStandardKeyLen, maxStandardKeyLen)
	}
	return key, nil
}

// Verify checks the webhook-signature of body at time now and returns the
// delivery's id and signed timestamp. It computes one HMAC per configured
// secret and compares it in constant time with every v1 entry of the
// header; entries of other versions are skipped.
func (p *StandardWebhooksProvider) Verify(h http.Header, body []byte, now time.Time) (id string, ts time.Time, err error) {
	id, tsRaw, sig := headerValue(h, canonicalWebhookID), headerValue(h, canonicalWebhookTimestamp), h[canonicalWebhookSignature]
	if id == "" && tsRaw == "" && len(sig) == 0 {
		return "", time.Time{}, ErrNoSignature
	}
	if id == "" || len(id) > maxDeliveryIDLen {
		return "", time.Time{}, fmt.Errorf("%w: webhook-id must be 1 to %d bytes", ErrInvalidHeader, maxDeliveryIDLen)
	}
	secs, ok := parseUnixSeconds(tsRaw)
	if !ok {
		return "", time.Time{}, fmt.Errorf("%w: webhook-timestamp is not unix seconds", ErrInvalidHeader)
	}
	ts = time.Unix(secs, 0).UTC()
	sigs, ok := parseStandardSignatures(sig)
	if !ok {
		return "", time.Time{}, ErrNoSignature
	}
	if err := checkTimestamp(ts, now, StandardWebhooksTolerance); err != nil {
		return "", time.Time{}, err
	}
	var enc [44]byte // base64 of 32 bytes
	for _, k := range p.keys {
		mac := k.sum(body, id, tsRaw)
		base64.StdEncoding.Encode(enc[:], mac[:])
		if sigs.match(enc[:]) {
			return id, ts, nil
		}
	}
	return "", time.Time{}, ErrNoValidSignature
}

// parseUnixSeconds reads 1 to 19 ASCII digits.
func parseUnixSeconds(s string) (int64, bool) {
	if s == "" || len(s) > 19 {
		return 0, false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	return n, err == nil
}

// standardSignatures are the values of the webhook-signature header
// (normally one): space-separated "<version>,<base64>" entries.
type standardSignatures []string

// parseStandardSignatures reports whether the header holds at least one
// non-empty v1 entry.
func parseStandardSignatures(values []string) (standardSignatures, bool) {
	s := standardSignatures(values)
	found := false
	s.each(func(string) bool { found = true; return false })
	return s, found
}

// match reports whether a v1 entry equals want (base64), comparing in
// constant time.
func (s standardSignatures) match(want []byte) bool {
	ok := false
	s.each(func(sig string) bool {
		ok = hmac.Equal(want, []byte(sig))
		return !ok
	})
	return ok
}

// each calls fn with the base64 part of every v1 entry, in order, until
// fn returns false.
func (s standardSignatures) each(fn func(sig string) bool) {
	for _, h := range s {
		for h != "" {
			var e string
			h = strings.TrimLeft(h, " \t")
			e, h, _ = strings.Cut(h, " ")
			v, sig, ok := strings.Cut(e, ",")
			if !ok || v != "v1" || sig == "" {
				continue
			}
			if !fn(strings.TrimRight(sig, "\t")) {
				return
			}
		}
	}
}

// Open verifies the delivery and parses the generic order format.
func (p *StandardWebhooksProvider) Open(h http.Header, body []byte, now time.Time) (Event, error) {
	id, ts, err := p.Verify(h, body, now)
	if err != nil {
		return Event{}, err
	}
	ev, err := parseStandardBody(body, ts)
	ev.DeliveryID = id
	return ev, err
}

// standardEnvelope is the generic format's outer object.
type standardEnvelope struct {
	Type string          `json:"type"`
	Data json.RawMessage `json:"data"`
}

// standardOrder is the data of order.completed and order.refunded.
type standardOrder struct {
	OrderID    string   `json:"order_id"`
	SessionRef string   `json:"session_ref"`
	Event      string   `json:"event"`
	Currency   string   `json:"currency"`
	PromoCode  string   `json:"promo_code"`
	Lines      lineList `json:"lines"`
	CreatedAt  string   `json:"created_at"`
	RefundedAt string   `json:"refunded_at"`
	// order.refunded only: a partial refund names its amount (minor
	// units) and/or the ticket lines it returned, and its refund_id.
	Amount   *int64 `json:"amount"`
	RefundID string `json:"refund_id"`
}

// maxFuture bounds an order's own timestamp against the delivery's: an
// order cannot be created long after it was signed. The bound is loose so
// that a sender's clock skew never loses a sale, and tight enough that a
// bogus date cannot file a sale under next year.
const maxFuture = 24 * time.Hour

// parseStandardBody parses a verified generic body; ts is the signed
// webhook-timestamp, the default time of the order or refund.
func parseStandardBody(body []byte, ts time.Time) (Event, error) {
	var env standardEnvelope
	if err := json.Unmarshal(body, &env); err != nil {
		return Event{}, badPayload("%s", jsonError(err))
	}
	ev := Event{Type: clip(env.Type, maxTypeLen), At: ts}
	switch env.Type {
	case TypeOrderCompleted, TypeOrderRefunded:
	case "":
		return Event{}, badPayload("type is required")
	default:
		ev.Kind, ev.Reason = EventIgnored, "unhandled event type"
		return ev, nil
	}
	if len(env.Data) == 0 || string(env.Data) == "null" {
		return Event{}, badPayload("data is required")
	}
	var d standardOrder
	if err := json.Unmarshal(env.Data, &d); err != nil {
		return Event{}, badPayload("data: %s", jsonError(err))
	}
	if !validOrderID(d.OrderID) {
		return Event{}, badPayload("data.order_id must be 1 to %d printable characters", tracklink.MaxOrderIDLen)
	}
	ev.OrderID = d.OrderID

	if env.Type == TypeOrderRefunded {
		at, err := eventTime(d.RefundedAt, ts)
		if err != nil {
			ev.ignore("order %s: data.refunded_at %v; using the delivery's timestamp", clip(d.OrderID, 40), err)
			at = ts
		}
		ev.Kind, ev.At = EventOrderRefunded, at
		if d.Amount == nil && d.Lines == nil {
			return ev, nil
		}
		return standardPartialRefund(ev, d)
	}

	at, err := eventTime(d.CreatedAt, ts)
	if err != nil {
		ev.ignore("order %s: data.created_at %v; using the delivery's timestamp", clip(d.OrderID, 40), err)
		at = ts
	}
	o := tracklink.Order{
		ID:        d.OrderID,
		Session:   d.SessionRef,
		Event:     d.Event,
		Currency:  d.Currency,
		PromoCode: d.PromoCode,
		Lines:     []tracklink.Line(d.Lines),
		At:        at,
	}
	ev.Ignored = append(ev.Ignored, o.Sanitize()...)
	if err := o.Validate(); err != nil {
		return Event{}, invalidOrder(err)
	}
	ev.Kind, ev.Order, ev.At = EventOrderCompleted, o, at
	return ev, nil
}

// standardPartialRefund reads an order.refunded that names an amount or
// lines: a partial refund of refund_id (required). Its amount is amount,
// else the primary revenue of its lines; its tickets are the primary
// quantities of its lines (resold and transferred lines count in no
// figure). A refund of the whole amount refunds the order in full.
func standardPartialRefund(ev Event, d standardOrder) (Event, error) {
	if !tracklink.ValidRefundID(d.RefundID) {
		return Event{}, badPayload("data.refund_id must be 1 to %d printable characters for a refund with an amount or lines", tracklink.MaxRefundIDLen)
	}
	r := tracklink.Refund{OrderID: d.OrderID, RefundID: d.RefundID, At: ev.At}
	if d.Lines != nil {
		if err := tracklink.ValidateLines(d.Lines); err != nil {
			return Event{}, badPayload("data.lines: %v", err)
		}
		o := tracklink.Order{Lines: d.Lines}
		r.Tickets, r.Amount, _ = o.Totals()
	}
	if d.Amount != nil {
		r.Amount = *d.Amount
	}
	if err := r.Check(); err != nil {
		return Event{}, badPayload("data: refund: %v", err)
	}
	ev.Kind, ev.Refund = EventPartialRefund, r
	return ev, nil
}

// eventTime reads an optional RFC 3339 time, defaulting to the signed
// timestamp, and refuses one far after it.
func eventTime(s string, ts time.Time) (time.Time, error) {
	if s == "" {
		return ts, nil
	}
	if len(s) > 64 {
		return time.Time{}, errors.New("not an RFC 3339 time")
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return time.Time{}, errors.New("not an RFC 3339 time")
	}
	if t.Sub(ts) > maxFuture {
		return time.Time{}, errors.New("more than a day after the delivery was signed")
	}
	if t.Year() < 2000 {
		return time.Time{}, errors.New("before the year 2000")
	}
	return t.UTC(), nil
}

// jsonError shortens encoding/json's messages for a response body.
func jsonError(err error) string {
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return fmt.Sprintf("malformed JSON at byte %d", se.Offset)
	}
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		if te.Field != "" {
			return fmt.Sprintf("%s: wrong JSON type %s", clip(te.Field, 60), te.Value)
		}
		return fmt.Sprintf("wrong JSON type %s", te.Value)
	}
	return clip(strings.TrimPrefix(err.Error(), "json: "), 200)
}
