package tracklinktest

import (
	"fmt"
	"testing"
	"time"

	"github.com/tracklink/tracklink"
)

// capEvent is the i-th event of the event-cap subtest.
func capEvent(i int) string { return fmt.Sprintf("cap-%03d", i) }

// testEventCap lands one session on tracklink.MaxSessionEvents+10 events:
// the session keeps the touches of the newest MaxSessionEvents (by latest
// landing, weak landings included) and its site-wide touch; a dropped
// event's touch is gone and a landing on it starts afresh.
func testEventCap(t *testing.T, h *env) {
	const lt = tracklink.LastTouch
	n := tracklink.MaxSessionEvents
	s := sessionRef(1)
	at := func(i int) time.Time { return base.Add(time.Duration(i) * time.Second) }
	promo := func(i int) tracklink.Touch { return promoterTouch(fmt.Sprintf("p%03d", i), capEvent(i), at(i)) }
	stampWant(t, h, s, sourceTouch(tracklink.ChannelSocial, "instagram", "", at(0)), lt, "social|instagram", true)
	for i := range n + 10 {
		stampWant(t, h, s, promo(i), lt, promo(i).Key(), true)
	}
	// the 10 oldest are gone, the newest n kept, and the site-wide touch
	for i := range n + 10 {
		want := "<nil>"
		if i >= 10 {
			want = promo(i).Key()
		}
		wantTouches(t, h, s, capEvent(i), want, "social|instagram")
	}
	// a weak landing on the oldest kept event makes it the newest: the next
	// new event drops the one after it
	stampWant(t, h, s, directTouch(capEvent(10), at(n+10)), lt, promo(10).Key(), false)
	stampWant(t, h, s, promo(n+10), lt, promo(n+10).Key(), true)
	wantTouches(t, h, s, capEvent(10), promo(10).Key(), "social|instagram")
	wantTouches(t, h, s, capEvent(11), "<nil>", "social|instagram")
	wantTouches(t, h, s, capEvent(n+10), promo(n+10).Key(), "social|instagram")
	// a site-wide landing is no event: it drops nothing
	stampWant(t, h, s, campaignTouch("newsletter", "", at(n+11)), lt, "campaign|newsletter", true)
	wantTouches(t, h, s, capEvent(12), promo(12).Key(), "campaign|newsletter")
	// a dropped event starts afresh: its touch and its marks went with it
	stampWant(t, h, s, directTouch(capEvent(0), at(n+12)), lt, "direct|direct", true)
	wantTouches(t, h, s, capEvent(0), "direct|direct", "campaign|newsletter")
	wantTouches(t, h, s, capEvent(12), "<nil>", "campaign|newsletter")
	// another session is untouched by all this
	stampWant(t, h, sessionRef(2), promo(0), lt, promo(0).Key(), true)
	wantTouches(t, h, sessionRef(2), capEvent(0), promo(0).Key(), "<nil>")

	if !h.figures() {
		return
	}
	// every landing that counted is in the figures: dropping a touch takes
	// nothing off them
	wantTraffic(t, h, capEvent(0), "", "",
		src{promo(0).Key(), counts(2, 0, 0, 0)}, src{"direct|direct", counts(1, 0, 0, 0)})
	wantTraffic(t, h, capEvent(11), "", "", src{promo(11).Key(), counts(1, 0, 0, 0)})
}

// testMarkCap switches one session between tracklink.MaxEventMarks+1
// sources of one event in one day: each new one counts, and the latest is
// still marked.
func testMarkCap(t *testing.T, h *env) {
	const lt = tracklink.LastTouch
	s := sessionRef(1)
	ref := func(i int) tracklink.Touch {
		return sourceTouch(tracklink.ChannelReferral, fmt.Sprintf("m%02d.example", i), "ev", base.Add(time.Duration(i)*time.Minute))
	}
	for i := range tracklink.MaxEventMarks + 1 {
		stampWant(t, h, s, ref(i), lt, ref(i).Key(), true)
		// a reload counts nothing
		stampWant(t, h, s, ref(i), lt, ref(i).Key(), false)
	}
	// a weak landing keeps the key, already counted today
	stampWant(t, h, s, directTouch("ev", base.Add(time.Hour)), lt, ref(tracklink.MaxEventMarks).Key(), false)
}
