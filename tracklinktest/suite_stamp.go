package tracklinktest

import (
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tracklink/tracklink"
)

func testRanking(t *testing.T, h *env) {
	s, at := sessionRef(1), base
	const lt = tracklink.LastTouch
	// the first touch is kept whatever it is
	stampWant(t, h, s, sourceTouch(tracklink.ChannelSocial, "instagram", "ev", at), lt, "social|instagram", true)
	// weak touches never replace
	stampWant(t, h, s, directTouch("ev", at), lt, "social|instagram", false)
	stampWant(t, h, s, platformTouch("ev", at), lt, "social|instagram", false)
	// explicit beats inferred
	stampWant(t, h, s, promoterTouch("ana", "ev", at), lt, "promoter|ana", true)
	// inferred never replaces explicit
	stampWant(t, h, s, sourceTouch(tracklink.ChannelSearch, "google", "ev", at), lt, "promoter|ana", false)
	// unknown never replaces explicit
	stampWant(t, h, s, tracklink.Touch{Channel: tracklink.ChannelUnknown, Source: "unknown", Event: "ev", At: at}, lt, "promoter|ana", false)
	// newest wins among equals
	stampWant(t, h, s, campaignTouch("newsletter", "ev", at), lt, "campaign|newsletter", true)
	stampWant(t, h, s, promoterTouch("bob", "ev", at), lt, "promoter|bob", true)

	// the stored touch is the whole winning touch
	ev, site := touches(t, h, s, "ev")
	if want := promoterTouch("bob", "ev", at); ev == nil || !touchEqual(*ev, want) {
		t.Errorf("Touches: event touch %+v, want %+v", ev, want)
	}
	if site != nil {
		t.Errorf("Touches: site-wide touch %+v, want nil", site)
	}

	// a session that starts weak takes the first real touch
	w := sessionRef(2)
	stampWant(t, h, w, directTouch("ev", at), lt, "direct|direct", true)
	stampWant(t, h, w, platformTouch("ev", at), lt, "direct|direct", false)
	stampWant(t, h, w, tracklink.Touch{Channel: tracklink.ChannelUnknown, Source: "unknown", Event: "ev", At: at}, lt, "unknown|unknown", true)
	// inferred beats unknown
	stampWant(t, h, w, sourceTouch(tracklink.ChannelSocial, "tiktok", "ev", at), lt, "social|tiktok", true)
	// a zero channel counts as direct
	z := sessionRef(3)
	stampWant(t, h, z, tracklink.Touch{Event: "ev", At: at}, lt, "direct|direct", true)
}

func testFirstTouch(t *testing.T, h *env) {
	s, at := sessionRef(1), base
	const ft = tracklink.FirstTouch
	stampWant(t, h, s, sourceTouch(tracklink.ChannelSearch, "google", "ev", at), ft, "search|google", true)
	// the first is kept among equals
	stampWant(t, h, s, sourceTouch(tracklink.ChannelSocial, "facebook", "ev", at), ft, "search|google", false)
	// weak never replaces
	stampWant(t, h, s, directTouch("ev", at), ft, "search|google", false)
	// explicit replaces inferred
	stampWant(t, h, s, campaignTouch("newsletter", "ev", at), ft, "campaign|newsletter", true)
	// the first explicit is kept
	stampWant(t, h, s, promoterTouch("ana", "ev", at), ft, "campaign|newsletter", false)
	wantTouches(t, h, s, "ev", "campaign|newsletter", "<nil>")
}

func testScope(t *testing.T, h *env) {
	s, at := sessionRef(1), base
	if h.figures() {
		savePromoter(t, h, tracklink.Promoter{Code: "ana", Name: "Ana"})
	}
	const lt = tracklink.LastTouch
	stampWant(t, h, s, promoterTouch("ana", "ev-a", at), lt, "promoter|ana", true)
	// event B has no touch of its own; nothing site-wide yet
	wantTouches(t, h, s, "ev-b", "<nil>", "<nil>")
	wantTouches(t, h, s, "ev-a", "promoter|ana", "<nil>")
	// a site-wide landing keeps its own touch
	stampWant(t, h, s, sourceTouch(tracklink.ChannelSocial, "instagram", "", at), lt, "social|instagram", true)
	wantTouches(t, h, s, "ev-a", "promoter|ana", "social|instagram")
	wantTouches(t, h, s, "ev-b", "<nil>", "social|instagram")
	// event B's own touch does not touch event A's
	stampWant(t, h, s, directTouch("ev-b", at), lt, "direct|direct", true)
	wantTouches(t, h, s, "ev-a", "promoter|ana", "social|instagram")
	wantTouches(t, h, s, "ev-b", "direct|direct", "social|instagram")
	// another session sees nothing
	wantTouches(t, h, sessionRef(2), "ev-a", "<nil>", "<nil>")

	if !h.figures() {
		return
	}
	// visits count under the scope's event; site-wide under ""
	wantTraffic(t, h, "ev-a", "", "", src{"promoter|ana", counts(1, 0, 0, 0)})
	wantTraffic(t, h, "ev-b", "", "", src{"direct|direct", counts(1, 0, 0, 0)})
	wantTraffic(t, h, "", "", "", src{"social|instagram", counts(1, 0, 0, 0)})
	wantPromoterStats(t, promoterStats(t, h, "ana"), "ana", counts(1, 0, 0, 0),
		map[string]tracklink.Counts{"ev-a": counts(1, 0, 0, 0)})
}

func testVisitDedup(t *testing.T, h *env) {
	s := sessionRef(1)
	if h.figures() {
		savePromoter(t, h, tracklink.Promoter{Code: "ana", Name: "Ana"})
	}
	const lt = tracklink.LastTouch
	insta := func(at time.Time) tracklink.Touch {
		return sourceTouch(tracklink.ChannelSocial, "instagram", "ev", at)
	}
	stampWant(t, h, s, insta(base), lt, "social|instagram", true)
	// a reload the same day counts nothing
	stampWant(t, h, s, insta(base.Add(time.Hour)), lt, "social|instagram", false)
	// the next day counts again
	stampWant(t, h, s, insta(base.Add(24*time.Hour)), lt, "social|instagram", true)
	// a new winning key counts a new visit
	stampWant(t, h, s, promoterTouch("ana", "ev", base), lt, "promoter|ana", true)
	// a reload with a weak touch keeps the key and counts nothing
	stampWant(t, h, s, directTouch("ev", base), lt, "promoter|ana", false)
	stampWant(t, h, s, platformTouch("ev", base), lt, "promoter|ana", false)
	// another session counts on its own
	stampWant(t, h, sessionRef(2), insta(base), lt, "social|instagram", true)

	if !h.figures() {
		return
	}
	wantTraffic(t, h, "ev", "", "",
		src{"social|instagram", counts(3, 0, 0, 0)},
		src{"promoter|ana", counts(1, 0, 0, 0)})
	wantTraffic(t, h, "ev", day1, day1, src{"social|instagram", counts(1, 0, 0, 0)})
	got, err := h.Ledger.EventDays(t.Context(), "ev", day0, day2)
	wantDays(t, "EventDays(ev)", got, err,
		dc(day0, counts(3, 0, 0, 0)), dc(day1, counts(1, 0, 0, 0)), dc(day2, counts(0, 0, 0, 0)))
	pd, err := h.Ledger.PromoterDays(t.Context(), "ana", day0, day1)
	wantDays(t, "PromoterDays(ana)", pd, err, dc(day0, counts(1, 0, 0, 0)), dc(day1, counts(0, 0, 0, 0)))
}

// expiryTTLs are the TTLs the expiry subtests run with, in turn, every
// span scaled to the TTL. A check that a touch is still there proves
// something only when the read finished within the TTL of the stamp that
// set it, by Harness.Now: on a fake clock that always holds, but a store
// that expires by the real clock (Redis) on a loaded machine may take
// longer. The subtest then runs again, on a fresh session, with the next
// TTL; only a store whose calls take seconds runs out of them.
var expiryTTLs = []time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second}

// runExpiry runs attempt with each of expiryTTLs until one run is
// conclusive (attempt returns true).
func runExpiry(t *testing.T, attempt func(s string, ttl time.Duration) (conclusive bool)) {
	t.Helper()
	for i, ttl := range expiryTTLs {
		if attempt(sessionRef(1+i), ttl) {
			return
		}
		t.Logf("TTL %v: a stamp and the read after it took longer than the TTL, so the store may rightly have expired the touch; again with longer spans", ttl)
	}
	t.Fatalf("no conclusive run with TTLs up to %v: the store's calls take seconds", expiryTTLs[len(expiryTTLs)-1])
}

// scaled returns ttl × tenths / 10.
func scaled(ttl time.Duration, tenths int) time.Duration { return ttl * time.Duration(tenths) / 10 }

func testExpiry(t *testing.T, h *env) {
	runExpiry(t, func(s string, ttl time.Duration) bool {
		start := h.Now()
		r := stamp(t, h, s, promoterTouch("ana", "ev", now(h)), tracklink.LastTouch, ttl)
		if r.Current.Key() != "promoter|ana" {
			t.Fatalf("Stamp: Current %s, want promoter|ana", r.Current.Key())
		}
		stamp(t, h, s, sourceTouch(tracklink.ChannelSocial, "instagram", "", now(h)), tracklink.LastTouch, ttl)
		ev, site := touches(t, h, s, "ev")
		if h.Now().Sub(start) >= ttl {
			return false
		}
		if keyOf(ev) != "promoter|ana" || keyOf(site) != "social|instagram" {
			t.Errorf("Touches(%s, ev) = %s, %s; want promoter|ana, social|instagram", s, keyOf(ev), keyOf(site))
		}
		h.Advance(scaled(ttl, 13))
		wantTouches(t, h, s, "ev", "<nil>", "<nil>")
		// a weak touch now starts afresh instead of keeping the expired one
		r = stamp(t, h, s, directTouch("ev", now(h)), tracklink.LastTouch, ttl)
		if r.Current.Key() != "direct|direct" {
			t.Errorf("Stamp after expiry: Current %s, want direct|direct", r.Current.Key())
		}
		return true
	})
}

func testSlidingExpiry(t *testing.T, h *env) {
	// Spans leave 0.4 TTL of slack either side; runExpiry retries with a
	// longer TTL when a loaded machine used up the slack.
	runExpiry(t, func(s string, ttl time.Duration) bool {
		first := h.Now()
		stamp(t, h, s, promoterTouch("ana", "ev", now(h)), tracklink.LastTouch, ttl)
		h.Advance(scaled(ttl, 6))
		// a landing on another scope slides the whole session
		second := h.Now()
		stamp(t, h, s, directTouch("", now(h)), tracklink.LastTouch, ttl)
		slid := h.Now()
		h.Advance(scaled(ttl, 6))
		// 1.2 TTL after the first stamp, 0.6 TTL after the second
		ev, site := touches(t, h, s, "ev")
		if slid.Sub(first) >= ttl || h.Now().Sub(second) >= ttl {
			return false
		}
		if keyOf(ev) != "promoter|ana" || keyOf(site) != "direct|direct" {
			t.Errorf("Touches(%s, ev) = %s, %s; want promoter|ana, direct|direct", s, keyOf(ev), keyOf(site))
		}
		h.Advance(scaled(ttl, 8))
		// 1.4 TTL after the last stamp
		wantTouches(t, h, s, "ev", "<nil>", "<nil>")
		return true
	})
}

func testStampConcurrent(t *testing.T, h *env) {
	const (
		goroutines = 50
		stamps     = 20
		sessions   = 10
	)
	sources := []string{"instagram", "facebook", "tiktok", "snapchat"}
	var counted atomic.Int64
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Go(func() {
			s := sessionRef(g % sessions)
			for i := range stamps {
				// every stamp wins (equal strength, last touch), so each
				// (session, source) pair counts exactly one visit
				touch := sourceTouch(tracklink.ChannelSocial, sources[(g+i)%len(sources)], "ev", base)
				r, err := h.Sessions.Stamp(t.Context(), tracklink.Stamp{Session: s, Touch: touch, TTL: longTTL})
				if err != nil {
					t.Errorf("Stamp: %v", err)
					return
				}
				if r.Current.Key() != touch.Key() {
					t.Errorf("Stamp(%s): Current %s", touch.Key(), r.Current.Key())
				}
				if r.Counted {
					counted.Add(1)
				}
			}
		})
	}
	wg.Wait()
	if got, want := counted.Load(), int64(sessions*len(sources)); got != want {
		t.Errorf("%d stamps reported Counted, want %d", got, want)
	}
	if !h.figures() {
		return
	}
	var want []src
	for _, k := range []string{"facebook", "instagram", "snapchat", "tiktok"} {
		want = append(want, src{"social|" + k, counts(sessions, 0, 0, 0)})
	}
	wantTraffic(t, h, "ev", "", "", want...)
}

func testTouchCopies(t *testing.T, h *env) {
	s := sessionRef(1)
	r := stamp(t, h, s, promoterTouch("ana", "ev", base), tracklink.LastTouch, longTTL)
	r.Current.Source = "mallory"
	ev, _ := touches(t, h, s, "ev")
	if ev == nil {
		t.Fatal("Touches: nil event touch")
	}
	ev.Source, ev.Promoter = "mallory", "mallory"
	ev2, _ := touches(t, h, s, "ev")
	if ev2 == nil || ev2.Source != "ana" || ev2.Promoter != "ana" {
		t.Errorf("Touches after mutating a returned touch: %+v, want promoter ana", ev2)
	}
}

func testMarkOnly(t *testing.T, h *env) {
	const lt = tracklink.LastTouch
	markOnly := func(session string, touch tracklink.Touch, wantKey string, wantCounted bool) {
		t.Helper()
		r, err := h.Sessions.Stamp(t.Context(), tracklink.Stamp{Session: session, Touch: touch, Model: lt, TTL: longTTL, MarkOnly: true})
		if err != nil {
			t.Fatalf("Stamp(MarkOnly, %s): %v", touch.Key(), err)
		}
		if r.Current.Key() != wantKey || r.Counted != wantCounted {
			t.Errorf("Stamp(MarkOnly, %s): Current %s Counted %v, want %s Counted %v",
				touch.Key(), r.Current.Key(), r.Counted, wantKey, wantCounted)
		}
	}
	if h.figures() {
		savePromoter(t, h, tracklink.Promoter{Code: "ana", Name: "Ana"})
	}
	// the session side decides exactly as without MarkOnly
	markOnly(sessionRef(1), promoterTouch("ana", "ev", base), "promoter|ana", true)
	markOnly(sessionRef(1), promoterTouch("ana", "ev", base.Add(time.Hour)), "promoter|ana", false)
	markOnly(sessionRef(1), directTouch("ev", base), "promoter|ana", false)
	// and the marks are the same marks: a plain Stamp does not count again
	stampWant(t, h, sessionRef(1), promoterTouch("ana", "ev", base), lt, "promoter|ana", false)
	markOnly(sessionRef(2), sourceTouch(tracklink.ChannelSocial, "instagram", "", base), "social|instagram", true)
	wantTouches(t, h, sessionRef(1), "ev", "promoter|ana", "<nil>")
	wantTouches(t, h, sessionRef(2), "ev", "<nil>", "social|instagram")
	if !h.figures() {
		return
	}
	// nothing was counted in the figures
	wantTraffic(t, h, "ev", "", "")
	wantTraffic(t, h, "", "", "")
	wantPromoterStats(t, promoterStats(t, h, "ana"), "ana", counts(0, 0, 0, 0), nil)
}

// stampKey stamps st (Model and TTL as given, TTL longTTL when zero) and
// checks the merged touch's key.
func stampKey(t *testing.T, h *env, st tracklink.Stamp, wantKey string) tracklink.StampResult {
	t.Helper()
	if st.TTL == 0 {
		st.TTL = longTTL
	}
	r, err := h.Sessions.Stamp(t.Context(), st)
	if err != nil {
		t.Fatalf("Stamp(%s on %q): %v", st.Touch.Key(), st.Touch.Event, err)
	}
	if r.Current.Key() != wantKey {
		t.Errorf("Stamp(%s on %q, passive %v, lock %v, at %v): Current %s, want %s",
			st.Touch.Key(), st.Touch.Event, st.Touch.Passive, st.PromoterLock, st.Touch.At.Format(time.TimeOnly), r.Current.Key(), wantKey)
	}
	return r
}

// passive marks a touch as a navigation without user activation.
func passive(t tracklink.Touch) tracklink.Touch {
	t.Passive = true
	return t
}

func testPassive(t *testing.T, h *env) {
	for _, m := range []tracklink.Model{tracklink.LastTouch, tracklink.FirstTouch} {
		s := sessionRef(1 + 10*int(m))
		at := base
		st := func(touch tracklink.Touch) tracklink.Stamp {
			return tracklink.Stamp{Session: s, Touch: touch, Model: m}
		}
		stampKey(t, h, st(promoterTouch("ana", "ev", at)), "promoter|ana")
		// a script redirect on another site replaces no explicit touch
		r := stampKey(t, h, st(passive(promoterTouch("evil", "ev", at.Add(time.Minute)))), "promoter|ana")
		if r.Counted {
			t.Errorf("model %d: a passive touch that was kept out counted a visit", m)
		}
		stampKey(t, h, st(passive(campaignTouch("evil", "ev", at.Add(2*time.Minute)))), "promoter|ana")
		clickID := sourceTouch(tracklink.ChannelSocial, "facebook", "ev", at.Add(3*time.Minute))
		clickID.ClickID = "fbclid"
		stampKey(t, h, st(passive(clickID)), "promoter|ana")
		if m == tracklink.LastTouch {
			// a click by the visitor still does
			stampKey(t, h, st(promoterTouch("bob", "ev", at.Add(4*time.Minute))), "promoter|bob")
		}

		// a passive touch still creates a touch where there is none…
		fresh := sessionRef(2 + 10*int(m))
		stampKey(t, h, tracklink.Stamp{Session: fresh, Touch: passive(promoterTouch("carl", "ev", at)), Model: m}, "promoter|carl")
		ev, _ := touches(t, h, fresh, "ev")
		if ev == nil || !ev.Passive {
			t.Errorf("model %d: stored touch %+v, want the passive touch", m, ev)
		}
		// …and replaces a weaker one
		weak := sessionRef(3 + 10*int(m))
		stampKey(t, h, tracklink.Stamp{Session: weak, Touch: sourceTouch(tracklink.ChannelSocial, "instagram", "ev", at), Model: m}, "social|instagram")
		stampKey(t, h, tracklink.Stamp{Session: weak, Touch: passive(promoterTouch("carl", "ev", at.Add(time.Minute))), Model: m}, "promoter|carl")
		// and once explicit, it is protected like any explicit touch
		stampKey(t, h, tracklink.Stamp{Session: weak, Touch: passive(promoterTouch("evil", "ev", at.Add(2*time.Minute))), Model: m}, "promoter|carl")
		// the guard is per scope: the site-wide touch is another one
		stampKey(t, h, tracklink.Stamp{Session: weak, Touch: passive(promoterTouch("evil", "", at.Add(3*time.Minute))), Model: m}, "promoter|evil")
	}
}

func testPromoterLock(t *testing.T, h *env) {
	const lock = time.Hour
	at := base
	st := func(s string, touch tracklink.Touch) tracklink.Stamp {
		return tracklink.Stamp{Session: s, Touch: touch, PromoterLock: lock}
	}
	s := sessionRef(1)
	stampKey(t, h, st(s, promoterTouch("ana", "ev", at)), "promoter|ana")
	// another promoter's click within the lock is kept out
	r := stampKey(t, h, st(s, promoterTouch("bob", "ev", at.Add(30*time.Minute))), "promoter|ana")
	if r.Counted {
		t.Error("a promoter touch kept out by the lock counted a visit")
	}
	wantTouches(t, h, s, "ev", "promoter|ana", "<nil>")
	// the same promoter's click renews it (locked until at+100m)
	stampKey(t, h, st(s, promoterTouch("ana", "ev", at.Add(40*time.Minute))), "promoter|ana")
	stampKey(t, h, st(s, promoterTouch("bob", "ev", at.Add(90*time.Minute))), "promoter|ana")
	// the lock is per scope
	stampKey(t, h, st(s, promoterTouch("bob", "", at.Add(90*time.Minute))), "promoter|bob")
	// after it, the newest promoter wins again
	stampKey(t, h, st(s, promoterTouch("bob", "ev", at.Add(101*time.Minute))), "promoter|bob")

	// only promoters are held off: a campaign link replaces a locked touch
	c := sessionRef(2)
	stampKey(t, h, st(c, promoterTouch("ana", "ev", at)), "promoter|ana")
	stampKey(t, h, st(c, campaignTouch("newsletter", "ev", at.Add(time.Minute))), "campaign|newsletter")
	// and a campaign touch holds no lock
	stampKey(t, h, st(c, promoterTouch("bob", "ev", at.Add(2*time.Minute))), "promoter|bob")

	// without a lock, the newest promoter wins at once
	n := sessionRef(3)
	stampKey(t, h, tracklink.Stamp{Session: n, Touch: promoterTouch("ana", "ev", at)}, "promoter|ana")
	stampKey(t, h, st(n, promoterTouch("bob", "ev", at.Add(time.Minute))), "promoter|bob")

	// a touch stamped without a lock leaves none behind when it replaces a
	// locked one
	u := sessionRef(4)
	stampKey(t, h, st(u, promoterTouch("ana", "ev", at)), "promoter|ana")
	stampKey(t, h, st(u, promoterTouch("ana", "ev", at.Add(time.Minute))), "promoter|ana")
	stampKey(t, h, tracklink.Stamp{Session: u, Touch: promoterTouch("ana", "ev", at.Add(2*time.Minute))}, "promoter|ana")
	stampKey(t, h, st(u, promoterTouch("bob", "ev", at.Add(3*time.Minute))), "promoter|bob")

	// a negative lock is refused
	if _, err := h.Sessions.Stamp(t.Context(), tracklink.Stamp{Session: s, Touch: promoterTouch("ana", "ev", at), TTL: longTTL, PromoterLock: -time.Second}); err == nil {
		t.Error("Stamp with a negative PromoterLock: no error")
	}
}
