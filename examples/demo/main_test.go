package main

import (
	"context"
	"encoding/base64"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/tracklink/tracklink"
	"github.com/tracklink/tracklink/report"
	"github.com/tracklink/tracklink/webhook/webhooktest"
)

// browserUA is a desktop Chrome user agent: tracklink does not track HTTP
// clients (Go-http-client is one), so test requests pose as a browser.
const browserUA = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.0.0 Safari/537.36"

const testPassword = "correct horse battery staple"

// startDemo starts the demo on a free loopback port and stops it when the
// test ends.
func startDemo(t *testing.T, opts Options) *Server {
	t.Helper()
	if opts.AdminPassword == "" {
		opts.AdminPassword = testPassword
	}
	if opts.PaymentDelay == 0 {
		opts.PaymentDelay = 20 * time.Millisecond
	}
	opts.Insecure = true // plain http on loopback
	s, err := Start("127.0.0.1:0", opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		// Over 5 s: net/http closes a connection that never sent a request
		// (a client's spare dial) only after 5 s.
		ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		defer cancel()
		http.DefaultTransport.(*http.Transport).CloseIdleConnections() // the test browsers'
		if err := s.Shutdown(ctx); err != nil {
			t.Errorf("shutdown: %v", err)
		}
	})
	return s
}

// browser is an HTTP client that behaves like a browser tab: a cookie jar,
// a browser user agent, fetch metadata, and no automatic redirects.
type browser struct {
	t    *testing.T
	base string
	c    *http.Client
}

type uaTransport struct{}

func (uaTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("User-Agent", browserUA)
	if r.Header.Get("Sec-Fetch-Site") == "" {
		r.Header.Set("Sec-Fetch-Site", "none") // typed or bookmarked
	}
	if r.Header.Get("Accept") == "" {
		r.Header.Set("Accept", "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8") // a navigation
	}
	return http.DefaultTransport.RoundTrip(r)
}

func newBrowser(t *testing.T, s *Server) *browser {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	return &browser{t: t, base: s.URL, c: &http.Client{
		Jar: jar, Transport: uaTransport{}, Timeout: time.Minute, // a bound on a hang
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
}

func (b *browser) do(method, path string, body io.Reader, hdr map[string]string) (*http.Response, string) {
	b.t.Helper()
	req, err := http.NewRequest(method, b.base+path, body)
	if err != nil {
		b.t.Fatal(err)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := b.c.Do(req)
	if err != nil {
		b.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	return resp, string(data)
}

func (b *browser) get(path string) (*http.Response, string) { return b.do("GET", path, nil, nil) }

func (b *browser) postForm(path string, form url.Values) (*http.Response, string) {
	return b.do("POST", path, strings.NewReader(form.Encode()), map[string]string{
		"Content-Type": "application/x-www-form-urlencoded", "Sec-Fetch-Site": "same-origin", "Origin": b.base,
	})
}

func (b *browser) login() {
	b.t.Helper()
	resp, _ := b.postForm("/admin/login", url.Values{"password": {testPassword}, "next": {"/admin/promoters"}})
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/admin/promoters" {
		b.t.Fatalf("login: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
}

// api calls the report API as the dashboard's script does.
func (b *browser) api(method, path string, body any) (*http.Response, string) {
	b.t.Helper()
	var r io.Reader
	hdr := map[string]string{"X-Requested-With": csrfValue, "Sec-Fetch-Site": "same-origin", "Origin": b.base}
	if body != nil {
		data, _ := json.Marshal(body)
		r = strings.NewReader(string(data))
		hdr["Content-Type"] = "application/json"
	}
	return b.do(method, "/admin/api"+path, r, hdr)
}

// buy checks out on an event page and returns the order id.
func (b *browser) buy(event string, form url.Values) string {
	b.t.Helper()
	if form.Get("name") == "" {
		form.Set("name", "Alex Doe")
		form.Set("email", "alex@example.com")
	}
	if form.Get("kind") == "" {
		form.Set("kind", "primary")
	}
	resp, body := b.postForm("/events/"+event+"/checkout", form)
	if resp.StatusCode != http.StatusSeeOther {
		b.t.Fatalf("checkout: %d\n%s", resp.StatusCode, body)
	}
	id := strings.TrimPrefix(resp.Header.Get("Location"), "/orders/")
	if !strings.HasPrefix(id, "ord_") {
		b.t.Fatalf("checkout redirected to %q", resp.Header.Get("Location"))
	}
	return id
}

// waitPaid polls the order page's status endpoint until the payment
// provider's webhook went through.
func (b *browser) waitPaid(id string) {
	b.t.Helper()
	deadline := time.Now().Add(time.Minute) // generous: only a payment that never lands reaches it
	for time.Now().Before(deadline) {
		_, body := b.get("/orders/" + id + "/status")
		if strings.Contains(body, `"status":"paid"`) {
			return
		}
		if strings.Contains(body, `"status":"failed"`) {
			b.t.Fatalf("payment of %s failed", id)
		}
		time.Sleep(20 * time.Millisecond)
	}
	b.t.Fatalf("order %s not paid within a minute", id)
}

func attribution(t *testing.T, s *Server, id string) tracklink.Attribution {
	t.Helper()
	a, ok, err := s.App.Store().Attribution(context.Background(), id)
	if err != nil || !ok {
		t.Fatalf("attribution %s: ok=%v err=%v", id, ok, err)
	}
	return a
}

func mustContain(t *testing.T, what, body string, want ...string) {
	t.Helper()
	for _, w := range want {
		if !strings.Contains(body, w) {
			t.Errorf("%s: missing %q", what, w)
		}
	}
}

func TestShopPages(t *testing.T) {
	s := startDemo(t, Options{})
	b := newBrowser(t, s)
	for _, tc := range []struct {
		path   string
		status int
		want   []string
	}{
		{"/", 200, []string{"Upcoming events", "Summer Fest", "Jazz Night", "Winter Gala", `href="/events/summer-fest"`, "from €45.00", "Riverside Park"}},
		{"/events/summer-fest", 200, []string{"<h1>Summer Fest</h1>", `action="/events/summer-fest/checkout"`, `name="qty_ga"`, `name="qty_vip"`, `value="resale"`, `value="transfer"`, `name="promo"`, "€95.00"}},
		{"/events/no-such-event", 404, []string{"Event not found"}},
		{"/nowhere", 404, []string{"Page not found"}},
		{"/static/app.css", 200, []string{"--brand"}},
		{"/static/admin.js", 200, []string{"EventSource"}},
	} {
		resp, body := b.get(tc.path)
		if resp.StatusCode != tc.status {
			t.Errorf("GET %s: %d, want %d", tc.path, resp.StatusCode, tc.status)
		}
		mustContain(t, tc.path, body, tc.want...)
		if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'self'") {
			t.Errorf("GET %s: CSP %q", tc.path, csp)
		}
	}
}

func TestCheckoutWebhookAttribution(t *testing.T) {
	s := startDemo(t, Options{Seed: true})
	b := newBrowser(t, s)

	// A promoter's link stamps the session…
	resp, _ := b.get("/events/summer-fest?promoter=ana")
	if resp.StatusCode != 200 {
		t.Fatalf("event page: %d", resp.StatusCode)
	}
	// …the checkout hands the session to the payment provider, whose
	// signed webhook comes back over HTTP and is attributed.
	id := b.buy("summer-fest", url.Values{"qty_ga": {"2"}, "qty_vip": {"0"}})
	resp, body := b.get("/orders/" + id)
	if resp.StatusCode != 200 {
		t.Fatalf("order page: %d", resp.StatusCode)
	}
	mustContain(t, "order page", body, id, "Summer Fest", "€90.00")
	b.waitPaid(id)

	a := attribution(t, s, id)
	if a.Touch.Channel != tracklink.ChannelPromoter || a.Touch.Promoter != "ana" || a.Tickets != 2 || a.Revenue != 9000 || a.Rule != tracklink.RuleEventTouch {
		t.Errorf("attribution = %+v", a)
	}
	_, body = b.get("/orders/" + id + "/status")
	mustContain(t, "status", body, `"channel":"promoter"`, `"source":"ana"`, "param promoter=ana")

	// Resale is recorded and excluded from sales.
	id = b.buy("summer-fest", url.Values{"qty_ga": {"1"}, "kind": {"resale"}})
	b.waitPaid(id)
	if a := attribution(t, s, id); a.Tickets != 0 || a.Excluded != 1 || a.Revenue != 0 || a.Touch.Promoter != "ana" {
		t.Errorf("resale attribution = %+v", a)
	}
	id = b.buy("summer-fest", url.Values{"qty_vip": {"2"}, "kind": {"transfer"}})
	b.waitPaid(id)
	if a := attribution(t, s, id); a.Tickets != 0 || a.Excluded != 2 {
		t.Errorf("transfer attribution = %+v", a)
	}

	// Another browser with no touch but a promoter's promo code: the
	// cross-device fallback credits the promoter, with 10% off.
	other := newBrowser(t, s)
	id = other.buy("jazz-night", url.Values{"qty_ga": {"1"}, "promo": {"ana10"}})
	other.waitPaid(id)
	if a := attribution(t, s, id); a.Rule != tracklink.RulePromoCode || a.Touch.Promoter != "ana" || a.Revenue != 1980 {
		t.Errorf("promo code attribution = %+v", a)
	}

	// A visitor who typed the address: direct.
	direct := newBrowser(t, s)
	direct.get("/events/winter-gala")
	id = direct.buy("winter-gala", url.Values{"qty_ga": {"1"}})
	direct.waitPaid(id)
	if a := attribution(t, s, id); a.Touch.Channel != tracklink.ChannelDirect {
		t.Errorf("direct attribution = %+v", a)
	}
	// The same visitor types a promoter's code at checkout: the code
	// outranks the direct visit, and the evidence says so.
	id = direct.buy("winter-gala", url.Values{"qty_ga": {"1"}, "promo": {"CHLOE"}})
	direct.waitPaid(id)
	if a := attribution(t, s, id); a.Rule != tracklink.RulePromoCode || a.Touch.Promoter != "chloe" ||
		a.Overruled.Touch.Channel != tracklink.ChannelDirect || !strings.Contains(a.Evidence(), "(overruled weak event touch: ") {
		t.Errorf("promo code over a direct visit = %+v (%s)", a, a.Evidence())
	}
}

func TestCheckoutValidation(t *testing.T) {
	s := startDemo(t, Options{Seed: true})
	b := newBrowser(t, s)
	for _, tc := range []struct {
		name string
		form url.Values
		want string
	}{
		{"no tickets", url.Values{"qty_ga": {"0"}}, "Pick at least one ticket"},
		{"quantity too large", url.Values{"qty_ga": {"11"}}, "Quantities go from 0 to 10"},
		{"negative quantity", url.Values{"qty_ga": {"-1"}}, "Quantities go from 0 to 10"},
		{"bad kind", url.Values{"qty_ga": {"1"}, "kind": {"gift"}}, "where your tickets come from"},
		{"unknown promo code", url.Values{"qty_ga": {"1"}, "promo": {"NOPE"}}, "promo code does not exist"},
		{"bad promo code", url.Values{"qty_ga": {"1"}, "promo": {"<script>"}}, "promo code does not exist"},
		{"no email", url.Values{"qty_ga": {"1"}, "name": {"A"}, "email": {"x"}}, "valid email"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := tc.form
			if f.Get("name") == "" {
				f.Set("name", "A <b>B</b>")
				f.Set("email", "a@example.com")
			}
			if f.Get("kind") == "" {
				f.Set("kind", "primary")
			}
			resp, body := b.postForm("/events/summer-fest/checkout", f)
			if resp.StatusCode != http.StatusBadRequest {
				t.Fatalf("status %d", resp.StatusCode)
			}
			mustContain(t, tc.name, body, tc.want)
			if strings.Contains(body, "<b>B</b>") || strings.Contains(body, "<script>") {
				t.Error("form input echoed unescaped")
			}
		})
	}
	resp, _ := b.postForm("/events/nope/checkout", url.Values{"qty_ga": {"1"}})
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("unknown event checkout: %d", resp.StatusCode)
	}
	// A cross-site form post is refused before the handler.
	resp, _ = b.do("POST", "/events/summer-fest/checkout", strings.NewReader("qty_ga=1"), map[string]string{
		"Content-Type": "application/x-www-form-urlencoded", "Sec-Fetch-Site": "cross-site", "Origin": "https://evil.example",
	})
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("cross-site checkout: %d, want 403", resp.StatusCode)
	}
}

func TestAdminRequiresPassword(t *testing.T) {
	s := startDemo(t, Options{Seed: true})
	b := newBrowser(t, s)

	for _, p := range []string{"/admin/traffic", "/admin/links", "/admin/promoters", "/admin/orders", "/admin/promoters/ana/panel"} {
		resp, _ := b.get(p)
		if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), "/admin/login?next=") {
			t.Errorf("GET %s logged out: %d %s", p, resp.StatusCode, resp.Header.Get("Location"))
		}
	}
	for _, p := range []string{"/promoters", "/orders.csv", "/stream", "/traffic/summer-fest"} {
		resp, _ := b.api("GET", p, nil)
		if resp.StatusCode != http.StatusForbidden {
			t.Errorf("API %s logged out: %d", p, resp.StatusCode)
		}
	}
	resp, body := b.postForm("/admin/login", url.Values{"password": {"wrong"}})
	if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(body, "Wrong password") {
		t.Errorf("wrong password: %d", resp.StatusCode)
	}
	// A forged session cookie does not help.
	u, _ := url.Parse(s.URL + "/admin/")
	b.c.Jar.SetCookies(u, []*http.Cookie{{Name: adminCookie, Value: "forged", Path: "/admin"}})
	if resp, _ := b.get("/admin/traffic"); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("forged cookie: %d", resp.StatusCode)
	}

	resp, _ = b.postForm("/admin/login", url.Values{"password": {testPassword}, "next": {"https://evil.example/"}})
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/admin/traffic" {
		t.Errorf("login with foreign next: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	var c *http.Cookie
	for _, k := range resp.Cookies() {
		if k.Name == adminCookie {
			c = k
		}
	}
	if c == nil || !c.HttpOnly || c.SameSite != http.SameSiteStrictMode || c.Path != "/admin" {
		t.Fatalf("admin cookie = %+v", c)
	}

	for _, p := range []string{"/admin/traffic", "/admin/links", "/admin/promoters?code=ana", "/admin/orders", "/admin/promoters/ana/panel"} {
		if resp, _ := b.get(p); resp.StatusCode != 200 {
			t.Errorf("GET %s logged in: %d", p, resp.StatusCode)
		}
	}
	// State changes need the custom header (CSRF defence)…
	link := map[string]any{"event": "jazz-night", "name": "Poster QR", "utm": map[string]string{"source": "poster"}}
	data, _ := json.Marshal(link)
	resp, _ = b.do("POST", "/admin/api/links", strings.NewReader(string(data)), map[string]string{"Content-Type": "application/json"})
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("API POST without X-Requested-With: %d", resp.StatusCode)
	}
	// …and are refused cross-origin whatever the headers.
	resp, _ = b.do("POST", "/admin/api/links", strings.NewReader(string(data)), map[string]string{
		"Content-Type": "application/json", "X-Requested-With": csrfValue, "Sec-Fetch-Site": "cross-site", "Origin": "https://evil.example"})
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("cross-site API POST: %d", resp.StatusCode)
	}
	resp, body = b.api("POST", "/links", link)
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("API POST /links: %d %s", resp.StatusCode, body)
	}

	// Log out ends the session.
	b.postForm("/admin/logout", nil)
	if resp, _ := b.get("/admin/traffic"); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("after logout: %d", resp.StatusCode)
	}
}

func TestSafeNext(t *testing.T) {
	for in, want := range map[string]string{
		"/admin/links?event=x": "/admin/links?event=x",
		"":                     "/admin/traffic",
		"https://evil.example": "/admin/traffic",
		"//evil.example/admin": "/admin/traffic",
		"/admin/\\evil":        "/admin/traffic",
		"/elsewhere":           "/admin/traffic",
	} {
		if got := safeNext(in); got != want {
			t.Errorf("safeNext(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestSeedFillsEveryChart checks that a seeded demo has data behind every
// chart and table of the dashboard.
func TestSeedFillsEveryChart(t *testing.T) {
	s := startDemo(t, Options{Seed: true, SeedDays: 30})
	ctx := context.Background()
	rp := s.App.Reporter()

	for _, e := range s.App.Events() {
		tr, err := rp.EventTraffic(ctx, e.Slug, "", "")
		if err != nil {
			t.Fatal(err)
		}
		channels := map[tracklink.Channel]int64{}
		for _, c := range tr.Channels {
			channels[c.Channel] = c.Visits
		}
		for _, ch := range []tracklink.Channel{tracklink.ChannelPromoter, tracklink.ChannelCampaign, tracklink.ChannelPlatform,
			tracklink.ChannelSocial, tracklink.ChannelSearch, tracklink.ChannelLinkInBio, tracklink.ChannelDirect, tracklink.ChannelUnknown} {
			if channels[ch] == 0 {
				t.Errorf("%s: no visits from channel %s", e.Slug, ch)
			}
		}
		if tr.Total.Orders == 0 || tr.Total.Tickets == 0 {
			t.Errorf("%s: no sales: %+v", e.Slug, tr.Total)
		}
		days, err := s.App.Store().EventDays(ctx, e.Slug, tracklink.Day(time.Now().AddDate(0, 0, -29)), tracklink.Day(time.Now()))
		if err != nil {
			t.Fatal(err)
		}
		empty := 0
		for _, d := range days {
			if d.Visits == 0 {
				empty++
			}
		}
		if len(days) != 30 || empty > 1 {
			t.Errorf("%s: %d days, %d without visits", e.Slug, len(days), empty)
		}
	}
	tr, _ := rp.EventTraffic(ctx, "summer-fest", "", "")
	keys := map[string]bool{}
	for _, src := range tr.Sources {
		keys[src.Key] = true
	}
	for _, k := range []string{"promoter|ana", "campaign|newsletter", "platform|platform", "social|instagram", "social|facebook",
		"search|google", "link_in_bio|linktree", "direct|direct", "unknown|unknown"} {
		if !keys[k] {
			t.Errorf("summer-fest traffic lacks %s", k)
		}
	}

	links, err := rp.CampaignLinks(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	if len(links) != len(seedLinks) {
		t.Errorf("%d links, want %d", len(links), len(seedLinks))
	}
	for _, l := range links {
		if l.Counts.Visits == 0 {
			t.Errorf("link %s has no visits", l.ID)
		}
	}
	linkOrders := 0
	for _, l := range links {
		linkOrders += int(l.Counts.Orders)
	}
	if linkOrders == 0 {
		t.Error("no campaign link sold anything")
	}

	rows, sum, err := rp.Promoters(ctx, report.Query{})
	if err != nil {
		t.Fatal(err)
	}
	if sum.Promoters != len(seedPromoters) || sum.Active != len(seedPromoters) || sum.Totals.Tickets == 0 {
		t.Errorf("summary = %+v", sum)
	}
	for _, r := range rows {
		d, err := rp.PromoterDetail(ctx, r.Code, "", "")
		if err != nil {
			t.Fatal(err)
		}
		var sold int64
		for _, day := range d.Series {
			sold += day.Tickets
		}
		if sold == 0 || r.ActiveEvents == 0 || len(d.Links) == 0 {
			t.Errorf("promoter %s: %d tickets in the series, %d active events, %d links", r.Code, sold, r.ActiveEvents, len(d.Links))
		}
	}
	if groups, _ := s.App.Store().Groups(ctx); len(groups) != 3 {
		t.Errorf("groups = %v", groups)
	}

	var refunded, excluded, promo int
	err = s.App.Store().Orders(ctx, "", func(a tracklink.Attribution) error {
		if a.Refunded {
			refunded++
		}
		if a.Excluded > 0 {
			excluded++
		}
		if a.Rule == tracklink.RulePromoCode {
			promo++
			// seeded code sales come from buyers with a direct visit,
			// which the code overrules
			if a.Overruled.Rule != tracklink.RuleWeakTouch || a.Overruled.Touch.Channel != tracklink.ChannelDirect {
				t.Errorf("seeded promo code order %s overruled %+v, want the direct touch", a.OrderID, a.Overruled)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if refunded == 0 || excluded == 0 || promo == 0 {
		t.Errorf("orders: %d refunded, %d with excluded tickets, %d by promo code", refunded, excluded, promo)
	}

	// The pages draw it.
	b := newBrowser(t, s)
	b.login()
	_, body := b.get("/admin/traffic?event=summer-fest&range=30d")
	mustContain(t, "traffic", body, `class="donut-seg"`, `class="area"`, "Ana Lopes", "Newsletter – June", "Instagram", "Google", "Linktree", "Direct", "Unknown", "Our own site")
	_, body = b.get("/admin/links")
	mustContain(t, "links", body, "/t/summer-fest-newsletter", "CityMag article", `data-copy=`)
	_, body = b.get("/admin/promoters?code=ana")
	mustContain(t, "promoters", body, "Active promoters", "Ana Lopes", "street-team", `class="area"`, "/events/summer-fest?promoter=ana", "data-delete-promoter")
	_, body = b.get("/admin/promoters?group=influencers")
	if strings.Contains(body, "Ana Lopes") || !strings.Contains(body, "Chloé Martin") {
		t.Error("group filter does not filter")
	}
	_, body = b.get("/admin/promoters?q=SCHULZ")
	if !strings.Contains(body, "Emma Schulz") || strings.Contains(body, "Ben Carter") {
		t.Error("search does not search")
	}
	_, body = b.get("/admin/orders")
	mustContain(t, "orders", body, "/admin/api/orders.csv", "ord_seed_", "refunded")
}

func TestSeedTwiceKeepsData(t *testing.T) {
	s := startDemo(t, Options{Seed: true, SeedDays: 2})
	before, _ := s.App.Reporter().EventTraffic(context.Background(), "summer-fest", "", "")
	// A second seed on the same store (a restart on Redis) adds nothing.
	if err := s.App.seed(context.Background(), 2); err != nil {
		t.Fatal(err)
	}
	after, _ := s.App.Reporter().EventTraffic(context.Background(), "summer-fest", "", "")
	if before.Total.Visits != after.Total.Visits || before.Total.Visits == 0 {
		t.Errorf("visits %d → %d", before.Total.Visits, after.Total.Visits)
	}
}

func TestOrdersCSVAndDeletePromoter(t *testing.T) {
	s := startDemo(t, Options{Seed: true})
	b := newBrowser(t, s)
	b.get("/events/summer-fest?promoter=ben")
	id := b.buy("summer-fest", url.Values{"qty_vip": {"1"}})
	b.waitPaid(id)
	b.login()

	row := csvRow(t, b, id)
	if row["promoter_code"] != "ben" || row["utm_source"] != "ben" || row["channel"] != "promoter" || row["revenue"] != "95.00" {
		t.Errorf("csv row = %v", row)
	}

	// Deleting takes two steps.
	resp, body := b.api("DELETE", "/promoters/ben", nil)
	if resp.StatusCode != http.StatusConflict {
		t.Fatalf("first DELETE: %d", resp.StatusCode)
	}
	var conf struct{ Confirm string }
	_ = json.Unmarshal([]byte(body), &conf)
	if resp, _ := b.api("DELETE", "/promoters/ben?confirm="+url.QueryEscape(conf.Confirm), nil); resp.StatusCode != http.StatusNoContent {
		t.Fatalf("second DELETE: %d", resp.StatusCode)
	}
	if row := csvRow(t, b, id); row["promoter_code"] == "ben" {
		t.Errorf("deleted promoter still named: %v", row)
	}
}

// csvRow exports the orders CSV and returns the row of an order by column.
func csvRow(t *testing.T, b *browser, id string) map[string]string {
	t.Helper()
	resp, body := b.get("/admin/api/orders.csv")
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/csv") {
		t.Fatalf("orders.csv: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	return findCSVRow(t, body, id)
}

func findCSVRow(t *testing.T, body, id string) map[string]string {
	t.Helper()
	recs, err := csv.NewReader(strings.NewReader(body)).ReadAll()
	if err != nil || len(recs) == 0 {
		t.Fatalf("csv: %v", err)
	}
	for _, rec := range recs[1:] {
		if rec[0] == id {
			m := map[string]string{}
			for i, h := range recs[0] {
				m[h] = rec[i]
			}
			return m
		}
	}
	t.Fatalf("order %s not in the CSV", id)
	return nil
}

func TestShortLinkAndTraffic(t *testing.T) {
	s := startDemo(t, Options{Seed: true})
	b := newBrowser(t, s)
	resp, _ := b.get("/t/summer-fest-newsletter")
	loc := resp.Header.Get("Location")
	if resp.StatusCode != http.StatusFound || !strings.HasPrefix(loc, "/events/summer-fest?") || !strings.Contains(loc, "utm_source=newsletter") {
		t.Fatalf("short link: %d %q", resp.StatusCode, loc)
	}
	b.get(loc)
	tr, _ := s.App.Reporter().EventTraffic(context.Background(), "summer-fest", "", "")
	for _, src := range tr.Sources {
		if src.Key == "campaign|newsletter" && src.Visits == 1 {
			return
		}
	}
	t.Errorf("campaign visit not counted: %+v", tr.Sources)
}

// TestSignerMatchesTracklinktest checks the fake provider's signature
// against the library's test signer (a known-answer check).
func TestSignerMatchesTracklinktest(t *testing.T) {
	secret := webhooktest.NewStandardWebhookSecret()
	key, _ := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, "whsec_"))
	ts := time.Unix(1_700_000_000, 0)
	body := []byte(`{"type":"order.completed"}`)
	got := signStandardWebhook(key, "msg_1", ts, body)
	want := webhooktest.SignStandardWebhook(secret, "msg_1", ts, body)
	for _, h := range []string{"Webhook-Id", "Webhook-Timestamp", "Webhook-Signature"} {
		if got.Get(h) != want.Get(h) {
			t.Errorf("%s = %q, want %q", h, got.Get(h), want.Get(h))
		}
	}
}

// TestPaymentRetries checks that the provider redelivers after a failure.
func TestPaymentRetries(t *testing.T) {
	calls := make(chan int, 10)
	n := 0
	srv := newTestServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n++
		calls <- n
		if n == 1 {
			http.Error(w, "store down", http.StatusServiceUnavailable)
			return
		}
		if r.Header.Get("Webhook-Id") != "msg_ord_x" {
			t.Errorf("webhook-id %q", r.Header.Get("Webhook-Id"))
		}
	}))
	done := make(chan bool, 1)
	p, err := newPaymentProvider(srv, webhooktest.NewStandardWebhookSecret(), time.Millisecond, discard(), func(id string, ok bool) { done <- ok })
	if err != nil {
		t.Fatal(err)
	}
	p.retries = []time.Duration{time.Millisecond}
	p.charge(providerOrder{ID: "ord_x", Event: "summer-fest", Currency: "EUR"})
	select {
	case ok := <-done:
		if !ok || len(calls) != 2 {
			t.Errorf("delivered=%v after %d calls", ok, len(calls))
		}
	case <-time.After(time.Minute): // generous: only a lost delivery reaches it
		t.Fatal("no delivery")
	}
	p.close()
}

func ExampleOptions() {
	fmt.Println(loopback("127.0.0.1:8080"), loopback(":8080"), loopback("[::1]:8080"), loopback("localhost:80"))
	// Output: true false true true
}
