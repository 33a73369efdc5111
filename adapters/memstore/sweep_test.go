package memstore

import (
	"context"
	"encoding/binary"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/tracklink/tracklink"
	"github.com/tracklink/tracklink/tracklinktest"
)

// TestSweepBounded stamps many short-lived sessions and checks that Stamp's
// amortised sweep keeps the sessions held within twice the live ones (plus
// SweepMin).
func TestSweepBounded(t *testing.T) {
	clock := tracklinktest.NewClock(time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC))
	const sweepMin = 64
	s := NewWithOptions(Options{Now: clock.Now, SweepMin: sweepMin})
	ctx := context.Background()
	const live = 100 // sessions alive at any time: TTL 100 ticks, one new session per tick
	peak := 0
	for i := range 20000 {
		touch := tracklink.Touch{Channel: tracklink.ChannelSocial, Source: "instagram", Event: "ev"}
		if _, err := s.Stamp(ctx, tracklink.Stamp{Session: fmt.Sprintf("s%021d", i), Touch: touch, TTL: 100 * time.Millisecond}); err != nil {
			t.Fatal(err)
		}
		clock.Advance(time.Millisecond)
		peak = max(peak, s.sessionsHeld(t))
	}
	if limit := 2*live + sweepMin + 1; peak > limit {
		t.Errorf("peak sessions held = %d, want ≤ %d", peak, limit)
	}
	// the figures are all there
	rows, err := s.EventTraffic(ctx, "ev", "", "")
	if err != nil || len(rows) != 1 || rows[0].Visits != 20000 {
		t.Errorf("EventTraffic = %+v, %v; want 20000 visits", rows, err)
	}
}

// TestSessionBounded checks that one session cannot grow without bound:
// landings on many events, each with many sources over several days, keep
// at most MaxSessionEvents event scopes plus the site-wide one, each with at
// most MaxEventMarks marks.
func TestSessionBounded(t *testing.T) {
	s := New()
	ctx := context.Background()
	sess := "abcdefghijklmnopqrstuv"
	day := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	for i := range 3 * MaxSessionMarks {
		for _, ev := range []string{fmt.Sprintf("ev-%d", i), "hot", ""} {
			touch := tracklink.Touch{Channel: tracklink.ChannelReferral, Source: fmt.Sprintf("site%d.example", i), Event: ev, At: day.AddDate(0, 0, i%3)}
			if _, err := s.Stamp(ctx, tracklink.Stamp{Session: sess, Touch: touch, TTL: time.Hour}); err != nil {
				t.Fatal(err)
			}
		}
	}
	scopes := s.sessionScopes(t, sess)
	if n := len(scopes); n != MaxSessionEvents+1 {
		t.Errorf("session holds %d scopes, want %d (the cap plus the site-wide scope)", n, MaxSessionEvents+1)
	}
	for _, ev := range []string{"", "hot"} {
		if _, ok := scopes[ev]; !ok {
			t.Errorf("scope %q was dropped, want kept (site-wide, or landed on last)", ev)
		}
	}
	for ev, sc := range scopes {
		if n := len(sc.marks); n > tracklink.MaxEventMarks {
			t.Errorf("scope %q holds %d marks, want ≤ %d", ev, n, tracklink.MaxEventMarks)
		}
	}
}

// TestSlowSubscriberDropped checks that a subscriber that never reads loses
// changes instead of blocking Record.
func TestSlowSubscriberDropped(t *testing.T) {
	s := NewWithOptions(Options{SubscriberBuffer: 4})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ch, err := s.Subscribe(ctx)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := range 100 {
			a := tracklink.Attribution{OrderID: fmt.Sprintf("ord-%d", i), Event: "ev", Currency: "EUR", Tickets: 1, Rule: tracklink.RuleNoTouch, At: time.Now()}
			if _, err := s.Record(ctx, a); err != nil {
				t.Error(err)
			}
		}
	}()
	select {
	case <-done:
	case <-time.After(30 * time.Second): // generous: only a blocked Record reaches it
		t.Fatal("Record blocked on a slow subscriber")
	}
	if len(ch) != 4 {
		t.Errorf("buffered changes = %d, want 4", len(ch))
	}
	s.subMu.Lock()
	var dropped int64
	for sub := range s.subs {
		dropped = sub.dropped
	}
	s.subMu.Unlock()
	if dropped != 96 {
		t.Errorf("dropped = %d, want 96", dropped)
	}
	cancel()
	for range ch {
	}
	s.subMu.Lock()
	n := len(s.subs)
	s.subMu.Unlock()
	if n != 0 {
		t.Errorf("%d subscribers left after cancel, want 0", n)
	}
}

// TestTombstoneTTL checks that an early refund is remembered for
// TombstoneTTL only: a late Record within it counts nothing, one after it
// counts as a new order.
func TestTombstoneTTL(t *testing.T) {
	ctx := context.Background()
	clock := tracklinktest.NewClock(time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC))
	s := NewWithOptions(Options{Now: clock.Now})
	a := func(id string) tracklink.Attribution {
		return tracklink.Attribution{OrderID: id, Event: "ev", Currency: "EUR", Tickets: 1, Revenue: 100, Rule: tracklink.RuleNoTouch, At: clock.Now()}
	}
	for _, id := range []string{"early", "late"} {
		if _, ok, err := s.Refund(ctx, id, time.Time{}); ok || err != nil {
			t.Fatalf("Refund(%s) = %v, %v", id, ok, err)
		}
	}
	clock.Advance(DefaultTombstoneTTL - time.Minute)
	if r, err := s.Record(ctx, a("early")); err != nil || r.Applied || !r.Attribution.Refunded {
		t.Errorf("Record within the TTL: Applied %v Refunded %v, %v; want false, true", r.Applied, r.Attribution.Refunded, err)
	}
	clock.Advance(2 * time.Minute)
	if r, err := s.Record(ctx, a("late")); err != nil || !r.Applied || r.Attribution.Refunded {
		t.Errorf("Record after the TTL: Applied %v Refunded %v, %v; want true, false", r.Applied, r.Attribution.Refunded, err)
	}
	// a tombstone that expired is replaced by a new refund's
	if _, ok, _ := s.Refund(ctx, "again", time.Time{}); ok {
		t.Fatal("Refund(again): ok")
	}
	clock.Advance(DefaultTombstoneTTL + time.Minute)
	s.Refund(ctx, "again", time.Time{})
	if r, _ := s.Record(ctx, a("again")); r.Applied || !r.Attribution.Refunded {
		t.Errorf("Record after a second early refund: Applied %v Refunded %v; want false, true", r.Applied, r.Attribution.Refunded)
	}

	// a negative TTL keeps them
	k := NewWithOptions(Options{Now: clock.Now, TombstoneTTL: -1})
	k.Refund(ctx, "kept", time.Time{})
	clock.Advance(10 * DefaultTombstoneTTL)
	if r, _ := k.Record(ctx, a("kept")); r.Applied {
		t.Error("Record with TombstoneTTL -1: Applied, want the tombstone kept")
	}
}

// TestTombstoneSweepBounded checks that Refund's amortised sweep keeps the
// tombstones held within twice the live ones (plus SweepMin).
func TestTombstoneSweepBounded(t *testing.T) {
	ctx := context.Background()
	clock := tracklinktest.NewClock(time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC))
	const sweepMin = 64
	s := NewWithOptions(Options{Now: clock.Now, SweepMin: sweepMin, TombstoneTTL: 100 * time.Millisecond})
	const live = 100 // one new tombstone per tick, TTL 100 ticks
	peak := 0
	for i := range 20000 {
		if _, _, err := s.Refund(ctx, fmt.Sprintf("o%d", i), time.Time{}); err != nil {
			t.Fatal(err)
		}
		clock.Advance(time.Millisecond)
		s.mu.RLock()
		peak = max(peak, len(s.tombstones))
		s.mu.RUnlock()
	}
	if limit := 2*live + sweepMin + 1; peak > limit {
		t.Errorf("peak tombstones held = %d, want ≤ %d", peak, limit)
	}
}

// sessionsHeld returns the number of sessions in the shards, checking it
// against the count the sweep goes by.
func (s *Store) sessionsHeld(t *testing.T) int {
	t.Helper()
	n := 0
	for i := range s.shards {
		sh := &s.shards[i]
		sh.mu.RLock()
		n += len(sh.m)
		sh.mu.RUnlock()
	}
	if held := s.held.Load(); held != int64(n) {
		t.Fatalf("held = %d, shards hold %d", held, n)
	}
	return n
}

// sessionScopes returns the decoded scopes of session ref, by event.
func (s *Store) sessionScopes(t *testing.T, ref string) map[string]scope {
	t.Helper()
	sh, k := s.shardOf(ref)
	sh.mu.RLock()
	defer sh.mu.RUnlock()
	sl, ok := sh.m[k]
	if !ok {
		t.Fatalf("session %s not held", ref)
	}
	_, views := parseRecord(sh.record(sl), nil)
	out := make(map[string]scope, len(views))
	for _, v := range views {
		if _, dup := out[string(v.event)]; dup {
			t.Errorf("scope %q held twice", v.event)
		}
		out[string(v.event)] = decodeScope(string(v.event), v.body, "", nil)
	}
	return out
}

// TestRecordRoundTrip checks that a scope's touch, lock, day and marks
// come back from its record as they went in, whatever the touch's zone.
func TestRecordRoundTrip(t *testing.T) {
	for _, at := range []time.Time{
		{},
		time.Date(2026, 3, 1, 10, 0, 0, 123, time.UTC),
		time.Date(2026, 3, 1, 10, 0, 0, 0, time.Local),
		time.Date(2026, 3, 1, 23, 30, 0, 0, time.FixedZone("X", 5*3600)),
		time.Date(1, 1, 1, 0, 0, 0, 1, time.UTC),
		time.Date(9999, 12, 31, 0, 0, 0, 0, time.UTC),
	} {
		sc := scope{
			touch: tracklink.Touch{Channel: tracklink.ChannelCampaign, Source: "news", Promoter: "", UTM: tracklink.UTM{Source: "news", Medium: "email", Campaign: "spring", Content: "a", Term: "b"},
				ClickID: "gclid", ReferrerHost: "example.org", Event: "ev", Path: "/e/ev", At: at, Evidence: "param utm_source=news", Passive: true},
			lock:  at.Add(time.Hour),
			last:  7,
			day:   "2026-03-01",
			marks: []uint64{1, 2, 1 << 63},
		}
		rec := appendScope(binary.AppendUvarint(nil, 9), "ev", &sc)
		stamps, views := parseRecord(rec, nil)
		if stamps != 9 || len(views) != 1 || string(views[0].event) != "ev" || views[0].last != 7 {
			t.Fatalf("parseRecord = %d, %+v", stamps, views)
		}
		got := decodeScope("ev", views[0].body, "", nil)
		gt, wt := got.touch, sc.touch
		gt.At, wt.At = time.Time{}, time.Time{} // a fixed zone decodes as an equal zone, not the same pointer
		if gt != wt || !got.touch.At.Equal(at) || got.touch.At.Location().String() != at.Location().String() ||
			!got.lock.Equal(sc.lock) || got.last != 7 || got.day != sc.day || !slices.Equal(got.marks, sc.marks) {
			t.Errorf("decoded %+v, want %+v", got, sc)
		}
	}
	// a record cut short reads as empty, never panics
	sc := scope{touch: tracklink.Touch{Source: "x", At: time.Now()}, day: "d", marks: []uint64{3}}
	rec := appendScope(binary.AppendUvarint(nil, 1), "", &sc)
	for n := range len(rec) {
		_, views := parseRecord(rec[:n], nil)
		for _, v := range views {
			decodeScope("", v.body, "", nil)
		}
	}
}

// TestStampConcurrentShards stamps from many goroutines, each session from
// several at once, with sweeps running: every session's first landing
// counts exactly one visit and the count of sessions held matches the
// shards.
func TestStampConcurrentShards(t *testing.T) {
	s := NewWithOptions(Options{SweepMin: 16})
	ctx := context.Background()
	const sessions, workers = 2000, 8
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range sessions {
				ev := "ev"
				if (i+w)%3 == 0 {
					ev = ""
				}
				touch := tracklink.Touch{Channel: tracklink.ChannelSocial, Source: "instagram", Event: ev}
				if _, err := s.Stamp(ctx, tracklink.Stamp{Session: fmt.Sprintf("c%021d", i), Touch: touch, TTL: time.Hour}); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	if n := s.sessionsHeld(t); n != sessions {
		t.Errorf("sessions held = %d, want %d", n, sessions)
	}
	rows, err := s.EventTraffic(ctx, "ev", "", "")
	if err != nil || len(rows) != 1 || rows[0].Visits != sessions {
		t.Errorf("EventTraffic(ev) = %+v, %v; want %d visits", rows, err, sessions)
	}
}
