package drilltest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tracklink/tracklink"
	"github.com/tracklink/tracklink/middleware"
	"github.com/tracklink/tracklink/webhook"
	"github.com/tracklink/tracklink/webhook/webhooktest"
)

const (
	safariUA  = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1"
	event     = "summer-fest"
	eventPage = "<h1>summer-fest</h1>"
	tickets   = 2 // per order, at 25.00 EUR each

	// patience bounds each wait of a drill: generous, so that only a
	// real hang reaches it on a loaded machine, and short enough that
	// the test still ends well within the test binary's timeout.
	patience = 45 * time.Second
	// settled is how many orders must be acknowledged before the kill,
	// and again after the restart: the drill runs under load on both
	// sides of the outage.
	settled = 30
	// providerWorkers deliver concurrently (duplicates of one order may
	// arrive at the same time).
	providerWorkers = 8
	visitors        = 4
)

var sessionKeys = [][]byte{[]byte("0123456789abcdef0123456789abcdef"), nil}

// delivery is a signed order webhook, sent again unchanged on each retry.
type delivery struct {
	orderID string
	body    []byte
	header  http.Header
}

func orderDelivery(secret, id, session string) delivery {
	body, _ := json.Marshal(map[string]any{"type": "order.completed", "data": map[string]any{
		"order_id": id, "session_ref": session, "event": event, "currency": "EUR",
		"lines": []map[string]any{{"kind": "primary", "ticket_type": "GA", "quantity": tickets, "unit_amount": 2500}},
	}})
	return delivery{orderID: id, body: body, header: webhooktest.SignStandardWebhook(secret, "msg_"+id, time.Now(), body)}
}

// drill is the host app behind an httptest server (the middleware, an
// event page, a checkout that answers the visit's session reference, the
// webhook receiver), browsers landing through ?promoter=ana and checking
// out, and a payment provider delivering each order (some 2 or 3 times)
// and retrying 5xx answers and transport errors until a 2xx.
type drill struct {
	t      *testing.T
	srv    *httptest.Server
	secret string
	store  *tracklink.Split

	stop       chan struct{}
	deliveries chan delivery
	visits     sync.WaitGroup
	provider   sync.WaitGroup
	providerCx context.Context
	cancel     context.CancelFunc
	finish     func()
	seq        atomic.Int64
	down       atomic.Bool // the server under drill is down

	mu        sync.Mutex
	pages     map[int]int
	pagesDown int // pages answered while the server was down
	badBody   int
	codes     map[int]int // webhook answers
	codesDown map[int]int // webhook answers while the server was down
	transport int         // deliveries that got no answer
	copies    map[string]int
	acked     map[string]bool // orders answered 2xx at least once
	ackedOK   int             // 2xx answers (duplicates included)
	ackedPre  map[string]bool // orders acknowledged before the kill
	absorbed  atomic.Int64
}

// webhookTimeout is webhook.Config.StoreTimeout in the drills: well
// above a loaded machine's latency, while a stopped server fails a call
// at once (connection refused).
const webhookTimeout = 10 * time.Second

// startDrill wires the app on store and starts the browsers and the
// provider. The caller waits on its phases, then calls finish.
func startDrill(t *testing.T, store *tracklink.Split) *drill {
	t.Helper()
	d := &drill{
		t: t, secret: webhooktest.NewStandardWebhookSecret(), store: store,
		stop: make(chan struct{}), deliveries: make(chan delivery, 256),
		pages: map[int]int{}, codes: map[int]int{}, codesDown: map[int]int{},
		copies: map[string]int{}, acked: map[string]bool{}, ackedPre: map[string]bool{},
	}
	mw, err := middleware.New(middleware.Config{
		Store: store, SessionKeys: sessionKeys, Insecure: true,
		Events: func(_ context.Context, slug string) bool { return slug == event },
		// generous for a loaded machine; the breaker serves pages without
		// the store soon after it goes down, and probes it again soon
		StoreTimeout: time.Second, BreakerCooldown: 200 * time.Millisecond,
		Hooks: tracklink.Hooks{OnError: func(context.Context, error) { d.absorbed.Add(1) }},
	})
	if err != nil {
		t.Fatal(err)
	}
	wh, err := webhook.NewHandler(webhook.Config{
		Store: store, Provider: webhook.MustStandardWebhooks(d.secret), StoreTimeout: webhookTimeout,
	})
	if err != nil {
		t.Fatal(err)
	}
	site := http.NewServeMux()
	site.HandleFunc("GET /events/{slug}", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, eventPage) })
	site.HandleFunc("POST /events/{slug}/checkout", func(w http.ResponseWriter, r *http.Request) {
		v, _ := tracklink.FromContext(r.Context())
		io.WriteString(w, v.Session)
	})
	site.Handle("POST /webhooks/orders", wh)
	d.srv = httptest.NewServer(mw.Handler(site))
	t.Cleanup(d.srv.Close)

	// The provider's overall deadline: far past any outage of a drill.
	d.providerCx, d.cancel = context.WithTimeout(context.Background(), 2*patience)
	for range providerWorkers {
		d.provider.Go(func() {
			client := &http.Client{Timeout: 30 * time.Second}
			for dl := range d.deliveries {
				d.deliver(client, dl)
			}
		})
	}
	for v := range visitors {
		d.visits.Go(func() { d.browse(v) })
	}
	d.finish = sync.OnceFunc(func() {
		close(d.stop)
		d.visits.Wait()
		close(d.deliveries)
		d.provider.Wait()
	})
	t.Cleanup(func() { d.cancel(); d.finish() })
	return d
}

// browse is one visitor after another: a new browser lands on the event
// page through ana's link, checks out, and the order goes to the provider
// (every third twice, every fifth three times).
func (d *drill) browse(v int) {
	for {
		select {
		case <-d.stop:
			return
		default:
		}
		i := int(d.seq.Add(1))
		jar, _ := cookiejar.New(nil)
		client := &http.Client{Jar: jar, Timeout: 30 * time.Second}
		down := d.down.Load()
		code, body, err := get(client, d.srv.URL+"/events/"+event+"?promoter=ana")
		if err != nil {
			d.t.Errorf("page: %v", err)
			return
		}
		d.mu.Lock()
		d.pages[code]++
		if down && d.down.Load() {
			d.pagesDown++
		}
		if body != eventPage {
			d.badBody++
		}
		d.mu.Unlock()
		req, _ := http.NewRequest(http.MethodPost, d.srv.URL+"/events/"+event+"/checkout", nil)
		req.Header.Set("User-Agent", safariUA)
		resp, err := client.Do(req)
		if err != nil {
			d.t.Errorf("checkout: %v", err)
			return
		}
		session, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			d.t.Errorf("checkout: %d %s", resp.StatusCode, session)
			return
		}
		dl := orderDelivery(d.secret, fmt.Sprintf("ord_%d_%05d", v, i), string(session))
		n := 1
		switch {
		case i%5 == 0:
			n = 3
		case i%3 == 0:
			n = 2
		}
		for range n {
			select {
			case d.deliveries <- dl:
				d.mu.Lock()
				d.copies[dl.orderID]++
				d.mu.Unlock()
			case <-d.stop:
				return
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func get(client *http.Client, url string) (int, string, error) {
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	req.Header.Set("User-Agent", safariUA)
	req.Header.Set("Accept", "text/html,application/xhtml+xml")
	resp, err := client.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), err
}

// deliver posts dl until a 2xx, retrying 5xx answers and transport errors
// every 100 ms until the provider's deadline.
func (d *drill) deliver(client *http.Client, dl delivery) {
	for {
		down := d.down.Load()
		req, _ := http.NewRequestWithContext(d.providerCx, http.MethodPost, d.srv.URL+"/webhooks/orders", bytes.NewReader(dl.body))
		for k, v := range dl.header {
			req.Header[k] = v
		}
		resp, err := client.Do(req)
		code := 0
		var body []byte
		if err == nil {
			body, _ = io.ReadAll(resp.Body)
			resp.Body.Close()
			code = resp.StatusCode
		}
		d.mu.Lock()
		switch {
		case err != nil:
			d.transport++
		default:
			d.codes[code]++
			if down && d.down.Load() {
				d.codesDown[code]++
			}
		}
		if code >= 200 && code < 300 {
			d.acked[dl.orderID] = true
			d.ackedOK++
		}
		d.mu.Unlock()
		switch {
		case code >= 200 && code < 300:
			return
		case err == nil && code < 500:
			d.t.Errorf("webhook %s: %d %s", dl.orderID, code, strings.TrimSpace(string(body)))
			return
		}
		select {
		case <-d.providerCx.Done():
			d.t.Errorf("webhook %s: no 2xx by the provider's deadline (last: %d %v)", dl.orderID, code, err)
			return
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// oks is how many 2xx answers the provider got so far.
func (d *drill) oks() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.ackedOK
}

// outage notes which orders were acknowledged so far (their records must
// survive the crash), runs kill, then counts what follows as answered
// while the server is down, waits for some pages and refused webhooks,
// runs revive and returns how long the server was down.
func (d *drill) outage(kill, revive func()) time.Duration {
	d.mu.Lock()
	for id := range d.acked {
		d.ackedPre[id] = true
	}
	d.mu.Unlock()
	kill()
	killed := time.Now()
	d.down.Store(true)
	// Keep browsing and delivering against the stopped server.
	d.waitFor("pages served and webhooks refused while the server is down", func() bool {
		d.mu.Lock()
		defer d.mu.Unlock()
		return d.pagesDown >= 20 && d.codesDown[http.StatusServiceUnavailable] >= 5
	})
	revive()
	d.down.Store(false)
	return time.Since(killed)
}

// waitFor polls cond every 20 ms until it holds, or fails the test when
// patience runs out.
func (d *drill) waitFor(what string, cond func() bool) {
	d.t.Helper()
	ctx, cancel := context.WithTimeout(d.t.Context(), patience)
	defer cancel()
	for !cond() {
		select {
		case <-ctx.Done():
			d.t.Fatalf("%s: not within %v", what, patience)
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// done stops the browsers, lets the provider finish, and checks what
// every drill promises: pages answered 200 with the page throughout, the
// receiver answered only allowed codes, every order was acknowledged, and
// the ledger holds each order exactly once (the records, the event's
// totals). It returns the number of distinct orders.
func (d *drill) done(allowed ...int) int {
	t := d.t
	t.Helper()
	d.finish()
	if d.providerCx.Err() != nil {
		t.Fatal("the provider's retries did not complete before its deadline")
	}
	ctx, cancel := context.WithTimeout(context.Background(), patience)
	defer cancel()
	d.mu.Lock()
	defer d.mu.Unlock()

	if len(d.pages) != 1 || d.pages[http.StatusOK] == 0 || d.badBody != 0 {
		t.Errorf("pages answered %v with %d odd bodies; want only 200 with the event page", d.pages, d.badBody)
	}
	for code := range d.codes {
		ok := false
		for _, a := range allowed {
			ok = ok || code == a
		}
		if !ok {
			t.Errorf("a webhook answered %d; want only %v", code, allowed)
		}
	}
	dups := 0
	for id, n := range d.copies {
		dups += n - 1
		if !d.acked[id] {
			t.Errorf("order %s was never acknowledged", id)
		}
	}

	// Exactly once: each acknowledged order is recorded, once.
	walked := map[string]int{}
	if err := d.store.Orders(ctx, event, func(a tracklink.Attribution) error { walked[a.OrderID]++; return nil }); err != nil {
		t.Fatal(err)
	}
	for id := range d.acked {
		if walked[id] != 1 {
			t.Errorf("order %s (acknowledged) stored %d times", id, walked[id])
		}
		if _, ok, err := d.store.Attribution(ctx, id); err != nil || !ok {
			t.Errorf("order %s (acknowledged): attribution %v %v", id, ok, err)
		}
	}
	if len(walked) != len(d.copies) {
		t.Errorf("%d orders stored, want %d", len(walked), len(d.copies))
	}
	rows, err := d.store.EventTraffic(ctx, event, "", "")
	if err != nil {
		t.Fatal(err)
	}
	var tot tracklink.Counts
	by := map[string]int64{}
	for _, r := range rows {
		tot.Add(r.Counts)
		by[r.Key] = r.Orders
	}
	n := int64(len(d.copies))
	if tot.Orders != n || tot.Tickets != n*tickets || tot.Revenue["EUR"] != n*tickets*2500 {
		t.Errorf("event totals %+v; want %d orders, %d tickets (rows %+v)", tot, n, n*tickets, rows)
	}
	stats, err := d.store.PromoterStats(ctx, []string{"ana"})
	if err != nil || len(stats) != 1 {
		t.Fatalf("promoter stats: %v %v", stats, err)
	}
	// ana's link brought every visitor; orders whose touch was lost
	// with the session side count as direct, still once
	if ana := stats[0].Totals.Orders; ana < 1 || ana > n {
		t.Errorf("ana's orders %d; want between 1 and %d", ana, n)
	}
	t.Logf("orders %d (%d duplicate deliveries), webhook answers %v (%d without an answer), "+
		"while down: %d pages, answers %v; acknowledged before the kill %d (all found once); orders by source %v; "+
		"pages %v (%d store errors absorbed)",
		n, dups, d.codes, d.transport, d.pagesDown, d.codesDown, len(d.ackedPre), by, d.pages, d.absorbed.Load())
	return int(n)
}
