package memstore

import (
	"context"
	"fmt"
	"hash/maphash"
	"maps"
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

	s.mu.Lock()
	defer s.mu.Unlock()
	sess := s.sessions[st.Session]
	if sess == nil || !now.Before(sess.expires) {
		if sess == nil {
			s.maybeSweep(now)
		}
		sess = &session{scopes: make(map[string]*scope, 1)}
		s.sessions[st.Session] = sess
	}
	sess.expires = now.Add(st.TTL)
	sess.stamps++

	sc := sess.scopes[event]
	var curp *tracklink.Touch
	var curLock time.Time
	if sc == nil {
		if event != "" {
			sess.dropOldest(MaxSessionEvents - 1)
		}
		sc = &scope{}
		sess.scopes[event] = sc
	} else {
		curp, curLock = &sc.touch, sc.lock
	}
	sc.last = sess.stamps
	if st.Replaces(curp, curLock) {
		sc.touch, sc.lock = t, st.LockEnd(t)
	}
	cur := sc.touch

	key := cur.Key()
	if !sc.mark(day, maphash.String(s.markSeed, key)) {
		return tracklink.StampResult{Current: cur}, nil
	}
	if !st.MarkOnly {
		s.countVisits(event, day, key, promoterOf(cur), 1)
	}
	return tracklink.StampResult{Current: cur, Counted: true}, nil
}

// dropOldest drops the least recently landed event scopes until at most
// keep remain (the site-wide scope is not counted and never dropped). It
// scans the scopes, at most MaxSessionEvents of them.
func (sess *session) dropOldest(keep int) {
	for len(sess.scopes)-sess.siteWide() > keep {
		oldest := ""
		var last uint64
		for ev, sc := range sess.scopes {
			if ev != "" && (oldest == "" || sc.last < last) {
				oldest, last = ev, sc.last
			}
		}
		delete(sess.scopes, oldest)
	}
}

// siteWide is 1 when the session has a site-wide scope, else 0.
func (sess *session) siteWide() int {
	if _, ok := sess.scopes[""]; ok {
		return 1
	}
	return 0
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
// stays within about twice the live sessions. Callers hold s.mu.
func (s *Store) maybeSweep(now time.Time) {
	if len(s.sessions) < s.sweepAt {
		return
	}
	maps.DeleteFunc(s.sessions, func(_ string, sess *session) bool { return !now.Before(sess.expires) })
	s.sweepAt = max(2*len(s.sessions), s.sweepMin)
}

// Touches returns copies of the session's touch for event and of its
// site-wide touch; either is nil when absent or when the session expired.
// For event "" the event touch is nil and the site-wide touch is returned.
func (s *Store) Touches(ctx context.Context, session, event string) (eventTouch, siteTouch *tracklink.Touch, err error) {
	if err := ctx.Err(); err != nil {
		return nil, nil, err
	}
	now := s.now()
	s.mu.RLock()
	defer s.mu.RUnlock()
	sess := s.sessions[session]
	if sess == nil || !now.Before(sess.expires) {
		return nil, nil, nil
	}
	if sc := sess.scopes[event]; event != "" && sc != nil {
		t := sc.touch
		eventTouch = &t
	}
	if sc := sess.scopes[""]; sc != nil {
		t := sc.touch
		siteTouch = &t
	}
	return eventTouch, siteTouch, nil
}
