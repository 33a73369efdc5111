// Package memstore is tracklink's in-process store: the embedded default
// (a single process, nothing to run beside it) and the reference behaviour
// every other adapter must match (tracklinktest.TestStore runs on it).
//
// A Store implements every role of the store contract: the session side
// (tracklink.SessionStore), the durable side (tracklink.LedgerStore) and the
// live feed (tracklink.Feed). It is safe for concurrent use, and each
// operation is atomic exactly as the contracts ask: the sessions are spread
// over 64 shards by a seeded hash of the session reference, each under its
// own lock, so stamps of different sessions do not wait for each other; the
// ledger, figures and registry are under one more lock. A Stamp applies
// the landing to its session under the session's shard lock, then counts
// the visit (when it is new) under the figures' lock; no operation holds
// both.
//
// # Expiry
//
// A session's touches and the visits it already counted live TTL after the
// session's last Stamp (sliding, per session across all its events and the
// site-wide scope: a landing on any page keeps the whole session alive).
// Expired sessions are invisible at once (reads compare with Options.Now)
// and are swept inside Stamp, amortised: when the number of sessions held
// reaches twice what the previous sweep left (and at least
// Options.SweepMin), Stamp drops every expired one, taking one shard's
// lock at a time (a Stamp that finds a sweep running leaves it the work). No goroutine runs in the
// background, so there is nothing to Close.
//
// # Memory
//
//   - Sessions: at most about twice the live sessions (plus SweepMin), each
//     holding a touch for at most MaxSessionEvents events (a new event past
//     the cap drops the least recently landed one) plus its site-wide
//     touch, and per scope the source keys it counted that day (at most
//     MaxEventMarks, kept as 8-byte fingerprints). A touch's strings are
//     capped (about 2 KB at most), so one session holds at most about
//     150 KB however it is driven, and a few hundred bytes for a visitor
//     who lands on one event. A session is held without pointers: its
//     shard maps the 22-byte reference to an offset in the shard's byte
//     arena, where the session's touches and marks are encoded in one
//     record, decoded only to answer Stamp and Touches. The garbage
//     collector has nothing to scan in the sessions held, however many;
//     an arena is compacted once half of it is records rewritten
//     elsewhere or dropped, so it stays within about twice its live
//     records.
//   - Aggregates grow with events × days × source keys and promoters × days,
//     never with visits or orders. Source keys come from outside input
//     (referrers, utm_source, promoter codes in URLs), so each event counts
//     visits under at most Options.MaxSources distinct keys, and orders
//     under as many: a visit or order whose key is new once the cap is
//     reached counts under OtherKey instead. Per-promoter figures are kept
//     for visits only when the code is registered (SavePromoter), and for
//     sales of any code (orders are bounded by real payments).
//   - Orders: every recorded attribution is kept for the life of the
//     process, so duplicate webhook deliveries are caught whenever they
//     come. An early refund (a tombstone) is kept Options.TombstoneTTL
//     (default 30 days, as redisstore's OrderTTL); expired ones are swept
//     inside Refund, amortised as sessions are. A memstore is for one
//     process whose restarts forget everything; use a persistent store
//     (redisstore) when figures must survive.
package memstore

import (
	"fmt"
	"hash/maphash"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tracklink/tracklink"
)

// Sentinel errors, compared with errors.Is.
var (
	// ErrInvalid is wrapped by errors about bad arguments: an invalid
	// session reference, promoter code, link, group name or date range.
	ErrInvalid = fmt.Errorf("memstore: %w", tracklink.ErrInvalid)
	// ErrConflict is wrapped when a promo code already belongs to another
	// promoter.
	ErrConflict = fmt.Errorf("memstore: %w", tracklink.ErrConflict)
)

// Compile-time guards.
var (
	_ tracklink.Store       = (*Store)(nil)
	_ tracklink.LedgerStore = (*Store)(nil)
	_ tracklink.ReportStore = (*Store)(nil)
)

// Options configure a Store. The zero value is the default.
type Options struct {
	// Now is the clock sessions expire by and the time given to promoters
	// and links saved without one. Default time.Now.
	Now func() time.Time
	// SweepMin is the number of sessions below which Stamp never sweeps
	// expired ones. Default 1024; it only trades memory against sweeps.
	SweepMin int
	// SubscriberBuffer is the buffer of each Subscribe channel; changes
	// beyond it are dropped for that subscriber. Default 64.
	SubscriberBuffer int
	// MaxSources caps the distinct source keys (Touch.Key) an event counts
	// visits under, and separately those it counts orders under, all time
	// (each day's keys are a subset). Once an event holds MaxSources keys,
	// a visit or order whose key is new counts under OtherKey instead;
	// keys already there keep counting. A capped order's attribution keeps
	// its real touch (and its promoter's figures). Default
	// DefaultMaxSources (1,000); a negative value removes the cap.
	MaxSources int
	// TombstoneTTL is how long the store remembers a refund that arrived
	// before its order (the tombstone that makes a late Record count
	// nothing), by Now. Default DefaultTombstoneTTL (30 days, like
	// redisstore's OrderTTL); a negative value keeps tombstones forever.
	TombstoneTTL time.Duration
}

// Defaults of Options.
const (
	DefaultMaxSources   = tracklink.DefaultMaxSources
	DefaultTombstoneTTL = 30 * 24 * time.Hour
)

// OtherKey is the source key ("referral|~other": channel referral, source
// "~other") that visits and orders count under once their event reached
// Options.MaxSources distinct keys: tracklink.OtherKey.
const OtherKey = tracklink.OtherKey

func (o *Options) setDefaults() {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.SweepMin <= 0 {
		o.SweepMin = 1024
	}
	if o.SubscriberBuffer <= 0 {
		o.SubscriberBuffer = 64
	}
	if o.MaxSources == 0 {
		o.MaxSources = DefaultMaxSources
	}
	if o.TombstoneTTL == 0 {
		o.TombstoneTTL = DefaultTombstoneTTL
	}
}

// MaxSessionMarks bounds the visit marks ((event, source key, day) triples
// already counted) one session keeps: tracklink.MaxSessionMarks.
const MaxSessionMarks = tracklink.MaxSessionMarks

// MaxSessionEvents bounds the events one session keeps a touch for, its
// site-wide touch aside: tracklink.MaxSessionEvents.
const MaxSessionEvents = tracklink.MaxSessionEvents

// Store is an in-process store of every role: tracklink.SessionStore,
// tracklink.LedgerStore and tracklink.Feed (so tracklink.Store and
// tracklink.ReportStore). Create it with New or NewWithOptions.
type Store struct {
	now        func() time.Time
	sweepMin   int
	subBuf     int
	maxSources int           // < 0: no cap
	tombTTL    time.Duration // < 0: tombstones never expire
	// The sessions, spread over shards each under its own lock (see
	// shard); held counts them, sweepAt is the count that triggers a
	// sweep, sweepMu is held by the one sweep running.
	shards    [sessionShards]shard
	shardSeed maphash.Seed
	held      atomic.Int64
	sweepAt   atomic.Int64
	sweepMu   sync.Mutex
	markSeed  maphash.Seed // fingerprints of marked source keys

	// mu guards everything below: the ledger, figures and registry.
	mu         sync.RWMutex
	events     map[string]*eventAgg    // by event slug ("" = site-wide)
	promoters  map[string]*promoterAgg // by promoter code
	orders     map[string]*order       // by order id
	tombstones map[string]tombstone    // refunds of orders not recorded yet
	tombSweep  int                     // len(tombstones) that triggers a sweep
	registry   map[string]*tracklink.Promoter
	promo      map[string]string // promo code → promoter code
	groups     map[string]struct{}
	links      map[string]tracklink.Link
	// recent holds each event's orders ("" all events) sorted by At,
	// then OrderID, for RecentOrders.
	recent map[string]*recentList
	// groupAggs are the sums of the registered promoters of each group
	// ("" every registered promoter), for PromoterSummary.
	groupAggs map[string]*groupAgg

	subMu sync.Mutex
	subs  map[*subscriber]struct{}
}

// scope is a session's state for one event (or the site-wide scope),
// decoded from its record (shard) while a Stamp or Touches works on it. A
// session holds at most MaxSessionEvents event scopes plus the site-wide
// one, each with at most MaxEventMarks marks.
type scope struct {
	touch tracklink.Touch
	lock  time.Time // the touch's promoter lock end (tracklink.Stamp.LockEnd)
	last  uint64    // the session's stamps at its latest landing
	day   string    // the day of marks
	marks []uint64  // fingerprints of the source keys counted on day, at most MaxEventMarks
}

type eventAgg struct {
	days  map[string]map[string]*tracklink.Counts // day → key → counts
	total map[string]*tracklink.Counts            // key → counts
	// visitKeys and orderKeys are the keys the event counted visits and
	// orders under, all time (OtherKey included once used): what
	// Options.MaxSources caps. They mirror redisstore's {e:<event>}:v:all
	// fields and {o}:ev:<event>:keys set.
	visitKeys, orderKeys map[string]struct{}
}

type promoterAgg struct {
	total  tracklink.Counts
	events map[string]*tracklink.Counts // event → counts
	days   map[string]*tracklink.Counts // day → counts
	// ed holds the (event, day) pairs the promoter has figures on: where
	// DeletePromoter folds the event counters.
	ed map[eventDay]struct{}
}

type eventDay struct{ event, day string }

type order struct {
	a      tracklink.Attribution
	key    string               // the source key its figures count under
	outbox []tracklink.HookKind // queue order, no duplicates
	// tok is the delivery token of the Record that claimed the order and
	// applied whether it counted; rtok the token of the Refund that
	// reversed it (tracklink.Ledger: a retried call reports the first
	// application).
	tok     string
	applied bool
	rtok    string
	// leases holds the outbox entries claimed by a delivery, until when.
	leases map[tracklink.HookKind]time.Time
	// refunds holds the partial refunds applied, by refund id (at most
	// tracklink.MaxOrderRefunds).
	refunds map[string]refundClaim
}

// refundClaim is one partial refund applied: its entry and the delivery
// token of the call that applied it.
type refundClaim struct {
	entry tracklink.RefundEntry
	tok   string
}

type tombstone struct {
	at      time.Time // the refund's time
	expires time.Time // zero: never
}

// New returns an empty Store with the default options.
func New() *Store { return NewWithOptions(Options{}) }

// NewWithOptions returns an empty Store configured by o.
func NewWithOptions(o Options) *Store {
	o.setDefaults()
	s := &Store{
		now:        o.Now,
		sweepMin:   o.SweepMin,
		subBuf:     o.SubscriberBuffer,
		maxSources: o.MaxSources,
		tombTTL:    o.TombstoneTTL,
		shardSeed:  maphash.MakeSeed(),
		markSeed:   maphash.MakeSeed(),
		tombSweep:  o.SweepMin,
		events:     make(map[string]*eventAgg),
		promoters:  make(map[string]*promoterAgg),
		orders:     make(map[string]*order),
		tombstones: make(map[string]tombstone),
		registry:   make(map[string]*tracklink.Promoter),
		promo:      make(map[string]string),
		groups:     make(map[string]struct{}),
		links:      make(map[string]tracklink.Link),
		subs:       make(map[*subscriber]struct{}),
	}
	for i := range s.shards {
		s.shards[i].m = make(map[sessionKey]slot)
	}
	s.sweepAt.Store(int64(o.SweepMin))
	return s
}

// counts returns the counts of key in m, creating them.
func counts(m map[string]*tracklink.Counts, key string) *tracklink.Counts {
	c := m[key]
	if c == nil {
		c = &tracklink.Counts{}
		m[key] = c
	}
	return c
}

func (s *Store) event(name string) *eventAgg {
	e := s.events[name]
	if e == nil {
		e = &eventAgg{
			days: make(map[string]map[string]*tracklink.Counts), total: make(map[string]*tracklink.Counts),
			visitKeys: make(map[string]struct{}), orderKeys: make(map[string]struct{}),
		}
		s.events[name] = e
	}
	return e
}

func (e *eventAgg) day(day string) map[string]*tracklink.Counts {
	m := e.days[day]
	if m == nil {
		m = make(map[string]*tracklink.Counts)
		e.days[day] = m
	}
	return m
}

func (s *Store) promoter(code string) *promoterAgg {
	p := s.promoters[code]
	if p == nil {
		p = &promoterAgg{
			events: make(map[string]*tracklink.Counts), days: make(map[string]*tracklink.Counts),
			ed: make(map[eventDay]struct{}),
		}
		s.promoters[code] = p
	}
	return p
}

// capKey returns the key a visit or order counts under in an event whose
// keys (visit or order side) are keys: key itself when it is there or
// there is room for it (it is added), else OtherKey. Callers hold s.mu.
func (s *Store) capKey(keys map[string]struct{}, key string) string {
	if _, ok := keys[key]; !ok {
		if s.maxSources >= 0 && len(keys) >= s.maxSources {
			key = OtherKey
		}
		keys[key] = struct{}{}
	}
	return key
}

// promoterOf returns the promoter code a touch credits, "" for none.
func promoterOf(t tracklink.Touch) string { return t.PromoterCode() }

// copyCounts returns c with its own Revenue map, zero amounts dropped.
func copyCounts(c tracklink.Counts) tracklink.Counts {
	out := c
	out.Revenue = nil
	for cur, v := range c.Revenue {
		if v == 0 {
			continue
		}
		if out.Revenue == nil {
			out.Revenue = make(map[string]int64, len(c.Revenue))
		}
		out.Revenue[cur] = v
	}
	return out
}

func isZero(c *tracklink.Counts) bool {
	if c.Visits != 0 || c.Orders != 0 || c.Tickets != 0 || c.Excluded != 0 {
		return false
	}
	for _, v := range c.Revenue {
		if v != 0 {
			return false
		}
	}
	return true
}
