package middleware

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tracklink/tracklink"
	"github.com/tracklink/tracklink/adapters/memstore"

	"github.com/tracklink/tracklink/internal/uasample"
)

func TestIsBot(t *testing.T) {
	for _, tc := range uasample.Bots {
		t.Run(tc.Name, func(t *testing.T) { assert.True(t, IsBot(tc.UA), tc.UA) })
	}
	for _, tc := range uasample.Browsers {
		t.Run(tc.Name, func(t *testing.T) { assert.False(t, IsBot(tc.UA), tc.UA) })
	}
	// In-app browsers are people.
	for _, tc := range uasample.InApp {
		t.Run(tc.Name, func(t *testing.T) { assert.False(t, IsBot(tc.UA), tc.UA) })
	}
}

// Each rule of IsBot, with user agents made up for it: the rule must
// catch them, and the browsers and in-app browsers must stay people.
func TestIsBotRules(t *testing.T) {
	for _, tc := range []struct{ name, ua string }{
		// No browser prefix.
		{"library", "SuperFetchLib/3.0"},
		{"old Mozilla", "Mozilla/3.0 (compatible; WebThing 2.0)"},
		// A URL, an e-mail address, a domain name.
		{"www", "Mozilla/5.0 (Windows NT 10.0) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36 www.example.org"},
		{"at sign", "Mozilla/5.0 (compatible) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36 data@example.co.uk"},
		{"(at)", "Mozilla/5.0/Firefox/120.0 - someone(at)example.com"},
		{"domain", "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36 linkwatch.de/2.0"},
		// compatible; followed by the bot's name.
		{"compatible", "Mozilla/5.0 (compatible; ExampleThing/1.0)"},
		{"compatible in engine", "Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; Thing/1.0) Chrome/120.0 Safari/537.36"},
		// No engine.
		{"no engine", "Mozilla/5.0 (HeadOnlyThing)"},
		// Words inside tokens.
		{"bot suffix", "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36 Examplebot/1.0"},
		{"bot inside", "Mozilla/5.0 (X11) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36 ex_bot_heritrix/3.1"},
		{"crawlers", "Mozilla/5.0 (X11) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36 (web-crawlers team)"},
		{"spider with digit", "Mozilla/5.0 (Windows NT 6.1) AppleWebKit/537.1 (KHTML, like Gecko) Chrome/21.0 Safari/537.1; 99Spider"},
		{"fetcher", "Mozilla/5.0 (X11) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36 Hatena::Fetcher/1.0"},
		{"scanner", "Mozilla/5.0 (X11) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36 CookieScan/3.0"},
		{"monitor", "Mozilla/5.0 (X11) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36 (Dotcom-Monitor)"},
		{"preview", "Mozilla/5.0 (X11) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36 ExamplePreview/1.0"},
		{"check", "Mozilla/5.0 (X11) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36 LinkChecker/2"},
		{"uptime", "Mozilla/5.0 (X11) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36 uptime-kuma/1.0"},
		{"AI user agent", "Mozilla/5.0 (X11) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36 ExampleAI-User/1.0"},
		{"Google fetcher", "Mozilla/5.0 (X11) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36 Google-Example-Tool"},
		// An in-app browser's format with a URL is a crawler posing as one.
		{"in-app with URL", "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 Instagram 300.0.0 (+https://crawler.example.net/about)"},
		{"headless", "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/120.0 Safari/537.36"},
	} {
		t.Run(tc.name, func(t *testing.T) { assert.True(t, IsBot(tc.ua), tc.ua) })
	}
	for _, tc := range []struct{ name, ua string }{
		{"CUBOT phone", "Mozilla/5.0 (Linux; Android 12; CUBOT KINGKONG 9) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Mobile Safari/537.36"},
		{"Google device field", "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Mobile Safari/537.36 Instagram 320.0.0.0.1 Android (34/14; 420dpi; 1080x2205; Google/google; Pixel 8; shiba; shiba; en_US; 1)"},
		{"Ecosia at", "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36 (Ecosia android@131.0.6778.39)"},
		{"IE compatible", "Mozilla/5.0 (compatible; MSIE 9.0; Windows NT 6.1; WOW64; Trident/5.0)"},
	} {
		t.Run("person "+tc.name, func(t *testing.T) { assert.False(t, IsBot(tc.ua), tc.ua) })
	}
}

func TestIsBotReadsOnly512Bytes(t *testing.T) {
	// A bot token past 512 bytes is not seen; a long browser user agent
	// is still a browser.
	long := uasample.ChromeDesktop + strings.Repeat(" x", 300)
	assert.False(t, IsBot(long))
	assert.False(t, IsBot(long+" curl/8.0"))
	assert.True(t, IsBot("curl/8.0 "+strings.Repeat("x", 1<<20)))
}

// BenchmarkIsBot bounds the bot filter, run on every candidate page view.
// Every user agent is decided without allocating.
func BenchmarkIsBot(b *testing.B) {
	for _, tc := range []struct{ name, ua string }{
		{"chrome", uasample.ChromeDesktop},
		{"safari ios", uasample.SafariIOS},
		{"instagram", uasample.InstagramIOS},
		{"curl", "curl/8.4.0"},
		{"googlebot", "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"},
		{"unknown with url", "Foo/1.0 (+https://foo.example/about)"},
		{"64KB", strings.Repeat("Mozilla/5.0 ", 64<<10/12)},
	} {
		b.Run(tc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				IsBot(tc.ua)
			}
		})
	}
}

// The bot filter does not allocate on typical user agents.
func TestIsBotAllocations(t *testing.T) {
	for name, ua := range map[string]string{
		"browser": uasample.ChromeDesktop, "in-app": uasample.InstagramIOS, "curl": "curl/8.4.0",
		"Googlebot": "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
		"monitor":   "Mozilla/5.0 (X11) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36 Hatena::Fetcher/1.0",
		"email":     "Mozilla/5.0 (compatible) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36 data@example.co.uk",
	} {
		assert.Zero(t, testing.AllocsPerRun(100, func() { IsBot(ua) }), name)
	}
}

// An Android WebView that names its app only in X-Requested-With is a
// person, and the landing is credited to the app.
func TestRequestedWithReachesTheClassifier(t *testing.T) {
	m, err := New(Config{Store: memstore.New(), SessionKeys: [][]byte{[]byte("bot-test-key-0123456789abcdefghi"), nil}, Insecure: true})
	require.NoError(t, err)
	var got tracklink.Visit
	h := m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got, _ = tracklink.FromContext(r.Context())
		io.WriteString(w, "ok")
	}))
	webView := "Mozilla/5.0 (Linux; Android 14; SM-A546B Build/UP1A.231005.007; wv) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/125.0.6422.165 Mobile Safari/537.36"
	require.False(t, IsBot(webView))
	req := httptest.NewRequest(http.MethodGet, "http://tickets.example.com/events/summer-fest", nil)
	req.Header.Set("User-Agent", webView)
	req.Header.Set("Accept", "text/html")
	req.Header.Set("Sec-Fetch-Site", "none")
	req.Header.Set("X-Requested-With", "com.kakao.talk")
	h.ServeHTTP(httptest.NewRecorder(), req)
	assert.True(t, got.Tracked)
	assert.Equal(t, tracklink.ChannelMessenger, got.Landing.Channel)
	assert.Equal(t, "kakaotalk", got.Landing.Source)
	assert.Equal(t, "X-Requested-With com.kakao.talk", got.Landing.Evidence)
}

// A few thousand browser user agents of every common format stay people:
// a human counted as a bot is worse than a bot counted as a human.
func TestIsBotKeepsGeneratedBrowsers(t *testing.T) {
	all := uasample.GeneratedBrowsers()
	require.Greater(t, len(all), 2000)
	bots := 0
	for _, tc := range all {
		if IsBot(tc.UA) {
			bots++
			t.Errorf("%s counted as a bot: %s", tc.Name, tc.UA)
		}
	}
	assert.Zero(t, bots, "of %d browsers", len(all))
}
