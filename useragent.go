package tracklink

import "strings"

// MaxUserAgent bounds the work spent on a User-Agent: only its first 512
// bytes are read, by InAppBrowser, Classify and the middleware's bot
// filter. Real browser and in-app user agents are shorter; a longer one is
// attacker-controlled padding.
const MaxUserAgent = 512

// inAppApp is an app with its own in-app browser, recognised by tokens the
// app appends to the system WebView's user agent.
type inAppApp struct {
	tokens   []inAppToken // any of these
	source   string
	channel  Channel
	evidence string // "in-app browser <Name>"
}

// inAppToken is a case-sensitive token of an app's user agent. A token
// with version set counts only when a digit follows it ("Instagram 309",
// "Snapchat/12", "Snapchat11"), as in the app's own format, so that a
// crawler naming the app ("TikTokSpider", "Pinterestbot") does not pass
// for it.
type inAppToken struct {
	tok     string
	version bool
}

func tk(tok string) inAppToken { return inAppToken{tok, false} }
func tv(tok string) inAppToken { return inAppToken{tok, true} }

// inAppApps are checked in order: Threads and Messenger before Instagram
// and Facebook, whose tokens they may share. Tokens are case-sensitive so
// that preview bots mentioning the app in lowercase ("Snap URL Preview
// Service; bot; snapchat") do not pass for the app. WhatsApp's in-app
// browser says [WAiOS/…] or [WA4A/…]; its "WhatsApp/2.x" user agent is the
// link-preview fetcher. Telegram's has a token on Android only (and names
// itself in X-Requested-With there).
var inAppApps = [...]inAppApp{
	{[]inAppToken{tv("Barcelona "), tk("MetaIAB Threads")}, "threads", ChannelSocial, "in-app browser Threads"},
	{[]inAppToken{tv("Instagram "), tk("MetaIAB Instagram")}, "instagram", ChannelSocial, "in-app browser Instagram"},
	{[]inAppToken{tk("FBAN/Messenger"), tk("FB_IAB/MESSENGER"), tk("FB_IAB/Orca-Android"), tk("MetaIAB Messenger")}, "messenger", ChannelMessenger, "in-app browser Messenger"},
	// MetaIAB is Meta's newer in-app browser token, without FBAN/FBAV.
	{[]inAppToken{tk("FBAN/"), tk("FBAV/"), tk("FB_IAB/"), tk("FBIOS"), tk("MetaIAB")}, "facebook", ChannelSocial, "in-app browser Facebook"},
	{[]inAppToken{tv("WAiOS/"), tv("WA4A/")}, "whatsapp", ChannelMessenger, "in-app browser WhatsApp"},
	// TikTok and TikTok Lite (musically_go, tiktok_lite).
	{[]inAppToken{tk("musical_ly"), tk("musically_go"), tk("tiktok_lite"), tk("BytedanceWebview"), tv("trill_"), tv("TikTok "), tv("TikTok/")}, "tiktok", ChannelSocial, "in-app browser TikTok"},
	// Snapchat/12.72 on iOS, also glued to Safari/537.36 without a slash
	// (Safari/537.36Snapchat11.59) on Android.
	{[]inAppToken{tv("Snapchat/"), tv("Snapchat")}, "snapchat", ChannelSocial, "in-app browser Snapchat"},
	{[]inAppToken{tk("LinkedInApp")}, "linkedin", ChannelSocial, "in-app browser LinkedIn"},
	{[]inAppToken{tk("Pinterest/"), tk("Pinterest for")}, "pinterest", ChannelSocial, "in-app browser Pinterest"},
	{[]inAppToken{tk("Twitter for iPhone"), tk("Twitter for iPad"), tk("TwitterAndroid")}, "x", ChannelSocial, "in-app browser X"},
	{[]inAppToken{tk("Weibo ("), tk("__weibo__")}, "weibo", ChannelSocial, "in-app browser Weibo"},
	{[]inAppToken{tk("Reddit/")}, "reddit", ChannelSocial, "in-app browser Reddit"},
	{[]inAppToken{tv("Line/")}, "line", ChannelMessenger, "in-app browser Line"},
	{[]inAppToken{tv("Telegram-Android/")}, "telegram", ChannelMessenger, "in-app browser Telegram"},
	{[]inAppToken{tv("MicroMessenger/")}, "wechat", ChannelMessenger, "in-app browser WeChat"},
	{[]inAppToken{tk("KAKAOTALK")}, "kakaotalk", ChannelMessenger, "in-app browser KakaoTalk"},
	// The Google app (search, Discover): a page it opens without a
	// Referer is credited to Google search.
	{[]inAppToken{tv("GSA/")}, "google", ChannelSearch, "in-app browser Google app"},
}

// InAppBrowser returns the app whose in-app browser sent ua: its source
// name (instagram, facebook, messenger, threads, whatsapp, tiktok,
// snapchat, linkedin, pinterest, x, weibo, reddit, line, telegram, wechat,
// kakaotalk, google) and channel (ChannelMessenger for messaging apps,
// ChannelSearch for the Google app, ChannelSocial otherwise). ok is false
// for other user agents. Only user agents starting with "Mozilla/5.0 ("
// qualify, as every in-app WebView's does, and an app's token counts only
// in the app's own format, so that a script or crawler cannot pass for a
// person by mentioning an app. It reads the first 512 bytes only and does
// not allocate.
func InAppBrowser(ua string) (source string, ch Channel, ok bool) {
	if i := inApp(ua); i >= 0 {
		return inAppApps[i].source, inAppApps[i].channel, true
	}
	return "", "", false
}

// inApp returns the index in inAppApps of ua's app, or -1. It makes one
// pass over ua, trying the tokens that start with each byte (see
// inAppIndex), and returns the earliest app in inAppApps that matched.
func inApp(ua string) int {
	if len(ua) > MaxUserAgent {
		ua = ua[:MaxUserAgent]
	}
	if !strings.HasPrefix(ua, "Mozilla/5.0 (") {
		return -1
	}
	best := -1
	for i := len("Mozilla/5.0 ("); i < len(ua); i++ {
		for _, t := range inAppIndex[ua[i]] {
			if (best < 0 || t.app < best) && strings.HasPrefix(ua[i:], t.tok) {
				if j := i + len(t.tok); t.version && (j >= len(ua) || ua[j] < '0' || ua[j] > '9') {
					continue
				}
				best = t.app
			}
		}
	}
	return best
}

// inAppIndex indexes the tokens of inAppApps by their first byte.
var inAppIndex = func() (idx [256][]indexedToken) {
	for i, a := range inAppApps {
		for _, t := range a.tokens {
			idx[t.tok[0]] = append(idx[t.tok[0]], indexedToken{t, i})
		}
	}
	return idx
}()

type indexedToken struct {
	inAppToken
	app int
}

// inAppFact is the app a landing came from without a Referer.
type inAppFact struct {
	HostSource
	evPrefix, evValue string
}

// landingApp finds the app of a landing: an in-app browser by its user
// agent, else an Android app's WebView by its X-Requested-With package
// (Landing.RequestedWith) when the package is a known app's
// (androidApps, Classifier.Hosts). ok is false otherwise.
func (c *Classifier) landingApp(l *Landing) (f inAppFact, ok bool) {
	if i := inApp(l.UserAgent); i >= 0 {
		a := &inAppApps[i]
		return inAppFact{HostSource{a.source, a.channel}, a.evidence, ""}, true
	}
	pkg := strings.TrimSpace(l.RequestedWith)
	if pkg == "" || len(pkg) > maxHostLen || strings.IndexByte(pkg, '.') < 0 {
		return inAppFact{}, false
	}
	var buf [maxHostLen]byte
	for i := 0; i < len(pkg); i++ {
		buf[i] = lowerASCII(pkg[i])
	}
	k := buf[:len(pkg)]
	if c != nil {
		if hs, ok := c.Hosts[string(k)]; ok && hs.Source != "" && hs.Channel.Valid() {
			return inAppFact{hs, "X-Requested-With ", pkg}, true
		}
	}
	if hs, ok := androidApps[string(k)]; ok {
		return inAppFact{hs, "X-Requested-With ", pkg}, true
	}
	return inAppFact{}, false
}
