package scaletest

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"strings"
	"testing"

	"github.com/tracklink/tracklink"
	"github.com/tracklink/tracklink/internal/redistest"
	"github.com/tracklink/tracklink/webhook/webhooktest"
)

// TestTwoInstancesOneCluster runs two instances of a host app, A and B,
// each with its own ClusterClient, middleware, webhook receiver and
// reporter, on one Redis Cluster, as two processes behind a load balancer
// would. A visitor lands on A by ana's promoter link and checks out on B
// (the cookie jar keys cookies by host, not port, so both instances see the
// same cookie, as behind one hostname). The payment provider delivers the
// order webhook to A, then delivers it again to B. The order is attributed
// exactly once, to ana, visible from both instances' stores, and B's live
// stream shows it once: the next event it shows is a later order's.
func TestTwoInstancesOneCluster(t *testing.T) {
	seed := redistest.Cluster(t)
	seeds := seed.Options().Addrs
	prefix := redistest.Prefix(t, seed)
	cfg := appConfig{secret: webhooktest.NewStandardWebhookSecret(), prefix: prefix, storeTimeout: patient}
	a := newApp(t, "A", redistest.NewClusterClient(t, seeds), cfg)
	b := newApp(t, "B", redistest.NewClusterClient(t, seeds), cfg)
	srvA, srvB := a.server(t), b.server(t)
	ctx := t.Context()
	// ana is a registered promoter (stores keep promoter visit figures for
	// registered codes only).
	if err := a.store.SavePromoter(ctx, tracklink.Promoter{Code: "ana", Name: "Ana"}); err != nil {
		t.Fatal(err)
	}

	// B's dashboard streams live sales. The stream's deadline bounds the
	// waits for its events: when it passes the stream ends and events is
	// closed.
	streamCtx, stopStream := context.WithTimeout(ctx, patient)
	defer stopStream()
	req, _ := http.NewRequestWithContext(streamCtx, http.MethodGet, srvB.URL+"/admin/stream", nil)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK || res.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("stream: %d %s", res.StatusCode, res.Header.Get("Content-Type"))
	}
	type sse struct {
		kind string
		a    tracklink.Attribution
	}
	events := make(chan sse, 8)
	go func() {
		defer close(events)
		sc := bufio.NewScanner(res.Body)
		var kind string
		for sc.Scan() {
			line := sc.Text()
			switch {
			case strings.HasPrefix(line, "event: "):
				kind = strings.TrimPrefix(line, "event: ")
			case strings.HasPrefix(line, "data: ") && kind != "":
				var at tracklink.Attribution
				_ = json.Unmarshal([]byte(strings.TrimPrefix(line, "data: ")), &at)
				events <- sse{kind, at}
				kind = ""
			}
		}
	}()

	jar, _ := cookiejar.New(nil)
	browser := &http.Client{Jar: jar}
	do := func(r *http.Request) string {
		t.Helper()
		res, err := browser.Do(r)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		body, _ := io.ReadAll(res.Body)
		if res.StatusCode != http.StatusOK {
			t.Fatalf("%s %s: %d %s", r.Method, r.URL, res.StatusCode, body)
		}
		return string(body)
	}

	// Lands on A by ana's link; browses on B; checks out on B.
	if got := do(landing(srvA.URL + "/events/summer-fest?promoter=ana")); got != eventPage {
		t.Fatalf("event page on A = %q", got)
	}
	do(landing(srvB.URL + "/events/summer-fest"))
	checkout, _ := http.NewRequest(http.MethodPost, srvB.URL+"/events/summer-fest/checkout?order=ord_multi_1", nil)
	checkout.Header.Set("User-Agent", safariUA)
	do(checkout)
	d := b.lastCheckout(t)

	// The provider delivers to A, then redelivers the same message to B.
	for _, srv := range []string{srvA.URL, srvB.URL} {
		res, err := http.DefaultClient.Do(d.request(srv))
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != http.StatusOK {
			t.Fatalf("delivery to %s: %d %s", srv, res.StatusCode, body)
		}
	}

	// One attribution, to ana, the same from both instances.
	for _, inst := range []*app{a, b} {
		at, ok, err := inst.store.Attribution(ctx, "ord_multi_1")
		if err != nil || !ok {
			t.Fatalf("%s: Attribution = %v, %v", inst.name, ok, err)
		}
		if at.Touch.Channel != tracklink.ChannelPromoter || at.Touch.Promoter != "ana" || at.Rule != tracklink.RuleEventTouch || at.Session == "" {
			t.Errorf("%s: attribution = %+v; want promoter ana by the event touch", inst.name, at)
		}
		rows, err := inst.store.EventTraffic(ctx, "summer-fest", "", "")
		if err != nil {
			t.Fatal(err)
		}
		ana := byKey(rows)["promoter|ana"]
		if ana.Visits != 1 || ana.Orders != 1 || ana.Tickets != 2 || ana.Revenue["EUR"] != 5000 {
			t.Errorf("%s: promoter|ana = %+v; want 1 visit, 1 order, 2 tickets, 5000 EUR", inst.name, ana)
		}
		if tot := sum(rows); tot.Orders != 1 || tot.Visits != 1 {
			t.Errorf("%s: totals = %+v (rows %+v); want 1 visit (the browse on B was not a new visit) and 1 order", inst.name, tot, rows)
		}
		stats, err := inst.store.PromoterStats(ctx, []string{"ana"})
		if err != nil || stats[0].Totals.Orders != 1 || stats[0].Totals.Visits != 1 {
			t.Errorf("%s: PromoterStats = %+v, %v", inst.name, stats, err)
		}
		n := 0
		if err := inst.store.Orders(ctx, "", func(tracklink.Attribution) error { n++; return nil }); err != nil || n != 1 {
			t.Errorf("%s: Orders walked %d, %v; want 1", inst.name, n, err)
		}
	}
	a.mu.Lock()
	hooksA := a.hooks["ord_multi_1"]
	a.mu.Unlock()
	b.mu.Lock()
	hooksB := b.hooks["ord_multi_1"]
	b.mu.Unlock()
	if hooksA != 1 || hooksB != 0 {
		t.Errorf("OnAttributed ran %d times on A and %d on B; want once, on A (the redelivery is a duplicate)", hooksA, hooksB)
	}

	// B's stream saw the sale, once: after it, the next event is that of
	// a later order (both are published from the node of the order slot,
	// in the order they were recorded), not a second one for the sale.
	next := func(what string) sse {
		t.Helper()
		e, ok := <-events
		if !ok {
			t.Fatalf("B's stream ended (its %v deadline passed) before %s", patient, what)
		}
		return e
	}
	if e := next("showing the sale recorded through A"); e.kind != string(tracklink.HookAttributed) || e.a.OrderID != "ord_multi_1" || e.a.Touch.Promoter != "ana" {
		t.Errorf("stream event = %s %+v", e.kind, e.a)
	}
	later := orderDelivery(cfg.secret, "ord_multi_2", "", "summer-fest", 1)
	lres, err := http.DefaultClient.Do(later.request(srvB.URL))
	if err != nil {
		t.Fatal(err)
	}
	lres.Body.Close()
	if lres.StatusCode != http.StatusOK {
		t.Fatalf("delivery of the later order: %d", lres.StatusCode)
	}
	if e := next("showing the later order"); e.a.OrderID != "ord_multi_2" {
		t.Errorf("B's stream showed %s %+v before the later order; want the sale only once", e.kind, e.a)
	}
}
