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
	tokens   []string // any of these, case-sensitive
	source   string
	channel  Channel
	evidence string // "in-app browser <Name>"
}

// inAppApps are checked in order: Threads and Messenger before Instagram
// and Facebook, whose tokens they may share. Tokens are case-sensitive so
// that preview bots mentioning the app in lowercase ("Snap URL Preview
// Service; bot; snapchat") do not pass for the app. WhatsApp has no in-app
// browser (its "WhatsApp/2.x" user agent is the link-preview fetcher), and
// Telegram has one on Android only.
var inAppApps = [...]inAppApp{
	{[]string{"Barcelona "}, "threads", ChannelSocial, "in-app browser Threads"},
	{[]string{"Instagram "}, "instagram", ChannelSocial, "in-app browser Instagram"},
	{[]string{"FBAN/Messenger", "FB_IAB/MESSENGER", "FB_IAB/Orca-Android"}, "messenger", ChannelMessenger, "in-app browser Messenger"},
	{[]string{"FBAN/", "FBAV/", "FB_IAB/", "FBIOS"}, "facebook", ChannelSocial, "in-app browser Facebook"},
	{[]string{"musical_ly", "BytedanceWebview", "trill_", "TikTok"}, "tiktok", ChannelSocial, "in-app browser TikTok"},
	{[]string{"Snapchat/"}, "snapchat", ChannelSocial, "in-app browser Snapchat"},
	{[]string{"LinkedInApp"}, "linkedin", ChannelSocial, "in-app browser LinkedIn"},
	{[]string{"Pinterest/", "Pinterest for"}, "pinterest", ChannelSocial, "in-app browser Pinterest"},
	{[]string{"Twitter for iPhone", "TwitterAndroid"}, "x", ChannelSocial, "in-app browser X"},
	{[]string{"Line/"}, "line", ChannelMessenger, "in-app browser Line"},
	{[]string{"Telegram-Android/"}, "telegram", ChannelMessenger, "in-app browser Telegram"},
	{[]string{"MicroMessenger/"}, "wechat", ChannelMessenger, "in-app browser WeChat"},
	{[]string{"KAKAOTALK"}, "kakaotalk", ChannelMessenger, "in-app browser KakaoTalk"},
}

// InAppBrowser returns the app whose in-app browser sent ua: its source
// name (instagram, facebook, messenger, threads, tiktok, snapchat,
// linkedin, pinterest, x, line, telegram, wechat, kakaotalk) and channel
// (ChannelMessenger for messaging apps, ChannelSocial otherwise). ok is
// false for other user agents. Only user agents starting with
// "Mozilla/5.0 (" qualify, as every in-app WebView's does, so a script
// cannot pass for a person by mentioning an app. It reads the first 512
// bytes only and does not allocate.
func InAppBrowser(ua string) (source string, ch Channel, ok bool) {
	if i := inApp(ua); i >= 0 {
		return inAppApps[i].source, inAppApps[i].channel, true
	}
	return "", "", false
}

// inApp returns the index in inAppApps of ua's app, or -1. It makes one
// pass over ua, trying the tokens that start with each byte (see
// inAppTokens), and returns the earliest app in inAppApps that matched.
func inApp(ua string) int {
	if len(ua) > MaxUserAgent {
		ua = ua[:MaxUserAgent]
	}
	if !strings.HasPrefix(ua, "Mozilla/5.0 (") {
		return -1
	}
	best := -1
	for i := len("Mozilla/5.0 ("); i < len(ua); i++ {
		for _, tk := range inAppTokens[ua[i]] {
			if (best < 0 || tk.app < best) && strings.HasPrefix(ua[i:], tk.tok) {
				best = tk.app
			}
		}
	}
	return best
}

// inAppTokens indexes the tokens of inAppApps by their first byte.
var inAppTokens = func() (idx [256][]inAppToken) {
	for i, a := range inAppApps {
		for _, tok := range a.tokens {
			idx[tok[0]] = append(idx[tok[0]], inAppToken{tok, i})
		}
	}
	return idx
}()

type inAppToken struct {
	tok string
	app int
}
