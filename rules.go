package tracklink

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// The rules every store follows, written once here and called by every
// adapter (a Lua script or an SQL function receives the values computed
// from them rather than re-deriving them).

// OtherKey is the source key ("referral|~other": channel referral, source
// OtherSource) that visits and orders count under once their event reached
// the store's cap of distinct source keys.
const OtherKey = string(ChannelReferral) + "|" + OtherSource

// DeletedKey is the source key ("promoter|~deleted") a deleted promoter's
// figures are folded into (DeletedPromoter).
const DeletedKey = string(ChannelPromoter) + "|" + DeletedPromoter

// DefaultMaxSources is the cap on the distinct source keys (Touch.Key) an
// event counts visits under, and separately orders under, all time, that
// stores default to. Source keys come from outside input (referrers,
// utm_source, promoter codes in URLs) and figures never expire, so once an
// event holds the cap a visit or order whose key is new counts under
// OtherKey instead; keys already there keep counting.
const DefaultMaxSources = 1000

// MaxSessionEvents bounds the events one session keeps a touch for, its
// site-wide touch aside. Event slugs reach the store from request paths, so
// a session landing on a new event while it holds MaxSessionEvents drops
// the touch and visit marks of its least recently landed event: the one
// whose latest landing the store stamped longest ago (stamps are ordered as
// the store applies them). The site-wide touch is never dropped this way.
// A dropped event's Touches are nil; landing on it again starts it afresh
// (and may count that day's visit again).
const MaxSessionEvents = 64

// MaxEventMarks bounds the visit marks (source keys already counted) one
// session keeps per scope (an event, or the site-wide scope). A session
// remembers the marks of one day per scope, the day of its latest counted
// visit there: a visit of another day starts that day's marks afresh (so a
// landing dated on an earlier day after a later one counts again), and a
// scope whose day already holds MaxEventMarks keys forgets them for the new
// one (a session switching between more than MaxEventMarks sources of one
// event in one day may count one twice). Keeping one day per scope is what
// makes each Stamp's cost independent of the session's history.
const MaxEventMarks = 8

// MaxSessionMarks bounds the visit marks ((event, source key, day) triples
// already counted) one session keeps: MaxEventMarks for each of its at
// most MaxSessionEvents events and its site-wide scope.
const MaxSessionMarks = (MaxSessionEvents + 1) * MaxEventMarks

// MaxKeyLen bounds a source key (Touch.Key) a store accepts.
const MaxKeyLen = 512

// MaxDays is the longest range, in days inclusive, that EventDays and
// PromoterDays answer (they return one entry per day).
const MaxDays = 400

// MaxLimit is the largest page PromoterRanking and RecentOrders return.
const MaxLimit = 1000

// invalidError is an error about bad input: errors.Is(err, ErrInvalid)
// holds, and its message leaves the "invalid input" prefix to the caller,
// which wraps it as fmt.Errorf("%w: op: %w", adapterErrInvalid, err).
type invalidError string

func (e invalidError) Error() string        { return string(e) }
func (e invalidError) Is(target error) bool { return target == ErrInvalid }

func invalidf(format string, a ...any) error { return invalidError(fmt.Sprintf(format, a...)) }

// ParseDay parses a YYYY-MM-DD day; the error wraps ErrInvalid.
func ParseDay(s string) (time.Time, error) {
	t, err := time.Parse(time.DateOnly, s)
	if err != nil || t.Format(time.DateOnly) != s {
		return time.Time{}, invalidf("%q is not a YYYY-MM-DD date", clip(s, 80))
	}
	return t, nil
}

// DayRange parses from..to (YYYY-MM-DD, inclusive) and returns the first
// day and the number of days, at most MaxDays. A bad date, from after to
// or a longer range wraps ErrInvalid.
func DayRange(from, to string) (first time.Time, days int, err error) {
	f, n, err := DaySpan(from, to)
	if err != nil {
		return time.Time{}, 0, err
	}
	if n > MaxDays {
		return time.Time{}, 0, invalidf("%d days from %s to %s, more than %d", n, from, to, MaxDays)
	}
	return f, n, nil
}

// DaySpan is DayRange of any length: EventTraffic's range when not all
// time.
func DaySpan(from, to string) (first time.Time, days int, err error) {
	f, t, err := parseRange(from, to)
	if err != nil {
		return time.Time{}, 0, err
	}
	return f, int(t.Sub(f)/(24*time.Hour)) + 1, nil
}

// CheckTrafficRange checks EventTraffic's range: both "" mean all time
// (allTime true); else both are YYYY-MM-DD days, from not after to, of any
// length. The error wraps ErrInvalid.
func CheckTrafficRange(from, to string) (allTime bool, err error) {
	if from == "" && to == "" {
		return true, nil
	}
	_, _, err = parseRange(from, to)
	return false, err
}

func parseRange(from, to string) (f, t time.Time, err error) {
	if f, err = ParseDay(from); err != nil {
		return f, t, err
	}
	if t, err = ParseDay(to); err != nil {
		return f, t, err
	}
	if f.After(t) {
		return f, t, invalidf("from %s is after to %s", from, to)
	}
	return f, t, nil
}

// CheckPage checks a page of PromoterRanking or RecentOrders: limit 1 to
// MaxLimit, offset >= 0. The error wraps ErrInvalid.
func CheckPage(offset, limit int) error {
	if limit < 1 || limit > MaxLimit {
		return invalidf("limit %d is not 1 to %d", limit, MaxLimit)
	}
	if offset < 0 {
		return invalidf("offset %d is negative", offset)
	}
	return nil
}

// GroupFilter normalises the group argument of PromoterSummary and
// PromoterRanking: "" is every registered promoter; anything else is
// normalised like a saved group name (NormalizeGroup). ok is false for a
// name no group can have, which selects nobody.
func GroupFilter(group string) (g string, ok bool) {
	if group == "" {
		return "", true
	}
	return NormalizeGroup(group)
}

// NormalizePromoCode returns a checkout promo code as stores keep it:
// trimmed and lowercased (promo codes are case-insensitive), and whether it
// is valid (ValidPromoCode).
func NormalizePromoCode(s string) (string, bool) {
	s = strings.ToLower(strings.TrimSpace(s))
	return s, ValidPromoCode(s)
}

// PromoterCode returns the promoter code t credits, "" for none: the
// Promoter of a promoter touch, unless it is DeletedPromoter (the deleted
// promoters' bucket has no figures of its own).
func (t Touch) PromoterCode() string {
	if t.Channel != ChannelPromoter || t.Promoter == "" || t.Promoter == DeletedPromoter {
		return ""
	}
	return t.Promoter
}

// ForgetPromoter rewrites what a stored attribution says of a deleted
// promoter code, the way every store's DeletePromoter does it: the credited
// touch and the overruled one (Overruled.Touch), when they are the code's
// promoter touch, get Promoter and Source DeletedPromoter and Evidence
// "deleted promoter". It reports whether the credited touch changed (its
// figures then move to DeletedKey) and whether the overruled one did.
func (a *Attribution) ForgetPromoter(code string) (touch, overruled bool) {
	forget := func(t *Touch) bool {
		if t.Channel != ChannelPromoter || (t.Promoter != code && t.Source != code) {
			return false
		}
		t.Promoter, t.Source, t.Evidence = DeletedPromoter, DeletedPromoter, "deleted promoter"
		return true
	}
	touch = forget(&a.Touch)
	if a.Overruled.Rule != "" {
		overruled = forget(&a.Overruled.Touch)
	}
	return touch, overruled
}

// Normalize returns p as stores save it, or an error wrapping ErrInvalid:
// the code normalised with NormalizePromoter (DeletedPromoter is not a
// valid code); Groups (NormalizeGroup), Events (ValidEvent) and PromoCodes
// (NormalizePromoCode) as sorted sets without duplicates, nil when empty.
// Name and Created are kept as given.
func (p Promoter) Normalize() (Promoter, error) {
	code, ok := NormalizePromoter(p.Code)
	if !ok {
		return Promoter{}, invalidf("promoter code %q is not [A-Za-z0-9_-]{1,%d}", clip(p.Code, 80), MaxPromoterLen)
	}
	np := Promoter{Code: code, Name: p.Name, Created: p.Created}
	for _, g := range p.Groups {
		n, ok := NormalizeGroup(g)
		if !ok {
			return Promoter{}, invalidf("group name %q is not 1 to %d bytes of text", clip(g, 80), MaxGroupLen)
		}
		np.Groups = append(np.Groups, n)
	}
	for _, e := range p.Events {
		if !ValidEvent(e) {
			return Promoter{}, invalidf("event slug %q is not [a-z0-9-]{1,%d}", clip(e, 80), MaxEventLen)
		}
		np.Events = append(np.Events, e)
	}
	for _, pc := range p.PromoCodes {
		n, ok := NormalizePromoCode(pc)
		if !ok {
			return Promoter{}, invalidf("promo code %q is not 1 to %d printable bytes", clip(n, 80), MaxPromoterLen)
		}
		np.PromoCodes = append(np.PromoCodes, n)
	}
	np.Groups, np.Events, np.PromoCodes = sortedSet(np.Groups), sortedSet(np.Events), sortedSet(np.PromoCodes)
	return np, nil
}

// Normalize returns l as stores save it, or an error wrapping ErrInvalid:
// ID is [A-Za-z0-9_-]{1,MaxLinkIDLen} (ValidLinkID), Event a valid slug,
// UTM.Source required and trimmed and lowercased (mapping aliases such as
// "ig" is the caller's job, as Classify does it), every utm value at most
// MaxUTMLen bytes.
func (l Link) Normalize() (Link, error) {
	l.UTM.Source = strings.ToLower(strings.TrimSpace(l.UTM.Source))
	switch {
	case !ValidLinkID(l.ID):
		return Link{}, invalidf("link id %q is not [A-Za-z0-9_-]{1,%d}", clip(l.ID, 80), MaxLinkIDLen)
	case !ValidEvent(l.Event):
		return Link{}, invalidf("event slug %q is not [a-z0-9-]{1,%d}", clip(l.Event, 80), MaxEventLen)
	case l.UTM.Source == "":
		return Link{}, invalidf("link %q has no utm_source", l.ID)
	}
	for _, v := range [...]string{l.UTM.Source, l.UTM.Medium, l.UTM.Campaign, l.UTM.Content, l.UTM.Term} {
		if len(v) > MaxUTMLen {
			return Link{}, invalidf("link %q: utm value longer than %d bytes", l.ID, MaxUTMLen)
		}
	}
	return l, nil
}

// Check reports whether a stamp may be stored: a session reference, a
// positive TTL, Touch.Event "" or a valid slug, a source key of at most
// MaxKeyLen bytes and, for a promoter touch, a lowercase code (or
// DeletedPromoter). The error wraps ErrInvalid.
func (s Stamp) Check() error {
	switch {
	case !ValidSession(s.Session):
		return invalidf("session reference is not a tracklink reference")
	case s.TTL <= 0:
		return invalidf("TTL must be positive")
	case s.PromoterLock < 0:
		return invalidf("PromoterLock must not be negative")
	case s.Touch.Event != "" && !ValidEvent(s.Touch.Event):
		return invalidf("event slug %q is not [a-z0-9-]{1,%d}", clip(s.Touch.Event, 80), MaxEventLen)
	case len(s.Touch.Key()) > MaxKeyLen:
		return invalidf("source key longer than %d bytes", MaxKeyLen)
	}
	return checkTouchPromoter(s.Touch)
}

// checkTouchPromoter refuses a promoter touch whose code is not stored
// lowercase, so a code counts under one spelling only.
func checkTouchPromoter(t Touch) error {
	if code := t.PromoterCode(); code != "" {
		if n, ok := NormalizePromoter(code); !ok || n != code {
			return invalidf("promoter code %q is not a lowercase [a-z0-9_-]{1,%d} code", clip(code, 80), MaxPromoterLen)
		}
	}
	return nil
}

// Limits of a stored attribution, derived from Order's: what Order.Totals
// can give for an order that passed Order.Validate.
const (
	MaxOrderTickets = MaxLines * MaxQuantity
	MaxOrderRevenue = MaxLines * MaxQuantity * MaxUnitAmount
)

// Check reports whether an attribution may be recorded: an order id of 1
// to MaxOrderIDLen printable bytes, a valid event slug, a three-letter
// currency, tickets and excluded tickets 0 to MaxOrderTickets, revenue 0
// to MaxOrderRevenue, a source key of at most MaxKeyLen bytes and, for a
// promoter touch (credited or overruled), a lowercase code. Stores call it before writing
// anything; the error wraps ErrInvalid.
func (a Attribution) Check() error {
	switch {
	case a.OrderID == "" || len(a.OrderID) > MaxOrderIDLen || !printable(a.OrderID):
		return invalidf("order id must be 1 to %d printable characters", MaxOrderIDLen)
	case !ValidEvent(a.Event):
		return invalidf("event slug %q is not [a-z0-9-]{1,%d}", clip(a.Event, 80), MaxEventLen)
	case !validCurrency(a.Currency):
		return invalidf("currency %q is not a three-letter ISO 4217 code", clip(a.Currency, 10))
	case a.Tickets < 0 || a.Tickets > MaxOrderTickets || a.Excluded < 0 || a.Excluded > MaxOrderTickets:
		return invalidf("tickets must be 0 to %d", MaxOrderTickets)
	case a.Revenue < 0 || a.Revenue > MaxOrderRevenue:
		return invalidf("revenue must be 0 to %d", int64(MaxOrderRevenue))
	case len(a.Touch.Key()) > MaxKeyLen:
		return invalidf("source key longer than %d bytes", MaxKeyLen)
	}
	if err := checkTouchPromoter(a.Overruled.Touch); err != nil {
		return err
	}
	return checkTouchPromoter(a.Touch)
}

// ValidOrderID reports whether id can be a recorded order's id: 1 to
// MaxOrderIDLen printable ASCII bytes.
func ValidOrderID(id string) bool {
	return id != "" && len(id) <= MaxOrderIDLen && printable(id)
}

// Check reports whether a visit count may be applied: Event "" or a valid
// slug, a YYYY-MM-DD Day, a Key of "<channel>|<source>" with a valid
// channel and at most MaxKeyLen bytes, Promoter "" or a lowercase code, N
// at least 1. The error wraps ErrInvalid.
func (v VisitCount) Check() error {
	ch, _, ok := strings.Cut(v.Key, "|")
	switch {
	case v.Event != "" && !ValidEvent(v.Event):
		return invalidf("event slug %q is not [a-z0-9-]{1,%d}", clip(v.Event, 80), MaxEventLen)
	case !ok || !Channel(ch).Valid() || len(v.Key) > MaxKeyLen:
		return invalidf("source key %q is not <channel>|<source> of at most %d bytes", clip(v.Key, 80), MaxKeyLen)
	case v.N < 1:
		return invalidf("visit count %d is not positive", v.N)
	}
	if _, err := ParseDay(v.Day); err != nil {
		return err
	}
	if v.Promoter != "" {
		if n, ok := NormalizePromoter(v.Promoter); !ok || n != v.Promoter {
			return invalidf("promoter code %q is not a lowercase [a-z0-9_-]{1,%d} code", clip(v.Promoter, 80), MaxPromoterLen)
		}
	}
	return nil
}

// sortedSet sorts and deduplicates s in place; nil when empty.
func sortedSet(s []string) []string {
	if len(s) == 0 {
		return nil
	}
	slices.Sort(s)
	return slices.Compact(s)
}
