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

// The attribution rules. The session's touch is the first of the event
// touch, the site-wide touch and the weak event touch that applies; a promo
// code of a registered promoter is weighed against it by Precedence.
const (
	RuleEventTouch Rule = "event touch"     // the session's touch for the order's event
	RuleSiteTouch  Rule = "site-wide touch" // the session's touch on a non-event page
	RuleWeakTouch  Rule = "weak event touch"
	RulePromoCode  Rule = "promo code" // the order's promo code belongs to a registered promoter
	RuleNoTouch    Rule = "no touch"   // credited to direct
)

// Precedence decides between an order's promo code and the session's
// touch when both would credit somebody.
type Precedence int

const (
	// PromoCodeFirst (the default) credits a promo code of a registered
	// promoter over every session touch: the code is typed at checkout,
	// the buyer's latest explicit act.
	PromoCodeFirst Precedence = iota
	// LinkFirst keeps the session's touch when it is explicit
	// (StrengthExplicit: a promoter link, a campaign link, an ad click
	// id); otherwise (a referrer, the user agent, direct, the own site, or
	// no touch) the promo code wins.
	LinkFirst
)

// Valid reports whether p is one of the precedences above.
func (p Precedence) Valid() bool { return p == PromoCodeFirst || p == LinkFirst }

// String returns "promo code first" or "link first".
func (p Precedence) String() string {
	switch p {
	case PromoCodeFirst:
		return "promo code first"
	case LinkFirst:
		return "link first"
	}
	return fmt.Sprintf("Precedence(%d)", int(p))
}

// Overruled is the candidate an attribution's rule won over: the session
// touch a promo code beat, or the promo code an explicit touch beat under
// LinkFirst.
type Overruled struct {
	// Rule is the rule that would have credited Touch.
	Rule  Rule  `json:"rule"`
	Touch Touch `json:"touch"`
}

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
	// Overruled is what the credited touch won over: the session's touch
	// when a promo code was credited instead, or the promo code when the
	// session's explicit touch was (LinkFirst). Zero (Rule "") when
	// nothing competed.
	Overruled Overruled `json:"overruled,omitzero"`
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
// "event touch: param promoter=ana (2h0m0s before the order)" or
// "promo code ANA10 of promoter ana (overruled event touch: referrer
// instagram.com)".
func (a Attribution) Evidence() string {
	e := ruleEvidence(a.Rule, a.Touch)
	if a.Rule != RuleNoTouch && a.Rule != RulePromoCode {
		e += fmt.Sprintf(" (%s before the order)", a.TouchAge.Round(time.Second))
	}
	if o := a.Overruled; o.Rule != "" {
		e += " (overruled " + ruleEvidence(o.Rule, o.Touch) + ")"
	}
	return e
}

// ruleEvidence says why rule credits t, without the touch's age.
func ruleEvidence(rule Rule, t Touch) string {
	switch rule {
	case RuleNoTouch:
		return string(RuleNoTouch)
	case RulePromoCode:
		if t.PromoterCode() == "" {
			return "promo code of a deleted promoter"
		}
		return fmt.Sprintf("%s of promoter %s", t.Evidence, t.Promoter)
	}
	return fmt.Sprintf("%s: %s", rule, t.Evidence)
}

// PromoterAllowed lets the host veto a promoter touch made on a non-event
// page ("all events" link) for a given event. Nil allows every event.
type PromoterAllowed func(code, event string) bool

// AttributeOptions are Attribute's inputs beyond the order and the
// session's touches. The zero value credits no promo code.
type AttributeOptions struct {
	// PromoCodeOwner is the registered promoter owning the order's promo
	// code (Registry.PromoterByPromoCode of Order.PromoCode), "" when none
	// does. It counts only with a valid Order.PromoCode (ValidPromoCode);
	// an owner that is not a promoter code is ignored.
	PromoCodeOwner string
	// Precedence weighs the promo code against the session's touch.
	// Default PromoCodeFirst; an unknown value means the default.
	Precedence Precedence
	// Allow vetoes a promoter's site-wide touch for the order's event.
	// Nil allows every event.
	Allow PromoterAllowed
}

// Attribute decides whom an order is credited to, from the session's touch
// for the order's event (eventTouch), its site-wide touch (siteTouch) and
// the promoter owning the order's promo code (opts.PromoCodeOwner). Either
// touch may be nil.
//
// The session's touch is the event touch when it is stronger than direct
// and platform; else the site-wide touch when it is stronger than direct
// (a promoter's site-wide link only when opts.Allow says yes); else the
// event touch whatever it is; else none. A promo code of a registered
// promoter then wins over that touch (PromoCodeFirst), or only over a touch
// that is not explicit (LinkFirst); the loser is kept as
// Attribution.Overruled. When the touch credits the code's own promoter,
// the touch stands and nothing is overruled. With neither, the order is
// credited to direct.
func Attribute(o Order, eventTouch, siteTouch *Touch, opts AttributeOptions) Attribution {
	tickets, revenue, excluded := o.Totals()
	a := Attribution{
		OrderID: o.ID, Event: o.Event, Session: o.Session, Currency: o.Currency,
		Tickets: tickets, Excluded: excluded, Revenue: revenue, At: o.At,
	}
	credit := func(t Touch, r Rule) {
		a.Touch, a.Rule = t, r
		if !t.At.IsZero() && o.At.After(t.At) {
			a.TouchAge = o.At.Sub(t.At)
		}
	}

	var touch *Touch
	var rule Rule
	switch {
	case eventTouch != nil && eventTouch.Strength() > StrengthWeak:
		touch, rule = eventTouch, RuleEventTouch
	case siteTouch != nil && siteTouch.Strength() > StrengthWeak &&
		(siteTouch.Channel != ChannelPromoter || opts.Allow == nil || opts.Allow(siteTouch.Promoter, o.Event)):
		touch, rule = siteTouch, RuleSiteTouch
	case eventTouch != nil:
		touch, rule = eventTouch, RuleWeakTouch
	}

	code, hasCode := promoCodeTouch(o, opts.PromoCodeOwner)
	switch {
	case hasCode && touch != nil && touch.PromoterCode() == code.Promoter:
		credit(*touch, rule) // the code's own promoter: nothing competes
	case hasCode && touch != nil && opts.Precedence == LinkFirst && touch.Strength() == StrengthExplicit:
		credit(*touch, rule)
		a.Overruled = Overruled{Rule: RulePromoCode, Touch: code}
	case hasCode:
		credit(code, RulePromoCode)
		if touch != nil {
			a.Overruled = Overruled{Rule: rule, Touch: *touch}
		}
	case touch != nil:
		credit(*touch, rule)
	default:
		a.Touch = Touch{Channel: ChannelDirect, Source: string(ChannelDirect), Event: o.Event, Evidence: "no touch"}
		a.Rule = RuleNoTouch
	}
	return a
}

// promoCodeTouch is the touch a promo code credits: ok false unless the
// order's code is valid and owner a promoter code.
func promoCodeTouch(o Order, owner string) (Touch, bool) {
	promo := strings.TrimSpace(o.PromoCode)
	owner, ok := NormalizePromoter(owner)
	if !ok || !ValidPromoCode(promo) {
		return Touch{}, false
	}
	return Touch{
		Channel: ChannelPromoter, Source: owner, Promoter: owner,
		Event: o.Event, Evidence: "promo code " + promo,
	}, true
}
