package tracklink

import (
	"strings"
	"time"
)

// Limits on partial refunds.
const (
	// MaxRefundIDLen bounds a refund id (Refund.RefundID), in bytes.
	MaxRefundIDLen = 128
	// MaxOrderRefunds bounds the partial refunds one order takes: a
	// Ledger keeps one claim per refund id, and an order refunded in more
	// pieces than this is refused (ErrInvalid) past it.
	MaxOrderRefunds = 100
)

// HookPartialRefund is the kind of the live feed's change for a partial
// refund (Change.Kind); its outbox entries are PartialRefundHook(id), one
// per refund.
const HookPartialRefund HookKind = "partial_refund"

// PartialRefundHook returns the outbox entry of one partial refund
// (OnPartialRefund): "partial_refund:<refund id>".
func PartialRefundHook(refundID string) HookKind {
	return HookPartialRefund + ":" + HookKind(refundID)
}

// RefundID returns the refund id of a PartialRefundHook entry; ok is false
// for any other kind.
func (k HookKind) RefundID() (id string, ok bool) {
	id, ok = strings.CutPrefix(string(k), string(HookPartialRefund)+":")
	if !ok || !ValidRefundID(id) {
		return "", false
	}
	return id, true
}

// Valid reports whether k is an outbox entry a Ledger queues: one of the
// fixed kinds or a PartialRefundHook.
func (k HookKind) Valid() bool {
	switch k {
	case HookAttributed, HookUnattributed, HookRefunded:
		return true
	}
	_, ok := k.RefundID()
	return ok
}

// ValidRefundID reports whether id can be a refund id: 1 to
// MaxRefundIDLen printable ASCII bytes without spaces.
func ValidRefundID(id string) bool {
	return id != "" && len(id) <= MaxRefundIDLen && printable(id)
}

// Refund is one refund of part of an order, for Ledger.PartialRefund.
type Refund struct {
	// OrderID is the refunded order.
	OrderID string `json:"order_id"`
	// RefundID is the provider's id of this refund: a ledger applies each
	// (OrderID, RefundID) once, whatever the deliveries.
	RefundID string `json:"refund_id"`
	// Amount is the revenue refunded, in the order's currency's minor
	// unit. A ledger takes off at most what the order still counts (an
	// over-refund is clamped).
	Amount int64 `json:"amount"`
	// Tickets is the number of primary tickets the refund gives back, 0
	// when it names none (money only). Clamped like Amount.
	Tickets int `json:"tickets,omitempty"`
	// At is when the refund happened; a ledger uses its clock when zero.
	At time.Time `json:"at,omitzero"`
	// Cumulative says Amount is the total refunded on the order so far
	// (what a provider reports without naming the refunds, e.g. Stripe's
	// amount_refunded), not this refund's own: the ledger takes off the
	// part the order has not had yet (ApplyRefund), under the same lock as
	// the rest of the refund, so that concurrent or out-of-order
	// deliveries of two totals take off the larger one, once.
	Cumulative bool `json:"cumulative,omitempty"`
}

// Check reports whether r may be applied: an order id as
// ValidOrderID, a refund id as ValidRefundID, Amount 0 to MaxOrderRevenue
// and Tickets 0 to MaxOrderTickets, not both zero (a refund of free
// tickets names tickets only). Whether r asks for more than the order
// still counts is not an error: the ledger clamps it (ApplyRefund). Stores
// call it before writing anything; the error wraps ErrInvalid.
func (r Refund) Check() error {
	switch {
	case !ValidOrderID(r.OrderID):
		return invalidf("order id must be 1 to %d printable characters", MaxOrderIDLen)
	case !ValidRefundID(r.RefundID):
		return invalidf("refund id must be 1 to %d printable characters", MaxRefundIDLen)
	case r.Amount < 0 || r.Amount > MaxOrderRevenue:
		return invalidf("refund amount must be 0 to %d", int64(MaxOrderRevenue))
	case r.Tickets < 0 || r.Tickets > MaxOrderTickets:
		return invalidf("refunded tickets must be 0 to %d", MaxOrderTickets)
	case r.Amount == 0 && r.Tickets == 0:
		return invalidf("a refund needs an amount or tickets")
	}
	return nil
}

// RefundEntry is one refund as a ledger applied it.
type RefundEntry struct {
	// ID is the refund id (Refund.RefundID).
	ID string `json:"id"`
	// Revenue is the revenue it took off the order's figures: the
	// refund's amount, clamped to what the order still counted (all of it
	// when Full).
	Revenue int64 `json:"revenue"`
	// Tickets is the primary tickets it took off (clamped likewise).
	Tickets int `json:"tickets"`
	// Full reports that this refund completed the order's refund: the
	// order is now refunded (Attribution.Refunded) and no longer counts.
	Full bool `json:"full,omitempty"`
	// At is the refund's time.
	At time.Time `json:"at"`
}

// RefundRecord is the result of Ledger.PartialRefund.
type RefundRecord struct {
	// Record is the order after the refund: its Attribution (with
	// RefundedRevenue and RefundedTickets), Applied (false for a
	// duplicate refund id, or an order already fully refunded) and the
	// hooks still owed.
	Record
	// Known is false when the order is not recorded: nothing was written
	// (the refund is not remembered; deliver it again once the order is).
	Known bool
	// Refund is the refund as applied, for a duplicate the stored one; its
	// ID alone is set when the order was already fully refunded.
	Refund RefundEntry
}

// RefundDelta is what a refund takes off every bucket an order counts in
// (its event's day and all-time figures under its source key, its
// promoter's figures and its groups' sums). Every field is at least 0.
type RefundDelta struct {
	Orders   int64 // 1 when the refund completes the order's refund (and it counted an order)
	Tickets  int64
	Excluded int64 // the excluded tickets, when it completes it
	Revenue  int64
}

// IsZero reports whether d takes nothing off.
func (d RefundDelta) IsZero() bool { return d == RefundDelta{} }

// RefundLeft returns the primary tickets and revenue a still counts in
// the figures: nothing once refunded, nothing for an order with no
// primary tickets (it counts its excluded tickets only), else its totals
// less its partial refunds.
func (a Attribution) RefundLeft() (tickets int, revenue int64) {
	if a.Refunded || a.Tickets == 0 {
		return 0, 0
	}
	return max(a.Tickets-a.RefundedTickets, 0), max(a.Revenue-a.RefundedRevenue, 0)
}

// RefundedAmount returns the revenue refunded so far: all of it once the
// order is refunded.
func (a Attribution) RefundedAmount() int64 {
	if a.Refunded {
		return a.Revenue
	}
	return a.RefundedRevenue
}

// NetRevenue returns the revenue less what was refunded.
func (a Attribution) NetRevenue() int64 { return a.Revenue - a.RefundedAmount() }

// ApplyRefund is the rule every ledger applies for a partial refund r of
// a (not refunded yet): it takes off min(r.Amount, revenue left) and
// min(r.Tickets, tickets left) (RefundLeft). When that leaves no revenue
// (an order that had some), or no tickets (an order of free tickets), the
// refund completes the order's refund: it takes off everything left, the
// order and its excluded tickets too, and the attribution becomes
// refunded at r.At, as FullRefund makes it. It returns the attribution
// after r, the entry to store and what to take off the figures.
func (a Attribution) ApplyRefund(r Refund) (Attribution, RefundEntry, RefundDelta) {
	if r.Cumulative {
		r.Amount = max(r.Amount-a.RefundedAmount(), 0)
		if r.Amount == 0 && r.Tickets == 0 {
			// an earlier total (or refunds under their own ids) took it
			// off already: recorded, nothing taken off
			return a, RefundEntry{ID: r.RefundID, At: r.At}, RefundDelta{}
		}
	}
	lt, lr := a.RefundLeft()
	t, rev := min(r.Tickets, lt), min(r.Amount, lr)
	e := RefundEntry{ID: r.RefundID, Revenue: rev, Tickets: t, At: r.At}
	if a.Refunded {
		return a, RefundEntry{ID: r.RefundID, At: r.At}, RefundDelta{}
	}
	counted := lr + a.RefundedRevenue // the revenue the order counted at first
	if a.Tickets == 0 || (counted > 0 && rev == lr) || (counted == 0 && t == lt) {
		after, d := a.FullRefund(r.At)
		e.Revenue, e.Tickets, e.Full = d.Revenue, int(d.Tickets), true
		return after, e, d
	}
	a.RefundedRevenue += rev
	a.RefundedTickets += t
	return a, e, RefundDelta{Tickets: int64(t), Revenue: rev}
}

// FullRefund is the rule of Ledger.Refund: it takes off everything a
// still counts (RefundLeft: what its partial refunds left, never more),
// the order and its excluded tickets, and marks it refunded at at, its
// RefundedRevenue and RefundedTickets its totals. For an order already
// refunded it changes nothing.
func (a Attribution) FullRefund(at time.Time) (Attribution, RefundDelta) {
	if a.Refunded {
		return a, RefundDelta{}
	}
	lt, lr := a.RefundLeft()
	d := RefundDelta{Excluded: int64(a.Excluded), Tickets: int64(lt), Revenue: lr}
	if a.Tickets > 0 {
		d.Orders = 1
	}
	a.Refunded, a.RefundedAt = true, at
	a.RefundedRevenue, a.RefundedTickets = a.Revenue, a.Tickets
	return a, d
}
