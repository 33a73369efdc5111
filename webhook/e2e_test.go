package webhook_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/tracklink/tracklink"
	"github.com/tracklink/tracklink/adapters/memstore"
	"github.com/tracklink/tracklink/adapters/redisstore"
	"github.com/tracklink/tracklink/internal/pgtest"
	"github.com/tracklink/tracklink/internal/redisstoretest"
	"github.com/tracklink/tracklink/internal/redistest"
	"github.com/tracklink/tracklink/middleware"
	"github.com/tracklink/tracklink/webhook"
	"github.com/tracklink/tracklink/webhook/webhooktest"
)

type e2eStore interface {
	tracklink.Store
	tracklink.ReportStore
}

// TestEndToEnd wires the middleware, a checkout and the webhook as a host
// would, over real HTTP: a browser lands with a promoter link, browses,
// checks out; the checkout hands its session reference to the "payment
// provider", which posts a signed order webhook. The order names the
// promoter. An order from a new browser with no session is direct.
func TestEndToEnd(t *testing.T) {
	stores := map[string]func(t *testing.T) e2eStore{
		"memstore": func(*testing.T) e2eStore { return memstore.New() },
		"redis": func(t *testing.T) e2eStore {
			rdb, _ := redistest.Client(t)
			return redisstoretest.New(rdb, redisstore.Options{Prefix: redistest.Prefix(t, rdb)})
		},
		"postgres": func(t *testing.T) e2eStore { return pgtest.Composed(t) },
	}
	for name, mk := range stores {
		t.Run(name, func(t *testing.T) { testEndToEnd(t, mk(t)) })
	}
}

func testEndToEnd(t *testing.T, store e2eStore) {
	secret := webhooktest.NewStandardWebhookSecret()
	// Generous store deadlines: this test is about attribution, and the
	// middleware's 50 ms default would let a loaded machine fail a landing
	// open (no stamp) and credit the order to direct.
	const patient = 30 * time.Second
	mw, err := middleware.New(middleware.Config{Store: store, SessionKeys: [][]byte{[]byte("0123456789abcdef0123456789abcdef"), nil}, Insecure: true,
		StoreTimeout: patient})
	if err != nil {
		t.Fatal(err)
	}
	wh, err := webhook.NewHandler(webhook.Config{Store: store, Provider: webhook.MustStandardWebhooks(secret), StoreTimeout: patient})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	srv := httptest.NewServer(mw.Handler(mux))
	defer srv.Close()
	orders := 0
	mux.HandleFunc("GET /events/{slug}", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "event page") })
	mux.HandleFunc("GET /", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "home") })
	mux.HandleFunc("POST /events/{slug}/checkout", func(w http.ResponseWriter, r *http.Request) {
		v, _ := tracklink.FromContext(r.Context())
		orders++
		id := fmt.Sprintf("ord_%d", orders)
		body, _ := json.Marshal(map[string]any{"type": "order.completed", "data": map[string]any{
			"order_id": id, "session_ref": v.Session, "event": r.PathValue("slug"), "currency": "EUR",
			"lines": []map[string]any{{"kind": "primary", "ticket_type": "GA", "quantity": 2, "unit_amount": 2500}},
		}})
		// The payment provider calls back over HTTP, signed.
		req, _ := http.NewRequest("POST", srv.URL+"/webhooks/orders", bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		for k, vs := range webhooktest.SignStandardWebhook(secret, "msg_"+id, time.Now(), body) {
			req.Header[k] = vs
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			http.Error(w, err.Error(), 500)
			return
		}
		res.Body.Close()
		w.WriteHeader(res.StatusCode)
		io.WriteString(w, id)
	})
	mux.Handle("POST /webhooks/orders", wh)

	newBrowser := func() *http.Client {
		jar, _ := cookiejar.New(nil)
		return &http.Client{Jar: jar}
	}
	do := func(c *http.Client, method, path, referer string) string {
		t.Helper()
		req, _ := http.NewRequest(method, srv.URL+path, nil)
		req.Header.Set("User-Agent", "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1")
		req.Header.Set("Accept", "text/html")
		if referer != "" {
			req.Header.Set("Referer", referer)
		}
		res, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		if res.StatusCode != http.StatusOK {
			t.Fatalf("%s %s: %d %s", method, path, res.StatusCode, b)
		}
		return strings.TrimSpace(string(b))
	}

	b := newBrowser()
	do(b, "GET", "/events/summer-fest?promoter=ana", "https://l.instagram.com/")
	do(b, "GET", "/", srv.URL+"/events/summer-fest")
	do(b, "GET", "/events/summer-fest", srv.URL+"/")
	id := do(b, "POST", "/events/summer-fest/checkout", srv.URL+"/events/summer-fest")
	a, ok, err := store.Attribution(t.Context(), id)
	if err != nil || !ok {
		t.Fatalf("Attribution(%s) = %v, %v", id, ok, err)
	}
	if a.Touch.Channel != tracklink.ChannelPromoter || a.Touch.Promoter != "ana" || a.Rule != tracklink.RuleEventTouch || a.Tickets != 2 {
		t.Errorf("attribution = %+v; want 2 tickets credited to promoter ana by the event touch", a)
	}
	if a.Session == "" {
		t.Error("the order carries no session reference")
	}

	// The browser was closed: a new one with no session buys.
	id = do(newBrowser(), "POST", "/events/summer-fest/checkout", "")
	a, ok, err = store.Attribution(t.Context(), id)
	if err != nil || !ok {
		t.Fatalf("Attribution(%s) = %v, %v", id, ok, err)
	}
	if a.Touch.Channel != tracklink.ChannelDirect || a.Rule != tracklink.RuleNoTouch {
		t.Errorf("attribution = %+v; want direct with no touch", a)
	}
	traffic, err := store.EventTraffic(t.Context(), "summer-fest", "", "")
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]int64{}
	for _, s := range traffic {
		got[s.Key] = s.Orders
	}
	if got["promoter|ana"] != 1 || got["direct|direct"] != 1 {
		t.Errorf("orders by source = %v", got)
	}
}
