package tracklink

import (
	"strings"
	"testing"
)

// BenchmarkClassify bounds the cost of classifying a tracked page view
// (once per tracked request, before the store call). Typical landings
// allocate once: the touch's own copy of its strings. A referrer found
// only through the Public Suffix List (a brand under a country suffix, a
// referral, a search results page) allocates once more, in the list's
// lookup of a host that is no IP address.
func BenchmarkClassify(b *testing.B) {
	cases := []struct {
		name string
		l    Landing
	}{
		{"promoter", landing(query("promoter=ana"))},
		{"utm", landing(query("utm_source=ig&utm_medium=paid&utm_campaign=summer_launch&utm_content=reel1"))},
		{"click id", landing(query("gclid=Cj0KCQjw8J6wBhDXARIsAPo7QA9"))},
		{"instagram referrer", landing(func(l *Landing) {
			l.Referer = "https://l.instagram.com/"
			l.UserAgent = uaInstagramIOS
		})},
		{"referral", landing(referer("https://www.timeout.co.uk/london/things-to-do"))},
		{"google country domain", landing(referer("https://www.google.com.af/"))},
		{"webmail", landing(referer("https://mail.yahoo.co.uk/"))},
		{"search results page", landing(referer("https://www.smallengine.de/search?q=summer+fest"))},
		{"requested with", landing(func(l *Landing) { l.RequestedWith = "org.telegram.messenger" })},
		{"in-app no referrer", landing(func(l *Landing) { l.UserAgent = uaTikTokIOS })},
		{"direct", landing(func(l *Landing) { l.SecFetchSite = "none" })},
	}
	for _, tc := range cases {
		b.Run(tc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				Classify(tc.l)
			}
		})
	}
}

// BenchmarkClassifyHostile bounds the cost of attacker-sized input: the
// query, Referer and user agent sweep 1 KiB to 64 KiB; the cost must stay
// flat past the read bounds (4 KiB query, 2 KiB Referer, 512-byte UA).
func BenchmarkClassifyHostile(b *testing.B) {
	for _, size := range []int{1 << 10, 8 << 10, 64 << 10} {
		params := strings.Repeat("utm_x=%zz&", size/10)
		cases := []struct {
			name string
			l    Landing
		}{
			{"query", landing(query(params + "promoter=ana"))},
			{"one long value", landing(query("utm_source=" + strings.Repeat("%41", size/3)))},
			{"referer", landing(referer("https://example.org/" + strings.Repeat("a", size)))},
			{"user agent", landing(func(l *Landing) { l.UserAgent = "Mozilla/5.0 (" + strings.Repeat("Instagra", size/8) })},
		}
		for _, tc := range cases {
			b.Run(tc.name+"/"+sizeName(size), func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					Classify(tc.l)
				}
			})
		}
	}
}

func sizeName(n int) string {
	switch n {
	case 1 << 10:
		return "1KB"
	case 8 << 10:
		return "8KB"
	}
	return "64KB"
}

// BenchmarkInAppBrowser bounds the in-app check the middleware runs on
// every non-event GET page view.
func BenchmarkInAppBrowser(b *testing.B) {
	for _, tc := range []struct{ name, ua string }{
		{"chrome", uaChromeDesktop},
		{"instagram", uaInstagramIOS},
		{"tiktok", uaTikTokIOS},
		{"64KB", "Mozilla/5.0 (" + strings.Repeat("x", 64<<10)},
	} {
		b.Run(tc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				InAppBrowser(tc.ua)
			}
		})
	}
}

// BenchmarkHasTrackingParams bounds the query pre-check the middleware
// runs on every non-event GET page view.
func BenchmarkHasTrackingParams(b *testing.B) {
	var c Classifier
	for _, tc := range []struct{ name, q string }{
		{"empty", ""},
		{"none", "page=2&sort=date&lang=en"},
		{"utm", "page=2&utm_source=newsletter"},
		{"64KB", strings.Repeat("abcdefgh=1&", 64<<10/11)},
	} {
		b.Run(tc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				c.HasTrackingParams(tc.q)
			}
		})
	}
}

// BenchmarkExternalReferrer bounds the Referer pre-check.
func BenchmarkExternalReferrer(b *testing.B) {
	c := Classifier{PlatformHosts: []string{".example.net"}}
	for b.Loop() {
		c.ExternalReferrer("https://l.instagram.com/", "tickets.example.com")
	}
}
