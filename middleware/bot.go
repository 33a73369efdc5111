package middleware

// The bot filter: which user agents are not a person's browser. It runs on
// every candidate page view, so it decides without allocating.
//
// It generalises rather than lists. A person's browser sends
// "Mozilla/5.0 (platform) Engine/version (KHTML, like Gecko) Browser/version…"
// and nothing else; bots give themselves away by what they add or leave
// out: no "Mozilla/5.0 (" prefix, no rendering engine, a URL or an e-mail
// address for their operator, "compatible;" followed by their own name, or
// a word such as bot, crawler, spider, fetch, scan, monitor, preview or
// check inside one of their tokens (Googlebot, sukibot_heritrix,
// web-crawlers, Hatena::Fetcher, BingPreview, Uptime-Kuma). A short list
// names the rest: HTTP libraries, headless browsers and automation, AI
// agents and the few crawlers whose names say none of this.

import (
	"bytes"
	"strings"

	"github.com/tracklink/tracklink"
)

// minUALen is the shortest user agent taken for a browser. Every real
// browser sends "Mozilla/5.0 (…" and more; "curl" or "x" is a script.
const minUALen = 10

// IsBot reports whether the user agent is not a person's browser: a
// crawler, a link-preview fetcher (facebookexternalhit, WhatsApp,
// Twitterbot, Slackbot, BingPreview, Discourse Onebox, …), an uptime
// monitor or scanner, an AI agent or fetcher (ChatGPT-User,
// PerplexityUser, Google-Agent), an HTTP client or headless browser (curl,
// Go-http-client, python-requests, okhttp, HeadlessChrome, Electron, …),
// or an empty or implausibly short one (under 10 bytes). In-app browsers
// (see tracklink.InAppBrowser) are people and always return false.
//
// The rules, in order (see the file comment for why they generalise):
//
//  1. empty or under 10 bytes → bot;
//  2. a URL (://, www.) or an e-mail address anywhere → bot: browsers
//     name no website and no operator;
//  3. "compatible;" not followed by MSIE → bot (Googlebot, GPTBot,
//     Google-Agent, TikTokSpider announce themselves so);
//  4. an in-app browser in its app's own format → person;
//  5. not "Mozilla/5.0 (" (or an old "Mozilla/4.0 (compatible; MSIE",
//     "Opera/9.80 (") → bot: every browser in use starts so, HTTP
//     libraries and most crawlers do not;
//  6. no rendering engine (AppleWebKit/, Gecko/, Trident/, Presto/) → bot;
//  7. a token holding bot, crawl, spider, fetch, scan, monitor, preview,
//     check and the like, a domain name (name.com, name.io…), or one of
//     uaWords → bot.
//
// It reads the first 512 bytes only and does not allocate.
func IsBot(ua string) bool {
	if len(ua) > tracklink.MaxUserAgent {
		ua = ua[:tracklink.MaxUserAgent]
	}
	ua = strings.TrimSpace(ua)
	if len(ua) < minUALen {
		return true
	}
	var buf [tracklink.MaxUserAgent]byte
	b := buf[:copy(buf[:], ua)]
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	// Signs no browser, in-app or not, ever shows.
	if bytes.Contains(b, []byte("://")) || bytes.Contains(b, []byte("www.")) || email(b) ||
		bytes.Contains(b, []byte("(at)")) || bytes.Contains(b, []byte("[at]")) {
		return true
	}
	if i := bytes.Index(b, []byte("compatible")); i >= 0 {
		rest := bytes.TrimLeft(b[i+len("compatible"):], ";, ")
		if !bytes.HasPrefix(rest, []byte("msie ")) {
			return true
		}
	}
	if _, _, inApp := tracklink.InAppBrowser(ua); inApp {
		return false
	}
	switch {
	case bytes.HasPrefix(b, []byte("mozilla/5.0 (")):
	case bytes.HasPrefix(b, []byte("mozilla/4.0 (compatible; msie ")), bytes.HasPrefix(b, []byte("opera/9.80 (")):
	default:
		return true
	}
	if !hasEngine(b) {
		return true
	}
	return scanWords(b)
}

// email reports whether a lowercase user agent holds an e-mail address:
// an '@' followed by a domain name (crawler@example.com). Ecosia's browser
// signs "android@150.0.0.0", which is none.
func email(b []byte) bool {
	for {
		i := bytes.IndexByte(b, '@')
		if i < 0 {
			return false
		}
		b = b[i+1:]
		j := 0
		for j < len(b) && (letter(b[j]) || '0' <= b[j] && b[j] <= '9' || b[j] == '-' || b[j] == '.') {
			j++
		}
		if d := b[:j]; bytes.IndexByte(d, '.') > 0 && letter(d[len(d)-1]) {
			return true
		}
	}
}

// hasEngine reports whether a lowercase user agent names a browser engine.
func hasEngine(b []byte) bool {
	for _, e := range engines {
		if bytes.Contains(b, e) {
			return true
		}
	}
	return false
}

var engines = [...][]byte{[]byte("applewebkit/"), []byte("gecko/"), []byte("trident/"), []byte("presto/"), []byte("like gecko"), []byte("msie ")}

// scanWords looks at a lowercase user agent: one of botParts anywhere
// (they are letters only, so inside one word), then its words (runs of
// letters, digits and '-', '_', '.', ':'): a word or a dot- or
// colon-separated part of one in uaWords, a domain name, an AI agent's
// "-user" suffix, or a company fetcher's name means a bot.
func scanWords(b []byte) bool {
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
		if versionOnly(w) || browserWords[string(w)] {
			continue
		}
		if hasBotPart(w) || botWord(w) {
			return true
		}
		// Words joined by dots or colons (Hatena::Fetcher, a.b.example)
		// are looked at part by part too.
		if bytes.IndexByte(w, '.') >= 0 || bytes.IndexByte(w, ':') >= 0 {
			if domainName(w) {
				return true
			}
			for rest := w; len(rest) > 0; {
				k := bytes.IndexAny(rest, ".:")
				part := rest
				if k >= 0 {
					part, rest = rest[:k], rest[k+1:]
				} else {
					rest = nil
				}
				if botWord(part) {
					return true
				}
			}
		}
	}
	return false
}

// hasBotPart reports whether a word holds one of botParts (360spider,
// sukibot_heritrix, web-crawlers), CUBOT aside.
func hasBotPart(w []byte) bool {
	for i := range w {
		for _, p := range botPartIndex[w[i]] {
			if bytes.HasPrefix(w[i:], p) && !(len(p) == 3 && string(p) == "bot" && cubot(w, i)) {
				return true
			}
		}
	}
	return false
}

// versionOnly reports whether a word has no letters (537.36, 124.0.0.0).
func versionOnly(w []byte) bool {
	for _, c := range w {
		if letter(c) {
			return false
		}
	}
	return true
}

// browserWords are the words of ordinary browser user agents, skipped
// only to save time: none holds a bot part.
var browserWords = map[string]bool{
	"mozilla": true, "applewebkit": true, "khtml": true, "like": true, "gecko": true, "chrome": true,
	"safari": true, "mobile": true, "version": true, "windows": true, "nt": true, "win64": true, "x64": true,
	"wow64": true, "linux": true, "android": true, "iphone": true, "ipad": true, "cpu": true, "os": true,
	"mac": true, "x": true, "intel": true, "macintosh": true, "x11": true, "x86_64": true, "k": true,
	"firefox": true, "rv": true, "edg": true, "opr": true, "crios": true, "fxios": true, "wv": true,
	"build": true, "u": true, "ubuntu": true, "samsungbrowser": true, "en-us": true, "trident": true,
}

// botWord reports whether one lowercase word names a robot by uaWords or
// its shape.
func botWord(w []byte) bool {
	for len(w) > 0 && !alnum(w[0]) {
		w = w[1:]
	}
	for len(w) > 0 && !alnum(w[len(w)-1]) {
		w = w[:len(w)-1]
	}
	if len(w) < 2 || w[0] <= '9' && len(w) > 1 && w[1] <= '9' { // a version number
		return false
	}
	if uaWords[string(w)] {
		return true
	}
	// AI agents fetching for a person: ChatGPT-User, MistralAI-User,
	// PerplexityUser, Manus-User.
	if len(w) > len("user") && bytes.HasSuffix(w, []byte("user")) {
		return true
	}
	// Google's and Meta's fetchers name themselves after the company:
	// AdsBot-Google, AppEngine-Google, Google-Extended, GoogleOther,
	// meta-externalagent. "google" alone is the phone maker in a device
	// field ("Google/google; Pixel 8").
	return bytes.HasPrefix(w, []byte("google")) && len(w) > len("google") || bytes.HasSuffix(w, []byte("-google")) ||
		bytes.HasPrefix(w, []byte("meta-")) || bytes.HasPrefix(w, []byte("cloudflare"))
}

// cubot reports whether the "bot" at b[k:] is part of CUBOT, a phone
// brand (CUBOT X30), and not of a longer word (cubotcrawler).
func cubot(b []byte, k int) bool {
	return k >= 2 && string(b[k-2:k]) == "cu" && (k+3 == len(b) || !letter(b[k+3]))
}

// botParts are the word parts that name a robot's job wherever they stand
// in a token: Googlebot, sukibot_heritrix, web-crawlers, 360Spider,
// Hatena::Fetcher, CookieHubScan, Uptime-Kuma, BingPreview,
// SwifteqLinkChecker, Datadog Agent. None occurs in a browser's tokens.
var botParts = [...][]byte{
	[]byte("bot"), []byte("crawl"), []byte("spider"), []byte("spyder"), []byte("scrap"), []byte("fetch"),
	[]byte("scan"), []byte("monitor"), []byte("preview"), []byte("check"), []byte("uptime"), []byte("archiv"),
	[]byte("validator"), []byte("sitemap"), []byte("audit"), []byte("synthetic"), []byte("headless"),
	[]byte("http"), []byte("proxy"), []byte("agent"), []byte("research"), []byte("index"), []byte("harvest"),
	[]byte("feed"), []byte("rss"), []byte("parser"), []byte("webhook"), []byte("extractor"), []byte("analyz"),
	[]byte("analys"), []byte("favicon"), []byte("screenshot"), []byte("survey"), []byte("probe"),
	[]byte("sucker"), []byte("copier"), []byte("capture"), []byte("downloader"), []byte("onebox"),
	[]byte("linkexpand"), []byte("unfurl"), []byte("externalhit"), []byte("pinger"), []byte("pingdom"),
	[]byte("optimizer"), []byte("lighthouse"), []byte("phantom"), []byte("puppeteer"), []byte("playwright"),
	[]byte("selenium"), []byte("webdriver"), []byte("slurp"), []byte("library"), []byte("inspector"),
}

// botPartIndex indexes botParts by their first byte.
var botPartIndex = func() (idx [256][][]byte) {
	for _, p := range botParts {
		idx[p[0]] = append(idx[p[0]], p)
	}
	return idx
}()

// wordByte reports whether c belongs to a user agent word.
func wordByte(c byte) bool {
	return 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '_' || c == '.' || c == ':'
}

// domainName reports whether a lowercase word holds a domain name: a
// label of two or more letters, a dot and a common top-level domain at
// the word's end or before a '/' (Dataprovider.com, feeder.co,
// abuse.xmco.fr, Hydrozen.io). Browser tokens have dots only between
// digits (Chrome/124.0.0.0, Build/TP1A.220624.014).
func domainName(w []byte) bool {
	for k := 2; k < len(w); k++ {
		if w[k] != '.' || !letter(w[k-1]) || !letter(w[k-2]) {
			continue
		}
		end := k + 1
		for end < len(w) && letter(w[end]) {
			end++
		}
		if end < len(w) && w[end] != '.' && w[end] != ':' {
			continue
		}
		if topLevel[string(w[k+1:end])] {
			return true
		}
	}
	return false
}

func letter(c byte) bool { return 'a' <= c && c <= 'z' }

func alnum(c byte) bool { return letter(c) || '0' <= c && c <= '9' }

// topLevel are the top-level domains bots' operators sign with.
var topLevel = map[string]bool{
	"com": true, "net": true, "org": true, "io": true, "co": true, "ai": true, "app": true, "dev": true,
	"info": true, "biz": true, "me": true, "eu": true, "de": true, "fr": true, "uk": true, "nl": true,
	"ru": true, "jp": true, "cn": true, "it": true, "es": true, "pl": true, "se": true, "ch": true,
	"at": true, "be": true, "cz": true, "dk": true, "fi": true, "no": true, "br": true, "in": true,
	"us": true, "ca": true, "au": true, "edu": true, "gov": true, "cloud": true, "tech": true, "xyz": true,
	"online": true, "site": true, "pro": true, "tv": true, "cc": true, "ly": true, "gl": true, "gy": true,
}

// uaWords are lowercase user agent words that name an HTTP client,
// automation tool, link-preview fetcher, monitor or crawler whose name
// says none of botParts and which may come with a browser-like prefix.
var uaWords = map[string]bool{
	// Link-preview fetchers and social networks' fetchers.
	"whatsapp": true, "skypeuripreview": true, "embedly": true, "vkshare": true, "iframely": true,
	"cardyb": true, "mastodon": true, "pleroma": true, "misskey": true, "akkoma": true, "friendica": true,
	"lemmy": true, "outbrain": true, "tumblr": true, "chatwork": true, "orlo": true, "disqus": true,
	"snap": true, "viber": true, "kakaotalk-scrap": true, "line-poker": true, "bitlybot": true,
	// Crawlers, monitors, auditors and scanners.
	"mediapartners-google": true, "ia_archiver": true, "heritrix": true, "gtmetrix": true, "ptst": true,
	"statuscake": true, "site24x7": true, "sogou": true, "qwantify": true, "sitebulb": true, "zgrab": true,
	"masscan": true, "nmap": true, "nuclei": true, "sqlmap": true, "nikto": true, "acunetix": true,
	"openvas": true, "w3c_validator": true, "prerender": true, "yeti": true, "daumoa": true,
	"bugsnag": true, "newrelicsynthetics": true, "catchpoint": true, "thousandeyes": true, "rigor": true,
	"silktide": true, "siteimprove": true, "dareboost": true, "hardenize": true, "foregenix": true,
	"sucuri": true, "watchtowr": true, "securityheaders": true, "datanyze": true, "collapsify": true,
	"yahoocachesystem": true, "yahoomailproxy": true, "googleimageproxy": true, "bingpreview": true,
	"pagepeeker": true, "readable": true, "newspaper": true, "ips-agent": true, "summify": true,
	"panscient": true, "linkdex": true, "ichiro": true, "yandexmetrika": true,
	"bytespider": true, "cohere-ai": true, "anthropic-ai": true, "claude-web": true, "perplexity-user": true,
	"gptbot": true, "oai-searchbot": true, "spawning-ai": true, "diffbot": true, "omgili": true,
	"netcraft": true, "shodan": true, "censys": true, "expanse": true, "binaryedge": true, "leakix": true,
	"l9explore": true, "l9scan": true, "scope3": true, "sindup": true, "meltwater": true, "brandwatch": true,
	"mention": true, "talkwalker": true, "devin": true, "manus": true, "newsai": true, "operator": true,
	"trae": true, "code": true, "cursor": true, "windsurf": true, "dlc": true, "testlocally": true,
	"splash": true, "ylt": true, "turingos": true, "tsm-turingos": true, "jigsaw": true, "w3c-mobileok": true,
	"printfriendly.com": true, "criticalcss.com": true, "pwabuilderhttpagent": true, "nitro-optimizer-agent": true,
	"hotjar": true, "appinsights": true, "cookiehubverify": true, "sqwatcher": true, "adbeat.com": true, "admantx": true, "hubspot": true,
	"salesforce": true, "zoominfo": true, "apollo": true, "clearbit": true, "semrush": true, "ahrefs": true,
	"majestic": true, "mj12": true, "moz": true, "screaming": true, "oncrawl": true, "deepcrawl": true,
	"botify": true, "contentking": true, "lumar": true, "sistrix": true, "seokicks": true, "xovi": true,
	// HTTP clients and automation.
	"curl": true, "wget": true, "go-http-client": true, "python-requests": true, "python-urllib": true,
	"python-httpx": true, "httpx": true, "aiohttp": true, "okhttp": true, "axios": true, "node-fetch": true,
	"undici": true, "node": true, "deno": true, "bun": true, "java": true, "apache-httpclient": true,
	"jakarta": true, "libwww-perl": true, "lwp-trivial": true, "php": true, "guzzlehttp": true, "ruby": true,
	"faraday": true, "rest-client": true, "dart": true, "postmanruntime": true, "insomnia": true, "httpie": true,
	"scrapy": true, "colly": true, "reqwest": true, "windowspowershell": true, "winhttp": true, "cfnetwork": true,
	"dalvik": true, "headlesschrome": true, "phantomjs": true, "slimerjs": true, "htmlunit": true,
	"wkhtmltopdf": true, "wkhtmltoimage": true, "chrome-lighthouse": true, "cypress": true, "nightwatch": true,
	"testcafe": true, "browserless": true, "zombie": true, "mechanize": true, "jsdom": true, "got": true,
	"superagent": true, "ky": true, "requests": true, "urllib": true, "libcurl": true, "pycurl": true,
	"httrack": true, "indy": true, "jetty": true, "jersey": true, "grpc": true,
}
