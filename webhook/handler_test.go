package webhook

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tracklink/tracklink"
	"github.com/tracklink/tracklink/adapters/memstore"
)

// testStore is what the handler tests read back from.
type testStore interface {
	tracklink.Store
	tracklink.ReportStore
}

func newMemstore(t *testing.T) testStore {
	return memstore.NewWithOptions(memstore.Options{Now: clockAt(t0)})
}

// failingStore is a tracklink.Store that fails the operations named in
// fail (and otherwise delegates to a memstore), to check that store errors
// answer 503 and change nothing.
type failingStore struct {
	testStore
	mu   sync.Mutex
	fail map[string]bool
}

var errDown = errors.New("store down")

func (s *failingStore) failing(op string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.fail[op]
}

func (s *failingStore) set(op string, on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.fail[op] = on
}

func (s *failingStore) Touches(ctx context.Context, session, event string) (*tracklink.Touch, *tracklink.Touch, error) {
	if s.failing("touches") {
		return nil, nil, errDown
	}
	return s.testStore.Touches(ctx, session, event)
}

func (s *failingStore) Record(ctx context.Context, a tracklink.Attribution) (tracklink.Record, error) {
	if s.failing("record") {
		return tracklink.Record{}, errDown
	}
	return s.testStore.Record(ctx, a)
}

func (s *failingStore) Refund(ctx context.Context, id string, at time.Time) (tracklink.Record, bool, error) {
	if s.failing("refund") {
		return tracklink.Record{}, false, errDown
	}
	return s.testStore.Refund(ctx, id, at)
}

func (s *failingStore) Ack(ctx context.Context, id string, kind tracklink.HookKind) error {
	if s.failing("ack") {
		return errDown
	}
	return s.testStore.Ack(ctx, id, kind)
}

func (s *failingStore) PromoterByPromoCode(ctx context.Context, promo string) (string, bool, error) {
	if s.failing("promo") {
		return "", false, errDown
	}
	return s.testStore.PromoterByPromoCode(ctx, promo)
}

// hookLog records hook calls.
type hookLog struct {
	mu      sync.Mutex
	calls   map[tracklink.HookKind][]string // order ids, in call order
	errs    []error
	failing map[tracklink.HookKind]bool
}

func newHookLog() *hookLog {
	return &hookLog{calls: map[tracklink.HookKind][]string{}, failing: map[tracklink.HookKind]bool{}}
}

func (l *hookLog) hook(kind tracklink.HookKind) func(context.Context, tracklink.Attribution) error {
	return func(_ context.Context, a tracklink.Attribution) error {
		l.mu.Lock()
		defer l.mu.Unlock()
		l.calls[kind] = append(l.calls[kind], a.OrderID)
		if l.failing[kind] {
			return errors.New("host is down")
		}
		return nil
	}
}

func (l *hookLog) hooks() tracklink.Hooks {
	return tracklink.Hooks{
		OnAttributed:   l.hook(tracklink.HookAttributed),
		OnUnattributed: l.hook(tracklink.HookUnattributed),
		OnRefunded:     l.hook(tracklink.HookRefunded),
		OnError: func(_ context.Context, err error) {
			l.mu.Lock()
			l.errs = append(l.errs, err)
			l.mu.Unlock()
		},
	}
}

func (l *hookLog) count(kind tracklink.HookKind) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.calls[kind])
}

func (l *hookLog) setFailing(kind tracklink.HookKind, on bool) {
	l.mu.Lock()
	l.failing[kind] = on
	l.mu.Unlock()
}

func (l *hookLog) errors() []error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]error(nil), l.errs...)
}

func newStdHandler(t *testing.T, s tracklink.Store, hooks tracklink.Hooks, mut ...func(*Config)) http.Handler {
	t.Helper()
	cfg := Config{Store: s, Provider: MustStandardWebhooks(stdSecretA), Hooks: hooks, Now: clockAt(t0)}
	for _, m := range mut {
		m(&cfg)
	}
	h, err := NewHandler(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// eventCounts sums an event's EventTraffic rows (all time).
func eventCounts(t *testing.T, s testStore, event string) tracklink.Counts {
	t.Helper()
	rows, err := s.EventTraffic(context.Background(), event, "", "")
	if err != nil {
		t.Fatal(err)
	}
	var c tracklink.Counts
	for _, r := range rows {
		c.Add(r.Counts)
	}
	return c
}

func TestNewHandlerConfig(t *testing.T) {
	if _, err := NewHandler(Config{Provider: MustStandardWebhooks(stdSecretA)}); err == nil {
		t.Error("no store accepted")
	}
	if _, err := NewHandler(Config{Store: newMemstore(t)}); err == nil {
		t.Error("no provider accepted")
	}
	if _, err := NewHandler(Config{Store: newMemstore(t), Provider: MustStandardWebhooks(stdSecretA), StoreTimeout: -1}); err == nil {
		t.Error("negative StoreTimeout accepted")
	}
}

// TestHandlerStatus is the status-code table: one request each, on a
// fresh store.
func TestHandlerStatus(t *testing.T) {
	good := completedBody("ord_1", "", "summer-fest", 2)
	tests := []struct {
		name     string
		req      func() *http.Request
		cfg      func(*Config)
		want     int
		status   string // JSON status for 2xx
		wantBody string // substring of a plain-text answer
	}{
		{name: "valid order", req: func() *http.Request { return stdRequest(stdSecretA, t0, good) }, want: 200, status: statusAttributed},
		{name: "charset param is fine", req: func() *http.Request {
			r := stdRequest(stdSecretA, t0, good)
			r.Header.Set("Content-Type", "Application/JSON; charset=utf-8")
			return r
		}, want: 200, status: statusAttributed},

		// Method and media type.
		{name: "GET", req: func() *http.Request { return httptest.NewRequest("GET", "/webhooks/orders", nil) }, want: 405},
		{name: "PUT", req: func() *http.Request { r := stdRequest(stdSecretA, t0, good); r.Method = "PUT"; return r }, want: 405},
		{name: "text/plain", req: func() *http.Request {
			r := stdRequest(stdSecretA, t0, good)
			r.Header.Set("Content-Type", "text/plain")
			return r
		}, want: 415},
		{name: "no content type", req: func() *http.Request {
			r := stdRequest(stdSecretA, t0, good)
			r.Header.Del("Content-Type")
			return r
		}, want: 415},
		{name: "form", req: func() *http.Request {
			r := stdRequest(stdSecretA, t0, good)
			r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			return r
		}, want: 415},

		// Size.
		{name: "body over the limit", cfg: func(c *Config) { c.MaxBodyBytes = 64 }, req: func() *http.Request { return stdRequest(stdSecretA, t0, good) }, want: 413},
		{name: "chunked body over the limit", cfg: func(c *Config) { c.MaxBodyBytes = 64 }, req: func() *http.Request {
			r := stdRequest(stdSecretA, t0, good)
			r.ContentLength = -1
			r.Body = io.NopCloser(io.MultiReader(bytes.NewReader(good)))
			return r
		}, want: 413},
		{name: "body at the limit", cfg: func(c *Config) { c.MaxBodyBytes = int64(len(good)) }, req: func() *http.Request { return stdRequest(stdSecretA, t0, good) }, want: 200, status: statusAttributed},

		// Signature.
		{name: "unsigned", req: func() *http.Request {
			r := httptest.NewRequest("POST", "/webhooks/orders", bytes.NewReader(good))
			r.Header.Set("Content-Type", "application/json")
			return r
		}, want: 401, wantBody: "no v1 signature"},
		{name: "wrong secret", req: func() *http.Request { return stdRequest(stdSecretB, t0, good) }, want: 401, wantBody: "no valid signature"},
		{name: "stale", req: func() *http.Request { return stdRequest(stdSecretA, t0.Add(-time.Hour), good) }, want: 401, wantBody: "too old"},

		// Payload.
		{name: "malformed JSON", req: func() *http.Request { return stdRequest(stdSecretA, t0, []byte(`{"type":`)) }, want: 400, wantBody: "malformed JSON"},
		{name: "invalid order", req: func() *http.Request {
			return stdRequest(stdSecretA, t0, bytes.Replace(good, []byte(`"resale"`), []byte(`"vip"`), 1))
		}, want: 400, wantBody: "kind"},
		{name: "unknown type", req: func() *http.Request { return stdRequest(stdSecretA, t0, []byte(`{"type":"order.updated","data":{}}`)) }, want: 200, status: statusIgnored},
		{name: "refund of an unknown order", req: func() *http.Request { return stdRequest(stdSecretA, t0, refundedBody("ord_9")) }, want: 202, status: statusRefundPending},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			log := newHookLog()
			h := newStdHandler(t, newMemstore(t), log.hooks(), func(c *Config) {
				if tt.cfg != nil {
					tt.cfg(c)
				}
			})
			w := serve(h, tt.req())
			if w.Code != tt.want {
				t.Fatalf("status %d, want %d: %s", w.Code, tt.want, trimmed(w))
			}
			if tt.want == 405 && w.Header().Get("Allow") != "POST" {
				t.Errorf("Allow %q", w.Header().Get("Allow"))
			}
			if tt.status != "" {
				if res := decodeResult(t, w); res.Status != tt.status {
					t.Errorf("status %q, want %q (%+v)", res.Status, tt.status, res)
				}
			}
			if tt.wantBody != "" && !strings.Contains(w.Body.String(), tt.wantBody) {
				t.Errorf("body %q, want it to mention %q", trimmed(w), tt.wantBody)
			}
			if w.Code >= 400 && w.Code != 405 && w.Code != 415 && len(log.errors()) == 0 {
				t.Errorf("OnError not called for a %d", w.Code)
			}
		})
	}
}

// TestHandlerOnce: duplicates answer 200 duplicate and change nothing; a
// refund reverses once; a refund before its order makes the order count
// nothing.
func TestHandlerOnce(t *testing.T) {
	s := newMemstore(t)
	log := newHookLog()
	h := newStdHandler(t, s, log.hooks())

	body := completedBody("ord_1", "", "summer-fest", 2)
	for i, want := range []string{statusAttributed, statusDuplicate, statusDuplicate} {
		w := serve(h, stdRequest(stdSecretA, t0.Add(time.Duration(i)*time.Second), body))
		if res := decodeResult(t, w); w.Code != 200 || res.Status != want || res.OrderID != "ord_1" || res.Channel != tracklink.ChannelDirect {
			t.Fatalf("delivery %d: %d %+v, want %s", i, w.Code, res, want)
		}
	}
	if c := eventCounts(t, s, "summer-fest"); c.Orders != 1 || c.Tickets != 2 || c.Excluded != 1 || c.Revenue["EUR"] != 5000 {
		t.Fatalf("counts %+v", c)
	}
	if n := log.count(tracklink.HookUnattributed); n != 1 {
		t.Fatalf("OnUnattributed ran %d times", n)
	}

	for i, want := range []string{statusRefunded, statusDuplicate} {
		w := serve(h, stdRequest(stdSecretA, t0, refundedBody("ord_1")))
		if res := decodeResult(t, w); w.Code != 200 || res.Status != want {
			t.Fatalf("refund %d: %d %+v, want %s", i, w.Code, res, want)
		}
	}
	if c := eventCounts(t, s, "summer-fest"); c.Orders != 0 || c.Tickets != 0 || c.Revenue["EUR"] != 0 {
		t.Fatalf("counts after refund %+v", c)
	}
	if n := log.count(tracklink.HookRefunded); n != 1 {
		t.Fatalf("OnRefunded ran %d times", n)
	}
	// A late duplicate of the order reports the refund and counts nothing.
	if res := decodeResult(t, serve(h, stdRequest(stdSecretA, t0, body))); res.Status != statusRefunded {
		t.Fatalf("late duplicate %+v", res)
	}

	// Refund first, then the order.
	if w := serve(h, stdRequest(stdSecretA, t0, refundedBody("ord_2"))); w.Code != 202 {
		t.Fatalf("early refund %d", w.Code)
	}
	w := serve(h, stdRequest(stdSecretA, t0, completedBody("ord_2", "", "summer-fest", 4)))
	if res := decodeResult(t, w); w.Code != 200 || res.Status != statusRefunded {
		t.Fatalf("order after its refund: %d %+v", w.Code, res)
	}
	if c := eventCounts(t, s, "summer-fest"); c.Orders != 0 || c.Tickets != 0 {
		t.Fatalf("an order refunded first counted: %+v", c)
	}
	if log.count(tracklink.HookUnattributed) != 2 || log.count(tracklink.HookRefunded) != 2 {
		t.Fatalf("hooks %v", log.calls)
	}
}

// TestHandlerAttribution: the session's touches, the promo code (which
// outranks them by default) and the site-wide promoter veto.
func TestHandlerAttribution(t *testing.T) {
	s := newMemstore(t)
	ctx := context.Background()
	stamp := func(session string, touch tracklink.Touch) {
		t.Helper()
		if _, err := s.Stamp(ctx, tracklink.Stamp{Session: session, Touch: touch, TTL: 24 * time.Hour}); err != nil {
			t.Fatal(err)
		}
	}
	at := t0.Add(-2 * time.Hour)
	stamp(sessionN(1), tracklink.Touch{Channel: tracklink.ChannelPromoter, Source: "ana", Promoter: "ana", Event: "summer-fest", At: at, Evidence: "param promoter=ana"})
	stamp(sessionN(2), tracklink.Touch{Channel: tracklink.ChannelPromoter, Source: "ben", Promoter: "ben", At: at, Evidence: "param promoter=ben"})
	stamp(sessionN(3), tracklink.Touch{Channel: tracklink.ChannelSocial, Source: "instagram", ReferrerHost: "l.instagram.com", At: at, Evidence: "referrer l.instagram.com"})
	if err := s.SavePromoter(ctx, tracklink.Promoter{Code: "cara", Name: "Cara", PromoCodes: []string{"cara10"}}); err != nil {
		t.Fatal(err)
	}

	log := newHookLog()
	h := newStdHandler(t, s, log.hooks(), func(c *Config) {
		c.AllowPromoter = func(code, event string) bool { return !(code == "ben" && event == "winter-fest") }
	})
	withPromo := func(body []byte, promo string) []byte {
		return bytes.Replace(body, []byte(`"currency":"EUR"`), []byte(`"currency":"EUR","promo_code":"`+promo+`"`), 1)
	}
	tests := []struct {
		name    string
		body    []byte
		channel tracklink.Channel
		source  string
		rule    tracklink.Rule
		hook    tracklink.HookKind
	}{
		{"event touch", completedBody("o1", sessionN(1), "summer-fest", 1), tracklink.ChannelPromoter, "ana", tracklink.RuleEventTouch, tracklink.HookAttributed},
		{"promo code beats another promoter's link", withPromo(completedBody("o2", sessionN(1), "summer-fest", 1), "CARA10"), tracklink.ChannelPromoter, "cara", tracklink.RulePromoCode, tracklink.HookAttributed},
		{"site-wide promoter link", completedBody("o3", sessionN(2), "summer-fest", 1), tracklink.ChannelPromoter, "ben", tracklink.RuleSiteTouch, tracklink.HookAttributed},
		{"site-wide promoter link vetoed", completedBody("o4", sessionN(2), "winter-fest", 1), tracklink.ChannelDirect, "direct", tracklink.RuleNoTouch, tracklink.HookUnattributed},
		{"vetoed, promo code", withPromo(completedBody("o5", sessionN(2), "winter-fest", 1), "Cara10"), tracklink.ChannelPromoter, "cara", tracklink.RulePromoCode, tracklink.HookAttributed},
		{"site-wide social touch", completedBody("o6", sessionN(3), "winter-fest", 1), tracklink.ChannelSocial, "instagram", tracklink.RuleSiteTouch, tracklink.HookAttributed},
		{"no session, promo code", withPromo(completedBody("o7", "", "summer-fest", 1), "cara10"), tracklink.ChannelPromoter, "cara", tracklink.RulePromoCode, tracklink.HookAttributed},
		{"no session, unknown promo code", withPromo(completedBody("o8", "", "summer-fest", 1), "nobody"), tracklink.ChannelDirect, "direct", tracklink.RuleNoTouch, tracklink.HookUnattributed},
		{"expired or unknown session", completedBody("o9", sessionN(99), "summer-fest", 1), tracklink.ChannelDirect, "direct", tracklink.RuleNoTouch, tracklink.HookUnattributed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := log.count(tt.hook)
			w := serve(h, stdRequest(stdSecretA, t0, tt.body))
			res := decodeResult(t, w)
			if w.Code != 200 || res.Status != statusAttributed || res.Channel != tt.channel || res.Source != tt.source || res.Rule != tt.rule {
				t.Fatalf("%d %+v, want %s/%s by %q", w.Code, res, tt.channel, tt.source, tt.rule)
			}
			if log.count(tt.hook) != before+1 {
				t.Errorf("hook %s not called", tt.hook)
			}
			a, ok, err := s.Attribution(ctx, res.OrderID)
			if err != nil || !ok || a.Touch.Key() != string(tt.channel)+"|"+tt.source {
				t.Errorf("stored %+v %v %v", a, ok, err)
			}
		})
	}
	st, err := s.PromoterStats(ctx, []string{"ana", "cara"})
	if err != nil || st[0].Totals.Orders != 1 || st[1].Totals.Orders != 3 {
		t.Fatalf("promoter stats %+v %v", st, err)
	}
}

// TestHandlerPromoCodePrecedence: a buyer with a direct or referrer touch
// who types a promoter's code is credited to the promoter, and the stored
// evidence names the touch the code overruled; Config.Precedence LinkFirst
// keeps another promoter's link; a code nobody owns changes nothing.
func TestHandlerPromoCodePrecedence(t *testing.T) {
	at := t0.Add(-time.Hour)
	direct := tracklink.Touch{Channel: tracklink.ChannelDirect, Source: "direct", Event: "summer-fest", At: at, Evidence: "Sec-Fetch-Site none"}
	social := tracklink.Touch{Channel: tracklink.ChannelSocial, Source: "instagram", ReferrerHost: "instagram.com", Event: "summer-fest", At: at, Evidence: "referrer instagram.com"}
	ben := tracklink.Touch{Channel: tracklink.ChannelPromoter, Source: "ben", Promoter: "ben", Event: "summer-fest", At: at, Evidence: "param promoter=ben"}
	tests := []struct {
		name       string
		precedence tracklink.Precedence
		touch      tracklink.Touch
		promo      string
		key        string
		rule       tracklink.Rule
		evidence   string
	}{
		{"code over direct", tracklink.PromoCodeFirst, direct, "ANA10", "promoter|ana", tracklink.RulePromoCode,
			"promo code ANA10 of promoter ana (overruled weak event touch: Sec-Fetch-Site none)"},
		{"code over referrer", tracklink.PromoCodeFirst, social, "ANA10", "promoter|ana", tracklink.RulePromoCode,
			"promo code ANA10 of promoter ana (overruled event touch: referrer instagram.com)"},
		{"code over another promoter's link", tracklink.PromoCodeFirst, ben, "ANA10", "promoter|ana", tracklink.RulePromoCode,
			"promo code ANA10 of promoter ana (overruled event touch: param promoter=ben)"},
		{"link first: the link stands", tracklink.LinkFirst, ben, "ANA10", "promoter|ben", tracklink.RuleEventTouch,
			"event touch: param promoter=ben (1h0m0s before the order) (overruled promo code ANA10 of promoter ana)"},
		{"link first: code over direct", tracklink.LinkFirst, direct, "ana10", "promoter|ana", tracklink.RulePromoCode,
			"promo code ana10 of promoter ana (overruled weak event touch: Sec-Fetch-Site none)"},
		{"unknown code ignored", tracklink.PromoCodeFirst, social, "NOBODY", "social|instagram", tracklink.RuleEventTouch,
			"event touch: referrer instagram.com (1h0m0s before the order)"},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			s := newMemstore(t)
			if err := s.SavePromoter(ctx, tracklink.Promoter{Code: "ana", Name: "Ana", PromoCodes: []string{"ANA10"}}); err != nil {
				t.Fatal(err)
			}
			session := sessionN(100 + i)
			if _, err := s.Stamp(ctx, tracklink.Stamp{Session: session, Touch: tt.touch, TTL: 24 * time.Hour}); err != nil {
				t.Fatal(err)
			}
			var reported []error
			h := newStdHandler(t, s, tracklink.Hooks{OnError: func(_ context.Context, err error) { reported = append(reported, err) }},
				func(c *Config) { c.Precedence = tt.precedence })
			body := marshalBody(TypeOrderCompleted, orderData{
				OrderID: "ord_promo", SessionRef: session, Event: "summer-fest", Currency: "EUR", PromoCode: tt.promo,
				Lines: []tracklink.Line{{Kind: tracklink.LinePrimary, Quantity: 1, UnitAmount: 2500}},
			})
			w := serve(h, stdRequest(stdSecretA, t0, body))
			if res := decodeResult(t, w); w.Code != http.StatusOK || res.Status != statusAttributed || res.Rule != tt.rule {
				t.Fatalf("%d %+v, want rule %q", w.Code, res, tt.rule)
			}
			a, ok, err := s.Attribution(ctx, "ord_promo")
			if err != nil || !ok {
				t.Fatalf("not recorded: %v %v", ok, err)
			}
			if a.Touch.Key() != tt.key || a.Rule != tt.rule || a.Evidence() != tt.evidence {
				t.Errorf("credited %s by %q, evidence %q; want %s by %q, %q", a.Touch.Key(), a.Rule, a.Evidence(), tt.key, tt.rule, tt.evidence)
			}
			if len(reported) != 0 {
				t.Errorf("reported %v", reported)
			}
		})
	}
}

// TestHandlerPrecedenceConfig: a Precedence that is neither rule is a
// configuration error.
func TestHandlerPrecedenceConfig(t *testing.T) {
	_, err := NewHandler(Config{Store: newMemstore(t), Provider: MustStandardWebhooks(stdSecretA), Precedence: tracklink.Precedence(7)})
	if err == nil || !strings.Contains(err.Error(), "Precedence") {
		t.Fatalf("NewHandler with Precedence 7: %v", err)
	}
}

// TestHandlerStoreFailure: a failing store answers 503 with Retry-After,
// reports to OnError, writes nothing, and the retry succeeds.
func TestHandlerStoreFailure(t *testing.T) {
	for _, op := range []string{"touches", "record", "ack", "promo", "refund"} {
		t.Run(op, func(t *testing.T) {
			s := &failingStore{testStore: newMemstore(t), fail: map[string]bool{}}
			log := newHookLog()
			h := newStdHandler(t, s, log.hooks())
			body := bytes.Replace(completedBody("ord_1", sessionN(1), "summer-fest", 2), []byte(`"currency":"EUR"`), []byte(`"currency":"EUR","promo_code":"x"`), 1)
			if op == "refund" {
				if w := serve(h, stdRequest(stdSecretA, t0, body)); w.Code != 200 {
					t.Fatalf("order: %d", w.Code)
				}
				body = refundedBody("ord_1")
			}
			s.set(op, true)
			w := serve(h, stdRequest(stdSecretA, t0, body))
			if w.Code != 503 || w.Header().Get("Retry-After") == "" {
				t.Fatalf("status %d (Retry-After %q), want 503", w.Code, w.Header().Get("Retry-After"))
			}
			errs := log.errors()
			if len(errs) != 1 || !errors.Is(errs[0], ErrStore) || !errors.Is(errs[0], errDown) {
				t.Fatalf("OnError got %v", errs)
			}
			s.set(op, false)
			w = serve(h, stdRequest(stdSecretA, t0, body))
			if w.Code != 200 {
				t.Fatalf("retry: %d %s", w.Code, trimmed(w))
			}
			want := int64(1)
			if op == "refund" {
				want = 0
			}
			if c := eventCounts(t, s, "summer-fest"); c.Orders != want {
				t.Fatalf("orders %d, want %d", c.Orders, want)
			}
			// An ack that failed leaves the hook owed: the retry runs it again.
			if op == "ack" && log.count(tracklink.HookUnattributed) != 2 {
				t.Fatalf("hook ran %d times, want 2", log.count(tracklink.HookUnattributed))
			}
		})
	}
}

// TestHandlerHookFailure: a failing hook answers 500 after the order is
// committed; the redelivery counts nothing again and reruns the hook.
func TestHandlerHookFailure(t *testing.T) {
	s := newMemstore(t)
	log := newHookLog()
	h := newStdHandler(t, s, log.hooks())
	body := completedBody("ord_1", "", "summer-fest", 2)

	log.setFailing(tracklink.HookUnattributed, true)
	if w := serve(h, stdRequest(stdSecretA, t0, body)); w.Code != 500 {
		t.Fatalf("status %d, want 500", w.Code)
	}
	if errs := log.errors(); len(errs) != 1 || !errors.Is(errs[0], ErrHookFailed) {
		t.Fatalf("OnError got %v", errs)
	}
	log.setFailing(tracklink.HookUnattributed, false)
	w := serve(h, stdRequest(stdSecretA, t0.Add(time.Minute), body))
	if res := decodeResult(t, w); w.Code != 200 || res.Status != statusDuplicate {
		t.Fatalf("redelivery: %d %+v", w.Code, res)
	}
	if n := log.count(tracklink.HookUnattributed); n != 2 {
		t.Fatalf("hook ran %d times, want 2", n)
	}
	// Acked now: a third delivery runs nothing.
	serve(h, stdRequest(stdSecretA, t0, body))
	if n := log.count(tracklink.HookUnattributed); n != 2 {
		t.Fatalf("hook ran %d times after the ack, want 2", n)
	}
	if c := eventCounts(t, s, "summer-fest"); c.Orders != 1 || c.Tickets != 2 || c.Revenue["EUR"] != 5000 {
		t.Fatalf("counts %+v: doubled?", c)
	}
}

// TestHandlerStripe runs the Stripe flow end to end: an unpaid session,
// its async success, a duplicate, a partial and a full refund.
func TestHandlerStripe(t *testing.T) {
	s := newMemstore(t)
	log := newHookLog()
	h, err := NewHandler(Config{Store: s, Provider: MustStripe(stripeSecretA), Hooks: log.hooks(), Now: clockAt(t0)})
	if err != nil {
		t.Fatal(err)
	}
	spec := stripeSessionSpec{EventID: "evt_1", SessionID: "cs_1", PaymentIntent: "pi_1", AmountTotal: 9000,
		PaymentStatus: "unpaid", Metadata: map[string]string{MetadataEvent: "summer-fest", MetadataTickets: "3"}}
	steps := []struct {
		name   string
		body   []byte
		code   int
		status string
	}{
		{"unpaid", stripeSessionBody(spec), 200, statusIgnored},
		{"async succeeded", func() []byte {
			s := spec
			s.Type, s.EventID, s.PaymentStatus = StripeCheckoutAsyncPaymentSucceed, "evt_2", "paid"
			return stripeSessionBody(s)
		}(), 200, statusAttributed},
		{"completed resent as paid", func() []byte { s := spec; s.PaymentStatus = "paid"; return stripeSessionBody(s) }(), 200, statusDuplicate},
		{"partial refund", stripeChargeBody("evt_3", "ch_1", "pi_1", false), 200, statusPartRefunded},
		{"partial refund resent", stripeChargeBody("evt_3", "ch_1", "pi_1", false), 200, statusDuplicate},
		{"full refund", stripeChargeBody("evt_4", "ch_1", "pi_1", true), 200, statusRefunded},
	}
	for _, st := range steps {
		w := serve(h, stripeRequest(stripeSecretA, t0, st.body))
		if res := decodeResult(t, w); w.Code != st.code || res.Status != st.status {
			t.Fatalf("%s: %d %+v, want %d %s", st.name, w.Code, res, st.code, st.status)
		}
		if st.name == "partial refund resent" {
			if c := eventCounts(t, s, "summer-fest"); c.Orders != 1 || c.Tickets != 3 || c.Revenue["EUR"] != 8000 {
				t.Fatalf("counts after the partial refund %+v", c)
			}
		}
		if st.name == "completed resent as paid" {
			if c := eventCounts(t, s, "summer-fest"); c.Orders != 1 || c.Tickets != 3 || c.Revenue["EUR"] != 9000 {
				t.Fatalf("counts %+v", c)
			}
		}
	}
	if c := eventCounts(t, s, "summer-fest"); c.Orders != 0 || c.Tickets != 0 {
		t.Fatalf("counts after refund %+v", c)
	}
}

// providerFunc adapts a func to Provider, for hosts' own providers.
type providerFunc func(h http.Header, body []byte, now time.Time) (Event, error)

func (f providerFunc) Open(h http.Header, body []byte, now time.Time) (Event, error) {
	return f(h, body, now)
}

// TestHandlerCustomProvider: the handler does not trust a host's own
// Provider with the order's validity, and maps its errors.
func TestHandlerCustomProvider(t *testing.T) {
	valid := tracklink.Order{ID: "o1", Event: "e", Currency: "EUR", At: t0,
		Lines: []tracklink.Line{{Kind: tracklink.LinePrimary, Quantity: 1, UnitAmount: 100}}}
	invalid := valid
	invalid.Currency = "euro"
	tests := []struct {
		name string
		ev   Event
		err  error
		want int
	}{
		{"valid order", Event{Kind: EventOrderCompleted, Order: valid, OrderID: "o1"}, nil, 200},
		{"invalid order", Event{Kind: EventOrderCompleted, Order: invalid}, nil, 400},
		{"mismatched ids", Event{Kind: EventOrderCompleted, Order: valid, OrderID: "o2"}, nil, 400},
		{"refund without id", Event{Kind: EventOrderRefunded}, nil, 400},
		{"signature error", Event{}, fmt.Errorf("custom: %w", ErrNoValidSignature), 401},
		{"other error", Event{}, errors.New("custom: confused"), 400},
		{"ignored", Event{Kind: EventIgnored, Reason: "test"}, nil, 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, err := NewHandler(Config{Store: newMemstore(t), Provider: providerFunc(func(http.Header, []byte, time.Time) (Event, error) {
				return tt.ev, tt.err
			})})
			if err != nil {
				t.Fatal(err)
			}
			r := httptest.NewRequest("POST", "/", strings.NewReader("{}"))
			r.Header.Set("Content-Type", "application/json")
			if w := serve(h, r); w.Code != tt.want {
				t.Fatalf("status %d, want %d: %s", w.Code, tt.want, trimmed(w))
			}
		})
	}
}

// TestCustomerInputNeverLosesAnOrder: a promo code the customer typed too
// long, a session reference mangled by the host, a created_at that is no
// time and an uppercase event slug cost nothing but a report: the order is
// answered 2xx and counted.
func TestCustomerInputNeverLosesAnOrder(t *testing.T) {
	store := newMemstore(t)
	var reported []error
	h, err := NewHandler(Config{Store: store, Provider: MustStandardWebhooks(stdSecretA), Now: clockAt(t0),
		Hooks: tracklink.Hooks{OnError: func(_ context.Context, err error) { reported = append(reported, err) }}})
	if err != nil {
		t.Fatal(err)
	}
	body := marshalBody(TypeOrderCompleted, orderData{
		OrderID: "ord_typed", SessionRef: "user-42", Event: "Summer-Fest", Currency: "eur",
		PromoCode: strings.Repeat("ANA10", 20), CreatedAt: "tomorrow",
		Lines: []tracklink.Line{{Kind: tracklink.LinePrimary, Quantity: 2, UnitAmount: 2500}},
	})
	w := serve(h, stdRequest(stdSecretA, t0, body))
	if w.Code != http.StatusOK {
		t.Fatalf("status %d: %s", w.Code, trimmed(w))
	}
	if res := decodeResult(t, w); res.Status != statusAttributed {
		t.Fatalf("status %q, want %q", res.Status, statusAttributed)
	}
	a, ok, err := store.Attribution(context.Background(), "ord_typed")
	if err != nil || !ok {
		t.Fatalf("order not recorded: %v %v", ok, err)
	}
	if a.Event != "summer-fest" || a.Tickets != 2 || a.Revenue != 5000 || a.Session != "" || !a.At.Equal(t0) {
		t.Errorf("recorded %+v", a)
	}
	if len(reported) != 3 {
		t.Fatalf("reported %d errors, want 3 (promo code, session, created_at): %v", len(reported), reported)
	}
	for _, err := range reported {
		if !errors.Is(err, tracklink.ErrIgnoredInput) {
			t.Errorf("%v does not wrap ErrIgnoredInput", err)
		}
	}
}

// TestHandlerPartialRefund: generic partial refunds apply once per refund
// id, run OnPartialRefund once each, and a full refund after them reverses
// what they left.
func TestHandlerPartialRefund(t *testing.T) {
	s := newMemstore(t)
	log := newHookLog()
	var mu sync.Mutex
	var partials []tracklink.RefundEntry
	hooks := log.hooks()
	hooks.OnPartialRefund = func(_ context.Context, a tracklink.Attribution, e tracklink.RefundEntry) error {
		mu.Lock()
		defer mu.Unlock()
		partials = append(partials, e)
		return nil
	}
	h, err := NewHandler(Config{Store: s, Provider: MustStandardWebhooks(stdSecretA), Hooks: hooks, Now: clockAt(t0)})
	if err != nil {
		t.Fatal(err)
	}
	post := func(body string) (int, result) {
		t.Helper()
		w := serve(h, stdRequest(stdSecretA, t0, []byte(body)))
		if w.Code != 200 {
			return w.Code, result{}
		}
		return w.Code, decodeResult(t, w)
	}
	refund1 := `{"type":"order.refunded","data":{"order_id":"o1","refund_id":"rf_1","lines":[{"kind":"primary","quantity":1,"unit_amount":2500}]}}`
	// before the order: not remembered, the provider is asked to come back
	if code, _ := post(refund1); code != http.StatusServiceUnavailable {
		t.Fatalf("partial refund of an unknown order: %d, want 503", code)
	}
	if code, res := post(string(completedBody("o1", "", "summer-fest", 4))); code != 200 || res.Status != statusAttributed {
		t.Fatalf("order: %d %+v", code, res)
	}
	if code, res := post(refund1); code != 200 || res.Status != statusPartRefunded {
		t.Fatalf("partial refund: %d %+v", code, res)
	}
	if code, res := post(refund1); code != 200 || res.Status != statusDuplicate {
		t.Fatalf("partial refund resent: %d %+v", code, res)
	}
	if c := eventCounts(t, s, "summer-fest"); c.Orders != 1 || c.Tickets != 3 || c.Revenue["EUR"] != 7500 {
		t.Fatalf("counts after the partial refund %+v", c)
	}
	// money only, another refund id
	if code, res := post(`{"type":"order.refunded","data":{"order_id":"o1","refund_id":"rf_2","amount":500}}`); code != 200 || res.Status != statusPartRefunded {
		t.Fatalf("second partial refund: %d %+v", code, res)
	}
	mu.Lock()
	if len(partials) != 2 || partials[0].ID != "rf_1" || partials[0].Revenue != 2500 || partials[0].Tickets != 1 ||
		partials[1].ID != "rf_2" || partials[1].Revenue != 500 {
		t.Errorf("OnPartialRefund calls %+v; want rf_1 (2500, 1 ticket) then rf_2 (500)", partials)
	}
	mu.Unlock()
	// a full refund (no amount) reverses what is left
	if code, res := post(string(refundedBody("o1"))); code != 200 || res.Status != statusRefunded {
		t.Fatalf("full refund: %d %+v", code, res)
	}
	if c := eventCounts(t, s, "summer-fest"); c.Orders != 0 || c.Tickets != 0 || c.Revenue["EUR"] != 0 {
		t.Fatalf("counts after the full refund %+v", c)
	}
	a, _, _ := s.Attribution(t.Context(), "o1")
	if !a.Refunded || a.RefundedRevenue != 10000 || a.NetRevenue() != 0 {
		t.Errorf("attribution %+v; want refunded in full", a)
	}
	if n := len(log.calls[tracklink.HookRefunded]); n != 1 {
		t.Errorf("OnRefunded ran %d times, want 1", n)
	}
}

// TestHandlerPartialRefundHookRetried: a failing OnPartialRefund answers
// 500 and runs again on the refund's redelivery, once it succeeds never
// again; another refund's delivery does not run it.
func TestHandlerPartialRefundHookRetried(t *testing.T) {
	s := newMemstore(t)
	var mu sync.Mutex
	calls := map[string]int{}
	fail := true
	hooks := tracklink.Hooks{OnPartialRefund: func(_ context.Context, _ tracklink.Attribution, e tracklink.RefundEntry) error {
		mu.Lock()
		defer mu.Unlock()
		calls[e.ID]++
		if fail && e.ID == "rf_1" {
			return errors.New("host is down")
		}
		return nil
	}}
	h, err := NewHandler(Config{Store: s, Provider: MustStandardWebhooks(stdSecretA), Hooks: hooks, Now: clockAt(t0)})
	if err != nil {
		t.Fatal(err)
	}
	post := func(body string) int {
		return serve(h, stdRequest(stdSecretA, t0, []byte(body))).Code
	}
	post(string(completedBody("o1", "", "summer-fest", 4)))
	rf1 := `{"type":"order.refunded","data":{"order_id":"o1","refund_id":"rf_1","amount":100}}`
	rf2 := `{"type":"order.refunded","data":{"order_id":"o1","refund_id":"rf_2","amount":100}}`
	if code := post(rf1); code != http.StatusInternalServerError {
		t.Fatalf("failing hook: %d, want 500", code)
	}
	if code := post(rf2); code != 200 {
		t.Fatalf("another refund while rf_1's hook is owed: %d, want 200", code)
	}
	mu.Lock()
	fail = false
	mu.Unlock()
	if code := post(rf1); code != 200 {
		t.Fatalf("rf_1 redelivered: %d", code)
	}
	post(rf1)
	post(rf2)
	mu.Lock()
	defer mu.Unlock()
	if calls["rf_1"] != 2 || calls["rf_2"] != 1 {
		t.Errorf("hook calls %v; want rf_1 twice (one failure), rf_2 once", calls)
	}
	if c := eventCounts(t, s, "summer-fest"); c.Revenue["EUR"] != 10000-200 {
		t.Errorf("revenue %d, want %d", c.Revenue["EUR"], 10000-200)
	}
}
