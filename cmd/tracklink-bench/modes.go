package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/tracklink/tracklink/webhook/webhooktest"
)

type kind int

const (
	kindBare kind = iota
	kindTracklink
	kindNaive
	kindWebhook
)

// mode is one server setup and the request the load sends it.
type mode struct {
	name  string
	kind  kind
	redis bool // the server uses Redis
	// returning: each connection lands once first and sends that session's
	// cookie on every request; session: the same, for the session id its
	// orders refer to.
	returning, session bool
	// newVisitor: every response must set a session cookie; untracked:
	// none may.
	newVisitor, untracked bool
	peer                  string // the do-it-yourself mode to compare with
	what                  string // for the table's legend
}

var modes = []mode{
	{name: "bare", kind: kindBare, what: "a handler writing a small HTML page, no middleware"},
	{name: "untracked", kind: kindTracklink, untracked: true,
		what: "tracklink middleware (memstore), a page navigated to from the own site: not tracked"},
	{name: "tracked-new-memstore", kind: kindTracklink, newVisitor: true, peer: "naive-redis-new",
		what: "event page, a new visitor each request (no cookie), memstore"},
	{name: "tracked-new-redis", kind: kindTracklink, redis: true, newVisitor: true, peer: "naive-redis-new",
		what: "event page, a new visitor each request (no cookie), redisstore"},
	{name: "naive-redis-new", kind: kindNaive, redis: true, newVisitor: true,
		what: "gorilla/sessions + hand-written Redis store (JSON), no cookie: one SET"},
	{name: "tracked-returning-redis", kind: kindTracklink, redis: true, returning: true, peer: "naive-redis-cookie",
		what: "event page with the connection's session cookie (a reload), redisstore"},
	{name: "naive-redis-cookie", kind: kindNaive, redis: true, returning: true,
		what: "gorilla/sessions + hand-written Redis store (JSON), with its cookie: GET + SET"},
	{name: "order-webhook-redis", kind: kindWebhook, redis: true, session: true,
		what: "signed Standard Webhooks order.completed, a new order id each, redisstore"},
}

func modeByName(name string) (mode, bool) {
	for _, m := range modes {
		if m.name == name {
			return m, true
		}
	}
	return mode{}, false
}

const browserUA = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1"

// landing is a browser's top-level navigation to an event page from
// Instagram, with a promoter link on every other connection.
func landing(base string, conn int) *http.Request {
	ev := events[conn%len(events)]
	url := base + "/events/" + ev
	if conn%2 == 0 {
		url += fmt.Sprintf("?promoter=p%03d", conn%50)
	}
	r, _ := http.NewRequest(http.MethodGet, url, nil)
	setBrowser(r.Header, "cross-site")
	r.Header.Set("Referer", "https://l.instagram.com/")
	return r
}

func setBrowser(h http.Header, site string) {
	h.Set("User-Agent", browserUA)
	h.Set("Accept", "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8")
	h.Set("Accept-Language", "en-GB,en;q=0.9")
	h.Set("Sec-Fetch-Dest", "document")
	h.Set("Sec-Fetch-Mode", "navigate")
	h.Set("Sec-Fetch-Site", site)
}

// ownPage is a navigation within the site: not a landing.
func ownPage(base string) *http.Request {
	r, _ := http.NewRequest(http.MethodGet, base+"/about", nil)
	setBrowser(r.Header, "same-origin")
	r.Header.Set("Referer", base+"/")
	return r
}

func orderBody(id, session, event string) []byte {
	b, _ := json.Marshal(map[string]any{"type": "order.completed", "data": map[string]any{
		"order_id": id, "session_ref": session, "event": event, "currency": "EUR",
		"lines": []map[string]any{{"kind": "primary", "ticket_type": "GA", "quantity": 1 + len(id)%4, "unit_amount": 2500}},
	}})
	return b
}

func orderRequest(base, secret, id, session, event string) *http.Request {
	body := orderBody(id, session, event)
	r, _ := http.NewRequest(http.MethodPost, base+"/webhooks/orders", bytes.NewReader(body))
	for k, v := range webhooktest.SignStandardWebhook(secret, "msg_"+id, time.Now(), body) {
		r.Header[k] = v
	}
	r.Header.Set("Content-Type", "application/json")
	return r
}
