package tracklink

import (
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"golang.org/x/net/publicsuffix"
)

// Landing is the input of the classifier: the parts of a request it reads.
type Landing struct {
	Host         string // the request's Host (may include a port)
	Path         string // URL path
	RawQuery     string // URL raw query, unparsed
	Referer      string
	UserAgent    string
	SecFetchSite string // Sec-Fetch-Site header
	// RequestedWith is the X-Requested-With header: an Android app's
	// WebView names the app's package in it (org.telegram.messenger,
	// com.kakao.talk), which tells apps whose user agent does not.
	RequestedWith string
	Event         string // event slug the host's path matcher found, "" for non-event pages
	At            time.Time
}

// HostSource maps a host to a named source.
type HostSource struct {
	Source  string
	Channel Channel
}

// Classifier classifies landings. The zero value is ready to use with the
// built-in tables; a nil *Classifier behaves as the zero value. A
// Classifier must not be changed while in use; it is then safe for
// concurrent use.
type Classifier struct {
	// PlatformHosts are hosts, besides Landing.Host, whose pages count as
	// the platform itself (the shop on another domain, the organiser's
	// main site, the domain its notification emails link through). An
	// entry matches its host with or without "www." and any port; an
	// entry with a leading dot (".example.com") matches example.com and
	// every subdomain. Default none.
	PlatformHosts []string
	// Hosts adds or overrides host → source mappings of the built-in
	// table. Keys are lowercase host names without port; a key matches the
	// host and its subdomains, and Hosts is consulted before the built-in
	// table at every level. An Android app referrer
	// (android-app://com.example.app/) is matched by its package name.
	// Entries with an empty Source or an invalid Channel are skipped.
	// Default none.
	Hosts map[string]HostSource
	// PromoterParams are the query parameter names (matched
	// case-insensitively) read as promoter codes, in order of preference.
	// Default {"promoter"}.
	PromoterParams []string
}

// Bounds on the request data the classifier reads. Past them it reads no
// further, so a hostile request costs no more than a large normal one.
const (
	// MaxQueryScan is how many bytes of the raw query are scanned; a
	// parameter cut by the bound is dropped.
	MaxQueryScan = 4 << 10
	// MaxQueryParams is how many '&'-separated parameters are scanned.
	MaxQueryParams = 64
	// MaxRefererLen is the longest Referer read; a longer one classifies
	// as unknown. Browsers cut referrers to 4 KiB at most and send far
	// less for cross-site navigations (origin only by default).
	MaxRefererLen = 2 << 10
)

// maxHostLen is the longest DNS name.
const maxHostLen = 253

var defaultPromoterParams = []string{"promoter"}

func (c *Classifier) promoterParams() []string {
	if c == nil || len(c.PromoterParams) == 0 {
		return defaultPromoterParams
	}
	return c.PromoterParams
}

// Classify classifies l with the zero Classifier.
func Classify(l Landing) (Touch, string) {
	return (*Classifier)(nil).Classify(l)
}

// Classify returns the touch for a landing and, when some input was ignored
// (an invalid promoter code, an over-long value, a malformed query), a short
// description of what was ignored ("" otherwise). It never panics.
//
// The rules, first match wins (Touch.Evidence says which one):
//
//  1. a valid promoter code (PromoterParams) → promoter, source = the code;
//  2. utm_source → campaign, source = the normalised utm_source;
//  3. an ad click id (fbclid, gclid, ttclid, msclkid, twclid, li_fat_id, …)
//     → the ad platform; fbclid opened from Instagram, Threads or Messenger
//     (by Referer or in-app browser) → that app;
//  4. a Referer on Landing.Host (ignoring port, case and "www.") or a
//     platform host → platform;
//  5. a Referer on a known host → its source (social, search, email,
//     messenger, link_in_bio, ai): the host table, brands under every
//     public suffix (google.com.af, mail.yahoo.co.uk), search engines and
//     federated social hosts told by their names (see hosts.go); a search
//     results page (/search?q=…) of any other host → search, source = its
//     name; any other host → referral, source = its registrable domain
//     (Public Suffix List);
//  6. no Referer, an in-app browser (by user agent, or an Android app's
//     WebView by Landing.RequestedWith) → that app;
//  7. no Referer, Sec-Fetch-Site none → direct; same-origin or same-site
//     (the site's own Referrer-Policy hid it) → platform;
//  8. no Referer, Sec-Fetch-Site cross-site (the other site stripped it),
//     or an unreadable or over-long Referer → unknown; no Referer and no
//     fetch metadata → direct.
//
// Rule 6 covers messaging apps with their own in-app browser (Line,
// Messenger, Telegram, WeChat): they are credited to the app, with channel
// messenger. Apps without one (WhatsApp, Signal) open the default browser,
// which sends no Referer and Sec-Fetch-Site none: direct, by rule 7.
//
// Privacy: the touch keeps the Referer's host only, never its path or
// query (which can hold search terms, email ids or tokens), and a click
// id's parameter name only, never its value. utm_* values are the
// organiser's own link and are kept, bounded.
//
// The touch owns its strings (one allocation): it never shares memory with
// the request, so a stored touch does not pin a large request in memory.
func (c *Classifier) Classify(l Landing) (t Touch, ignored string) {
	var rep report
	t.At = l.At
	t.Event = l.Event
	if l.Event != "" && !ValidEvent(l.Event) {
		rep.add("event slug " + quoteClip(l.Event) + " is not [a-z0-9-]{1,64}")
		t.Event = ""
	}
	t.Path = l.Path
	if len(t.Path) > MaxPathLen {
		t.Path = cutUTF8(t.Path, MaxPathLen)
		rep.add("path cut to " + strconv.Itoa(MaxPathLen) + " bytes")
	}

	q := c.scanQuery(l.RawQuery, &rep)
	ref := c.readReferer(l.Referer, l.Host, &rep)
	t.ReferrerHost = ref.host
	t.UTM = q.utm
	var app inAppFact // the in-app browser, looked up only when a rule needs it
	inApp := false
	if ref.state == refNone && q.promoter == "" && t.UTM.Source == "" && (q.click.param == "" || q.click.param == "fbclid") {
		app, inApp = c.landingApp(&l)
	}

	var evPrefix, evValue string
	switch {
	case q.promoter != "":
		t.Channel, t.Source, t.Promoter = ChannelPromoter, q.promoter, q.promoter
		evPrefix, evValue = "param "+q.promoterKey+"=", q.promoter
	case t.UTM.Source != "":
		t.Channel, t.Source = ChannelCampaign, t.UTM.Source
		evPrefix, evValue = "param utm_source=", t.UTM.Source
	case q.click.param != "":
		t.Channel, t.Source, t.ClickID = q.click.Channel, q.click.Source, q.click.param
		evPrefix, evValue = "click id ", q.click.param
		if q.click.param == "fbclid" {
			// Meta adds fbclid to links opened from all its apps.
			switch {
			case ref.named && metaSources[ref.src.Source]:
				t.Source = ref.src.Source
				evPrefix, evValue = "click id fbclid, referrer ", ref.host
			case inApp && metaSources[app.Source]:
				t.Source = app.Source
				evPrefix, evValue = "click id fbclid, ", app.evPrefix+app.evValue
			}
		}
	case ref.state == refOK:
		t.Channel, t.Source = ref.src.Channel, ref.src.Source
		evPrefix, evValue = "referrer ", ref.host
		if ref.app {
			evPrefix = "referrer android-app://"
		}
	case ref.state == refBad:
		t.Channel, t.Source = ChannelUnknown, string(ChannelUnknown)
		evPrefix = "unreadable referrer"
	case ref.state == refTooLong:
		t.Channel, t.Source = ChannelUnknown, string(ChannelUnknown)
		evPrefix = "referrer too long"
	case inApp:
		t.Channel, t.Source = app.Channel, app.Source
		evPrefix, evValue = app.evPrefix, app.evValue
	default:
		t.Channel, t.Source, evPrefix = noReferer(l.SecFetchSite)
	}
	own(&t, evPrefix, evValue)
	return t, rep.String()
}

// noReferer classifies a landing without Referer by its Sec-Fetch-Site
// header (https://www.w3.org/TR/fetch-metadata/), which browsers send on
// every navigation and scripts cannot forge from a page.
func noReferer(secFetchSite string) (Channel, string, string) {
	switch strings.TrimSpace(secFetchSite) {
	case "none":
		// Typed, bookmarked, or opened from another app (WhatsApp, Mail).
		return ChannelDirect, string(ChannelDirect), "Sec-Fetch-Site none"
	case "cross-site":
		// Another site linked here with Referrer-Policy no-referrer.
		return ChannelUnknown, string(ChannelUnknown), "Sec-Fetch-Site cross-site, no referrer"
	case "same-origin":
		return ChannelPlatform, string(ChannelPlatform), "Sec-Fetch-Site same-origin, no referrer"
	case "same-site":
		return ChannelPlatform, string(ChannelPlatform), "Sec-Fetch-Site same-site, no referrer"
	}
	// An old browser, or a missing or unknown value.
	return ChannelDirect, string(ChannelDirect), "no referrer"
}

// own copies every string the touch keeps, and the evidence evPrefix +
// evValue, into one allocation. A touch then never shares memory with the
// request: a store that keeps it for a day does not pin the request's
// (possibly large) URL or headers. It is also the only allocation of a
// typical landing.
func own(t *Touch, evPrefix, evValue string) {
	fields := [...]*string{
		&t.Source, &t.Promoter, &t.UTM.Source, &t.UTM.Medium, &t.UTM.Campaign, &t.UTM.Content,
		&t.UTM.Term, &t.ClickID, &t.ReferrerHost, &t.Event, &t.Path,
	}
	n := len(evPrefix) + len(evValue)
	for _, f := range fields {
		n += len(*f)
	}
	var b strings.Builder
	b.Grow(n)
	b.WriteString(evPrefix)
	b.WriteString(evValue)
	for _, f := range fields {
		b.WriteString(*f)
	}
	s := b.String()
	t.Evidence, s = s[:len(evPrefix)+len(evValue)], s[len(evPrefix)+len(evValue):]
	for _, f := range fields {
		*f, s = s[:len(*f)], s[len(*f):]
	}
}

// --- Query ---

// queryFacts is what the classifier read from the query.
type queryFacts struct {
	promoter    string // lowercase valid code, "" if none
	promoterKey string // the parameter it came from, as configured
	utm         UTM
	click       clickID // first click id, zero if none
}

// utmKeys are the utm_* parameters in UTM field order.
var utmKeys = [...]string{"utm_source", "utm_medium", "utm_campaign", "utm_content", "utm_term"}

// scanQuery reads the promoter code, the utm_* values and the first click
// id from a raw query, within MaxQueryScan bytes and MaxQueryParams
// parameters. The first valid code of the most preferred promoter
// parameter wins; for the others the first occurrence wins.
func (c *Classifier) scanQuery(raw string, rep *report) queryFacts {
	var f queryFacts
	names := c.promoterParams()
	rank := len(names)
	var utmRaw [len(utmKeys)]string
	var utmSeen [len(utmKeys)]bool
	var kb [keyBufLen]byte
	s := newQueryScanner(raw)
	for s.next() {
		key, val := s.key, s.val
		for i, name := range names[:rank] {
			if !keyIs(key, name) {
				continue
			}
			code, ok := "", false
			if v, vok := unescape(val); vok {
				code, ok = NormalizePromoter(strings.Trim(v, " "))
			}
			if ok {
				f.promoter, f.promoterKey, rank = code, name, i
			} else {
				rep.add("promoter code " + quoteClip(val) + " is not [A-Za-z0-9_-]{1,64}")
			}
			break
		}
		k, full := lowerKey(key, &kb)
		if !full {
			continue
		}
		if len(k) > 4 && string(k[:4]) == "utm_" {
			for i, name := range utmKeys {
				if string(k) == name && !utmSeen[i] {
					utmSeen[i], utmRaw[i] = true, val
				}
			}
			continue
		}
		if f.click.param == "" {
			f.click, _ = lookupClickID(k)
		}
	}
	if s.cut {
		rep.add("query longer than " + strconv.Itoa(MaxQueryScan) + " bytes: the rest was not read")
	}
	if s.tooMany {
		rep.add("more than " + strconv.Itoa(MaxQueryParams) + " query parameters: the rest were not read")
	}
	fields := [...]*string{&f.utm.Source, &f.utm.Medium, &f.utm.Campaign, &f.utm.Content, &f.utm.Term}
	for i, p := range fields {
		if utmSeen[i] {
			*p = utmValue(utmKeys[i], utmRaw[i], rep)
		}
	}
	if f.utm.Source != "" {
		f.utm.Source = c.normalizeUTMSource(f.utm.Source)
	}
	return f
}

// queryScanner walks the '&'-separated parameters of a raw query within
// the bounds. It never allocates and never fails: a malformed parameter is
// just a parameter nobody asks for.
type queryScanner struct {
	rest     string
	n        int
	key, val string
	cut      bool // the query was longer than MaxQueryScan
	tooMany  bool // the query had more than MaxQueryParams parameters
}

func newQueryScanner(raw string) queryScanner {
	s := queryScanner{rest: raw}
	if len(raw) > MaxQueryScan {
		s.cut = true
		s.rest = raw[:MaxQueryScan]
		if raw[MaxQueryScan] != '&' {
			// Drop the parameter the bound cut in two.
			s.rest = s.rest[:max(strings.LastIndexByte(s.rest, '&'), 0)]
		}
	}
	return s
}

func (s *queryScanner) next() bool {
	for s.rest != "" {
		if s.n == MaxQueryParams {
			s.tooMany = true
			return false
		}
		s.n++
		var seg string
		seg, s.rest, _ = strings.Cut(s.rest, "&")
		if seg == "" {
			continue
		}
		s.key, s.val, _ = strings.Cut(seg, "=")
		return true
	}
	return false
}

// lookupClickID finds a lowercase parameter name in clickIDs. Names whose
// last byte ends no click id (page, sort, lang…) skip the map.
func lookupClickID(k []byte) (clickID, bool) {
	if len(k) == 0 || !clickIDLast[k[len(k)-1]] {
		return clickID{}, false
	}
	id, ok := clickIDs[string(k)]
	return id, ok
}

var clickIDLast = func() (last [256]bool) {
	for name := range clickIDs {
		last[name[len(name)-1]] = true
	}
	return last
}()

// keyBufLen bounds the known parameter names (utm_campaign, li_fat_id…).
const keyBufLen = 16

// lowerKey decodes a raw query key into buf, ASCII-lowercased. full is
// false when the key has a bad escape or is longer than buf (no known
// name is).
func lowerKey(raw string, buf *[keyBufLen]byte) (k []byte, full bool) {
	n := 0
	for i := 0; i < len(raw); i++ {
		c, w, ok := decodeByte(raw, i)
		if !ok || n == len(buf) {
			return nil, false
		}
		i += w - 1
		buf[n] = lowerASCII(c)
		n++
	}
	return buf[:n], true
}

// keyIs reports whether the raw query key, decoded, equals name, ignoring
// ASCII case. It does not allocate.
func keyIs(raw, name string) bool {
	j := 0
	for i := 0; i < len(raw); i++ {
		c, w, ok := decodeByte(raw, i)
		if !ok || j == len(name) || lowerASCII(c) != lowerASCII(name[j]) {
			return false
		}
		i += w - 1
		j++
	}
	return j == len(name)
}

// keyHasPrefix reports whether the raw query key, decoded, starts with
// prefix (lowercase), ignoring ASCII case.
func keyHasPrefix(raw, prefix string) bool {
	j := 0
	for i := 0; i < len(raw) && j < len(prefix); i++ {
		c, w, ok := decodeByte(raw, i)
		if !ok || lowerASCII(c) != prefix[j] {
			return false
		}
		i += w - 1
		j++
	}
	if j < len(prefix) {
		return false
	}
	// The rest of the key must decode too, as url.ParseQuery requires.
	_, ok := unescapedLen(raw)
	return ok
}

// decodeByte decodes the query byte at s[i]: "%XX" is one byte, '+' a
// space. w is the number of raw bytes read; ok is false for a bad escape.
func decodeByte(s string, i int) (c byte, w int, ok bool) {
	switch s[i] {
	case '%':
		if i+2 >= len(s) || !isHex(s[i+1]) || !isHex(s[i+2]) {
			return 0, 0, false
		}
		return unhex(s[i+1])<<4 | unhex(s[i+2]), 3, true
	case '+':
		return ' ', 1, true
	}
	return s[i], 1, true
}

// unescapedLen returns the decoded length of a query component, ok false
// for a bad escape.
func unescapedLen(s string) (n int, ok bool) {
	for i := 0; i < len(s); i++ {
		_, w, ok := decodeByte(s, i)
		if !ok {
			return 0, false
		}
		i += w - 1
		n++
	}
	return n, true
}

// unescape decodes a query component like url.QueryUnescape, allocating
// only when s holds an escape or '+'.
func unescape(s string) (string, bool) {
	if strings.IndexByte(s, '%') < 0 && strings.IndexByte(s, '+') < 0 {
		return s, true
	}
	n, ok := unescapedLen(s)
	if !ok {
		return "", false
	}
	b := make([]byte, 0, n)
	for i := 0; i < len(s); i++ {
		c, w, _ := decodeByte(s, i)
		b = append(b, c)
		i += w - 1
	}
	return string(b), true
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case c <= '9':
		return c - '0'
	case c <= 'F':
		return c - 'A' + 10
	}
	return c - 'a' + 10
}

func lowerASCII(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

// utmValue decodes, trims and bounds one utm_* value. A value with a bad
// escape or a non-printable character is ignored; a longer value is cut
// to MaxUTMLen bytes (at a character boundary). Both are reported.
func utmValue(name, raw string, rep *report) string {
	v, ok := unescape(raw)
	if !ok {
		rep.add(name + " " + quoteClip(raw) + " has a bad %-escape")
		return ""
	}
	v = strings.TrimSpace(v)
	if !printableText(v) {
		rep.add(name + " " + quoteClip(v) + " has non-printable characters")
		return ""
	}
	if len(v) > MaxUTMLen {
		v = strings.TrimSpace(cutUTF8(v, MaxUTMLen))
		rep.add(name + " cut to " + strconv.Itoa(MaxUTMLen) + " bytes")
	}
	return v
}

// normalizeUTMSource lowercases a utm_source and maps the spellings of a
// named source to its name: the aliases in utmAliases ("ig" → instagram,
// "fb" → facebook) and hosts of the host table ("instagram.com",
// "l.facebook.com", "t.co" → x), so campaign and referrer sources group
// together in reports. Other values are kept, lowercase.
func (c *Classifier) normalizeUTMSource(v string) string {
	v = cutUTF8(strings.ToLower(v), MaxUTMLen) // lowercasing can lengthen some runes
	if a, ok := utmAliases[v]; ok {
		return a
	}
	if strings.IndexByte(v, '.') > 0 && validHost(v) {
		if hs, ok, _ := c.lookupHost(strings.TrimPrefix(v, "www.")); ok && hs.Channel != ChannelReferral {
			return hs.Source
		}
	}
	return v
}

// printableText reports whether s is valid UTF-8 without control or
// invisible formatting characters (so it cannot spoof a report, a CSV or a
// log line).
func printableText(s string) bool {
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c < 0x20 || c == 0x7f {
				return false
			}
			i++
			continue
		}
		r, w := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && w == 1 || !unicode.IsPrint(r) {
			return false
		}
		i += w
	}
	return true
}

// cutUTF8 cuts s to at most n bytes without splitting a UTF-8 sequence.
func cutUTF8(s string, n int) string {
	if len(s) <= n {
		return s
	}
	i := n
	for i > 0 && i > n-utf8.UTFMax && !utf8.RuneStart(s[i]) {
		i--
	}
	return s[:i]
}

// HasTrackingParams reports, without allocating, whether rawQuery carries
// any parameter that classifying cares about: a promoter parameter (c's
// PromoterParams), any utm_* parameter, or an ad click id. Parameter
// names are matched case-insensitively after %-decoding; values are not
// looked at. It reads as far as Classify does (MaxQueryScan bytes,
// MaxQueryParams parameters).
func (c *Classifier) HasTrackingParams(rawQuery string) bool {
	if rawQuery == "" {
		return false
	}
	names := c.promoterParams()
	var kb [keyBufLen]byte
	s := newQueryScanner(rawQuery)
	for s.next() {
		for _, name := range names {
			if keyIs(s.key, name) {
				return true
			}
		}
		if keyHasPrefix(s.key, "utm_") {
			return true
		}
		if k, full := lowerKey(s.key, &kb); full {
			if _, ok := lookupClickID(k); ok {
				return true
			}
		}
	}
	return false
}

// --- Referer ---

type refState int

const (
	refNone    refState = iota // no Referer
	refOK                      // a readable host (or Android app)
	refBad                     // present but not an absolute http(s) or android-app URL
	refTooLong                 // longer than MaxRefererLen
)

// refFacts is what the classifier read from the Referer.
type refFacts struct {
	state refState
	host  string     // lowercase, no port; the package name of an app
	app   bool       // an android-app:// referrer
	src   HostSource // its source
	named bool       // src came from a host table, not the referral fallback
}

func (c *Classifier) readReferer(ref, host string, rep *report) refFacts {
	ref = strings.TrimSpace(ref)
	if ref == "" {
		return refFacts{}
	}
	if len(ref) > MaxRefererLen {
		rep.add("referrer longer than " + strconv.Itoa(MaxRefererLen) + " bytes")
		return refFacts{state: refTooLong}
	}
	h, app, ok := refererHost(ref)
	if !ok {
		rep.add("unreadable referrer " + quoteClip(ref))
		return refFacts{state: refBad}
	}
	f := refFacts{state: refOK, host: strings.ToLower(h), app: app}
	switch {
	case app:
		f.src, f.named = c.hostEntry(f.host)
		if !f.named {
			f.src = HostSource{f.host, ChannelReferral}
		}
	case c.isPlatform(f.host, host):
		f.src = HostSource{string(ChannelPlatform), ChannelPlatform}
	default:
		var reg string
		f.src, f.named, reg = c.lookupHost(f.host)
		if !f.named || f.src.Channel == ChannelReferral {
			// A results page of an unknown site, or of a named site that
			// is not a search engine (maps.google.com/search?q=), is a
			// search; other unknown hosts are referrals.
			if reg == "" {
				reg = registrableDomain(f.host)
			}
			if searchPage(ref) {
				f.src = HostSource{engineName(reg), ChannelSearch}
			} else if !f.named {
				f.src = HostSource{reg, ChannelReferral}
			}
		}
	}
	return f
}

// refererHost returns the host of an absolute http or https URL, or the
// package name of an android-app:// URL, without userinfo or port, in its
// original case. ok is false for anything else: other schemes, relative
// references, empty or malformed hosts, non-ASCII or %-encoded hosts
// (browsers send IDNs as punycode). It does not allocate.
func refererHost(ref string) (host string, app, ok bool) {
	if len(ref) > MaxRefererLen {
		return "", false, false
	}
	i := strings.Index(ref[:min(len(ref), 16)], "://")
	if i <= 0 {
		return "", false, false
	}
	switch scheme := ref[:i]; {
	case strings.EqualFold(scheme, "https"), strings.EqualFold(scheme, "http"):
	case strings.EqualFold(scheme, "android-app"):
		app = true
	default:
		return "", false, false
	}
	auth := ref[i+3:]
	if j := strings.IndexAny(auth, "/?#\\"); j >= 0 {
		auth = auth[:j]
	}
	if j := strings.LastIndexByte(auth, '@'); j >= 0 {
		auth = auth[j+1:]
	}
	host, ok = hostOnly(auth)
	if !ok || !validHost(host) {
		return "", false, false
	}
	return host, app, true
}

// hostOnly strips the port of a host[:port] or [ipv6][:port] authority,
// and a trailing dot. ok is false when the port is not numeric.
func hostOnly(hostport string) (string, bool) {
	h, port := hostport, ""
	if strings.HasPrefix(h, "[") {
		j := strings.IndexByte(h, ']')
		if j < 0 {
			return "", false
		}
		h, port = h[1:j], h[j+1:]
		if port != "" && port[0] != ':' {
			return "", false
		}
	} else if j := strings.LastIndexByte(h, ':'); j >= 0 {
		h, port = h[:j], h[j:]
	}
	for k := 1; k < len(port); k++ {
		if port[k] < '0' || port[k] > '9' {
			return "", false
		}
	}
	return strings.TrimSuffix(h, "."), true
}

// validHost reports whether h is a plausible host name or IP address:
// ASCII letters, digits, '-', '_' and dots between non-empty labels (or
// an IPv6 address), at most 253 bytes.
func validHost(h string) bool {
	if h == "" || len(h) > maxHostLen {
		return false
	}
	if strings.IndexByte(h, ':') >= 0 {
		for i := 0; i < len(h); i++ {
			if c := h[i]; !isHex(c) && c != ':' && c != '.' {
				return false
			}
		}
		return true
	}
	prev := byte('.')
	for i := 0; i < len(h); i++ {
		c := h[i]
		switch {
		case c == '.':
			if prev == '.' {
				return false
			}
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', c == '-', c == '_':
		default:
			return false
		}
		prev = c
	}
	return prev != '.'
}

// ExternalReferrer reports, without allocating, whether referer is
// non-empty and points to a host that is not host (the request's Host,
// compared ignoring port, case and "www.") and not a platform host. An
// Android app referrer is external; an unreadable Referer is not (there
// is nothing to learn from it).
func (c *Classifier) ExternalReferrer(referer, host string) bool {
	h, app, ok := refererHost(strings.TrimSpace(referer))
	switch {
	case !ok:
		return false
	case app:
		return true
	}
	return !c.isPlatform(h, host)
}

// isPlatform reports whether the referrer host h (no port, any case) is
// the request's own host or a platform host.
//
// Security: the Referer is set by the browser from the page the visitor
// came from; a page cannot forge it for a navigation, but any script or
// client can send any value. Counting a forged own-host Referer as
// platform is harmless (platform is the weakest touch and never replaces
// another), so matching is lenient: "www." and the port do not matter.
func (c *Classifier) isPlatform(h, host string) bool {
	if hh, ok := hostOnly(host); ok && sameHost(h, hh) {
		return true
	}
	if c == nil {
		return false
	}
	for _, p := range c.PlatformHosts {
		if strings.HasPrefix(p, ".") {
			if strings.EqualFold(h, p[1:]) || hasSuffixFold(h, p) {
				return true
			}
			continue
		}
		if pp, ok := hostOnly(p); ok && sameHost(h, pp) {
			return true
		}
	}
	return false
}

// sameHost compares two hosts without port, ignoring case and a leading
// "www." on either side.
func sameHost(a, b string) bool {
	return a != "" && strings.EqualFold(trimWWW(a), trimWWW(b))
}

func trimWWW(h string) string {
	if len(h) > 4 && strings.EqualFold(h[:4], "www.") {
		return h[4:]
	}
	return h
}

func hasSuffixFold(s, suffix string) bool {
	return len(s) >= len(suffix) && strings.EqualFold(s[len(s)-len(suffix):], suffix)
}

// --- Host table ---

// hostEntry looks an Android package name up exactly: Classifier.Hosts
// first, then the built-in androidApps.
func (c *Classifier) hostEntry(h string) (HostSource, bool) {
	if c != nil {
		if hs, ok := c.Hosts[h]; ok && hs.Source != "" && hs.Channel.Valid() {
			return hs, true
		}
	}
	hs, ok := androidApps[h]
	return hs, ok
}

// lookupHost finds the named source of a lowercase host (see hosts.go for
// the order): the host or its nearest parent domain in Classifier.Hosts,
// then in knownHosts, then a brand under any public suffix, then the
// shape of a search engine or a federated social host. reg is the host's
// registrable domain when the lookup had to compute it, "" otherwise.
func (c *Classifier) lookupHost(h string) (hs HostSource, ok bool, reg string) {
	if c != nil && len(c.Hosts) > 0 {
		for s := h; ; {
			if hs, ok := c.Hosts[s]; ok && hs.Source != "" && hs.Channel.Valid() {
				return hs, true, ""
			}
			i := strings.IndexByte(s, '.')
			if i < 0 {
				break
			}
			s = s[i+1:]
		}
	}
	for s := h; ; {
		if hs, ok := knownHosts[s]; ok {
			return hs, true, ""
		}
		i := strings.IndexByte(s, '.')
		if i < 0 {
			break
		}
		s = s[i+1:]
	}
	// A brand directly under a one-label suffix (www.google.com,
	// mail.yandex.kz) is found without the Public Suffix List.
	if i := strings.LastIndexByte(h, '.'); i > 0 && allLetters(h[i+1:]) {
		j := strings.LastIndexByte(h[:i], '.')
		if b, ok := brands[h[j+1:i]]; ok {
			return b.site(h[:max(j, 0)]), true, ""
		}
	}
	reg, icann := registrable(h)
	label := reg
	if i := strings.IndexByte(reg, '.'); i > 0 {
		label = reg[:i]
	}
	sub := strings.TrimSuffix(h[:len(h)-len(reg)], ".")
	if icann && label != reg {
		if b, ok := brands[label]; ok {
			return b.site(sub), true, reg
		}
	}
	if icann && label != reg {
		if b, ok := typoBrand(label); ok {
			return b.site(sub), true, reg
		}
	}
	if hs, ok := hostShape(h, sub, label, reg); ok {
		return hs, true, reg
	}
	return HostSource{}, false, reg
}

// typoBrand finds the search brand a mistyped registrable label stands
// for: the brand glued to "www" (wwwgoogle.com) or one edit away from a
// brand of six letters or more (gogole, googel, yandx). Such domains are
// parked typos that forward to the engine. Only search brands are
// matched: a social network's typo is as likely another site.
func typoBrand(label string) (brand, bool) {
	if len(label) < 5 || len(label) > maxTypoLen+1 {
		return brand{}, false
	}
	if strings.HasPrefix(label, "www") {
		if b, ok := brands[label[3:]]; ok && b.Channel == ChannelSearch {
			return b, true
		}
	}
	for _, name := range typoBrands[label[0]] {
		if oneEdit(label, name) {
			return brands[name], true
		}
	}
	return brand{}, false
}

// maxTypoLen is the longest brand typoBrands holds.
const maxTypoLen = 16

// typoBrands are the search brands of six letters or more by first letter.
var typoBrands = func() (m [256][]string) {
	for name, b := range brands {
		if b.Channel == ChannelSearch && len(name) >= 6 && len(name) <= maxTypoLen {
			m[name[0]] = append(m[name[0]], name)
		}
	}
	for i := range m {
		slices.Sort(m[i])
	}
	return m
}()

// oneEdit reports whether a and b differ by exactly one substitution,
// insertion, deletion or swap of two neighbouring bytes.
func oneEdit(a, b string) bool {
	if len(a) < len(b) {
		a, b = b, a
	}
	if len(a)-len(b) > 1 || a == b {
		return false
	}
	i := 0
	for i < len(b) && a[i] == b[i] {
		i++
	}
	if len(a) != len(b) {
		return a[i+1:] == b[i:]
	}
	if a[i+1:] == b[i+1:] {
		return true
	}
	return i+1 < len(a) && a[i] == b[i+1] && a[i+1] == b[i] && a[i+2:] == b[i+2:]
}

// site is the brand's source for a host whose labels before the brand
// label are sub: its webmail after a mail label, its web search after a
// search label, its main site otherwise.
func (b brand) site(sub string) HostSource {
	for sub != "" {
		var l string
		l, sub, _ = strings.Cut(sub, ".")
		switch {
		case b.mail != "" && mailLabels[l]:
			return HostSource{b.mail, ChannelEmail}
		case b.search != "" && searchLabels[l]:
			return HostSource{b.search, ChannelSearch}
		}
	}
	return b.HostSource
}

// hostShape tells search engines and federated social hosts by their
// names: a label before the registrable domain that says search
// (suche.freenet.de, szukaj.onet.pl, websearch.example.jp), a registrable
// domain named for search (safesearch.example), a Mastodon-style host
// (mastodon.*, mstdn.*, *.social, a name ending in -todon), Pixelfed,
// Lemmy, Misskey and Friendica instances. label is the registrable
// domain's first label, sub the labels before it.
func hostShape(h, sub, label, reg string) (HostSource, bool) {
	for s := sub; s != ""; {
		var l string
		l, s, _ = strings.Cut(s, ".")
		if searchLabels[l] || searchWord(l) {
			return HostSource{engineName(reg), ChannelSearch}, true
		}
	}
	if searchWord(label) {
		return HostSource{label, ChannelSearch}, true
	}
	if strings.HasSuffix(h, ".social") {
		return HostSource{"mastodon", ChannelSocial}, true
	}
	for s := h; s != ""; {
		var l string
		l, s, _ = strings.Cut(s, ".")
		switch {
		case strings.Contains(l, "pixelfed"), l == "pix", l == "pixel":
			return HostSource{"pixelfed", ChannelSocial}, true
		case strings.HasPrefix(l, "mastodon"), strings.HasPrefix(l, "mstdn"), strings.HasPrefix(l, "masto-"),
			l == "masto", l == "toot", strings.HasSuffix(l, "todon"):
			return HostSource{"mastodon", ChannelSocial}, true
		case strings.HasPrefix(l, "lemmy"):
			return HostSource{"lemmy", ChannelSocial}, true
		case strings.HasPrefix(l, "misskey"):
			return HostSource{"misskey", ChannelSocial}, true
		case strings.HasPrefix(l, "friendica"):
			return HostSource{"friendica", ChannelSocial}, true
		}
	}
	return HostSource{}, false
}

// engineName names a search engine found by its shape rather than a
// table: the first label of its registrable domain (search.walhello.info
// → walhello), or the whole registrable domain when that label is too
// short to say anything (1.cz, search.rr.com → rr.com).
func engineName(reg string) string {
	if i := strings.IndexByte(reg, '.'); i >= 3 {
		return reg[:i]
	}
	return reg
}

// searchWord reports whether a host label names a search engine by
// including "search" or "suche" (presearch, safesearch, fixsuche), not
// as part of "research".
func searchWord(l string) bool {
	if i := strings.Index(l, "search"); i >= 0 {
		return !(i >= 2 && l[i-2:i] == "re")
	}
	return strings.Contains(l, "suche")
}

func allLetters(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 'a' || c > 'z' {
			return false
		}
	}
	return s != ""
}

// registrableDomain returns the registrable domain (eTLD+1) of a
// lowercase host by the Public Suffix List, private suffixes included
// ("shop.example.co.uk" → "example.co.uk", "ana.github.io" →
// "ana.github.io", "x.s3.amazonaws.com" → "x.s3.amazonaws.com"). IP
// addresses, single-label hosts (localhost) and hosts that are
// themselves a public suffix (co.uk, carrd.co) are returned as they are.
func registrableDomain(h string) string {
	reg, _ := registrable(h)
	return reg
}

// registrable is registrableDomain, and whether the suffix is one of the
// Public Suffix List's ICANN section (a country or generic top-level
// domain's) rather than a hosting company's (github.io, blogspot.com).
func registrable(h string) (reg string, icann bool) {
	if isIP(h) || strings.IndexByte(h, '.') < 0 {
		return h, false
	}
	// publicsuffix.EffectiveTLDPlusOne, without the error values it
	// allocates for the fallbacks above.
	ps, icann := publicsuffix.PublicSuffix(h)
	i := len(h) - len(ps) - 1
	if i <= 0 || h[i] != '.' {
		return h, icann
	}
	return h[strings.LastIndexByte(h[:i], '.')+1:], icann
}

// isIP reports whether h looks like an IPv4 or IPv6 address.
func isIP(h string) bool {
	if strings.IndexByte(h, ':') >= 0 {
		return true
	}
	for i := 0; i < len(h); i++ {
		if c := h[i]; c != '.' && (c < '0' || c > '9') {
			return false
		}
	}
	return true
}

// searchPage reports whether an http(s) Referer is a search results page:
// one of its first two path segments names one (/search, /results,
// /suche, /portal/search/…) and the query has a parameter with a value
// (the terms: q=, query=, p=, but small engines use any name: begriff=,
// string=, key=; a value with a letter, not a page number alone). Browsers send the full URL of a cross-site Referer only
// when the page asks for it; small search engines do, and their names are
// no table's. A site's own search (example.org/search?q=festival) is read
// as a search engine too: the page that linked here was a list of search
// results.
func searchPage(ref string) bool {
	i := strings.Index(ref, "://")
	if i < 0 {
		return false
	}
	rest := ref[i+3:]
	j := strings.IndexAny(rest, "/?#")
	if j < 0 || rest[j] != '/' {
		return false
	}
	rest = rest[j+1:]
	path, query, _ := strings.Cut(rest, "?")
	query, _, _ = strings.Cut(query, "#")
	var kb [keyBufLen]byte
	found := false
	for n := 0; n < 2 && path != "" && !found; n++ {
		var seg string
		seg, path, _ = strings.Cut(path, "/")
		k, full := lowerKey(strings.TrimSuffix(seg, ".php"), &kb)
		found = full && searchPaths[string(k)]
	}
	if !found {
		return false
	}
	for s := newQueryScanner(query); s.next(); {
		if k, full := lowerKey(s.key, &kb); !full || !notTermParams[string(k)] {
			if hasLetter(s.val) {
				return true
			}
		}
	}
	return false
}

// notTermParams are parameters of results pages that never hold the
// terms (a results page's page number or sort order alone is no search).
var notTermParams = map[string]bool{
	"page": true, "lang": true, "hl": true, "sort": true, "order": true, "start": true,
	"offset": true, "limit": true, "tab": true, "type": true, "format": true,
}

// hasLetter reports whether s has an ASCII letter or a %-escape (a term
// in another script): "2" is a page number, not a term.
func hasLetter(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i] | 0x20; 'a' <= c && c <= 'z' || s[i] == '%' {
			return true
		}
	}
	return false
}

// searchPaths are the path segments of search results pages.
var searchPaths = map[string]bool{
	"search": true, "results": true, "result": true, "serp": true, "web": true, "websearch": true,
	"s": true, "find": true, "query": true, "suche": true, "recherche": true, "buscar": true,
	"busca": true, "cerca": true, "ricerca": true, "zoeken": true, "szukaj": true, "sok": true,
	"haku": true, "poisk": true, "hledat": true,
}

// --- Reporting what was ignored ---

// report collects short notes about ignored input. Only the first few are
// kept, so a hostile request yields a bounded report.
type report struct {
	n    int
	msgs [4]string
}

func (r *report) add(msg string) {
	if r.n < len(r.msgs) {
		r.msgs[r.n] = msg
	}
	r.n++
}

func (r *report) String() string {
	switch {
	case r.n == 0:
		return ""
	case r.n == 1:
		return r.msgs[0]
	case r.n <= len(r.msgs):
		return strings.Join(r.msgs[:r.n], "; ")
	}
	return strings.Join(r.msgs[:], "; ") + "; and " + strconv.Itoa(r.n-len(r.msgs)) + " more"
}

// quoteClip quotes an attacker-supplied value for a report: at most 32
// bytes, escaped so that it cannot break a log line.
func quoteClip(s string) string {
	if len(s) > 32 {
		return strconv.QuoteToASCII(cutUTF8(s, 32)) + "…"
	}
	return strconv.QuoteToASCII(s)
}

// NormalizeUTMSource normalises a utm_source as Classify does (trimmed,
// lowercase, "ig" → instagram, "fb" → facebook, known hosts to their
// source name, at most MaxUTMLen bytes). ok is false for an empty or
// non-printable value. Campaign links are saved with it so that their
// figures meet the visits Classify counts.
func (c *Classifier) NormalizeUTMSource(v string) (string, bool) {
	v = strings.TrimSpace(v)
	if v == "" || !printableText(v) {
		return "", false
	}
	return c.normalizeUTMSource(cutUTF8(v, MaxUTMLen)), true
}

// NormalizeUTMSource normalises with the zero Classifier.
func NormalizeUTMSource(v string) (string, bool) {
	return (*Classifier)(nil).NormalizeUTMSource(v)
}

// IsTrackingParam reports whether a (decoded) query parameter name is one
// the classifier reads: a promoter parameter, a utm_* value or a click id.
// The middleware's CleanURL option strips exactly these.
func (c *Classifier) IsTrackingParam(name string) bool {
	for _, p := range c.promoterParams() {
		if strings.EqualFold(name, p) {
			return true
		}
	}
	k := []byte(strings.ToLower(name))
	if len(k) > 4 && string(k[:4]) == "utm_" {
		return true
	}
	_, ok := lookupClickID(k)
	return ok
}
