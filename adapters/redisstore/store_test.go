package redisstore

import (
	"testing"
	"time"

	"github.com/tracklink/tracklink/tracklinktest"
)

func TestStore(t *testing.T) {
	tracklinktest.TestStore(t, func(t *testing.T) tracklinktest.Harness {
		s := newTestStore(t, Options{})
		return tracklinktest.Harness{Store: s.Store, Advance: s.advance, Now: time.Now}
	})
}

// TestStoreSplit runs the suite on the Cluster code path (a counted visit
// takes a second step) against the same server.
func TestStoreSplit(t *testing.T) {
	tracklinktest.TestStore(t, func(t *testing.T) tracklinktest.Harness {
		s := newTestStore(t, Options{})
		s.split = true
		return tracklinktest.Harness{Store: s.Store, Advance: s.advance, Now: time.Now}
	})
}
