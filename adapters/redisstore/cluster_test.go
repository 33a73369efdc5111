package redisstore

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/tracklink/tracklink"
	"github.com/tracklink/tracklink/internal/redistest"
	"github.com/tracklink/tracklink/tracklinktest"
)

// The tests in this file run on the shared Redis Cluster named by
// TRACKLINK_REDIS_CLUSTER (see internal/redistest.Cluster: skipped when it
// is unset, failing when CI is set).

func newClusterStore(tb testing.TB, opts Options) (*Store, *redis.ClusterClient) {
	tb.Helper()
	rdb := redistest.Cluster(tb)
	opts.Prefix = testPrefix(tb, rdb)
	return mustNew(rdb, opts), rdb
}

// TestStoreCluster runs the conformance suite on a Redis Cluster.
func TestStoreCluster(t *testing.T) {
	tracklinktest.TestStore(t, func(t *testing.T) tracklinktest.Harness {
		s, _ := newClusterStore(t, Options{MaxSources: testMaxSources})
		if !s.split {
			t.Fatal("a *redis.ClusterClient must take the split Stamp path")
		}
		return tracklinktest.Harness{Store: s, Advance: time.Sleep, Now: time.Now, MaxSources: testMaxSources}
	})
}

// slotErrHook records every command reply that says a command or script
// crossed slots or reached a key its node does not serve. Redis answers
// CROSSSLOT to a multi-key command over several slots and "Script attempted
// to access …" to a script that does; both are what a wrong hash tag looks
// like on a cluster.
type slotErrHook struct {
	mu   sync.Mutex
	errs []string
}

func (h *slotErrHook) check(cmds ...redis.Cmder) {
	for _, c := range cmds {
		err := c.Err()
		if err == nil {
			continue
		}
		msg := err.Error()
		if strings.Contains(msg, "CROSSSLOT") || strings.Contains(msg, "Script attempted to access") ||
			strings.Contains(msg, "non local key") {
			h.mu.Lock()
			h.errs = append(h.errs, c.Name()+": "+msg)
			h.mu.Unlock()
		}
	}
}

func (h *slotErrHook) DialHook(next redis.DialHook) redis.DialHook { return next }

func (h *slotErrHook) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		err := next(ctx, cmd)
		h.check(cmd)
		return err
	}
}

func (h *slotErrHook) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		err := next(ctx, cmds)
		h.check(cmds...)
		return err
	}
}

// TestClusterNoCrossSlot runs every Store and ReportStore method, from
// concurrent goroutines, on a cluster: promoter, campaign, referrer and
// site-wide landings, orders (some refunded, some before they were
// recorded), registry edits, a promoter deletion, and every query,
// including day ranges longer than EventTraffic reads day by day. No call
// may fail, and no command reply may be a slot error (checked by a client
// hook on every reply, not by MONITOR).
func TestClusterNoCrossSlot(t *testing.T) {
	s, rdb := newClusterStore(t, Options{})
	hook := &slotErrHook{}
	rdb.AddHook(hook)
	ctx := t.Context()
	now := time.Now().UTC()
	events := []string{"summer-fest", "winter-gala", "jazz-night", "rock-am-ring"}
	codes := []string{"ana", "bob", "cleo", "dee"}

	feed, err := s.Subscribe(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range codes {
		p := tracklink.Promoter{Code: c, Name: strings.ToUpper(c), Groups: []string{"street team"}, Events: events[:2], PromoCodes: []string{c + "10"}}
		if err := s.SavePromoter(ctx, p); err != nil {
			t.Fatal(err)
		}
	}
	for i, ev := range events {
		l := tracklink.Link{ID: fmt.Sprintf("l%d", i), Event: ev, Name: "News", UTM: tracklink.UTM{Source: "newsletter", Medium: "email"}}
		if err := s.SaveLink(ctx, l); err != nil {
			t.Fatal(err)
		}
	}

	touch := func(i int) tracklink.Touch {
		ev := events[i%len(events)]
		if i%7 == 6 {
			ev = "" // site-wide
		}
		at := now.Add(-time.Duration(i%3) * 24 * time.Hour)
		switch i % 4 {
		case 0:
			c := codes[i%len(codes)]
			return tracklink.Touch{Channel: tracklink.ChannelPromoter, Source: c, Promoter: c, Event: ev, At: at}
		case 1:
			return tracklink.Touch{Channel: tracklink.ChannelCampaign, Source: "newsletter", UTM: tracklink.UTM{Source: "newsletter"}, Event: ev, At: at}
		case 2:
			return tracklink.Touch{Channel: tracklink.ChannelSocial, Source: "instagram", Event: ev, At: at}
		}
		return tracklink.Touch{Channel: tracklink.ChannelDirect, Source: "direct", Event: ev, At: at}
	}
	const n = 400
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	fail := func(op string, err error) {
		if err != nil {
			select {
			case errs <- fmt.Errorf("%s: %w", op, err):
			default:
			}
		}
	}
	for w := range 16 {
		wg.Go(func() {
			for i := w; i < n; i += 16 {
				session := fmt.Sprintf("sess%018d", i)
				tc := touch(i)
				_, err := s.Stamp(ctx, tracklink.Stamp{Session: session, Touch: tc, TTL: time.Hour})
				fail("stamp", err)
				_, err = s.Stamp(ctx, tracklink.Stamp{Session: session, Touch: tc, TTL: time.Hour}) // a reload
				fail("stamp again", err)
				ev := tc.Event
				if ev == "" {
					ev = events[0]
				}
				_, _, err = s.Touches(ctx, session, ev)
				fail("touches", err)
				id := fmt.Sprintf("ord-%d", i)
				if i%10 == 3 {
					_, _, err = s.Refund(ctx, id, now) // before its order: a tombstone
					fail("early refund", err)
				}
				rule := tracklink.RuleEventTouch
				if tc.Event == "" {
					rule = tracklink.RuleSiteTouch
				}
				tc.Event = ev
				a := tracklink.Attribution{OrderID: id, Session: session, Event: ev, Currency: "EUR", Tickets: 1 + i%3, Revenue: 2500, Touch: tc, Rule: rule, At: tc.At}
				r, err := s.Record(ctx, a)
				fail("record", err)
				for _, k := range r.Pending {
					fail("ack", s.Ack(ctx, id, k))
				}
				if i%10 == 5 {
					_, _, err = s.Refund(ctx, id, now)
					fail("refund", err)
				}
				_, _, err = s.Attribution(ctx, id)
				fail("attribution", err)
				_, _, err = s.PromoterByPromoCode(ctx, "ANA10")
				fail("promo code", err)
			}
		})
	}
	// Registry edits and reads alongside.
	wg.Go(func() {
		for i := range 20 {
			fail("save group", s.SaveGroup(ctx, fmt.Sprintf("g%d", i)))
			fail("rename group", s.RenameGroup(ctx, "street team", "crew"))
			fail("rename group back", s.RenameGroup(ctx, "crew", "street team"))
			_, err := s.Promoters(ctx)
			fail("promoters", err)
			_, err = s.Groups(ctx)
			fail("groups", err)
			_, err = s.Links(ctx, "")
			fail("links", err)
			_, err = s.EventTraffic(ctx, events[i%len(events)], "", "")
			fail("traffic", err)
		}
	})
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}

	from, to := tracklink.Day(now.AddDate(0, 0, -3)), tracklink.Day(now)
	longFrom := tracklink.Day(now.AddDate(0, 0, -200))
	for _, ev := range append(events, "") {
		for _, r := range [][2]string{{"", ""}, {from, to}, {longFrom, to}} {
			if _, err := s.EventTraffic(ctx, ev, r[0], r[1]); err != nil {
				t.Errorf("EventTraffic(%q, %q, %q): %v", ev, r[0], r[1], err)
			}
		}
		if _, err := s.EventDays(ctx, ev, from, to); err != nil {
			t.Errorf("EventDays(%q): %v", ev, err)
		}
	}
	if _, err := s.PromoterStats(ctx, codes); err != nil {
		t.Error(err)
	}
	if _, err := s.PromoterDays(ctx, "ana", from, to); err != nil {
		t.Error(err)
	}
	orders := 0
	if err := s.Orders(ctx, "", func(tracklink.Attribution) error { orders++; return nil }); err != nil {
		t.Error(err)
	}
	if orders != n {
		t.Errorf("Orders walked %d orders, want %d", orders, n)
	}
	if err := s.Orders(ctx, events[1], func(tracklink.Attribution) error { return nil }); err != nil {
		t.Error(err)
	}
	if err := s.DeletePromoter(ctx, "bob"); err != nil {
		t.Error(err)
	}
	if err := s.DeleteGroup(ctx, "street team"); err != nil {
		t.Error(err)
	}
	if err := s.DeleteLink(ctx, "l0"); err != nil {
		t.Error(err)
	}
	select {
	case <-feed:
	case <-time.After(30 * time.Second): // generous: only a dead feed reaches it
		t.Error("the live feed saw no change")
	}
	hook.mu.Lock()
	defer hook.mu.Unlock()
	for _, e := range hook.errs {
		t.Errorf("slot error: %s", e)
	}
}

// TestClusterRoundTrips counts the client's round trips on a cluster (a
// hook on the ClusterClient sees each command sent alone and each pipeline
// once, however many nodes the pipeline spans): a Stamp that counts a new
// visit is the session script plus one pipeline that counts it (2), a
// reload is the session script alone (1), Record is one EVALSHA.
func TestClusterRoundTrips(t *testing.T) {
	s, rdb := newClusterStore(t, Options{})
	hook := &countHook{}
	rdb.AddHook(hook)
	ctx := t.Context()
	at := time.Now().UTC()
	touch := tracklink.Touch{Channel: tracklink.ChannelPromoter, Source: "ana", Promoter: "ana", Event: "ev", At: at}
	st := tracklink.Stamp{Session: "sess000000000000000001", Touch: touch, TTL: time.Hour}
	a := tracklink.Attribution{OrderID: "ord-1", Event: "ev", Currency: "EUR", Tickets: 1, Revenue: 100, Touch: touch, Rule: tracklink.RuleEventTouch, At: at}

	// Warm every node's script cache: the first EVALSHA on a node may
	// fall back to EVAL.
	warm := st
	warm.Session = "sess000000000000000000"
	if _, err := s.Stamp(ctx, warm); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Record(ctx, tracklink.Attribution{OrderID: "ord-0", Event: "ev", Currency: "EUR", Touch: touch, Rule: tracklink.RuleEventTouch, At: at}); err != nil {
		t.Fatal(err)
	}
	hook.reset()
	if r, err := s.Stamp(ctx, st); err != nil || !r.Counted {
		t.Fatalf("Stamp (new visit): %+v, %v", r, err)
	}
	hook.want(t, "Stamp (new promoter visit)", 2, "evalsha", "pipeline:evalsha", "pipeline:evalsha")

	hook.reset()
	if r, err := s.Stamp(ctx, st); err != nil || r.Counted {
		t.Fatalf("Stamp (reload): %+v, %v", r, err)
	}
	hook.want(t, "Stamp (reload)", 1, "evalsha")

	hook.reset()
	other := st
	other.Session = "sess000000000000000002"
	other.Touch = tracklink.Touch{Channel: tracklink.ChannelSocial, Source: "instagram", Event: "ev", At: at}
	if r, err := s.Stamp(ctx, other); err != nil || !r.Counted {
		t.Fatalf("Stamp (new referrer visit): %+v, %v", r, err)
	}
	hook.want(t, "Stamp (new referrer visit)", 2, "evalsha", "pipeline:evalsha")

	hook.reset()
	if r, err := s.Record(ctx, a); err != nil || !r.Applied {
		t.Fatalf("Record: %+v, %v", r, err)
	}
	hook.want(t, "Record", 1, "evalsha")

	hook.reset()
	if r, err := s.Record(ctx, a); err != nil || r.Applied {
		t.Fatalf("duplicate Record: %+v, %v", r, err)
	}
	hook.want(t, "duplicate Record", 1, "evalsha")

	hook.reset()
	if _, _, err := s.Touches(ctx, st.Session, "ev"); err != nil {
		t.Fatal(err)
	}
	hook.want(t, "Touches", 1, "hmget")
}

// TestClusterNoScriptCountsOnce: a counted visit on a cluster pipelines two
// scripts to two nodes (the event's counters, the promoter's figures). When
// only one node lacks its script (a replica just promoted, a node added, a
// SCRIPT FLUSH), only that call may run again: re-running the whole
// pipeline would count the visit twice on the other node.
func TestClusterNoScriptCountsOnce(t *testing.T) {
	s, rdb := newClusterStore(t, Options{})
	ctx := t.Context()
	at := time.Now().UTC()
	oNode, err := rdb.MasterForKey(ctx, s.orderBase)
	if err != nil {
		t.Fatal(err)
	}
	// An event whose counters live on another node than the order side.
	ev := ""
	for i := range 100 {
		cand := fmt.Sprintf("ev-%d", i)
		n, err := rdb.MasterForKey(ctx, s.eventTag(cand))
		if err != nil {
			t.Fatal(err)
		}
		if n.Options().Addr != oNode.Options().Addr {
			ev = cand
			break
		}
	}
	if ev == "" {
		t.Fatal("every event hashes to the order side's node")
	}
	stamp := func(i int, tc tracklink.Touch) {
		t.Helper()
		tc.Event, tc.At = ev, at
		r, err := s.Stamp(ctx, tracklink.Stamp{Session: fmt.Sprintf("sess%018d", i), Touch: tc, TTL: time.Hour})
		if err != nil || !r.Counted {
			t.Fatalf("Stamp: %+v, %v", r, err)
		}
	}
	// Only a registered promoter's visits count on its own figures.
	if err := s.SavePromoter(ctx, tracklink.Promoter{Code: "ana", Name: "Ana"}); err != nil {
		t.Fatal(err)
	}
	// Cache both scripts where they run.
	stamp(1, tracklink.Touch{Channel: tracklink.ChannelPromoter, Source: "ana", Promoter: "ana"})
	// The order side's node forgets its scripts; the event's node keeps them.
	if err := oNode.ScriptFlush(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	stamp(2, tracklink.Touch{Channel: tracklink.ChannelPromoter, Source: "ana", Promoter: "ana"})

	rows, err := s.EventTraffic(ctx, ev, "", "")
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 1 || rows[0].Key != "promoter|ana" || rows[0].Visits != 2 {
		t.Errorf("EventTraffic = %+v, want 2 visits for promoter|ana", rows)
	}
	stats, err := s.PromoterStats(ctx, []string{"ana"})
	if err != nil {
		t.Fatal(err)
	}
	if v := stats[0].Totals.Visits; v != 2 {
		t.Errorf("ana's visits = %d, want 2", v)
	}
}
