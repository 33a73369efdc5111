package redisstore

import (
	"context"
	"fmt"
	"strconv"
	"strings"
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

// TestPromoterLockFields: the lock's end lives in the session hash with
// the locked touch (its c:<event> value), is dropped with the scope past
// the event cap, and leaves with a touch that replaced the locked one
// without a lock.
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
	lockEnd := func(ev string) string {
		t.Helper()
		v, err := s.rdb.HGet(ctx, key, "c:"+ev).Result()
		if err != nil || len(v) < 17 {
			t.Fatalf("c:%s = %q, %v", ev, v, err)
		}
		end, _, _ := strings.Cut(v[17:], " ")
		return end
	}
	for i := range MaxSessionEvents + 3 {
		stamp(tracklink.Stamp{Touch: promoter("ana", fmt.Sprintf("ev-%03d", i), at), PromoterLock: time.Hour, MarkOnly: true})
	}
	n, err := s.rdb.HLen(ctx, key).Result()
	if err != nil {
		t.Fatal(err)
	}
	// c: and m: per event, and the landing order q with its length n
	if want := int64(2*MaxSessionEvents + 2); n != want {
		t.Errorf("session hash has %d fields at the cap with locked touches, want %d", n, want)
	}
	if ok, err := s.rdb.HExists(ctx, key, "c:ev-002").Result(); err != nil || ok {
		t.Errorf("c:ev-002 still there (%v, %v) past the event cap", ok, err)
	}
	ev := fmt.Sprintf("ev-%03d", MaxSessionEvents+2)
	if end, want := lockEnd(ev), strconv.FormatInt(at.Add(time.Hour).UnixMilli(), 10); end != want {
		t.Errorf("lock end of %s = %q, want %s", ev, end, want)
	}
	stamp(tracklink.Stamp{Touch: promoter("ana", ev, at.Add(time.Minute)), MarkOnly: true})
	if end := lockEnd(ev); end != "" {
		t.Errorf("lock end of %s = %q after an unlocked touch replaced the locked one, want none", ev, end)
	}
}

// TestEarlierSessionLayout: a session hash of the earlier layout (t:, s:,
// k:, p:, m:, l: fields and the o order) restarts on its first Stamp: the
// old fields go, the new touch is stored and the visit counted.
func TestEarlierSessionLayout(t *testing.T) {
	s := newTestStore(t, Options{})
	ctx := t.Context()
	sess := "abcdefghijklmnopqrstuv"
	at := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	key := s.sessionKey(sess)
	for _, old := range [][]any{
		{"t:ev", `{"channel":"direct"}`, "s:ev", "0", "k:ev", "direct|direct", "p:ev", "", "m:ev", "2026-03-01" + keyPrint("social|instagram"), "o", "ev "},
		{"t:", `{"channel":"direct"}`, "s:", "0", "k:", "direct|direct", "p:", "", "m:", "2026-03-01" + keyPrint("social|instagram")},
	} {
		if err := s.rdb.HSet(ctx, key, old...).Err(); err != nil {
			t.Fatal(err)
		}
		ev, _ := old[0].(string)
		ev = strings.TrimPrefix(ev, "t:")
		touch := tracklink.Touch{Channel: tracklink.ChannelSocial, Source: "instagram", Event: ev, At: at}
		res, err := s.Stamp(ctx, tracklink.Stamp{Session: sess, Touch: touch, TTL: time.Hour})
		if err != nil {
			t.Fatal(err)
		}
		if !res.Counted || res.Current.Source != "instagram" {
			t.Errorf("Stamp on an earlier session of %q = %+v, want the new touch, counted", ev, res)
		}
		if n, err := s.rdb.Exists(ctx, key).Result(); err != nil || n != 1 {
			t.Fatalf("session hash exists = %d, %v", n, err)
		}
		fields, err := s.rdb.HKeys(ctx, key).Result()
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range fields {
			if f != "c:"+ev && f != "m:"+ev && f != "q" && f != "n" {
				t.Errorf("field %q of the earlier layout left after the Stamp (fields %q)", f, fields)
			}
		}
		if err := s.rdb.Del(ctx, key).Err(); err != nil {
			t.Fatal(err)
		}
	}
}

// TestTouchValue: the stored touch value round-trips any source key, and a
// value that is not one is an error, not a panic.
func TestTouchValue(t *testing.T) {
	body := []byte(`{"channel":"referral"}`)
	for _, key := range []string{"", "referral|a b", "referral|x\n1 2 3 {", strings.Repeat("k", tracklink.MaxKeyLen)} {
		v := touchValue(tracklink.StrengthExplicit, keyPrint(key), "1772370000000", "ana", key, body)
		k, code, b, ok := splitTouchValue(v)
		if !ok || k != key || code != "ana" || b != string(body) {
			t.Errorf("splitTouchValue(touchValue(%q)) = %q, %q, %q, %v", key, k, code, b, ok)
		}
	}
	for _, v := range []string{"", "1", "10123456789abcdef", "10123456789abcdef1 ana", "10123456789abcdef ana 99 k{}", "10123456789abcdef ana -1 k{}"} {
		if _, _, _, ok := splitTouchValue(v); ok {
			t.Errorf("splitTouchValue(%q) ok", v)
		}
		if _, err := decodeTouch(v); err == nil {
			t.Errorf("decodeTouch(%q) = nil error", v)
		}
	}
}

// A session of the earlier layout keeps its touches for checkout until its
// next Stamp starts it afresh.
func TestEarlierSessionLayoutTouches(t *testing.T) {
	s := newTestStore(t, Options{})
	ctx := t.Context()
	sess := "abcdefghijklmnopqrstuw"
	key := s.sessionKey(sess)
	if err := s.rdb.HSet(ctx, key,
		"t:ev", `{"channel":"promoter","source":"ana","promoter":"ana","event":"ev"}`, "s:ev", "3", "k:ev", "promoter|ana", "p:ev", "ana", "o", "ev ",
		"t:", `{"channel":"social","source":"instagram"}`, "s:", "2", "k:", "social|instagram", "p:", "").Err(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.rdb.Del(context.Background(), key) })
	ev, site, err := s.Touches(ctx, sess, "ev")
	if err != nil {
		t.Fatal(err)
	}
	if ev == nil || ev.Promoter != "ana" || site == nil || site.Source != "instagram" {
		t.Fatalf("Touches of an earlier session = %+v, %+v", ev, site)
	}
	if err := s.rdb.HSet(ctx, key, "t:ev", "{not json").Err(); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.Touches(ctx, sess, "ev"); err == nil {
		t.Fatal("a broken touch of the earlier layout read without an error")
	}
}
