package scaletest

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/tracklink/tracklink"
	"github.com/tracklink/tracklink/adapters/redisstore"
	"github.com/tracklink/tracklink/internal/redistest"
	"github.com/tracklink/tracklink/webhook/webhooktest"
)

// TestFailoverDrill kills (SIGKILL) the master holding the order side's
// slot of a private 3 × 2 cluster while visitors land on event pages and
// check out, and the payment provider delivers their order webhooks (a
// third of them twice). The app uses redisstore.RecommendedOptions, as
// production would. It asserts that:
//
//   - every page answers 200 with the same body throughout (fail open);
//   - webhooks answer only 200 or 503 (503 while the order slot is down),
//     and some did answer 503, so the drill hit the outage;
//   - the replica is promoted (cluster_state:ok, the slot has a new
//     master) within a bounded wait;
//   - the provider's retries of the 503s then complete, and every order is
//     recorded exactly once: the event's totals equal the unique orders and
//     their tickets, and each order's hook ran.
func TestFailoverDrill(t *testing.T) {
	if testing.Short() {
		t.Skip("failover drill: starts a private cluster")
	}
	seeds, nodes := redistest.StartCluster(t, true)
	rdb := redis.NewUniversalClient(redisstore.RecommendedOptions(seeds...))
	t.Cleanup(func() { rdb.Close() })
	cluster := rdb.(*redis.ClusterClient)
	ctx := t.Context()
	prefix := redistest.Prefix(t, cluster)
	secret := webhooktest.NewStandardWebhookSecret()
	var absorbed atomic.Int64
	app := newApp(t, "app", rdb, appConfig{
		secret: secret, prefix: prefix,
		storeTimeout: 300 * time.Millisecond, cooldown: 250 * time.Millisecond,
		onError: func(error) { absorbed.Add(1) },
	})

	// The master of the order side's slot, and its replica.
	orderMaster, err := cluster.MasterForKey(ctx, prefix+"{o}:")
	if err != nil {
		t.Fatal(err)
	}
	var victim redistest.ClusterNode
	for _, n := range nodes {
		if n.Addr == orderMaster.Options().Addr {
			victim = n
		}
	}
	if victim.Addr == "" {
		t.Fatalf("master %s is not one of %v", orderMaster.Options().Addr, nodes)
	}
	var survivor string // a master that stays up, to ask for cluster info
	for _, n := range nodes[:3] {
		if n.Addr != victim.Addr {
			survivor = n.Addr
			break
		}
	}

	const (
		visitors    = 6
		duplicateOf = 3 // every third order is delivered twice
	)
	runFor := 6 * time.Second
	killAt := 1500 * time.Millisecond
	start := time.Now()
	stop := make(chan struct{})

	var (
		mu      sync.Mutex
		pages   = map[int]int{}
		badBody int
		codes   = map[int]int{}
		orders  = map[string]int{} // order id → tickets
	)
	// The provider: delivers each order, retries 503s every 100 ms until
	// 200 or a deadline well past the failover.
	deliveries := make(chan delivery, 4096)
	var provider sync.WaitGroup
	deliver := func(d delivery) {
		deadline := time.Now().Add(25 * time.Second)
		for {
			w := httptest.NewRecorder()
			app.handler.ServeHTTP(w, d.request(""))
			mu.Lock()
			codes[w.Code]++
			mu.Unlock()
			switch {
			case w.Code == http.StatusOK:
				return
			case w.Code != http.StatusServiceUnavailable:
				t.Errorf("webhook %s: %d %s", d.orderID, w.Code, strings.TrimSpace(w.Body.String()))
				return
			case time.Now().After(deadline):
				t.Errorf("webhook %s: still 503 after 25 s", d.orderID)
				return
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	for range 8 {
		provider.Go(func() {
			for d := range deliveries {
				deliver(d)
			}
		})
	}

	// Visitors: land (a promoter, a campaign or a referrer), check out.
	var visits sync.WaitGroup
	var seq atomic.Int64
	for v := range visitors {
		visits.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				i := int(seq.Add(1))
				url := "/events/summer-fest"
				switch i % 3 {
				case 0:
					url += "?promoter=ana"
				case 1:
					url += "?utm_source=newsletter"
				}
				req := landing(url)
				if i%3 == 2 {
					req.Header.Set("Referer", "https://l.instagram.com/")
				}
				w := httptest.NewRecorder()
				app.handler.ServeHTTP(w, req)
				mu.Lock()
				pages[w.Code]++
				if w.Body.String() != eventPage {
					badBody++
				}
				mu.Unlock()
				id := fmt.Sprintf("ord_%d_%05d", v, i)
				co, _ := http.NewRequest(http.MethodPost, "/events/summer-fest/checkout?order="+id, nil)
				co.Header.Set("User-Agent", safariUA)
				for _, c := range w.Result().Cookies() {
					co.AddCookie(c)
				}
				w = httptest.NewRecorder()
				app.handler.ServeHTTP(w, co)
				if w.Code != http.StatusOK {
					t.Errorf("checkout: %d %s", w.Code, w.Body.String())
					continue
				}
				d := app.lastCheckoutOf(id)
				mu.Lock()
				orders[id] = 2
				mu.Unlock()
				deliveries <- d
				if i%duplicateOf == 0 {
					deliveries <- d
				}
				time.Sleep(20 * time.Millisecond)
			}
		})
	}

	time.Sleep(killAt)
	if err := victim.Kill(); err != nil {
		t.Fatal(err)
	}
	killed := time.Now()
	t.Logf("killed master %s (order slot) at %v", victim.Addr, killed.Sub(start).Round(time.Millisecond))

	// Bounded wait for the promotion: cluster_state:ok and the order
	// slot served by another node. A client of its own watches, so that
	// the app's client finds the new master by itself.
	info := redis.NewClient(&redis.Options{Addr: survivor, DialTimeout: time.Second, ReadTimeout: time.Second})
	defer info.Close()
	promoted := false
	for time.Since(killed) < 15*time.Second {
		s, err := info.ClusterInfo(ctx).Result()
		if err == nil && strings.Contains(s, "cluster_state:ok") {
			watch := redis.NewClusterClient(&redis.ClusterOptions{Addrs: []string{survivor}, DialTimeout: time.Second, MaxRetries: -1})
			m, err := watch.MasterForKey(ctx, prefix+"{o}:")
			watch.Close()
			if err == nil && m.Options().Addr != victim.Addr {
				promoted = true
				t.Logf("replica %s promoted %v after the kill", m.Options().Addr, time.Since(killed).Round(time.Millisecond))
				break
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	if !promoted {
		t.Fatal("no replica took over the order slot within 15 s")
	}
	if rest := runFor - time.Since(start); rest > 0 {
		time.Sleep(min(rest, 2*time.Second)) // keep the load on a little after the failover
	}
	close(stop)
	visits.Wait()
	close(deliveries)
	done := make(chan struct{})
	go func() { provider.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("the provider's retries did not complete")
	}

	mu.Lock()
	defer mu.Unlock()
	t.Logf("pages %v (%d store errors absorbed), webhook answers %v, %d orders", pages, absorbed.Load(), codes, len(orders))
	if len(pages) != 1 || pages[http.StatusOK] == 0 || badBody != 0 {
		t.Errorf("pages answered %v with %d odd bodies; want only 200 with the event page", pages, badBody)
	}
	for code := range codes {
		if code != http.StatusOK && code != http.StatusServiceUnavailable {
			t.Errorf("a webhook answered %d", code)
		}
	}
	if codes[http.StatusServiceUnavailable] == 0 {
		t.Error("no webhook answered 503: the drill missed the outage")
	}

	// Exactly once: the totals equal the unique orders.
	check := redisstore.New(cluster, redisstore.Options{Prefix: prefix})
	rows, err := check.EventTraffic(ctx, "summer-fest", "", "")
	if err != nil {
		t.Fatal(err)
	}
	var tickets int64
	for _, n := range orders {
		tickets += int64(n)
	}
	if tot := sum(rows); tot.Orders != int64(len(orders)) || tot.Tickets != tickets || tot.Revenue["EUR"] != tickets*2500 {
		t.Errorf("totals %+v; want %d orders, %d tickets (rows %+v)", tot, len(orders), tickets, rows)
	}
	walked := map[string]int{}
	if err := check.Orders(ctx, "summer-fest", func(a tracklink.Attribution) error { walked[a.OrderID]++; return nil }); err != nil {
		t.Fatal(err)
	}
	app.mu.Lock()
	defer app.mu.Unlock()
	for id := range orders {
		if walked[id] != 1 {
			t.Errorf("order %s stored %d times", id, walked[id])
		}
		if app.hooks[id] == 0 {
			t.Errorf("order %s: hook never ran", id)
		}
	}
	if len(walked) != len(orders) {
		t.Errorf("%d orders stored, want %d", len(walked), len(orders))
	}
}
