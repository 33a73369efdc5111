package webhook

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/tracklink/tracklink"
)

// HeaderStripeSignature is the header Stripe signs its deliveries in.
const HeaderStripeSignature = "Stripe-Signature"

// StripeTolerance is how far a Stripe-Signature timestamp may be from the
// receiver's clock, in either direction: Stripe's own libraries default to
// 300 seconds. Stripe signs every retry afresh, so a retried delivery is
// never stale.
const StripeTolerance = 300 * time.Second

// The Stripe event types the provider reads. Every other type is ignored.
const (
	StripeCheckoutCompleted           = "checkout.session.completed"
	StripeCheckoutAsyncPaymentSucceed = "checkout.session.async_payment_succeeded"
	StripeChargeRefunded              = "charge.refunded"
)

// The Checkout Session metadata keys the host sets when it creates the
// session (Stripe metadata values are strings of at most 500 characters).
const (
	// MetadataEvent is the event slug the tickets are for. Required: a
	// Checkout Session without it is not a tracklink order and is ignored
	// (the same Stripe account may sell other things).
	MetadataEvent = "tracklink_event"
	// MetadataSession is the session reference (tracklink.Visit.Session)
	// when client_reference_id is used for something else.
	MetadataSession = "tracklink_session"
	// MetadataLines is the order's ticket lines as a compact JSON array in
	// the generic format, e.g.
	// [{"kind":"primary","ticket_type":"GA","quantity":2,"unit_amount":2500}].
	// Its unit amounts are the revenue; amount_total is not read.
	MetadataLines = "tracklink_lines"
	// MetadataTickets is the number of primary tickets when
	// MetadataLines is absent; amount_total is then the revenue.
	MetadataTickets = "tracklink_tickets"
	// MetadataPromoCode is the checkout promo code: one a registered
	// promoter owns credits that promoter, over the session's touch unless
	// Config.Precedence is tracklink.LinkFirst and the touch is explicit.
	MetadataPromoCode = "tracklink_promo_code"
)

// maxMetadataLen is Stripe's cap on a metadata value.
const maxMetadataLen = 500

// StripeProvider verifies Stripe webhook deliveries and reads paid
// Checkout Sessions and refunded charges (see the package documentation).
type StripeProvider struct {
	keys []*macPool
}

var _ Provider = (*StripeProvider)(nil)

// NewStripe returns a provider that accepts deliveries signed with any of
// secrets: the endpoint's signing secrets ("whsec_…", several while Stripe
// rolls a secret). Stripe uses the whole string, prefix included, as the
// HMAC key.
func NewStripe(secrets ...string) (*StripeProvider, error) {
	if len(secrets) == 0 {
		return nil, errors.New("webhook: stripe: no secret")
	}
	p := &StripeProvider{}
	for i, s := range secrets {
		if !strings.HasPrefix(s, secretPrefix) || len(s) == len(secretPrefix) || strings.TrimSpace(s) != s {
			return nil, fmt.Errorf("webhook: stripe: secret %d is not an endpoint signing secret (whsec_…)", i)
		}
		p.keys = append(p.keys, newMACPool([]byte(s)))
	}
	return p, nil
}

// MustStripe is NewStripe for wiring code: it panics when a secret is
// malformed, which is a configuration mistake, not request data.
func MustStripe(secret string, more ...string) Provider {
	p, err := NewStripe(append([]string{secret}, more...)...)
	if err != nil {
		panic(err)
	}
	return p
}

// Stripe is MustStripe.
//
// Deprecated: use MustStripe, whose name says that it panics, or NewStripe.
func Stripe(secret string, more ...string) Provider { return MustStripe(secret, more...) }

// stripeHeader is a parsed Stripe-Signature value.
type stripeHeader struct {
	t    string // the timestamp as signed
	secs int64
	v1   [maxStripeSignatures]string // hex signatures of scheme v1
	n    int                         // how many of v1 are set
}

// signatures returns the v1 signatures.
func (sh *stripeHeader) signatures() []string { return sh.v1[:sh.n] }

// parseStripeHeader reads "t=<unix>,v1=<hex>,v1=<hex>,v0=…". Unknown
// schemes (v0, the test-mode scheme) are skipped; exactly one t is
// required.
func parseStripeHeader(h string) (stripeHeader, error) {
	var sh stripeHeader
	if h == "" {
		return sh, ErrNoSignature
	}
	seenT := false
	for part := range strings.SplitSeq(h, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			continue
		}
		switch k {
		case "t":
			secs, ok := parseUnixSeconds(v)
			if !ok || seenT {
				return stripeHeader{}, fmt.Errorf("%w: Stripe-Signature needs one t=<unix seconds>", ErrInvalidHeader)
			}
			sh.t, sh.secs, seenT = v, secs, true
		case "v1":
			if v != "" && sh.n < maxStripeSignatures {
				sh.v1[sh.n] = v
				sh.n++
			}
		}
	}
	if !seenT {
		return stripeHeader{}, fmt.Errorf("%w: Stripe-Signature has no t=", ErrInvalidHeader)
	}
	if sh.n == 0 {
		return stripeHeader{}, ErrNoSignature
	}
	return sh, nil
}

// maxStripeSignatures bounds the v1 entries compared (Stripe sends one per
// active secret, two during a roll).
const maxStripeSignatures = 16

// Verify checks the Stripe-Signature of body at time now and returns the
// signed timestamp. It computes one HMAC-SHA256 of "t.body" per
// configured secret and compares it in constant time with every v1
// signature of the header.
func (p *StripeProvider) Verify(h http.Header, body []byte, now time.Time) (time.Time, error) {
	sh, err := parseStripeHeader(headerValue(h, HeaderStripeSignature))
	if err != nil {
		return time.Time{}, err
	}
	ts := time.Unix(sh.secs, 0).UTC()
	if err := checkTimestamp(ts, now, StripeTolerance); err != nil {
		return time.Time{}, err
	}
	var got [sha256.Size]byte
	for _, k := range p.keys {
		mac := k.sum(body, sh.t)
		for _, s := range sh.signatures() {
			if len(s) != hex.EncodedLen(sha256.Size) {
				continue
			}
			if _, err := hex.Decode(got[:], []byte(s)); err != nil {
				continue
			}
			if hmac.Equal(mac[:], got[:]) {
				return ts, nil
			}
		}
	}
	return time.Time{}, ErrNoValidSignature
}

// Open verifies the delivery and reads the Stripe event.
func (p *StripeProvider) Open(h http.Header, body []byte, now time.Time) (Event, error) {
	ts, err := p.Verify(h, body, now)
	if err != nil {
		return Event{}, err
	}
	return parseStripeBody(body, ts)
}

// stripeEvent is the part of a Stripe Event object the provider reads.
type stripeEvent struct {
	ID      string `json:"id"`
	Type    string `json:"type"`
	Created int64  `json:"created"`
	Data    struct {
		Object json.RawMessage `json:"object"`
	} `json:"data"`
}

// stripeSession is the part of a Checkout Session the provider reads.
type stripeSession struct {
	ID                string            `json:"id"`
	ClientReferenceID *string           `json:"client_reference_id"`
	Currency          *string           `json:"currency"`
	AmountTotal       *int64            `json:"amount_total"`
	PaymentStatus     string            `json:"payment_status"`
	PaymentIntent     stripeID          `json:"payment_intent"`
	Metadata          map[string]string `json:"metadata"`
}

// stripeCharge is the part of a Charge the provider reads.
type stripeCharge struct {
	ID             string   `json:"id"`
	Refunded       bool     `json:"refunded"`
	PaymentIntent  stripeID `json:"payment_intent"`
	Amount         int64    `json:"amount"`
	AmountRefunded int64    `json:"amount_refunded"`
	Refunds        *struct {
		Data stripeRefundList `json:"data"`
	} `json:"refunds"`
}

// stripeRefundObj is the part of a Refund object the provider reads.
type stripeRefundObj struct {
	ID      string `json:"id"`
	Amount  int64  `json:"amount"`
	Created int64  `json:"created"`
}

// maxStripeRefunds bounds the refunds read from a charge's list (Stripe
// embeds at most 10, newest first).
const maxStripeRefunds = 100

// stripeRefundList is a JSON array of refunds that stops reading past
// maxStripeRefunds entries.
type stripeRefundList []stripeRefundObj

func (l *stripeRefundList) UnmarshalJSON(b []byte) error {
	if bytes.Equal(bytes.TrimSpace(b), []byte("null")) {
		*l = nil
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	if tok, err := dec.Token(); err != nil {
		return err
	} else if d, ok := tok.(json.Delim); !ok || d != '[' {
		return errors.New("refunds.data must be an array")
	}
	var out stripeRefundList
	for dec.More() {
		if len(out) == maxStripeRefunds {
			return fmt.Errorf("more than %d refunds", maxStripeRefunds)
		}
		var r stripeRefundObj
		if err := dec.Decode(&r); err != nil {
			return err
		}
		out = append(out, r)
	}
	if _, err := dec.Token(); err != nil {
		return err
	}
	*l = out
	return nil
}

// stripeCumulativePrefix starts the refund id derived for a charge whose
// refunds list is absent: "amount_refunded:<cumulative amount>".
const stripeCumulativePrefix = "amount_refunded:"

// stripeID is an expandable reference: an id string, null, or the
// expanded object with an "id".
type stripeID string

func (s *stripeID) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	switch {
	case bytes.Equal(b, []byte("null")):
		*s = ""
		return nil
	case len(b) > 0 && b[0] == '{':
		var o struct {
			ID string `json:"id"`
		}
		if err := json.Unmarshal(b, &o); err != nil {
			return err
		}
		*s = stripeID(o.ID)
		return nil
	}
	var id string
	if err := json.Unmarshal(b, &id); err != nil {
		return err
	}
	*s = stripeID(id)
	return nil
}

// parseStripeBody reads a verified Stripe event; ts is the signed
// timestamp, the fallback time when the event has no "created".
func parseStripeBody(body []byte, ts time.Time) (Event, error) {
	var e stripeEvent
	if err := json.Unmarshal(body, &e); err != nil {
		return Event{}, badPayload("%s", jsonError(err))
	}
	if e.Type == "" {
		return Event{}, badPayload("type is required")
	}
	ev := Event{
		Type:       clip(e.Type, maxTypeLen),
		DeliveryID: clip(e.ID, maxDeliveryIDLen),
		At:         ts,
	}
	if e.Created > 0 {
		at := time.Unix(e.Created, 0).UTC()
		if at.Sub(ts) > maxFuture {
			return Event{}, badPayload("created is more than a day after the delivery was signed")
		}
		ev.At = at
	}
	switch e.Type {
	case StripeCheckoutCompleted, StripeCheckoutAsyncPaymentSucceed:
		return stripeCheckout(ev, e.Data.Object)
	case StripeChargeRefunded:
		return stripeRefund(ev, e.Data.Object)
	}
	ev.Kind, ev.Reason = EventIgnored, "unhandled event type"
	return ev, nil
}

func stripeObject(raw json.RawMessage, v any) error {
	if len(raw) == 0 || string(raw) == "null" {
		return badPayload("data.object is required")
	}
	if err := json.Unmarshal(raw, v); err != nil {
		return badPayload("data.object: %s", jsonError(err))
	}
	return nil
}

// stripeCheckout reads a completed Checkout Session. The order id is the
// session's PaymentIntent id, which the later charge.refunded names too;
// a session without one (nothing to pay) uses its own cs_ id.
func stripeCheckout(ev Event, raw json.RawMessage) (Event, error) {
	var s stripeSession
	if err := stripeObject(raw, &s); err != nil {
		return Event{}, err
	}
	ev.OrderID = string(s.PaymentIntent)
	if ev.OrderID == "" {
		ev.OrderID = s.ID
	}
	if !validOrderID(ev.OrderID) {
		return Event{}, badPayload("data.object: session id must be 1 to %d printable characters", tracklink.MaxOrderIDLen)
	}
	md := s.Metadata
	slug, ok := md[MetadataEvent]
	if !ok {
		ev.Kind, ev.Reason = EventIgnored, "no "+MetadataEvent+" metadata: not a tracklink checkout"
		return ev, nil
	}
	switch s.PaymentStatus {
	case "paid", "no_payment_required":
	default:
		// "unpaid": a delayed payment method (SEPA debit, bank transfer);
		// checkout.session.async_payment_succeeded completes the order.
		ev.Kind, ev.Reason = EventIgnored, "payment_status is not paid"
		return ev, nil
	}
	// Stripe caps metadata values at 500 characters; a longer optional one
	// is not Stripe's and is dropped (the event slug is checked below).
	for k, v := range md {
		if k != MetadataEvent && strings.HasPrefix(k, "tracklink_") && len(v) > maxMetadataLen {
			ev.ignore("order %s: metadata %s longer than %d characters dropped", clip(ev.OrderID, 40), clip(k, 40), maxMetadataLen)
			delete(md, k)
		}
	}

	o := tracklink.Order{
		ID:        ev.OrderID,
		Session:   stripeSessionRef(s),
		Event:     slug,
		PromoCode: md[MetadataPromoCode],
		At:        ev.At,
	}
	if s.Currency != nil {
		o.Currency = *s.Currency
	}
	var total int64
	if s.AmountTotal != nil {
		total = *s.AmountTotal
	}
	o.Lines = stripeLines(&ev, md, total)
	ev.Ignored = append(ev.Ignored, o.Sanitize()...)
	if err := o.Validate(); err != nil {
		return Event{}, invalidOrder(err)
	}
	ev.Kind, ev.Order = EventOrderCompleted, o
	return ev, nil
}

// stripeSessionRef is client_reference_id when it is a tracklink session
// reference, else the tracklink_session metadata, else "" (the host may
// use client_reference_id for its own ids; the order then counts without a
// session touch rather than failing).
func stripeSessionRef(s stripeSession) string {
	if s.ClientReferenceID != nil && tracklink.ValidSession(*s.ClientReferenceID) {
		return *s.ClientReferenceID
	}
	if ref := s.Metadata[MetadataSession]; tracklink.ValidSession(ref) {
		return ref
	}
	return ""
}

// stripeLines reads tracklink_lines, else tracklink_tickets with
// amount_total split over the tickets, else one ticket for amount_total.
// Unreadable metadata is dropped (and noted on ev) in favour of the next
// rule, so the sale still counts with its real amount.
func stripeLines(ev *Event, md map[string]string, total int64) []tracklink.Line {
	if raw, ok := md[MetadataLines]; ok {
		var l lineList
		err := json.Unmarshal([]byte(raw), &l)
		if err == nil {
			err = tracklink.ValidateLines(l)
		}
		if err == nil {
			return l
		}
		ev.ignore("order %s: metadata %s unreadable (%v); counted from amount_total", clip(ev.OrderID, 40), MetadataLines, errText(err))
	}
	n := 1
	if raw, ok := md[MetadataTickets]; ok {
		v, err := strconv.Atoi(strings.TrimSpace(raw))
		if err != nil || v < 1 || v > tracklink.MaxQuantity {
			ev.ignore("order %s: metadata %s must be 1 to %d; counted as one ticket", clip(ev.OrderID, 40), MetadataTickets, tracklink.MaxQuantity)
		} else {
			n = v
		}
	}
	return splitTotal(n, total)
}

// errText is err's message for a note, JSON errors shortened.
func errText(err error) string {
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return jsonError(err)
	}
	return err.Error()
}

// splitTotal spreads total over n primary tickets in at most two lines so
// that the tickets sum to n and the revenue to total exactly.
func splitTotal(n int, total int64) []tracklink.Line {
	if total < 0 {
		total = 0
	}
	unit, rest := total/int64(n), int(total%int64(n))
	if rest == 0 {
		return []tracklink.Line{{Kind: tracklink.LinePrimary, Quantity: n, UnitAmount: unit}}
	}
	return []tracklink.Line{
		{Kind: tracklink.LinePrimary, Quantity: n - rest, UnitAmount: unit},
		{Kind: tracklink.LinePrimary, Quantity: rest, UnitAmount: unit + 1},
	}
}

// stripeRefund reads charge.refunded. A full refund ("refunded": true)
// reverses the order named by the charge's PaymentIntent. A partial one
// (amount_refunded below amount) is a partial refund of the order: its
// refund is the newest of the charge's refunds.data (the one with the
// latest created; the first on a tie, as Stripe lists newest first), with
// that refund's id and amount. When the charge carries no refunds list
// (API versions that do not embed it), the refund id is derived from the
// cumulative amount, "amount_refunded:<amount_refunded>", which every
// delivery of that state of the charge names alike, and the handler
// refunds amount_refunded less what the order already had refunded.
func stripeRefund(ev Event, raw json.RawMessage) (Event, error) {
	var c stripeCharge
	if err := stripeObject(raw, &c); err != nil {
		return Event{}, err
	}
	ev.OrderID = string(c.PaymentIntent)
	if ev.OrderID == "" {
		ev.Kind, ev.Reason = EventIgnored, "charge has no payment_intent"
		return ev, nil
	}
	if !validOrderID(ev.OrderID) {
		return Event{}, badPayload("data.object.payment_intent must be 1 to %d printable characters", tracklink.MaxOrderIDLen)
	}
	if c.Refunded {
		ev.Kind = EventOrderRefunded
		return ev, nil
	}
	if c.AmountRefunded <= 0 || c.Amount <= 0 {
		ev.Kind, ev.Reason = EventIgnored, "nothing refunded"
		return ev, nil
	}
	if c.AmountRefunded > c.Amount {
		return Event{}, badPayload("data.object.amount_refunded is more than amount")
	}
	r := tracklink.Refund{OrderID: ev.OrderID, At: ev.At}
	var newest *stripeRefundObj
	if c.Refunds != nil {
		for i := range c.Refunds.Data {
			if f := &c.Refunds.Data[i]; newest == nil || f.Created > newest.Created {
				newest = f
			}
		}
	}
	if newest != nil && newest.ID != "" {
		r.RefundID, r.Amount = newest.ID, newest.Amount
		if newest.Created > 0 {
			if at := time.Unix(newest.Created, 0).UTC(); !at.After(ev.At.Add(maxFuture)) {
				r.At = at
			}
		}
	} else {
		r.RefundID = stripeCumulativePrefix + strconv.FormatInt(c.AmountRefunded, 10)
		r.Amount = c.AmountRefunded
		r.Cumulative = true
	}
	if err := r.Check(); err != nil {
		return Event{}, badPayload("data.object: refund: %v", err)
	}
	ev.Kind, ev.Refund = EventPartialRefund, r
	return ev, nil
}
