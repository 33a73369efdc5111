package tracklink

import (
	"context"
	"time"
)

// Counts are visit and sales figures for one source, promoter or period.
type Counts struct {
	Visits   int64 `json:"visits"`
	Orders   int64 `json:"orders"`
	Tickets  int64 `json:"tickets"`  // primary tickets
	Excluded int64 `json:"excluded"` // resold or transferred tickets, not in Tickets
	// Revenue is in minor units per ISO 4217 currency; nil when none.
	Revenue map[string]int64 `json:"revenue,omitempty"`
}

// Add adds o to c.
func (c *Counts) Add(o Counts) {
	c.Visits += o.Visits
	c.Orders += o.Orders
	c.Tickets += o.Tickets
	c.Excluded += o.Excluded
	for cur, v := range o.Revenue {
		if c.Revenue == nil {
			c.Revenue = make(map[string]int64, len(o.Revenue))
		}
		c.Revenue[cur] += v
	}
}

// SourceCounts are the counts of one source key of an event.
type SourceCounts struct {
	Key     string  `json:"key"` // Touch.Key(): "<channel>|<source>"
	Channel Channel `json:"channel"`
	Source  string  `json:"source"`
	Counts
}

// DayCounts are the counts of one day (YYYY-MM-DD, UTC).
type DayCounts struct {
	Day string `json:"day"`
	Counts
}

// DeletedPromoter is the source that replaces a deleted promoter's code in
// aggregates and attributions: the event totals stay right, nothing names
// the promoter any more. It is not a valid promoter code, so it can never
// collide with one.
const DeletedPromoter = "~deleted"

// OtherSource is the source that stores count visits and sales under once
// an event has reached its cap of distinct sources (key
// "referral|~other"), so forged referrers or utm values cannot grow the
// aggregates without bound. Like DeletedPromoter it cannot collide with a
// real source.
const OtherSource = "~other"

// Promoter is a person or organisation that sells with personal links.
type Promoter struct {
	Code   string   `json:"code"` // lowercase, NormalizePromoter; unique
	Name   string   `json:"name"`
	Groups []string `json:"groups,omitempty"`
	// Events are the event slugs the promoter is active on (one link each).
	Events []string `json:"events,omitempty"`
	// PromoCodes are checkout promo codes that credit this promoter when an
	// order has no session touch (cross-device), case-insensitive, stored
	// lowercase.
	PromoCodes []string  `json:"promo_codes,omitempty"`
	Created    time.Time `json:"created"`
}

// Link is an organiser's campaign (tracking) link for one event.
type Link struct {
	ID      string    `json:"id"` // short id, [A-Za-z0-9_-]{1,32}; the /t/{id} redirect
	Event   string    `json:"event"`
	Name    string    `json:"name"`
	UTM     UTM       `json:"utm"` // UTM.Source required, normalised like Classify does
	Created time.Time `json:"created"`
}

// PromoterStats are a promoter's figures.
type PromoterStats struct {
	Code   string `json:"code"`
	Totals Counts `json:"totals"` // all time, sales only (Visits included)
	// Events are the all-time counts per event slug the promoter sold or
	// had visits on.
	Events map[string]Counts `json:"events,omitempty"`
}

// PromoterSummary are the totals across the registered promoters of a
// group (or all of them).
type PromoterSummary struct {
	Group string `json:"group,omitempty"`
	// Promoters counts the registered promoters.
	Promoters int `json:"promoters"`
	// Active counts those with at least one order that counts.
	Active int `json:"active"`
	// Totals sums their sales (Visits is left zero: visits are counted per
	// event on the request path, which does not read group membership).
	Totals Counts `json:"totals"`
}

// RankedPromoter is one row of PromoterRanking: the registry entry and its
// figures, read together so a page costs a fixed number of store calls.
type RankedPromoter struct {
	Promoter Promoter      `json:"promoter"`
	Stats    PromoterStats `json:"stats"`
}

// Change is one entry of the live feed: an order recorded or refunded.
type Change struct {
	Kind        HookKind    `json:"kind"`
	Attribution Attribution `json:"attribution"`
}

// ReportStore is the registry and the read side behind package report.
// Every query reads aggregates kept by Stamp, Record and Refund: its cost
// grows with what it returns, not with history.
type ReportStore interface {
	// SavePromoter creates or replaces the promoter with p.Code.
	SavePromoter(ctx context.Context, p Promoter) error
	// Promoter returns one promoter; ok false when there is none.
	Promoter(ctx context.Context, code string) (p Promoter, ok bool, err error)
	// Promoters returns every promoter, ordered by code.
	Promoters(ctx context.Context) ([]Promoter, error)
	// PromoterByPromoCode returns the code of the promoter owning a checkout
	// promo code (case-insensitive); ok false when none does.
	PromoterByPromoCode(ctx context.Context, promo string) (code string, ok bool, err error)
	// DeletePromoter permanently removes the promoter and all of its data:
	// its registry entry, its visit and sales figures (folded into
	// DeletedPromoter so event totals stay right), its daily series, and
	// its code on stored attributions (replaced by DeletedPromoter).
	DeletePromoter(ctx context.Context, code string) error

	// Groups returns the group names, sorted.
	Groups(ctx context.Context) ([]string, error)
	// SaveGroup creates a group (no error if it exists).
	SaveGroup(ctx context.Context, name string) error
	// RenameGroup renames a group, on every promoter in it too.
	RenameGroup(ctx context.Context, from, to string) error
	// DeleteGroup removes a group from the registry and from every promoter.
	DeleteGroup(ctx context.Context, name string) error

	// SaveLink creates or replaces a campaign link by ID.
	SaveLink(ctx context.Context, l Link) error
	// Link returns one campaign link.
	Link(ctx context.Context, id string) (l Link, ok bool, err error)
	// Links returns the campaign links of event ("" for all), oldest first.
	Links(ctx context.Context, event string) ([]Link, error)
	// DeleteLink removes a campaign link (its figures stay with its utm_source).
	DeleteLink(ctx context.Context, id string) error

	// EventTraffic returns an event's counts per source key over the days
	// from..to inclusive (YYYY-MM-DD); from and to both "" mean all time.
	EventTraffic(ctx context.Context, event, from, to string) ([]SourceCounts, error)
	// EventDays returns an event's counts per day from..to inclusive, one
	// entry per day, zero-filled.
	EventDays(ctx context.Context, event, from, to string) ([]DayCounts, error)
	// PromoterStats returns all-time figures of the given promoters (every
	// code gets an entry, zero when it has none). Visits count on a
	// promoter's figures only while its code is registered; sales count for
	// any code.
	PromoterStats(ctx context.Context, codes []string) ([]PromoterStats, error)
	// PromoterSummary returns the totals across the registered promoters
	// of group ("" for all). Stores keep these sums up to date on Record,
	// Refund and every registry change, so the cost does not grow with the
	// number of promoters or with history.
	PromoterSummary(ctx context.Context, group string) (PromoterSummary, error)
	// PromoterRanking returns registered promoters of group ("" for all),
	// ordered by primary tickets sold (descending, then code), rows
	// offset to offset+limit-1, with their registry entries and all-time
	// totals (Stats.Events is left empty: PromoterStats has the per-event
	// figures). Its cost grows with limit, not with the number of
	// promoters or their history.
	PromoterRanking(ctx context.Context, group string, offset, limit int) ([]RankedPromoter, error)
	// RecentOrders returns up to limit recorded orders of event ("" for
	// all), newest first.
	RecentOrders(ctx context.Context, event string, limit int) ([]Attribution, error)
	// PromoterDays returns a promoter's daily counts from..to inclusive,
	// zero-filled.
	PromoterDays(ctx context.Context, code, from, to string) ([]DayCounts, error)
	// Orders calls fn for each recorded order of event ("" for all events),
	// oldest first, reading in batches (it never loads every order at once).
	// fn's error stops the walk and is returned.
	Orders(ctx context.Context, event string, fn func(Attribution) error) error

	// Subscribe streams changes recorded from now on, by any instance that
	// shares the store, until ctx ends (then the channel is closed). A
	// subscriber that does not keep up loses changes rather than blocking
	// the store.
	Subscribe(ctx context.Context) (<-chan Change, error)
}
