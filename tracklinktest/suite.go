// Package tracklinktest holds the conformance suites tracklink stores run,
// one per role of the store contract, modelled on testing/fstest.TestFS,
// and a fake Clock:
//
//   - TestSessionStore: a tracklink.SessionStore (touches, scopes, visit
//     marks, expiry, the caps on events and marks per session);
//   - TestLedger: a tracklink.LedgerStore's ledger and visit counting
//     (exactly once, refunds, the outbox, caps), read back through its
//     reports;
//   - TestReports: its reports (ranges, promoter figures, summaries,
//     rankings, recent orders);
//   - TestRegistry: its registry (promoters, promo codes, groups,
//     deletion, links);
//   - TestFeed: a LedgerStore that also implements tracklink.Feed;
//   - TestStore: an all-in-one store (memstore, redisstore, or a
//     tracklink.Compose whose visits are counted synchronously): all of the
//     above, with visits counted by Stamp, plus CountVisits when the store
//     has it.
//
// An adapter's test runs the suites of the roles it implements:
//
//	func TestStore(t *testing.T) {
//		tracklinktest.TestStore(t, func(t *testing.T) tracklinktest.Harness {
//			clock := tracklinktest.NewClock(time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC))
//			s := memstore.NewWithOptions(memstore.Options{Now: clock.Now})
//			return tracklinktest.Harness{Store: s, Advance: clock.Advance, Now: clock.Now}
//		})
//	}
//
//	func TestLedger(t *testing.T) {
//		tracklinktest.TestLedger(t, func(t *testing.T) tracklinktest.LedgerHarness {
//			return tracklinktest.LedgerHarness{Store: newStore(t)}
//		})
//	}
//
// What the suites hold every store to, beyond the doc comments of the
// tracklink interfaces:
//
//   - Figures are compared exactly. A revenue currency whose amount is zero
//     counts as absent, and EventTraffic rows whose figures are all zero are
//     ignored, so a store may either drop or keep emptied buckets.
//   - Times are compared with time.Time.Equal, so a store may round-trip
//     them through JSON (monotonic readings and locations are lost).
//   - Hook lists (Record.Pending) are compared as sets.
//   - A partial refund (PartialRefund) is applied once per refund id,
//     clamped to what the order still counts, and taken off every bucket
//     the order counts in; the one that takes off all the revenue left
//     refunds the order in full (and queues HookRefunded besides its own
//     PartialRefundHook). A full Refund after partial ones reverses what
//     they left. A partial refund of an order not recorded writes nothing.
//   - A refund that arrives before its order makes the late Record store the
//     order as refunded, count nothing (Applied false) and queue both the
//     order's hook (attributed or unattributed) and HookRefunded, so the host
//     hears of the sale and of its refund.
//   - DeletePromoter folds the promoter's figures into the source
//     tracklink.DeletedPromoter (key "promoter|~deleted") and rewrites its
//     stored attributions: Touch.Promoter and Touch.Source become
//     DeletedPromoter and Touch.Evidence "deleted promoter", and so do
//     those of an overruled touch (tracklink.Attribution.ForgetPromoter).
//   - Subscribe returns only once the subscription is live: a change
//     recorded right after it returns reaches the channel.
//   - Each event counts visits under at most Harness.MaxSources distinct
//     source keys, and orders under as many (two separate caps, all time);
//     a visit or order whose key is new once the cap is reached counts
//     under OtherKey ("referral|~other"), while its touch (StampResult,
//     Attribution) stays the real one.
//   - Per-promoter figures count visits only of registered promoters
//     (SavePromoter); sales count for any promoter code.
//   - An order with no primary tickets counts its excluded tickets only.
//   - Errors are only checked for being non-nil: invalid promoter codes,
//     link ids and date ranges, and promo-code conflicts.
package tracklinktest

import (
	"testing"
	"time"

	"github.com/tracklink/tracklink"
)

// Harness is what an all-in-one store's test hands to TestStore.
type Harness struct {
	Store interface {
		tracklink.Store
		tracklink.ReportStore
	}
	// Advance moves the store's clock forward (memstore: a fake clock;
	// Redis: sleeps, since Redis expires keys by its own clock). The
	// expiry subtests advance by at most 1.4 × a TTL of 1 s; when a store
	// on the real clock was too slow for a check to prove anything (a
	// loaded machine), they run again with TTLs of 2, 4, then 8 s.
	Advance func(d time.Duration)
	// Now is the time the store believes it is (for building touches and
	// orders).
	Now func() time.Time
	// MaxSources is the store's cap on the distinct source keys an event
	// counts visits (and, separately, orders) under, as configured (the
	// adapters' Options.MaxSources); 0 means the default, 1,000. Adapters
	// whose every round trip is slow may configure a small cap (at least 8:
	// other subtests use a few keys per event) and say so here.
	MaxSources int
}

// SessionHarness is what a session store's test hands to TestSessionStore.
type SessionHarness struct {
	Store tracklink.SessionStore
	// Advance and Now are Harness's.
	Advance func(d time.Duration)
	Now     func() time.Time
}

// LedgerHarness is what a durable store's test hands to TestLedger,
// TestReports, TestRegistry and TestFeed.
type LedgerHarness struct {
	Store tracklink.LedgerStore
	// Now is the time the store believes it is; nil means time.Now.
	Now func() time.Time
	// MaxSources is Harness's.
	MaxSources int
	// Advance moves the store's clock forward, for the hook leases to
	// expire; nil when the store runs on the wall clock (Redis's TIME, a
	// database's now()): the lease subtest then waits for them.
	Advance func(d time.Duration)
}

// patience bounds how long a subtest waits for something that must happen
// (a change on a subscription, its close): generous, so that only a store
// that never delivers reaches it, however loaded the machine.
const patience = 30 * time.Second

// DefaultMaxSources is the cap on distinct source keys per event that
// stores default to, and that Harness.MaxSources 0 stands for.
const DefaultMaxSources = tracklink.DefaultMaxSources

// OtherKey is the source key visits and orders count under once their
// event reached the cap on distinct source keys.
const OtherKey = tracklink.OtherKey

// env is what a subtest works on: the roles the suite gives it.
type env struct {
	Sessions tracklink.SessionStore // nil outside TestSessionStore and TestStore
	Ledger   durable                // nil in TestSessionStore
	Counter  tracklink.VisitCounter // nil when the store cannot count visits apart
	Feed     tracklink.Feed
	// StampCounts is set when Stamp counts visits on Ledger (an
	// all-in-one store): visits are made by stamping, and session
	// subtests check the figures too. Otherwise visits are counted with
	// Counter.CountVisits.
	StampCounts bool
	Advance     func(d time.Duration)
	Now         func() time.Time
	MaxSources  int
	// LeaseClock advances the clock hook leases expire by; nil when it is
	// the wall clock.
	LeaseClock func(d time.Duration)
}

type durable interface {
	tracklink.Ledger
	tracklink.Registry
	tracklink.Reports
}

// figures reports whether the subtest can read what Stamp counted.
func (h *env) figures() bool { return h.StampCounts && h.Ledger != nil }

type subtest struct {
	name string
	f    func(t *testing.T, h *env)
}

var (
	sessionTests = []subtest{
		{"Stamp/Ranking", testRanking},
		{"Stamp/FirstTouch", testFirstTouch},
		{"Stamp/Passive", testPassive},
		{"Stamp/PromoterLock", testPromoterLock},
		{"Stamp/Scope", testScope},
		{"Stamp/VisitDedup", testVisitDedup},
		{"Stamp/Expiry", testExpiry},
		{"Stamp/SlidingExpiry", testSlidingExpiry},
		{"Stamp/Concurrent", testStampConcurrent},
		{"Stamp/MarkOnly", testMarkOnly},
		{"Stamp/EventCap", testEventCap},
		{"Stamp/MarkCap", testMarkCap},
		{"Touches/Copies", testTouchCopies},
	}
	// visitTests run with visits made by Stamp in TestStore, and by
	// CountVisits in TestLedger (and in TestStore for a store that has
	// it).
	visitTests = []subtest{
		{"SourceCap", testStampSourceCap},
		{"PromoterRegistry", testStampPromoterRegistry},
	}
	ledgerTests = []subtest{
		{"Record/Once", testRecordOnce},
		{"Record/Unattributed", testRecordUnattributed},
		{"Record/Overruled", testRecordOverruled},
		{"Record/Refund", testRefund},
		{"Record/RefundBeforeRecord", testRefundBeforeRecord},
		{"Record/Outbox", testOutbox},
		{"Record/Concurrent", testRecordConcurrent},
		{"Record/Excluded", testExcluded},
		{"Record/SourceCap", testRecordSourceCap},
		{"Record/Invalid", testRecordInvalid},
		{"Record/RetriedDelivery", testRetriedDelivery},
		{"Record/RetriedRefund", testRetriedRefund},
		{"PartialRefund/Once", testPartialRefund},
		{"PartialRefund/Duplicate", testPartialRefundDuplicate},
		{"PartialRefund/ConcurrentIDs", testPartialRefundConcurrentIDs},
		{"PartialRefund/Cumulative", testPartialRefundCumulative},
		{"PartialRefund/Clamped", testPartialRefundClamped},
		{"PartialRefund/ThenFull", testPartialThenFull},
		{"PartialRefund/Unknown", testPartialRefundUnknown},
		{"PartialRefund/Cap", testPartialRefundCap},
		{"Hooks/Claim", testClaimHook},
		{"Hooks/ClaimConcurrent", testClaimHookConcurrent},
		{"Hooks/LeaseExpires", testHookLeaseExpires},
	}
	countTests = []subtest{
		{"CountVisits/Batch", testCountVisits},
	}
	reportTests = []subtest{
		{"Report/EventTraffic", testEventTraffic},
		{"Report/EventDays", testEventDays},
		{"Report/Promoter", testPromoterReports},
		{"Report/Orders", testOrders},
		{"Report/BadRanges", testBadRanges},
		{"Report/PromoterSummary", testPromoterSummary},
		{"Report/SummaryRegistry", testSummaryRegistry},
		{"Report/PromoterRanking", testPromoterRanking},
		{"Report/RecentOrders", testRecentOrders},
	}
	registryTests = []subtest{
		{"Registry/Promoters", testPromoters},
		{"Registry/PromoCodes", testPromoCodes},
		{"Registry/Groups", testGroups},
		{"Registry/DeletePromoter", testDeletePromoter},
		{"Registry/DeleteOverruledPromoter", testDeleteOverruledPromoter},
		{"Registry/Links", testLinks},
	}
	feedTests = []subtest{
		{"Subscribe", testSubscribe},
	}
)

func runAll(t *testing.T, tests []subtest, prefix string, newEnv func(t *testing.T) *env) {
	t.Helper()
	for _, st := range tests {
		t.Run(prefix+st.name, func(t *testing.T) { st.f(t, newEnv(t)) })
	}
}

// TestStore runs every suite on an all-in-one store: the session side and
// the durable side in one value, Stamp counting visits. newHarness is
// called once per subtest and must give an empty, isolated store (a
// unique key prefix on a shared Redis). Subtests do not run in parallel
// with each other; the store is hit concurrently inside the concurrency
// subtests, so run the suite under -race.
//
// When the store also implements tracklink.VisitCounter, the visit
// subtests run a second time counting visits with CountVisits.
func TestStore(t *testing.T, newHarness func(t *testing.T) Harness) {
	t.Helper()
	newEnv := func(stampCounts bool) func(t *testing.T) *env {
		return func(t *testing.T) *env {
			h := newHarness(t)
			if h.Store == nil || h.Advance == nil || h.Now == nil {
				t.Fatal("tracklinktest: newHarness returned a Harness with a nil field")
			}
			e := &env{Sessions: h.Store, Ledger: h.Store, Feed: h.Store, StampCounts: stampCounts,
				Advance: h.Advance, Now: h.Now, MaxSources: h.MaxSources, LeaseClock: h.Advance}
			e.Counter, _ = h.Store.(tracklink.VisitCounter)
			if !stampCounts && e.Counter == nil {
				t.Skip("the store does not implement tracklink.VisitCounter")
			}
			return e
		}
	}
	runAll(t, sessionTests, "", newEnv(true))
	runAll(t, visitTests, "Stamp/", newEnv(true))
	runAll(t, ledgerTests, "", newEnv(true))
	runAll(t, reportTests, "", newEnv(true))
	runAll(t, registryTests, "", newEnv(true))
	runAll(t, feedTests, "", newEnv(true))
	runAll(t, visitTests, "CountVisits/", newEnv(false))
	runAll(t, countTests, "", newEnv(false))
}

// TestSessionStore runs the session side's suite: merging, scoping, visit
// marks (StampResult.Counted), MarkOnly and expiry. The store need not keep
// any figures.
func TestSessionStore(t *testing.T, newHarness func(t *testing.T) SessionHarness) {
	t.Helper()
	runAll(t, sessionTests, "", func(t *testing.T) *env {
		h := newHarness(t)
		if h.Store == nil || h.Advance == nil || h.Now == nil {
			t.Fatal("tracklinktest: newHarness returned a SessionHarness with a nil field")
		}
		return &env{Sessions: h.Store, Advance: h.Advance, Now: h.Now}
	})
}

func ledgerEnv(newHarness func(t *testing.T) LedgerHarness, needFeed bool) func(t *testing.T) *env {
	return func(t *testing.T) *env {
		h := newHarness(t)
		if h.Store == nil {
			t.Fatal("tracklinktest: newHarness returned a LedgerHarness with a nil Store")
		}
		if h.Now == nil {
			h.Now = time.Now
		}
		e := &env{Ledger: h.Store, Counter: h.Store, Now: h.Now, MaxSources: h.MaxSources,
			Advance:    func(time.Duration) { t.Fatal("tracklinktest: a ledger subtest advanced the clock") },
			LeaseClock: h.Advance}
		e.Feed, _ = h.Store.(tracklink.Feed)
		if needFeed && e.Feed == nil {
			t.Fatal("tracklinktest: the store does not implement tracklink.Feed")
		}
		return e
	}
}

// TestLedger runs the ledger's suite on a durable store: Record, Refund,
// Ack and Attribution exactly once, the outbox, the cap of sources, and
// CountVisits (caps, registered promoters, batches), read back through
// the store's reports.
func TestLedger(t *testing.T, newHarness func(t *testing.T) LedgerHarness) {
	t.Helper()
	newEnv := ledgerEnv(newHarness, false)
	runAll(t, ledgerTests, "", newEnv)
	runAll(t, visitTests, "CountVisits/", newEnv)
	runAll(t, countTests, "", newEnv)
}

// TestReports runs the reports' suite on a durable store.
func TestReports(t *testing.T, newHarness func(t *testing.T) LedgerHarness) {
	t.Helper()
	runAll(t, reportTests, "", ledgerEnv(newHarness, false))
}

// TestRegistry runs the registry's suite on a durable store.
func TestRegistry(t *testing.T, newHarness func(t *testing.T) LedgerHarness) {
	t.Helper()
	runAll(t, registryTests, "", ledgerEnv(newHarness, false))
}

// TestFeed runs the live feed's suite on a durable store that implements
// tracklink.Feed.
func TestFeed(t *testing.T, newHarness func(t *testing.T) LedgerHarness) {
	t.Helper()
	runAll(t, feedTests, "", ledgerEnv(newHarness, true))
}
