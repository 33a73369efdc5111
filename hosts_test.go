package tracklink

import (
	"strings"
	"testing"

	"golang.org/x/net/publicsuffix"
)

// refCase is a referrer host and the source and channel it must get.
type refCase struct {
	host, source string
	channel      Channel
}

func runRefCases(t *testing.T, cases []refCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.host, func(t *testing.T) {
			t.Helper()
			got, _ := Classify(landing(referer("https://" + tc.host + "/")))
			equal(t, tc.channel, got.Channel, "channel")
			equal(t, tc.source, got.Source, "source")
			equal(t, "referrer "+tc.host, got.Evidence, "evidence")
		})
	}
}

// Brands are matched under every public suffix and subdomain.
func TestBrandsUnderAnySuffix(t *testing.T) {
	runRefCases(t, []refCase{
		// Google search under country suffixes the old approximation got wrong.
		{"www.google.com.af", "google", ChannelSearch},
		{"www.google.co.bw", "google", ChannelSearch},
		{"google.com.mt", "google", ChannelSearch},
		{"www.google.rs", "google", ChannelSearch},
		{"encrypted.google.com", "google", ChannelSearch},
		{"images.google.pl", "google", ChannelSearch},
		{"yandex.kz", "yandex", ChannelSearch},
		{"search.yahoo.co.jp", "yahoo", ChannelSearch},
		{"www.bing.co.uk", "bing", ChannelSearch},
		{"www.ecosia.de", "ecosia", ChannelSearch},
		{"www.pinterest.com.au", "pinterest", ChannelSocial},
		{"es-la.facebook.com", "facebook", ChannelSocial},
		{"m.youtube.co.kr", "youtube", ChannelSocial},
		{"www.lastfm.de", "last.fm", ChannelSocial},
		// A brand label under a hosting company's suffix is that customer's
		// site, not the brand.
		{"google.blogspot.com", "google.blogspot.com", ChannelReferral},
		{"yahoo.github.io", "yahoo.github.io", ChannelReferral},
		{"instagram.s3.amazonaws.com", "instagram.s3.amazonaws.com", ChannelReferral},
		// Lookalikes are not the brand.
		{"google-tickets.de", "google-tickets.de", ChannelReferral},
		{"facebook.example.org", "example.org", ChannelReferral},
	})
}

// A mail label before a search brand is its webmail; GMX's and Web.de's
// search is search, their mailbox email.
func TestWebmailSearchSplit(t *testing.T) {
	runRefCases(t, []refCase{
		{"mail.yahoo.co.uk", "yahoo_mail", ChannelEmail},
		{"uk.mail.yahoo.com", "yahoo_mail", ChannelEmail},
		{"mail.yandex.kz", "yandex_mail", ChannelEmail},
		{"mail.yandex.com.tr", "yandex_mail", ChannelEmail},
		{"email.seznam.cz", "seznam_mail", ChannelEmail},
		{"mail.naver.com", "naver_mail", ChannelEmail},
		{"mail.google.com", "gmail", ChannelEmail},
		{"webmail.aol.co.uk", "aol_mail", ChannelEmail},
		{"poczta.onet.pl", "onet_mail", ChannelEmail},
		{"e.mail.ru", "mail.ru", ChannelEmail},
		{"www.gmx.net", "gmx", ChannelEmail},
		{"navigator.gmx.at", "gmx", ChannelEmail},
		{"suche.gmx.net", "google", ChannelSearch}, // GMX shows Google's results
		{"search.gmx.co.uk", "google", ChannelSearch},
		{"web.de", "web.de", ChannelEmail},
		{"suche.web.de", "web.de", ChannelSearch},
		// The search side of the same brands stays search.
		{"www.seznam.cz", "seznam", ChannelSearch},
		{"search.naver.com", "naver", ChannelSearch},
		{"yandex.com.tr", "yandex", ChannelSearch},
		{"go.mail.ru", "mail.ru", ChannelSearch},
		{"outlook.live.com", "outlook", ChannelEmail},
	})
}

// Hosts told by their shape: search words, federated social networks.
func TestHostShapes(t *testing.T) {
	runRefCases(t, []refCase{
		{"suche.portal-example.de", "portal-example", ChannelSearch},
		{"szukaj.portal.pl", "portal", ChannelSearch},
		{"recherche.example.fr", "example", ChannelSearch},
		{"websearch.isp-example.co.jp", "isp-example", ChannelSearch},
		{"www.kidsafesearch.com", "kidsafesearch", ChannelSearch},
		{"www.familysearch.com", "familysearch", ChannelSearch},
		{"www.researchgate.net", "researchgate.net", ChannelReferral},
		{"mastodon.example.org", "mastodon", ChannelSocial},
		{"mstdn.example.jp", "mastodon", ChannelSocial},
		{"city.social", "mastodon", ChannelSocial},
		{"mastodon.social", "mastodon", ChannelSocial},
		{"fosstodon.org", "mastodon", ChannelSocial},
		{"hachyderm.io", "mastodon", ChannelSocial},
		{"pixelfed.example.de", "pixelfed", ChannelSocial},
		{"lemmy.example.net", "lemmy", ChannelSocial},
		{"truth.social", "truth_social", ChannelSocial},
	})
}

// AI assistants are their own channel; Google's and Microsoft's sit
// under hosts that are search otherwise.
func TestAIAssistants(t *testing.T) {
	runRefCases(t, []refCase{
		{"chatgpt.com", "chatgpt", ChannelAI},
		{"chat.openai.com", "chatgpt", ChannelAI},
		{"www.perplexity.ai", "perplexity", ChannelAI},
		{"claude.ai", "claude", ChannelAI},
		{"gemini.google.com", "gemini", ChannelAI},
		{"copilot.microsoft.com", "copilot", ChannelAI},
		{"chat.mistral.ai", "mistral", ChannelAI},
		{"chat.deepseek.com", "deepseek", ChannelAI},
		{"grok.com", "grok", ChannelAI},
		{"www.meta.ai", "meta_ai", ChannelAI},
	})
	// A utm_source naming an assistant's host groups with its referrals.
	got, _ := Classify(landing(query("utm_source=chatgpt.com")))
	equal(t, ChannelCampaign, got.Channel)
	equal(t, "chatgpt", got.Source)
}

// A search results page of an engine no table knows is search.
func TestSearchResultsPage(t *testing.T) {
	for _, tc := range []struct{ ref, source string }{
		{"https://www.smallengine.de/search?q=summer+fest", "smallengine"},
		{"https://find.example.com/results?query=summer+fest", "example"},
		{"https://www.engine.nl/zoeken?keyword=festival", "engine"},
		{"https://engine.example.com/web?p=tickets#top", "example"},
		// Any parameter holding a term, under any name.
		{"https://www.kleinesuche.example/search?begriff=festival", "kleinesuche"},
		{"https://engine.example.org/search?MOTS=concert", "example"},
		// The search segment may come second.
		{"https://portal.example.lv/portal/search/?q=festival", "example"},
		// A label too short to name the engine: the registrable domain.
		{"https://1.cz/search?q=festival", "1.cz"},
		{"https://search.ab.net/search?q=festival", "ab.net"},
		// A named site that is not a search engine, on its results page.
		{"https://maps.google.com/search?q=festival", "google"},
	} {
		got, _ := Classify(landing(referer(tc.ref)))
		equal(t, ChannelSearch, got.Channel, tc.ref)
		equal(t, tc.source, got.Source, tc.ref)
	}
	// Not search pages: no search path, no term, an empty term.
	for _, ref := range []string{
		"https://blog.example.com/search-engines-explained",
		"https://blog.example.com/search",
		"https://blog.example.com/search?page=2",
		"https://blog.example.com/search?id=12345",
		"https://blog.example.com/search?page=festival",
		"https://blog.example.com/a/b/search?q=festival",
		"https://blog.example.com/search?q=",
		"https://blog.example.com/posts?q=festival",
	} {
		got, _ := Classify(landing(referer(ref)))
		equal(t, ChannelReferral, got.Channel, ref)
		equal(t, "example.com", got.Source, ref)
	}
	// The touch keeps the host only, never the search terms.
	got, _ := Classify(landing(referer("https://www.smallengine.de/search?q=secret+terms")))
	isFalse(t, strings.Contains(got.Evidence+got.ReferrerHost+got.Source, "secret"))
}

// Registrable domains come from the Public Suffix List.
func TestRegistrableDomainPublicSuffix(t *testing.T) {
	for h, want := range map[string]string{
		"www.google.com.af":       "google.com.af",
		"google.co.bw":            "google.co.bw",
		"www.gov.pl":              "www.gov.pl",
		"gov.pl":                  "gov.pl",
		"www.uni.ac.at":           "uni.ac.at",
		"ac.at":                   "ac.at",
		"shop.example.org.es":     "example.org.es",
		"org.es":                  "org.es",
		"festival.carrd.co":       "festival.carrd.co",
		"carrd.co":                "carrd.co",
		"bucket.s3.amazonaws.com": "bucket.s3.amazonaws.com",
		"ana.wixsite.com":         "ana.wixsite.com",
		"localhost":               "localhost",
		"intranet":                "intranet",
		"192.168.1.10":            "192.168.1.10",
		"2001:db8::1":             "2001:db8::1",
		"tickets.local":           "tickets.local",
	} {
		equal(t, want, registrableDomain(h), h)
	}
}

// No brand.tld is a hosting company's public suffix (brave.io is one):
// the brand lookup without the Public Suffix List would credit its
// customers' sites to the brand.
func TestBrandsAreNoPublicSuffix(t *testing.T) {
	for label := range brands {
		for _, tld := range []string{"com", "net", "org", "de", "io", "co"} {
			h := label + "." + tld
			ps, _ := publicsuffix.PublicSuffix(h)
			equal(t, tld, ps, h)
		}
	}
}

// The table stays consistent: valid channels, lowercase keys, no brand
// domain also in knownHosts under a one-label suffix (it would hide the
// webmail rule).
func TestHostTables(t *testing.T) {
	for k, hs := range knownHosts {
		isTrue(t, hs.Channel.Valid() && hs.Source != "", k)
		equal(t, strings.ToLower(k), k)
		if i := strings.LastIndexByte(k, '.'); i > 0 {
			if _, ok := brands[k[:i]]; ok && strings.IndexByte(k[:i], '.') < 0 {
				t.Errorf("%s is also the brand %s", k, k[:i])
			}
		}
	}
	for k, b := range brands {
		isTrue(t, b.Channel.Valid() && b.Source != "", k)
		equal(t, strings.ToLower(k), k)
	}
	for k, hs := range androidApps {
		isTrue(t, hs.Channel.Valid() && hs.Source != "", k)
	}
}

// Parked typos of a search brand are that engine; other near names are not.
func TestTypoBrand(t *testing.T) {
	for _, tc := range []struct{ ref, source string }{
		{"https://wwwgoogle.com/", "google"},
		{"https://gogole.com/", "google"},
		{"https://googel.de/", "google"},
		{"https://gooogle.com/", "google"},
		{"https://yandx.ru/", "yandex"},
	} {
		got, _ := Classify(landing(referer(tc.ref)))
		equal(t, ChannelSearch, got.Channel, tc.ref)
		equal(t, tc.source, got.Source, tc.ref)
	}
	for _, ref := range []string{
		"https://goggles.com/", // two edits
		"https://facebok.com/", // not a search brand
		"https://bong.com/",    // brand shorter than six letters
	} {
		got, _ := Classify(landing(referer(ref)))
		equal(t, ChannelReferral, got.Channel, ref)
	}
	isTrue(t, oneEdit("google", "gogole"))
	isTrue(t, oneEdit("google", "googl"))
	isTrue(t, oneEdit("google", "gooogle"))
	isTrue(t, oneEdit("google", "goofle"))
	isFalse(t, oneEdit("google", "google"))
	isFalse(t, oneEdit("google", "elgoog"))
	isFalse(t, oneEdit("google", "goo"))
}

// Networks, their redirectors and federated instances by name or shape.
func TestSocialHosts(t *testing.T) {
	runRefCases(t, []refCase{
		{"hyves.nl", "hyves", ChannelSocial},
		{"www.netlog.com", "netlog", ChannelSocial},
		{"classmates.com", "classmates", ChannelSocial},
		{"gate.sc", "soundcloud", ChannelSocial},
		{"t.umblr.com", "tumblr", ChannelSocial},
		{"skyfeed.app", "bluesky", ChannelSocial},
		{"mamot.fr", "mastodon", ChannelSocial},
		{"pix.toot.example", "pixelfed", ChannelSocial},
		{"toot.example", "mastodon", ChannelSocial},
	})
}
