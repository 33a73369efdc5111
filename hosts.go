package tracklink

// This file is the curated table of facts the classifier knows: which
// referrer hosts and Android app referrers belong to which named source,
// which ad click ids belong to which platform, which utm_source spellings
// mean the same source, and which domain suffixes are shared by many
// owners. We wrote it ourselves from the platforms' public documentation
// and observed traffic; extend it here (one place), or per deployment with
// Classifier.Hosts.
//
// Keys are lowercase. A host entry matches the host itself and every
// subdomain (m.facebook.com and lm.facebook.com match facebook.com); a
// more specific entry wins (mail.google.com is email, not search).

// knownHosts maps referrer hosts (and Android package names of
// android-app:// referrers, matched exactly) to named sources.
var knownHosts = map[string]HostSource{
	// Social networks. Meta's link shims (l.instagram.com, l.facebook.com,
	// lm.facebook.com) are what their in-app browsers send as Referer.
	"instagram.com":   {"instagram", ChannelSocial},
	"facebook.com":    {"facebook", ChannelSocial},
	"fb.com":          {"facebook", ChannelSocial},
	"fb.me":           {"facebook", ChannelSocial},
	"fb.watch":        {"facebook", ChannelSocial},
	"threads.net":     {"threads", ChannelSocial},
	"threads.com":     {"threads", ChannelSocial},
	"tiktok.com":      {"tiktok", ChannelSocial},
	"x.com":           {"x", ChannelSocial},
	"twitter.com":     {"x", ChannelSocial},
	"t.co":            {"x", ChannelSocial}, // X's link shortener
	"youtube.com":     {"youtube", ChannelSocial},
	"youtu.be":        {"youtube", ChannelSocial},
	"snapchat.com":    {"snapchat", ChannelSocial},
	"linkedin.com":    {"linkedin", ChannelSocial},
	"lnkd.in":         {"linkedin", ChannelSocial},
	"reddit.com":      {"reddit", ChannelSocial},
	"redd.it":         {"reddit", ChannelSocial},
	"pinterest.com":   {"pinterest", ChannelSocial},
	"pin.it":          {"pinterest", ChannelSocial},
	"tumblr.com":      {"tumblr", ChannelSocial},
	"bsky.app":        {"bluesky", ChannelSocial},
	"mastodon.social": {"mastodon", ChannelSocial},
	"vk.com":          {"vk", ChannelSocial},
	"weibo.com":       {"weibo", ChannelSocial},
	"twitch.tv":       {"twitch", ChannelSocial},
	"quora.com":       {"quora", ChannelSocial},
	"discord.com":     {"discord", ChannelSocial},
	"discord.gg":      {"discord", ChannelSocial},
	"flipboard.com":   {"flipboard", ChannelSocial},

	// Search engines (and answer engines that link their sources). Google's
	// and Yahoo's country domains are matched by brandDomains below.
	"google.com":            {"google", ChannelSearch},
	"bing.com":              {"bing", ChannelSearch},
	"duckduckgo.com":        {"duckduckgo", ChannelSearch},
	"search.yahoo.com":      {"yahoo", ChannelSearch},
	"ecosia.org":            {"ecosia", ChannelSearch},
	"qwant.com":             {"qwant", ChannelSearch},
	"baidu.com":             {"baidu", ChannelSearch},
	"yandex.ru":             {"yandex", ChannelSearch},
	"yandex.com":            {"yandex", ChannelSearch},
	"ya.ru":                 {"yandex", ChannelSearch},
	"search.brave.com":      {"brave", ChannelSearch},
	"startpage.com":         {"startpage", ChannelSearch},
	"kagi.com":              {"kagi", ChannelSearch},
	"naver.com":             {"naver", ChannelSearch},
	"seznam.cz":             {"seznam", ChannelSearch},
	"search.aol.com":        {"aol", ChannelSearch},
	"chatgpt.com":           {"chatgpt", ChannelSearch},
	"chat.openai.com":       {"chatgpt", ChannelSearch},
	"perplexity.ai":         {"perplexity", ChannelSearch},
	"gemini.google.com":     {"gemini", ChannelSearch},
	"copilot.microsoft.com": {"copilot", ChannelSearch},
	// Google properties that are not search: a link in a shared doc or a
	// Google Site is a referral from that product.
	"docs.google.com":  {"docs.google.com", ChannelReferral},
	"drive.google.com": {"drive.google.com", ChannelReferral},
	"sites.google.com": {"sites.google.com", ChannelReferral},
	"maps.google.com":  {"maps.google.com", ChannelReferral},

	// Link-in-bio pages.
	"linktr.ee":    {"linktree", ChannelLinkInBio},
	"linktree.com": {"linktree", ChannelLinkInBio},
	"beacons.ai":   {"beacons", ChannelLinkInBio},
	"beacons.page": {"beacons", ChannelLinkInBio},
	"lnk.bio":      {"lnk.bio", ChannelLinkInBio},
	"bio.link":     {"bio.link", ChannelLinkInBio},
	"carrd.co":     {"carrd", ChannelLinkInBio},
	"taplink.cc":   {"taplink", ChannelLinkInBio},
	"linkin.bio":   {"later", ChannelLinkInBio},
	"solo.to":      {"solo.to", ChannelLinkInBio},
	"stan.store":   {"stan", ChannelLinkInBio},
	"hoo.be":       {"hoo.be", ChannelLinkInBio},
	"linkpop.com":  {"linkpop", ChannelLinkInBio},
	"lnk.to":       {"linkfire", ChannelLinkInBio}, // music smart links
	"ffm.to":       {"feature.fm", ChannelLinkInBio},

	// Messengers (their web clients and link shorteners).
	"whatsapp.com":        {"whatsapp", ChannelMessenger},
	"wa.me":               {"whatsapp", ChannelMessenger},
	"messenger.com":       {"messenger", ChannelMessenger},
	"m.me":                {"messenger", ChannelMessenger},
	"t.me":                {"telegram", ChannelMessenger},
	"telegram.me":         {"telegram", ChannelMessenger},
	"telegram.org":        {"telegram", ChannelMessenger},
	"signal.me":           {"signal", ChannelMessenger},
	"signal.org":          {"signal", ChannelMessenger},
	"line.me":             {"line", ChannelMessenger},
	"viber.com":           {"viber", ChannelMessenger},
	"weixin.qq.com":       {"wechat", ChannelMessenger},
	"slack.com":           {"slack", ChannelMessenger},
	"teams.microsoft.com": {"teams", ChannelMessenger},
	"teams.live.com":      {"teams", ChannelMessenger},

	// Webmail.
	"mail.google.com":       {"gmail", ChannelEmail},
	"inbox.google.com":      {"gmail", ChannelEmail},
	"outlook.live.com":      {"outlook", ChannelEmail},
	"outlook.office.com":    {"outlook", ChannelEmail},
	"outlook.office365.com": {"outlook", ChannelEmail},
	"mail.yahoo.com":        {"yahoo_mail", ChannelEmail},
	"mail.yahoo.co.jp":      {"yahoo_mail", ChannelEmail},
	"mail.proton.me":        {"proton", ChannelEmail},
	"mail.protonmail.com":   {"proton", ChannelEmail},
	"mail.aol.com":          {"aol_mail", ChannelEmail},
	"mail.yandex.ru":        {"yandex_mail", ChannelEmail},
	"mail.yandex.com":       {"yandex_mail", ChannelEmail},
	"e.mail.ru":             {"mail.ru", ChannelEmail},
	"icloud.com":            {"icloud", ChannelEmail},
	"fastmail.com":          {"fastmail", ChannelEmail},
	"app.tuta.com":          {"tuta", ChannelEmail},
	"mail.tutanota.com":     {"tuta", ChannelEmail},
	"mail.zoho.com":         {"zoho_mail", ChannelEmail},
	"gmx.net":               {"gmx", ChannelEmail},
	"gmx.de":                {"gmx", ChannelEmail},
	"gmx.com":               {"gmx", ChannelEmail},

	// Android app referrers: Chrome on Android sends
	// "android-app://<package>/" when another app opened the link. These
	// match exactly.
	"com.instagram.android":                   {"instagram", ChannelSocial},
	"com.instagram.barcelona":                 {"threads", ChannelSocial},
	"com.facebook.katana":                     {"facebook", ChannelSocial},
	"com.facebook.lite":                       {"facebook", ChannelSocial},
	"com.zhiliaoapp.musically":                {"tiktok", ChannelSocial},
	"com.ss.android.ugc.trill":                {"tiktok", ChannelSocial},
	"com.twitter.android":                     {"x", ChannelSocial},
	"com.google.android.youtube":              {"youtube", ChannelSocial},
	"com.snapchat.android":                    {"snapchat", ChannelSocial},
	"com.linkedin.android":                    {"linkedin", ChannelSocial},
	"com.reddit.frontpage":                    {"reddit", ChannelSocial},
	"com.pinterest":                           {"pinterest", ChannelSocial},
	"com.discord":                             {"discord", ChannelSocial},
	"com.google.android.googlequicksearchbox": {"google", ChannelSearch},
	"com.google.android.gm":                   {"gmail", ChannelEmail},
	"com.microsoft.office.outlook":            {"outlook", ChannelEmail},
	"com.yahoo.mobile.client.android.mail":    {"yahoo_mail", ChannelEmail},
	"ch.protonmail.android":                   {"proton", ChannelEmail},
	"com.whatsapp":                            {"whatsapp", ChannelMessenger},
	"com.whatsapp.w4b":                        {"whatsapp", ChannelMessenger},
	"com.facebook.orca":                       {"messenger", ChannelMessenger},
	"org.telegram.messenger":                  {"telegram", ChannelMessenger},
	"org.thoughtcrime.securesms":              {"signal", ChannelMessenger},
	"jp.naver.line.android":                   {"line", ChannelMessenger},
	"com.viber.voip":                          {"viber", ChannelMessenger},
	"com.tencent.mm":                          {"wechat", ChannelMessenger},
	"com.slack":                               {"slack", ChannelMessenger},
	"com.linktree.linktree":                   {"linktree", ChannelLinkInBio},
}

// brandDomains are sources whose sites live under many country domains
// (google.co.uk, google.de, yahoo.co.jp, pinterest.fr): the first label of
// a registrable domain in this table names the source, whatever the
// suffix. Exact entries in knownHosts win (mail.yahoo.co.jp is email).
var brandDomains = map[string]HostSource{
	"google":    {"google", ChannelSearch},
	"yahoo":     {"yahoo", ChannelSearch},
	"yandex":    {"yandex", ChannelSearch},
	"pinterest": {"pinterest", ChannelSocial},
}

// clickID is an ad platform's click id parameter.
type clickID struct {
	param string // the parameter name, lowercase; Touch.ClickID
	HostSource
}

// clickIDs are the ad click id parameters, keyed by lowercase name. The
// value of a click id is never kept, only its name.
var clickIDs = map[string]clickID{
	"fbclid":    {"fbclid", HostSource{"facebook", ChannelSocial}}, // Meta (Facebook, Instagram, Threads, Messenger)
	"gclid":     {"gclid", HostSource{"google", ChannelSearch}},
	"gbraid":    {"gbraid", HostSource{"google", ChannelSearch}}, // Google Ads, iOS app-to-web
	"wbraid":    {"wbraid", HostSource{"google", ChannelSearch}}, // Google Ads, iOS web-to-app
	"ttclid":    {"ttclid", HostSource{"tiktok", ChannelSocial}},
	"msclkid":   {"msclkid", HostSource{"bing", ChannelSearch}},
	"twclid":    {"twclid", HostSource{"x", ChannelSocial}},
	"li_fat_id": {"li_fat_id", HostSource{"linkedin", ChannelSocial}},
	"sccid":     {"sccid", HostSource{"snapchat", ChannelSocial}}, // sent as ScCid
	"epik":      {"epik", HostSource{"pinterest", ChannelSocial}},
	"rdt_cid":   {"rdt_cid", HostSource{"reddit", ChannelSocial}},
	"yclid":     {"yclid", HostSource{"yandex", ChannelSearch}},
}

// metaSources are the apps Meta's fbclid is added by. A link with fbclid
// opened from one of them (by its Referer or in-app browser) is credited
// to that app rather than to facebook: Meta tags organic and ad links in
// all its apps alike.
var metaSources = map[string]bool{"facebook": true, "instagram": true, "threads": true, "messenger": true}

// utmAliases are utm_source spellings that mean a named source. Meta's
// dynamic ad parameter {{site_source_name}} yields ig, fb and msg; the
// others are common hand-written short forms. A utm_source that is a
// host in knownHosts ("instagram.com", "l.facebook.com", "t.co",
// "chatgpt.com") maps to that host's source as well.
var utmAliases = map[string]string{
	"ig":        "instagram",
	"insta":     "instagram",
	"fb":        "facebook",
	"msg":       "messenger",
	"twitter":   "x",
	"tw":        "x",
	"tt":        "tiktok",
	"yt":        "youtube",
	"li":        "linkedin",
	"wa":        "whatsapp",
	"tg":        "telegram",
	"snap":      "snapchat",
	"pin":       "pinterest",
	"linktr.ee": "linktree",
}

// sharedSuffixes are domain suffixes under which each next label belongs
// to a different owner, so the registrable domain of a host under them
// has one more label ("shop.example.co.uk" → "example.co.uk",
// "ana.github.io" → "ana.github.io"). This is a small approximation of
// the Public Suffix List covering the suffixes referrers commonly use;
// anything else is treated as a one-label suffix.
var sharedSuffixes = map[string]bool{
	// Country second-level domains.
	"co.uk": true, "org.uk": true, "ac.uk": true, "gov.uk": true, "me.uk": true, "ltd.uk": true, "plc.uk": true, "net.uk": true, "sch.uk": true,
	"com.au": true, "net.au": true, "org.au": true, "edu.au": true, "gov.au": true, "asn.au": true, "id.au": true,
	"co.nz": true, "net.nz": true, "org.nz": true, "govt.nz": true, "ac.nz": true,
	"co.jp": true, "ne.jp": true, "or.jp": true, "ac.jp": true, "go.jp": true, "gr.jp": true,
	"co.kr": true, "or.kr": true, "ne.kr": true, "go.kr": true, "ac.kr": true,
	"com.br": true, "net.br": true, "org.br": true, "gov.br": true, "edu.br": true, "art.br": true,
	"com.ar": true, "com.mx": true, "org.mx": true, "gob.mx": true, "com.co": true, "com.pe": true, "com.ve": true,
	"com.uy": true, "com.ec": true, "com.bo": true, "com.py": true,
	"co.za": true, "org.za": true, "gov.za": true, "co.ke": true, "com.ng": true, "com.eg": true, "co.ma": true,
	"co.in": true, "net.in": true, "org.in": true, "gov.in": true, "ac.in": true, "firm.in": true, "gen.in": true,
	"com.sg": true, "com.my": true, "com.ph": true, "com.hk": true, "com.tw": true, "com.cn": true, "net.cn": true,
	"org.cn": true, "gov.cn": true, "com.vn": true, "co.th": true, "in.th": true, "co.id": true, "or.id": true,
	"com.pk": true, "com.bd": true, "com.sa": true, "com.tr": true, "gov.tr": true, "com.ua": true, "co.il": true,
	"org.il": true, "com.pl": true, "com.es": true, "com.pt": true, "com.gr": true, "com.cy": true, "co.at": true, "or.at": true,
	// Hosting platforms that give each customer a subdomain.
	"github.io": true, "gitlab.io": true, "blogspot.com": true, "wordpress.com": true, "substack.com": true,
	"netlify.app": true, "vercel.app": true, "pages.dev": true, "workers.dev": true, "web.app": true, "firebaseapp.com": true,
	"herokuapp.com": true, "appspot.com": true, "azurewebsites.net": true, "cloudfront.net": true, "myshopify.com": true,
	"wixsite.com": true, "squarespace.com": true, "webflow.io": true, "framer.website": true, "notion.site": true,
}
