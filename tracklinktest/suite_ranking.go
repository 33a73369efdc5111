package tracklinktest

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tracklink/tracklink"
)

// wantSummary checks PromoterSummary(group).
func wantSummary(t *testing.T, h *env, group string, promoters, active int, totals tracklink.Counts) {
	t.Helper()
	got, err := h.Ledger.PromoterSummary(t.Context(), group)
	if err != nil {
		t.Fatalf("PromoterSummary(%q): %v", group, err)
	}
	if got.Promoters != promoters || got.Active != active || !countsEqual(got.Totals, totals) {
		t.Errorf("PromoterSummary(%q) = %d promoters, %d active, %s; want %d, %d, %s", group,
			got.Promoters, got.Active, fmtCounts(got.Totals), promoters, active, fmtCounts(totals))
	}
}

// ranking returns the codes of PromoterRanking(group, offset, limit) and
// the rows.
func ranking(t *testing.T, h *env, group string, offset, limit int) ([]string, []tracklink.PromoterStats) {
	t.Helper()
	rows, err := h.Ledger.PromoterRanking(t.Context(), group, offset, limit)
	for _, r := range rows {
		if r.Promoter.Code != r.Stats.Code {
			t.Errorf("PromoterRanking row: promoter %q with figures of %q", r.Promoter.Code, r.Stats.Code)
		}
	}
	if err != nil {
		t.Fatalf("PromoterRanking(%q, %d, %d): %v", group, offset, limit, err)
	}
	var codes []string
	stats := make([]tracklink.PromoterStats, len(rows))
	for i, r := range rows {
		codes = append(codes, r.Promoter.Code)
		stats[i] = r.Stats
	}
	return codes, stats
}

func wantRanking(t *testing.T, h *env, group string, offset, limit int, want ...string) {
	t.Helper()
	if got, _ := ranking(t, h, group, offset, limit); !slices.Equal(got, want) {
		t.Errorf("PromoterRanking(%q, %d, %d) = %v, want %v", group, offset, limit, got, want)
	}
}

// seedRanking registers ana (crew, vip), bob (crew), cy (vip) and dan (no
// group) and records sales for them and for eve, who is not registered.
func seedRanking(t *testing.T, h *env) {
	t.Helper()
	savePromoter(t, h, tracklink.Promoter{Code: "ana", Name: "Ana", Groups: []string{"crew", "vip"}})
	savePromoter(t, h, tracklink.Promoter{Code: "bob", Name: "Bob", Groups: []string{"crew"}})
	savePromoter(t, h, tracklink.Promoter{Code: "cy", Name: "Cy", Groups: []string{"vip"}})
	savePromoter(t, h, tracklink.Promoter{Code: "dan", Name: "Dan"})
	visit(t, h, sessionRef(1), promoterTouch("ana", "ev", base))
	record(t, h, order("rk-1", "ev", promoterTouch("ana", "ev", base), 2, 0, 5000, "EUR", base))
	record(t, h, order("rk-2", "other", promoterTouch("ana", "other", base), 1, 1, 300, "USD", base))
	record(t, h, order("rk-3", "ev", promoterTouch("bob", "ev", base), 3, 0, 4500, "EUR", base))
	record(t, h, order("rk-4", "ev", promoterTouch("eve", "ev", base), 5, 0, 7500, "EUR", base))
	record(t, h, order("rk-5", "ev", noTouch("ev"), 1, 0, 1500, "EUR", base))
	// a resale-only order: it counts its excluded tickets only (no order,
	// no revenue; dan is not active)
	record(t, h, order("rk-6", "ev", promoterTouch("dan", "ev", base), 0, 2, 6000, "EUR", base))
}

func testPromoterSummary(t *testing.T, h *env) {
	ctx := t.Context()
	// nothing registered yet
	wantSummary(t, h, "", 0, 0, counts(0, 0, 0, 0))
	seedRanking(t, h)

	// only registered promoters count; Visits stays zero
	wantSummary(t, h, "", 4, 2, counts(0, 3, 6, 3, "EUR", 9500, "USD", 300))
	wantSummary(t, h, "crew", 2, 2, counts(0, 3, 6, 1, "EUR", 9500, "USD", 300))
	wantSummary(t, h, "vip", 2, 1, counts(0, 2, 3, 1, "EUR", 5000, "USD", 300))
	// names are trimmed like saved group names
	wantSummary(t, h, " vip ", 2, 1, counts(0, 2, 3, 1, "EUR", 5000, "USD", 300))
	// a group nobody is in, or a name no group can have, is empty
	wantSummary(t, h, "nope", 0, 0, counts(0, 0, 0, 0))
	wantSummary(t, h, strings.Repeat("g", 100), 0, 0, counts(0, 0, 0, 0))
	if err := h.Ledger.SaveGroup(ctx, "empty"); err != nil {
		t.Fatalf("SaveGroup: %v", err)
	}
	wantSummary(t, h, "empty", 0, 0, counts(0, 0, 0, 0))

	// a promoter registered after its sales brings them along
	savePromoter(t, h, tracklink.Promoter{Code: "eve", Name: "Eve", Groups: []string{"vip"}})
	wantSummary(t, h, "", 5, 3, counts(0, 4, 11, 3, "EUR", 17000, "USD", 300))
	wantSummary(t, h, "vip", 3, 2, counts(0, 3, 8, 1, "EUR", 12500, "USD", 300))

	// a new sale reaches every group of its promoter at once
	record(t, h, order("rk-7", "ev", promoterTouch("ana", "ev", base.Add(time.Hour)), 1, 0, 1000, "EUR", base.Add(time.Hour)))
	wantSummary(t, h, "", 5, 3, counts(0, 5, 12, 3, "EUR", 18000, "USD", 300))
	wantSummary(t, h, "crew", 2, 2, counts(0, 4, 7, 1, "EUR", 10500, "USD", 300))
	wantSummary(t, h, "vip", 3, 2, counts(0, 4, 9, 1, "EUR", 13500, "USD", 300))

	// a refund reverses it, and a promoter with no order left is not active
	refund(t, h, "rk-7", base.Add(2*time.Hour))
	refund(t, h, "rk-3", base.Add(2*time.Hour))
	wantSummary(t, h, "", 5, 2, counts(0, 3, 8, 3, "EUR", 12500, "USD", 300))
	wantSummary(t, h, "crew", 2, 1, counts(0, 2, 3, 1, "EUR", 5000, "USD", 300))
	// refunding again changes nothing
	refund(t, h, "rk-3", base.Add(3*time.Hour))
	wantSummary(t, h, "crew", 2, 1, counts(0, 2, 3, 1, "EUR", 5000, "USD", 300))
	// a sale of a promoter nobody registered changes no summary
	record(t, h, order("rk-8", "ev", promoterTouch("zed", "ev", base), 9, 0, 900, "EUR", base))
	wantSummary(t, h, "", 5, 2, counts(0, 3, 8, 3, "EUR", 12500, "USD", 300))
}

func testSummaryRegistry(t *testing.T, h *env) {
	ctx := t.Context()
	seedRanking(t, h)
	anaT := counts(0, 2, 3, 1, "EUR", 5000, "USD", 300)
	bobT := counts(0, 1, 3, 0, "EUR", 4500)

	// saving a promoter again with the same groups changes nothing
	savePromoter(t, h, tracklink.Promoter{Code: "ana", Name: "Ana L.", Groups: []string{"vip", "crew"}})
	wantSummary(t, h, "crew", 2, 2, counts(0, 3, 6, 1, "EUR", 9500, "USD", 300))
	// moving bob from crew to vip moves his totals
	savePromoter(t, h, tracklink.Promoter{Code: "bob", Name: "Bob", Groups: []string{"vip"}})
	wantSummary(t, h, "crew", 1, 1, anaT)
	wantSummary(t, h, "vip", 3, 2, counts(0, 3, 6, 1, "EUR", 9500, "USD", 300))
	wantSummary(t, h, "", 4, 2, counts(0, 3, 6, 3, "EUR", 9500, "USD", 300))
	wantRanking(t, h, "crew", 0, 10, "ana")
	wantRanking(t, h, "vip", 0, 10, "ana", "bob", "cy")

	// a rename moves the whole group
	if err := h.Ledger.RenameGroup(ctx, "vip", "stars"); err != nil {
		t.Fatalf("RenameGroup: %v", err)
	}
	wantSummary(t, h, "vip", 0, 0, counts(0, 0, 0, 0))
	wantSummary(t, h, "stars", 3, 2, counts(0, 3, 6, 1, "EUR", 9500, "USD", 300))
	wantRanking(t, h, "vip", 0, 10)
	wantRanking(t, h, "stars", 0, 10, "ana", "bob", "cy")
	// renaming onto an existing group merges: ana, in both, counts once
	if err := h.Ledger.RenameGroup(ctx, "crew", "stars"); err != nil {
		t.Fatalf("RenameGroup onto an existing group: %v", err)
	}
	wantSummary(t, h, "crew", 0, 0, counts(0, 0, 0, 0))
	wantSummary(t, h, "stars", 3, 2, counts(0, 3, 6, 1, "EUR", 9500, "USD", 300))
	// deleting a group leaves its members registered
	if err := h.Ledger.DeleteGroup(ctx, "stars"); err != nil {
		t.Fatalf("DeleteGroup: %v", err)
	}
	wantSummary(t, h, "stars", 0, 0, counts(0, 0, 0, 0))
	wantRanking(t, h, "stars", 0, 10)
	wantSummary(t, h, "", 4, 2, counts(0, 3, 6, 3, "EUR", 9500, "USD", 300))
	wantRanking(t, h, "", 0, 10, "ana", "bob", "cy", "dan")

	// a deleted promoter leaves every sum and ranking
	savePromoter(t, h, tracklink.Promoter{Code: "bob", Name: "Bob", Groups: []string{"crew"}})
	if err := h.Ledger.DeletePromoter(ctx, "ana"); err != nil {
		t.Fatalf("DeletePromoter: %v", err)
	}
	wantSummary(t, h, "", 3, 1, counts(0, 1, 3, 2, "EUR", 4500))
	wantSummary(t, h, "crew", 1, 1, bobT)
	wantRanking(t, h, "", 0, 10, "bob", "cy", "dan")
	// registered again under the same code, it starts from nothing
	savePromoter(t, h, tracklink.Promoter{Code: "ana", Name: "Ana", Groups: []string{"crew"}})
	wantSummary(t, h, "crew", 2, 1, bobT)
	wantRanking(t, h, "crew", 0, 10, "bob", "ana")
	// deleting a code nobody registered, with sales, changes no summary
	if err := h.Ledger.DeletePromoter(ctx, "eve"); err != nil {
		t.Fatalf("DeletePromoter(eve): %v", err)
	}
	wantSummary(t, h, "", 4, 1, counts(0, 1, 3, 2, "EUR", 4500))
}

func testPromoterRanking(t *testing.T, h *env) {
	ctx := t.Context()
	wantRanking(t, h, "", 0, 10)
	seedRanking(t, h)

	// tickets descending, ties by code: ana and bob sold 3, cy and dan none
	codes, rows := ranking(t, h, "", 0, 10)
	if want := []string{"ana", "bob", "cy", "dan"}; !slices.Equal(codes, want) {
		t.Fatalf("PromoterRanking = %v, want %v", codes, want)
	}
	// each row carries the promoter's all-time totals, visits included
	// (per-event figures are PromoterStats' job)
	wantPromoterStats(t, rows[0], "ana", counts(1, 2, 3, 1, "EUR", 5000, "USD", 300), nil)
	wantPromoterStats(t, rows[2], "cy", counts(0, 0, 0, 0), nil)
	wantPromoterStats(t, rows[3], "dan", counts(0, 0, 0, 2), nil)
	wantRanking(t, h, "crew", 0, 10, "ana", "bob")
	wantRanking(t, h, " vip", 0, 10, "ana", "cy")
	wantRanking(t, h, "nope", 0, 10)

	// paging
	wantRanking(t, h, "", 0, 1, "ana")
	wantRanking(t, h, "", 1, 2, "bob", "cy")
	wantRanking(t, h, "", 3, 5, "dan")
	wantRanking(t, h, "", 4, 5)
	wantRanking(t, h, "", 1000, 1000)

	// a registered promoter with more sales moves up; ties break by code
	savePromoter(t, h, tracklink.Promoter{Code: "eve", Name: "Eve", Groups: []string{"crew"}})
	wantRanking(t, h, "", 0, 10, "eve", "ana", "bob", "cy", "dan")
	record(t, h, order("rk-9", "ev", promoterTouch("bob", "ev", base), 2, 0, 3000, "EUR", base))
	wantRanking(t, h, "crew", 0, 10, "bob", "eve", "ana")
	refund(t, h, "rk-9", base.Add(time.Hour))
	refund(t, h, "rk-4", base.Add(time.Hour)) // eve's 5 tickets
	wantRanking(t, h, "", 0, 10, "ana", "bob", "cy", "dan", "eve")
	// excluded (resold) tickets do not rank
	record(t, h, order("rk-10", "ev", promoterTouch("cy", "ev", base), 0, 9, 9000, "EUR", base))
	wantRanking(t, h, "vip", 0, 10, "ana", "cy")
	wantRanking(t, h, "", 2, 1, "cy")

	// bad pages are refused
	for _, p := range []struct{ offset, limit int }{{0, 0}, {0, -1}, {0, 1001}, {-1, 10}} {
		if _, err := h.Ledger.PromoterRanking(ctx, "", p.offset, p.limit); err == nil {
			t.Errorf("PromoterRanking(offset %d, limit %d): no error", p.offset, p.limit)
		}
	}
	if _, err := h.Ledger.PromoterRanking(ctx, "", 0, 1000); err != nil {
		t.Errorf("PromoterRanking(limit 1000): %v", err)
	}
}

func testRecentOrders(t *testing.T, h *env) {
	ctx := t.Context()
	recent := func(event string, limit int) []string {
		t.Helper()
		as, err := h.Ledger.RecentOrders(ctx, event, limit)
		if err != nil {
			t.Fatalf("RecentOrders(%q, %d): %v", event, limit, err)
		}
		return orderIDs(as)
	}
	if got := recent("", 10); len(got) != 0 {
		t.Errorf("RecentOrders on an empty store = %v", got)
	}
	d := noTouch("ev")
	record(t, h, order("r1", "ev", d, 1, 0, 100, "EUR", base))
	record(t, h, order("r2", "other", d, 1, 0, 100, "EUR", base.Add(time.Hour)))
	record(t, h, order("r3", "ev", d, 1, 0, 100, "EUR", base.Add(2*time.Hour)))
	record(t, h, order("r4", "ev", d, 1, 0, 100, "EUR", base.Add(2*time.Hour))) // same time: by id
	record(t, h, order("r0", "ev", d, 1, 0, 100, "EUR", base.Add(-time.Hour)))  // recorded late
	refund(t, h, "r3", base.Add(3*time.Hour))
	// an early refund alone is not an order
	refund(t, h, "r9", base.Add(3*time.Hour))

	// newest first, the reverse of Orders
	if got, want := recent("", 10), []string{"r4", "r3", "r2", "r1", "r0"}; !slices.Equal(got, want) {
		t.Errorf("RecentOrders(\"\", 10) = %v, want %v", got, want)
	}
	all := orderIDs(orders(t, h, ""))
	slices.Reverse(all)
	if got := recent("", 1000); !slices.Equal(got, all) {
		t.Errorf("RecentOrders(\"\", 1000) = %v, want Orders reversed %v", got, all)
	}
	if got, want := recent("", 2), []string{"r4", "r3"}; !slices.Equal(got, want) {
		t.Errorf("RecentOrders(\"\", 2) = %v, want %v", got, want)
	}
	if got, want := recent("ev", 10), []string{"r4", "r3", "r1", "r0"}; !slices.Equal(got, want) {
		t.Errorf("RecentOrders(ev, 10) = %v, want %v", got, want)
	}
	if got, want := recent("other", 1), []string{"r2"}; !slices.Equal(got, want) {
		t.Errorf("RecentOrders(other, 1) = %v, want %v", got, want)
	}
	if got := recent("nothing", 10); len(got) != 0 {
		t.Errorf("RecentOrders(nothing) = %v, want none", got)
	}
	// refunded orders are listed as they are stored
	as, err := h.Ledger.RecentOrders(ctx, "ev", 2)
	if err != nil || len(as) != 2 {
		t.Fatalf("RecentOrders(ev, 2) = %v, %v", as, err)
	}
	want, _, _ := h.Ledger.Attribution(ctx, "r3")
	if !as[1].Refunded || !attributionEqual(as[1], want) {
		t.Errorf("RecentOrders(ev)[1] = %+v, want %+v", as[1], want)
	}
	for _, limit := range []int{0, -1, 1001} {
		if _, err := h.Ledger.RecentOrders(ctx, "", limit); err == nil {
			t.Errorf("RecentOrders(limit %d): no error", limit)
		}
	}
	if _, err := h.Ledger.RecentOrders(ctx, "Bad Event", 10); err == nil {
		t.Error("RecentOrders(\"Bad Event\"): no error")
	}
}
