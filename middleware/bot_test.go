package middleware

import (
	"strings"
	"testing"

	"github.com/mssola/useragent"
	"github.com/stretchr/testify/assert"

	"github.com/tracklink/tracklink/internal/uasample"
)

func TestIsBot(t *testing.T) {
	for _, tc := range uasample.Bots {
		t.Run(tc.Name, func(t *testing.T) { assert.True(t, IsBot(tc.UA), tc.UA) })
	}
	for _, tc := range uasample.Browsers {
		t.Run(tc.Name, func(t *testing.T) { assert.False(t, IsBot(tc.UA), tc.UA) })
	}
	// In-app browsers are people, whatever mssola/useragent thinks.
	for _, tc := range uasample.InApp {
		t.Run(tc.Name, func(t *testing.T) { assert.False(t, IsBot(tc.UA), tc.UA) })
	}
}

// TestIsBotCoversMssola checks that IsBot says bot whenever
// mssola/useragent does, for user agents that are not in-app browsers:
// the prefilter that skips mssola must never skip one of its bots.
func TestIsBotCoversMssola(t *testing.T) {
	all := []string{
		"SomeCrawler/1.0", "MySpider", "Fetcher 2.0", "worm/1", "Nutch-1.19",
		"Foo/1.0 (+https://foo.example/about)", "Bar (http://bar.example.org)",
		"Mozilla/5.0 (compatible; Thing/1.0; +http://thing.example.com/info)",
		"SearchIt/1.0", "Mozilla/5.0 (X11; Linux) Gecko Firefox (http://x.example.com)",
	}
	for _, l := range [][]uasample.UA{uasample.Browsers, uasample.Bots} {
		for _, tc := range l {
			all = append(all, tc.UA)
		}
	}
	for _, ua := range all {
		if useragent.New(ua).Bot() {
			assert.True(t, IsBot(ua), ua)
		}
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
// Browsers and in-app browsers are decided without mssola/useragent.
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
	} {
		assert.Zero(t, testing.AllocsPerRun(100, func() { IsBot(ua) }), name)
	}
}
