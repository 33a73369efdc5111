package webhook

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/tracklink/tracklink"
	"github.com/tracklink/tracklink/adapters/memstore"
	"github.com/tracklink/tracklink/adapters/redisstore"
	"github.com/tracklink/tracklink/internal/pgtest"
	"github.com/tracklink/tracklink/internal/redisstoretest"
	"github.com/tracklink/tracklink/internal/redistest"
)

// concurrencyStores are the stores TestConcurrentDeliveries runs on: the
// in-process store, a real Redis, a Redis Cluster (unique key prefix; the
// cluster from TRACKLINK_REDIS_CLUSTER, see redistest.Cluster), and the
// ledger on PostgreSQL behind memstore sessions (a schema of its own, see
// pgtest). Each says how many orders to deliver: on the miniredis
// fallback, which runs one command at a time (and slowly under -race), a
// quarter of them, as more orders there add minutes, not concurrency.
var concurrencyStores = []struct {
	name string
	new  func(t *testing.T) (s testStore, orders int)
}{
	{"memstore", func(t *testing.T) (testStore, int) { return memstore.New(), concurrentOrders }},
	{"redis", func(t *testing.T) (testStore, int) {
		rdb, mr := redistest.Client(t)
		n := concurrentOrders
		if mr != nil {
			n /= 4
		}
		return redisstoretest.New(rdb, redisstore.Options{Prefix: redistest.Prefix(t, rdb)}), n
	}},
	{"cluster", func(t *testing.T) (testStore, int) {
		rdb := redistest.Cluster(t)
		return redisstoretest.New(rdb, redisstore.Options{Prefix: redistest.Prefix(t, rdb)}), concurrentOrders
	}},
	{"postgres", func(t *testing.T) (testStore, int) { return pgtest.Composed(t), concurrentOrders }},
}

// concurrentOrders is how many orders TestConcurrentDeliveries delivers
// (200 with -short).
const concurrentOrders = 1000

// TestConcurrentDeliveries delivers 1,000 orders 5 times each and ~10%
// refunds 3 times each, shuffled (so a refund often arrives before its
// order) from concurrent goroutines, and checks that the aggregates equal
// exactly the unique non-refunded orders and that every order's hooks ran.
func TestConcurrentDeliveries(t *testing.T) {
	for _, st := range concurrencyStores {
		t.Run(st.name, func(t *testing.T) {
			s, n := st.new(t)
			if testing.Short() {
				n = min(n, 200)
			}
			testConcurrentDeliveries(t, s, n)
		})
	}
}

func testConcurrentDeliveries(t *testing.T, s testStore, n int) {
	const (
		copies     = 5
		refundCopy = 3
		workers    = 32
	)
	ctx := context.Background()
	now := time.Now().UTC().Truncate(time.Second)
	events := []string{"summer-fest", "winter-fest", "jazz-night"}

	// Sessions: i%4 == 0 came by ana's link for the order's event, 1 by
	// the newsletter campaign, 2 has no session, 3 has a session without
	// touches.
	for i := 0; i < n; i++ {
		ev := events[i%len(events)]
		var touch tracklink.Touch
		switch i % 4 {
		case 0:
			touch = tracklink.Touch{Channel: tracklink.ChannelPromoter, Source: "ana", Promoter: "ana", Event: ev, At: now.Add(-time.Hour), Evidence: "param promoter=ana"}
		case 1:
			touch = tracklink.Touch{Channel: tracklink.ChannelCampaign, Source: "newsletter", UTM: tracklink.UTM{Source: "newsletter"}, Event: ev, At: now.Add(-time.Hour), Evidence: "param utm_source=newsletter"}
		default:
			continue
		}
		if _, err := s.Stamp(ctx, tracklink.Stamp{Session: sessionN(i), Touch: touch, TTL: time.Hour}); err != nil {
			t.Fatal(err)
		}
	}

	type want struct{ orders, tickets, revenue int64 }
	wantKey := map[string]map[string]*want{} // event → key → figures
	wantAna := &want{}
	refunded := map[string]bool{}
	var bodies [][]byte
	for i := 0; i < n; i++ {
		id := fmt.Sprintf("ord_%04d", i)
		ev := events[i%len(events)]
		session := ""
		if i%4 != 2 {
			session = sessionN(i)
		}
		qty := 1 + i%5
		body := completedBody(id, session, ev, qty)
		for range copies {
			bodies = append(bodies, body)
		}
		if i%10 == 7 {
			refunded[id] = true
			for range refundCopy {
				bodies = append(bodies, refundedBody(id))
			}
			continue
		}
		key := "direct|direct"
		switch i % 4 {
		case 0:
			key = "promoter|ana"
			wantAna.orders++
			wantAna.tickets += int64(qty)
			wantAna.revenue += int64(qty) * 2500
		case 1:
			key = "campaign|newsletter"
		}
		if wantKey[ev] == nil {
			wantKey[ev] = map[string]*want{}
		}
		w := wantKey[ev][key]
		if w == nil {
			w = &want{}
			wantKey[ev][key] = w
		}
		w.orders++
		w.tickets += int64(qty)
		w.revenue += int64(qty) * 2500
	}
	rand.Shuffle(len(bodies), func(i, j int) { bodies[i], bodies[j] = bodies[j], bodies[i] })

	log := newHookLog()
	h, err := NewHandler(Config{Store: s, Provider: MustStandardWebhooks(stdSecretA), Hooks: log.hooks(), Now: func() time.Time { return now },
		StoreTimeout: patientStoreTimeout})
	if err != nil {
		t.Fatal(err)
	}
	work := make(chan []byte)
	var wg sync.WaitGroup
	var mu sync.Mutex
	codes := map[int]int{}
	for range workers {
		wg.Go(func() {
			for b := range work {
				w := serve(h, stdRequest(stdSecretA, now, b))
				// a 503 says another delivery runs the order's hook: the
				// provider comes back (here at once) until it is done
				for tries := 0; w.Code == http.StatusServiceUnavailable && tries < 1000; tries++ {
					time.Sleep(time.Millisecond)
					w = serve(h, stdRequest(stdSecretA, now, b))
				}
				mu.Lock()
				codes[w.Code]++
				mu.Unlock()
				if w.Code != http.StatusOK && w.Code != http.StatusAccepted {
					t.Errorf("status %d: %s", w.Code, trimmed(w))
				}
			}
		})
	}
	for _, b := range bodies {
		work <- b
	}
	close(work)
	wg.Wait()
	t.Logf("%d deliveries: %v", len(bodies), codes)

	// Aggregates equal the unique non-refunded orders, per event and key.
	for _, ev := range events {
		rows, err := s.EventTraffic(ctx, ev, "", "")
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]want{}
		for _, r := range rows {
			if r.Orders != 0 || r.Tickets != 0 || r.Revenue["EUR"] != 0 {
				got[r.Key] = want{r.Orders, r.Tickets, r.Revenue["EUR"]}
			}
			if r.Excluded != r.Orders {
				t.Errorf("%s %s: excluded %d, want %d (one resale line per order)", ev, r.Key, r.Excluded, r.Orders)
			}
		}
		if len(got) != len(wantKey[ev]) {
			t.Errorf("%s: keys %v, want %d keys", ev, got, len(wantKey[ev]))
		}
		for key, w := range wantKey[ev] {
			if got[key] != *w {
				t.Errorf("%s %s: got %+v, want %+v", ev, key, got[key], *w)
			}
		}
	}
	stats, err := s.PromoterStats(ctx, []string{"ana"})
	if err != nil {
		t.Fatal(err)
	}
	if tot := stats[0].Totals; tot.Orders != wantAna.orders || tot.Tickets != wantAna.tickets || tot.Revenue["EUR"] != wantAna.revenue {
		t.Errorf("ana: got %+v, want %+v", tot, *wantAna)
	}

	// Every order's hook ran (at least once), every refund's too.
	unique := func(kinds ...tracklink.HookKind) map[string]bool {
		log.mu.Lock()
		defer log.mu.Unlock()
		m := map[string]bool{}
		for _, k := range kinds {
			for _, id := range log.calls[k] {
				m[id] = true
			}
		}
		return m
	}
	if got := unique(tracklink.HookAttributed, tracklink.HookUnattributed); len(got) != n {
		t.Errorf("order hooks ran for %d orders, want %d", len(got), n)
	}
	gotRefunds := unique(tracklink.HookRefunded)
	if len(gotRefunds) != len(refunded) {
		t.Errorf("refund hooks ran for %d orders, want %d", len(gotRefunds), len(refunded))
	}
	for id := range gotRefunds {
		if !refunded[id] {
			t.Errorf("refund hook for %s, which was not refunded", id)
		}
	}
	// Every stored order is there once, refunded exactly when it should be.
	for i := 0; i < n; i++ {
		id := fmt.Sprintf("ord_%04d", i)
		a, ok, err := s.Attribution(ctx, id)
		if err != nil || !ok || a.Refunded != refunded[id] {
			t.Errorf("%s: %+v %v %v", id, a, ok, err)
		}
	}
}
