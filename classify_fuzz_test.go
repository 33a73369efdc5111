package tracklink

import (
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzClassify checks the classifier's invariants on any input: no panic,
// a valid channel and a non-empty source, every kept field bounded, a
// promoter code only from its charset, and a referrer host only as a
// lowercase host.
func FuzzClassify(f *testing.F) {
	f.Add("tickets.example.com", "/events/a", "promoter=ana", "", uaSafariIOS, "", "a")
	f.Add("example.com:8080", "/", "utm_source=IG&utm_campaign=x%20y", "https://l.instagram.com/", uaInstagramIOS, "cross-site", "")
	f.Add("example.com", "/x", "gclid=1&fbclid=2", "android-app://com.google.android.gm/", uaTikTokIOS, "none", "e")
	f.Add("[::1]:80", "/\x00", "%zz&&=&promoter=%&utm_source=%FF", "http://[::1]:99/", "", "same-origin", "BAD")
	f.Add("a", "", strings.Repeat("utm_source=", 50), "https://user@HOST.EXAMPLE.CO.UK:1/?", "curl/8", "none", "")
	f.Add("x", "/", "ScCid=1", "https://www.google.de/", uaLineIOS, "", "")
	c := &Classifier{PlatformHosts: []string{".example.org"}, PromoterParams: []string{"ref", "promoter"}}
	f.Fuzz(func(t *testing.T, host, path, query, ref, ua, sfs, event string) {
		l := Landing{Host: host, Path: path, RawQuery: query, Referer: ref, UserAgent: ua, SecFetchSite: sfs, Event: event}
		for _, c := range []*Classifier{nil, c} {
			tc, ignored := c.Classify(l)
			if !tc.Channel.Valid() {
				t.Fatalf("invalid channel %q", tc.Channel)
			}
			if tc.Source == "" || tc.Evidence == "" {
				t.Fatalf("empty source or evidence: %+v", tc)
			}
			bound := func(name, s string, n int) {
				if len(s) > n {
					t.Fatalf("%s is %d bytes, more than %d", name, len(s), n)
				}
			}
			bound("source", tc.Source, maxHostLen)
			bound("promoter", tc.Promoter, MaxPromoterLen)
			for _, v := range []string{tc.UTM.Source, tc.UTM.Medium, tc.UTM.Campaign, tc.UTM.Content, tc.UTM.Term} {
				bound("utm", v, MaxUTMLen)
				if !utf8.ValidString(v) || !printableText(v) {
					t.Fatalf("utm value %q not printable", v)
				}
			}
			bound("click id", tc.ClickID, 16)
			bound("referrer host", tc.ReferrerHost, maxHostLen)
			bound("event", tc.Event, MaxEventLen)
			bound("path", tc.Path, MaxPathLen)
			bound("evidence", tc.Evidence, 300)
			bound("ignored", ignored, 700)
			if tc.Event != "" && !ValidEvent(tc.Event) {
				t.Fatalf("invalid event %q", tc.Event)
			}
			if tc.ReferrerHost != "" && (tc.ReferrerHost != strings.ToLower(tc.ReferrerHost) || !validHost(tc.ReferrerHost)) {
				t.Fatalf("referrer host %q", tc.ReferrerHost)
			}
			if tc.Channel == ChannelPromoter {
				if code, ok := NormalizePromoter(tc.Promoter); !ok || code != tc.Promoter || tc.Source != tc.Promoter {
					t.Fatalf("promoter %q", tc.Promoter)
				}
			} else if tc.Promoter != "" {
				t.Fatalf("promoter %q on a %s touch", tc.Promoter, tc.Channel)
			}
			if tc.Channel == ChannelCampaign && tc.Source != tc.UTM.Source {
				t.Fatalf("campaign source %q, utm_source %q", tc.Source, tc.UTM.Source)
			}
		}
	})
}

// FuzzHasTrackingParams checks HasTrackingParams against a slow reference
// built on url.QueryUnescape.
func FuzzHasTrackingParams(f *testing.F) {
	for _, q := range []string{"", "promoter=a", "Utm_Source=x", "utm%5Fsource=1", "a=%&promoter", "pro%6Doter", "gclid", "x&&y", "%", "p=1;utm_x=2"} {
		f.Add(q)
	}
	names := []string{"promoter", "Ref"}
	c := &Classifier{PromoterParams: names}
	f.Fuzz(func(t *testing.T, q string) {
		if len(q) > MaxQueryScan {
			return
		}
		if got, want := c.HasTrackingParams(q), slowHasTrackingParams(names, q); got != want {
			t.Fatalf("HasTrackingParams(%q) = %v, reference says %v", q, got, want)
		}
	})
}
