package tracklink

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// LineKind says whether a ticket line is a primary sale. Only primary lines
// count in sales metrics; resold and transferred tickets are recorded on
// the attribution but excluded (they would otherwise credit a promoter twice
// for one seat, or for a seat sold by somebody else).
type LineKind string

// The line kinds.
const (
	LinePrimary  LineKind = "primary"
	LineResale   LineKind = "resale"
	LineTransfer LineKind = "transfer"
)

// Line is one ticket line of an order. UnitAmount is in the currency's
// minor unit (cents).
type Line struct {
	Kind       LineKind `json:"kind"`
	TicketType string   `json:"ticket_type,omitempty"`
	Quantity   int      `json:"quantity"`
	UnitAmount int64    `json:"unit_amount"`
}

// Order is a paid order as the payment provider reports it.
type Order struct {
	ID string `json:"order_id"`
	// Session is the session reference the checkout handed to the payment
	// provider (Visit.Session); "" when unknown.
	Session   string    `json:"session_ref,omitempty"`
	Event     string    `json:"event"`
	Currency  string    `json:"currency"` // ISO 4217, uppercase
	PromoCode string    `json:"promo_code,omitempty"`
	Lines     []Line    `json:"lines"`
	At        time.Time `json:"at"`
}

// Limits on an order.
const (
	MaxOrderIDLen = 255
	MaxLines      = 100
	MaxQuantity   = 10000
	MaxUnitAmount = 1_000_000_000_00 // one billion in major units
	// MaxOrderAmount bounds an order's total (every line, in minor
	// units): ten billion in major units, beyond any real ticket order,
	// so that sums over millions of orders stay far from int64's limit.
	MaxOrderAmount = 1_000_000_000_000
)

// ErrInvalidOrder is wrapped by Order.Validate's errors.
var ErrInvalidOrder = errors.New("tracklink: invalid order")

// ErrIgnoredInput is wrapped by the errors reported for outside input that
// was dropped rather than refused: a malformed optional order field
// (Order.Sanitize), an invalid promoter code or parameter on a landing.
var ErrIgnoredInput = errors.New("tracklink: ignored input")

// Sanitize normalises o's fields the way every provider reads them (the
// event slug lowercase, the currency uppercase, spaces trimmed) and drops
// the optional fields that are malformed, so that what a customer typed
// never makes the whole order fail: a promo code over MaxPromoterLen
// bytes or with control characters, and a session reference that is not
// a tracklink reference. It returns one error per dropped field, each
// wrapping ErrIgnoredInput, for the host's OnError. Call it before
// Validate, which then fails only for an order that cannot be recorded
// at all.
func (o *Order) Sanitize() (ignored []error) {
	o.Event = strings.ToLower(strings.TrimSpace(o.Event))
	o.Currency = strings.ToUpper(strings.TrimSpace(o.Currency))
	o.Session = strings.TrimSpace(o.Session)
	o.PromoCode = strings.TrimSpace(o.PromoCode)
	if o.PromoCode != "" && (len(o.PromoCode) > MaxPromoterLen || !printable(o.PromoCode)) {
		ignored = append(ignored, fmt.Errorf("%w: order %s: promo code %q dropped (over %d bytes or not printable)",
			ErrIgnoredInput, clip(o.ID, 40), clip(o.PromoCode, 40), MaxPromoterLen))
		o.PromoCode = ""
	}
	if o.Session != "" && !ValidSession(o.Session) {
		ignored = append(ignored, fmt.Errorf("%w: order %s: session reference dropped (not a tracklink reference); the order counts without a touch",
			ErrIgnoredInput, clip(o.ID, 40)))
		o.Session = ""
	}
	return ignored
}

// Validate checks an order from the outside before anything is stored.
func (o Order) Validate() error {
	bad := func(format string, a ...any) error {
		return fmt.Errorf("%w: "+format, append([]any{ErrInvalidOrder}, a...)...)
	}
	switch {
	case o.ID == "" || len(o.ID) > MaxOrderIDLen || !printable(o.ID):
		return bad("order id must be 1 to %d printable characters", MaxOrderIDLen)
	case !ValidEvent(o.Event):
		return bad("event slug %q is not [a-z0-9-]{1,64}", clip(o.Event, 80))
	case o.Session != "" && !ValidSession(o.Session):
		return bad("session reference is not a tracklink reference")
	case !validCurrency(o.Currency):
		return bad("currency %q is not a three-letter ISO 4217 code", clip(o.Currency, 10))
	case len(o.PromoCode) > MaxPromoterLen:
		return bad("promo code longer than %d bytes", MaxPromoterLen)
	}
	return ValidateLines(o.Lines)
}

// ValidateLines checks an order's lines (Validate calls it): 1 to MaxLines
// lines of a known kind, quantities 1 to MaxQuantity, unit amounts 0 to
// MaxUnitAmount, a total of at most MaxOrderAmount.
func ValidateLines(lines []Line) error {
	bad := func(format string, a ...any) error {
		return fmt.Errorf("%w: "+format, append([]any{ErrInvalidOrder}, a...)...)
	}
	if len(lines) == 0 || len(lines) > MaxLines {
		return bad("an order needs 1 to %d lines", MaxLines)
	}
	var total int64
	for i, l := range lines {
		switch {
		case l.Kind != LinePrimary && l.Kind != LineResale && l.Kind != LineTransfer:
			return bad("line %d: kind %q is not primary, resale or transfer", i, clip(string(l.Kind), 20))
		case l.Quantity < 1 || l.Quantity > MaxQuantity:
			return bad("line %d: quantity must be 1 to %d", i, MaxQuantity)
		case l.UnitAmount < 0 || l.UnitAmount > MaxUnitAmount:
			return bad("line %d: unit amount out of range", i)
		}
		total += int64(l.Quantity) * l.UnitAmount // ≤ 1e15 per line: no overflow
		if total > MaxOrderAmount {
			return bad("order total over %d minor units", int64(MaxOrderAmount))
		}
	}
	return nil
}

// Totals returns the primary tickets and revenue (minor units) that count in
// sales metrics, and the resold or transferred tickets that do not.
func (o Order) Totals() (tickets int, revenue int64, excluded int) {
	for _, l := range o.Lines {
		if l.Kind == LinePrimary {
			tickets += l.Quantity
			revenue += int64(l.Quantity) * l.UnitAmount
		} else {
			excluded += l.Quantity
		}
	}
	return tickets, revenue, excluded
}

// Rule names the rule that credited an order.
type Rule string

// The attribution rules, in the order they are tried.
const (
	RuleEventTouch Rule = "event touch"     // the session's touch for the order's event
	RuleSiteTouch  Rule = "site-wide touch" // the session's touch on a non-event page
	RuleWeakTouch  Rule = "weak event touch"
	RulePromoCode  Rule = "promo code" // no touch, but the promo code belongs to a promoter
	RuleNoTouch    Rule = "no touch"   // credited to direct
)

// Attribution is the record of one attributed order: what it counted, whom
// it credited and why.
type Attribution struct {
	OrderID  string `json:"order_id"`
	Event    string `json:"event"`
	Session  string `json:"session_ref,omitempty"`
	Currency string `json:"currency"`
	Tickets  int    `json:"tickets"`  // primary tickets, counted
	Excluded int    `json:"excluded"` // resold or transferred tickets, not counted
	Revenue  int64  `json:"revenue"`  // primary revenue, minor units
	// Touch is the credited touch; a zero touch's Channel is "direct".
	Touch Touch `json:"touch"`
	Rule  Rule  `json:"rule"`
	// TouchAge is the time from the credited touch to the order.
	TouchAge time.Duration `json:"touch_age"`
	At       time.Time     `json:"at"`
	// Refunded reports that the order is refunded in full: it counts in
	// no figure.
	Refunded bool `json:"refunded,omitempty"`
	// RefundedAt is set once the order was refunded in full.
	RefundedAt time.Time `json:"refunded_at,omitzero"`
	// RefundedRevenue and RefundedTickets are what its refunds took off
	// the figures so far (Ledger.PartialRefund): Revenue and Tickets once
	// it is refunded in full. An order refunded before these were kept
	// may have them zero with Refunded set: use RefundedAmount and
	// NetRevenue, which read Refunded too.
	RefundedRevenue int64 `json:"refunded_revenue,omitempty"`
	RefundedTickets int   `json:"refunded_tickets,omitempty"`
}

// Day returns the attribution's day as YYYY-MM-DD in UTC, the day its
// aggregates are counted under.
func (a Attribution) Day() string { return Day(a.At) }

// Day formats t as YYYY-MM-DD in UTC, the bucket visits and sales are
// counted under.
func Day(t time.Time) string { return t.UTC().Format(time.DateOnly) }

// Evidence explains the attribution in one line, e.g.
// "event touch: param promoter=ana (2h0m0s before the order)".
func (a Attribution) Evidence() string {
	if a.Rule == RuleNoTouch {
		return string(RuleNoTouch)
	}
	if a.Rule == RulePromoCode {
		return fmt.Sprintf("promo code %s", a.Touch.Promoter)
	}
	return fmt.Sprintf("%s: %s (%s before the order)", a.Rule, a.Touch.Evidence, a.TouchAge.Round(time.Second))
}

// PromoterAllowed lets the host veto a promoter touch made on a non-event
// page ("all events" link) for a given event. Nil allows every event.
type PromoterAllowed func(code, event string) bool

// Attribute decides whom an order is credited to, from the session's touch
// for the order's event (eventTouch), its site-wide touch (siteTouch) and,
// when the session has neither, the promoter owning the order's promo code
// (promoCodeOwner, "" if none). Either touch may be nil.
//
// The rules: the event touch when it is stronger than direct and platform;
// else the site-wide touch when it is stronger than direct (a promoter's
// site-wide link only when allow says yes); else the event touch whatever
// it is; else the promo code's promoter; else direct.
func Attribute(o Order, eventTouch, siteTouch *Touch, promoCodeOwner string, allow PromoterAllowed) Attribution {
	tickets, revenue, excluded := o.Totals()
	a := Attribution{
		OrderID: o.ID, Event: o.Event, Session: o.Session, Currency: o.Currency,
		Tickets: tickets, Excluded: excluded, Revenue: revenue, At: o.At,
	}
	credit := func(t Touch, r Rule) Attribution {
		a.Touch, a.Rule = t, r
		if !t.At.IsZero() && o.At.After(t.At) {
			a.TouchAge = o.At.Sub(t.At)
		}
		return a
	}
	if eventTouch != nil && eventTouch.Strength() > StrengthWeak {
		return credit(*eventTouch, RuleEventTouch)
	}
	if siteTouch != nil && siteTouch.Strength() > StrengthWeak {
		if siteTouch.Channel != ChannelPromoter || allow == nil || allow(siteTouch.Promoter, o.Event) {
			return credit(*siteTouch, RuleSiteTouch)
		}
	}
	if eventTouch != nil {
		return credit(*eventTouch, RuleWeakTouch)
	}
	if promoCodeOwner != "" {
		return credit(Touch{
			Channel: ChannelPromoter, Source: promoCodeOwner, Promoter: promoCodeOwner,
			Event: o.Event, Evidence: "promo code",
		}, RulePromoCode)
	}
	a.Touch = Touch{Channel: ChannelDirect, Source: string(ChannelDirect), Event: o.Event, Evidence: "no touch"}
	a.Rule = RuleNoTouch
	return a
}
