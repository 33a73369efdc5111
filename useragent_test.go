package tracklink

import (
	"strings"
	"testing"

	"github.com/tracklink/tracklink/internal/uasample"
)

func TestInAppBrowser(t *testing.T) {
	for _, tc := range uasample.InApp {
		t.Run(tc.Name, func(t *testing.T) {
			src, ch, ok := InAppBrowser(tc.UA)
			isTrue(t, ok)
			equal(t, tc.Source, src)
			equal(t, Channel(tc.Channel), ch)
		})
	}
	for _, tc := range uasample.GeneratedBrowsers() {
		if src, _, ok := InAppBrowser(tc.UA); ok {
			t.Errorf("%s read as in-app browser %s: %s", tc.Name, src, tc.UA)
		}
	}
	for _, tc := range append(append([]uasample.UA(nil), uasample.Browsers...), uasample.Bots...) {
		t.Run("not "+tc.Name, func(t *testing.T) {
			_, _, ok := InAppBrowser(tc.UA)
			isFalse(t, ok)
		})
	}
}

func TestInAppBrowserReadsOnly512Bytes(t *testing.T) {
	// An in-app token past 512 bytes is not seen.
	_, _, ok := InAppBrowser(uaChromeDesktop + strings.Repeat(" ", 600) + "Instagram 309.0")
	isFalse(t, ok)
}

// Apps that name themselves only in X-Requested-With on Android WebViews.
func TestClassifyRequestedWith(t *testing.T) {
	webView := "Mozilla/5.0 (Linux; Android 14; SM-A546B Build/UP1A.231005.007; wv) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/125.0.6422.165 Mobile Safari/537.36"
	for _, tc := range []struct {
		pkg, source string
		ch          Channel
	}{
		{"org.telegram.messenger", "telegram", ChannelMessenger},
		{"com.kakao.talk", "kakaotalk", ChannelMessenger},
		{"com.instagram.android", "instagram", ChannelSocial},
		{"com.google.android.gm", "gmail", ChannelEmail},
		{"Org.Telegram.Messenger", "telegram", ChannelMessenger},
	} {
		got, _ := Classify(landing(func(l *Landing) { l.UserAgent, l.RequestedWith, l.SecFetchSite = webView, tc.pkg, "none" }))
		equal(t, tc.ch, got.Channel, tc.pkg)
		equal(t, tc.source, got.Source, tc.pkg)
		equal(t, "X-Requested-With "+tc.pkg, got.Evidence, tc.pkg)
	}
	// Unknown packages and XHR's value change nothing; a Referer and the
	// user agent's own app token come first.
	for _, v := range []string{"XMLHttpRequest", "com.example.someapp", ""} {
		got, _ := Classify(landing(func(l *Landing) { l.UserAgent, l.RequestedWith, l.SecFetchSite = webView, v, "none" }))
		equal(t, ChannelDirect, got.Channel, v)
	}
	got, _ := Classify(landing(func(l *Landing) {
		l.UserAgent, l.RequestedWith, l.Referer = webView, "org.telegram.messenger", "https://www.google.de/"
	}))
	equal(t, "google", got.Source)
	got, _ = Classify(landing(func(l *Landing) { l.UserAgent, l.RequestedWith = uaInstagramIOS, "org.telegram.messenger" }))
	equal(t, "instagram", got.Source)
	// A deployment's own app table is read too.
	c := &Classifier{Hosts: map[string]HostSource{"com.example.tickets": {"ticket_app", ChannelReferral}}}
	got, _ = c.Classify(landing(func(l *Landing) { l.UserAgent, l.RequestedWith = webView, "com.example.tickets" }))
	equal(t, "ticket_app", got.Source)
	equal(t, 0.0, testing.AllocsPerRun(100, func() {
		Classify(landing(func(l *Landing) { l.UserAgent, l.RequestedWith = webView, "org.telegram.messenger" }))
	})-1, "one allocation")
}

// An app's token counts only in the app's own format.
func TestInAppBrowserFormat(t *testing.T) {
	for _, ua := range []string{
		"Mozilla/5.0 (Linux; Android 5.0) AppleWebKit/537.36 (KHTML, like Gecko) Mobile Safari/537.36 (compatible; TikTokSpider; ttspider-feedback@tiktok.com)",
		"Mozilla/5.0 (compatible; Pinterestbot/1.0; +http://www.pinterest.com/bot.html)",
		"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36 Instagram app fan page",
		"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36 Snapchat-Preview",
		"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36 GSA/",
	} {
		_, _, ok := InAppBrowser(ua)
		isFalse(t, ok, ua)
	}
}
