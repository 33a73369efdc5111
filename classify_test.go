package tracklink

import (
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"
	"unsafe"

	"github.com/tracklink/tracklink/internal/uasample"
)

var testAt = time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)

// Real user agents the classification cases use.
const (
	uaSafariIOS     = uasample.SafariIOS
	uaChromeDesktop = uasample.ChromeDesktop
	uaInstagramIOS  = uasample.InstagramIOS
	uaFacebookAnd   = uasample.FacebookAnd
	uaTikTokIOS     = uasample.TikTokIOS
	uaLineIOS       = uasample.LineIOS
)

// landing is a typical event-page landing; cases change what they test.
func landing(mod func(*Landing)) Landing {
	l := Landing{
		Host:      "tickets.example.com",
		Path:      "/events/summer-fest",
		UserAgent: uaSafariIOS,
		Event:     "summer-fest",
		At:        testAt,
	}
	if mod != nil {
		mod(&l)
	}
	return l
}

func query(q string) func(*Landing) { return func(l *Landing) { l.RawQuery = q } }
func referer(r string) func(*Landing) {
	return func(l *Landing) { l.Referer = r }
}

type classifyCase struct {
	name string
	c    *Classifier // nil: the zero Classifier
	l    Landing
	// want's Channel, Source, Promoter, UTM, ClickID, ReferrerHost and
	// Evidence are compared; Event, Path and At must come from l.
	want Touch
	// ignored is a substring the ignored report must contain; "" means
	// the report must be empty.
	ignored string
}

func runClassify(t *testing.T, tc classifyCase) {
	t.Helper()
	got, ignored := tc.c.Classify(tc.l)
	equal(t, tc.want.Channel, got.Channel, "channel")
	equal(t, tc.want.Source, got.Source, "source")
	equal(t, tc.want.Promoter, got.Promoter, "promoter")
	equal(t, tc.want.UTM, got.UTM, "utm")
	equal(t, tc.want.ClickID, got.ClickID, "click id")
	equal(t, tc.want.ReferrerHost, got.ReferrerHost, "referrer host")
	equal(t, tc.want.Evidence, got.Evidence, "evidence")
	equal(t, tc.l.At, got.At, "at")
	if ValidEvent(tc.l.Event) {
		equal(t, tc.l.Event, got.Event, "event")
	}
	if len(tc.l.Path) <= MaxPathLen {
		equal(t, tc.l.Path, got.Path, "path")
	}
	if tc.ignored == "" {
		equal(t, "", ignored, "ignored")
	} else {
		contains(t, ignored, tc.ignored, "ignored")
	}
	isTrue(t, got.Channel.Valid(), "channel %q valid", got.Channel)
}

func TestClassify(t *testing.T) {
	cases := []classifyCase{
		// Promoter links.
		{name: "promoter", l: landing(query("promoter=ana")),
			want: Touch{Channel: ChannelPromoter, Source: "ana", Promoter: "ana", Evidence: "param promoter=ana"}},
		{name: "promoter code is lowercased", l: landing(query("promoter=AnA_77-x")),
			want: Touch{Channel: ChannelPromoter, Source: "ana_77-x", Promoter: "ana_77-x", Evidence: "param promoter=ana_77-x"}},
		{name: "promoter parameter name is case-insensitive", l: landing(query("Promoter=ana")),
			want: Touch{Channel: ChannelPromoter, Source: "ana", Promoter: "ana", Evidence: "param promoter=ana"}},
		{name: "promoter among other parameters", l: landing(query("lang=en&promoter=ana&x=1")),
			want: Touch{Channel: ChannelPromoter, Source: "ana", Promoter: "ana", Evidence: "param promoter=ana"}},
		{name: "promoter with surrounding spaces", l: landing(query("promoter=+ana%20")),
			want: Touch{Channel: ChannelPromoter, Source: "ana", Promoter: "ana", Evidence: "param promoter=ana"}},
		{name: "first valid promoter value wins", l: landing(query("promoter=bo&promoter=ana")),
			want: Touch{Channel: ChannelPromoter, Source: "bo", Promoter: "bo", Evidence: "param promoter=bo"}},
		{name: "64-byte promoter code", l: landing(query("promoter=" + strings.Repeat("a", 64))),
			want: Touch{Channel: ChannelPromoter, Source: strings.Repeat("a", 64), Promoter: strings.Repeat("a", 64), Evidence: "param promoter=" + strings.Repeat("a", 64)}},

		// Invalid promoter codes are reported and fall through.
		{name: "invalid promoter falls through to direct", l: landing(query("promoter=ana!")),
			want:    Touch{Channel: ChannelDirect, Source: "direct", Evidence: "no referrer"},
			ignored: `promoter code "ana!"`},
		{name: "65-byte promoter code is invalid", l: landing(query("promoter=" + strings.Repeat("a", 65))),
			want:    Touch{Channel: ChannelDirect, Source: "direct", Evidence: "no referrer"},
			ignored: "promoter code"},
		{name: "empty promoter is invalid", l: landing(query("promoter=")),
			want:    Touch{Channel: ChannelDirect, Source: "direct", Evidence: "no referrer"},
			ignored: "promoter code"},
		{name: "unicode promoter is invalid", l: landing(query("promoter=an%C3%A1")),
			want:    Touch{Channel: ChannelDirect, Source: "direct", Evidence: "no referrer"},
			ignored: "promoter code"},
		{name: "invalid promoter then valid one", l: landing(query("promoter=a%2Fb&promoter=ana")),
			want:    Touch{Channel: ChannelPromoter, Source: "ana", Promoter: "ana", Evidence: "param promoter=ana"},
			ignored: `promoter code "a%2Fb"`},
		{name: "invalid promoter falls through to utm", l: landing(query("promoter=<script>&utm_source=newsletter")),
			want: Touch{Channel: ChannelCampaign, Source: "newsletter", UTM: UTM{Source: "newsletter"},
				Evidence: "param utm_source=newsletter"},
			ignored: "promoter code"},
		{name: "invalid promoter falls through to referrer", l: landing(func(l *Landing) {
			l.RawQuery = "promoter=%zz"
			l.Referer = "https://l.instagram.com/"
		}),
			want:    Touch{Channel: ChannelSocial, Source: "instagram", ReferrerHost: "l.instagram.com", Evidence: "referrer l.instagram.com"},
			ignored: "promoter code"},

		// Precedence: promoter beats utm beats click id beats referrer.
		{name: "promoter beats utm, utm kept", l: landing(query("utm_source=ig&utm_medium=story&promoter=ana")),
			want: Touch{Channel: ChannelPromoter, Source: "ana", Promoter: "ana",
				UTM: UTM{Source: "instagram", Medium: "story"}, Evidence: "param promoter=ana"}},
		{name: "promoter beats referrer", l: landing(func(l *Landing) {
			l.RawQuery = "promoter=ana"
			l.Referer = "https://l.instagram.com/"
		}),
			want: Touch{Channel: ChannelPromoter, Source: "ana", Promoter: "ana", ReferrerHost: "l.instagram.com",
				Evidence: "param promoter=ana"}},
		{name: "utm beats click id", l: landing(query("gclid=abc&utm_source=newsletter")),
			want: Touch{Channel: ChannelCampaign, Source: "newsletter", UTM: UTM{Source: "newsletter"},
				Evidence: "param utm_source=newsletter"}},
		{name: "utm beats referrer", l: landing(func(l *Landing) {
			l.RawQuery = "utm_source=newsletter&utm_medium=email&utm_campaign=summer+sale"
			l.Referer = "https://mail.google.com/"
		}),
			want: Touch{Channel: ChannelCampaign, Source: "newsletter",
				UTM:          UTM{Source: "newsletter", Medium: "email", Campaign: "summer sale"},
				ReferrerHost: "mail.google.com", Evidence: "param utm_source=newsletter"}},
		{name: "click id beats referrer", l: landing(func(l *Landing) {
			l.RawQuery = "gclid=Cj0KCQjw"
			l.Referer = "https://www.bing.com/"
		}),
			want: Touch{Channel: ChannelSearch, Source: "google", ClickID: "gclid", ReferrerHost: "www.bing.com",
				Evidence: "click id gclid"}},
		{name: "referrer beats in-app browser", l: landing(func(l *Landing) {
			l.Referer = "https://www.tiktok.com/"
			l.UserAgent = uaInstagramIOS
		}),
			want: Touch{Channel: ChannelSocial, Source: "tiktok", ReferrerHost: "www.tiktok.com", Evidence: "referrer www.tiktok.com"}},
		{name: "own-site referrer beats in-app browser", l: landing(func(l *Landing) {
			l.Referer = "https://tickets.example.com/"
			l.UserAgent = uaInstagramIOS
		}),
			want: Touch{Channel: ChannelPlatform, Source: "platform", ReferrerHost: "tickets.example.com", Evidence: "referrer tickets.example.com"}},

		// utm_source normalisation; the other utm values are kept as given.
		{name: "utm_source ig", l: landing(query("utm_source=ig&utm_medium=paid&utm_campaign=Summer_Launch&utm_content=Reel+1&utm_term=Techno")),
			want: Touch{Channel: ChannelCampaign, Source: "instagram",
				UTM:      UTM{Source: "instagram", Medium: "paid", Campaign: "Summer_Launch", Content: "Reel 1", Term: "Techno"},
				Evidence: "param utm_source=instagram"}},
		{name: "utm_source Fb", l: landing(query("utm_source=Fb")),
			want: Touch{Channel: ChannelCampaign, Source: "facebook", UTM: UTM{Source: "facebook"}, Evidence: "param utm_source=facebook"}},
		{name: "utm_source uppercase", l: landing(query("utm_source=NEWSLETTER")),
			want: Touch{Channel: ChannelCampaign, Source: "newsletter", UTM: UTM{Source: "newsletter"}, Evidence: "param utm_source=newsletter"}},
		{name: "utm_source trimmed", l: landing(query("utm_source=%20+Press%20")),
			want: Touch{Channel: ChannelCampaign, Source: "press", UTM: UTM{Source: "press"}, Evidence: "param utm_source=press"}},
		{name: "utm_source twitter is x", l: landing(query("utm_source=twitter")),
			want: Touch{Channel: ChannelCampaign, Source: "x", UTM: UTM{Source: "x"}, Evidence: "param utm_source=x"}},
		{name: "utm_source host of a known source", l: landing(query("utm_source=l.instagram.com")),
			want: Touch{Channel: ChannelCampaign, Source: "instagram", UTM: UTM{Source: "instagram"}, Evidence: "param utm_source=instagram"}},
		{name: "utm_source chatgpt.com", l: landing(query("utm_source=chatgpt.com")),
			want: Touch{Channel: ChannelCampaign, Source: "chatgpt", UTM: UTM{Source: "chatgpt"}, Evidence: "param utm_source=chatgpt"}},
		{name: "utm_source unknown domain kept", l: landing(query("utm_source=Partner.Example.org")),
			want: Touch{Channel: ChannelCampaign, Source: "partner.example.org", UTM: UTM{Source: "partner.example.org"}, Evidence: "param utm_source=partner.example.org"}},
		{name: "utm_source unicode kept", l: landing(query("utm_source=Caf%C3%A9+Berlin")),
			want: Touch{Channel: ChannelCampaign, Source: "café berlin", UTM: UTM{Source: "café berlin"}, Evidence: "param utm_source=café berlin"}},
		{name: "utm parameter names are case-insensitive", l: landing(query("UTM_Source=newsletter")),
			want: Touch{Channel: ChannelCampaign, Source: "newsletter", UTM: UTM{Source: "newsletter"}, Evidence: "param utm_source=newsletter"}},
		{name: "escaped utm parameter name", l: landing(query("utm%5Fsource=newsletter")),
			want: Touch{Channel: ChannelCampaign, Source: "newsletter", UTM: UTM{Source: "newsletter"}, Evidence: "param utm_source=newsletter"}},
		{name: "first utm_source wins", l: landing(query("utm_source=a&utm_source=b")),
			want: Touch{Channel: ChannelCampaign, Source: "a", UTM: UTM{Source: "a"}, Evidence: "param utm_source=a"}},
		{name: "empty utm_source falls through", l: landing(query("utm_source=&utm_medium=email")),
			want: Touch{Channel: ChannelDirect, Source: "direct", UTM: UTM{Medium: "email"}, Evidence: "no referrer"}},
		{name: "blank utm_source falls through", l: landing(query("utm_source=++")),
			want: Touch{Channel: ChannelDirect, Source: "direct", Evidence: "no referrer"}},
		{name: "utm without utm_source kept on other touches", l: landing(func(l *Landing) {
			l.RawQuery = "utm_campaign=spring"
			l.Referer = "https://www.google.com/"
		}),
			want: Touch{Channel: ChannelSearch, Source: "google", UTM: UTM{Campaign: "spring"},
				ReferrerHost: "www.google.com", Evidence: "referrer www.google.com"}},

		// Bounded and hostile utm values.
		{name: "long utm_source cut", l: landing(query("utm_source=" + strings.Repeat("x", 300))),
			want: Touch{Channel: ChannelCampaign, Source: strings.Repeat("x", MaxUTMLen), UTM: UTM{Source: strings.Repeat("x", MaxUTMLen)},
				Evidence: "param utm_source=" + strings.Repeat("x", MaxUTMLen)},
			ignored: "utm_source cut to 100 bytes"},
		{name: "long utm_campaign cut at a rune boundary", l: landing(query("utm_source=a&utm_campaign=" + strings.Repeat("%C3%A9", 60))),
			want: Touch{Channel: ChannelCampaign, Source: "a", UTM: UTM{Source: "a", Campaign: strings.Repeat("é", 50)},
				Evidence: "param utm_source=a"},
			ignored: "utm_campaign cut"},
		{name: "utm_source with NUL ignored", l: landing(query("utm_source=news%00letter")),
			want:    Touch{Channel: ChannelDirect, Source: "direct", Evidence: "no referrer"},
			ignored: "utm_source"},
		{name: "utm_source with bidi override ignored", l: landing(query("utm_source=%E2%80%AEevil")),
			want:    Touch{Channel: ChannelDirect, Source: "direct", Evidence: "no referrer"},
			ignored: "non-printable"},
		{name: "utm_source with bad escape ignored", l: landing(query("utm_source=%zz&gclid=1")),
			want:    Touch{Channel: ChannelSearch, Source: "google", ClickID: "gclid", Evidence: "click id gclid"},
			ignored: "bad %-escape"},
		{name: "invalid UTF-8 utm_campaign ignored", l: landing(query("utm_source=a&utm_campaign=%FF%FE")),
			want:    Touch{Channel: ChannelCampaign, Source: "a", UTM: UTM{Source: "a"}, Evidence: "param utm_source=a"},
			ignored: "utm_campaign"},

		// Click ids: the parameter name is kept, never the value.
		{name: "fbclid", l: landing(query("fbclid=IwAR2xyz")),
			want: Touch{Channel: ChannelSocial, Source: "facebook", ClickID: "fbclid", Evidence: "click id fbclid"}},
		{name: "gbraid", l: landing(query("gbraid=0AAAAA")),
			want: Touch{Channel: ChannelSearch, Source: "google", ClickID: "gbraid", Evidence: "click id gbraid"}},
		{name: "wbraid", l: landing(query("wbraid=CjkKCQ")),
			want: Touch{Channel: ChannelSearch, Source: "google", ClickID: "wbraid", Evidence: "click id wbraid"}},
		{name: "ttclid", l: landing(query("ttclid=E.C.P.abc")),
			want: Touch{Channel: ChannelSocial, Source: "tiktok", ClickID: "ttclid", Evidence: "click id ttclid"}},
		{name: "msclkid", l: landing(query("msclkid=5f2d")),
			want: Touch{Channel: ChannelSearch, Source: "bing", ClickID: "msclkid", Evidence: "click id msclkid"}},
		{name: "twclid", l: landing(query("twclid=2-abc")),
			want: Touch{Channel: ChannelSocial, Source: "x", ClickID: "twclid", Evidence: "click id twclid"}},
		{name: "li_fat_id", l: landing(query("li_fat_id=1234-abcd")),
			want: Touch{Channel: ChannelSocial, Source: "linkedin", ClickID: "li_fat_id", Evidence: "click id li_fat_id"}},
		{name: "ScCid mixed case", l: landing(query("ScCid=abc")),
			want: Touch{Channel: ChannelSocial, Source: "snapchat", ClickID: "sccid", Evidence: "click id sccid"}},
		{name: "first click id wins", l: landing(query("ttclid=1&gclid=2")),
			want: Touch{Channel: ChannelSocial, Source: "tiktok", ClickID: "ttclid", Evidence: "click id ttclid"}},
		{name: "fbclid from Instagram's link shim is Instagram", l: landing(func(l *Landing) {
			l.RawQuery = "fbclid=PAZXh0bgNhZW0"
			l.Referer = "https://l.instagram.com/"
		}),
			want: Touch{Channel: ChannelSocial, Source: "instagram", ClickID: "fbclid", ReferrerHost: "l.instagram.com",
				Evidence: "click id fbclid, referrer l.instagram.com"}},
		{name: "fbclid in Instagram's in-app browser is Instagram", l: landing(func(l *Landing) {
			l.RawQuery = "fbclid=PAZXh0bgNhZW0"
			l.UserAgent = uaInstagramIOS
		}),
			want: Touch{Channel: ChannelSocial, Source: "instagram", ClickID: "fbclid",
				Evidence: "click id fbclid, in-app browser Instagram"}},
		{name: "fbclid with a non-Meta referrer stays facebook", l: landing(func(l *Landing) {
			l.RawQuery = "fbclid=x"
			l.Referer = "https://www.google.com/"
		}),
			want: Touch{Channel: ChannelSocial, Source: "facebook", ClickID: "fbclid", ReferrerHost: "www.google.com",
				Evidence: "click id fbclid"}},

		// Referrer on the platform itself.
		{name: "own host", l: landing(referer("https://tickets.example.com/events")),
			want: Touch{Channel: ChannelPlatform, Source: "platform", ReferrerHost: "tickets.example.com", Evidence: "referrer tickets.example.com"}},
		{name: "own host, different case and port", l: landing(func(l *Landing) {
			l.Host = "Tickets.Example.com:8443"
			l.Referer = "https://TICKETS.example.COM:8443/x?y=1"
		}),
			want: Touch{Channel: ChannelPlatform, Source: "platform", ReferrerHost: "tickets.example.com", Evidence: "referrer tickets.example.com"}},
		{name: "own host with www on the referrer", l: landing(func(l *Landing) {
			l.Host = "example.com"
			l.Referer = "https://www.example.com/"
		}),
			want: Touch{Channel: ChannelPlatform, Source: "platform", ReferrerHost: "www.example.com", Evidence: "referrer www.example.com"}},
		{name: "own host with www on the request", l: landing(func(l *Landing) {
			l.Host = "www.example.com"
			l.Referer = "http://example.com./"
		}),
			want: Touch{Channel: ChannelPlatform, Source: "platform", ReferrerHost: "example.com", Evidence: "referrer example.com"}},
		{name: "sibling subdomain without config is a referral", l: landing(referer("https://www2.example.com/")),
			want: Touch{Channel: ChannelReferral, Source: "example.com", ReferrerHost: "www2.example.com", Evidence: "referrer www2.example.com"}},
		{name: "localhost dev server, other port", l: landing(func(l *Landing) {
			l.Host = "localhost:3000"
			l.Referer = "http://localhost:8080/"
		}),
			want: Touch{Channel: ChannelPlatform, Source: "platform", ReferrerHost: "localhost", Evidence: "referrer localhost"}},

		// Platform hosts and host overrides from the config.
		{name: "platform host exact", c: &Classifier{PlatformHosts: []string{"Shop.Example.org"}},
			l:    landing(referer("https://www.shop.example.org/cart")),
			want: Touch{Channel: ChannelPlatform, Source: "platform", ReferrerHost: "www.shop.example.org", Evidence: "referrer www.shop.example.org"}},
		{name: "platform host with port in config", c: &Classifier{PlatformHosts: []string{"shop.example.org:443"}},
			l:    landing(referer("https://shop.example.org/")),
			want: Touch{Channel: ChannelPlatform, Source: "platform", ReferrerHost: "shop.example.org", Evidence: "referrer shop.example.org"}},
		{name: "platform host leading dot matches subdomains", c: &Classifier{PlatformHosts: []string{".example.com"}},
			l:    landing(referer("https://news.example.com/")),
			want: Touch{Channel: ChannelPlatform, Source: "platform", ReferrerHost: "news.example.com", Evidence: "referrer news.example.com"}},
		{name: "platform host leading dot matches the domain", c: &Classifier{PlatformHosts: []string{".example.com"}},
			l:    landing(referer("https://example.com/")),
			want: Touch{Channel: ChannelPlatform, Source: "platform", ReferrerHost: "example.com", Evidence: "referrer example.com"}},
		{name: "platform host leading dot is not a bare suffix", c: &Classifier{PlatformHosts: []string{".example.com"}},
			l:    landing(referer("https://badexample.com/")),
			want: Touch{Channel: ChannelReferral, Source: "badexample.com", ReferrerHost: "badexample.com", Evidence: "referrer badexample.com"}},
		{name: "platform beats the host table", c: &Classifier{PlatformHosts: []string{"linktr.ee"}},
			l:    landing(referer("https://linktr.ee/fest")),
			want: Touch{Channel: ChannelPlatform, Source: "platform", ReferrerHost: "linktr.ee", Evidence: "referrer linktr.ee"}},
		{name: "Hosts adds a source", c: &Classifier{Hosts: map[string]HostSource{"partner.org": {"partner", ChannelReferral}}},
			l:    landing(referer("https://blog.partner.org/post")),
			want: Touch{Channel: ChannelReferral, Source: "partner", ReferrerHost: "blog.partner.org", Evidence: "referrer blog.partner.org"}},
		{name: "Hosts overrides the table", c: &Classifier{Hosts: map[string]HostSource{"instagram.com": {"insta", ChannelSocial}}},
			l:    landing(referer("https://l.instagram.com/")),
			want: Touch{Channel: ChannelSocial, Source: "insta", ReferrerHost: "l.instagram.com", Evidence: "referrer l.instagram.com"}},
		{name: "Hosts maps an app", c: &Classifier{Hosts: map[string]HostSource{"com.example.fanapp": {"fanapp", ChannelSocial}}},
			l:    landing(referer("android-app://com.example.fanapp/")),
			want: Touch{Channel: ChannelSocial, Source: "fanapp", ReferrerHost: "com.example.fanapp", Evidence: "referrer android-app://com.example.fanapp"}},
		{name: "Hosts invalid entry skipped", c: &Classifier{Hosts: map[string]HostSource{"instagram.com": {"x", "bogus"}}},
			l:    landing(referer("https://instagram.com/")),
			want: Touch{Channel: ChannelSocial, Source: "instagram", ReferrerHost: "instagram.com", Evidence: "referrer instagram.com"}},
		{name: "custom promoter params in preference order", c: &Classifier{PromoterParams: []string{"ref", "p"}},
			l:    landing(query("p=bo&promoter=zed&ref=ana")),
			want: Touch{Channel: ChannelPromoter, Source: "ana", Promoter: "ana", Evidence: "param ref=ana"}},
		{name: "custom promoter params replace the default", c: &Classifier{PromoterParams: []string{"ref"}},
			l:    landing(query("promoter=zed")),
			want: Touch{Channel: ChannelDirect, Source: "direct", Evidence: "no referrer"}},

		// Referrers on other sites: only the host is kept.
		{name: "referral keeps only the host", l: landing(referer("https://user:pw@blog.example.org:8080/a/b?q=secret#frag")),
			want: Touch{Channel: ChannelReferral, Source: "example.org", ReferrerHost: "blog.example.org", Evidence: "referrer blog.example.org"}},
		{name: "referral under a two-level suffix", l: landing(referer("https://www.timeout.co.uk/london")),
			want: Touch{Channel: ChannelReferral, Source: "timeout.co.uk", ReferrerHost: "www.timeout.co.uk", Evidence: "referrer www.timeout.co.uk"}},
		{name: "referral on a hosting platform", l: landing(referer("https://fest.github.io/")),
			want: Touch{Channel: ChannelReferral, Source: "fest.github.io", ReferrerHost: "fest.github.io", Evidence: "referrer fest.github.io"}},
		{name: "referral from an IP address", l: landing(referer("http://192.0.2.7:8080/")),
			want: Touch{Channel: ChannelReferral, Source: "192.0.2.7", ReferrerHost: "192.0.2.7", Evidence: "referrer 192.0.2.7"}},
		{name: "referral from IPv6", l: landing(referer("http://[2001:DB8::1]:8080/")),
			want: Touch{Channel: ChannelReferral, Source: "2001:db8::1", ReferrerHost: "2001:db8::1", Evidence: "referrer 2001:db8::1"}},
		{name: "punycode host", l: landing(referer("https://xn--mnchen-3ya.de/")),
			want: Touch{Channel: ChannelReferral, Source: "xn--mnchen-3ya.de", ReferrerHost: "xn--mnchen-3ya.de", Evidence: "referrer xn--mnchen-3ya.de"}},
		{name: "unknown android app", l: landing(referer("android-app://com.example.reader/")),
			want: Touch{Channel: ChannelReferral, Source: "com.example.reader", ReferrerHost: "com.example.reader", Evidence: "referrer android-app://com.example.reader"}},
		{name: "android app with path", l: landing(referer("android-app://com.google.android.googlequicksearchbox/https/www.google.com")),
			want: Touch{Channel: ChannelSearch, Source: "google", ReferrerHost: "com.google.android.googlequicksearchbox",
				Evidence: "referrer android-app://com.google.android.googlequicksearchbox"}},

		// No Referer: in-app browsers, fetch metadata.
		{name: "Instagram in-app browser", l: landing(func(l *Landing) { l.UserAgent = uaInstagramIOS }),
			want: Touch{Channel: ChannelSocial, Source: "instagram", Evidence: "in-app browser Instagram"}},
		{name: "Facebook in-app browser", l: landing(func(l *Landing) { l.UserAgent = uaFacebookAnd }),
			want: Touch{Channel: ChannelSocial, Source: "facebook", Evidence: "in-app browser Facebook"}},
		{name: "TikTok in-app browser", l: landing(func(l *Landing) { l.UserAgent = uaTikTokIOS }),
			want: Touch{Channel: ChannelSocial, Source: "tiktok", Evidence: "in-app browser TikTok"}},
		{name: "Line in-app browser is a messenger", l: landing(func(l *Landing) {
			l.UserAgent = uaLineIOS
			l.SecFetchSite = "none"
		}),
			want: Touch{Channel: ChannelMessenger, Source: "line", Evidence: "in-app browser Line"}},
		{name: "Sec-Fetch-Site none", l: landing(func(l *Landing) { l.SecFetchSite = "none" }),
			want: Touch{Channel: ChannelDirect, Source: "direct", Evidence: "Sec-Fetch-Site none"}},
		{name: "no referrer, no fetch metadata", l: landing(nil),
			want: Touch{Channel: ChannelDirect, Source: "direct", Evidence: "no referrer"}},
		{name: "cross-site with stripped referrer", l: landing(func(l *Landing) { l.SecFetchSite = "cross-site" }),
			want: Touch{Channel: ChannelUnknown, Source: "unknown", Evidence: "Sec-Fetch-Site cross-site, no referrer"}},
		{name: "same-origin with hidden referrer", l: landing(func(l *Landing) { l.SecFetchSite = "same-origin" }),
			want: Touch{Channel: ChannelPlatform, Source: "platform", Evidence: "Sec-Fetch-Site same-origin, no referrer"}},
		{name: "same-site with hidden referrer", l: landing(func(l *Landing) { l.SecFetchSite = "same-site" }),
			want: Touch{Channel: ChannelPlatform, Source: "platform", Evidence: "Sec-Fetch-Site same-site, no referrer"}},
		{name: "garbage Sec-Fetch-Site counts as absent", l: landing(func(l *Landing) { l.SecFetchSite = "sure" }),
			want: Touch{Channel: ChannelDirect, Source: "direct", Evidence: "no referrer"}},
		{name: "blank referrer is no referrer", l: landing(func(l *Landing) { l.Referer = "  "; l.SecFetchSite = "none" }),
			want: Touch{Channel: ChannelDirect, Source: "direct", Evidence: "Sec-Fetch-Site none"}},
		{name: "WhatsApp opens the system browser", l: landing(func(l *Landing) {
			l.UserAgent = uaSafariIOS
			l.SecFetchSite = "none"
		}),
			want: Touch{Channel: ChannelDirect, Source: "direct", Evidence: "Sec-Fetch-Site none"}},

		// Unreadable referrers are unknown.
		{name: "relative referrer", l: landing(referer("/events")),
			want: Touch{Channel: ChannelUnknown, Source: "unknown", Evidence: "unreadable referrer"}, ignored: "unreadable referrer"},
		{name: "referrer without host", l: landing(referer("https:///path")),
			want: Touch{Channel: ChannelUnknown, Source: "unknown", Evidence: "unreadable referrer"}, ignored: "unreadable referrer"},
		{name: "referrer with another scheme", l: landing(referer("ftp://files.example.org/")),
			want: Touch{Channel: ChannelUnknown, Source: "unknown", Evidence: "unreadable referrer"}, ignored: "unreadable referrer"},
		{name: "about:blank referrer", l: landing(referer("about:blank")),
			want: Touch{Channel: ChannelUnknown, Source: "unknown", Evidence: "unreadable referrer"}, ignored: "unreadable referrer"},
		{name: "referrer with bad port", l: landing(referer("https://example.org:80a/")),
			want: Touch{Channel: ChannelUnknown, Source: "unknown", Evidence: "unreadable referrer"}, ignored: "unreadable referrer"},
		{name: "unicode referrer host", l: landing(referer("https://münchen.de/")),
			want: Touch{Channel: ChannelUnknown, Source: "unknown", Evidence: "unreadable referrer"}, ignored: "unreadable referrer"},
		{name: "referrer host with empty label", l: landing(referer("https://a..b/")),
			want: Touch{Channel: ChannelUnknown, Source: "unknown", Evidence: "unreadable referrer"}, ignored: "unreadable referrer"},
		{name: "referrer with NUL in host", l: landing(referer("https://exa\x00mple.org/")),
			want: Touch{Channel: ChannelUnknown, Source: "unknown", Evidence: "unreadable referrer"}, ignored: `\x00`},
		{name: "unreadable referrer beats in-app browser", l: landing(func(l *Landing) {
			l.Referer = "garbage"
			l.UserAgent = uaInstagramIOS
		}),
			want: Touch{Channel: ChannelUnknown, Source: "unknown", Evidence: "unreadable referrer"}, ignored: "unreadable referrer"},
		{name: "10k referrer is unknown", l: landing(referer("https://example.org/" + strings.Repeat("a", 10000))),
			want: Touch{Channel: ChannelUnknown, Source: "unknown", Evidence: "referrer too long"}, ignored: "referrer longer than 2048 bytes"},
		{name: "long host is unreadable", l: landing(referer("https://" + strings.Repeat("a.", 130) + "com/")),
			want: Touch{Channel: ChannelUnknown, Source: "unknown", Evidence: "unreadable referrer"}, ignored: "unreadable referrer"},

		// Hostile queries: bounded, never a panic.
		{name: "bad escapes everywhere", l: landing(query("%&%%&=%&promoter=%G1&utm_source=%&promoter=ana")),
			want: Touch{Channel: ChannelPromoter, Source: "ana", Promoter: "ana", Evidence: "param promoter=ana"}, ignored: "promoter code"},
		{name: "semicolons are not separators", l: landing(query("x=1;promoter=ana")),
			want: Touch{Channel: ChannelDirect, Source: "direct", Evidence: "no referrer"}},
		{name: "NUL bytes in the query", l: landing(query("promoter=an\x00a&utm_source=\x00")),
			want: Touch{Channel: ChannelDirect, Source: "direct", Evidence: "no referrer"}, ignored: "promoter code"},
		{name: "promoter past 64 parameters is not read", l: landing(query(strings.Repeat("a=1&", 64) + "promoter=ana")),
			want: Touch{Channel: ChannelDirect, Source: "direct", Evidence: "no referrer"}, ignored: "more than 64 query parameters"},
		{name: "promoter within 64 parameters is read", l: landing(query(strings.Repeat("a=1&", 63) + "promoter=ana")),
			want: Touch{Channel: ChannelPromoter, Source: "ana", Promoter: "ana", Evidence: "param promoter=ana"}},
		{name: "promoter past 4 KiB is not read", l: landing(query("x=" + strings.Repeat("a", 5000) + "&promoter=ana")),
			want: Touch{Channel: ChannelDirect, Source: "direct", Evidence: "no referrer"}, ignored: "query longer than 4096 bytes"},
		{name: "value cut by the 4 KiB bound is dropped", l: landing(query("x=1&utm_source=" + strings.Repeat("a", 5000))),
			want: Touch{Channel: ChannelDirect, Source: "direct", Evidence: "no referrer"}, ignored: "query longer than 4096 bytes"},
		{name: "promoter before a huge tail is read", l: landing(query("promoter=ana&x=" + strings.Repeat("a", 1<<20))),
			want: Touch{Channel: ChannelPromoter, Source: "ana", Promoter: "ana", Evidence: "param promoter=ana"}, ignored: "query longer"},

		// Event and path.
		{name: "invalid event slug dropped", l: landing(func(l *Landing) { l.Event = "Summer Fest" }),
			want: Touch{Channel: ChannelDirect, Source: "direct", Evidence: "no referrer"}, ignored: "event slug"},
		{name: "long path cut", l: landing(func(l *Landing) { l.Path = "/" + strings.Repeat("p", 500) }),
			want: Touch{Channel: ChannelDirect, Source: "direct", Evidence: "no referrer"}, ignored: "path cut"},
		{name: "site-wide page", l: landing(func(l *Landing) { l.Event = ""; l.Path = "/"; l.RawQuery = "promoter=ana" }),
			want: Touch{Channel: ChannelPromoter, Source: "ana", Promoter: "ana", Evidence: "param promoter=ana"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) { runClassify(t, tc) })
	}
}

// TestClassifyReferrers checks the host table: real referrers per channel.
func TestClassifyReferrers(t *testing.T) {
	cases := []struct {
		referer string
		host    string
		source  string
		channel Channel
	}{
		// Social: link shims, mobile and desktop hosts.
		{"https://l.instagram.com/", "l.instagram.com", "instagram", ChannelSocial},
		{"https://www.instagram.com/", "www.instagram.com", "instagram", ChannelSocial},
		{"https://instagram.com/", "instagram.com", "instagram", ChannelSocial},
		{"https://l.facebook.com/", "l.facebook.com", "facebook", ChannelSocial},
		{"https://lm.facebook.com/", "lm.facebook.com", "facebook", ChannelSocial},
		{"https://m.facebook.com/", "m.facebook.com", "facebook", ChannelSocial},
		{"https://www.facebook.com/", "www.facebook.com", "facebook", ChannelSocial},
		{"https://web.facebook.com/", "web.facebook.com", "facebook", ChannelSocial},
		{"https://t.co/", "t.co", "x", ChannelSocial},
		{"https://x.com/", "x.com", "x", ChannelSocial},
		{"https://twitter.com/", "twitter.com", "x", ChannelSocial},
		{"https://mobile.twitter.com/", "mobile.twitter.com", "x", ChannelSocial},
		{"https://www.tiktok.com/", "www.tiktok.com", "tiktok", ChannelSocial},
		{"https://www.youtube.com/", "www.youtube.com", "youtube", ChannelSocial},
		{"https://m.youtube.com/", "m.youtube.com", "youtube", ChannelSocial},
		{"https://youtu.be/", "youtu.be", "youtube", ChannelSocial},
		{"https://www.snapchat.com/", "www.snapchat.com", "snapchat", ChannelSocial},
		{"https://www.linkedin.com/", "www.linkedin.com", "linkedin", ChannelSocial},
		{"https://lnkd.in/", "lnkd.in", "linkedin", ChannelSocial},
		{"https://www.threads.net/", "www.threads.net", "threads", ChannelSocial},
		{"https://l.threads.com/", "l.threads.com", "threads", ChannelSocial},
		{"https://www.reddit.com/", "www.reddit.com", "reddit", ChannelSocial},
		{"https://out.reddit.com/", "out.reddit.com", "reddit", ChannelSocial},
		{"https://old.reddit.com/r/berlin/", "old.reddit.com", "reddit", ChannelSocial},
		{"https://www.pinterest.com/", "www.pinterest.com", "pinterest", ChannelSocial},
		{"https://www.pinterest.de/", "www.pinterest.de", "pinterest", ChannelSocial},
		{"https://pinterest.co.uk/", "pinterest.co.uk", "pinterest", ChannelSocial},
		{"https://bsky.app/", "bsky.app", "bluesky", ChannelSocial},
		{"https://discord.com/", "discord.com", "discord", ChannelSocial},
		{"android-app://com.instagram.android/", "com.instagram.android", "instagram", ChannelSocial},
		{"android-app://com.instagram.barcelona/", "com.instagram.barcelona", "threads", ChannelSocial},
		{"android-app://com.facebook.katana/", "com.facebook.katana", "facebook", ChannelSocial},
		{"android-app://com.zhiliaoapp.musically/", "com.zhiliaoapp.musically", "tiktok", ChannelSocial},
		{"android-app://com.twitter.android/", "com.twitter.android", "x", ChannelSocial},
		{"android-app://com.linkedin.android/", "com.linkedin.android", "linkedin", ChannelSocial},
		{"android-app://com.reddit.frontpage/", "com.reddit.frontpage", "reddit", ChannelSocial},

		// Search: Google's country domains, other engines.
		{"https://www.google.com/", "www.google.com", "google", ChannelSearch},
		{"https://www.google.co.uk/", "www.google.co.uk", "google", ChannelSearch},
		{"https://www.google.de/", "www.google.de", "google", ChannelSearch},
		{"https://www.google.com.br/", "www.google.com.br", "google", ChannelSearch},
		{"https://www.google.co.jp/", "www.google.co.jp", "google", ChannelSearch},
		{"https://google.fr/", "google.fr", "google", ChannelSearch},
		{"https://news.google.com/", "news.google.com", "google", ChannelSearch},
		{"android-app://com.google.android.googlequicksearchbox/", "com.google.android.googlequicksearchbox", "google", ChannelSearch},
		{"https://www.bing.com/", "www.bing.com", "bing", ChannelSearch},
		{"https://cn.bing.com/", "cn.bing.com", "bing", ChannelSearch},
		{"https://duckduckgo.com/", "duckduckgo.com", "duckduckgo", ChannelSearch},
		{"https://search.yahoo.com/", "search.yahoo.com", "yahoo", ChannelSearch},
		{"https://uk.search.yahoo.com/", "uk.search.yahoo.com", "yahoo", ChannelSearch},
		{"https://search.yahoo.co.jp/", "search.yahoo.co.jp", "yahoo", ChannelSearch},
		{"https://www.ecosia.org/", "www.ecosia.org", "ecosia", ChannelSearch},
		{"https://www.qwant.com/", "www.qwant.com", "qwant", ChannelSearch},
		{"https://www.baidu.com/", "www.baidu.com", "baidu", ChannelSearch},
		{"https://yandex.ru/", "yandex.ru", "yandex", ChannelSearch},
		{"https://yandex.com.tr/", "yandex.com.tr", "yandex", ChannelSearch},
		{"https://search.brave.com/", "search.brave.com", "brave", ChannelSearch},
		{"https://www.startpage.com/", "www.startpage.com", "startpage", ChannelSearch},

		// AI assistants: a channel of their own.
		{"https://chatgpt.com/", "chatgpt.com", "chatgpt", ChannelAI},
		{"https://www.perplexity.ai/", "www.perplexity.ai", "perplexity", ChannelAI},
		{"https://gemini.google.com/", "gemini.google.com", "gemini", ChannelAI},
		{"https://claude.ai/", "claude.ai", "claude", ChannelAI},
		{"https://copilot.microsoft.com/", "copilot.microsoft.com", "copilot", ChannelAI},
		{"https://chat.mistral.ai/", "chat.mistral.ai", "mistral", ChannelAI},

		// Link in bio.
		{"https://linktr.ee/", "linktr.ee", "linktree", ChannelLinkInBio},
		{"https://beacons.ai/", "beacons.ai", "beacons", ChannelLinkInBio},
		{"https://lnk.bio/", "lnk.bio", "lnk.bio", ChannelLinkInBio},
		{"https://bio.link/", "bio.link", "bio.link", ChannelLinkInBio},
		{"https://festival.carrd.co/", "festival.carrd.co", "carrd", ChannelLinkInBio},
		{"https://taplink.cc/", "taplink.cc", "taplink", ChannelLinkInBio},
		{"https://linkin.bio/", "linkin.bio", "later", ChannelLinkInBio},

		// Messengers.
		{"https://web.whatsapp.com/", "web.whatsapp.com", "whatsapp", ChannelMessenger},
		{"https://wa.me/", "wa.me", "whatsapp", ChannelMessenger},
		{"https://t.me/", "t.me", "telegram", ChannelMessenger},
		{"https://web.telegram.org/", "web.telegram.org", "telegram", ChannelMessenger},
		{"https://www.messenger.com/", "www.messenger.com", "messenger", ChannelMessenger},
		{"https://l.messenger.com/", "l.messenger.com", "messenger", ChannelMessenger},
		{"https://app.slack.com/", "app.slack.com", "slack", ChannelMessenger},
		{"https://teams.microsoft.com/", "teams.microsoft.com", "teams", ChannelMessenger},
		{"android-app://com.whatsapp/", "com.whatsapp", "whatsapp", ChannelMessenger},
		{"android-app://org.telegram.messenger/", "org.telegram.messenger", "telegram", ChannelMessenger},
		{"android-app://jp.naver.line.android/", "jp.naver.line.android", "line", ChannelMessenger},

		// Email.
		{"https://mail.google.com/", "mail.google.com", "gmail", ChannelEmail},
		{"android-app://com.google.android.gm/", "com.google.android.gm", "gmail", ChannelEmail},
		{"https://outlook.live.com/", "outlook.live.com", "outlook", ChannelEmail},
		{"https://outlook.office.com/", "outlook.office.com", "outlook", ChannelEmail},
		{"https://mail.yahoo.com/", "mail.yahoo.com", "yahoo_mail", ChannelEmail},
		{"https://mail.yahoo.co.jp/", "mail.yahoo.co.jp", "yahoo_mail", ChannelEmail},
		{"https://mail.proton.me/", "mail.proton.me", "proton", ChannelEmail},
		{"https://www.icloud.com/", "www.icloud.com", "icloud", ChannelEmail},
		{"android-app://com.microsoft.office.outlook/", "com.microsoft.office.outlook", "outlook", ChannelEmail},

		// Google products that are not search.
		{"https://docs.google.com/", "docs.google.com", "docs.google.com", ChannelReferral},
		// Anything else: the registrable domain.
		{"https://www.residentadvisor.net/events", "www.residentadvisor.net", "residentadvisor.net", ChannelReferral},
		{"https://www.ticketlink.co.kr/", "www.ticketlink.co.kr", "ticketlink.co.kr", ChannelReferral},
		{"https://www.abc.net.au/", "www.abc.net.au", "abc.net.au", ChannelReferral},
		{"https://newsletter.substack.com/", "newsletter.substack.com", "substack.com", ChannelReferral},
		{"https://notgoogle.com/", "notgoogle.com", "notgoogle.com", ChannelReferral},
		{"https://google.example.com/", "google.example.com", "example.com", ChannelReferral},
		{"https://instagram.com.evil.io/", "instagram.com.evil.io", "evil.io", ChannelReferral},
	}
	for _, tc := range cases {
		t.Run(tc.referer, func(t *testing.T) {
			runClassify(t, classifyCase{
				l: landing(referer(tc.referer)),
				want: Touch{Channel: tc.channel, Source: tc.source, ReferrerHost: tc.host,
					Evidence: "referrer " + strings.TrimPrefix(tc.referer[:strings.Index(tc.referer, "://")+3], "https://") + tc.host},
			})
		})
	}
}

func TestClassifyNilAndZeroClassifierAgree(t *testing.T) {
	l := landing(referer("https://l.instagram.com/"))
	a, ai := Classify(l)
	b, bi := (&Classifier{}).Classify(l)
	equal(t, a, b)
	equal(t, ai, bi)
}

// TestClassifyTouchOwnsItsStrings checks that a touch shares no memory
// with the request, so a stored touch cannot pin a large request.
func TestClassifyTouchOwnsItsStrings(t *testing.T) {
	q := "promoter=ana&utm_source=newsletter&utm_medium=email&x=" + strings.Repeat("y", 1000)
	ref := "https://blog.example.org/" + strings.Repeat("z", 1000)
	l := landing(func(l *Landing) { l.RawQuery, l.Referer = q, ref })
	got, _ := Classify(l)
	within := func(s, in string) bool {
		if s == "" || in == "" {
			return false
		}
		sp, ip := uintptrOf(s), uintptrOf(in)
		return sp >= ip && sp < ip+uintptr(len(in))
	}
	for _, s := range []string{got.Source, got.Promoter, got.UTM.Source, got.UTM.Medium, got.ReferrerHost, got.Evidence, got.Path, got.Event} {
		isFalse(t, within(s, q) || within(s, ref) || within(s, l.Path) || within(s, l.Event), "%q shares the request's memory", s)
	}
}

// Minimal assertion helpers (testify's assert would need a go.sum entry
// for its YAML dependency).

func equal[T comparable](t testing.TB, want, got T, msgAndArgs ...any) {
	t.Helper()
	if want != got {
		t.Errorf("%sgot %#v, want %#v", msg(msgAndArgs), got, want)
	}
}

func isTrue(t testing.TB, ok bool, msgAndArgs ...any) {
	t.Helper()
	if !ok {
		t.Errorf("%sis false", msg(msgAndArgs))
	}
}

func isFalse(t testing.TB, ok bool, msgAndArgs ...any) {
	t.Helper()
	if ok {
		t.Errorf("%sis true", msg(msgAndArgs))
	}
}

func contains(t testing.TB, s, sub string, msgAndArgs ...any) {
	t.Helper()
	if !strings.Contains(s, sub) {
		t.Errorf("%s%q does not contain %q", msg(msgAndArgs), s, sub)
	}
}

func msg(msgAndArgs []any) string {
	if len(msgAndArgs) == 0 {
		return ""
	}
	f, _ := msgAndArgs[0].(string)
	return fmt.Sprintf(f, msgAndArgs[1:]...) + ": "
}

func uintptrOf(s string) uintptr { return uintptr(unsafe.Pointer(unsafe.StringData(s))) }

func TestClassifyReportIsBounded(t *testing.T) {
	var b strings.Builder
	for i := 0; i < 60; i++ {
		b.WriteString("promoter=" + strings.Repeat("!", 100) + "&")
	}
	_, ignored := Classify(landing(query(b.String())))
	contains(t, ignored, "more")
	isTrue(t, len(ignored) < 600, "report of %d bytes", len(ignored))
}

func TestHasTrackingParams(t *testing.T) {
	custom := &Classifier{PromoterParams: []string{"ref"}}
	cases := []struct {
		name  string
		c     *Classifier
		query string
		want  bool
	}{
		{"empty", nil, "", false},
		{"unrelated", nil, "page=2&sort=date", false},
		{"promoter", nil, "promoter=ana", true},
		{"promoter without value", nil, "promoter", true},
		{"promoter uppercase", nil, "PROMOTER=ana", true},
		{"promoter escaped name", nil, "pro%6Doter=ana", true},
		{"promoter bad escape in name", nil, "pro%6=ana", false},
		{"utm_source", nil, "a=1&utm_source=x", true},
		{"utm_medium alone", nil, "utm_medium=email", true},
		{"any utm_", nil, "utm_id=7", true},
		{"utm_ with a bad escape later", nil, "utm_%zz=1", false},
		{"utm without underscore", nil, "utmsource=x", false},
		{"gclid", nil, "gclid=x", true},
		{"fbclid", nil, "q=1&fbclid=x", true},
		{"li_fat_id", nil, "li_fat_id=x", true},
		{"ScCid", nil, "ScCid=x", true},
		{"click id in a value does not count", nil, "q=gclid", false},
		{"custom promoter param", custom, "ref=ana", true},
		{"default name not used with custom params", custom, "promoter=ana", false},
		{"past 64 parameters", nil, strings.Repeat("a&", 64) + "promoter=ana", false},
		{"past 4 KiB", nil, "a=" + strings.Repeat("b", MaxQueryScan) + "&promoter=ana", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			equal(t, tc.want, tc.c.HasTrackingParams(tc.query))
		})
	}
}

func TestExternalReferrer(t *testing.T) {
	c := &Classifier{PlatformHosts: []string{"shop.example.org", ".example.net"}}
	cases := []struct {
		name, referer, host string
		want                bool
	}{
		{"no referrer", "", "example.com", false},
		{"own host", "https://example.com/x", "example.com", false},
		{"own host, www and port", "https://WWW.Example.com:443/", "example.com:8443", false},
		{"platform host", "https://shop.example.org/", "example.com", false},
		{"platform subdomain", "https://a.b.example.net/", "example.com", false},
		{"external", "https://l.instagram.com/", "example.com", true},
		{"subdomain of own host is external", "https://blog.example.com/", "example.com", true},
		{"android app", "android-app://com.instagram.android/", "example.com", true},
		{"unreadable", "not a url", "example.com", false},
		{"too long", "https://x.org/" + strings.Repeat("a", MaxRefererLen), "example.com", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			equal(t, tc.want, c.ExternalReferrer(tc.referer, tc.host))
		})
	}
}

func TestRegistrableDomain(t *testing.T) {
	for h, want := range map[string]string{
		"example.com":          "example.com",
		"a.b.example.com":      "example.com",
		"www.bbc.co.uk":        "bbc.co.uk",
		"co.uk":                "co.uk",
		"localhost":            "localhost",
		"10.0.0.1":             "10.0.0.1",
		"::1":                  "::1",
		"ana.github.io":        "ana.github.io",
		"x.shop.myshopify.com": "shop.myshopify.com",
	} {
		equal(t, want, registrableDomain(h), h)
	}
}

// The no-allocation promises the middleware relies on for requests it
// does not track.
func TestNoAllocations(t *testing.T) {
	c := &Classifier{PlatformHosts: []string{".example.net"}}
	checks := map[string]func(){
		"HasTrackingParams": func() { c.HasTrackingParams("page=2&sort=date&Utm_Medium=x&ref=abc") },
		"HasTrackingParams miss": func() {
			c.HasTrackingParams("a=1&b=%20&c=" + "zzzzzzzzzzzzzzzzzzzzzzzzzzzzzz")
		},
		"ExternalReferrer":   func() { c.ExternalReferrer("https://WWW.Example.com/x?y", "example.com:443") },
		"ExternalReferrer 2": func() { c.ExternalReferrer("https://l.instagram.com/", "example.com") },
		"InAppBrowser":       func() { InAppBrowser(uaTikTokIOS) },
		"InAppBrowser miss":  func() { InAppBrowser(uaChromeDesktop) },
	}
	for name, f := range checks {
		equal(t, 0.0, testing.AllocsPerRun(100, f), name)
	}
}

// Classify allocates once on a typical landing: the touch's own strings.
func TestClassifyAllocations(t *testing.T) {
	for name, l := range map[string]Landing{
		"promoter":  landing(query("promoter=ana")),
		"utm":       landing(query("utm_source=newsletter&utm_medium=email&utm_campaign=summer")),
		"instagram": landing(func(l *Landing) { l.Referer = "https://l.instagram.com/"; l.UserAgent = uaInstagramIOS }),
		"direct":    landing(func(l *Landing) { l.SecFetchSite = "none" }),
	} {
		allocs := testing.AllocsPerRun(100, func() { Classify(l) })
		isTrue(t, allocs <= 1, "%s: %v allocs", name, allocs)
	}
}

// slowHasTrackingParams is the reference HasTrackingParams is fuzzed
// against: url.QueryUnescape per key, on the first MaxQueryParams
// '&'-separated parameters.
func slowHasTrackingParams(promoterParams []string, q string) bool {
	segs := strings.Split(q, "&")
	if len(segs) > MaxQueryParams {
		segs = segs[:MaxQueryParams]
	}
	for _, seg := range segs {
		if seg == "" {
			continue
		}
		key, _, _ := strings.Cut(seg, "=")
		k, err := url.QueryUnescape(key)
		if err != nil {
			continue
		}
		k = asciiLower(k)
		for _, p := range promoterParams {
			if k == asciiLower(p) {
				return true
			}
		}
		if strings.HasPrefix(k, "utm_") {
			return true
		}
		if _, ok := clickIDs[k]; ok {
			return true
		}
	}
	return false
}

func asciiLower(s string) string {
	b := []byte(s)
	for i, c := range b {
		b[i] = lowerASCII(c)
	}
	return string(b)
}

func TestSlowHasTrackingParamsAgrees(t *testing.T) {
	for _, q := range []string{"", "promoter=a", "x=1&UTM_x=2", "gclid", "%zz=1&promoter", "a=%&b", "utm%5f=1"} {
		equal(t, slowHasTrackingParams([]string{"promoter"}, q), (*Classifier)(nil).HasTrackingParams(q), q)
	}
}
