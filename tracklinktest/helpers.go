package tracklinktest

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tracklink/tracklink"
)

// longTTL is the TTL of stamps in subtests that do not test expiry.
const longTTL = time.Hour

// sessionRef returns a valid, distinct session reference for n.
func sessionRef(n int) string {
	return fmt.Sprintf("sess%018d", n)
}

// base is a fixed day the subtests that do not depend on the store's clock
// count under, so day buckets are predictable. Stamp and Record count under
// the day of Touch.At and Attribution.At, not the store's clock.
var base = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

const (
	day0 = "2026-03-01"
	day1 = "2026-03-02"
	day2 = "2026-03-03"
)

// now returns the harness's time with its monotonic reading stripped.
func now(h *env) time.Time { return h.Now().Round(0) }

func promoterTouch(code, event string, at time.Time) tracklink.Touch {
	return tracklink.Touch{
		Channel: tracklink.ChannelPromoter, Source: code, Promoter: code,
		Event: event, Path: "/events/" + event, At: at, Evidence: "param promoter=" + code,
	}
}

func campaignTouch(source, event string, at time.Time) tracklink.Touch {
	return tracklink.Touch{
		Channel: tracklink.ChannelCampaign, Source: source,
		UTM:   tracklink.UTM{Source: source, Medium: "email", Campaign: "spring"},
		Event: event, At: at, Evidence: "param utm_source=" + source,
	}
}

func sourceTouch(ch tracklink.Channel, source, event string, at time.Time) tracklink.Touch {
	return tracklink.Touch{
		Channel: ch, Source: source, ReferrerHost: "www." + source + ".com",
		Event: event, At: at, Evidence: "referrer www." + source + ".com",
	}
}

func directTouch(event string, at time.Time) tracklink.Touch {
	return tracklink.Touch{
		Channel: tracklink.ChannelDirect, Source: "direct", Event: event, At: at,
		Evidence: "Sec-Fetch-Site none",
	}
}

func platformTouch(event string, at time.Time) tracklink.Touch {
	return tracklink.Touch{
		Channel: tracklink.ChannelPlatform, Source: "platform", ReferrerHost: "tickets.example",
		Event: event, At: at, Evidence: "referrer tickets.example",
	}
}

// stamp stamps t for session under model with ttl and fails the test on error.
func stamp(t *testing.T, h *env, session string, touch tracklink.Touch, m tracklink.Model, ttl time.Duration) tracklink.StampResult {
	t.Helper()
	r, err := h.Sessions.Stamp(t.Context(), tracklink.Stamp{Session: session, Touch: touch, Model: m, TTL: ttl})
	if err != nil {
		t.Fatalf("Stamp(%s, %s): %v", session, touch.Key(), err)
	}
	return r
}

// visit counts one visit of touch from a fresh session: by stamping it (an
// all-in-one store; the stamp must count under the touch's key) or with
// CountVisits.
func visit(t *testing.T, h *env, session string, touch tracklink.Touch) {
	t.Helper()
	if h.StampCounts {
		stampWant(t, h, session, touch, tracklink.LastTouch, touch.Key(), true)
		return
	}
	v := tracklink.VisitCount{Event: touch.Event, Day: tracklink.Day(touch.At), Key: touch.Key(), Promoter: touch.PromoterCode(), N: 1}
	if err := h.Counter.CountVisits(t.Context(), []tracklink.VisitCount{v}); err != nil {
		t.Fatalf("CountVisits(%+v): %v", v, err)
	}
}

// stampWant stamps and checks the merged touch's key and Counted.
func stampWant(t *testing.T, h *env, session string, touch tracklink.Touch, m tracklink.Model, wantKey string, wantCounted bool) {
	t.Helper()
	r := stamp(t, h, session, touch, m, longTTL)
	if r.Current.Key() != wantKey || r.Counted != wantCounted {
		t.Errorf("Stamp(%s on %q): Current %s Counted %v, want %s Counted %v",
			touch.Key(), touch.Event, r.Current.Key(), r.Counted, wantKey, wantCounted)
	}
}

// touchEqual compares touches field by field, times with Equal.
func touchEqual(a, b tracklink.Touch) bool {
	at, bt := a.At, b.At
	a.At, b.At = time.Time{}, time.Time{}
	return a == b && at.Equal(bt)
}

func attributionEqual(a, b tracklink.Attribution) bool {
	if !touchEqual(a.Touch, b.Touch) || !touchEqual(a.Overruled.Touch, b.Overruled.Touch) ||
		!a.At.Equal(b.At) || !a.RefundedAt.Equal(b.RefundedAt) {
		return false
	}
	a.Touch, b.Touch = tracklink.Touch{}, tracklink.Touch{}
	a.Overruled.Touch, b.Overruled.Touch = tracklink.Touch{}, tracklink.Touch{}
	a.At, b.At = time.Time{}, time.Time{}
	a.RefundedAt, b.RefundedAt = time.Time{}, time.Time{}
	return a == b
}

func touches(t *testing.T, h *env, session, event string) (ev, site *tracklink.Touch) {
	t.Helper()
	ev, site, err := h.Sessions.Touches(t.Context(), session, event)
	if err != nil {
		t.Fatalf("Touches(%s, %q): %v", session, event, err)
	}
	return ev, site
}

func keyOf(p *tracklink.Touch) string {
	if p == nil {
		return "<nil>"
	}
	return p.Key()
}

// wantTouches checks the keys of the session's event and site-wide touches
// ("<nil>" for absent).
func wantTouches(t *testing.T, h *env, session, event, wantEvent, wantSite string) {
	t.Helper()
	ev, site := touches(t, h, session, event)
	if keyOf(ev) != wantEvent || keyOf(site) != wantSite {
		t.Errorf("Touches(%s, %q) = %s, %s; want %s, %s", session, event, keyOf(ev), keyOf(site), wantEvent, wantSite)
	}
}

// order builds an attribution of a paid order credited to touch.
func order(id, event string, touch tracklink.Touch, tickets, excluded int, revenue int64, currency string, at time.Time) tracklink.Attribution {
	rule := tracklink.RuleEventTouch
	if touch.Channel == tracklink.ChannelDirect && touch.Evidence == "no touch" {
		rule = tracklink.RuleNoTouch
	}
	touch.Event = event
	a := tracklink.Attribution{
		OrderID: id, Event: event, Session: sessionRef(999), Currency: currency,
		Tickets: tickets, Excluded: excluded, Revenue: revenue,
		Touch: touch, Rule: rule, At: at,
	}
	if !touch.At.IsZero() && at.After(touch.At) {
		a.TouchAge = at.Sub(touch.At)
	}
	return a
}

// noTouch is the touch of an order credited to direct for want of one.
func noTouch(event string) tracklink.Touch {
	return tracklink.Touch{Channel: tracklink.ChannelDirect, Source: "direct", Event: event, Evidence: "no touch"}
}

func record(t *testing.T, h *env, a tracklink.Attribution) tracklink.Record {
	t.Helper()
	r, err := h.Ledger.Record(t.Context(), a)
	if err != nil {
		t.Fatalf("Record(%s): %v", a.OrderID, err)
	}
	return r
}

func refund(t *testing.T, h *env, id string, at time.Time) (tracklink.Record, bool) {
	t.Helper()
	r, ok, err := h.Ledger.Refund(t.Context(), id, at)
	if err != nil {
		t.Fatalf("Refund(%s): %v", id, err)
	}
	return r, ok
}

func ack(t *testing.T, h *env, id string, kind tracklink.HookKind) {
	t.Helper()
	if err := h.Ledger.Ack(t.Context(), id, kind); err != nil {
		t.Fatalf("Ack(%s, %s): %v", id, kind, err)
	}
}

// wantPending compares a Record's outbox as a set.
func wantPending(t *testing.T, what string, got []tracklink.HookKind, want ...tracklink.HookKind) {
	t.Helper()
	g, w := slices.Clone(got), slices.Clone(want)
	slices.Sort(g)
	slices.Sort(w)
	if !slices.Equal(g, w) {
		t.Errorf("%s: Pending %v, want %v", what, got, want)
	}
}

// counts is a short way to write expected figures.
func counts(visits, orders, tickets, excluded int64, revenue ...any) tracklink.Counts {
	c := tracklink.Counts{Visits: visits, Orders: orders, Tickets: tickets, Excluded: excluded}
	for i := 0; i+1 < len(revenue); i += 2 {
		if c.Revenue == nil {
			c.Revenue = map[string]int64{}
		}
		c.Revenue[revenue[i].(string)] += int64(revenue[i+1].(int))
	}
	return c
}

// revenueOf drops zero amounts, so nil, empty and all-zero compare equal.
func revenueOf(c tracklink.Counts) map[string]int64 {
	m := map[string]int64{}
	for cur, v := range c.Revenue {
		if v != 0 {
			m[cur] = v
		}
	}
	return m
}

func countsEqual(a, b tracklink.Counts) bool {
	return a.Visits == b.Visits && a.Orders == b.Orders && a.Tickets == b.Tickets &&
		a.Excluded == b.Excluded && maps.Equal(revenueOf(a), revenueOf(b))
}

func isZero(c tracklink.Counts) bool { return countsEqual(c, tracklink.Counts{}) }

func fmtCounts(c tracklink.Counts) string {
	var cur []string
	for _, k := range slices.Sorted(maps.Keys(revenueOf(c))) {
		cur = append(cur, fmt.Sprintf("%s %d", k, c.Revenue[k]))
	}
	return fmt.Sprintf("{visits %d orders %d tickets %d excluded %d revenue [%s]}",
		c.Visits, c.Orders, c.Tickets, c.Excluded, strings.Join(cur, ", "))
}

// src is one expected EventTraffic row.
type src struct {
	key string
	tracklink.Counts
}

// wantTraffic checks EventTraffic: exactly the rows in want (all-zero rows
// the store returns are ignored), in order (visits descending, then key),
// with Channel and Source matching the key.
func wantTraffic(t *testing.T, h *env, event, from, to string, want ...src) {
	t.Helper()
	got, err := h.Ledger.EventTraffic(t.Context(), event, from, to)
	if err != nil {
		t.Fatalf("EventTraffic(%q, %q, %q): %v", event, from, to, err)
	}
	var rows []tracklink.SourceCounts
	for _, r := range got {
		if !isZero(r.Counts) {
			rows = append(rows, r)
		}
	}
	var gs, ws []string
	for _, r := range rows {
		gs = append(gs, r.Key+" "+fmtCounts(r.Counts))
	}
	for _, w := range want {
		ws = append(ws, w.key+" "+fmtCounts(w.Counts))
	}
	if !slices.Equal(gs, ws) {
		t.Errorf("EventTraffic(%q, %q, %q):\n got  %s\n want %s", event, from, to,
			strings.Join(gs, "\n      "), strings.Join(ws, "\n      "))
	}
	for _, r := range rows {
		if r.Key != string(r.Channel)+"|"+r.Source {
			t.Errorf("EventTraffic(%q): row %q has channel %q, source %q", event, r.Key, r.Channel, r.Source)
		}
	}
}

// wantDays checks a daily series (EventDays or PromoterDays).
func wantDays(t *testing.T, what string, got []tracklink.DayCounts, err error, want ...tracklink.DayCounts) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	var gs, ws []string
	for _, d := range got {
		gs = append(gs, d.Day+" "+fmtCounts(d.Counts))
	}
	for _, d := range want {
		ws = append(ws, d.Day+" "+fmtCounts(d.Counts))
	}
	if !slices.Equal(gs, ws) {
		t.Errorf("%s:\n got  %s\n want %s", what, strings.Join(gs, "\n      "), strings.Join(ws, "\n      "))
	}
}

func dc(day string, c tracklink.Counts) tracklink.DayCounts {
	return tracklink.DayCounts{Day: day, Counts: c}
}

// promoterStats returns PromoterStats of one code.
func promoterStats(t *testing.T, h *env, code string) tracklink.PromoterStats {
	t.Helper()
	ps, err := h.Ledger.PromoterStats(t.Context(), []string{code})
	if err != nil {
		t.Fatalf("PromoterStats(%q): %v", code, err)
	}
	if len(ps) != 1 {
		t.Fatalf("PromoterStats(%q) returned %d entries, want 1", code, len(ps))
	}
	return ps[0]
}

// wantPromoterStats checks a promoter's totals and per-event figures
// (events whose figures are all zero are ignored).
func wantPromoterStats(t *testing.T, got tracklink.PromoterStats, code string, total tracklink.Counts, events map[string]tracklink.Counts) {
	t.Helper()
	if got.Code != code {
		t.Errorf("PromoterStats: Code %q, want %q", got.Code, code)
	}
	if !countsEqual(got.Totals, total) {
		t.Errorf("PromoterStats(%s).Totals = %s, want %s", code, fmtCounts(got.Totals), fmtCounts(total))
	}
	for ev, c := range got.Events {
		if isZero(c) {
			continue
		}
		if w, ok := events[ev]; !ok || !countsEqual(c, w) {
			t.Errorf("PromoterStats(%s).Events[%q] = %s, want %s", code, ev, fmtCounts(c), fmtCounts(w))
		}
	}
	for ev, w := range events {
		if c := got.Events[ev]; !countsEqual(c, w) {
			t.Errorf("PromoterStats(%s).Events[%q] = %s, want %s", code, ev, fmtCounts(c), fmtCounts(w))
		}
	}
}

// orders lists Orders(event).
func orders(t *testing.T, h *env, event string) []tracklink.Attribution {
	t.Helper()
	var as []tracklink.Attribution
	err := h.Ledger.Orders(t.Context(), event, func(a tracklink.Attribution) error {
		as = append(as, a)
		return nil
	})
	if err != nil {
		t.Fatalf("Orders(%q): %v", event, err)
	}
	return as
}

func orderIDs(as []tracklink.Attribution) []string {
	ids := make([]string, len(as))
	for i, a := range as {
		ids[i] = a.OrderID
	}
	return ids
}

func sortedSet(s []string) []string {
	s = slices.Clone(s)
	slices.Sort(s)
	return slices.Compact(s)
}
