package tracklink

import (
	"context"
	"errors"
	"time"
)

// Stamp is one tracked landing handed to Store.Stamp.
type Stamp struct {
	// Session is the session reference (ValidSession).
	Session string
	// Touch is the landing's classified touch. Touch.Event scopes it: the
	// session's touch for that event, or its site-wide touch when "".
	Touch Touch
	// Model decides whether Touch replaces the current one (Model.Replaces).
	Model Model
	// TTL is how long the session's touches live after this landing
	// (sliding). Must be > 0.
	TTL time.Duration
}

// StampResult is what Store.Stamp did.
type StampResult struct {
	// Current is the session's touch for the scope after merging.
	Current Touch
	// Counted reports whether a new visit was counted: once per (session,
	// event, Current.Key(), day of Touch.At).
	Counted bool
}

// Record is the result of Store.Record and Store.Refund.
type Record struct {
	// Attribution is the stored attribution of the order (the first one
	// recorded, whatever later deliveries carried).
	Attribution Attribution
	// Applied reports whether this call changed the aggregates: false for
	// a duplicate delivery.
	Applied bool
	// Pending lists the hooks still owed for this order (outbox), whether
	// queued by this call or left by an earlier delivery whose hooks failed.
	// Call the hooks, then Store.Ack each one.
	Pending []HookKind
}

// HookKind names an outbox entry.
type HookKind string

// The outbox entries.
const (
	HookAttributed   HookKind = "attributed"   // OnAttributed: credited to a touch
	HookUnattributed HookKind = "unattributed" // OnUnattributed: no touch, credited to direct
	HookRefunded     HookKind = "refunded"     // OnRefunded
)

// Store keeps sessions' touches, counts visits and records orders. Every
// method is safe for concurrent use, takes ctx first and honours its
// deadline. Each method is one atomic operation; Stamp and Record cost one
// round trip to a remote store where the adapter says so.
//
// "Not found" is never an error: a missing touch is nil, a missing order is
// a zero value with ok false.
type Store interface {
	// Stamp merges s.Touch into the session's touch for s.Touch.Event under
	// s.Model, slides the session's expiry to s.TTL, and counts a visit for
	// (event, Current.Key(), day) unless this session already counted that
	// triple. Site-wide landings (Event "") keep their own touch and count
	// under event "". A promoter touch also counts on the promoter's own
	// figures only when the code is registered (ReportStore.SavePromoter).
	// Stores cap the distinct source keys an event counts visits under
	// (and, separately, orders under): once the cap is reached, a new key
	// counts under the store's overflow key ("referral|~other"), while
	// Current stays the real touch.
	Stamp(ctx context.Context, s Stamp) (StampResult, error)

	// Touches returns the session's touch for event and its site-wide touch;
	// either is nil when absent or expired.
	Touches(ctx context.Context, session, event string) (eventTouch, siteTouch *Touch, err error)

	// Record claims a.OrderID and, if this is the first time, stores a,
	// applies its aggregates (orders, tickets, excluded tickets and revenue
	// per event × day × source key, per promoter, per campaign) and queues
	// its hook in the outbox, all in one atomic step. An order with no
	// primary tickets counts its excluded tickets only. If the order was
	// refunded before it was recorded, it is stored as refunded and counts
	// nothing. A duplicate returns the stored attribution with Applied false.
	Record(ctx context.Context, a Attribution) (Record, error)

	// Refund reverses what the order added, once, and queues HookRefunded.
	// For an order not recorded yet, it remembers the refund (Applied false,
	// ok false) so that a late Record counts nothing.
	Refund(ctx context.Context, orderID string, at time.Time) (r Record, ok bool, err error)

	// Ack removes a hook from the outbox once it ran.
	Ack(ctx context.Context, orderID string, kind HookKind) error

	// Attribution returns a recorded order.
	Attribution(ctx context.Context, orderID string) (a Attribution, ok bool, err error)
}

// Errors stores wrap so that callers can tell bad input from an outage
// without knowing the adapter (errors.Is): report answers 400 and 409 for
// them, and 503 for anything else.
var (
	// ErrInvalid marks a request the store refused as malformed (a bad
	// slug, date range, code or limit); retrying it cannot help.
	ErrInvalid = errors.New("invalid input")
	// ErrConflict marks a request that contradicts stored data (a promo
	// code owned by another promoter).
	ErrConflict = errors.New("conflict")
)

// ErrStoreClosed may be returned by stores after Close.
var ErrStoreClosed = errors.New("tracklink: store closed")
