package floodtest

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
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
	"github.com/tracklink/tracklink/middleware"
	"github.com/tracklink/tracklink/webhook"
	"github.com/tracklink/tracklink/webhook/webhooktest"
)

const browserUA = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36"

// known are the events the host sells (middleware.Config.Events).
var known = map[string]bool{"summer-fest": true, "jazz-night": true, "techno-bunker": true, "folk-days": true, "opera-gala": true}

func knownSlugs() []string {
	out := make([]string, 0, len(known))
	for s := range known {
		out = append(out, s)
	}
	return out
}

// TestAnonymousFlood sends 100,000 anonymous landings (50,000 under -race,
// 15,000 with -short)
// through the middleware into a redisstore on a private Redis whose
// maxmemory the flood exceeds (policy volatile-lru), with made-up and real
// event slugs, random utm values, no cookie and a browser user agent,
// while orders arrive through the webhook receiver and are delivered
// again afterwards, as a provider retries. Redis must make room by
// evicting sessions only: every order answered 2xx is counted exactly once
// and kept, and every key left without a TTL belongs to the order side or
// to the counters of a known event (or of the site-wide pages).
func TestAnonymousFlood(t *testing.T) {
	landings, orders, maxmemory := 100_000, 500, "24mb"
	switch {
	case testing.Short():
		landings, orders, maxmemory = 15_000, 100, "4mb"
	case race:
		landings, orders, maxmemory = 50_000, 500, "12mb"
	}
	srv := redistest.StartServer(t, "--maxmemory", maxmemory, "--maxmemory-policy", "volatile-lru")
	rdb := srv.Client(t)
	const prefix = "flood:"
	store := redisstoretest.New(rdb, redisstore.Options{Prefix: prefix})
	secret := webhooktest.NewStandardWebhookSecret()

	var storeErrs atomic.Int64
	mw, err := middleware.New(middleware.Config{
		Store: store, SessionKeys: [][]byte{[]byte("0123456789abcdef0123456789abcdef"), nil}, Insecure: true,
		Events:       func(_ context.Context, slug string) bool { return known[slug] },
		StoreTimeout: 5 * time.Second, BreakerThreshold: -1,
		Hooks: tracklink.Hooks{OnError: func(context.Context, error) { storeErrs.Add(1) }},
	})
	if err != nil {
		t.Fatal(err)
	}
	// sessions of landings on known events, for the orders to refer to
	sessions := make(chan string, 1024)
	site := http.NewServeMux()
	page := func(w http.ResponseWriter, r *http.Request) {
		if v, ok := tracklink.FromContext(r.Context()); ok && v.Tracked && v.Landing.Event != "" {
			select {
			case sessions <- v.Session:
			default:
			}
		}
		io.WriteString(w, "<h1>event</h1>")
	}
	site.HandleFunc("GET /events/{slug}", page)
	site.HandleFunc("GET /{$}", page)
	app := mw.Handler(site)
	wh, err := webhook.NewHandler(webhook.Config{Store: store, Provider: webhook.MustStandardWebhooks(secret), StoreTimeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}

	slugs := knownSlugs()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()

	// the flood
	var tracked atomic.Int64
	var wg sync.WaitGroup
	const workers = 12
	for w := range workers {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(w), 42))
			for i := w; i < landings; i += workers {
				target := landingURL(rng, slugs)
				r := httptest.NewRequest(http.MethodGet, target, nil)
				r.Header.Set("User-Agent", browserUA)
				r.Header.Set("Accept", "text/html")
				r.Header.Set("Sec-Fetch-Site", "none")
				if rng.IntN(2) == 0 {
					r.Header.Set("Referer", "https://l.instagram.com/")
					r.Header.Set("Sec-Fetch-Site", "cross-site")
				}
				rec := httptest.NewRecorder()
				app.ServeHTTP(rec, r)
				if rec.Code != http.StatusOK {
					t.Errorf("GET %s: %d", target, rec.Code)
					return
				}
				if len(rec.Result().Cookies()) > 0 {
					tracked.Add(1)
				}
				if ctx.Err() != nil {
					return
				}
			}
		})
	}

	// orders during the flood, each retried on 5xx as a provider does
	deliveries := make([]delivery, orders)
	var attempts, fivexx atomic.Int64
	deliver := func(d delivery) error {
		for ctx.Err() == nil {
			attempts.Add(1)
			r := httptest.NewRequest(http.MethodPost, "/webhooks/orders", strings.NewReader(string(d.body)))
			for k, v := range d.header {
				r.Header[k] = v
			}
			rec := httptest.NewRecorder()
			wh.ServeHTTP(rec, r)
			switch {
			case rec.Code < 300:
				return nil
			case rec.Code >= 500:
				fivexx.Add(1)
				time.Sleep(20 * time.Millisecond)
			default:
				return fmt.Errorf("order %s: %d %s", d.id, rec.Code, rec.Body)
			}
		}
		return fmt.Errorf("order %s: no 2xx before the deadline", d.id)
	}
	var ow sync.WaitGroup
	ow.Go(func() {
		for i := range orders {
			session := ""
			select {
			case session = <-sessions:
			case <-time.After(50 * time.Millisecond):
			}
			deliveries[i] = newDelivery(secret, fmt.Sprintf("ord-%05d", i), session, slugs[i%len(slugs)])
			if err := deliver(deliveries[i]); err != nil {
				t.Error(err)
				return
			}
		}
	})
	wg.Wait()
	ow.Wait()
	if t.Failed() {
		t.FailNow()
	}
	// no order was evicted by the flood
	wantOrders := func(when string) {
		t.Helper()
		for _, d := range deliveries {
			a, ok, err := store.Attribution(ctx, d.id)
			if err != nil || !ok || a.Tickets != 2 {
				t.Errorf("%s: Attribution(%s) = %+v, %v, %v; want the recorded order", when, d.id, a, ok, err)
			}
		}
	}
	wantOrders("after the flood")
	// the provider delivers every order again
	for _, d := range deliveries {
		if err := deliver(d); err != nil {
			t.Fatal(err)
		}
	}

	info := infoFields(t, rdb, "stats", "memory")
	t.Logf("%d landings (%d stamped), %d orders in %d deliveries (%d answered 5xx), %d store errors on the request path; "+
		"maxmemory %s: used_memory %s, evicted_keys %s, expired_keys %s",
		landings, tracked.Load(), orders, attempts.Load(), fivexx.Load(), storeErrs.Load(),
		maxmemory, info["used_memory_human"], info["evicted_keys"], info["expired_keys"])
	if n, _ := strconv.Atoi(info["evicted_keys"]); n == 0 {
		t.Errorf("evicted_keys 0: the flood never reached maxmemory %s, so it proves nothing", maxmemory)
	}

	// every order is kept and counted once
	wantOrders("after the redeliveries")
	var gotOrders, gotTickets int64
	for _, ev := range slugs {
		rows, err := store.EventTraffic(ctx, ev, "", "")
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range rows {
			gotOrders += r.Orders
			gotTickets += r.Tickets
		}
	}
	if gotOrders != int64(orders) || gotTickets != 2*int64(orders) {
		t.Errorf("figures count %d orders and %d tickets, want %d and %d: each order exactly once",
			gotOrders, gotTickets, orders, 2*orders)
	}

	// what is left without a TTL is the order side's or a known event's
	keys := redistest.KeysTTL(t, rdb, prefix)
	kinds := map[string]int{}
	var sample []string
	for _, k := range keys {
		kind := classify(strings.TrimPrefix(k.Key, prefix))
		if k.TTL >= 0 {
			kind += " (with TTL)"
		} else if !strings.HasPrefix(kind, "durable") {
			t.Errorf("key %s has no TTL and is %s", k.Key, kind)
		}
		kinds[kind]++
		if strings.HasPrefix(kind, "session") && len(sample) < 200 {
			sample = append(sample, k.Key)
		}
	}
	t.Logf("keys left: %v", kinds)
	if kinds["made-up event counters"]+kinds["made-up event counters (with TTL)"] > 0 {
		t.Errorf("made-up slugs left counters")
	}
	var total int64
	for _, k := range sample {
		n, _ := rdb.MemoryUsage(ctx, k, 0).Result()
		total += n
	}
	if len(sample) > 0 {
		t.Logf("session hash of one anonymous landing: %d bytes on average (MEMORY USAGE, %d sampled)", total/int64(len(sample)), len(sample))
	}
}

// landingURL is a random anonymous landing: a known or made-up event page
// or the home page, with random utm values.
func landingURL(rng *rand.Rand, slugs []string) string {
	q := url.Values{}
	q.Set("utm_source", fmt.Sprintf("src-%x", rng.Uint32()))
	q.Set("utm_campaign", fmt.Sprintf("camp-%x", rng.Uint64()))
	switch rng.IntN(10) {
	case 0:
		return "/?" + q.Encode()
	case 1, 2, 3, 4, 5:
		return "/events/" + slugs[rng.IntN(len(slugs))] + "?" + q.Encode()
	}
	return fmt.Sprintf("/events/made-up-%x?%s", rng.Uint64(), q.Encode())
}

// classify names what a key (without the prefix) belongs to.
func classify(k string) string {
	switch {
	case strings.HasPrefix(k, "{o}:"):
		return "durable: order side (ledger, aggregates, registry)"
	case strings.HasPrefix(k, "{s:"):
		return "session"
	case strings.HasPrefix(k, "{e:}"):
		return "durable: site-wide counters"
	case strings.HasPrefix(k, "{e:"):
		ev, _, _ := strings.Cut(strings.TrimPrefix(k, "{e:"), "}")
		if known[ev] {
			return "durable: known event counters"
		}
		return "made-up event counters"
	}
	return "unknown"
}

type delivery struct {
	id     string
	body   []byte
	header http.Header
}

// newDelivery is a signed order.completed webhook of 2 GA tickets.
func newDelivery(secret, id, session, event string) delivery {
	body, _ := json.Marshal(map[string]any{"type": "order.completed", "data": map[string]any{
		"order_id": id, "session_ref": session, "event": event, "currency": "EUR",
		"lines": []map[string]any{{"kind": "primary", "ticket_type": "GA", "quantity": 2, "unit_amount": 2500}},
	}})
	return delivery{id: id, body: body, header: webhooktest.SignStandardWebhook(secret, "msg_"+id, time.Now(), body)}
}

// infoFields returns the fields of INFO's sections.
func infoFields(t *testing.T, rdb *redis.Client, sections ...string) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, s := range sections {
		txt, err := rdb.Info(context.Background(), s).Result()
		if err != nil {
			t.Fatal(err)
		}
		for _, line := range strings.Split(txt, "\r\n") {
			if k, v, ok := strings.Cut(line, ":"); ok {
				out[k] = v
			}
		}
	}
	return out
}
