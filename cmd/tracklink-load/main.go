// Command tracklink-load drives tracklink's real middleware and webhook
// receiver in-process (ServeHTTP, no network between the load and the
// handlers) against a Redis or a Redis Cluster, and reports what a host
// would want to know before an on-sale: throughput, latency per kind of
// request, and Redis round trips per request (counted with a go-redis
// hook). It is a benchmark program, not a test.
//
// Load mode (the default):
//
//	tracklink-load -redis 127.0.0.1:6379 -landings 2000 -webhooks 200 -duration 20s -conc 64
//	tracklink-load -cluster 127.0.0.1:17000,127.0.0.1:17001,127.0.0.1:17002 -landings 2000 -webhooks 200
//
// Landings are event-page GETs by browsers: 60% new visitors (a new
// session, a counted visit), 40% returning ones (their cookie, mostly a
// reload that counts nothing); a third each by a promoter link, a campaign
// link and an Instagram referrer, over 20 events. Webhooks are signed
// order.completed deliveries for recent sessions, one in five a redelivery
// of an earlier order (a duplicate). Requests are issued at the target
// rates (0 turns a kind off) by -conc workers; when the workers cannot keep
// up, the achieved rate shows it.
//
// Memory mode:
//
//	tracklink-load -redis 127.0.0.1:6379 -memory -k 10000
//
// lands K new visitors (one event touch each) and records K orders on a
// fresh key prefix, then reports MEMORY USAGE of sampled session and order
// keys and the total of every key the run wrote, per kind, divided by K.
//
// Every run writes under a fresh prefix ("tracklink-load-<random>:") and
// deletes its keys at the end (SCAN + UNLINK, never FLUSHDB) unless -keep.
package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	mrand "math/rand/v2"

	"github.com/redis/go-redis/v9"

	"github.com/tracklink/tracklink"
	"github.com/tracklink/tracklink/adapters/redisstore"
	"github.com/tracklink/tracklink/middleware"
	"github.com/tracklink/tracklink/webhook"
	"github.com/tracklink/tracklink/webhook/webhooktest"
)

func main() {
	var (
		addr     = flag.String("redis", "", "single Redis address (host:port)")
		seeds    = flag.String("cluster", "", "Redis Cluster seed addresses, comma-separated")
		landings = flag.Int("landings", 1000, "landings per second (0: none)")
		webhooks = flag.Int("webhooks", 100, "order webhooks per second (0: none)")
		duration = flag.Duration("duration", 15*time.Second, "how long to run the load")
		conc     = flag.Int("conc", 64, "concurrent workers per kind")
		storeTO  = flag.Duration("store-timeout", 0, "middleware.Config.StoreTimeout (0: its default, 50ms)")
		memory   = flag.Bool("memory", false, "measure memory per session and per order instead of load")
		k        = flag.Int("k", 10000, "sessions and orders the memory mode writes")
		keep     = flag.Bool("keep", false, "keep the run's keys")
	)
	flag.Parse()
	log.SetFlags(0)
	var rdb redis.UniversalClient
	var target string
	switch {
	case *addr != "" && *seeds == "":
		opts := redisstore.RecommendedOptions(*addr)
		opts.PoolSize = 2 * *conc
		rdb = redis.NewClient(opts.Simple())
		target = "single Redis " + *addr
	case *seeds != "" && *addr == "":
		opts := redisstore.RecommendedOptions(strings.Split(*seeds, ",")...)
		opts.PoolSize = 2 * *conc
		rdb = redis.NewClusterClient(opts.Cluster())
		target = "Redis Cluster " + *seeds
	default:
		log.Fatal("tracklink-load: give -redis ADDR or -cluster SEEDS")
	}
	defer rdb.Close()
	ctx := context.Background()
	if err := rdb.Ping(ctx).Err(); err != nil {
		log.Fatalf("tracklink-load: %s: %v", target, err)
	}
	rdb.AddHook(&tripHook{})

	var b [6]byte
	_, _ = rand.Read(b[:])
	prefix := "tracklink-load-" + hex.EncodeToString(b[:]) + ":"
	if !*keep {
		defer deleteKeys(rdb, prefix)
	}
	h := newHarness(rdb, prefix, *storeTO)
	if *memory {
		runMemory(ctx, h, rdb, prefix, target, *k, *conc)
		return
	}
	runLoad(h, target, *landings, *webhooks, *duration, *conc)
}

// --- the app under load ---------------------------------------------------

type harness struct {
	app     http.Handler
	mw      *middleware.Middleware
	secret  string
	absorbs atomic.Int64 // store errors the middleware absorbed (fail open)
}

const pageBody = "<!doctype html><title>event</title><h1>event</h1>"

func newHarness(rdb redis.UniversalClient, prefix string, storeTimeout time.Duration) *harness {
	h := &harness{secret: webhooktest.NewStandardWebhookSecret()}
	// The load runs against a throwaway server: no persistence check.
	store, err := redisstore.New(context.Background(), rdb, redisstore.Options{Prefix: prefix, AllowUnsafeServer: true})
	if err != nil {
		panic(err)
	}
	mw, err := middleware.New(middleware.Config{
		Store: store, SessionKeys: [][]byte{[]byte("tracklink-load-session-key-32byt"), nil}, Insecure: true,
		StoreTimeout: storeTimeout,
		Events:       func(_ context.Context, slug string) bool { return slices.Contains(events, slug) },
		Hooks:        tracklink.Hooks{OnError: func(context.Context, error) { h.absorbs.Add(1) }},
	})
	if err != nil {
		log.Fatal(err)
	}
	wh, err := webhook.NewHandler(webhook.Config{Store: store, Provider: webhook.MustStandardWebhooks(h.secret)})
	if err != nil {
		log.Fatal(err)
	}
	site := http.NewServeMux()
	site.HandleFunc("GET /events/{slug}", func(w http.ResponseWriter, r *http.Request) {
		if v, ok := tracklink.FromContext(r.Context()); ok {
			w.Header().Set("X-Session", v.Session) // for the load's own bookkeeping
		}
		io.WriteString(w, pageBody)
	})
	site.Handle("POST /webhooks/orders", wh)
	h.mw = mw
	h.app = mw.Handler(site)
	return h
}

// --- counting round trips ---------------------------------------------------

type tripsKey struct{}

// tripHook counts each command sent alone and each pipeline as one round
// trip, on the counter the request's context carries. A Cluster pipeline
// spanning two nodes is one (its parts go out in parallel).
type tripHook struct{}

func (*tripHook) DialHook(next redis.DialHook) redis.DialHook { return next }

func (*tripHook) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		if c, ok := ctx.Value(tripsKey{}).(*atomic.Int64); ok {
			c.Add(1)
		}
		return next(ctx, cmd)
	}
}

func (*tripHook) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		if len(cmds) > 0 && cmds[0].Name() == "hello" {
			return next(ctx, cmds) // a new connection's handshake, not the request's
		}
		if c, ok := ctx.Value(tripsKey{}).(*atomic.Int64); ok {
			c.Add(1)
		}
		return next(ctx, cmds)
	}
}

// --- load mode ----------------------------------------------------------------

type visitor struct {
	cookie  *http.Cookie
	session string
	event   string
}

// pool keeps recent visitors for returning visits and orders.
type pool struct {
	mu sync.Mutex
	vs []visitor
	n  int
}

func (p *pool) add(v visitor) {
	p.mu.Lock()
	defer p.mu.Unlock()
	const size = 4096
	if len(p.vs) < size {
		p.vs = append(p.vs, v)
	} else {
		p.vs[p.n%size] = v
	}
	p.n++
}

func (p *pool) pick() (visitor, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.vs) == 0 {
		return visitor{}, false
	}
	return p.vs[mrand.IntN(len(p.vs))], true
}

type kindStats struct {
	mu    sync.Mutex
	lat   []time.Duration
	trips int64
	codes map[int]int
	bad   int // a page with another body
}

func (s *kindStats) add(d time.Duration, trips int64, code int, bad bool) {
	s.mu.Lock()
	s.lat = append(s.lat, d)
	s.trips += trips
	if s.codes == nil {
		s.codes = map[int]int{}
	}
	s.codes[code]++
	if bad {
		s.bad++
	}
	s.mu.Unlock()
}

// serve runs one request through the app and times it.
func serve(app http.Handler, r *http.Request) (*httptest.ResponseRecorder, time.Duration, int64) {
	var trips atomic.Int64
	r = r.WithContext(context.WithValue(r.Context(), tripsKey{}, &trips))
	w := httptest.NewRecorder()
	start := time.Now()
	app.ServeHTTP(w, r)
	return w, time.Since(start), trips.Load()
}

var events = func() []string {
	var e []string
	for i := range 20 {
		e = append(e, fmt.Sprintf("event-%02d", i))
	}
	return e
}()

const ua = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1"

func landingRequest(i int, v *visitor) (*http.Request, string) {
	ev := events[mrand.IntN(len(events))]
	if v != nil {
		ev = v.event
	}
	url := "/events/" + ev
	var referer string
	switch i % 3 {
	case 0:
		url += fmt.Sprintf("?promoter=p%03d", i%50)
	case 1:
		url += "?utm_source=newsletter&utm_medium=email"
	default:
		referer = "https://l.instagram.com/"
	}
	r := httptest.NewRequest(http.MethodGet, url, nil)
	r.Header.Set("User-Agent", ua)
	r.Header.Set("Accept", "text/html,application/xhtml+xml")
	if referer != "" {
		r.Header.Set("Referer", referer)
	}
	if v != nil && v.cookie != nil {
		r.AddCookie(v.cookie)
	}
	return r, ev
}

func (h *harness) land(i int, returning *visitor) (*httptest.ResponseRecorder, time.Duration, int64, visitor) {
	r, ev := landingRequest(i, returning)
	w, d, n := serve(h.app, r)
	v := visitor{session: w.Header().Get("X-Session"), event: ev}
	if returning != nil {
		v = *returning
	}
	for _, c := range w.Result().Cookies() {
		v.cookie = c
	}
	return w, d, n, v
}

func orderBody(id string, v visitor) []byte {
	b, _ := json.Marshal(map[string]any{"type": "order.completed", "data": map[string]any{
		"order_id": id, "session_ref": v.session, "event": v.event, "currency": "EUR",
		"lines": []map[string]any{{"kind": "primary", "ticket_type": "GA", "quantity": 1 + len(id)%4, "unit_amount": 2500}},
	}})
	return b
}

func (h *harness) deliver(id string, body []byte) (*httptest.ResponseRecorder, time.Duration, int64) {
	r := httptest.NewRequest(http.MethodPost, "/webhooks/orders", strings.NewReader(string(body)))
	for k, v := range webhooktest.SignStandardWebhook(h.secret, "msg_"+id, time.Now(), body) {
		r.Header[k] = v
	}
	return serve(h.app, r)
}

// paced calls fn rate times per second for d with conc workers; a tick
// that finds every worker busy waits for one (the achieved rate shows it).
func paced(rate int, d time.Duration, conc int, fn func(i int)) {
	if rate <= 0 {
		return
	}
	work := make(chan int, conc)
	var wg sync.WaitGroup
	for range conc {
		wg.Go(func() {
			for i := range work {
				fn(i)
			}
		})
	}
	start := time.Now()
	interval := time.Second / time.Duration(rate)
	for i := 0; ; i++ {
		next := start.Add(time.Duration(i) * interval)
		if next.Sub(start) >= d {
			break
		}
		if wait := time.Until(next); wait > 0 {
			time.Sleep(wait)
		}
		work <- i
	}
	close(work)
	wg.Wait()
}

func runLoad(h *harness, target string, landings, webhooks int, d time.Duration, conc int) {
	var visitors pool
	var land, newLand, retLand, hook kindStats
	var orderSeq atomic.Int64
	var sent sync.Map // order id → body, for redeliveries
	var sentIDs struct {
		sync.Mutex
		ids []string
	}
	start := time.Now()
	var wg sync.WaitGroup
	wg.Go(func() {
		paced(landings, d, conc, func(i int) {
			var ret *visitor
			if mrand.IntN(10) < 4 {
				if v, ok := visitors.pick(); ok {
					ret = &v
				}
			}
			w, dur, n, v := h.land(i, ret)
			bad := w.Body.String() != pageBody
			land.add(dur, n, w.Code, bad)
			if ret == nil {
				newLand.add(dur, n, w.Code, bad)
				if v.session != "" {
					visitors.add(v)
				}
			} else {
				retLand.add(dur, n, w.Code, bad)
			}
		})
	})
	wg.Go(func() {
		paced(webhooks, d, conc, func(int) {
			var id string
			var body []byte
			sentIDs.Lock()
			dup := len(sentIDs.ids) > 0 && mrand.IntN(5) == 0
			if dup {
				id = sentIDs.ids[mrand.IntN(len(sentIDs.ids))]
			}
			sentIDs.Unlock()
			if dup {
				b, _ := sent.Load(id)
				body = b.([]byte)
			} else {
				v, _ := visitors.pick()
				if v.event == "" {
					v.event = events[0]
				}
				id = fmt.Sprintf("ord_%08d", orderSeq.Add(1))
				body = orderBody(id, v)
				sent.Store(id, body)
				sentIDs.Lock()
				sentIDs.ids = append(sentIDs.ids, id)
				sentIDs.Unlock()
			}
			w, dur, n := h.deliver(id, body)
			hook.add(dur, n, w.Code, false)
		})
	})
	wg.Wait()
	elapsed := time.Since(start)

	fmt.Printf("target: %s; %d landings/s + %d webhooks/s for %v, %d workers per kind, GOMAXPROCS %d\n\n",
		target, landings, webhooks, d, conc, runtime.GOMAXPROCS(0))
	fmt.Println("| kind | requests | req/s | p50 | p99 | max | Redis round trips/req | answers |")
	fmt.Println("|---|---:|---:|---:|---:|---:|---:|---|")
	row := func(name string, s *kindStats) {
		if len(s.lat) == 0 {
			return
		}
		slices.Sort(s.lat)
		q := func(p float64) time.Duration { return s.lat[min(len(s.lat)-1, int(p*float64(len(s.lat))))] }
		fmt.Printf("| %s | %d | %.0f | %v | %v | %v | %.2f | %v |\n", name, len(s.lat), float64(len(s.lat))/elapsed.Seconds(),
			round(q(0.50)), round(q(0.99)), round(s.lat[len(s.lat)-1]), float64(s.trips)/float64(len(s.lat)), codes(s))
	}
	row("landing (all)", &land)
	row("landing, new visitor", &newLand)
	row("landing, returning", &retLand)
	row("order webhook", &hook)
	fmt.Printf("\nstore errors absorbed by the middleware (page served at once): %d\n", h.absorbs.Load())
	// The stamps still queued are written before the landings' outcomes
	// are printed.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := h.mw.Close(ctx); err != nil {
		fmt.Println(err)
	}
	h.mw.Stats().Each(func(name string, v int64) {
		if v != 0 {
			fmt.Printf("%s %d\n", name, v)
		}
	})
}

func codes(s *kindStats) string {
	var parts []string
	for c, n := range s.codes {
		parts = append(parts, fmt.Sprintf("%d×%d", n, c))
	}
	slices.Sort(parts)
	if s.bad > 0 {
		parts = append(parts, fmt.Sprintf("%d odd bodies", s.bad))
	}
	return strings.Join(parts, " ")
}

func round(d time.Duration) time.Duration {
	switch {
	case d > 10*time.Millisecond:
		return d.Round(100 * time.Microsecond)
	case d > time.Millisecond:
		return d.Round(10 * time.Microsecond)
	}
	return d.Round(time.Microsecond)
}

// --- memory mode ----------------------------------------------------------------

func runMemory(ctx context.Context, h *harness, rdb redis.UniversalClient, prefix, target string, k, conc int) {
	var visitors []visitor
	var mu sync.Mutex
	work := make(chan int)
	var wg sync.WaitGroup
	var failed atomic.Int64
	for range conc {
		wg.Go(func() {
			for i := range work {
				// One landing per visitor: a promoter link on one event.
				r := httptest.NewRequest(http.MethodGet, fmt.Sprintf("/events/%s?promoter=p%03d", events[i%len(events)], i%50), nil)
				r.Header.Set("User-Agent", ua)
				r.Header.Set("Accept", "text/html")
				w := httptest.NewRecorder()
				h.app.ServeHTTP(w, r)
				v := visitor{session: w.Header().Get("X-Session"), event: events[i%len(events)]}
				if v.session == "" {
					failed.Add(1)
					continue
				}
				id := fmt.Sprintf("ord_%08d", i)
				dw, _, _ := h.deliver(id, orderBody(id, v))
				if dw.Code != http.StatusOK {
					failed.Add(1)
				}
				mu.Lock()
				visitors = append(visitors, v)
				mu.Unlock()
			}
		})
	}
	for i := range k {
		work <- i
	}
	close(work)
	wg.Wait()
	if n := failed.Load(); n > 0 {
		log.Printf("tracklink-load: %d of %d visitors or orders failed", n, k)
	}

	// Every key the run wrote, by kind.
	type group struct {
		keys  int
		bytes int64
	}
	groups := map[string]*group{}
	var gmu sync.Mutex
	scan := func(ctx context.Context, c *redis.Client) error {
		iter := c.Scan(ctx, 0, prefix+"*", 1000).Iterator()
		for iter.Next(ctx) {
			key := iter.Val()
			n, err := c.MemoryUsage(ctx, key, 0).Result()
			if err != nil {
				return err
			}
			kind := keyKind(strings.TrimPrefix(key, prefix))
			gmu.Lock()
			g := groups[kind]
			if g == nil {
				g = &group{}
				groups[kind] = g
			}
			g.keys++
			g.bytes += n
			gmu.Unlock()
		}
		return iter.Err()
	}
	if err := forEachMaster(ctx, rdb, scan); err != nil {
		log.Fatal(err)
	}
	fmt.Printf("target: %s; %d visitors (one promoter landing each, 20 events, 50 promoters) and %d orders\n\n", target, k, k)
	fmt.Println("| keys | count | bytes (MEMORY USAGE) | bytes per session or order |")
	fmt.Println("|---|---:|---:|---:|")
	var kinds []string
	for kind := range groups {
		kinds = append(kinds, kind)
	}
	slices.Sort(kinds)
	var visitSide, orderSide int64
	for _, kind := range kinds {
		g := groups[kind]
		fmt.Printf("| %s | %d | %d | %.0f |\n", kind, g.keys, g.bytes, float64(g.bytes)/float64(k))
		if strings.HasPrefix(kind, "visit") {
			visitSide += g.bytes
		} else {
			orderSide += g.bytes
		}
	}
	fmt.Printf("\nper session, all visit-side keys: %.0f bytes; per order, all order-side keys: %.0f bytes\n",
		float64(visitSide)/float64(k), float64(orderSide)/float64(k))

	// Samples of single keys.
	sample := func(keys []string) (avg float64, lo, hi int64) {
		var total int64
		lo = 1 << 62
		for _, key := range keys {
			n, err := rdb.MemoryUsage(ctx, key, 0).Result()
			if err != nil {
				log.Fatal(err)
			}
			total += n
			lo, hi = min(lo, n), max(hi, n)
		}
		return float64(total) / float64(len(keys)), lo, hi
	}
	var sk, ok []string
	for i := 0; i < len(visitors) && len(sk) < 200; i += max(1, len(visitors)/200) {
		sk = append(sk, prefix+"{s:"+visitors[i].session+"}")
		ok = append(ok, fmt.Sprintf("%s{o}:o:ord_%08d", prefix, i))
	}
	if len(sk) > 0 {
		avg, lo, hi := sample(sk)
		fmt.Printf("session hash ({s:<session>}, one touch + one visit mark), %d sampled: avg %.0f bytes (min %d, max %d)\n", len(sk), avg, lo, hi)
		avg, lo, hi = sample(ok)
		fmt.Printf("order hash ({o}:o:<id>, attribution JSON + figures), %d sampled: avg %.0f bytes (min %d, max %d)\n", len(ok), avg, lo, hi)
	}
}

// keyKind names a key (without the prefix) for the memory table.
func keyKind(k string) string {
	switch {
	case strings.HasPrefix(k, "{s:"):
		return "visit side: sessions {s:…}"
	case strings.HasPrefix(k, "{e:"):
		return "visit side: visit counters {e:…}"
	case strings.HasPrefix(k, "{o}:o:"):
		return "order side: order hashes {o}:o:…"
	case strings.HasPrefix(k, "{o}:idx"):
		return "order side: order indexes {o}:idx…"
	case strings.HasPrefix(k, "{o}:ev:"):
		return "order side: event sales {o}:ev:…"
	case strings.HasPrefix(k, "{o}:p:"):
		return "order side: promoter figures {o}:p:…"
	}
	return "order side: other {o}"
}

func forEachMaster(ctx context.Context, rdb redis.UniversalClient, fn func(context.Context, *redis.Client) error) error {
	switch c := rdb.(type) {
	case *redis.ClusterClient:
		return c.ForEachMaster(ctx, fn)
	case *redis.Client:
		return fn(ctx, c)
	}
	return errors.New("unsupported client")
}

func deleteKeys(rdb redis.UniversalClient, prefix string) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	err := forEachMaster(ctx, rdb, func(ctx context.Context, c *redis.Client) error {
		iter := c.Scan(ctx, 0, prefix+"*", 1000).Iterator()
		for iter.Next(ctx) {
			if err := c.Unlink(ctx, iter.Val()).Err(); err != nil {
				return err
			}
		}
		return iter.Err()
	})
	if err != nil {
		fmt.Fprintf(os.Stderr, "tracklink-load: deleting %s*: %v\n", prefix, err)
	}
}
