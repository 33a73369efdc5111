package main

import (
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/tracklink/tracklink"
	"github.com/tracklink/tracklink/report"
)

// The organiser's dashboard. The pages are rendered on the server from the
// report package's Go API; the forms, deletions, copy buttons and the live
// feed call the report package's HTTP API (mounted at /admin/api/) from
// static/admin.js.
//
// Security: the dashboard sits behind a password login that sets an
// HttpOnly, SameSite=Strict cookie holding a random server-side session
// id. State-changing API calls must also carry X-Requested-With (a custom
// header, which a cross-site page cannot send without a CORS preflight we
// never grant), and http.CrossOriginProtection rejects cross-origin
// POST/DELETE by Sec-Fetch-Site and Origin in front of everything.

const (
	adminCookie     = "demo_admin"
	adminSessionTTL = 12 * time.Hour
	// csrfHeader must be sent with every state-changing API call.
	csrfHeader = "X-Requested-With"
	csrfValue  = "tracklink-admin"
)

type adminSessions struct {
	mu       sync.Mutex
	sessions map[string]time.Time // id → expiry
}

func (s *adminSessions) create(now time.Time) string {
	id := randomID(24)
	s.mu.Lock()
	defer s.mu.Unlock()
	for k, exp := range s.sessions {
		if now.After(exp) {
			delete(s.sessions, k)
		}
	}
	s.sessions[id] = now.Add(adminSessionTTL)
	return id
}

func (s *adminSessions) valid(id string, now time.Time) bool {
	if id == "" {
		return false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	exp, ok := s.sessions[id]
	return ok && now.Before(exp)
}

func (s *adminSessions) delete(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.sessions, id)
}

func (a *App) isAdmin(r *http.Request) bool {
	c, err := r.Cookie(adminCookie)
	return err == nil && a.admin.valid(c.Value, a.opts.Now())
}

// authorizeAPI guards the report API: an admin session, and the custom
// header on anything but GET.
func (a *App) authorizeAPI(r *http.Request) bool {
	if !a.isAdmin(r) {
		return false
	}
	return r.Method == http.MethodGet || r.Header.Get(csrfHeader) == csrfValue
}

func (a *App) adminRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET /admin/login", a.loginPage)
	mux.HandleFunc("POST /admin/login", a.login)
	mux.HandleFunc("POST /admin/logout", a.logout)
	mux.Handle("GET /admin/{$}", a.requireAdmin(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/admin/traffic", http.StatusSeeOther)
	}))
	mux.Handle("GET /admin", http.RedirectHandler("/admin/", http.StatusMovedPermanently))
	mux.Handle("GET /admin/traffic", a.requireAdmin(a.trafficPage))
	mux.Handle("GET /admin/links", a.requireAdmin(a.linksPage))
	mux.Handle("GET /admin/promoters", a.requireAdmin(a.promotersPage))
	mux.Handle("GET /admin/promoters/{code}/panel", a.requireAdmin(a.panelFragment))
	mux.Handle("GET /admin/orders", a.requireAdmin(a.ordersPage))
	mux.Handle("/admin/api/", http.StripPrefix("/admin/api", a.reporter.Handler(a.authorizeAPI)))
}

func (a *App) requireAdmin(h http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !a.isAdmin(r) {
			http.Redirect(w, r, "/admin/login?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
			return
		}
		w.Header().Set("X-Frame-Options", "DENY")
		h(w, r)
	})
}

// safeNext keeps a post-login redirect on the dashboard (no open redirect).
func safeNext(next string) string {
	if !strings.HasPrefix(next, "/admin/") || strings.HasPrefix(next, "//") || strings.ContainsAny(next, "\\\r\n") {
		return "/admin/traffic"
	}
	return next
}

func (a *App) loginPage(w http.ResponseWriter, r *http.Request) {
	if a.isAdmin(r) {
		http.Redirect(w, r, safeNext(r.URL.Query().Get("next")), http.StatusSeeOther)
		return
	}
	a.render(w, r, http.StatusOK, "login", page{Title: "Organiser login", Data: safeNext(r.URL.Query().Get("next"))})
}

func (a *App) login(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 4<<10)
	if err := r.ParseForm(); err != nil {
		http.Error(w, "bad form", http.StatusBadRequest)
		return
	}
	next := safeNext(r.PostForm.Get("next"))
	// Compare hashes in constant time: neither the content nor the length
	// of the password leaks through timing.
	got := sha256.Sum256([]byte(r.PostForm.Get("password")))
	want := sha256.Sum256([]byte(a.opts.AdminPassword))
	if subtle.ConstantTimeCompare(got[:], want[:]) != 1 {
		time.Sleep(300 * time.Millisecond) // slow down guessing a little
		a.render(w, r, http.StatusUnauthorized, "login", page{Title: "Organiser login", Error: "Wrong password.", Data: next})
		return
	}
	http.SetCookie(w, &http.Cookie{
		Name: adminCookie, Value: a.admin.create(a.opts.Now()), Path: "/admin",
		HttpOnly: true, Secure: !a.opts.Insecure, SameSite: http.SameSiteStrictMode,
		MaxAge: int(adminSessionTTL / time.Second),
	})
	http.Redirect(w, r, next, http.StatusSeeOther)
}

func (a *App) logout(w http.ResponseWriter, r *http.Request) {
	if c, err := r.Cookie(adminCookie); err == nil {
		a.admin.delete(c.Value)
	}
	http.SetCookie(w, &http.Cookie{Name: adminCookie, Path: "/admin", MaxAge: -1, HttpOnly: true,
		Secure: !a.opts.Insecure, SameSite: http.SameSiteStrictMode})
	http.Redirect(w, r, "/admin/login", http.StatusSeeOther)
}

// fail renders a store error as a page.
func (a *App) adminFail(w http.ResponseWriter, r *http.Request, err error) {
	status := http.StatusServiceUnavailable
	msg := "The tracking store did not answer. Try again in a moment."
	if errors.Is(err, report.ErrNotFound) {
		status, msg = http.StatusNotFound, "Not found."
	} else if errors.Is(err, report.ErrInvalid) {
		status, msg = http.StatusBadRequest, err.Error()
	} else {
		a.log.Warn("dashboard", "path", r.URL.Path, "error", err)
	}
	http.Error(w, msg, status)
}

// ---- Event traffic ----

type rangeOpt struct {
	Key, Label string
	Days       int // 0: all time
}

var ranges = []rangeOpt{{"7d", "Last 7 days", 7}, {"30d", "Last 30 days", 30}, {"all", "All time", 0}}

type sourceRow struct {
	report.SourceShare
	Label string
	Bar   float64 // bar length, 0-100
}

type trafficView struct {
	Event      Event
	Range      rangeOpt
	Ranges     []rangeOpt
	Traffic    report.Traffic
	Rows       []sourceRow
	Donut      []donutSegment
	Daily      areaChart
	Conversion float64
	Overview   []eventTotals
}

type eventTotals struct {
	Event  Event
	Totals tracklink.Counts
	Active bool
}

func (a *App) trafficPage(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	q := r.URL.Query()
	ev, ok := a.bySlug[q.Get("event")]
	if !ok {
		ev = a.events[0]
	}
	rg := ranges[1]
	for _, x := range ranges {
		if x.Key == q.Get("range") {
			rg = x
		}
	}
	now := a.opts.Now()
	from, to := "", ""
	if rg.Days > 0 {
		from, to = tracklink.Day(now.AddDate(0, 0, -(rg.Days-1))), tracklink.Day(now)
	}
	t, err := a.reporter.EventTraffic(ctx, ev.Slug, from, to)
	if err != nil {
		a.adminFail(w, r, err)
		return
	}
	names, err := a.promoterNames(r)
	if err != nil {
		a.adminFail(w, r, err)
		return
	}
	v := trafficView{Event: ev, Range: rg, Ranges: ranges, Traffic: t}
	var top int64
	for _, s := range t.Sources {
		top = max(top, s.Visits)
	}
	for _, s := range t.Sources {
		label := sourceLabel(s.Channel, s.Source, s.Label, names)
		row := sourceRow{SourceShare: s, Label: label}
		if top > 0 {
			row.Bar = float64(s.Visits) * 100 / float64(top)
		}
		v.Rows = append(v.Rows, row)
	}
	v.Donut = donut(t.Channels)
	if t.Total.Visits > 0 {
		v.Conversion = float64(t.Total.Orders) * 100 / float64(t.Total.Visits)
	}
	dFrom, dTo := from, to
	if rg.Days == 0 {
		dFrom, dTo = tracklink.Day(now.AddDate(0, 0, -29)), tracklink.Day(now)
	}
	days, err := a.store.EventDays(ctx, ev.Slug, dFrom, dTo)
	if err != nil {
		a.adminFail(w, r, err)
		return
	}
	v.Daily = newAreaChart(days, func(d tracklink.DayCounts) int64 { return d.Visits }, "visits")
	for _, e := range a.events {
		all, err := a.store.EventTraffic(ctx, e.Slug, from, to)
		if err != nil {
			a.adminFail(w, r, err)
			return
		}
		et := eventTotals{Event: e, Active: e.Slug == ev.Slug}
		for _, s := range all {
			et.Totals.Add(s.Counts)
		}
		v.Overview = append(v.Overview, et)
	}
	a.render(w, r, http.StatusOK, "traffic", page{Title: "Event traffic", Section: "traffic", Data: v})
}

// sourceLabel names a traffic row: the promoter's name, the campaign
// link's name, or the website.
func sourceLabel(ch tracklink.Channel, source, label string, names map[string]string) string {
	switch ch {
	case tracklink.ChannelPromoter:
		if source == tracklink.DeletedPromoter {
			return "Deleted promoter"
		}
		if n, ok := names[source]; ok {
			return n
		}
	case tracklink.ChannelCampaign:
		if label != "" && label != source {
			return label
		}
	}
	if s, ok := sourceNames[source]; ok {
		return s
	}
	return source
}

var sourceNames = map[string]string{
	"instagram": "Instagram", "facebook": "Facebook", "google": "Google", "linktree": "Linktree",
	"tiktok": "TikTok", "x": "X", "youtube": "YouTube", "whatsapp": "WhatsApp", "bing": "Bing",
	"direct": "Direct", "unknown": "Unknown", "platform": "Our own site", "newsletter": "Newsletter",
	"duckduckgo": "DuckDuckGo", "messenger": "Messenger", "telegram": "Telegram", "gmail": "Gmail",
}

func (a *App) promoterNames(r *http.Request) (map[string]string, error) {
	ps, err := a.store.Promoters(r.Context())
	if err != nil {
		return nil, err
	}
	m := make(map[string]string, len(ps))
	for _, p := range ps {
		m[p.Code] = p.Name
	}
	return m, nil
}

// ---- Tracking links ----

type linksView struct {
	Filter  string
	Rows    []report.LinkRow
	Created *report.LinkRow
}

func (a *App) linksPage(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	filter := q.Get("event")
	if _, ok := a.bySlug[filter]; !ok {
		filter = ""
	}
	rows, err := a.reporter.CampaignLinks(r.Context(), filter)
	if err != nil {
		a.adminFail(w, r, err)
		return
	}
	slices.Reverse(rows) // newest first
	v := linksView{Filter: filter, Rows: rows}
	if id := q.Get("created"); id != "" {
		for i := range rows {
			if rows[i].ID == id {
				v.Created = &rows[i]
			}
		}
	}
	a.render(w, r, http.StatusOK, "links", page{Title: "Tracking links", Section: "links", Data: v})
}

// ---- Promoters ----

type promotersView struct {
	Search  string
	Group   string
	Groups  []string
	Rows    []report.PromoterRow
	Summary report.Summary
	Detail  *panelView
}

type panelView struct {
	report.Detail
	Chart  areaChart
	Events []panelEvent
}

type panelEvent struct {
	Event  Event
	Link   string
	Counts tracklink.Counts
}

func (a *App) promotersPage(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	v := promotersView{Search: strings.TrimSpace(q.Get("q")), Group: q.Get("group")}
	if len(v.Search) > 100 || len(v.Group) > 100 {
		http.Error(w, "query too long", http.StatusBadRequest)
		return
	}
	var err error
	if v.Groups, err = a.store.Groups(r.Context()); err != nil {
		a.adminFail(w, r, err)
		return
	}
	if v.Rows, v.Summary, err = a.reporter.Promoters(r.Context(), report.Query{Search: v.Search, Group: v.Group}); err != nil {
		a.adminFail(w, r, err)
		return
	}
	if code := q.Get("code"); code != "" {
		d, err := a.panel(r, code)
		if err != nil && !errors.Is(err, report.ErrNotFound) && !errors.Is(err, report.ErrInvalid) {
			a.adminFail(w, r, err)
			return
		}
		v.Detail = d
	}
	a.render(w, r, http.StatusOK, "promoters", page{Title: "Promoters", Section: "promoters", Data: v})
}

func (a *App) panel(r *http.Request, code string) (*panelView, error) {
	d, err := a.reporter.PromoterDetail(r.Context(), code, "", "")
	if err != nil {
		return nil, err
	}
	pv := &panelView{Detail: d}
	pv.Chart = newAreaChart(d.Series, func(d tracklink.DayCounts) int64 { return d.Tickets }, "tickets")
	seen := map[string]bool{}
	for _, e := range a.events {
		link, registered := d.Links[e.Slug]
		c, sold := d.Events[e.Slug]
		if registered || sold {
			pv.Events = append(pv.Events, panelEvent{Event: e, Link: link, Counts: c})
			seen[e.Slug] = true
		}
	}
	// Events that are not in the catalogue (any more) still show.
	var rest []string
	for slug := range d.Events {
		if !seen[slug] {
			rest = append(rest, slug)
		}
	}
	sort.Strings(rest)
	for _, slug := range rest {
		pv.Events = append(pv.Events, panelEvent{Event: Event{Slug: slug, Name: slug}, Link: d.Links[slug], Counts: d.Events[slug]})
	}
	return pv, nil
}

// panelFragment serves the detail panel alone, for the script to swap in
// (on a click, and live when a sale arrives).
func (a *App) panelFragment(w http.ResponseWriter, r *http.Request) {
	d, err := a.panel(r, r.PathValue("code"))
	if err != nil {
		a.adminFail(w, r, err)
		return
	}
	t := a.pages["panel"]
	var buf strings.Builder
	if err := t.ExecuteTemplate(&buf, "panel", d); err != nil {
		a.log.Error("render panel", "error", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	_, _ = w.Write([]byte(buf.String()))
}

// ---- Orders ----

// recentOrders is how many orders the orders page lists.
const recentOrders = 50

type ordersView struct {
	Recent []orderRow
	Total  int
	Counts tracklink.Counts
}

type orderRow struct {
	tracklink.Attribution
	Promoter string // name
}

func (a *App) ordersPage(w http.ResponseWriter, r *http.Request) {
	names, err := a.promoterNames(r)
	if err != nil {
		a.adminFail(w, r, err)
		return
	}
	v := ordersView{}
	ring := make([]tracklink.Attribution, 0, recentOrders)
	// The store lists orders oldest first; keep the newest in a ring. (A
	// "newest first, with a limit" query would save the walk.)
	err = a.store.Orders(r.Context(), "", func(at tracklink.Attribution) error {
		v.Total++
		if !at.Refunded {
			v.Counts.Add(tracklink.Counts{Orders: 1, Tickets: int64(at.Tickets), Excluded: int64(at.Excluded),
				Revenue: map[string]int64{at.Currency: at.Revenue}})
		}
		if len(ring) == recentOrders {
			copy(ring, ring[1:])
			ring = ring[:recentOrders-1]
		}
		ring = append(ring, at)
		return nil
	})
	if err != nil {
		a.adminFail(w, r, err)
		return
	}
	for i := len(ring) - 1; i >= 0; i-- {
		at := ring[i]
		v.Recent = append(v.Recent, orderRow{Attribution: at, Promoter: names[at.Touch.Promoter]})
	}
	a.render(w, r, http.StatusOK, "orders", page{Title: "Orders", Section: "orders", Data: v})
}
