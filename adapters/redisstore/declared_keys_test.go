package redisstore

import (
	"testing"
	"time"

	"github.com/tracklink/tracklink"
)

// TestLinksIndexLegacy drops the event index of stored links, as on data
// written before it existed: the first Links(event) indexes them.
func TestLinksIndexLegacy(t *testing.T) {
	ctx := t.Context()
	ts := newTestStore(t, Options{})
	s := ts.Store
	for _, l := range []tracklink.Link{{ID: "l1", Event: "ev-a", UTM: tracklink.UTM{Source: "ig"}}, {ID: "l2", Event: "ev-b", UTM: tracklink.UTM{Source: "fb"}}} {
		if err := s.SaveLink(ctx, l); err != nil {
			t.Fatal(err)
		}
	}
	if err := ts.rdb.Del(ctx, s.linkEventKey("ev-a"), s.linkEventKey("ev-b"), s.linksIndexedKey()).Err(); err != nil {
		t.Fatal(err)
	}
	ls, err := s.Links(ctx, "ev-a")
	if err != nil || len(ls) != 1 || ls[0].ID != "l1" {
		t.Fatalf("Links(ev-a) after dropping the index: %+v, %v", ls, err)
	}
	if n := ts.rdb.Exists(ctx, s.linksIndexedKey(), s.linkEventKey("ev-b")).Val(); n != 2 {
		t.Fatalf("index marker and ev-b's index set: %d of 2 exist", n)
	}
	if ls, err := s.Links(ctx, "ev-b"); err != nil || len(ls) != 1 || ls[0].ID != "l2" {
		t.Fatalf("Links(ev-b): %+v, %v", ls, err)
	}
}

// TestLinkMovesEvent saves a link with Created set (the store does not
// read it first) onto another event, then deletes it: the index sets
// follow.
func TestLinkMovesEvent(t *testing.T) {
	ctx := t.Context()
	ts := newTestStore(t, Options{})
	s := ts.Store
	created := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	l := tracklink.Link{ID: "l1", Event: "ev-a", UTM: tracklink.UTM{Source: "ig"}, Created: created}
	if err := s.SaveLink(ctx, l); err != nil {
		t.Fatal(err)
	}
	l.Event = "ev-b"
	if err := s.SaveLink(ctx, l); err != nil {
		t.Fatal(err)
	}
	if ls, err := s.Links(ctx, "ev-a"); err != nil || len(ls) != 0 {
		t.Fatalf("Links(ev-a) after the move: %+v, %v", ls, err)
	}
	if ls, err := s.Links(ctx, "ev-b"); err != nil || len(ls) != 1 || ls[0].ID != "l1" {
		t.Fatalf("Links(ev-b) after the move: %+v, %v", ls, err)
	}
	if err := s.DeleteLink(ctx, "l1"); err != nil {
		t.Fatal(err)
	}
	if n := ts.rdb.Exists(ctx, s.linkEventKey("ev-a"), s.linkEventKey("ev-b")).Val(); n != 0 {
		t.Fatalf("index sets left after DeleteLink: %d", n)
	}
	if _, ok, err := s.Link(ctx, "l1"); err != nil || ok {
		t.Fatalf("Link after DeleteLink: %v, %v", ok, err)
	}
}

// TestSavePromoterMovesGroups replaces a promoter with Created set (the
// store does not read it first): its sales leave the old group's
// aggregates and join the new one's.
func TestSavePromoterMovesGroups(t *testing.T) {
	ctx := t.Context()
	ts := newTestStore(t, Options{})
	s := ts.Store
	at := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	p := tracklink.Promoter{Code: "ana", Name: "Ana", Groups: []string{"crew"}, Created: at}
	if err := s.SavePromoter(ctx, p); err != nil {
		t.Fatal(err)
	}
	touch := tracklink.Touch{Channel: tracklink.ChannelPromoter, Source: "ana", Promoter: "ana", Event: "ev", At: at, Evidence: "param promoter=ana"}
	if _, err := s.Record(ctx, tracklink.Attribution{OrderID: "o1", Event: "ev", Currency: "EUR", Tickets: 2, Revenue: 100, Touch: touch, Rule: tracklink.RuleEventTouch, At: at}); err != nil {
		t.Fatal(err)
	}
	p.Groups = []string{"team"}
	if err := s.SavePromoter(ctx, p); err != nil {
		t.Fatal(err)
	}
	crew, err := s.PromoterSummary(ctx, "crew")
	if err != nil || crew.Promoters != 0 || crew.Totals.Tickets != 0 {
		t.Fatalf("crew after the move: %+v, %v", crew, err)
	}
	team, err := s.PromoterSummary(ctx, "team")
	if err != nil || team.Promoters != 1 || team.Totals.Tickets != 2 {
		t.Fatalf("team after the move: %+v, %v", team, err)
	}
}

// TestStampKeepsOtherPromoter stamps, on a single node, a touch of bob on
// a session that keeps ana's first touch: the visit counts on ana.
func TestStampKeepsOtherPromoter(t *testing.T) {
	ctx := t.Context()
	ts := newTestStore(t, Options{})
	s := ts.Store
	for _, c := range []string{"ana", "bob"} {
		if err := s.SavePromoter(ctx, tracklink.Promoter{Code: c, Name: c}); err != nil {
			t.Fatal(err)
		}
	}
	day1 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	touch := func(code string, at time.Time) tracklink.Touch {
		return tracklink.Touch{Channel: tracklink.ChannelPromoter, Source: code, Promoter: code, Event: "ev", At: at, Evidence: "param promoter=" + code}
	}
	const sess = "abcdefghijklmnopqrstuv"
	if r, err := s.Stamp(ctx, tracklink.Stamp{Session: sess, Touch: touch("ana", day1), TTL: time.Hour, Model: tracklink.FirstTouch}); err != nil || !r.Counted {
		t.Fatalf("Stamp ana: %+v, %v", r, err)
	}
	r, err := s.Stamp(ctx, tracklink.Stamp{Session: sess, Touch: touch("bob", day1.Add(24*time.Hour)), TTL: time.Hour, Model: tracklink.FirstTouch})
	if err != nil || !r.Counted || r.Current.Promoter != "ana" {
		t.Fatalf("Stamp bob on ana's session: %+v, %v", r, err)
	}
	st, err := s.PromoterStats(ctx, []string{"ana", "bob"})
	if err != nil || len(st) != 2 || st[0].Totals.Visits != 2 || st[1].Totals.Visits != 0 {
		t.Fatalf("PromoterStats: %+v, %v", st, err)
	}
}
