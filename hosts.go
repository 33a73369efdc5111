package tracklink

// This file is the curated table of facts the classifier knows: which
// referrer hosts, brands and Android apps belong to which named source,
// which ad click ids belong to which platform and which utm_source
// spellings mean the same source. We wrote it ourselves from the
// platforms' public documentation and observed traffic; extend it here
// (one place), or per deployment with Classifier.Hosts. Registrable
// domains come from the Public Suffix List (golang.org/x/net/publicsuffix).
//
// Keys are lowercase. How a referrer host is looked up (see lookupHost):
//
//  1. knownHosts: the host or its nearest parent domain (m.facebook.com
//     and lm.facebook.com match facebook.com; a more specific entry wins:
//     mail.google.com is email, gemini.google.com is ai);
//  2. brands: the brand label of the registrable domain, under any public
//     suffix (google.de, google.com.af, pinterest.co.uk, yahoo.co.jp). A
//     mail label before it (mail.yahoo.co.uk, webmail.gmx.net,
//     email.seznam.cz) means the brand's webmail; a search label before
//     it (suche.gmx.net) its web search;
//  3. shapes: a first label that says search in a European language
//     (search., suche., recherche., szukaj.…) or a registrable domain
//     named for it (safesearch.example) is a search engine; a Mastodon-
//     style federated host (mastodon.*, mstdn.*, *.social, pixelfed.*)
//     is social;
//  4. anything else is a referral from its registrable domain, unless
//     the Referer is a search results page (see searchPage).

// knownHosts maps referrer hosts to named sources. An entry matches the
// host and every subdomain.
var knownHosts = map[string]HostSource{
	// Social networks. Meta's link shims (l.instagram.com, l.facebook.com,
	// lm.facebook.com) are what their in-app browsers send as Referer.
	"fb.com":               {"facebook", ChannelSocial},
	"fb.me":                {"facebook", ChannelSocial},
	"fb.watch":             {"facebook", ChannelSocial},
	"workplace.com":        {"workplace", ChannelSocial}, // Meta's Workplace
	"threads.net":          {"threads", ChannelSocial},
	"threads.com":          {"threads", ChannelSocial},
	"x.com":                {"x", ChannelSocial},
	"t.co":                 {"x", ChannelSocial}, // X's link shortener
	"youtu.be":             {"youtube", ChannelSocial},
	"lnkd.in":              {"linkedin", ChannelSocial},
	"redd.it":              {"reddit", ChannelSocial},
	"pin.it":               {"pinterest", ChannelSocial},
	"bsky.app":             {"bluesky", ChannelSocial},
	"bsky.social":          {"bluesky", ChannelSocial},
	"go.bsky.app":          {"bluesky", ChannelSocial},
	"vk.com":               {"vk", ChannelSocial},
	"vk.ru":                {"vk", ChannelSocial},
	"ok.ru":                {"odnoklassniki", ChannelSocial},
	"my.mail.ru":           {"my.mail.ru", ChannelSocial},
	"t.cn":                 {"weibo", ChannelSocial},
	"nk.pl":                {"nasza-klasa", ChannelSocial},
	"news.ycombinator.com": {"hacker_news", ChannelSocial},
	"last.fm":              {"last.fm", ChannelSocial},
	"flic.kr":              {"flickr", ChannelSocial},
	"discordapp.com":       {"discord", ChannelSocial},
	"truth.social":         {"truth_social", ChannelSocial},
	"kbin.social":          {"kbin", ChannelSocial},
	// Older and regional networks, communities and video/streaming sites
	// with comments and follows; their names are too plain to match under
	// every suffix.
	"blackplanet.com":       {"blackplanet", ChannelSocial},
	"buzznet.com":           {"buzznet", ChannelSocial},
	"classmates.com":        {"classmates", ChannelSocial},
	"friendsreunited.com":   {"friendsreunited", ChannelSocial},
	"friendsreunited.co.uk": {"friendsreunited", ChannelSocial},
	"gaiaonline.com":        {"gaiaonline", ChannelSocial},
	"geni.com":              {"geni", ChannelSocial},
	"myheritage.com":        {"myheritage", ChannelSocial},
	"multiply.com":          {"multiply", ChannelSocial},
	"plaxo.com":             {"plaxo", ChannelSocial},
	"sonico.com":            {"sonico", ChannelSocial},
	"wayn.com":              {"wayn", ChannelSocial},
	"weeworld.com":          {"weeworld", ChannelSocial},
	"myyearbook.com":        {"myyearbook", ChannelSocial},
	"meetme.com":            {"meetme", ChannelSocial},
	"flixster.com":          {"flixster", ChannelSocial},
	"fetlife.com":           {"fetlife", ChannelSocial},
	"peepeth.com":           {"peepeth", ChannelSocial},
	"identi.ca":             {"identi.ca", ChannelSocial},
	"lang-8.com":            {"lang-8", ChannelSocial},
	"sourceforge.net":       {"sourceforge", ChannelSocial},
	"v2ex.com":              {"v2ex", ChannelSocial},
	"moikrug.ru":            {"moikrug", ChannelSocial},
	"mylife.ru":             {"mylife", ChannelSocial},
	"vkrugudruzei.ru":       {"vkrugudruzei", ChannelSocial},
	"meinvz.net":            {"meinvz", ChannelSocial},
	"schuelervz.net":        {"schuelervz", ChannelSocial},
	"nicovideo.jp":          {"niconico", ChannelSocial},
	"nico.ms":               {"niconico", ChannelSocial},
	"twitcasting.tv":        {"twitcasting", ChannelSocial},
	"missevan.com":          {"missevan", ChannelSocial},
	"douyu.com":             {"douyu", ChannelSocial},
	"huya.com":              {"huya", ChannelSocial},
	"weheartit.com":         {"weheartit", ChannelSocial},
	"vero.co":               {"vero", ChannelSocial},
	"clubhouse.com":         {"clubhouse", ChannelSocial},
	"letterboxd.com":        {"letterboxd", ChannelSocial},
	"untappd.com":           {"untappd", ChannelSocial},
	"couchsurfing.com":      {"couchsurfing", ChannelSocial},
	"internations.org":      {"internations", ChannelSocial},
	"jodel.com":             {"jodel", ChannelSocial},
	"spotify.link":          {"spotify", ChannelSocial},
	// Redirectors and companion apps of networks.
	"gate.sc":             {"soundcloud", ChannelSocial}, // SoundCloud's outbound links
	"t.umblr.com":         {"tumblr", ChannelSocial},     // Tumblr's outbound links
	"skyfeed.app":         {"bluesky", ChannelSocial},    // a Bluesky client
	"deck.blue":           {"bluesky", ChannelSocial},
	"graysky.app":         {"bluesky", ChannelSocial},
	"staging.bsky.app":    {"bluesky", ChannelSocial},
	"plus.google.com":     {"google+", ChannelSocial},
	"plus.url.google.com": {"google+", ChannelSocial},
	"steamcommunity.com":  {"steam", ChannelSocial},
	"open.spotify.com":    {"spotify", ChannelSocial},
	"douban.com":          {"douban", ChannelSocial},
	"zhihu.com":           {"zhihu", ChannelSocial},
	"bilibili.com":        {"bilibili", ChannelSocial},
	"xiaohongshu.com":     {"xiaohongshu", ChannelSocial},
	"douyin.com":          {"douyin", ChannelSocial},
	"tieba.baidu.com":     {"tieba", ChannelSocial},
	"qzone.qq.com":        {"qzone", ChannelSocial},
	"renren.com":          {"renren", ChannelSocial},
	"mixi.jp":             {"mixi", ChannelSocial},
	"gree.jp":             {"gree", ChannelSocial},
	"plurk.com":           {"plurk", ChannelSocial},
	"hi5.com":             {"hi5", ChannelSocial},
	"tagged.com":          {"tagged", ChannelSocial},
	"meetup.com":          {"meetup", ChannelSocial},
	"nextdoor.com":        {"nextdoor", ChannelSocial},
	"nextdoor.co.uk":      {"nextdoor", ChannelSocial},
	"goodreads.com":       {"goodreads", ChannelSocial},
	"strava.com":          {"strava", ChannelSocial},
	"stackoverflow.com":   {"stack_overflow", ChannelSocial},
	"github.com":          {"github", ChannelSocial},
	"digg.com":            {"digg", ChannelSocial},
	"slashdot.org":        {"slashdot", ChannelSocial},
	"mix.com":             {"mix", ChannelSocial},
	"taringa.net":         {"taringa", ChannelSocial},
	"viadeo.com":          {"viadeo", ChannelSocial},
	"kick.com":            {"kick", ChannelSocial},
	"rumble.com":          {"rumble", ChannelSocial},
	"gab.com":             {"gab", ChannelSocial},
	"mewe.com":            {"mewe", ChannelSocial},
	"minds.com":           {"minds", ChannelSocial},
	"gettr.com":           {"gettr", ChannelSocial},
	"parler.com":          {"parler", ChannelSocial},
	"ello.co":             {"ello", ChannelSocial},
	"bere.al":             {"bereal", ChannelSocial},
	"lemmy.world":         {"lemmy", ChannelSocial},
	"lemmy.ml":            {"lemmy", ChannelSocial},
	"misskey.io":          {"misskey", ChannelSocial},
	"diasp.org":           {"diaspora", ChannelSocial},
	"joindiaspora.com":    {"diaspora", ChannelSocial},
	"friendica.social":    {"friendica", ChannelSocial},
	"lobste.rs":           {"lobsters", ChannelSocial},
	"kakao.com":           {"kakaotalk", ChannelMessenger},
	"story.kakao.com":     {"kakaostory", ChannelSocial},
	"blog.naver.com":      {"naver_blog", ChannelSocial},
	"cafe.naver.com":      {"naver_cafe", ChannelSocial},
	"band.us":             {"band", ChannelSocial},
	// Mastodon's best-known instances; other instances are told by shape
	// (see fediverseHost).
	"mas.to":                 {"mastodon", ChannelSocial},
	"fosstodon.org":          {"mastodon", ChannelSocial},
	"hachyderm.io":           {"mastodon", ChannelSocial},
	"infosec.exchange":       {"mastodon", ChannelSocial},
	"ioc.exchange":           {"mastodon", ChannelSocial},
	"chaos.social":           {"mastodon", ChannelSocial},
	"troet.cafe":             {"mastodon", ChannelSocial},
	"toot.cafe":              {"mastodon", ChannelSocial},
	"toot.community":         {"mastodon", ChannelSocial},
	"social.tchncs.de":       {"mastodon", ChannelSocial},
	"social.vivaldi.net":     {"mastodon", ChannelSocial},
	"social.coop":            {"mastodon", ChannelSocial},
	"universeodon.com":       {"mastodon", ChannelSocial},
	"pawoo.net":              {"mastodon", ChannelSocial},
	"qoto.org":               {"mastodon", ChannelSocial},
	"tech.lgbt":              {"mastodon", ChannelSocial},
	"wien.rocks":             {"mastodon", ChannelSocial},
	"todon.eu":               {"mastodon", ChannelSocial},
	"todon.nl":               {"mastodon", ChannelSocial},
	"masto.ai":               {"mastodon", ChannelSocial},
	"det.social":             {"mastodon", ChannelSocial},
	"norden.social":          {"mastodon", ChannelSocial},
	"mstdn.jp":               {"mastodon", ChannelSocial},
	"mastodonapp.uk":         {"mastodon", ChannelSocial},
	"mastodon.gamedev.place": {"mastodon", ChannelSocial},
	"scholar.social":         {"mastodon", ChannelSocial},
	"mathstodon.xyz":         {"mastodon", ChannelSocial},
	"sigmoid.social":         {"mastodon", ChannelSocial},
	"aus.social":             {"mastodon", ChannelSocial},
	"mindly.social":          {"mastodon", ChannelSocial},
	"mamot.fr":               {"mastodon", ChannelSocial},
	"c.im":                   {"mastodon", ChannelSocial},
	"botsin.space":           {"mastodon", ChannelSocial},
	"cybre.space":            {"mastodon", ChannelSocial},
	"friends.nico":           {"mastodon", ChannelSocial},
	"knzk.me":                {"mastodon", ChannelSocial},
	"mstdn.social":           {"mastodon", ChannelSocial},
	"piaille.fr":             {"mastodon", ChannelSocial},
	"framapiaf.org":          {"mastodon", ChannelSocial},
	"kolektiva.social":       {"mastodon", ChannelSocial},
	"metapixl.com":           {"pixelfed", ChannelSocial},
	"pxlmo.com":              {"pixelfed", ChannelSocial},
	"pixey.org":              {"pixelfed", ChannelSocial},

	// Search engines whose name is too common a word to match under every
	// suffix (see brands).
	"ask.com":                   {"ask", ChannelSearch},
	"search.brave.com":          {"brave", ChannelSearch},
	"so.com":                    {"360search", ChannelSearch},
	"sm.cn":                     {"sm.cn", ChannelSearch},
	"goo.ne.jp":                 {"goo", ChannelSearch},
	"search.com":                {"search.com", ChannelSearch},
	"info.com":                  {"info.com", ChannelSearch},
	"go.mail.ru":                {"mail.ru", ChannelSearch},
	"mail.ru":                   {"mail.ru", ChannelSearch}, // a portal; e.mail.ru is its webmail
	"wp.pl":                     {"wp", ChannelSearch},
	"o2.pl":                     {"o2", ChannelSearch},
	"szukaj.wp.pl":              {"wp", ChannelSearch},
	"web.de":                    {"web.de", ChannelEmail}, // a webmail portal; suche.web.de is its search
	"suche.web.de":              {"web.de", ChannelSearch},
	"free.fr":                   {"free", ChannelSearch},
	"orange.fr":                 {"orange", ChannelSearch},
	"sfr.fr":                    {"sfr", ChannelSearch},
	"msn.com":                   {"bing", ChannelSearch},
	"search.msn.com":            {"bing", ChannelSearch},
	"duck.com":                  {"duckduckgo", ChannelSearch},
	"ddg.gg":                    {"duckduckgo", ChannelSearch},
	"ya.ru":                     {"yandex", ChannelSearch},
	"search.aol.com":            {"aol", ChannelSearch},
	"search.yahoo.com":          {"yahoo", ChannelSearch},
	"search.naver.com":          {"naver", ChannelSearch},
	"search.daum.net":           {"daum", ChannelSearch},
	"search.seznam.cz":          {"seznam", ChannelSearch},
	"search.lilo.org":           {"lilo", ChannelSearch},
	"sou.com":                   {"360search", ChannelSearch},
	"askkids.com":               {"ask", ChannelSearch},
	"ask.co.uk":                 {"ask", ChannelSearch},
	"ask.reference.com":         {"ask", ChannelSearch},
	"search-results.com":        {"ask", ChannelSearch},       // Ask's partner results
	"searchqu.com":              {"ask", ChannelSearch},       // Ask's toolbar search
	"metacrawler.com":           {"infospace", ChannelSearch}, // InfoSpace's metasearch engines
	"webfetch.com":              {"infospace", ChannelSearch},
	"lemoteur.fr":               {"voila", ChannelSearch}, // Voila's engine
	"voila.fr":                  {"voila", ChannelSearch}, // Orange's portal
	"rr.com":                    {"roadrunner", ChannelSearch},
	"netscape.com":              {"aol", ChannelSearch},
	"cs.com":                    {"compuserve", ChannelSearch},
	"meta.rrzn.uni-hannover.de": {"metager", ChannelSearch},
	"mysearch.com":              {"mywebsearch", ChannelSearch}, // the MyWebSearch toolbar
	"mysearch.myway.com":        {"mywebsearch", ChannelSearch},
	"search.myway.com":          {"mywebsearch", ChannelSearch},

	// Portals and toolbars whose web search shows another engine's
	// results, credited to that engine.
	"gfsoso.com":              {"google", ChannelSearch}, // a Google mirror
	"search.avg.com":          {"google", ChannelSearch}, // AVG Secure Search
	"isearch.avg.com":         {"google", ChannelSearch},
	"search.1und1.de":         {"google", ChannelSearch}, // 1&1, like GMX
	"suche.1und1.de":          {"google", ChannelSearch},
	"search.juno.com":         {"google", ChannelSearch},
	"search.netzero.net":      {"google", ChannelSearch},
	"search.incredimail.com":  {"google", ChannelSearch}, // Perion's toolbars
	"search.sweetim.com":      {"google", ChannelSearch},
	"search.incredibar.com":   {"google", ChannelSearch},
	"delta-search.com":        {"google", ChannelSearch},
	"search.smt.docomo.ne.jp": {"google", ChannelSearch},
	"search.xfinity.com":      {"google", ChannelSearch},
	"search.f-secure.com":     {"google", ChannelSearch},
	"searches.f-secure.com":   {"google", ChannelSearch},

	// AI assistants that link their sources.
	"chatgpt.com":             {"chatgpt", ChannelAI},
	"chat.openai.com":         {"chatgpt", ChannelAI},
	"labs.openai.com":         {"chatgpt", ChannelAI},
	"perplexity.ai":           {"perplexity", ChannelAI},
	"claude.ai":               {"claude", ChannelAI},
	"gemini.google.com":       {"gemini", ChannelAI},
	"bard.google.com":         {"gemini", ChannelAI},
	"aistudio.google.com":     {"gemini", ChannelAI},
	"notebooklm.google.com":   {"notebooklm", ChannelAI},
	"copilot.microsoft.com":   {"copilot", ChannelAI},
	"copilot.cloud.microsoft": {"copilot", ChannelAI},
	"chat.deepseek.com":       {"deepseek", ChannelAI},
	"deepseek.com":            {"deepseek", ChannelAI},
	"chat.mistral.ai":         {"mistral", ChannelAI},
	"grok.com":                {"grok", ChannelAI},
	"meta.ai":                 {"meta_ai", ChannelAI},
	"you.com":                 {"you.com", ChannelAI},
	"duck.ai":                 {"duck.ai", ChannelAI},
	"phind.com":               {"phind", ChannelAI},
	"poe.com":                 {"poe", ChannelAI},
	"character.ai":            {"character.ai", ChannelAI},
	"pi.ai":                   {"pi", ChannelAI},
	"chat.qwen.ai":            {"qwen", ChannelAI},
	"qwen.ai":                 {"qwen", ChannelAI},
	"kimi.com":                {"kimi", ChannelAI},
	"kimi.moonshot.cn":        {"kimi", ChannelAI},
	"doubao.com":              {"doubao", ChannelAI},
	"yiyan.baidu.com":         {"ernie", ChannelAI},
	"chatglm.cn":              {"chatglm", ChannelAI},
	"iask.ai":                 {"iask", ChannelAI},
	"andisearch.com":          {"andi", ChannelAI},

	// Google and Microsoft properties that are not search: a link in a
	// shared doc or a Google Site is a referral from that product.
	"docs.google.com":     {"docs.google.com", ChannelReferral},
	"drive.google.com":    {"drive.google.com", ChannelReferral},
	"sites.google.com":    {"sites.google.com", ChannelReferral},
	"maps.google.com":     {"maps.google.com", ChannelReferral},
	"groups.google.com":   {"groups.google.com", ChannelReferral},
	"play.google.com":     {"play.google.com", ChannelReferral},
	"calendar.google.com": {"calendar.google.com", ChannelReferral},
	"login.live.com":      {"login.live.com", ChannelReferral},

	// Link-in-bio pages.
	"linktr.ee":      {"linktree", ChannelLinkInBio},
	"linktree.com":   {"linktree", ChannelLinkInBio},
	"beacons.ai":     {"beacons", ChannelLinkInBio},
	"beacons.page":   {"beacons", ChannelLinkInBio},
	"lnk.bio":        {"lnk.bio", ChannelLinkInBio},
	"bio.link":       {"bio.link", ChannelLinkInBio},
	"carrd.co":       {"carrd", ChannelLinkInBio},
	"taplink.cc":     {"taplink", ChannelLinkInBio},
	"taplink.at":     {"taplink", ChannelLinkInBio},
	"linkin.bio":     {"later", ChannelLinkInBio},
	"solo.to":        {"solo.to", ChannelLinkInBio},
	"stan.store":     {"stan", ChannelLinkInBio},
	"hoo.be":         {"hoo.be", ChannelLinkInBio},
	"linkpop.com":    {"linkpop", ChannelLinkInBio},
	"bento.me":       {"bento", ChannelLinkInBio},
	"msha.ke":        {"milkshake", ChannelLinkInBio},
	"campsite.bio":   {"campsite", ChannelLinkInBio},
	"tap.bio":        {"tap.bio", ChannelLinkInBio},
	"snipfeed.co":    {"snipfeed", ChannelLinkInBio},
	"allmylinks.com": {"allmylinks", ChannelLinkInBio},
	"linkr.bio":      {"linkr", ChannelLinkInBio},
	"heylink.me":     {"heylink", ChannelLinkInBio},
	"flow.page":      {"flowpage", ChannelLinkInBio},
	"withkoji.com":   {"koji", ChannelLinkInBio},
	"lnk.to":         {"linkfire", ChannelLinkInBio}, // music smart links
	"ffm.to":         {"feature.fm", ChannelLinkInBio},
	"fanlink.to":     {"fanlink", ChannelLinkInBio},
	"smarturl.it":    {"smarturl", ChannelLinkInBio},

	// Messengers (their web clients and link shorteners).
	"wa.me":               {"whatsapp", ChannelMessenger},
	"m.me":                {"messenger", ChannelMessenger},
	"t.me":                {"telegram", ChannelMessenger},
	"signal.me":           {"signal", ChannelMessenger},
	"signal.org":          {"signal", ChannelMessenger},
	"line.me":             {"line", ChannelMessenger},
	"weixin.qq.com":       {"wechat", ChannelMessenger},
	"wechat.com":          {"wechat", ChannelMessenger},
	"slack.com":           {"slack", ChannelMessenger},
	"teams.microsoft.com": {"teams", ChannelMessenger},
	"teams.live.com":      {"teams", ChannelMessenger},
	"web.skype.com":       {"skype", ChannelMessenger},
	"skype.com":           {"skype", ChannelMessenger},
	"threema.ch":          {"threema", ChannelMessenger},

	// Webmail of providers without a search brand.
	"outlook.live.com":        {"outlook", ChannelEmail},
	"outlook.office.com":      {"outlook", ChannelEmail},
	"outlook.office365.com":   {"outlook", ChannelEmail},
	"outlook.cloud.microsoft": {"outlook", ChannelEmail},
	"mail.live.com":           {"outlook", ChannelEmail},
	"hotmail.com":             {"outlook", ChannelEmail},
	"outlook.com":             {"outlook", ChannelEmail},
	"proton.me":               {"proton", ChannelEmail},
	"protonmail.com":          {"proton", ChannelEmail},
	"icloud.com":              {"icloud", ChannelEmail},
	"fastmail.com":            {"fastmail", ChannelEmail},
	"app.tuta.com":            {"tuta", ChannelEmail},
	"mail.tutanota.com":       {"tuta", ChannelEmail},
	"mail.zoho.com":           {"zoho_mail", ChannelEmail},
	"mail.zoho.eu":            {"zoho_mail", ChannelEmail},
	"e.mail.ru":               {"mail.ru", ChannelEmail},
	"mail.com":                {"mail.com", ChannelEmail},
	"posteo.de":               {"posteo", ChannelEmail},
	"mailbox.org":             {"mailbox.org", ChannelEmail},
	"hey.com":                 {"hey", ChannelEmail},
	"laposte.net":             {"laposte", ChannelEmail},
	"poczta.wp.pl":            {"wp_mail", ChannelEmail},
	"poczta.o2.pl":            {"o2_mail", ChannelEmail},
	"webmail.free.fr":         {"free_mail", ChannelEmail},
	"zimbra.free.fr":          {"free_mail", ChannelEmail},
	"messagerie.orange.fr":    {"orange_mail", ChannelEmail},
	"mail.orange.fr":          {"orange_mail", ChannelEmail},
	"messagerie.sfr.fr":       {"sfr_mail", ChannelEmail},
	"navigator-bs.gmx.com":    {"gmx", ChannelEmail},
}

// brand is a source whose sites live under many country domains and
// subdomains.
type brand struct {
	HostSource        // the brand's main site
	mail       string // the source name of its webmail (mail.yahoo.co.uk), "" if none
	search     string // the source name of its web search when the main site is not search (suche.gmx.net)
}

// brands are matched by the brand label of a registrable domain under any
// public suffix: google.de, google.com.af, pinterest.co.uk, yahoo.co.jp.
// Only names nobody else uses as a domain are here; common words (ask,
// line, orange, free) are exact entries in knownHosts.
var brands = map[string]brand{
	// Search engines and search portals.
	"google":     {HostSource{"google", ChannelSearch}, "gmail", ""},
	"googlemail": {HostSource{"gmail", ChannelEmail}, "gmail", ""},
	"bing":       {HostSource{"bing", ChannelSearch}, "", ""},
	"yahoo":      {HostSource{"yahoo", ChannelSearch}, "yahoo_mail", ""},
	"yandex":     {HostSource{"yandex", ChannelSearch}, "yandex_mail", ""},
	"duckduckgo": {HostSource{"duckduckgo", ChannelSearch}, "", ""},
	"ecosia":     {HostSource{"ecosia", ChannelSearch}, "", ""},
	"qwant":      {HostSource{"qwant", ChannelSearch}, "", ""},
	"startpage":  {HostSource{"startpage", ChannelSearch}, "", ""},
	"ixquick":    {HostSource{"ixquick", ChannelSearch}, "", ""},
	"kagi":       {HostSource{"kagi", ChannelSearch}, "", ""},
	"mojeek":     {HostSource{"mojeek", ChannelSearch}, "", ""},
	"metager":    {HostSource{"metager", ChannelSearch}, "", ""},
	"swisscows":  {HostSource{"swisscows", ChannelSearch}, "", ""},
	"presearch":  {HostSource{"presearch", ChannelSearch}, "", ""},
	"baidu":      {HostSource{"baidu", ChannelSearch}, "", ""},
	"sogou":      {HostSource{"sogou", ChannelSearch}, "", ""},
	"haosou":     {HostSource{"haosou", ChannelSearch}, "", ""}, // 360 Search's former name
	"naver":      {HostSource{"naver", ChannelSearch}, "naver_mail", ""},
	"daum":       {HostSource{"daum", ChannelSearch}, "daum_mail", ""},
	"nate":       {HostSource{"nate", ChannelSearch}, "nate_mail", ""},
	"seznam":     {HostSource{"seznam", ChannelSearch}, "seznam_mail", ""},
	"coccoc":     {HostSource{"coccoc", ChannelSearch}, "", ""},
	"aol":        {HostSource{"aol", ChannelSearch}, "aol_mail", ""},
	"altavista":  {HostSource{"altavista", ChannelSearch}, "", ""},
	"lycos":      {HostSource{"lycos", ChannelSearch}, "lycos_mail", ""},
	"dogpile":    {HostSource{"infospace", ChannelSearch}, "", ""}, // InfoSpace's, like webcrawler and metacrawler.com
	"webcrawler": {HostSource{"infospace", ChannelSearch}, "", ""},
	"infospace":  {HostSource{"infospace", ChannelSearch}, "", ""},
	"excite":     {HostSource{"excite", ChannelSearch}, "excite_mail", ""},
	"hotbot":     {HostSource{"hotbot", ChannelSearch}, "", ""},
	"gigablast":  {HostSource{"gigablast", ChannelSearch}, "", ""},
	"looksmart":  {HostSource{"looksmart", ChannelSearch}, "", ""},
	"zapmeta":    {HostSource{"zapmeta", ChannelSearch}, "", ""},
	"yippy":      {HostSource{"yippy", ChannelSearch}, "", ""},
	"entireweb":  {HostSource{"entireweb", ChannelSearch}, "", ""},
	"rambler":    {HostSource{"rambler", ChannelSearch}, "rambler_mail", ""},
	"onet":       {HostSource{"onet", ChannelSearch}, "onet_mail", ""},
	"interia":    {HostSource{"interia", ChannelSearch}, "interia_mail", ""},
	"sapo":       {HostSource{"sapo", ChannelSearch}, "sapo_mail", ""},
	"virgilio":   {HostSource{"virgilio", ChannelSearch}, "virgilio_mail", ""},
	"libero":     {HostSource{"libero", ChannelSearch}, "libero_mail", ""},
	"tiscali":    {HostSource{"tiscali", ChannelSearch}, "tiscali_mail", ""},
	"freenet":    {HostSource{"freenet", ChannelSearch}, "freenet_mail", ""},
	"t-online":   {HostSource{"t-online", ChannelSearch}, "t-online_mail", ""},
	"auone":      {HostSource{"auone", ChannelSearch}, "", ""},
	"biglobe":    {HostSource{"biglobe", ChannelSearch}, "", ""},
	"nifty":      {HostSource{"nifty", ChannelSearch}, "", ""},
	"eniro":      {HostSource{"eniro", ChannelSearch}, "", ""},
	"najdi":      {HostSource{"najdi", ChannelSearch}, "", ""},
	"neti":       {HostSource{"neti", ChannelSearch}, "", ""},
	"lilo":       {HostSource{"lilo", ChannelSearch}, "", ""},
	"oceanhero":  {HostSource{"oceanhero", ChannelSearch}, "", ""},
	"ekoru":      {HostSource{"ekoru", ChannelSearch}, "", ""},
	// Webmail portals whose main site is the mailbox.
	"gmx":     {HostSource{"gmx", ChannelEmail}, "gmx", "google"}, // its web search shows Google's results
	"yopmail": {HostSource{"yopmail", ChannelEmail}, "yopmail", ""},

	// Social networks.
	"facebook":      {HostSource{"facebook", ChannelSocial}, "", ""},
	"instagram":     {HostSource{"instagram", ChannelSocial}, "", ""},
	"tiktok":        {HostSource{"tiktok", ChannelSocial}, "", ""},
	"twitter":       {HostSource{"x", ChannelSocial}, "", ""},
	"youtube":       {HostSource{"youtube", ChannelSocial}, "", ""},
	"snapchat":      {HostSource{"snapchat", ChannelSocial}, "", ""},
	"linkedin":      {HostSource{"linkedin", ChannelSocial}, "", ""},
	"reddit":        {HostSource{"reddit", ChannelSocial}, "", ""},
	"pinterest":     {HostSource{"pinterest", ChannelSocial}, "", ""},
	"tumblr":        {HostSource{"tumblr", ChannelSocial}, "", ""},
	"flickr":        {HostSource{"flickr", ChannelSocial}, "", ""},
	"lastfm":        {HostSource{"last.fm", ChannelSocial}, "", ""},
	"weibo":         {HostSource{"weibo", ChannelSocial}, "", ""},
	"xing":          {HostSource{"xing", ChannelSocial}, "", ""},
	"quora":         {HostSource{"quora", ChannelSocial}, "", ""},
	"twitch":        {HostSource{"twitch", ChannelSocial}, "", ""},
	"discord":       {HostSource{"discord", ChannelSocial}, "", ""},
	"soundcloud":    {HostSource{"soundcloud", ChannelSocial}, "", ""},
	"mixcloud":      {HostSource{"mixcloud", ChannelSocial}, "", ""},
	"bandcamp":      {HostSource{"bandcamp", ChannelSocial}, "", ""},
	"deviantart":    {HostSource{"deviantart", ChannelSocial}, "", ""},
	"vimeo":         {HostSource{"vimeo", ChannelSocial}, "", ""},
	"dailymotion":   {HostSource{"dailymotion", ChannelSocial}, "", ""},
	"myspace":       {HostSource{"myspace", ChannelSocial}, "", ""},
	"livejournal":   {HostSource{"livejournal", ChannelSocial}, "", ""},
	"badoo":         {HostSource{"badoo", ChannelSocial}, "", ""},
	"odnoklassniki": {HostSource{"odnoklassniki", ChannelSocial}, "", ""},
	"vkontakte":     {HostSource{"vk", ChannelSocial}, "", ""},
	"foursquare":    {HostSource{"foursquare", ChannelSocial}, "", ""},
	"tripadvisor":   {HostSource{"tripadvisor", ChannelSocial}, "", ""},
	"yelp":          {HostSource{"yelp", ChannelSocial}, "", ""},
	"behance":       {HostSource{"behance", ChannelSocial}, "", ""},
	"dribbble":      {HostSource{"dribbble", ChannelSocial}, "", ""},
	"wattpad":       {HostSource{"wattpad", ChannelSocial}, "", ""},
	"mastodon":      {HostSource{"mastodon", ChannelSocial}, "", ""},
	"pixelfed":      {HostSource{"pixelfed", ChannelSocial}, "", ""},
	"studivz":       {HostSource{"studivz", ChannelSocial}, "", ""},
	"orkut":         {HostSource{"orkut", ChannelSocial}, "", ""},
	"friendster":    {HostSource{"friendster", ChannelSocial}, "", ""},
	"bebo":          {HostSource{"bebo", ChannelSocial}, "", ""},
	"delicious":     {HostSource{"delicious", ChannelSocial}, "", ""},
	"fark":          {HostSource{"fark", ChannelSocial}, "", ""},
	"stumbleupon":   {HostSource{"stumbleupon", ChannelSocial}, "", ""},
	"flipboard":     {HostSource{"flipboard", ChannelSocial}, "", ""},
	"hyves":         {HostSource{"hyves", ChannelSocial}, "", ""},
	"netlog":        {HostSource{"netlog", ChannelSocial}, "", ""},
	"tuenti":        {HostSource{"tuenti", ChannelSocial}, "", ""},
	"xanga":         {HostSource{"xanga", ChannelSocial}, "", ""},
	"fotolog":       {HostSource{"fotolog", ChannelSocial}, "", ""},
	"habbo":         {HostSource{"habbo", ChannelSocial}, "", ""},
	"cyworld":       {HostSource{"cyworld", ChannelSocial}, "", ""},
	"skyrock":       {HostSource{"skyrock", ChannelSocial}, "", ""},

	// Messengers.
	"whatsapp":  {HostSource{"whatsapp", ChannelMessenger}, "", ""},
	"messenger": {HostSource{"messenger", ChannelMessenger}, "", ""},
	"telegram":  {HostSource{"telegram", ChannelMessenger}, "", ""},
	"viber":     {HostSource{"viber", ChannelMessenger}, "", ""},
}

// mailLabels are subdomain labels that mean a brand's webmail
// (mail.yahoo.co.uk, webmail.gmx.net, email.seznam.cz, poczta.onet.pl).
var mailLabels = map[string]bool{
	"mail": true, "webmail": true, "email": true, "e-mail": true, "inbox": true, "posta": true,
	"poczta": true, "correo": true, "courrier": true, "messagerie": true, "post": true, "pochta": true,
}

// searchLabels are first labels that say search in the languages a
// European or American ticket buyer's search engine speaks: search.,
// suche.gmx.net, recherche., szukaj.onet.pl, pesquisa.sapo.pt.
var searchLabels = map[string]bool{
	"search": true, "suche": true, "recherche": true, "busca": true, "buscar": true, "buscador": true,
	"pesquisa": true, "cerca": true, "ricerca": true, "zoeken": true, "zoek": true, "szukaj": true,
	"hledat": true, "hladaj": true, "sok": true, "soek": true, "haku": true, "kereso": true,
	"cautare": true, "arama": true, "poisk": true, "find": true, "websearch": true, "metasearch": true,
	"isearch": true, "msearch": true,
}

// androidApps maps Android package names to named sources: Chrome on
// Android sends "android-app://<package>/" as Referer when another app
// opened the link, and an app's own WebView names it in X-Requested-With.
// These match exactly.
var androidApps = map[string]HostSource{
	"com.instagram.android":                   {"instagram", ChannelSocial},
	"com.instagram.barcelona":                 {"threads", ChannelSocial},
	"com.facebook.katana":                     {"facebook", ChannelSocial},
	"com.google.android.apps.plus":            {"google+", ChannelSocial},
	"com.facebook.lite":                       {"facebook", ChannelSocial},
	"com.facebook.orca":                       {"messenger", ChannelMessenger},
	"com.facebook.mlite":                      {"messenger", ChannelMessenger},
	"com.zhiliaoapp.musically":                {"tiktok", ChannelSocial},
	"com.zhiliaoapp.musically.go":             {"tiktok", ChannelSocial},
	"com.ss.android.ugc.trill":                {"tiktok", ChannelSocial},
	"com.ss.android.ugc.aweme":                {"douyin", ChannelSocial},
	"com.twitter.android":                     {"x", ChannelSocial},
	"com.google.android.youtube":              {"youtube", ChannelSocial},
	"com.snapchat.android":                    {"snapchat", ChannelSocial},
	"com.linkedin.android":                    {"linkedin", ChannelSocial},
	"com.reddit.frontpage":                    {"reddit", ChannelSocial},
	"com.pinterest":                           {"pinterest", ChannelSocial},
	"com.discord":                             {"discord", ChannelSocial},
	"com.tumblr":                              {"tumblr", ChannelSocial},
	"com.sina.weibo":                          {"weibo", ChannelSocial},
	"com.vkontakte.android":                   {"vk", ChannelSocial},
	"org.joinmastodon.android":                {"mastodon", ChannelSocial},
	"xyz.blueskyweb.app":                      {"bluesky", ChannelSocial},
	"com.google.android.googlequicksearchbox": {"google", ChannelSearch},
	"com.google.android.gm":                   {"gmail", ChannelEmail},
	"com.microsoft.office.outlook":            {"outlook", ChannelEmail},
	"com.yahoo.mobile.client.android.mail":    {"yahoo_mail", ChannelEmail},
	"ch.protonmail.android":                   {"proton", ChannelEmail},
	"de.gmx.mobile.android.mail":              {"gmx", ChannelEmail},
	"de.web.mobile.android.mail":              {"web.de", ChannelEmail},
	"com.whatsapp":                            {"whatsapp", ChannelMessenger},
	"com.whatsapp.w4b":                        {"whatsapp", ChannelMessenger},
	"org.telegram.messenger":                  {"telegram", ChannelMessenger},
	"org.telegram.messenger.web":              {"telegram", ChannelMessenger},
	"org.thunderdog.challegram":               {"telegram", ChannelMessenger},
	"org.thoughtcrime.securesms":              {"signal", ChannelMessenger},
	"jp.naver.line.android":                   {"line", ChannelMessenger},
	"com.viber.voip":                          {"viber", ChannelMessenger},
	"com.tencent.mm":                          {"wechat", ChannelMessenger},
	"com.kakao.talk":                          {"kakaotalk", ChannelMessenger},
	"com.slack":                               {"slack", ChannelMessenger},
	"com.microsoft.teams":                     {"teams", ChannelMessenger},
	"ch.threema.app":                          {"threema", ChannelMessenger},
	"com.linktree.linktree":                   {"linktree", ChannelLinkInBio},
	"com.openai.chatgpt":                      {"chatgpt", ChannelAI},
	"ai.perplexity.app.android":               {"perplexity", ChannelAI},
	"com.anthropic.claude":                    {"claude", ChannelAI},
	"com.google.android.apps.bard":            {"gemini", ChannelAI},
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
