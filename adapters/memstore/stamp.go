package memstore

import (
	"context"
	"encoding/binary"
	"fmt"
	"hash/maphash"
	"slices"
	"time"

	"github.com/tracklink/tracklink"
)

// Stamp merges st.Touch into the session's touch for the scope
// (st.Session, st.Touch.Event), where Event "" is the site-wide scope, with
// st.Replaces (st.Model, Touch.Passive and st.PromoterLock); when the landing does not replace the current touch,
// Current is the existing one. It slides the whole session's expiry to now
// + st.TTL and counts a visit once per (session, event, Current.Key(),
// tracklink.Day(st.Touch.At)) into the event's daily and all-time figures
// (under OtherKey when the key is new and the event already counts visits
// under Options.MaxSources keys; Current keeps the real touch) and, for a
// touch of a registered promoter (SavePromoter), into the promoter's
// totals, per-event and daily figures: an unregistered code's visits count
// on the event only. A touch with a zero At is stamped at the store's Now.
// With st.MarkOnly it marks the visit and reports it Counted but counts it
// nowhere: the caller counts it elsewhere (tracklink.Compose).
//
// A session keeps touches of at most MaxSessionEvents events besides its
// site-wide touch: a landing on a new event past the cap drops the touch
// and marks of the event whose latest landing was stamped longest ago. It
// remembers per scope the source keys counted on one day, at most
// tracklink.MaxEventMarks. A session whose TTL ran out starts afresh: its
// touches and counted visits are gone. A stamp that fails tracklink.Stamp.Check wraps ErrInvalid.
func (s *Store) Stamp(ctx context.Context, st tracklink.Stamp) (tracklink.StampResult, error) {
	if err := ctx.Err(); err != nil {
		return tracklink.StampResult{}, err
	}
	if err := st.Check(); err != nil {
		return tracklink.StampResult{}, fmt.Errorf("%w: stamp: %w", ErrInvalid, err)
	}
	now := s.now()
	t := st.Touch
	if t.At.IsZero() {
		t.At = now
	}
	st.Touch = t
	event, day := t.Event, tracklink.Day(t.At)

	sh, k := s.shardOf(st.Session)
	sh.mu.Lock()
	cur, key, counted, fresh := s.stampLocked(sh, k, st, now, day)
	sh.mu.Unlock()
	// The figures have their own lock, taken after the shard's is released.
	if fresh {
		s.maybeSweep(now)
	}
	if !counted {
		return tracklink.StampResult{Current: cur}, nil
	}
	if !st.MarkOnly {
		s.mu.Lock()
		s.countVisits(event, day, key, promoterOf(cur), 1)
		s.mu.Unlock()
	}
	return tracklink.StampResult{Current: cur, Counted: true}, nil
}

// stampLocked applies st to the session k of sh and returns the scope's
// current touch and its source key, whether the visit is new to count, and whether the session
// is new to the store (not held before, expired or not). Callers hold
// sh.mu.
func (s *Store) stampLocked(sh *shard, k sessionKey, st tracklink.Stamp, now time.Time, day string) (cur tracklink.Touch, key string, counted, fresh bool) {
	t, event := st.Touch, st.Touch.Event
	old, had := sh.m[k]
	var stamps uint64
	var arr [4]scopeView
	views := arr[:0]
	if had && now.Before(old.expires()) {
		stamps, views = parseRecord(sh.record(old), views)
	}
	stamps++

	var marks [tracklink.MaxEventMarks]uint64
	sc := scope{marks: marks[:0]}
	found := -1
	for i, v := range views {
		if string(v.event) == event {
			found = i
			break
		}
	}
	var curp *tracklink.Touch
	var curLock time.Time
	if found >= 0 {
		sc = decodeScope(event, views[found].body, day, marks[:0])
		curp, curLock = &sc.touch, sc.lock
		views = append(views[:found], views[found+1:]...)
	} else if event != "" {
		views = dropOldest(views, MaxSessionEvents-1)
	}
	sc.last = stamps
	if st.Replaces(curp, curLock) {
		sc.touch, sc.lock = t, st.LockEnd(t)
	}
	cur = sc.touch
	key = cur.Key()
	counted = sc.mark(day, maphash.String(s.markSeed, key))

	rec := binary.AppendUvarint(sh.buf[:0], stamps)
	for _, v := range views {
		rec = appendView(rec, v)
	}
	rec = appendScope(rec, event, &sc)
	sh.buf = rec
	sh.put(k, old, had, rec, now.Add(st.TTL))
	if !had {
		s.held.Add(1)
	}
	return cur, key, counted, !had
}

// dropOldest drops the least recently landed event scopes until at most
// keep remain (the site-wide scope is not counted and never dropped). It
// scans the scopes, at most MaxSessionEvents of them.
func dropOldest(views []scopeView, keep int) []scopeView {
	for {
		n, oldest := 0, -1
		for i, v := range views {
			if len(v.event) == 0 {
				continue
			}
			n++
			if oldest < 0 || v.last < views[oldest].last {
				oldest = i
			}
		}
		if n <= keep {
			return views
		}
		views = append(views[:oldest], views[oldest+1:]...)
	}
}

// mark records that the source key whose fingerprint is key counted a
// visit on day and reports whether it is new (tracklink.MaxEventMarks: the
// marks of one day, at most MaxEventMarks of them).
func (sc *scope) mark(day string, key uint64) bool {
	if sc.day != day {
		sc.day, sc.marks = day, sc.marks[:0]
	} else if slices.Contains(sc.marks, key) {
		return false
	} else if len(sc.marks) >= tracklink.MaxEventMarks {
		sc.marks = sc.marks[:0]
	}
	sc.marks = append(sc.marks, key)
	return true
}

// CountVisits counts visits a separate session store decided on
// (tracklink.Compose), exactly as Stamp counts its own: on the event (under
// OtherKey when the key is new and the event already counts visits under
// Options.MaxSources keys) and, for a registered promoter, on the
// promoter's figures. Every entry is checked before any is counted.
func (s *Store) CountVisits(ctx context.Context, visits []tracklink.VisitCount) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	for _, v := range visits {
		if err := v.Check(); err != nil {
			return fmt.Errorf("%w: count visits: %w", ErrInvalid, err)
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, v := range visits {
		s.countVisits(v.Event, v.Day, v.Key, v.Promoter, v.N)
	}
	return nil
}

// countVisits counts n visits of key (and of promoter code, "" for none) on
// event's day. Callers hold s.mu.
func (s *Store) countVisits(event, day, key, code string, n int64) {
	e := s.event(event)
	ck := s.capKey(e.visitKeys, key)
	counts(e.day(day), ck).Visits += n
	counts(e.total, ck).Visits += n
	if code != "" && s.registry[code] != nil {
		p := s.promoter(code)
		p.total.Visits += n
		counts(p.events, event).Visits += n
		counts(p.days, day).Visits += n
		p.ed[eventDay{event, day}] = struct{}{}
	}
}

// maybeSweep drops expired sessions once their number doubled since the
// last sweep, so sweeping costs O(1) amortised per new session and memory
// stays within about twice the live sessions. It takes each shard's lock in
// turn, never two at once nor with s.mu; a stamp that finds another sweep
// running leaves it the work.
func (s *Store) maybeSweep(now time.Time) {
	if s.held.Load() < s.sweepAt.Load() || !s.sweepMu.TryLock() {
		return
	}
	defer s.sweepMu.Unlock()
	if s.held.Load() < s.sweepAt.Load() {
		return
	}
	for i := range s.shards {
		sh := &s.shards[i]
		sh.mu.Lock()
		var dropped int64
		for k, sl := range sh.m {
			if !now.Before(sl.expires()) {
				sh.drop(k, sl)
				dropped++
			}
		}
		sh.maybeCompact()
		sh.mu.Unlock()
		s.held.Add(-dropped)
	}
	s.sweepAt.Store(max(2*s.held.Load(), int64(s.sweepMin)))
}

// Touches returns copies of the session's touch for event and of its
// site-wide touch; either is nil when absent or when the session expired.
// For event "" the event touch is nil and the site-wide touch is returned.
func (s *Store) Touches(ctx context.Context, session, event string) (eventTouch, siteTouch *tracklink.Touch, err error) {
	if err := ctx.Err(); err != nil {
		return nil, nil, err
	}
	if !tracklink.ValidSession(session) {
		return nil, nil, nil
	}
	now := s.now()
	sh, k := s.shardOf(session)
	sh.mu.RLock()
	defer sh.mu.RUnlock()
	sl, ok := sh.m[k]
	if !ok || !now.Before(sl.expires()) {
		return nil, nil, nil
	}
	var arr [4]scopeView
	_, views := parseRecord(sh.record(sl), arr[:0])
	for _, v := range views {
		switch {
		case len(v.event) == 0:
			t := decodeScope("", v.body, "", nil).touch
			siteTouch = &t
		case event != "" && string(v.event) == event:
			t := decodeScope(event, v.body, "", nil).touch
			eventTouch = &t
		}
	}
	return eventTouch, siteTouch, nil
}
