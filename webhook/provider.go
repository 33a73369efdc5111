package webhook

import (
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/tracklink/tracklink"
)

// Provider verifies and parses one payment provider's webhook deliveries.
// Implementations must be safe for concurrent use.
type Provider interface {
	// Open verifies the signature of body against the headers at time now
	// and parses it. Signature failures wrap ErrSignature (the handler
	// answers 401); payloads that cannot be read wrap ErrBadPayload (400).
	// Open must not keep body after it returns.
	Open(h http.Header, body []byte, now time.Time) (Event, error)
}

// EventKind says what a delivery asks the receiver to do.
type EventKind int

// The event kinds.
const (
	// EventIgnored is a delivery that changes nothing: an event type the
	// receiver does not handle, a Checkout Session that is not paid yet, a
	// session without tracklink metadata. The handler
	// answers 200 so the provider stops retrying.
	EventIgnored EventKind = iota
	// EventOrderCompleted is a paid order: Event.Order holds it.
	EventOrderCompleted
	// EventOrderRefunded is a full refund of the order Event.OrderID.
	EventOrderRefunded
	// EventPartialRefund is a refund of part of the order Event.OrderID:
	// Event.Refund holds it.
	EventPartialRefund
)

// String returns "ignored", "order.completed", "order.refunded" or
// "partial refund".
func (k EventKind) String() string {
	switch k {
	case EventOrderCompleted:
		return "order.completed"
	case EventOrderRefunded:
		return "order.refunded"
	case EventPartialRefund:
		return "partial refund"
	case EventIgnored:
		return "ignored"
	}
	return fmt.Sprintf("EventKind(%d)", int(k))
}

// Event is one verified, parsed delivery.
type Event struct {
	Kind EventKind
	// Type is the provider's event type ("order.completed",
	// "checkout.session.completed"…), bounded to 100 bytes.
	Type string
	// DeliveryID is the provider's id of the message (webhook-id, Stripe's
	// evt_… id), for logs. Deduplication is by order id, never by it.
	DeliveryID string
	// Order is the order of an EventOrderCompleted; it passed
	// tracklink.Order.Validate.
	Order tracklink.Order
	// OrderID is the order the event is about (completed or refunded); ""
	// for most ignored events.
	OrderID string
	// Refund is the refund of an EventPartialRefund (its OrderID is
	// OrderID; it passed tracklink.Refund.Check). With Refund.Cumulative
	// its Amount is the total refunded so far on the order (a Stripe
	// charge without its refunds list): the ledger refunds the part the
	// order has not been refunded yet.
	Refund tracklink.Refund
	// At is when the provider says the event happened: the order's time, or
	// the refund's.
	At time.Time
	// Reason says why an EventIgnored was ignored, for logs and the
	// response body.
	Reason string
	// Ignored lists the malformed optional fields the provider dropped so
	// that the order still counts (a promo code too long, a created_at that
	// is not a time, unreadable ticket metadata), each wrapping
	// tracklink.ErrIgnoredInput. The handler reports them to
	// Hooks.OnError and the log.
	Ignored []error
}

// ignore records a dropped optional field on ev.
func (ev *Event) ignore(format string, a ...any) {
	ev.Ignored = append(ev.Ignored, fmt.Errorf("%w: "+format, append([]any{tracklink.ErrIgnoredInput}, a...)...))
}

// ErrSignature is wrapped by every signature error, so that
// errors.Is(err, ErrSignature) tells a forged, stale or unsigned delivery
// (401) from a bad payload (400).
var ErrSignature = errors.New("webhook: signature")

// Signature errors. Each wraps ErrSignature.
var (
	// ErrNoSignature: the signature headers are missing, or they carry no
	// signature of a scheme this package verifies (v1).
	ErrNoSignature = fmt.Errorf("%w: no v1 signature", ErrSignature)
	// ErrInvalidHeader: a signature header is malformed (a timestamp that is
	// not unix seconds, an empty webhook-id).
	ErrInvalidHeader = fmt.Errorf("%w: malformed signature header", ErrSignature)
	// ErrNoValidSignature: no signature matches any configured secret: a
	// wrong secret, or a body changed on the way.
	ErrNoValidSignature = fmt.Errorf("%w: no valid signature", ErrSignature)
	// ErrTooOld: the signed timestamp is older than the tolerance (a replay,
	// or a delivery that waited in a queue too long; the provider's next
	// retry is signed afresh).
	ErrTooOld = fmt.Errorf("%w: timestamp too old", ErrSignature)
	// ErrTooNew: the signed timestamp is further in the future than the
	// tolerance (a clock that is far off).
	ErrTooNew = fmt.Errorf("%w: timestamp too far in the future", ErrSignature)
)

// ErrBadPayload is wrapped by the errors of a signed body that cannot be
// read as an order: malformed JSON, a missing field, an order that fails
// tracklink.Order.Validate (those wrap tracklink.ErrInvalidOrder too).
var ErrBadPayload = errors.New("webhook: bad payload")

// ErrTooLarge is reported (to Hooks.OnError and the log) for a body over
// Config.MaxBodyBytes; the handler answers 413.
var ErrTooLarge = errors.New("webhook: body too large")

// ErrHookFailed wraps a hook's error when Hooks.OnError hears of it; the
// handler answers 500 and the next delivery runs the hook again.
var ErrHookFailed = errors.New("webhook: hook failed")

// ErrStore wraps a store's error when Hooks.OnError hears of it; the
// handler answers 503 so that the provider retries.
var ErrStore = errors.New("webhook: store")

// badPayload returns an error wrapping ErrBadPayload.
func badPayload(format string, a ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrBadPayload}, a...)...)
}

// invalidOrder wraps a tracklink.Order.Validate error in ErrBadPayload too.
func invalidOrder(err error) error {
	return fmt.Errorf("%w: %w", ErrBadPayload, err)
}

// checkTimestamp applies a signature tolerance in both directions.
func checkTimestamp(ts, now time.Time, tolerance time.Duration) error {
	switch {
	case now.Sub(ts) > tolerance:
		return ErrTooOld
	case ts.Sub(now) > tolerance:
		return ErrTooNew
	}
	return nil
}

// Limits on what a delivery may carry besides the order.
const (
	maxTypeLen       = 100 // bytes of an event type
	maxDeliveryIDLen = 256 // bytes of webhook-id / evt_ id
)

// clip bounds a string from the outside before it reaches a log line or
// an Event.
func clip(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

// validOrderID mirrors the order id rule of tracklink.Order.Validate for
// refunds, which carry nothing else to validate.
func validOrderID(s string) bool {
	if s == "" || len(s) > tracklink.MaxOrderIDLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < 0x21 || s[i] > 0x7e {
			return false
		}
	}
	return true
}
