package webhook

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/tracklink/tracklink"
	"github.com/tracklink/tracklink/adapters/redisstore"
	"github.com/tracklink/tracklink/internal/redisstoretest"
	"github.com/tracklink/tracklink/internal/redistest"
)

// TestRedisStoppedMidRun takes Redis away (a proxy in front of it cuts
// every connection and refuses new ones) while orders are being delivered:
// deliveries answer 503 and write nothing half; once Redis is back the
// provider's retries complete and the totals are exact, each order counted
// once and its hook run. A store call is bounded only generously: the
// outage shows as refused connections, not as a deadline.
func TestRedisStoppedMidRun(t *testing.T) {
	direct, _ := redistest.Client(t)
	prefix := redistest.Prefix(t, direct)
	proxy := redistest.NewProxy(t, direct.Options().Addr)
	opts := redisstore.RecommendedOptions(proxy.Addr()).Simple()
	viaProxy := redis.NewClient(opts)
	defer viaProxy.Close()
	store := redisstoretest.New(viaProxy, redisstore.Options{Prefix: prefix})
	check := redisstoretest.New(direct, redisstore.Options{Prefix: prefix})

	now := time.Now().UTC().Truncate(time.Second)
	ctx := context.Background()
	const n = 200
	for i := 0; i < n; i += 2 { // even sessions came through ana's link
		_, err := check.Stamp(ctx, tracklink.Stamp{Session: sessionN(i), TTL: time.Hour, Touch: tracklink.Touch{
			Channel: tracklink.ChannelPromoter, Source: "ana", Promoter: "ana", Event: "summer-fest", At: now.Add(-time.Minute), Evidence: "param promoter=ana"}})
		if err != nil {
			t.Fatal(err)
		}
	}
	log := newHookLog()
	h, err := NewHandler(Config{Store: store, Provider: MustStandardWebhooks(stdSecretA), Hooks: log.hooks(),
		Now: func() time.Time { return now }, StoreTimeout: patientStoreTimeout,
		// a delivery cut off between its hook and its ack holds the hook
		// until the lease ends; the provider's retries wait it out
		HookLease: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	deliver := func(i int) int {
		body := completedBody(fmt.Sprintf("ord_%03d", i), sessionN(i), "summer-fest", 2)
		return serve(h, stdRequest(stdSecretA, now, body)).Code
	}
	var mu sync.Mutex
	failed := map[int]bool{}
	codes := map[int]int{}
	var wg sync.WaitGroup
	var delivered atomic.Int64
	for w := 0; w < 8; w++ {
		wg.Go(func() {
			for i := w; i < n; i += 8 {
				if delivered.Add(1) == n/2 {
					proxy.Down() // Redis goes away mid-run
				}
				code := deliver(i)
				mu.Lock()
				codes[code]++
				if code != http.StatusOK {
					failed[i] = true
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if codes[http.StatusServiceUnavailable] == 0 {
		t.Fatalf("no delivery saw the outage: %v", codes)
	}
	for code := range codes {
		if code != http.StatusOK && code != http.StatusServiceUnavailable {
			t.Errorf("status %d during the outage; want only 200 or 503 (%v)", code, codes)
		}
	}

	// Nothing half-written: what the store holds now is exactly the orders
	// it has, each with all its figures.
	recorded := 0
	for i := 0; i < n; i++ {
		if _, ok, err := check.Attribution(ctx, fmt.Sprintf("ord_%03d", i)); err != nil {
			t.Fatal(err)
		} else if ok {
			recorded++
		}
	}
	if got := eventCounts(t, check, "summer-fest"); got.Orders != int64(recorded) || got.Tickets != int64(2*recorded) || got.Excluded != int64(recorded) {
		t.Fatalf("mid-outage figures %+v do not match the %d recorded orders", got, recorded)
	}

	proxy.Up()
	// The provider retries a 503 after a pause until it gets a 200, up to
	// a generous deadline: the client may still be refusing calls for a
	// moment after the outage (go-redis probes a failing server in the
	// background before it dials again).
	retryCtx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	redeliver := func(what string, i int) {
		t.Helper()
		for {
			code := deliver(i)
			if code == http.StatusOK {
				return
			}
			if code != http.StatusServiceUnavailable {
				t.Fatalf("%s of order %d: %d", what, i, code)
			}
			select {
			case <-retryCtx.Done():
				t.Fatalf("%s of order %d: still 503 at the provider's deadline (%v)", what, i, retryCtx.Err())
			case <-time.After(50 * time.Millisecond):
			}
		}
	}
	for i := range failed { // the provider retries what failed…
		redeliver("retry", i)
	}
	for i := 0; i < n; i += 3 { // …and redelivers some that did not
		redeliver("redelivery", i)
	}
	got := eventCounts(t, check, "summer-fest")
	if got.Orders != n || got.Tickets != 2*n || got.Excluded != n || got.Revenue["EUR"] != n*2*2500 {
		t.Errorf("after recovery: %+v, want %d orders, %d tickets, %d excluded, %d EUR", got, n, 2*n, n, n*2*2500)
	}
	stats, err := check.PromoterStats(ctx, []string{"ana"})
	if err != nil {
		t.Fatal(err)
	}
	if stats[0].Totals.Orders != n/2 || stats[0].Totals.Tickets != n {
		t.Errorf("ana: %+v, want %d orders and %d tickets", stats[0].Totals, n/2, n)
	}
	for _, kind := range []tracklink.HookKind{tracklink.HookAttributed, tracklink.HookUnattributed} {
		log.mu.Lock()
		unique := map[string]bool{}
		for _, id := range log.calls[kind] {
			unique[id] = true
		}
		log.mu.Unlock()
		if len(unique) != n/2 {
			t.Errorf("%s hooks ran for %d orders, want %d", kind, len(unique), n/2)
		}
	}
}
