// Package tracklinktest holds the conformance suite every tracklink store
// runs (TestStore, modelled on testing/fstest.TestFS) and a fake Clock.
//
// An adapter's test runs the suite like this:
//
//	func TestStore(t *testing.T) {
//		tracklinktest.TestStore(t, func(t *testing.T) tracklinktest.Harness {
//			clock := tracklinktest.NewClock(time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC))
//			s := memstore.NewWithOptions(memstore.Options{Now: clock.Now})
//			return tracklinktest.Harness{Store: s, Advance: clock.Advance, Now: clock.Now}
//		})
//	}
//
// What the suite holds every store to, beyond the doc comments of
// tracklink.Store and tracklink.ReportStore:
//
//   - Figures are compared exactly. A revenue currency whose amount is zero
//     counts as absent, and EventTraffic rows whose figures are all zero are
//     ignored, so a store may either drop or keep emptied buckets.
//   - Times are compared with time.Time.Equal, so a store may round-trip
//     them through JSON (monotonic readings and locations are lost).
//   - Hook lists (Record.Pending) are compared as sets.
//   - A refund that arrives before its order makes the late Record store the
//     order as refunded, count nothing (Applied false) and queue both the
//     order's hook (attributed or unattributed) and HookRefunded, so the host
//     hears of the sale and of its refund.
//   - DeletePromoter folds the promoter's figures into the source
//     tracklink.DeletedPromoter (key "promoter|~deleted") and rewrites its
//     stored attributions: Touch.Promoter and Touch.Source become
//     DeletedPromoter and Touch.Evidence "deleted promoter".
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

// Harness is what an adapter's test hands to TestStore.
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

// patience bounds how long a subtest waits for something that must happen
// (a change on a subscription, its close): generous, so that only a store
// that never delivers reaches it, however loaded the machine.
const patience = 30 * time.Second

// DefaultMaxSources is the cap on distinct source keys per event that
// stores default to, and that Harness.MaxSources 0 stands for.
const DefaultMaxSources = 1000

// OtherKey is the source key visits and orders count under once their
// event reached the cap on distinct source keys.
const OtherKey = "referral|~other"

// TestStore runs the conformance suite. newHarness is called once per
// subtest and must give an empty, isolated store (a unique key prefix on a
// shared Redis). Subtests do not run in parallel with each other; the store
// is hit concurrently inside the concurrency subtests, so run the suite
// under -race.
func TestStore(t *testing.T, newHarness func(t *testing.T) Harness) {
	t.Helper()
	run := func(name string, f func(t *testing.T, h Harness)) {
		t.Helper()
		t.Run(name, func(t *testing.T) {
			h := newHarness(t)
			if h.Store == nil || h.Advance == nil || h.Now == nil {
				t.Fatal("tracklinktest: newHarness returned a Harness with a nil field")
			}
			f(t, h)
		})
	}

	// Stamp: merging, scoping, visit counting and expiry.
	run("Stamp/Ranking", testRanking)
	run("Stamp/FirstTouch", testFirstTouch)
	run("Stamp/Scope", testScope)
	run("Stamp/VisitDedup", testVisitDedup)
	run("Stamp/Expiry", testExpiry)
	run("Stamp/SlidingExpiry", testSlidingExpiry)
	run("Stamp/Concurrent", testStampConcurrent)
	run("Stamp/SourceCap", testStampSourceCap)
	run("Stamp/PromoterRegistry", testStampPromoterRegistry)
	run("Touches/Copies", testTouchCopies)

	// Record, Refund and Ack: exactly once.
	run("Record/Once", testRecordOnce)
	run("Record/Unattributed", testRecordUnattributed)
	run("Record/Refund", testRefund)
	run("Record/RefundBeforeRecord", testRefundBeforeRecord)
	run("Record/Outbox", testOutbox)
	run("Record/Concurrent", testRecordConcurrent)
	run("Record/Excluded", testExcluded)
	run("Record/SourceCap", testRecordSourceCap)

	// Reports read back what Stamp and Record counted.
	run("Report/EventTraffic", testEventTraffic)
	run("Report/EventDays", testEventDays)
	run("Report/Promoter", testPromoterReports)
	run("Report/Orders", testOrders)
	run("Report/BadRanges", testBadRanges)
	run("Report/PromoterSummary", testPromoterSummary)
	run("Report/SummaryRegistry", testSummaryRegistry)
	run("Report/PromoterRanking", testPromoterRanking)
	run("Report/RecentOrders", testRecentOrders)

	// Registry.
	run("Registry/Promoters", testPromoters)
	run("Registry/PromoCodes", testPromoCodes)
	run("Registry/Groups", testGroups)
	run("Registry/DeletePromoter", testDeletePromoter)
	run("Registry/Links", testLinks)

	// Live feed.
	run("Subscribe", testSubscribe)
}
