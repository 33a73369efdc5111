package tracklinktest

import (
	"fmt"
	"testing"
	"time"

	"github.com/tracklink/tracklink"
)

// maxSources is the harness's cap on distinct source keys per event.
func maxSources(h *env) int {
	if h.MaxSources > 0 {
		return h.MaxSources
	}
	return DefaultMaxSources
}

// trafficRows returns EventTraffic as a map by key, all-zero rows dropped.
func trafficRows(t *testing.T, h *env, event, from, to string) map[string]tracklink.Counts {
	t.Helper()
	rows, err := h.Ledger.EventTraffic(t.Context(), event, from, to)
	if err != nil {
		t.Fatalf("EventTraffic(%q, %q, %q): %v", event, from, to, err)
	}
	m := make(map[string]tracklink.Counts, len(rows))
	for _, r := range rows {
		if !isZero(r.Counts) {
			m[r.Key] = r.Counts
		}
	}
	return m
}

// wantRow checks one EventTraffic row of rows (zero when absent).
func wantRow(t *testing.T, what string, rows map[string]tracklink.Counts, key string, want tracklink.Counts) {
	t.Helper()
	if got := rows[key]; !countsEqual(got, want) {
		t.Errorf("%s: row %s = %s, want %s", what, key, fmtCounts(got), fmtCounts(want))
	}
}

// capSource is the i-th distinct referral source of the cap subtests.
func capSource(i int) string { return fmt.Sprintf("s%04d.example", i) }

func testStampSourceCap(t *testing.T, h *env) {
	n := maxSources(h)
	ref := func(i int, event string) tracklink.Touch {
		return sourceTouch(tracklink.ChannelReferral, capSource(i), event, base)
	}
	savePromoter(t, h, tracklink.Promoter{Code: "ana", Name: "Ana"})
	// n distinct keys fill the event
	for i := range n {
		visit(t, h, sessionRef(i), ref(i, "ev"))
	}
	// a new key now counts under OtherKey; the session keeps its real touch
	visit(t, h, sessionRef(n), ref(n, "ev"))
	visit(t, h, sessionRef(n+1), ref(n+1, "ev"))
	if h.StampCounts {
		wantTouches(t, h, sessionRef(n), "ev", ref(n, "ev").Key(), "<nil>")
	}
	// a key already there keeps counting
	visit(t, h, sessionRef(n+2), ref(0, "ev"))
	// so does a registered promoter's visit on its own figures, though the
	// event counts it under OtherKey
	visit(t, h, sessionRef(n+3), promoterTouch("ana", "ev", base))
	if h.StampCounts {
		// the same session counts a capped key once a day
		stampWant(t, h, sessionRef(n), ref(n, "ev"), tracklink.LastTouch, ref(n, "ev").Key(), false)
	}

	for _, r := range [][2]string{{"", ""}, {day0, day0}} {
		rows := trafficRows(t, h, "ev", r[0], r[1])
		what := fmt.Sprintf("EventTraffic(ev, %q, %q)", r[0], r[1])
		if len(rows) != n+1 {
			t.Errorf("%s: %d rows, want %d (the cap plus %s)", what, len(rows), n+1, OtherKey)
		}
		wantRow(t, what, rows, OtherKey, counts(3, 0, 0, 0))
		wantRow(t, what, rows, ref(0, "ev").Key(), counts(2, 0, 0, 0))
		wantRow(t, what, rows, ref(n-1, "ev").Key(), counts(1, 0, 0, 0))
		wantRow(t, what, rows, ref(n, "ev").Key(), counts(0, 0, 0, 0))
		wantRow(t, what, rows, "promoter|ana", counts(0, 0, 0, 0))
	}
	days, err := h.Ledger.EventDays(t.Context(), "ev", day0, day0)
	wantDays(t, "EventDays(ev)", days, err, dc(day0, counts(int64(n)+4, 0, 0, 0)))
	wantPromoterStats(t, promoterStats(t, h, "ana"), "ana", counts(1, 0, 0, 0),
		map[string]tracklink.Counts{"ev": counts(1, 0, 0, 0)})

	// the cap is per event
	visit(t, h, sessionRef(n+4), ref(n, "ev2"))
	wantTraffic(t, h, "ev2", "", "", src{ref(n, "ev2").Key(), counts(1, 0, 0, 0)})

	// deleting a promoter whose visits counted under OtherKey leaves them there
	if err := h.Ledger.DeletePromoter(t.Context(), "ana"); err != nil {
		t.Fatalf("DeletePromoter: %v", err)
	}
	rows := trafficRows(t, h, "ev", "", "")
	wantRow(t, "EventTraffic(ev) after DeletePromoter", rows, OtherKey, counts(3, 0, 0, 0))
	wantRow(t, "EventTraffic(ev) after DeletePromoter", rows, "promoter|"+tracklink.DeletedPromoter, counts(0, 0, 0, 0))
}

func testRecordSourceCap(t *testing.T, h *env) {
	ctx := t.Context()
	n := maxSources(h)
	camp := func(i int) tracklink.Touch { return campaignTouch(fmt.Sprintf("c%04d", i), "ev", base) }
	// visits do not use up the order keys: the two caps are separate
	for i := range n {
		visit(t, h, sessionRef(i), sourceTouch(tracklink.ChannelReferral, capSource(i), "ev", base))
	}
	for i := range n {
		record(t, h, order(fmt.Sprintf("ord-%04d", i), "ev", camp(i), 1, 0, 100, "EUR", base))
	}
	// an order whose key is new counts under OtherKey; its attribution and
	// its promoter's figures keep the real touch
	over := order("ord-over", "ev", promoterTouch("ana", "ev", base), 2, 1, 5000, "EUR", base)
	r := record(t, h, over)
	if !r.Applied || !attributionEqual(r.Attribution, over) {
		t.Errorf("Record(ord-over): Applied %v, Attribution %+v; want true, the real touch", r.Applied, r.Attribution)
	}
	// a key already there keeps counting
	record(t, h, order("ord-again", "ev", camp(0), 1, 0, 100, "EUR", base))
	// an order with no primary tickets takes a key too (its excluded tickets)
	record(t, h, order("ord-resale", "ev", campaignTouch("resale", "ev", base), 0, 3, 0, "EUR", base))

	rows := trafficRows(t, h, "ev", "", "")
	if len(rows) != 2*n+1 {
		t.Errorf("EventTraffic(ev): %d rows, want %d", len(rows), 2*n+1)
	}
	wantRow(t, "EventTraffic(ev)", rows, OtherKey, counts(0, 1, 2, 4, "EUR", 5000))
	wantRow(t, "EventTraffic(ev)", rows, camp(0).Key(), counts(0, 2, 2, 0, "EUR", 200))
	wantRow(t, "EventTraffic(ev)", rows, "promoter|ana", counts(0, 0, 0, 0))
	wantRow(t, "EventTraffic(ev)", rows, "referral|"+capSource(0), counts(1, 0, 0, 0))
	dayRows := trafficRows(t, h, "ev", day0, day0)
	wantRow(t, "EventTraffic(ev, day0)", dayRows, OtherKey, counts(0, 1, 2, 4, "EUR", 5000))
	wantPromoterStats(t, promoterStats(t, h, "ana"), "ana", counts(0, 1, 2, 1, "EUR", 5000),
		map[string]tracklink.Counts{"ev": counts(0, 1, 2, 1, "EUR", 5000)})
	got, ok, err := h.Ledger.Attribution(ctx, "ord-over")
	if err != nil || !ok || got.Touch.Key() != "promoter|ana" {
		t.Errorf("Attribution(ord-over) = %+v, %v, %v; want the promoter|ana touch", got, ok, err)
	}

	// a refund takes the order off the bucket it counted under
	refund(t, h, "ord-over", base)
	rows = trafficRows(t, h, "ev", "", "")
	wantRow(t, "EventTraffic(ev) after refund", rows, OtherKey, counts(0, 0, 0, 3))
	wantPromoterStats(t, promoterStats(t, h, "ana"), "ana", counts(0, 0, 0, 0), nil)

	// so does a refund after the promoter was deleted: its capped order's
	// figures never moved to DeletedPromoter
	over2 := order("ord-over2", "ev", promoterTouch("ana", "ev", base), 1, 0, 700, "EUR", base)
	record(t, h, over2)
	if err := h.Ledger.DeletePromoter(ctx, "ana"); err != nil {
		t.Fatalf("DeletePromoter: %v", err)
	}
	rows = trafficRows(t, h, "ev", "", "")
	wantRow(t, "EventTraffic(ev) after DeletePromoter", rows, OtherKey, counts(0, 1, 1, 3, "EUR", 700))
	wantRow(t, "EventTraffic(ev) after DeletePromoter", rows, "promoter|"+tracklink.DeletedPromoter, counts(0, 0, 0, 0))
	refund(t, h, "ord-over2", base.Add(time.Hour))
	rows = trafficRows(t, h, "ev", "", "")
	wantRow(t, "EventTraffic(ev) after the refund", rows, OtherKey, counts(0, 0, 0, 3))
	wantRow(t, "EventTraffic(ev) after the refund", rows, "promoter|"+tracklink.DeletedPromoter, counts(0, 0, 0, 0))
	dayRows = trafficRows(t, h, "ev", day0, day0)
	wantRow(t, "EventTraffic(ev, day0) after the refund", dayRows, OtherKey, counts(0, 0, 0, 3))
	wantRow(t, "EventTraffic(ev, day0) after the refund", dayRows, "promoter|"+tracklink.DeletedPromoter, counts(0, 0, 0, 0))
}

func testStampPromoterRegistry(t *testing.T, h *env) {
	ctx := t.Context()
	// a code nobody registered counts on the event only
	visit(t, h, sessionRef(1), promoterTouch("zed", "ev", base))
	visit(t, h, sessionRef(2), promoterTouch("zed", "", base))
	wantTraffic(t, h, "ev", "", "", src{"promoter|zed", counts(1, 0, 0, 0)})
	wantTraffic(t, h, "", "", "", src{"promoter|zed", counts(1, 0, 0, 0)})
	wantPromoterStats(t, promoterStats(t, h, "zed"), "zed", counts(0, 0, 0, 0), nil)
	pd, err := h.Ledger.PromoterDays(ctx, "zed", day0, day0)
	wantDays(t, "PromoterDays(zed)", pd, err, dc(day0, counts(0, 0, 0, 0)))

	// a registered one counts on its own figures too
	savePromoter(t, h, tracklink.Promoter{Code: "ana", Name: "Ana"})
	visit(t, h, sessionRef(3), promoterTouch("ana", "ev", base))
	wantPromoterStats(t, promoterStats(t, h, "ana"), "ana", counts(1, 0, 0, 0),
		map[string]tracklink.Counts{"ev": counts(1, 0, 0, 0)})

	// sales count for any code, registered or not
	record(t, h, order("ord-1", "ev", promoterTouch("zed", "ev", base), 2, 0, 3000, "EUR", base))
	wantPromoterStats(t, promoterStats(t, h, "zed"), "zed", counts(0, 1, 2, 0, "EUR", 3000),
		map[string]tracklink.Counts{"ev": counts(0, 1, 2, 0, "EUR", 3000)})
	pd, err = h.Ledger.PromoterDays(ctx, "zed", day0, day0)
	wantDays(t, "PromoterDays(zed)", pd, err, dc(day0, counts(0, 1, 2, 0, "EUR", 3000)))
	// and a visit of a code with sales but no registration still does not
	visit(t, h, sessionRef(4), promoterTouch("zed", "ev", base))
	wantPromoterStats(t, promoterStats(t, h, "zed"), "zed", counts(0, 1, 2, 0, "EUR", 3000),
		map[string]tracklink.Counts{"ev": counts(0, 1, 2, 0, "EUR", 3000)})
	wantTraffic(t, h, "ev", "", "",
		src{"promoter|zed", counts(2, 1, 2, 0, "EUR", 3000)},
		src{"promoter|ana", counts(1, 0, 0, 0)})

	// once deleted, a landing on the old link counts on the event only
	if err := h.Ledger.DeletePromoter(ctx, "ana"); err != nil {
		t.Fatalf("DeletePromoter: %v", err)
	}
	visit(t, h, sessionRef(5), promoterTouch("ana", "ev", base))
	wantPromoterStats(t, promoterStats(t, h, "ana"), "ana", counts(0, 0, 0, 0), nil)
	wantTraffic(t, h, "ev", "", "",
		src{"promoter|zed", counts(2, 1, 2, 0, "EUR", 3000)},
		src{"promoter|ana", counts(1, 0, 0, 0)},
		src{"promoter|" + tracklink.DeletedPromoter, counts(1, 0, 0, 0)})
}
