package tracklink

import (
	"context"
	"errors"
	"time"
)

// Stamp is one tracked landing handed to SessionStore.Stamp.
type Stamp struct {
	// Session is the session reference (ValidSession).
	Session string
	// Touch is the landing's classified touch. Touch.Event scopes it: the
	// session's touch for that event, or its site-wide touch when "".
	Touch Touch
	// Model decides whether Touch replaces the current one by strength;
	// Stamp.Replaces is the whole rule stores apply.
	Model Model
	// PromoterLock, when > 0, keeps a promoter touch from being replaced
	// by another promoter's touch for this long after it was stamped
	// (Stamp.LockEnd). Zero: no lock. A stronger touch of another kind (a
	// campaign link, a click id) still replaces it under Model.
	PromoterLock time.Duration
	// TTL is how long the session's touches live after this landing
	// (sliding). Must be > 0.
	TTL time.Duration
	// MarkOnly asks the store to decide whether the visit counts (its visit
	// marks, StampResult.Counted) without counting it in any figures: the
	// caller hands counted visits to a LedgerStore itself (Compose does).
	// A store that keeps no figures always works this way.
	MarkOnly bool
}

// StampResult is what SessionStore.Stamp did.
type StampResult struct {
	// Current is the session's touch for the scope after merging.
	Current Touch
	// Counted reports whether a new visit was counted: once per (session,
	// event, Current.Key(), day of Touch.At).
	Counted bool
}

// Record is the result of Ledger.Record and Ledger.Refund (and, within
// RefundRecord, of Ledger.PartialRefund).
type Record struct {
	// Attribution is the stored attribution of the order (the first one
	// recorded, whatever later deliveries carried).
	Attribution Attribution
	// Applied reports whether this call changed the aggregates: false for
	// a duplicate delivery.
	Applied bool
	// Pending lists the hooks still owed for this order (outbox), whether
	// queued by this call or left by an earlier delivery whose hooks failed.
	// Call the hooks, then Ledger.Ack each one.
	Pending []HookKind
}

// HookKind names an outbox entry.
type HookKind string

// The outbox entries.
const (
	HookAttributed   HookKind = "attributed"   // OnAttributed: credited to a touch
	HookUnattributed HookKind = "unattributed" // OnUnattributed: no touch, credited to direct
	HookRefunded     HookKind = "refunded"     // OnRefunded
	// A partial refund queues PartialRefundHook(its refund id):
	// OnPartialRefund.
)

// The store contract is split by role, so that each side can live where it
// belongs and an adapter for one role is a small job:
//
//   - SessionStore (2 methods): the sessions' touches and visit marks. Hot
//     (one call per tracked page view), ephemeral (everything expires with
//     the session) and attacker-facing (every structure bounded).
//   - LedgerStore, the durable side: the Ledger (7 methods: orders claimed
//     exactly once, their attributions, refunds and the hook outbox), the
//     VisitCounter (1 method: visits counted into the aggregates), the
//     Registry (13 methods: promoters, groups, campaign links) and the
//     Reports (8 methods) that read the aggregates.
//   - Feed (1 method), optional: the live stream of changes, found by type
//     assertion.
//
// memstore and redisstore implement every role in one store, so that a
// landing is stamped and counted in one atomic step. Compose joins a
// SessionStore and a LedgerStore that live apart (sessions on Redis, the
// ledger on PostgreSQL).
//
// Every method of every role is safe for concurrent use, takes ctx first
// and honours its deadline. "Not found" is never an error: a missing touch
// is nil, a missing order or promoter a zero value with ok false. The
// rules every adapter shares (limits, the OtherKey and DeletedKey buckets,
// day ranges, normalisation) live in this package; see rules.go.

// SessionStore keeps the sessions' touches and decides which visits count.
type SessionStore interface {
	// Stamp merges s.Touch into the session's touch for s.Touch.Event under
	// s.Model, slides the session's expiry to s.TTL, and reports a visit
	// as counted for (event, Current.Key(), day) unless this session
	// already counted that triple. A Touch with a zero At is stamped at the
	// store's clock.
	//
	// Everything Stamp keeps for a session is bounded and expires with it:
	// touches of at most MaxSessionEvents events (a new event past the cap
	// drops the least recently landed one) plus the site-wide touch, and
	// at most MaxEventMarks visit marks per scope, of one day (see
	// MaxEventMarks). No Stamp's cost grows with what the session did
	// before.
	//
	// Unless s.MarkOnly, a store that also keeps the figures (memstore,
	// redisstore) counts the visit in the same atomic step, as
	// VisitCounter.CountVisits would count it. Site-wide landings (Event
	// "") keep their own touch and count under event "".
	Stamp(ctx context.Context, s Stamp) (StampResult, error)

	// Touches returns the session's touch for event and its site-wide touch;
	// either is nil when absent or expired.
	Touches(ctx context.Context, session, event string) (eventTouch, siteTouch *Touch, err error)
}

// Ledger records orders exactly once.
//
// # Deliveries and retries
//
// A write whose reply was lost (a timeout, a dropped connection) may be
// sent again by the client library or by the caller, and the second
// attempt finds the order already claimed. So that it reports what
// really happened, Record and Refund read a delivery token from ctx
// (WithDelivery; a store draws a random one per call when ctx has none)
// and keep it with the claim: a duplicate call that carries the token
// of the call that applied the change reports the first application
// (Applied true, the same Pending), not a duplicate. A ledger stores
// the token in the same transaction as the claim (the order row's
// column, the order hash's field) and compares it on every duplicate:
//
//   - Record: the claim keeps the token and whether the call applied
//     (false when an early refund made it count nothing); a duplicate
//     with that token returns that Applied.
//   - Refund: the reversal keeps its own token; a duplicate with it
//     returns Applied true.
//
// Tokens are opaque strings of 1 to MaxDeliveryTokenLen printable bytes;
// a store ignores any other (and then draws its own).
type Ledger interface {
	// Record claims a.OrderID and, if this is the first time, stores a,
	// applies its aggregates (orders, tickets, excluded tickets and revenue
	// per event × day × source key, per promoter, per campaign) and queues
	// its hook in the outbox, all in one atomic step. An order with no
	// primary tickets counts its excluded tickets only. If the order was
	// refunded before it was recorded, it is stored as refunded and counts
	// nothing. A duplicate returns the stored attribution with Applied false.
	// Input that fails Attribution.Check is refused (ErrInvalid) before
	// anything is written.
	//
	// Each event counts orders under at most the store's cap of distinct
	// source keys (DefaultMaxSources): past it, an order whose key is new
	// counts on the event under OtherKey while its attribution (and its
	// promoter's figures) keep the real touch. Sales count on a promoter's
	// figures whether or not the code is registered.
	Record(ctx context.Context, a Attribution) (Record, error)

	// Refund reverses what the order added, once, and queues HookRefunded.
	// For an order not recorded yet, it remembers the refund (Applied false,
	// ok false) so that a late Record counts nothing.
	//
	// After partial refunds it reverses only what they left
	// (Attribution.FullRefund), never more.
	Refund(ctx context.Context, orderID string, at time.Time) (r Record, ok bool, err error)

	// PartialRefund applies refund r to its order once per (r.OrderID,
	// r.RefundID), in one atomic step: it takes what the refund names off
	// the order's figures, in every bucket the order counts in, clamped to
	// what the order still counts (Attribution.ApplyRefund: the rule every
	// store applies), adds it to the attribution's RefundedRevenue and
	// RefundedTickets, stores the refund's entry and queues
	// PartialRefundHook(r.RefundID). A refund that takes off all the
	// revenue left completes the order's refund: the order is then
	// refunded as by Refund (its order count and excluded tickets go too,
	// and HookRefunded is queued besides).
	//
	// A second call with the same refund id changes nothing and returns
	// the stored entry, Applied false (true for a retry carrying the
	// delivery token of the call that applied it, as for Refund);
	// concurrent calls apply it once. A refund of an order already
	// refunded in full changes nothing (Applied false). A refund of an
	// order not recorded writes nothing and returns Known false: unlike
	// Refund's, it is not remembered, so the caller delivers it again
	// later. Input that fails Refund.Check is refused (ErrInvalid), and so
	// is a refund id beyond the order's MaxOrderRefunds.
	PartialRefund(ctx context.Context, r Refund) (RefundRecord, error)

	// Ack removes a hook from the outbox once it ran, and its lease.
	Ack(ctx context.Context, orderID string, kind HookKind) error

	// ClaimHook leases the outbox entry (orderID, kind) to the caller for
	// lease (> 0), so that concurrent deliveries of one order run its hook
	// once: ok is true when the entry is owed and no other lease on it is
	// live, and the lease then runs from the store's clock. A false ok
	// means the hook is not owed (acknowledged, never queued, unknown
	// order) or another delivery holds it; the caller does not run it.
	// A lease is not a lock: it only narrows duplicates. A caller that
	// dies keeps it until it expires, and then a later delivery claims
	// the entry and runs the hook (at least once). Run the hook, then Ack
	// (done) or ReleaseHook (failed: the next delivery may run it at once).
	ClaimHook(ctx context.Context, orderID string, kind HookKind, lease time.Duration) (ok bool, err error)

	// ReleaseHook ends the caller's lease on (orderID, kind) and leaves
	// the entry owed. Releasing an entry nobody holds does nothing.
	ReleaseHook(ctx context.Context, orderID string, kind HookKind) error

	// Attribution returns a recorded order.
	Attribution(ctx context.Context, orderID string) (a Attribution, ok bool, err error)
}

// VisitCount is a number of visits to count on the aggregates: visits the
// session side marked as counted (StampResult.Counted) for one event, day
// and source key.
type VisitCount struct {
	// Event is the event slug, "" for site-wide pages.
	Event string
	// Day is the day (YYYY-MM-DD, UTC) of the landings (Day(Touch.At)).
	Day string
	// Key is the source key of the session's current touch (Touch.Key()).
	Key string
	// Promoter is the promoter code the touch credits
	// (Touch.PromoterCode()), "" for none.
	Promoter string
	// N is the number of visits, at least 1.
	N int64
}

// VisitCounter counts visits the session side decided on.
type VisitCounter interface {
	// CountVisits adds each entry's N visits to the event's daily and
	// all-time figures under Key and, when Promoter is a registered
	// promoter, to the promoter's figures (a code nobody registered counts
	// on the event only). Each event counts visits under at most the
	// store's cap of distinct keys: past it, a new key counts under
	// OtherKey. All entries are checked (VisitCount.Check) before anything
	// is written; a bad one refuses the whole call with ErrInvalid.
	// Entries are applied together: in one transaction where the store has
	// them.
	CountVisits(ctx context.Context, visits []VisitCount) error
}

// Registry holds the promoters, their groups and the campaign links.
type Registry interface {
	// SavePromoter creates or replaces the promoter with p.Code, as
	// Promoter.Normalize makes it (an invalid promoter is refused with
	// ErrInvalid). Groups unknown to the registry are added to it. A promo
	// code owned by another promoter is refused with ErrConflict and
	// nothing is saved. Replacing a promoter releases the promo codes it no
	// longer lists. A zero Created is kept from the promoter being
	// replaced, else set to the store's clock.
	SavePromoter(ctx context.Context, p Promoter) error
	// Promoter returns one promoter (code is case-insensitive); ok false
	// when there is none.
	Promoter(ctx context.Context, code string) (p Promoter, ok bool, err error)
	// Promoters returns every promoter, ordered by code.
	Promoters(ctx context.Context) ([]Promoter, error)
	// PromoterByPromoCode returns the code of the promoter owning a checkout
	// promo code (NormalizePromoCode); ok false when none does.
	PromoterByPromoCode(ctx context.Context, promo string) (code string, ok bool, err error)
	// DeletePromoter permanently removes the promoter and all of its data:
	// its registry entry, its visit and sales figures (folded into
	// DeletedPromoter so event totals stay right), its daily series, and
	// its code on stored attributions (Touch.Promoter and Touch.Source
	// become DeletedPromoter, Touch.Evidence "deleted promoter").
	DeletePromoter(ctx context.Context, code string) error

	// Groups returns the group names, sorted.
	Groups(ctx context.Context) ([]string, error)
	// SaveGroup creates a group (NormalizeGroup; no error if it exists).
	SaveGroup(ctx context.Context, name string) error
	// RenameGroup renames a group, on every promoter in it too; renaming
	// onto an existing group merges the two.
	RenameGroup(ctx context.Context, from, to string) error
	// DeleteGroup removes a group from the registry and from every promoter.
	DeleteGroup(ctx context.Context, name string) error

	// SaveLink creates or replaces a campaign link by ID, as Link.Normalize
	// makes it. A zero Created is kept from the link being replaced, else
	// set to the store's clock.
	SaveLink(ctx context.Context, l Link) error
	// Link returns one campaign link.
	Link(ctx context.Context, id string) (l Link, ok bool, err error)
	// Links returns the campaign links of event ("" for all), oldest first
	// (by Created, then ID).
	Links(ctx context.Context, event string) ([]Link, error)
	// DeleteLink removes a campaign link (its figures stay with its utm_source).
	DeleteLink(ctx context.Context, id string) error
}

// Reports are the queries behind package report. Every query reads
// aggregates kept by Record, Refund and the visit counting: its cost grows
// with what it returns, not with history.
type Reports interface {
	// EventTraffic returns an event's counts per source key over the days
	// from..to inclusive (YYYY-MM-DD); from and to both "" mean all time
	// (CheckTrafficRange). Rows whose figures are all zero may be left
	// out; rows are sorted by Visits descending, then Key.
	EventTraffic(ctx context.Context, event, from, to string) ([]SourceCounts, error)
	// EventDays returns an event's counts per day from..to inclusive, one
	// entry per day, zero-filled, at most MaxDays days (DayRange).
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
	// offset to offset+limit-1 (CheckPage), with their registry entries and
	// all-time totals (Stats.Events is left empty: PromoterStats has the
	// per-event figures). Its cost grows with limit, not with the number of
	// promoters or their history.
	PromoterRanking(ctx context.Context, group string, offset, limit int) ([]RankedPromoter, error)
	// RecentOrders returns up to limit (1 to MaxLimit) recorded orders of
	// event ("" for all), newest first.
	RecentOrders(ctx context.Context, event string, limit int) ([]Attribution, error)
	// PromoterDays returns a promoter's daily counts from..to inclusive,
	// zero-filled, at most MaxDays days.
	PromoterDays(ctx context.Context, code, from, to string) ([]DayCounts, error)
	// Orders calls fn for each recorded order of event ("" for all events),
	// oldest first, reading in batches (it never loads every order at once).
	// fn's error stops the walk and is returned.
	Orders(ctx context.Context, event string, fn func(Attribution) error) error
}

// Feed is the optional live stream of changes. Report's stream endpoint
// finds it by type assertion.
type Feed interface {
	// Subscribe streams changes recorded from now on, by any instance that
	// shares the store, until ctx ends (then the channel is closed). It
	// returns once the subscription is live. A subscriber that does not
	// keep up loses changes rather than blocking the store.
	Subscribe(ctx context.Context) (<-chan Change, error)
}

// LedgerStore is the durable side: the ledger, the visit counter, the
// registry and the reports, kept together because an order's claim and its
// aggregates change in one transaction. pgstore is one; memstore and
// redisstore are too (besides their session side).
type LedgerStore interface {
	Ledger
	VisitCounter
	Registry
	Reports
}

// Store is the session side and the ledger in one: what the middleware and
// the webhook receiver take from an all-in-one store (memstore,
// redisstore) or from Compose.
type Store interface {
	SessionStore
	Ledger
}

// ReportStore is the registry, the reports and the live feed: what an
// all-in-one store offers package report.
type ReportStore interface {
	Registry
	Reports
	Feed
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
