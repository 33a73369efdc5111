package tracklink

import "context"

// Hooks are optional callbacks a host uses for its own reporting and
// monitoring. Any hook may be nil.
//
// OnAttributed, OnUnattributed, OnRefunded and OnPartialRefund run after the order is
// committed, at least once per order: when a hook returns an error the
// webhook answers 500, the outbox keeps the entry, and the provider's next
// delivery of the same order runs the hook again (it never counts the order
// twice). Make them idempotent by order id.
type Hooks struct {
	// OnVisit runs after the middleware stamped a landing, on the request's
	// goroutine; keep it fast. For a stamp the middleware queued (the store
	// was slow) it runs when the queue wrote it, on the queue's goroutine,
	// with a background context.
	OnVisit func(ctx context.Context, v Visit, counted bool)
	// OnAttributed runs for a new order credited to a touch or a promo code.
	OnAttributed func(ctx context.Context, a Attribution) error
	// OnUnattributed runs for a new order with no touch (credited to direct).
	OnUnattributed func(ctx context.Context, a Attribution) error
	// OnRefunded runs once an order's refund was applied in full (a
	// full refund, or the partial refund that completed it).
	OnRefunded func(ctx context.Context, a Attribution) error
	// OnPartialRefund runs once per partial refund applied
	// (Ledger.PartialRefund), with the order after it and the refund as
	// applied (clamped to what the order still counted). Make it
	// idempotent by refund id. A refund that completed the order's refund
	// runs OnRefunded too.
	OnPartialRefund func(ctx context.Context, a Attribution, r RefundEntry) error
	// OnError receives errors absorbed on the request path (the store was
	// down, a cookie could not be written) and input that was ignored.
	OnError func(ctx context.Context, err error)
}
