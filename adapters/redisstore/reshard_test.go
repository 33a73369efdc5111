package redisstore

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/tracklink/tracklink"
	"github.com/tracklink/tracklink/internal/redistest"
)

// TestReshardOrderSlot migrates the {o} slot from its master to another,
// key by key as `redis-cli --cluster reshard` does (SETSLOT IMPORTING and
// MIGRATING, MIGRATE … KEYS one key at a time, SETSLOT NODE), while orders
// and refunds flow and are retried as a provider retries (every error,
// until success), while a promoter's groups and a link's event are edited
// back and forth. Scripts that meet the migration are refused whole
// (TRYAGAIN, or ASK and run on the new node), never half-applied: the
// totals are exact afterwards, every order counted once and every refund
// reversed once, and the group aggregates and link index sets match the
// last edits.
func TestReshardOrderSlot(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a private Redis Cluster")
	}
	seeds, _ := redistest.StartCluster(t, false)
	rdb := redistest.NewClusterClient(t, seeds)
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
	defer cancel()
	s := mustNew(rdb, Options{Prefix: "drill:"})
	at := time.Now().UTC()

	if err := s.SavePromoter(ctx, tracklink.Promoter{Code: "ana", Name: "Ana", Groups: []string{"crew"}}); err != nil {
		t.Fatal(err)
	}
	const n = 300
	ana := tracklink.Touch{Channel: tracklink.ChannelPromoter, Source: "ana", Promoter: "ana", Event: "ev", At: at}
	direct := tracklink.Touch{Channel: tracklink.ChannelDirect, Source: "direct", Event: "ev", Evidence: "no touch"}
	orderOf := func(i int) tracklink.Attribution {
		a := tracklink.Attribution{OrderID: fmt.Sprintf("ord-%03d", i), Event: "ev", Currency: "EUR",
			Tickets: 1 + i%3, Revenue: int64(1000 * (1 + i%5)), Touch: direct, Rule: tracklink.RuleNoTouch, At: at}
		if i%2 == 0 {
			a.Touch, a.Rule = ana, tracklink.RuleEventTouch
		}
		return a
	}
	refunded := func(i int) bool { return i%3 == 0 }

	var errs atomic.Int64
	retry := func(what string, f func() error) {
		for {
			err := f()
			if err == nil {
				return
			}
			errs.Add(1)
			if ctx.Err() != nil {
				t.Errorf("%s: still failing at the deadline: %v", what, err)
				return
			}
			time.Sleep(2 * time.Millisecond)
		}
	}

	// the nodes: the slot's owner and another master
	slot, err := rdb.ClusterKeySlot(ctx, s.orderBase).Result()
	if err != nil {
		t.Fatal(err)
	}
	var src, dst *redis.Client
	ids := map[*redis.Client]string{}
	var masters []*redis.Client
	for _, addr := range seeds {
		c := redis.NewClient(&redis.Options{Addr: addr})
		defer c.Close()
		id, err := c.Do(ctx, "CLUSTER", "MYID").Text()
		if err != nil {
			t.Fatal(err)
		}
		ids[c] = id
		masters = append(masters, c)
	}
	owner, err := rdb.MasterForKey(ctx, s.orderBase)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range masters {
		if c.Options().Addr == owner.Options().Addr {
			src = c
		} else if dst == nil {
			dst = c
		}
	}
	if src == nil || dst == nil {
		t.Fatalf("cannot find the slot's owner %s among %v", owner.Options().Addr, seeds)
	}

	// half the orders go in before the migration
	for i := range n / 2 {
		retry("record", func() error { _, err := s.Record(ctx, orderOf(i)); return err })
	}

	var wg sync.WaitGroup
	// the provider: the other orders, and every refund, while the slot moves
	wg.Go(func() {
		for i := n / 2; i < n; i++ {
			retry("record", func() error { _, err := s.Record(ctx, orderOf(i)); return err })
		}
	})
	wg.Go(func() {
		for i := range n {
			if refunded(i) {
				retry("refund", func() error {
					_, _, err := s.Refund(tracklink.WithDelivery(ctx, tracklink.NewDeliveryToken()), orderOf(i).OrderID, at)
					return err
				})
			}
		}
	})
	// redeliveries of orders already in
	wg.Go(func() {
		for i := range n / 2 {
			retry("redeliver", func() error { _, err := s.Record(ctx, orderOf(i)); return err })
		}
	})

	// registry edits while the slot moves: ana's groups and a link's event
	// go back and forth, each Save re-sent with the stored data's keys
	created := at.Add(-time.Hour)
	const edits = 40
	wg.Go(func() {
		for i := range edits {
			groups := []string{"crew"}
			if i%2 == 1 {
				groups = append(groups, "team")
			}
			p := tracklink.Promoter{Code: "ana", Name: "Ana", Groups: groups, Created: created}
			retry("save promoter", func() error { return s.SavePromoter(ctx, p) })
			time.Sleep(2 * time.Millisecond)
		}
	})
	wg.Go(func() {
		for i := range edits {
			l := tracklink.Link{ID: "l1", Event: "ev-a", UTM: tracklink.UTM{Source: "ig"}, Created: created}
			if i%2 == 1 {
				l.Event = "ev-b"
			}
			retry("save link", func() error { return s.SaveLink(ctx, l) })
			time.Sleep(2 * time.Millisecond)
		}
	})

	// the migration, key by key
	dstHost, dstPort, _ := strings.Cut(dst.Options().Addr, ":")
	must := func(c *redis.Client, args ...any) {
		if err := c.Do(ctx, args...).Err(); err != nil {
			t.Fatalf("%v on %s: %v", args, c.Options().Addr, err)
		}
	}
	must(dst, "CLUSTER", "SETSLOT", slot, "IMPORTING", ids[src])
	must(src, "CLUSTER", "SETSLOT", slot, "MIGRATING", ids[dst])
	moved := 0
	for {
		keys, err := src.ClusterGetKeysInSlot(ctx, int(slot), 1).Result()
		if err != nil {
			t.Fatal(err)
		}
		if len(keys) == 0 {
			break
		}
		port, _ := strconv.Atoi(dstPort)
		if err := src.Do(ctx, "MIGRATE", dstHost, port, "", 0, 5000, "KEYS", keys[0]).Err(); err != nil && !strings.Contains(err.Error(), "NOKEY") {
			t.Fatalf("MIGRATE %s: %v", keys[0], err)
		}
		moved++
		time.Sleep(time.Millisecond) // let the writers meet the half-moved slot
	}
	for _, c := range masters {
		must(c, "CLUSTER", "SETSLOT", slot, "NODE", ids[dst])
	}
	rdb.ReloadState(ctx)
	wg.Wait()
	t.Logf("moved %d keys; %d store calls failed and were retried", moved, errs.Load())
	if moved < 10 {
		t.Fatalf("moved only %d keys", moved)
	}

	// exact totals
	var want, wantAna tracklink.Counts
	for i := range n {
		if refunded(i) {
			continue
		}
		a := orderOf(i)
		for _, c := range []*tracklink.Counts{&want, &wantAna} {
			if c == &wantAna && i%2 != 0 {
				continue
			}
			c.Orders++
			c.Tickets += int64(a.Tickets)
			if c.Revenue == nil {
				c.Revenue = map[string]int64{}
			}
			c.Revenue["EUR"] += a.Revenue
		}
	}
	rows, err := s.EventTraffic(ctx, "ev", "", "")
	if err != nil {
		t.Fatal(err)
	}
	var got tracklink.Counts
	for _, r := range rows {
		got.Orders += r.Counts.Orders
		got.Tickets += r.Counts.Tickets
		for cur, v := range r.Counts.Revenue {
			if got.Revenue == nil {
				got.Revenue = map[string]int64{}
			}
			got.Revenue[cur] += v
		}
	}
	if got.Orders != want.Orders || got.Tickets != want.Tickets || got.Revenue["EUR"] != want.Revenue["EUR"] {
		t.Errorf("event totals %d orders, %d tickets, %d EUR; want %d, %d, %d",
			got.Orders, got.Tickets, got.Revenue["EUR"], want.Orders, want.Tickets, want.Revenue["EUR"])
	}
	sum, err := s.PromoterSummary(ctx, "crew")
	if err != nil {
		t.Fatal(err)
	}
	if sum.Totals.Orders != wantAna.Orders || sum.Totals.Tickets != wantAna.Tickets || sum.Totals.Revenue["EUR"] != wantAna.Revenue["EUR"] {
		t.Errorf("group crew %+v; want %d orders, %d tickets, %d EUR", sum.Totals, wantAna.Orders, wantAna.Tickets, wantAna.Revenue["EUR"])
	}
	// the last edits put ana in team and l1 on ev-b
	team, err := s.PromoterSummary(ctx, "team")
	if err != nil {
		t.Fatal(err)
	}
	if team.Promoters != 1 || team.Totals.Orders != wantAna.Orders || team.Totals.Tickets != wantAna.Tickets || team.Totals.Revenue["EUR"] != wantAna.Revenue["EUR"] {
		t.Errorf("group team %+v; want 1 promoter, %d orders, %d tickets, %d EUR", team, wantAna.Orders, wantAna.Tickets, wantAna.Revenue["EUR"])
	}
	for ev, want := range map[string]int{"ev-a": 0, "ev-b": 1} {
		if ls, err := s.Links(ctx, ev); err != nil || len(ls) != want {
			t.Errorf("Links(%s): %d links, %v; want %d", ev, len(ls), err, want)
		}
	}
	for i := range n {
		a, ok, err := s.Attribution(ctx, orderOf(i).OrderID)
		if err != nil || !ok || a.Refunded != refunded(i) {
			t.Errorf("order %d: ok %v, refunded %v, %v; want true, %v", i, ok, a.Refunded, err, refunded(i))
		}
	}
}
