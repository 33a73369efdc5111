package redisstore

import (
	"testing"
	"time"

	"github.com/tracklink/tracklink/tracklinktest"
)

// testMaxSources is the cap on source keys per event the suites run with:
// small, so the cap subtests stay quick on a real server.
const testMaxSources = 16

func TestStore(t *testing.T) {
	tracklinktest.TestStore(t, func(t *testing.T) tracklinktest.Harness {
		s := newTestStore(t, Options{MaxSources: testMaxSources})
		return tracklinktest.Harness{Store: s.Store, Advance: s.advance, Now: time.Now, MaxSources: testMaxSources}
	})
}

// TestRoles runs the suites of the two roles a redisstore takes in a
// tracklink.Compose on their own: the session side (stamps that only
// mark) and the durable side (visits counted by CountVisits). The other
// roles' subtests are TestStore's.
func TestRoles(t *testing.T) {
	t.Run("Sessions", func(t *testing.T) {
		tracklinktest.TestSessionStore(t, func(t *testing.T) tracklinktest.SessionHarness {
			s := newTestStore(t, Options{})
			return tracklinktest.SessionHarness{Store: s.Store, Advance: s.advance, Now: time.Now}
		})
	})
	t.Run("Ledger", func(t *testing.T) {
		tracklinktest.TestLedger(t, func(t *testing.T) tracklinktest.LedgerHarness {
			s := newTestStore(t, Options{MaxSources: testMaxSources})
			return tracklinktest.LedgerHarness{Store: s.Store, MaxSources: testMaxSources}
		})
	})
}

// TestStoreSplit runs the suite on the Cluster code path (a counted visit
// takes a second step) against the same server.
func TestStoreSplit(t *testing.T) {
	tracklinktest.TestStore(t, func(t *testing.T) tracklinktest.Harness {
		s := newTestStore(t, Options{MaxSources: testMaxSources})
		s.split = true
		return tracklinktest.Harness{Store: s.Store, Advance: s.advance, Now: time.Now, MaxSources: testMaxSources}
	})
}
