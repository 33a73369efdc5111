package tracklinktest

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tracklink/tracklink"
)

func savePromoter(t *testing.T, h *env, p tracklink.Promoter) {
	t.Helper()
	if err := h.Ledger.SavePromoter(t.Context(), p); err != nil {
		t.Fatalf("SavePromoter(%q): %v", p.Code, err)
	}
}

func getPromoter(t *testing.T, h *env, code string) (tracklink.Promoter, bool) {
	t.Helper()
	p, ok, err := h.Ledger.Promoter(t.Context(), code)
	if err != nil {
		t.Fatalf("Promoter(%q): %v", code, err)
	}
	return p, ok
}

func promoterCodes(t *testing.T, h *env) []string {
	t.Helper()
	ps, err := h.Ledger.Promoters(t.Context())
	if err != nil {
		t.Fatalf("Promoters: %v", err)
	}
	var codes []string
	for _, p := range ps {
		codes = append(codes, p.Code)
	}
	return codes
}

func groups(t *testing.T, h *env) []string {
	t.Helper()
	gs, err := h.Ledger.Groups(t.Context())
	if err != nil {
		t.Fatalf("Groups: %v", err)
	}
	return gs
}

func wantGroups(t *testing.T, h *env, code string, want ...string) {
	t.Helper()
	p, ok := getPromoter(t, h, code)
	if !ok {
		t.Fatalf("Promoter(%q): not found", code)
	}
	if !slices.Equal(sortedSet(p.Groups), sortedSet(want)) {
		t.Errorf("Promoter(%q).Groups = %v, want %v", code, p.Groups, want)
	}
}

func promoOwner(t *testing.T, h *env, promo string) string {
	t.Helper()
	code, ok, err := h.Ledger.PromoterByPromoCode(t.Context(), promo)
	if err != nil {
		t.Fatalf("PromoterByPromoCode(%q): %v", promo, err)
	}
	if !ok {
		return ""
	}
	return code
}

func testPromoters(t *testing.T, h *env) {
	ctx := t.Context()
	created := base.Add(-time.Hour)
	savePromoter(t, h, tracklink.Promoter{Code: "Zoe", Name: "Zoë", Created: created})
	savePromoter(t, h, tracklink.Promoter{
		Code: "ANA", Name: "Ana Lima", Groups: []string{"vip", "crew", "vip"},
		Events: []string{"ev", "other"}, PromoCodes: []string{"ANA10"}, Created: created,
	})
	savePromoter(t, h, tracklink.Promoter{Code: "bob_1", Name: "Bob", Created: created})

	p, ok := getPromoter(t, h, "ana")
	if !ok {
		t.Fatal("Promoter(ana): not found")
	}
	if p.Code != "ana" || p.Name != "Ana Lima" || !p.Created.Equal(created) ||
		!slices.Equal(sortedSet(p.Groups), []string{"crew", "vip"}) ||
		!slices.Equal(sortedSet(p.Events), []string{"ev", "other"}) ||
		!slices.Equal(p.PromoCodes, []string{"ana10"}) {
		t.Errorf("Promoter(ana) = %+v", p)
	}
	// lookups are case-insensitive
	if p2, ok := getPromoter(t, h, "AnA"); !ok || p2.Code != "ana" {
		t.Errorf("Promoter(AnA) = %+v, %v", p2, ok)
	}
	if _, ok := getPromoter(t, h, "nobody"); ok {
		t.Error("Promoter(nobody): found")
	}
	if got, want := promoterCodes(t, h), []string{"ana", "bob_1", "zoe"}; !slices.Equal(got, want) {
		t.Errorf("Promoters = %v, want %v", got, want)
	}
	// saving a promoter adds its groups to the registry
	if got, want := groups(t, h), []string{"crew", "vip"}; !slices.Equal(got, want) {
		t.Errorf("Groups = %v, want %v", got, want)
	}
	// a returned promoter is a copy
	p.Groups[0] = "mallory"
	wantGroups(t, h, "ana", "crew", "vip")

	// save replaces
	savePromoter(t, h, tracklink.Promoter{Code: "ana", Name: "Ana L.", Groups: []string{"crew"}, Created: created})
	p, _ = getPromoter(t, h, "ana")
	if p.Name != "Ana L." || !slices.Equal(p.Groups, []string{"crew"}) || len(p.Events) != 0 || len(p.PromoCodes) != 0 {
		t.Errorf("Promoter(ana) after replace = %+v", p)
	}
	// invalid codes are refused, never stored
	for _, code := range []string{"", "bad code", "ana!", strings.Repeat("a", 65), tracklink.DeletedPromoter} {
		if err := h.Ledger.SavePromoter(ctx, tracklink.Promoter{Code: code, Name: "x"}); err == nil {
			t.Errorf("SavePromoter(%q): no error", code)
		}
	}
	if got, want := promoterCodes(t, h), []string{"ana", "bob_1", "zoe"}; !slices.Equal(got, want) {
		t.Errorf("Promoters after invalid saves = %v, want %v", got, want)
	}
}

func testPromoCodes(t *testing.T, h *env) {
	savePromoter(t, h, tracklink.Promoter{Code: "ana", Name: "Ana", PromoCodes: []string{"ANA10", "summer-ana"}})
	savePromoter(t, h, tracklink.Promoter{Code: "bob", Name: "Bob", PromoCodes: []string{"bob5"}})
	for promo, want := range map[string]string{
		"ana10": "ana", "ANA10": "ana", "Summer-Ana": "ana", "BOB5": "bob", "nope": "", "ana": "",
	} {
		if got := promoOwner(t, h, promo); got != want {
			t.Errorf("PromoterByPromoCode(%q) = %q, want %q", promo, got, want)
		}
	}
	// a promo code belongs to one promoter
	if err := h.Ledger.SavePromoter(t.Context(), tracklink.Promoter{Code: "bob", Name: "Bob", PromoCodes: []string{"Ana10"}}); err == nil {
		t.Error("SavePromoter(bob) taking ana's promo code: no error")
	}
	if got := promoOwner(t, h, "ana10"); got != "ana" {
		t.Errorf("PromoterByPromoCode(ana10) after a conflict = %q, want ana", got)
	}
	if got := promoOwner(t, h, "bob5"); got != "bob" {
		t.Errorf("PromoterByPromoCode(bob5) after a refused save = %q, want bob", got)
	}
	// replacing a promoter releases the codes it no longer has
	savePromoter(t, h, tracklink.Promoter{Code: "ana", Name: "Ana", PromoCodes: []string{"ana20"}})
	if got := promoOwner(t, h, "ana10"); got != "" {
		t.Errorf("PromoterByPromoCode(ana10) after replace = %q, want none", got)
	}
	if got := promoOwner(t, h, "ana20"); got != "ana" {
		t.Errorf("PromoterByPromoCode(ana20) = %q, want ana", got)
	}
	savePromoter(t, h, tracklink.Promoter{Code: "bob", Name: "Bob", PromoCodes: []string{"bob5", "ANA10"}})
	if got := promoOwner(t, h, "ana10"); got != "bob" {
		t.Errorf("PromoterByPromoCode(ana10) after bob took it = %q, want bob", got)
	}
}

func testGroups(t *testing.T, h *env) {
	ctx := t.Context()
	savePromoter(t, h, tracklink.Promoter{Code: "ana", Name: "Ana", Groups: []string{"vip", "crew"}})
	savePromoter(t, h, tracklink.Promoter{Code: "bob", Name: "Bob", Groups: []string{"crew"}})
	if err := h.Ledger.SaveGroup(ctx, "solo"); err != nil {
		t.Fatalf("SaveGroup: %v", err)
	}
	if err := h.Ledger.SaveGroup(ctx, "solo"); err != nil {
		t.Fatalf("SaveGroup of an existing group: %v", err)
	}
	if got, want := groups(t, h), []string{"crew", "solo", "vip"}; !slices.Equal(got, want) {
		t.Errorf("Groups = %v, want %v", got, want)
	}
	if err := h.Ledger.RenameGroup(ctx, "vip", "gold"); err != nil {
		t.Fatalf("RenameGroup: %v", err)
	}
	if got, want := groups(t, h), []string{"crew", "gold", "solo"}; !slices.Equal(got, want) {
		t.Errorf("Groups after rename = %v, want %v", got, want)
	}
	wantGroups(t, h, "ana", "crew", "gold")
	wantGroups(t, h, "bob", "crew")
	// renaming onto an existing group merges them
	if err := h.Ledger.RenameGroup(ctx, "gold", "crew"); err != nil {
		t.Fatalf("RenameGroup onto an existing group: %v", err)
	}
	wantGroups(t, h, "ana", "crew")
	if got, want := groups(t, h), []string{"crew", "solo"}; !slices.Equal(got, want) {
		t.Errorf("Groups after merge = %v, want %v", got, want)
	}
	if err := h.Ledger.DeleteGroup(ctx, "crew"); err != nil {
		t.Fatalf("DeleteGroup: %v", err)
	}
	if got, want := groups(t, h), []string{"solo"}; !slices.Equal(got, want) {
		t.Errorf("Groups after delete = %v, want %v", got, want)
	}
	wantGroups(t, h, "ana")
	wantGroups(t, h, "bob")
}

func testDeletePromoter(t *testing.T, h *env) {
	ctx := t.Context()
	savePromoter(t, h, tracklink.Promoter{Code: "ana", Name: "Ana", Groups: []string{"crew"}, PromoCodes: []string{"ana10"}})
	savePromoter(t, h, tracklink.Promoter{Code: "bob", Name: "Bob"})
	seedTraffic(t, h)
	visit(t, h, sessionRef(7), promoterTouch("bob", "ev", base))
	record(t, h, order("ord-5", "ev", promoterTouch("bob", "ev", base), 1, 0, 700, "EUR", base))

	if err := h.Ledger.DeletePromoter(ctx, "ANA"); err != nil {
		t.Fatalf("DeletePromoter: %v", err)
	}
	// the registry forgets it
	if _, ok := getPromoter(t, h, "ana"); ok {
		t.Error("Promoter(ana) after delete: found")
	}
	if got, want := promoterCodes(t, h), []string{"bob"}; !slices.Equal(got, want) {
		t.Errorf("Promoters after delete = %v, want %v", got, want)
	}
	if got := promoOwner(t, h, "ana10"); got != "" {
		t.Errorf("PromoterByPromoCode(ana10) after delete = %q", got)
	}
	// event totals stay right, under DeletedPromoter
	del := "promoter|" + tracklink.DeletedPromoter
	wantTraffic(t, h, "ev", "", "",
		src{del, counts(2, 2, 3, 0, "EUR", 5000, "USD", 20)},
		src{"social|instagram", counts(2, 0, 0, 0)},
		src{"campaign|newsletter", counts(1, 0, 0, 0)},
		src{"promoter|bob", counts(1, 1, 1, 0, "EUR", 700)},
		src{"direct|direct", counts(0, 1, 1, 1, "EUR", 1000)})
	wantTraffic(t, h, "ev", day1, day1,
		src{"campaign|newsletter", counts(1, 0, 0, 0)},
		src{del, counts(1, 1, 1, 0, "USD", 20)})
	wantTraffic(t, h, "other", "", "", src{del, counts(1, 1, 4, 0, "EUR", 8000)})
	days, err := h.Ledger.EventDays(ctx, "ev", day0, day1)
	wantDays(t, "EventDays(ev) after delete", days, err,
		dc(day0, counts(4, 3, 4, 1, "EUR", 6700)), dc(day1, counts(2, 1, 1, 0, "USD", 20)))
	// its own figures are gone
	wantPromoterStats(t, promoterStats(t, h, "ana"), "ana", counts(0, 0, 0, 0), nil)
	pd, err := h.Ledger.PromoterDays(ctx, "ana", day0, day1)
	wantDays(t, "PromoterDays(ana) after delete", pd, err, dc(day0, counts(0, 0, 0, 0)), dc(day1, counts(0, 0, 0, 0)))
	wantPromoterStats(t, promoterStats(t, h, "bob"), "bob", counts(1, 1, 1, 0, "EUR", 700),
		map[string]tracklink.Counts{"ev": counts(1, 1, 1, 0, "EUR", 700)})
	// attributions no longer name it, and keep their figures
	for _, a := range orders(t, h, "") {
		if strings.Contains(a.Touch.Promoter+a.Touch.Source+a.Touch.Evidence, "ana") {
			t.Errorf("Orders: %s still names the promoter: %+v", a.OrderID, a.Touch)
		}
	}
	a, ok, err := h.Ledger.Attribution(ctx, "ord-4")
	if err != nil || !ok || a.Touch.Promoter != tracklink.DeletedPromoter || a.Touch.Source != tracklink.DeletedPromoter ||
		a.Touch.Channel != tracklink.ChannelPromoter || a.Touch.Evidence != "deleted promoter" || a.Tickets != 4 || a.Revenue != 8000 {
		t.Errorf("Attribution(ord-4) after delete = %+v, %v, %v", a, ok, err)
	}
	if b, _, _ := h.Ledger.Attribution(ctx, "ord-5"); b.Touch.Promoter != "bob" {
		t.Errorf("Attribution(ord-5) of another promoter was rewritten: %+v", b.Touch)
	}
	// a refund of a rewritten order reverses it under DeletedPromoter
	refund(t, h, "ord-4", base.Add(72*time.Hour))
	wantTraffic(t, h, "other", "", "", src{del, counts(1, 0, 0, 0)})
	wantPromoterStats(t, promoterStats(t, h, "ana"), "ana", counts(0, 0, 0, 0), nil)
	// the groups stay; deleting again is not an error
	if got := groups(t, h); !slices.Equal(got, []string{"crew"}) {
		t.Errorf("Groups after delete = %v, want [crew]", got)
	}
	if err := h.Ledger.DeletePromoter(ctx, "ana"); err != nil {
		t.Errorf("second DeletePromoter: %v", err)
	}
}

func testLinks(t *testing.T, h *env) {
	ctx := t.Context()
	t0 := base
	links := []tracklink.Link{
		{ID: "ig-story", Event: "ev", Name: "Instagram story", UTM: tracklink.UTM{Source: "instagram", Medium: "story"}, Created: t0.Add(time.Hour)},
		{ID: "news", Event: "ev", Name: "Newsletter", UTM: tracklink.UTM{Source: "newsletter"}, Created: t0},
		{ID: "b", Event: "other", Name: "Press", UTM: tracklink.UTM{Source: "press"}, Created: t0.Add(time.Hour)},
		{ID: "a", Event: "other", Name: "Press 2", UTM: tracklink.UTM{Source: "press", Campaign: "launch"}, Created: t0.Add(time.Hour)},
	}
	for _, l := range links {
		if err := h.Ledger.SaveLink(ctx, l); err != nil {
			t.Fatalf("SaveLink(%s): %v", l.ID, err)
		}
	}
	l, ok, err := h.Ledger.Link(ctx, "ig-story")
	if err != nil || !ok || l.Name != "Instagram story" || l.UTM != links[0].UTM || l.Event != "ev" || !l.Created.Equal(links[0].Created) {
		t.Errorf("Link(ig-story) = %+v, %v, %v", l, ok, err)
	}
	if _, ok, err := h.Ledger.Link(ctx, "nope"); ok || err != nil {
		t.Errorf("Link(nope): ok %v err %v; want false, nil", ok, err)
	}
	ids := func(event string) []string {
		t.Helper()
		ls, err := h.Ledger.Links(ctx, event)
		if err != nil {
			t.Fatalf("Links(%q): %v", event, err)
		}
		var ids []string
		for _, l := range ls {
			ids = append(ids, l.ID)
		}
		return ids
	}
	// oldest first, then by id
	if got, want := ids("ev"), []string{"news", "ig-story"}; !slices.Equal(got, want) {
		t.Errorf("Links(ev) = %v, want %v", got, want)
	}
	if got, want := ids(""), []string{"news", "a", "b", "ig-story"}; !slices.Equal(got, want) {
		t.Errorf("Links(\"\") = %v, want %v", got, want)
	}
	// save replaces, also across events
	moved := links[0]
	moved.Event, moved.Name = "other", "Moved"
	if err := h.Ledger.SaveLink(ctx, moved); err != nil {
		t.Fatalf("SaveLink(moved): %v", err)
	}
	if got, want := ids("ev"), []string{"news"}; !slices.Equal(got, want) {
		t.Errorf("Links(ev) after move = %v, want %v", got, want)
	}
	if got, want := ids("other"), []string{"a", "b", "ig-story"}; !slices.Equal(got, want) {
		t.Errorf("Links(other) after move = %v, want %v", got, want)
	}
	if err := h.Ledger.DeleteLink(ctx, "news"); err != nil {
		t.Fatalf("DeleteLink: %v", err)
	}
	if err := h.Ledger.DeleteLink(ctx, "news"); err != nil {
		t.Fatalf("DeleteLink of a missing link: %v", err)
	}
	if _, ok, _ := h.Ledger.Link(ctx, "news"); ok {
		t.Error("Link(news) after delete: found")
	}
	if got := ids("ev"); len(got) != 0 {
		t.Errorf("Links(ev) after delete = %v, want none", got)
	}
	for _, bad := range []tracklink.Link{
		{ID: "", Event: "ev", UTM: tracklink.UTM{Source: "x"}},
		{ID: "has space", Event: "ev", UTM: tracklink.UTM{Source: "x"}},
		{ID: strings.Repeat("a", 33), Event: "ev", UTM: tracklink.UTM{Source: "x"}},
		{ID: "ok", Event: "Bad Event", UTM: tracklink.UTM{Source: "x"}},
		{ID: "ok", Event: "ev"}, // no utm_source
	} {
		if err := h.Ledger.SaveLink(ctx, bad); err == nil {
			t.Errorf("SaveLink(%+v): no error", bad)
		}
	}
}

func testSubscribe(t *testing.T, h *env) {
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	// wait bounds the waits for a change and for the close: generous, so
	// that only a store that never delivers reaches it.
	wait, stop := context.WithTimeout(t.Context(), patience)
	defer stop()
	ch, err := h.Feed.Subscribe(ctx)
	if err != nil {
		t.Fatalf("Subscribe: %v", err)
	}
	next := func(what string) tracklink.Change {
		t.Helper()
		select {
		case c, ok := <-ch:
			if !ok {
				t.Fatalf("%s: channel closed", what)
			}
			return c
		case <-wait.Done():
			t.Fatalf("%s: no change within %v", what, patience)
		}
		return tracklink.Change{}
	}
	a := order("ord-1", "ev", promoterTouch("ana", "ev", base), 2, 0, 5000, "EUR", base)
	record(t, h, a)
	if c := next("Record"); c.Kind != tracklink.HookAttributed || c.Attribution.OrderID != "ord-1" || c.Attribution.Tickets != 2 {
		t.Errorf("change after Record = %+v", c)
	}
	// a duplicate publishes nothing; the refund does
	record(t, h, a)
	refund(t, h, "ord-1", base)
	if c := next("Refund"); c.Kind != tracklink.HookRefunded || c.Attribution.OrderID != "ord-1" || !c.Attribution.Refunded {
		t.Errorf("change after Refund = %+v", c)
	}
	cancel()
	for {
		select {
		case c, ok := <-ch:
			if !ok {
				return
			}
			t.Errorf("unexpected change %+v", c)
		case <-wait.Done():
			t.Fatalf("channel not closed within %v of the context ending", patience)
		}
	}
}

// testDeleteOverruledPromoter: a deleted promoter's code leaves the
// attributions whose promo code overruled its link, and those whose link
// overruled its promo code, while their figures stay with the promoter
// credited.
func testDeleteOverruledPromoter(t *testing.T, h *env) {
	ctx := t.Context()
	savePromoter(t, h, tracklink.Promoter{Code: "ana", Name: "Ana", PromoCodes: []string{"ANA10"}})
	savePromoter(t, h, tracklink.Promoter{Code: "bob", Name: "Bob", PromoCodes: []string{"BOB5"}})
	o := tracklink.Order{ID: "ord-1", Session: sessionRef(999), Event: "ev", Currency: "EUR", PromoCode: "ANA10", At: base,
		Lines: []tracklink.Line{{Kind: tracklink.LinePrimary, Quantity: 1, UnitAmount: 1000}}}
	bobLink := promoterTouch("bob", "ev", base.Add(-time.Hour))
	// ana's code overrules bob's link; bob's link overrules ana's code
	record(t, h, tracklink.Attribute(o, &bobLink, nil, tracklink.AttributeOptions{PromoCodeOwner: "ana"}))
	o.ID = "ord-2"
	record(t, h, tracklink.Attribute(o, &bobLink, nil, tracklink.AttributeOptions{PromoCodeOwner: "ana", Precedence: tracklink.LinkFirst}))
	o.ID, o.PromoCode = "ord-3", "BOB5"
	social := sourceTouch(tracklink.ChannelSocial, "instagram", "ev", base.Add(-time.Hour))
	record(t, h, tracklink.Attribute(o, &social, nil, tracklink.AttributeOptions{PromoCodeOwner: "bob"}))

	if err := h.Ledger.DeletePromoter(ctx, "bob"); err != nil {
		t.Fatal(err)
	}
	for _, a := range orders(t, h, "ev") {
		for _, tt := range []tracklink.Touch{a.Touch, a.Overruled.Touch} {
			if strings.Contains(tt.Promoter+tt.Source+tt.Evidence, "bob") {
				t.Errorf("%s still names the deleted promoter: %+v (evidence %q)", a.OrderID, a, a.Evidence())
			}
		}
	}
	wantEvidence := map[string]string{
		"ord-1": "promo code ANA10 of promoter ana (overruled event touch: deleted promoter)",
		"ord-2": "event touch: deleted promoter (1h0m0s before the order) (overruled promo code ANA10 of promoter ana)",
		"ord-3": "promo code of a deleted promoter (overruled event touch: referrer www.instagram.com)",
	}
	for id, want := range wantEvidence {
		a, ok, err := h.Ledger.Attribution(ctx, id)
		if err != nil || !ok || a.Evidence() != want {
			t.Errorf("Attribution(%s).Evidence() = %q (%v, %v), want %q", id, a.Evidence(), ok, err, want)
		}
	}
	// ana keeps the figures of the order its code won
	wantPromoterStats(t, promoterStats(t, h, "ana"), "ana", counts(0, 1, 1, 0, "EUR", 1000),
		map[string]tracklink.Counts{"ev": counts(0, 1, 1, 0, "EUR", 1000)})
	// deleting again is not an error
	if err := h.Ledger.DeletePromoter(ctx, "bob"); err != nil {
		t.Fatal(err)
	}
}
