package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/tracklink/tracklink"
)

// The browser test drives headless Chromium through the demo as people
// would: an attendee opens a promoter's link and buys through the real
// form, the organiser watches the sale arrive live in the promoter's
// panel, exports the CSV; a fresh browser buys again and is not credited
// to the promoter; a campaign link made in the dashboard is clicked and
// shows up in event traffic. Screenshots of the dashboard are saved under
// $TRACKLINK_ARTIFACTS (default: a temporary directory).
//
// It skips when no Chromium is installed, unless CI is set: CI installs
// Chromium (apt-get install chromium) and must not skip silently.

// chromiumPath finds a Chromium or Chrome binary: $CHROMIUM first, then the
// usual names on PATH.
func chromiumPath() string {
	if p := os.Getenv("CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "headless-shell"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

// newChrome starts a headless browser with a fresh profile (no cookies)
// and returns its first tab. Cancel closes the browser.
func newChrome(t *testing.T, parent context.Context, path string) (context.Context, context.CancelFunc) {
	t.Helper()
	actx, acancel := chromedp.NewExecAllocator(parent,
		chromedp.ExecPath(path),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.UserDataDir(t.TempDir()),
		// Headless Chromium says "HeadlessChrome", which tracklink rightly
		// takes for a bot; pose as the desktop browser it is.
		chromedp.UserAgent(browserUA),
		chromedp.WindowSize(1366, 900),
	)
	ctx, cancel := chromedp.NewContext(actx)
	if err := chromedp.Do(ctx); err != nil { // start the browser
		cancel()
		acancel()
		t.Fatalf("start %s: %v", path, err)
	}
	return ctx, func() { cancel(); acancel() }
}

// newTab opens a tab in the browser of parent. The tab is created here,
// with no timeout: chromedp binds a tab to the context of its first Run.
func newTab(t *testing.T, parent context.Context) (context.Context, context.CancelFunc) {
	t.Helper()
	ctx, cancel := chromedp.NewContext(parent)
	if err := chromedp.Do(ctx); err != nil {
		cancel()
		t.Fatalf("open tab: %v", err)
	}
	return ctx, cancel
}

type browserRun struct {
	t         *testing.T
	artifacts string
}

// do runs actions on a tab with a bounded wait; on failure it saves a
// screenshot of the tab next to the others. The waits are generous (a
// minute a step): a loaded machine slows Chromium down a lot, and only a
// page that never gets there should fail.
func (br *browserRun) do(ctx context.Context, what string, d time.Duration, actions ...chromedp.Action[chromedp.Void]) {
	br.t.Helper()
	sctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	if err := chromedp.Do(sctx, actions...); err != nil {
		br.shot(ctx, "failed-"+strings.ReplaceAll(what, " ", "-")+".png")
		loc, _ := chromedp.Run(ctx, chromedp.Location())
		br.t.Fatalf("%s (at %s): %v", what, loc, err)
	}
}

func value[T any](br *browserRun, ctx context.Context, what string, a chromedp.Action[T]) T {
	br.t.Helper()
	sctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	v, err := chromedp.Run(sctx, a)
	if err != nil {
		br.t.Fatalf("%s: %v", what, err)
	}
	return v
}

// shot saves a full-page PNG screenshot of the tab.
func (br *browserRun) shot(ctx context.Context, name string) {
	br.t.Helper()
	sctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	png, err := chromedp.Run(sctx, chromedp.FullScreenshot(100))
	if err != nil {
		br.t.Logf("screenshot %s: %v", name, err)
		return
	}
	path := filepath.Join(br.artifacts, name)
	if err := os.WriteFile(path, png, 0o644); err != nil {
		br.t.Errorf("save screenshot: %v", err)
		return
	}
	br.t.Logf("screenshot: %s", path)
}

func css(s string) chromedp.CSS { return chromedp.CSS(s) }

// jsText reads an element's text content (trimmed) from the page.
func jsText(sel string) chromedp.Action[string] {
	return chromedp.Evaluate[string](fmt.Sprintf(`(document.querySelector(%q) || {textContent: ""}).textContent.trim()`, sel))
}

// login signs into the dashboard from the login form.
func (br *browserRun) login(ctx context.Context, base, page, ready string) {
	br.do(ctx, "log in", time.Minute,
		chromedp.Navigate(base+page),
		chromedp.WaitVisible(css("#password")),
		chromedp.SendKeys(css("#password"), testPassword),
		chromedp.Click(css("#login")),
		chromedp.WaitVisible(css(ready)),
		chromedp.Poll[chromedp.Void](`document.getElementById("live").dataset.state === "open"`, chromedp.WithPollingTimeout(time.Minute)),
	)
}

// buy fills the event page's form and waits for the confirmed payment;
// it returns the order id.
func (br *browserRun) buy(ctx context.Context, url, qtyGA string) string {
	br.do(ctx, "buy tickets", time.Minute,
		chromedp.Navigate(url),
		chromedp.WaitVisible(css(`select[name="qty_ga"]`)),
		chromedp.SetValue(css(`select[name="qty_ga"]`), qtyGA),
		chromedp.SendKeys(css(`input[name="name"]`), "Sam Rivera"),
		chromedp.SendKeys(css(`input[name="email"]`), "sam@example.com"),
		chromedp.Click(css("#pay")),
		chromedp.WaitVisible(css(".status-paid")),
		chromedp.WaitVisible(css("#credit")),
	)
	id := value(br, ctx, "order id", jsText("#order-id"))
	if !strings.HasPrefix(id, "ord_") {
		br.t.Fatalf("order id %q", id)
	}
	return id
}

// exportCSV downloads the orders CSV from the dashboard page, with the
// page's own cookie.
func (br *browserRun) exportCSV(ctx context.Context) string {
	return value(br, ctx, "export CSV", chromedp.Evaluate[string](
		`fetch("/admin/api/orders.csv", {credentials: "same-origin"}).then(r => r.ok ? r.text() : Promise.reject(new Error("HTTP " + r.status)))`,
		chromedp.EvalAwaitPromise))
}

func TestBrowser(t *testing.T) {
	path := chromiumPath()
	if path == "" {
		if os.Getenv("CI") != "" {
			t.Fatal("no Chromium found (set CHROMIUM or install chromium); CI must run the browser test")
		}
		t.Skip("no Chromium found; install chromium or set CHROMIUM to run the browser test")
	}
	if testing.Short() {
		t.Skip("browser test skipped in -short mode")
	}
	artifacts := os.Getenv("TRACKLINK_ARTIFACTS")
	if artifacts == "" {
		artifacts = t.TempDir()
	} else if err := os.MkdirAll(artifacts, 0o755); err != nil {
		t.Fatal(err)
	}
	br := &browserRun{t: t, artifacts: artifacts}

	// A week of seeded history, so the screenshots show real charts.
	s := startDemo(t, Options{Seed: true, SeedDays: 7, PaymentDelay: 300 * time.Millisecond})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()

	// ---- Browser 1: a promoter's sale, live in the dashboard. ----
	admin, closeChrome := newChrome(t, ctx, path)
	br.login(admin, s.URL, "/admin/promoters", "#promoters-table")
	br.do(admin, "open ana's panel", time.Minute,
		chromedp.Click(css(`#promoters-table tr[data-code="ana"]`)),
		chromedp.WaitVisible(css(`#panel[data-code="ana"] [data-stat="tickets"]`)),
	)
	before, err := strconv.Atoi(strings.TrimSpace(value(br, admin, "tickets before", jsText(`#panel [data-stat="tickets"]`))))
	if err != nil {
		t.Fatal(err)
	}

	shop, closeShop := newTab(t, admin) // a second tab, same browser
	orderA := br.buy(shop, s.URL+"/events/summer-fest?promoter=ana", "2")
	if credit := value(br, shop, "credit", jsText("#credit-source")); !strings.Contains(credit, "promoter · ana") {
		t.Errorf("order page credit = %q", credit)
	}
	br.shot(shop, "shop-order-confirmed.png")
	closeShop()

	// The sale arrives in the open panel without a reload (SSE).
	br.do(admin, "see the sale live", time.Minute,
		chromedp.Poll[chromedp.Void](fmt.Sprintf(`(document.querySelector('#panel [data-stat="tickets"]') || {}).textContent === "%d"`, before+2),
			chromedp.WithPollingTimeout(time.Minute)),
		chromedp.Poll[chromedp.Void](`document.querySelectorAll("#toasts .toast").length > 0`, chromedp.WithPollingTimeout(30*time.Second)),
	)
	if url := value(br, admin, "location", chromedp.Location()); !strings.Contains(url, "code=ana") {
		t.Errorf("panel URL = %s", url)
	}
	br.shot(admin, "dashboard-promoters-panel.png")

	row := findCSVRow(t, br.exportCSV(admin), orderA)
	if row["promoter_code"] != "ana" || row["channel"] != "promoter" || row["tickets"] != "2" || row["utm_source"] != "ana" {
		t.Errorf("CSV row of the promoter's sale = %v", row)
	}
	closeChrome()

	// ---- Browser 2: a fresh profile (no cookie) is not ana's. ----
	admin, closeChrome = newChrome(t, ctx, path)
	defer closeChrome()
	br.login(admin, s.URL, "/admin/orders", "#recent-orders")
	shop, closeShop = newTab(t, admin)
	defer closeShop()
	orderB := br.buy(shop, s.URL+"/events/summer-fest", "1")
	br.do(admin, "see the order live", time.Minute,
		chromedp.WaitVisible(css(`#recent-orders tr[data-order="`+orderB+`"]`)))
	br.shot(admin, "dashboard-orders.png")
	row = findCSVRow(t, br.exportCSV(admin), orderB)
	if row["channel"] != "direct" || row["promoter_code"] != "" {
		t.Errorf("CSV row of the fresh browser's sale = %v", row)
	}
	if a := attribution(t, s, orderB); a.Touch.Channel != tracklink.ChannelDirect {
		t.Errorf("fresh browser's sale credited to %s", a.Touch.Key())
	}

	// ---- A campaign link made in the dashboard, clicked, in traffic. ----
	br.do(admin, "create a campaign link", time.Minute,
		chromedp.Navigate(s.URL+"/admin/links"),
		chromedp.WaitVisible(css("#link-form")),
		chromedp.SetValue(css(`#link-form select[name="event"]`), "summer-fest"),
		chromedp.SendKeys(css(`#link-form input[name="name"]`), "Poster QR code"),
		chromedp.SendKeys(css(`#link-form input[name="source"]`), "posterqr"),
		chromedp.SendKeys(css(`#link-form input[name="medium"]`), "offline"),
		chromedp.SendKeys(css(`#link-form input[name="campaign"]`), "city-posters"),
		chromedp.Click(css("#create-link")),
		chromedp.WaitVisible(css("#created-link")),
		chromedp.Click(css(`#created-link [data-copy]`)),
		chromedp.Poll[chromedp.Void](`/Copied|Ctrl/.test(document.querySelector("#created-link [data-copy]").textContent)`, chromedp.WithPollingTimeout(30*time.Second)),
	)
	short := value(br, admin, "short link", chromedp.Evaluate[string](`document.querySelector("#created-link .copy-input").value`))
	if !strings.HasPrefix(short, s.URL+"/t/") {
		t.Fatalf("short link = %q", short)
	}
	br.shot(admin, "dashboard-links.png")

	br.do(shop, "click the short link", time.Minute,
		chromedp.Navigate(short),
		chromedp.WaitVisible(css("#checkout")),
	)
	if loc := value(br, shop, "landing", chromedp.Location()); !strings.Contains(loc, "utm_source=posterqr") {
		t.Errorf("short link landed on %s", loc)
	}
	br.do(admin, "see the campaign in event traffic", time.Minute,
		chromedp.Navigate(s.URL+"/admin/traffic?event=summer-fest&range=7d"),
		chromedp.WaitVisible(css(`#sources tr[data-key="campaign|posterqr"]`)),
	)
	if label := value(br, admin, "traffic row", jsText(`#sources tr[data-key="campaign|posterqr"]`)); !strings.Contains(label, "Poster QR code") {
		t.Errorf("traffic row = %q", label)
	}
	br.shot(admin, "dashboard-traffic.png")
	t.Logf("screenshots in %s", artifacts)
}
