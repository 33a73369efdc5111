package redisstore

import (
	"fmt"
	"testing"
	"time"

	"github.com/tracklink/tracklink"
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

// TestPromoterLockFields: the lock's end lives in the session hash as one
// field per locked scope, is dropped with the scope past the event cap,
// and leaves with a touch that replaced the locked one without a lock.
func TestPromoterLockFields(t *testing.T) {
	s := newTestStore(t, Options{})
	ctx := t.Context()
	sess := "abcdefghijklmnopqrstuv"
	at := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	promoter := func(code, ev string, at time.Time) tracklink.Touch {
		return tracklink.Touch{Channel: tracklink.ChannelPromoter, Source: code, Promoter: code, Event: ev, At: at, Evidence: "param promoter=" + code}
	}
	key := s.sessionKey(sess)
	stamp := func(st tracklink.Stamp) {
		t.Helper()
		st.Session, st.TTL = sess, time.Hour
		if _, err := s.Stamp(ctx, st); err != nil {
			t.Fatal(err)
		}
	}
	for i := range MaxSessionEvents + 3 {
		stamp(tracklink.Stamp{Touch: promoter("ana", fmt.Sprintf("ev-%03d", i), at), PromoterLock: time.Hour, MarkOnly: true})
	}
	n, err := s.rdb.HLen(ctx, key).Result()
	if err != nil {
		t.Fatal(err)
	}
	// t:, s:, k:, p:, m:, l: per event, and the landing order
	if want := int64(6*MaxSessionEvents + 1); n != want {
		t.Errorf("session hash has %d fields at the cap with locked touches, want %d", n, want)
	}
	ev := fmt.Sprintf("ev-%03d", MaxSessionEvents+2)
	end, err := s.rdb.HGet(ctx, key, "l:"+ev).Int64()
	if err != nil || end != at.Add(time.Hour).UnixMilli() {
		t.Errorf("l:%s = %d (%v), want %d", ev, end, err, at.Add(time.Hour).UnixMilli())
	}
	stamp(tracklink.Stamp{Touch: promoter("ana", ev, at.Add(time.Minute)), MarkOnly: true})
	if ok, err := s.rdb.HExists(ctx, key, "l:"+ev).Result(); err != nil || ok {
		t.Errorf("l:%s still there (%v, %v) after an unlocked touch replaced the locked one", ev, ok, err)
	}
}
