package tracklink

import (
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
