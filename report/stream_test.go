package report_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tracklink/tracklink"
	"github.com/tracklink/tracklink/adapters/memstore"
	"github.com/tracklink/tracklink/adapters/pgstore"
	"github.com/tracklink/tracklink/adapters/redisstore"
	"github.com/tracklink/tracklink/internal/pgtest"
	"github.com/tracklink/tracklink/internal/redisstoretest"
	"github.com/tracklink/tracklink/internal/redistest"
	"github.com/tracklink/tracklink/report"
	"github.com/tracklink/tracklink/webhook"
	"github.com/tracklink/tracklink/webhook/webhooktest"
)

func allow(*http.Request) bool { return true }

// sseEvent reads the next event of an SSE stream.
func sseEvent(t *testing.T, sc *bufio.Scanner) (kind string, data []byte) {
	t.Helper()
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "event: "):
			kind = strings.TrimPrefix(line, "event: ")
		case strings.HasPrefix(line, "data: "):
			data = []byte(strings.TrimPrefix(line, "data: "))
		case line == "" && kind != "":
			return kind, data
		}
	}
	t.Fatalf("stream ended: %v", sc.Err())
	return "", nil
}

// streamWait bounds how long a test waits on a stream: generous, so only a
// stream that never delivers reaches it.
const streamWait = 30 * time.Second

// openStream opens an SSE stream whose request ends at streamWait: a read
// still waiting then fails with the deadline's error.
func openStream(t *testing.T, url string) (*bufio.Scanner, func()) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), streamWait)
	req, _ := http.NewRequestWithContext(ctx, "GET", url, nil)
	res, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, res.StatusCode)
	require.Equal(t, "text/event-stream", res.Header.Get("Content-Type"))
	return bufio.NewScanner(res.Body), func() { cancel(); res.Body.Close() }
}

// TestStreamAcrossInstances: two app instances share one Redis; the order
// webhook lands on instance A, and a dashboard streaming from instance B
// sees the attribution.
func TestStreamAcrossInstances(t *testing.T) {
	t.Run("redis", func(t *testing.T) {
		rdb, _ := redistest.Client(t)
		prefix := redistest.Prefix(t, rdb)
		testStreamAcrossInstances(t, func() fullStore { return redisstoretest.New(rdb, redisstore.Options{Prefix: prefix}) })
	})
	// the ledger on PostgreSQL: LISTEN/NOTIFY carries the change
	t.Run("postgres", func(t *testing.T) {
		schema := pgtest.Schema(t)
		testStreamAcrossInstances(t, func() fullStore {
			return tracklink.Compose(memstore.New(), pgtest.Instance(t, schema, pgstore.Options{}), tracklink.ComposeOptions{FlushInterval: -1})
		})
	})
}

func testStreamAcrossInstances(t *testing.T, newStore func() fullStore) {
	secret := webhooktest.NewStandardWebhookSecret()
	instance := func() (http.Handler, *report.Reporter) {
		s := newStore()
		// A generous StoreTimeout: this test is about the stream, and a
		// loaded machine must not turn the delivery into a 503.
		wh, err := webhook.NewHandler(webhook.Config{Store: s, Provider: webhook.MustStandardWebhooks(secret), StoreTimeout: streamWait})
		require.NoError(t, err)
		rp, err := report.New(report.Config{Store: s})
		require.NoError(t, err)
		return wh, rp
	}
	whA, _ := instance()
	_, rpB := instance()
	srvB := httptest.NewServer(rpB.Handler(allow))
	defer srvB.Close()

	sc, stop := openStream(t, srvB.URL+"/stream")
	defer stop()

	body := []byte(`{"type":"order.completed","data":{"order_id":"ord_live","event":"summer-fest","currency":"EUR","lines":[{"kind":"primary","quantity":3,"unit_amount":1000}]}}`)
	req := httptest.NewRequest("POST", "/webhooks/orders", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	for k, v := range webhooktest.SignStandardWebhook(secret, "msg_live", time.Now(), body) {
		req.Header[k] = v
	}
	rec := httptest.NewRecorder()
	whA.ServeHTTP(rec, req)
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())

	// The stream's deadline bounds the wait: sseEvent fails the test with
	// the deadline's error if instance B never shows the order.
	kind, data := sseEvent(t, sc)
	var a tracklink.Attribution
	require.NoError(t, json.Unmarshal(data, &a))
	assert.Equal(t, "unattributed", kind)
	assert.Equal(t, "ord_live", a.OrderID)
	assert.Equal(t, 3, a.Tickets)
}

// TestStreamCloseAndAuth: Close ends open streams (so http.Server.Shutdown
// does not wait on them), and the API refuses unauthorised requests.
func TestStreamCloseAndAuth(t *testing.T) {
	rp, err := report.New(report.Config{Store: memstore.New()})
	require.NoError(t, err)
	srv := httptest.NewServer(rp.Handler(func(r *http.Request) bool { return r.Header.Get("X-Admin") == "" && r.URL.Query().Get("k") == "ok" }))
	defer srv.Close()

	res, err := http.Get(srv.URL + "/stream")
	require.NoError(t, err)
	res.Body.Close()
	assert.Equal(t, http.StatusForbidden, res.StatusCode)

	sc, stop := openStream(t, srv.URL+"/stream?k=ok")
	defer stop()
	rp.Close()
	for sc.Scan() {
	}
	// A stream Close did not end runs to the request's deadline and ends
	// with its error; one Close ended is a clean end of the body.
	assert.NoError(t, sc.Err(), "Close did not end the stream")
	assert.Panics(t, func() { rp.Handler(nil) }, "no open admin by accident")
}

func TestHTTPAPI(t *testing.T) {
	s := memstore.New()
	rp := fixture(t, s)
	srv := httptest.NewServer(rp.Handler(allow))
	defer srv.Close()
	call := func(method, path, body string) (int, map[string]any) {
		req, _ := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
		if body != "" {
			req.Header.Set("Content-Type", "application/json")
		}
		res, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		defer res.Body.Close()
		var m map[string]any
		json.NewDecoder(res.Body).Decode(&m)
		return res.StatusCode, m
	}
	code, m := call("GET", "/traffic/summer-fest", "")
	require.Equal(t, 200, code)
	assert.EqualValues(t, 13, m["total"].(map[string]any)["visits"])

	code, m = call("POST", "/promoters", `{"code":"Dee","name":"Dee Jay","groups":["vip"],"events":["summer-fest"]}`)
	require.Equal(t, 200, code)
	assert.Equal(t, "https://tickets.example/events/summer-fest?promoter=dee", m["links"].(map[string]any)["summer-fest"])
	code, _ = call("POST", "/promoters", `{"code":"bad code!","name":"x"}`)
	assert.Equal(t, 400, code)
	code, _ = call("POST", "/promoters", `{"code":"x","name":"x","extra":1}`)
	assert.Equal(t, 400, code, "unknown fields are refused")

	// Input the store refuses is the client's fault, not an outage.
	code, _ = call("GET", "/promoters/ana?from=2024-99-01", "")
	assert.Equal(t, http.StatusBadRequest, code)
	code, _ = call("GET", "/traffic/summer-fest?from=2024-01-01", "")
	assert.Equal(t, http.StatusBadRequest, code, "from without to")
	code, _ = call("POST", "/promoters", `{"code":"eve","name":"Eve","promo_codes":["ANA10"]}`)
	assert.Equal(t, http.StatusConflict, code, "ana owns that promo code")

	code, m = call("GET", "/promoters?q=dee", "")
	require.Equal(t, 200, code)
	assert.Len(t, m["promoters"], 1)

	code, m = call("DELETE", "/promoters/dee", "")
	require.Equal(t, http.StatusConflict, code)
	token, _ := m["confirm"].(string)
	require.NotEmpty(t, token)
	code, _ = call("DELETE", "/promoters/dee?confirm="+token, "")
	assert.Equal(t, http.StatusNoContent, code)
	code, _ = call("GET", "/promoters/dee", "")
	assert.Equal(t, http.StatusNotFound, code)

	code, m = call("POST", "/links", `{"event":"winter-gala","name":"Press","utm":{"source":"press","medium":"article"}}`)
	require.Equal(t, http.StatusCreated, code)
	short := m["short_url"].(string)
	id := m["id"].(string)
	assert.Equal(t, "https://tickets.example/t/"+id, short)

	redirect := httptest.NewServer(rp.ShortLinkHandler())
	defer redirect.Close()
	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	res, err := noFollow.Get(redirect.URL + "/t/" + id)
	require.NoError(t, err)
	res.Body.Close()
	assert.Equal(t, http.StatusFound, res.StatusCode)
	assert.Equal(t, "/events/winter-gala?utm_medium=article&utm_source=press", res.Header.Get("Location"), "same-origin path only")
	res, err = noFollow.Get(redirect.URL + "/t/nope")
	require.NoError(t, err)
	res.Body.Close()
	assert.Equal(t, http.StatusNotFound, res.StatusCode)

	res, err = http.Get(srv.URL + "/orders.csv?event=summer-fest")
	require.NoError(t, err)
	defer res.Body.Close()
	assert.Equal(t, "text/csv; charset=utf-8", res.Header.Get("Content-Type"))
	assert.Contains(t, res.Header.Get("Content-Disposition"), "orders-summer-fest.csv")
}
