package scaletest

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/tracklink/tracklink"
	"github.com/tracklink/tracklink/adapters/redisstore"
	"github.com/tracklink/tracklink/internal/redisstoretest"
	"github.com/tracklink/tracklink/middleware"
	"github.com/tracklink/tracklink/report"
	"github.com/tracklink/tracklink/webhook"
	"github.com/tracklink/tracklink/webhook/webhooktest"
)

// sessionKeys are shared by every instance of the host app, as they would
// be behind a load balancer: a cookie set by one instance is read by all.
var sessionKeys = [][]byte{[]byte("0123456789abcdef0123456789abcdef"), nil}

const (
	safariUA  = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1"
	eventPage = "<h1>summer-fest</h1>"
)

// delivery is a signed order webhook as a payment provider sends it (and
// sends again, unchanged, when it retries).
type delivery struct {
	orderID string
	body    []byte
	header  http.Header
}

// request builds the POST of d to url (a server's URL, or "" for
// ServeHTTP).
func (d delivery) request(url string) *http.Request {
	r, _ := http.NewRequest(http.MethodPost, url+"/webhooks/orders", bytes.NewReader(d.body))
	for k, v := range d.header {
		r.Header[k] = v
	}
	return r
}

// orderDelivery is an order.completed webhook for session's order of
// tickets GA tickets at 25.00 EUR, signed now under msg_<id>.
func orderDelivery(secret, id, session, event string, tickets int) delivery {
	body, _ := json.Marshal(map[string]any{"type": "order.completed", "data": map[string]any{
		"order_id": id, "session_ref": session, "event": event, "currency": "EUR",
		"lines": []map[string]any{{"kind": "primary", "ticket_type": "GA", "quantity": tickets, "unit_amount": 2500}},
	}})
	return delivery{orderID: id, body: body, header: webhooktest.SignStandardWebhook(secret, "msg_"+id, time.Now(), body)}
}

// app is one instance of a host app: its own client, store, middleware,
// webhook receiver and reporter, as a separate process would have.
type app struct {
	name    string
	store   *redisstore.Store
	handler http.Handler // the whole app: /admin/ (reporter), the rest through the middleware
	rp      *report.Reporter

	mu        sync.Mutex
	checkouts []delivery // what the checkout handed the payment provider
	hooks     map[string]int
}

// patient is the store deadline of an app in a test that is not about
// deadlines, and how long such a test waits for something that must
// happen: long enough for a loaded machine, short enough that a hang
// still fails the test.
const patient = 30 * time.Second

type appConfig struct {
	secret       string
	prefix       string
	storeTimeout time.Duration // middleware.Config.StoreTimeout
	cooldown     time.Duration // middleware.Config.BreakerCooldown
	// webhookTimeout is webhook.Config.StoreTimeout; default patient.
	webhookTimeout time.Duration
	onError        func(error)
}

// newApp wires an instance as the README's quick start does: GET
// /events/{slug} serves the event page; POST /events/{slug}/checkout reads
// the visit from the context and hands its session reference to the
// payment provider (here: builds the signed order webhook the provider will
// send, recorded in checkouts, and answers its order id); POST
// /webhooks/orders is the receiver; /admin/ the reporter.
func newApp(t testing.TB, name string, rdb redis.UniversalClient, cfg appConfig) *app {
	t.Helper()
	a := &app{name: name, store: redisstoretest.New(rdb, redisstore.Options{Prefix: cfg.prefix}), hooks: map[string]int{}}
	mw, err := middleware.New(middleware.Config{
		Store: a.store, SessionKeys: sessionKeys, Insecure: true,
		StoreTimeout: cfg.storeTimeout, BreakerCooldown: cfg.cooldown,
		Hooks: tracklink.Hooks{OnError: func(_ context.Context, err error) {
			if cfg.onError != nil {
				cfg.onError(err)
			}
		}},
	})
	if err != nil {
		t.Fatal(err)
	}
	hook := func(tracklink.HookKind) func(context.Context, tracklink.Attribution) error {
		return func(_ context.Context, at tracklink.Attribution) error {
			a.mu.Lock()
			a.hooks[at.OrderID]++
			a.mu.Unlock()
			return nil
		}
	}
	wh, err := webhook.NewHandler(webhook.Config{
		Store: a.store, Provider: webhook.MustStandardWebhooks(cfg.secret), StoreTimeout: cmp.Or(cfg.webhookTimeout, patient),
		// a delivery cut off by a failover between its hook and its ack
		// holds the hook until its lease ends: keep that within the
		// drills' retry window
		HookLease: 2 * time.Second,
		Hooks:     tracklink.Hooks{OnAttributed: hook(tracklink.HookAttributed), OnUnattributed: hook(tracklink.HookUnattributed)},
	})
	if err != nil {
		t.Fatal(err)
	}
	a.rp, err = report.New(report.Config{Store: a.store})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(a.rp.Close)

	site := http.NewServeMux()
	site.HandleFunc("GET /events/{slug}", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, eventPage) })
	site.HandleFunc("POST /events/{slug}/checkout", func(w http.ResponseWriter, r *http.Request) {
		v, _ := tracklink.FromContext(r.Context())
		id := r.URL.Query().Get("order")
		if id == "" {
			http.Error(w, "no order id", http.StatusBadRequest)
			return
		}
		d := orderDelivery(cfg.secret, id, v.Session, r.PathValue("slug"), 2)
		a.mu.Lock()
		a.checkouts = append(a.checkouts, d)
		a.mu.Unlock()
		io.WriteString(w, id)
	})
	site.Handle("POST /webhooks/orders", wh)
	root := http.NewServeMux()
	root.Handle("/admin/", http.StripPrefix("/admin", a.rp.Handler(func(*http.Request) bool { return true })))
	root.Handle("/", mw.Handler(site))
	a.handler = root
	return a
}

// lastCheckout returns the delivery the last checkout built.
func (a *app) lastCheckout(t testing.TB) delivery {
	t.Helper()
	a.mu.Lock()
	defer a.mu.Unlock()
	if len(a.checkouts) == 0 {
		t.Fatalf("%s: no checkout", a.name)
	}
	return a.checkouts[len(a.checkouts)-1]
}

// lastCheckoutOf returns the delivery the checkout of order id built.
func (a *app) lastCheckoutOf(id string) delivery {
	a.mu.Lock()
	defer a.mu.Unlock()
	for i := len(a.checkouts) - 1; i >= 0; i-- {
		if a.checkouts[i].orderID == id {
			return a.checkouts[i]
		}
	}
	return delivery{}
}

func (a *app) server(t testing.TB) *httptest.Server {
	srv := httptest.NewServer(a.handler)
	t.Cleanup(srv.Close)
	return srv
}

// landing is a browser's GET of an event page.
func landing(url string) *http.Request {
	r, _ := http.NewRequest(http.MethodGet, url, nil)
	r.Header.Set("User-Agent", safariUA)
	r.Header.Set("Accept", "text/html,application/xhtml+xml")
	return r
}

func sum(rows []tracklink.SourceCounts) (c tracklink.Counts) {
	for _, r := range rows {
		c.Add(r.Counts)
	}
	return c
}

func byKey(rows []tracklink.SourceCounts) map[string]tracklink.Counts {
	m := map[string]tracklink.Counts{}
	for _, r := range rows {
		m[r.Key] = r.Counts
	}
	return m
}
