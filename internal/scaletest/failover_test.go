package scaletest

import (
	"context"
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
	"github.com/tracklink/tracklink/internal/redisstoretest"
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
//     master) before a generous deadline;
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
		webhookTimeout: 500 * time.Millisecond, // a killed master answers 503 soon
		onError:        func(error) { absorbed.Add(1) },
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
		// before the kill, and again after the promotion, the drill waits
		// for this many webhooks to answer 200: the app is under load
		// and, afterwards, has found the new master.
		settled = 30
	)
	// patience bounds each wait of the drill: generous, so that only a
	// real hang reaches it (a loaded machine slows everything down).
	const patience = 2 * time.Minute
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
	providerCtx, cancelProvider := context.WithTimeout(ctx, 2*patience)
	defer cancelProvider()
	deliver := func(d delivery) {
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
			}
			select {
			case <-providerCtx.Done():
				t.Errorf("webhook %s: still 503 at the provider's deadline", d.orderID)
				return
			case <-time.After(100 * time.Millisecond):
			}
		}
	}
	// oks is how many webhooks have answered 200 so far.
	oks := func() int {
		mu.Lock()
		defer mu.Unlock()
		return codes[http.StatusOK]
	}
	// waitFor polls cond every 50 ms until it holds or patience runs out.
	waitFor := func(what string, cond func() bool) {
		t.Helper()
		wctx, cancel := context.WithTimeout(ctx, patience)
		defer cancel()
		for !cond() {
			select {
			case <-wctx.Done():
				t.Fatalf("%s: not within %v", what, patience)
			case <-time.After(50 * time.Millisecond):
			}
		}
	}
	for range 8 {
		provider.Go(func() {
			for d := range deliveries {
				deliver(d)
			}
		})
	}

	// finish stops the visitors, then lets the provider work off what
	// they left (each delivery gives up at the provider's deadline). A
	// failed wait runs it too, so no goroutine outlives the test.
	var visits sync.WaitGroup
	finish := sync.OnceFunc(func() {
		close(stop)
		visits.Wait()
		close(deliveries)
		provider.Wait()
	})
	t.Cleanup(func() { cancelProvider(); finish() })

	// Visitors: land (a promoter, a campaign or a referrer), check out.
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

	waitFor("webhooks answered before the kill", func() bool { return oks() >= settled })
	if err := victim.Kill(); err != nil {
		t.Fatal(err)
	}
	killed := time.Now()
	t.Logf("killed master %s (order slot) at %v", victim.Addr, killed.Sub(start).Round(time.Millisecond))

	// Wait for the promotion: cluster_state:ok and the order slot served
	// by another node. A client of its own watches, so that the app's
	// client finds the new master by itself.
	info := redis.NewClient(&redis.Options{Addr: survivor, DialTimeout: time.Second, ReadTimeout: time.Second})
	defer info.Close()
	waitFor("a replica took over the order slot", func() bool {
		s, err := info.ClusterInfo(ctx).Result()
		if err != nil || !strings.Contains(s, "cluster_state:ok") {
			return false
		}
		watch := redis.NewClusterClient(&redis.ClusterOptions{Addrs: []string{survivor}, DialTimeout: time.Second, MaxRetries: -1})
		defer watch.Close()
		m, err := watch.MasterForKey(ctx, prefix+"{o}:")
		if err != nil || m.Options().Addr == victim.Addr {
			return false
		}
		t.Logf("replica %s promoted %v after the kill", m.Options().Addr, time.Since(killed).Round(time.Millisecond))
		return true
	})
	// Keep the load on after the failover until more webhooks went
	// through: the app's own client found the new master.
	promotedAt := oks()
	waitFor("webhooks answered after the promotion", func() bool { return oks() >= promotedAt+settled })
	finish()
	if providerCtx.Err() != nil {
		t.Fatal("the provider's retries did not complete before its deadline")
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
	check := redisstoretest.New(cluster, redisstore.Options{Prefix: prefix})
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
