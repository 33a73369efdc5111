package middleware

// The bot filter: which user agents are not a person's browser. It runs on
// every candidate page view, so typical browsers are decided without
// allocating.

import (
	"bytes"
	"strings"

	"github.com/mssola/useragent"

	"github.com/tracklink/tracklink"
)

// minUALen is the shortest user agent taken for a browser. Every real
// browser sends "Mozilla/5.0 (…" and more; "curl" or "x" is a script.
const minUALen = 10

// IsBot reports whether the user agent is not a person's browser: a
// crawler, a link-preview fetcher (facebookexternalhit, WhatsApp,
// Twitterbot, Slackbot, TelegramBot, Discordbot, LinkedInBot, …), an HTTP
// client or headless browser (curl, Wget, Go-http-client, python-requests,
// okhttp, axios, node-fetch, HeadlessChrome, …), one that
// github.com/mssola/useragent flags as a bot, or an empty or implausibly
// short one (under 10 bytes). In-app browsers (see tracklink.InAppBrowser) are
// people and always return false.
//
// It reads the first 512 bytes only. Typical browser user agents are
// decided without allocating; mssola/useragent, which allocates, runs only
// when ua contains one of the few things its rules look for (a URL, or
// "bot", "crawler", "spider", "search", "fetch", "worm", "nutch").
func IsBot(ua string) bool {
	if len(ua) > tracklink.MaxUserAgent {
		ua = ua[:tracklink.MaxUserAgent]
	}
	if len(strings.TrimSpace(ua)) < minUALen {
		return true
	}
	if _, _, inApp := tracklink.InAppBrowser(ua); inApp {
		return false
	}
	bot, suspect := scanUA(ua)
	if bot {
		return true
	}
	if suspect {
		return useragent.New(ua).Bot()
	}
	return false
}

// uaWords are lowercase user agent words (runs of letters, digits, '-' and
// '_') that name a bot, preview fetcher, HTTP client or headless browser
// whose name does not end in "bot", "crawler" or "spider" (those are caught
// by scanUA's suffix rule).
var uaWords = map[string]bool{
	// Link-preview fetchers.
	"facebookexternalhit": true, "facebookcatalog": true, "meta-externalagent": true, "meta-externalfetcher": true,
	"whatsapp": true, "skypeuripreview": true, "embedly": true, "vkshare": true, "iframely": true, "preview": true,
	"microsoftpreview": true, "cardyb": true, "mastodon": true, "pleroma": true, "misskey": true, "akkoma": true,
	"flipboardproxy": true, "outbrain": true, "tumblr": true, "slack-imgproxy": true,
	// Crawlers, monitors and auditors.
	"slurp": true, "yandeximages": true, "yandexmetrika": true, "mediapartners-google": true, "adsbot-google": true,
	"adsbot-google-mobile": true, "feedfetcher-google": true, "google-inspectiontool": true, "googleother": true,
	"google-extended": true, "google-safety": true, "google-site-verification": true, "apis-google": true,
	"chrome-lighthouse": true, "lighthouse": true, "gtmetrix": true, "ptst": true, "pingdom": true, "statuscake": true,
	"site24x7": true, "newrelicpinger": true, "datadogsynthetics": true, "ia_archiver": true, "heritrix": true,
	"chatgpt-user": true, "claude-web": true, "claude-user": true, "anthropic-ai": true, "perplexity-user": true,
	"bytespider": true, "cohere-ai": true, "yeti": true, "sogou": true, "qwantify": true, "sitebulb": true,
	"zgrab": true, "masscan": true, "nmap": true, "nuclei": true, "sqlmap": true, "nikto": true, "censysinspect": true,
	"w3c_validator": true, "prerender": true,
	// HTTP clients and automation.
	"curl": true, "wget": true, "go-http-client": true, "python-requests": true, "python-urllib": true,
	"python-httpx": true, "httpx": true, "aiohttp": true, "okhttp": true, "axios": true, "node-fetch": true,
	"undici": true, "node": true, "deno": true, "bun": true, "java": true, "apache-httpclient": true,
	"jakarta": true, "libwww-perl": true, "lwp-trivial": true, "php": true, "guzzlehttp": true, "ruby": true,
	"faraday": true, "rest-client": true, "dart": true, "postmanruntime": true, "insomnia": true, "httpie": true,
	"scrapy": true, "colly": true, "reqwest": true, "windowspowershell": true, "winhttp": true, "cfnetwork": true,
	"dalvik": true, "headlesschrome": true, "phantomjs": true, "puppeteer": true, "playwright": true,
	"selenium": true, "slimerjs": true, "htmlunit": true, "wkhtmltopdf": true,
}

// scanUA lowercases ua (at most tracklink.MaxUserAgent bytes, on the stack) and looks
// at its words (runs of letters, digits, '-' and '_'). bot is true when a
// word is in uaWords, or a '-'-separated part of a word ends in "bot"
// (Googlebot, bingbot, Slackbot-LinkExpanding, archive.org_bot), "crawler"
// or "spider". suspect is true when ua holds something
// mssola/useragent's bot rules look for, so that IsBot consults it only
// then: a URL ("://"), "facebookexternalhit", or bot, crawler, spider,
// spyder, search, worm, fetch or nutch.
func scanUA(ua string) (bot, suspect bool) {
	var buf [tracklink.MaxUserAgent]byte
	n := copy(buf[:], ua)
	b := buf[:n]
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	botish := containsAny(b, botKeys[:])
	suspect = botish || containsAny(b, mssolaKeys[:])
	for i := 0; i < len(b); {
		if !wordByte(b[i]) {
			i++
			continue
		}
		j := i
		for j < len(b) && wordByte(b[j]) {
			j++
		}
		w := b[i:j]
		i = j
		if w[0] <= '9' { // a version number
			continue
		}
		if uaWords[string(w)] {
			return true, true
		}
		if !botish {
			continue
		}
		for rest := w; len(rest) > 0; {
			part, after, _ := bytes.Cut(rest, []byte("-"))
			rest = after
			if botName(part) {
				return true, true
			}
		}
	}
	return false, suspect
}

func wordByte(c byte) bool {
	return 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '_'
}

// botName reports whether a lowercase user agent word part names a robot
// by convention. "cubot" is a phone brand (CUBOT Android devices), not a
// robot.
func botName(p []byte) bool {
	switch {
	case bytes.HasSuffix(p, []byte("bot")):
		return !bytes.HasSuffix(p, []byte("cubot"))
	case bytes.HasSuffix(p, []byte("crawler")), bytes.HasSuffix(p, []byte("spider")), bytes.HasSuffix(p, []byte("spyder")):
		return true
	}
	return false
}

func containsAny(b []byte, keys [][]byte) bool {
	for _, k := range keys {
		if bytes.Contains(b, k) {
			return true
		}
	}
	return false
}

// botKeys are the substrings botName looks for.
var botKeys = [...][]byte{[]byte("bot"), []byte("crawler"), []byte("spider"), []byte("spyder")}

// mssolaKeys, with botKeys, are the substrings one of which a user agent
// must contain for mssola/useragent to call it a bot: its bot regexp
// (bot|crawler|sp(i|y)der|search|worm|fetch|nutch), its URL rule
// (http[s]?://…) and its iMessage rule (facebookexternalhit with
// Twitterbot).
var mssolaKeys = [...][]byte{
	[]byte("://"), []byte("search"), []byte("worm"), []byte("fetch"), []byte("nutch"), []byte("facebookexternalhit"),
}
