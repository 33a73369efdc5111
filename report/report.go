// Package report answers the organiser's questions from the aggregates the
// middleware and the webhook keep: event traffic by source, campaign
// (tracking) links with their sales, the promoters dashboard, an orders
// CSV export and a live stream of new sales. It offers a Go API
// (Reporter) and an HTTP API (Reporter.Handler: JSON, CSV and
// Server-Sent Events) that the host mounts behind its own admin login.
package report

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/tracklink/tracklink"
)

// Config configures a Reporter.
type Config struct {
	// Store is the registry and the reports: any Store (memstore,
	// redisstore, pgstore, tracklink.Compose). Required. The live stream
	// (Reporter.Stream) needs a store that also implements tracklink.Feed.
	Store Store
	// BaseURL is the shop's public origin, used to build promoter and
	// campaign links, e.g. "https://tickets.example". Required for the
	// link builders.
	BaseURL string
	// EventPage builds an event page's path from its slug. Default
	// "/events/{slug}".
	EventPage func(slug string) string
	// PromoterParam is the query parameter of promoter links. Default
	// "promoter".
	PromoterParam string
	// ShortLinkPrefix is the path of campaign short links, default "/t/".
	ShortLinkPrefix string
	// ConfirmTTL is how long a deletion confirmation token stays valid.
	// Default 5 minutes.
	ConfirmTTL time.Duration
	// ConfirmKey signs deletion confirmation tokens (at least 32 bytes).
	// Give every app instance the same key, so that the confirming call
	// may reach another instance than the first. Default: random per
	// process, which only suits a single instance.
	ConfirmKey []byte
	// Logger, default discards. Now, default time.Now.
	Logger *slog.Logger
	Now    func() time.Time
}

// Store is what a Reporter reads and edits: the registry and the reports.
// The live feed is optional (tracklink.Feed, found by type assertion).
type Store interface {
	tracklink.Registry
	tracklink.Reports
}

// Reporter is the reporting API. Create it with New.
type Reporter struct {
	cfg        Config
	store      Store
	confirmKey []byte
	done       chan struct{}
	closeOnce  sync.Once
}

// Errors a caller can act on (errors.Is).
var (
	ErrNotFound = errors.New("report: not found")
	// ErrInvalid wraps tracklink.ErrInvalid, as the stores' errors do.
	ErrInvalid         = fmt.Errorf("report: %w", tracklink.ErrInvalid)
	ErrConfirmRequired = errors.New("report: confirmation required")
)

// New validates cfg and returns a Reporter.
func New(cfg Config) (*Reporter, error) {
	if cfg.Store == nil {
		return nil, errors.New("report: Config.Store is required")
	}
	if cfg.BaseURL != "" {
		u, err := url.Parse(cfg.BaseURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, fmt.Errorf("report: Config.BaseURL %q is not an http(s) origin", cfg.BaseURL)
		}
		cfg.BaseURL = strings.TrimRight(cfg.BaseURL, "/")
	}
	if cfg.EventPage == nil {
		cfg.EventPage = func(slug string) string { return "/events/" + slug }
	}
	if cfg.PromoterParam == "" {
		cfg.PromoterParam = "promoter"
	}
	if cfg.ShortLinkPrefix == "" {
		cfg.ShortLinkPrefix = "/t/"
	}
	if cfg.ConfirmTTL <= 0 {
		cfg.ConfirmTTL = 5 * time.Minute
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	key := cfg.ConfirmKey
	switch {
	case len(key) == 0:
		key = make([]byte, 32)
		_, _ = rand.Read(key)
	case len(key) < 32:
		return nil, errors.New("report: Config.ConfirmKey needs at least 32 bytes")
	}
	return &Reporter{cfg: cfg, store: cfg.Store, confirmKey: key, done: make(chan struct{})}, nil
}

// Store returns the reporter's store.
func (rp *Reporter) Store() Store { return rp.store }

// PromoterLink returns a promoter's link for an event:
// BaseURL + EventPage(event) + "?promoter=" + code.
func (rp *Reporter) PromoterLink(event, code string) string {
	return rp.cfg.BaseURL + rp.cfg.EventPage(event) + "?" + url.Values{rp.cfg.PromoterParam: {code}}.Encode()
}

// CampaignURL returns a campaign link's full URL with its utm_* values.
func (rp *Reporter) CampaignURL(l tracklink.Link) string {
	q := url.Values{}
	for _, kv := range [...][2]string{{"utm_source", l.UTM.Source}, {"utm_medium", l.UTM.Medium},
		{"utm_campaign", l.UTM.Campaign}, {"utm_content", l.UTM.Content}, {"utm_term", l.UTM.Term}} {
		if kv[1] != "" {
			q.Set(kv[0], kv[1])
		}
	}
	return rp.cfg.BaseURL + rp.cfg.EventPage(l.Event) + "?" + q.Encode()
}

// ShortURL returns a campaign link's short URL (/t/{id}).
func (rp *Reporter) ShortURL(l tracklink.Link) string {
	return rp.cfg.BaseURL + rp.cfg.ShortLinkPrefix + l.ID
}

// SourceShare is one row of event traffic.
type SourceShare struct {
	tracklink.SourceCounts
	// Share is this source's part of the event's visits, in percent.
	Share float64 `json:"share"`
	// Label is a display name: the promoter's name, the campaign link's
	// name, or the source.
	Label string `json:"label"`
}

// Traffic is an event's visits by source.
type Traffic struct {
	Event   string           `json:"event"`
	From    string           `json:"from,omitempty"`
	To      string           `json:"to,omitempty"`
	Total   tracklink.Counts `json:"total"`
	Sources []SourceShare    `json:"sources"`
	// Channels sums the sources per channel.
	Channels []SourceShare `json:"channels"`
}

// EventTraffic returns visits (and sales) by source for an event over
// from..to (YYYY-MM-DD, inclusive; both "" for all time), with each
// source's share of visits in percent, sorted by visits.
func (rp *Reporter) EventTraffic(ctx context.Context, event, from, to string) (Traffic, error) {
	if !tracklink.ValidEvent(event) {
		return Traffic{}, fmt.Errorf("%w: event slug", ErrInvalid)
	}
	rows, err := rp.store.EventTraffic(ctx, event, from, to)
	if err != nil {
		return Traffic{}, err
	}
	t := Traffic{Event: event, From: from, To: to}
	byChannel := map[tracklink.Channel]*SourceShare{}
	labels, err := rp.labels(ctx, event)
	if err != nil {
		return Traffic{}, err
	}
	for _, r := range rows {
		t.Total.Add(r.Counts)
		label := r.Source
		if l, ok := labels[r.Key]; ok {
			label = l
		}
		t.Sources = append(t.Sources, SourceShare{SourceCounts: r, Label: label})
		c := byChannel[r.Channel]
		if c == nil {
			c = &SourceShare{SourceCounts: tracklink.SourceCounts{Key: string(r.Channel), Channel: r.Channel, Source: string(r.Channel)}, Label: string(r.Channel)}
			byChannel[r.Channel] = c
		}
		c.Counts.Add(r.Counts)
	}
	for _, c := range byChannel {
		t.Channels = append(t.Channels, *c)
	}
	share := func(s []SourceShare) {
		for i := range s {
			if t.Total.Visits > 0 {
				s[i].Share = float64(s[i].Visits) * 100 / float64(t.Total.Visits)
			}
		}
		sort.SliceStable(s, func(i, j int) bool {
			if s[i].Visits != s[j].Visits {
				return s[i].Visits > s[j].Visits
			}
			return s[i].Key < s[j].Key
		})
	}
	share(t.Sources)
	share(t.Channels)
	if t.Sources == nil {
		t.Sources = []SourceShare{}
		t.Channels = []SourceShare{}
	}
	return t, nil
}

// labels maps source keys of an event to display names: promoters' names
// and campaign links' names.
func (rp *Reporter) labels(ctx context.Context, event string) (map[string]string, error) {
	links, err := rp.store.Links(ctx, event)
	if err != nil {
		return nil, err
	}
	m := make(map[string]string, len(links))
	for _, l := range links {
		m[string(tracklink.ChannelCampaign)+"|"+l.UTM.Source] = l.Name
	}
	m[string(tracklink.ChannelPromoter)+"|"+tracklink.DeletedPromoter] = "deleted promoter"
	m[string(tracklink.ChannelReferral)+"|"+tracklink.OtherSource] = "other sources"
	return m, nil
}

// LinkRow is one row of the campaign links table.
type LinkRow struct {
	tracklink.Link
	URL      string           `json:"url"`
	ShortURL string           `json:"short_url"`
	Counts   tracklink.Counts `json:"counts"`
	// Conversion is orders per visit, in percent.
	Conversion float64 `json:"conversion"`
}

// CampaignLinks returns the campaign links of an event ("" for all) with
// their all-time visits, orders, tickets, revenue and conversion. A link's
// figures are those of its utm_source on its event, so links sharing a
// utm_source on one event share figures (SaveLink refuses that).
func (rp *Reporter) CampaignLinks(ctx context.Context, event string) ([]LinkRow, error) {
	links, err := rp.store.Links(ctx, event)
	if err != nil {
		return nil, err
	}
	traffic := map[string]map[string]tracklink.Counts{}
	rows := make([]LinkRow, 0, len(links))
	for _, l := range links {
		byKey, ok := traffic[l.Event]
		if !ok {
			srcs, err := rp.store.EventTraffic(ctx, l.Event, "", "")
			if err != nil {
				return nil, err
			}
			byKey = make(map[string]tracklink.Counts, len(srcs))
			for _, s := range srcs {
				byKey[s.Key] = s.Counts
			}
			traffic[l.Event] = byKey
		}
		c := byKey[string(tracklink.ChannelCampaign)+"|"+l.UTM.Source]
		row := LinkRow{Link: l, URL: rp.CampaignURL(l), ShortURL: rp.ShortURL(l), Counts: c}
		if c.Visits > 0 {
			row.Conversion = float64(c.Orders) * 100 / float64(c.Visits)
		}
		rows = append(rows, row)
	}
	return rows, nil
}

// CreateLink validates and saves a campaign link. ID is generated when
// empty; utm_source is normalised as the classifier normalises it, and must
// not be taken by another link of the same event.
func (rp *Reporter) CreateLink(ctx context.Context, l tracklink.Link) (tracklink.Link, error) {
	if !tracklink.ValidEvent(l.Event) {
		return l, fmt.Errorf("%w: event slug must be [a-z0-9-]{1,64}", ErrInvalid)
	}
	src, ok := tracklink.NormalizeUTMSource(l.UTM.Source)
	if !ok {
		return l, fmt.Errorf("%w: utm_source is required (printable, at most %d bytes)", ErrInvalid, tracklink.MaxUTMLen)
	}
	l.UTM.Source = src
	for _, p := range []*string{&l.UTM.Medium, &l.UTM.Campaign, &l.UTM.Content, &l.UTM.Term, &l.Name} {
		*p = strings.TrimSpace(*p)
		if len(*p) > tracklink.MaxUTMLen {
			return l, fmt.Errorf("%w: values are limited to %d bytes", ErrInvalid, tracklink.MaxUTMLen)
		}
	}
	if l.Name == "" {
		l.Name = src
	}
	existing, err := rp.store.Links(ctx, l.Event)
	if err != nil {
		return l, err
	}
	for _, e := range existing {
		if e.UTM.Source == l.UTM.Source && e.ID != l.ID {
			return l, fmt.Errorf("%w: event %s already has a link with utm_source %s (%s)", ErrInvalid, l.Event, src, e.ID)
		}
	}
	if l.ID == "" {
		l.ID = randomID(8)
	} else if !tracklink.ValidLinkID(l.ID) {
		return l, fmt.Errorf("%w: link id must be [A-Za-z0-9_-]{1,32}", ErrInvalid)
	}
	if l.Created.IsZero() {
		l.Created = rp.cfg.Now().UTC()
	}
	return l, rp.store.SaveLink(ctx, l)
}

// Summary are the totals across promoters (see tracklink.PromoterSummary).
type Summary = tracklink.PromoterSummary

// PromoterRow is a promoter with its all-time figures.
type PromoterRow struct {
	tracklink.Promoter
	Counts tracklink.Counts `json:"counts"`
	// ActiveEvents counts the events the promoter is active on (registered
	// with a link); sales through an "all events" link on other events
	// show in the detail's per-event figures.
	ActiveEvents int `json:"active_events"`
}

// Query filters and pages the promoter list.
type Query struct {
	// Search matches the code or the name, case-insensitively, anywhere.
	Search string
	// Group keeps the promoters in that group ("" for all).
	Group string
	// Offset and Limit page the list; Limit defaults to 50, at most 1000.
	Offset, Limit int
}

// MaxPageSize bounds Query.Limit.
const MaxPageSize = 1000

// Promoters returns one page of the promoters matching q, ordered by
// tickets sold (then code), and the summary over all that match.
//
// Without a search both come from aggregates the store maintains, so the
// cost follows the page size, not the number of promoters or the history.
// A search reads the registry (names are matched anywhere in the string,
// which no index serves) and sums the matches.
func (rp *Reporter) Promoters(ctx context.Context, q Query) ([]PromoterRow, Summary, error) {
	if q.Limit <= 0 {
		q.Limit = 50
	}
	if q.Limit > MaxPageSize || q.Offset < 0 || len(q.Search) > 200 || len(q.Group) > 100 {
		return nil, Summary{}, fmt.Errorf("%w: page or query out of range", ErrInvalid)
	}
	if strings.TrimSpace(q.Search) == "" {
		return rp.rankedPromoters(ctx, q)
	}
	return rp.searchPromoters(ctx, q)
}

func (rp *Reporter) rankedPromoters(ctx context.Context, q Query) ([]PromoterRow, Summary, error) {
	sum, err := rp.store.PromoterSummary(ctx, q.Group)
	if err != nil {
		return nil, Summary{}, err
	}
	ranked, err := rp.store.PromoterRanking(ctx, q.Group, q.Offset, q.Limit)
	if err != nil {
		return nil, Summary{}, err
	}
	rows := make([]PromoterRow, len(ranked))
	for i, r := range ranked {
		rows[i] = promoterRow(r.Promoter, r.Stats)
	}
	return rows, sum, nil
}

func (rp *Reporter) searchPromoters(ctx context.Context, q Query) ([]PromoterRow, Summary, error) {
	all, err := rp.store.Promoters(ctx)
	if err != nil {
		return nil, Summary{}, err
	}
	needle := strings.ToLower(strings.TrimSpace(q.Search))
	var picked []tracklink.Promoter
	for _, p := range all {
		if q.Group != "" && !slices.Contains(p.Groups, q.Group) {
			continue
		}
		if strings.Contains(p.Code, needle) || strings.Contains(strings.ToLower(p.Name), needle) {
			picked = append(picked, p)
		}
	}
	codes := make([]string, len(picked))
	for i, p := range picked {
		codes[i] = p.Code
	}
	stats, err := rp.store.PromoterStats(ctx, codes)
	if err != nil {
		return nil, Summary{}, err
	}
	byCode := make(map[string]tracklink.PromoterStats, len(stats))
	for _, s := range stats {
		byCode[s.Code] = s
	}
	sum := Summary{Group: q.Group, Promoters: len(picked)}
	rows := make([]PromoterRow, 0, len(picked))
	for _, p := range picked {
		s := byCode[p.Code]
		rows = append(rows, promoterRow(p, s))
		t := s.Totals
		t.Visits = 0 // as in the store's summaries: sales only
		sum.Totals.Add(t)
		if s.Totals.Orders > 0 {
			sum.Active++
		}
	}
	sort.SliceStable(rows, func(i, j int) bool {
		if rows[i].Counts.Tickets != rows[j].Counts.Tickets {
			return rows[i].Counts.Tickets > rows[j].Counts.Tickets
		}
		return rows[i].Code < rows[j].Code
	})
	if q.Offset >= len(rows) {
		return []PromoterRow{}, sum, nil
	}
	rows = rows[q.Offset:]
	if len(rows) > q.Limit {
		rows = rows[:q.Limit]
	}
	return rows, sum, nil
}

// promoterRow joins a promoter with its figures; its active events are
// the events it is registered on (one link each).
func promoterRow(p tracklink.Promoter, s tracklink.PromoterStats) PromoterRow {
	return PromoterRow{Promoter: p, Counts: s.Totals, ActiveEvents: len(p.Events)}
}

// RecentOrders returns up to limit orders of event ("" for all), newest
// first (limit 1 to MaxPageSize).
func (rp *Reporter) RecentOrders(ctx context.Context, event string, limit int) ([]tracklink.Attribution, error) {
	if event != "" && !tracklink.ValidEvent(event) || limit < 1 || limit > MaxPageSize {
		return nil, fmt.Errorf("%w: event or limit", ErrInvalid)
	}
	return rp.store.RecentOrders(ctx, event, limit)
}

// Detail is one promoter's panel.
type Detail struct {
	PromoterRow
	// Links are the promoter's links, one per event it is active on.
	Links map[string]string `json:"links"`
	// Events are the all-time figures per event.
	Events map[string]tracklink.Counts `json:"events"`
	// Series is the daily sales series from..to, zero-filled (an area chart).
	Series []tracklink.DayCounts `json:"series"`
}

// PromoterDetail returns a promoter's tickets, revenue, active events,
// links and daily sales over from..to (default: the last 30 days).
func (rp *Reporter) PromoterDetail(ctx context.Context, code, from, to string) (Detail, error) {
	code, ok := tracklink.NormalizePromoter(code)
	if !ok {
		return Detail{}, fmt.Errorf("%w: promoter code", ErrInvalid)
	}
	p, ok, err := rp.store.Promoter(ctx, code)
	if err != nil {
		return Detail{}, err
	}
	if !ok {
		return Detail{}, ErrNotFound
	}
	from, to = rp.defaultRange(from, to)
	stats, err := rp.store.PromoterStats(ctx, []string{code})
	if err != nil {
		return Detail{}, err
	}
	series, err := rp.store.PromoterDays(ctx, code, from, to)
	if err != nil {
		return Detail{}, err
	}
	d := Detail{Links: map[string]string{}, Events: map[string]tracklink.Counts{}, Series: series}
	var st tracklink.PromoterStats
	if len(stats) == 1 {
		st = stats[0]
		for e, c := range st.Events {
			d.Events[e] = c
		}
	}
	d.PromoterRow = promoterRow(p, st)
	for _, e := range p.Events {
		d.Links[e] = rp.PromoterLink(e, p.Code)
	}
	return d, nil
}

func (rp *Reporter) defaultRange(from, to string) (string, string) {
	if to == "" {
		to = tracklink.Day(rp.cfg.Now())
	}
	if from == "" {
		if t, err := time.Parse(time.DateOnly, to); err == nil {
			from = tracklink.Day(t.AddDate(0, 0, -29))
		}
	}
	return from, to
}

// SavePromoter validates and saves a promoter (create or update).
func (rp *Reporter) SavePromoter(ctx context.Context, p tracklink.Promoter) (tracklink.Promoter, error) {
	code, ok := tracklink.NormalizePromoter(p.Code)
	if !ok {
		return p, fmt.Errorf("%w: promoter code must be [A-Za-z0-9_-]{1,64}", ErrInvalid)
	}
	p.Code = code
	p.Name = strings.TrimSpace(p.Name)
	if p.Name == "" || len(p.Name) > 200 {
		return p, fmt.Errorf("%w: promoter name must be 1 to 200 bytes", ErrInvalid)
	}
	for _, e := range p.Events {
		if !tracklink.ValidEvent(e) {
			return p, fmt.Errorf("%w: event slug %q", ErrInvalid, e)
		}
	}
	for i, g := range p.Groups {
		var err error
		if p.Groups[i], err = groupName(g); err != nil {
			return p, err
		}
	}
	for i, c := range p.PromoCodes {
		c = strings.ToLower(strings.TrimSpace(c))
		if !tracklink.ValidPromoCode(c) {
			return p, fmt.Errorf("%w: promo codes must be 1 to %d bytes of printable ASCII", ErrInvalid, tracklink.MaxPromoterLen)
		}
		p.PromoCodes[i] = c
	}
	if old, ok, err := rp.store.Promoter(ctx, code); err != nil {
		return p, err
	} else if ok {
		p.Created = old.Created
	}
	if p.Created.IsZero() {
		p.Created = rp.cfg.Now().UTC()
	}
	return p, rp.store.SavePromoter(ctx, p)
}

// DeletePromoter permanently deletes a promoter and all its data, in two
// steps so that one accidental call cannot: called with an empty token it
// deletes nothing and returns ErrConfirmRequired with a token valid for
// ConfirmTTL; called again with that token it deletes.
func (rp *Reporter) DeletePromoter(ctx context.Context, code, token string) (string, error) {
	code, ok := tracklink.NormalizePromoter(code)
	if !ok {
		return "", fmt.Errorf("%w: promoter code", ErrInvalid)
	}
	if _, ok, err := rp.store.Promoter(ctx, code); err != nil {
		return "", err
	} else if !ok {
		return "", ErrNotFound
	}
	if token == "" {
		return rp.confirmToken(code, rp.cfg.Now().Add(rp.cfg.ConfirmTTL)), ErrConfirmRequired
	}
	if !rp.checkToken(code, token) {
		return rp.confirmToken(code, rp.cfg.Now().Add(rp.cfg.ConfirmTTL)), fmt.Errorf("%w: the token is wrong or expired", ErrConfirmRequired)
	}
	return "", rp.store.DeletePromoter(ctx, code)
}

// confirmToken is "expiry.mac": an HMAC over the action and code, so it
// confirms exactly one deletion and needs no server-side state.
func (rp *Reporter) confirmToken(code string, exp time.Time) string {
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], uint64(exp.Unix()))
	m := hmac.New(sha256.New, rp.confirmKey)
	m.Write([]byte("delete-promoter\x00" + code + "\x00"))
	m.Write(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:]) + "." + base64.RawURLEncoding.EncodeToString(m.Sum(nil)[:16])
}

func (rp *Reporter) checkToken(code, token string) bool {
	exp, _, ok := strings.Cut(token, ".")
	if !ok || len(token) > 100 {
		return false
	}
	raw, err := base64.RawURLEncoding.DecodeString(exp)
	if err != nil || len(raw) != 8 {
		return false
	}
	t := time.Unix(int64(binary.BigEndian.Uint64(raw)), 0)
	if rp.cfg.Now().After(t) {
		return false
	}
	return hmac.Equal([]byte(token), []byte(rp.confirmToken(code, t)))
}

func randomID(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)[:n+n/3]
}
