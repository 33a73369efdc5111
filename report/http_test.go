package report_test

// Tests of the JSON API (Reporter.Handler).
//
// apiRoutes has one entry per route Handler serves. TestAPIRouteTable
// holds it to the patterns Handler really registers (report.RoutePatterns
// reads the table Handler is built from) and to the list in Handler's doc
// comment, so a route added without an entry here fails that test. Each
// entry carries a request the route answers, which the refusal, body and
// store-error tests send to every route, and the route's own test, which
// TestAPIRoutes runs and which must get a 2xx from that route (checked
// through the pattern the mux matched).

import (
	"bufio"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tracklink/tracklink"
	"github.com/tracklink/tracklink/adapters/memstore"
	"github.com/tracklink/tracklink/report"
)

type apiRoute struct {
	pattern string
	// sample is "METHOD path" of a request the route serves on the
	// fixture; body, when set, is sent as JSON.
	sample, body string
	test         func(t *testing.T, a *api)
}

var apiRoutes = []apiRoute{
	{"GET /traffic/{event}", "GET /traffic/summer-fest", "", testTraffic},
	{"GET /links", "GET /links", "", testLinks},
	{"POST /links", "POST /links", `{"event":"winter-gala","name":"Press","utm":{"source":"press"}}`, testCreateLink},
	{"DELETE /links/{id}", "DELETE /links/news", "", testDeleteLink},
	{"GET /promoters", "GET /promoters", "", testPromoters},
	{"POST /promoters", "POST /promoters", `{"code":"dee","name":"Dee Jay"}`, testSavePromoter},
	{"GET /promoters/{code}", "GET /promoters/ana", "", testPromoter},
	{"DELETE /promoters/{code}", "DELETE /promoters/ana", "", testDeletePromoter},
	{"GET /groups", "GET /groups", "", testGroups},
	{"POST /groups", "POST /groups", `{"name":"press"}`, testCreateGroup},
	{"PATCH /groups/{name}", "PATCH /groups/vip", `{"name":"VIP crew"}`, testRenameGroup},
	{"DELETE /groups/{name}", "DELETE /groups/vip", "", testDeleteGroup},
	{"GET /orders", "GET /orders", "", testRecentOrders},
	{"GET /orders.csv", "GET /orders.csv", "", testOrdersCSV},
	{"GET /stream", "GET /stream", "", testStream},
}

func (rt apiRoute) request() *http.Request {
	method, path, _ := strings.Cut(rt.sample, " ")
	req := httptest.NewRequest(method, path, strings.NewReader(rt.body))
	if rt.body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	return req
}

// api is the handler over a fixture (see fixture) on a faultyStore, and
// the patterns that answered 2xx.
type api struct {
	t  *testing.T
	s  *faultyStore
	rp *report.Reporter
	h  http.Handler

	mu     sync.Mutex
	served map[string]bool
}

func newAPI(t *testing.T) *api {
	s := &faultyStore{Store: memstore.New()}
	return newAPIOn(t, s, fixture(t, s))
}

// newAPIOn wraps rp's handler (authorize allows all) so that each
// request's matched pattern and status are noted.
func newAPIOn(t *testing.T, s *faultyStore, rp *report.Reporter) *api {
	a := &api{t: t, s: s, rp: rp, served: map[string]bool{}}
	h := rp.Handler(allow)
	a.h = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sw := &statusWriter{ResponseWriter: w}
		h.ServeHTTP(sw, r)
		if sw.code == 0 || sw.code/100 == 2 {
			a.mu.Lock()
			a.served[r.Pattern] = true // ServeMux sets r.Pattern on the request it is given
			a.mu.Unlock()
		}
	})
	return a
}

func (a *api) servedOK(pattern string) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.served[pattern]
}

type statusWriter struct {
	http.ResponseWriter
	code int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.code == 0 {
		w.code = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(p []byte) (int, error) {
	if w.code == 0 {
		w.code = http.StatusOK
	}
	return w.ResponseWriter.Write(p)
}

func (w *statusWriter) Flush() { w.ResponseWriter.(http.Flusher).Flush() }

// do serves one request; a non-empty body is sent as JSON.
func (a *api) do(method, path, body string) *http.Response {
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	rec := httptest.NewRecorder()
	a.h.ServeHTTP(rec, req)
	return rec.Result()
}

// wantJSON checks res has status code and a JSON body, which it decodes
// into v (unless nil, and after zeroing it) and returns. Successes must not be cached.
func wantJSON(t *testing.T, res *http.Response, code int, v any) string {
	t.Helper()
	body, err := io.ReadAll(res.Body)
	require.NoError(t, err)
	require.Equal(t, code, res.StatusCode, "body: %s", body)
	require.Equal(t, "application/json", res.Header.Get("Content-Type"), "body: %s", body)
	if code/100 == 2 {
		assert.Equal(t, "no-store", res.Header.Get("Cache-Control"))
	}
	if v != nil {
		reflect.ValueOf(v).Elem().SetZero() // decode afresh: Unmarshal would merge into what v held
		require.NoError(t, json.Unmarshal(body, v), "body: %s", body)
	}
	return string(body)
}

// wantError checks res is a JSON error with status code and returns its
// message.
func wantError(t *testing.T, res *http.Response, code int) string {
	t.Helper()
	var e map[string]string
	wantJSON(t, res, code, &e)
	require.NotEmpty(t, e["error"], "an error body says what is wrong")
	return e["error"]
}

// wantNoContent checks a 204 with an empty body.
func wantNoContent(t *testing.T, res *http.Response) {
	t.Helper()
	body, _ := io.ReadAll(res.Body)
	require.Equal(t, http.StatusNoContent, res.StatusCode, "body: %s", body)
	assert.Empty(t, body)
}

type promotersPage struct {
	Summary   report.Summary       `json:"summary"`
	Promoters []report.PromoterRow `json:"promoters"`
}

func (p promotersPage) codes() []string {
	codes := []string{}
	for _, r := range p.Promoters {
		codes = append(codes, r.Code)
	}
	return codes
}

func (a *api) groups(t *testing.T) []string {
	t.Helper()
	var gs []string
	wantJSON(t, a.do("GET", "/groups", ""), 200, &gs)
	return gs
}

func (a *api) promoter(t *testing.T, code string) report.Detail {
	t.Helper()
	var d report.Detail
	wantJSON(t, a.do("GET", "/promoters/"+code, ""), 200, &d)
	return d
}

func (a *api) links(t *testing.T, query string) []report.LinkRow {
	t.Helper()
	var rows []report.LinkRow
	wantJSON(t, a.do("GET", "/links"+query, ""), 200, &rows)
	return rows
}

func linkIDs(rows []report.LinkRow) []string {
	ids := []string{}
	for _, r := range rows {
		ids = append(ids, r.ID)
	}
	return ids
}

// TestAPIRouteTable: apiRoutes, the routes Handler serves and the routes
// its doc comment lists are the same list.
func TestAPIRouteTable(t *testing.T) {
	var tested []string
	for _, rt := range apiRoutes {
		tested = append(tested, rt.pattern)
	}
	assert.Equal(t, report.RoutePatterns(), tested, "every route Handler serves needs an entry in apiRoutes")
	assert.Equal(t, documentedRoutes(t), tested, "Handler's doc comment lists every route it serves")
}

// documentedRoutes reads "METHOD /path" off the route lines of Handler's
// doc comment in http.go.
func documentedRoutes(t *testing.T) []string {
	f, err := parser.ParseFile(token.NewFileSet(), "http.go", nil, parser.ParseComments)
	require.NoError(t, err)
	line := regexp.MustCompile(`^\s*(GET|HEAD|POST|PUT|PATCH|DELETE)\s+(/[^\s?]*)`)
	var routes []string
	for _, d := range f.Decls {
		fn, ok := d.(*ast.FuncDecl)
		if !ok || fn.Name.Name != "Handler" || fn.Recv == nil {
			continue
		}
		for l := range strings.SplitSeq(fn.Doc.Text(), "\n") {
			if m := line.FindStringSubmatch(l); m != nil {
				routes = append(routes, m[1]+" "+m[2])
			}
		}
	}
	require.NotEmpty(t, routes, "no route list in Handler's doc comment")
	return routes
}

// TestAPIRoutes runs each route's test on a fresh fixture.
func TestAPIRoutes(t *testing.T) {
	for _, rt := range apiRoutes {
		t.Run(rt.pattern, func(t *testing.T) {
			a := newAPI(t)
			rt.test(t, a)
			assert.True(t, a.servedOK(rt.pattern), "the test of %s never got a 2xx from that route", rt.pattern)
		})
	}
}

func testTraffic(t *testing.T, a *api) {
	var tr report.Traffic
	wantJSON(t, a.do("GET", "/traffic/summer-fest", ""), 200, &tr)
	assert.Equal(t, "summer-fest", tr.Event)
	assert.EqualValues(t, 13, tr.Total.Visits)
	assert.EqualValues(t, 5, tr.Total.Orders)
	assert.EqualValues(t, 11, tr.Total.Tickets)
	assert.Equal(t, map[string]int64{"EUR": 27500}, tr.Total.Revenue)
	require.NotEmpty(t, tr.Sources)
	assert.Equal(t, "promoter|ana", tr.Sources[0].Key, "sorted by visits")
	assert.EqualValues(t, 5, tr.Sources[0].Visits)
	assert.InDelta(t, 5*100.0/13, tr.Sources[0].Share, 0.001)
	assert.Equal(t, "Newsletter", find(tr.Sources, "campaign|newsletter").Label)
	assert.EqualValues(t, 7, find(tr.Channels, "promoter").Visits)

	wantJSON(t, a.do("GET", "/traffic/summer-fest?from=2026-11-02&to=2026-11-02", ""), 200, &tr)
	assert.Equal(t, "2026-11-02", tr.From)
	assert.Equal(t, "2026-11-02", tr.To)
	assert.EqualValues(t, 1, tr.Total.Visits)
	assert.EqualValues(t, 1, find(tr.Sources, "promoter|ana").Orders)

	// An event without visits has empty lists, not nulls.
	body := wantJSON(t, a.do("GET", "/traffic/spring-fair", ""), 200, &tr)
	assert.Zero(t, tr.Total.Visits)
	assert.Contains(t, body, `"sources":[]`)
	assert.Contains(t, body, `"channels":[]`)

	for _, path := range []string{
		"/traffic/Bad%20Slug",
		"/traffic/summer-fest?from=2026-11-02",               // from without to
		"/traffic/summer-fest?from=2026-13-01&to=2026-13-02", // no such month
		"/traffic/summer-fest?from=yesterday&to=today",       // not dates
		"/traffic/" + strings.Repeat("a", 65),                // slug too long
	} {
		wantError(t, a.do("GET", path, ""), http.StatusBadRequest)
	}
}

func testLinks(t *testing.T, a *api) {
	rows := a.links(t, "")
	require.Len(t, rows, 2)
	byID := map[string]report.LinkRow{}
	for _, r := range rows {
		byID[r.ID] = r
	}
	news := byID["news"]
	assert.Equal(t, "summer-fest", news.Event)
	assert.Equal(t, "Newsletter", news.Name)
	assert.Equal(t, tracklink.UTM{Source: "newsletter", Medium: "email"}, news.UTM)
	assert.EqualValues(t, 3, news.Counts.Visits)
	assert.EqualValues(t, 1, news.Counts.Orders)
	assert.Equal(t, map[string]int64{"EUR": 2500}, news.Counts.Revenue)
	assert.InDelta(t, 100.0/3, news.Conversion, 0.001)
	assert.Equal(t, "https://tickets.example/events/summer-fest?utm_medium=email&utm_source=newsletter", news.URL)
	assert.Equal(t, "https://tickets.example/t/news", news.ShortURL)
	assert.Equal(t, "instagram", byID["igad"].UTM.Source)
	assert.Zero(t, byID["igad"].Counts.Visits)

	assert.Len(t, a.links(t, "?event=summer-fest"), 2)
	body := wantJSON(t, a.do("GET", "/links?event=winter-gala", ""), 200, nil)
	assert.Equal(t, "[]\n", body, "no links is an empty list")

	wantError(t, a.do("GET", "/links?event=Bad%20Slug", ""), http.StatusBadRequest)
}

func testCreateLink(t *testing.T, a *api) {
	var row report.LinkRow
	// id and created are the server's to set.
	wantJSON(t, a.do("POST", "/links", `{"id":"mine","created":"2020-01-01T00:00:00Z","event":"winter-gala","name":" Press ",
		"utm":{"source":" Press ","medium":"article","campaign":"launch"}}`), http.StatusCreated, &row)
	assert.NotEqual(t, "mine", row.ID)
	assert.True(t, tracklink.ValidLinkID(row.ID), row.ID)
	assert.Equal(t, "winter-gala", row.Event)
	assert.Equal(t, "Press", row.Name)
	assert.Equal(t, tracklink.UTM{Source: "press", Medium: "article", Campaign: "launch"}, row.UTM)
	assert.True(t, row.Created.Equal(day0.AddDate(0, 0, 2)), "created at the reporter's now, got %v", row.Created)
	assert.Equal(t, "https://tickets.example/events/winter-gala?utm_campaign=launch&utm_medium=article&utm_source=press", row.URL)
	assert.Equal(t, "https://tickets.example/t/"+row.ID, row.ShortURL)

	// It is listed, and its short link redirects.
	rows := a.links(t, "?event=winter-gala")
	require.Len(t, rows, 1)
	assert.Equal(t, row.ID, rows[0].ID)
	assert.Equal(t, "Press", rows[0].Name)
	rec := httptest.NewRecorder()
	a.rp.ShortLinkHandler().ServeHTTP(rec, httptest.NewRequest("GET", "/t/"+row.ID, nil))
	assert.Equal(t, http.StatusFound, rec.Code)
	assert.Equal(t, "/events/winter-gala?utm_campaign=launch&utm_medium=article&utm_source=press", rec.Header().Get("Location"))

	// A name defaults to the source.
	wantJSON(t, a.do("POST", "/links", `{"event":"winter-gala","utm":{"source":"radio"}}`), http.StatusCreated, &row)
	assert.Equal(t, "radio", row.Name)

	for _, body := range []string{
		`{"event":"winter-gala","utm":{"source":"PRESS"}}`,                                                            // utm_source taken on this event
		`{"event":"winter-gala","name":"x"}`,                                                                          // no utm_source
		`{"event":"Winter Gala","utm":{"source":"tv"}}`,                                                               // bad slug
		`{"event":"winter-gala","utm":{"source":"tv","medium":"` + strings.Repeat("m", tracklink.MaxUTMLen+1) + `"}}`, // too long
	} {
		wantError(t, a.do("POST", "/links", body), http.StatusBadRequest)
	}
	assert.Len(t, a.links(t, "?event=winter-gala"), 2, "refused links are not saved")
}

func testDeleteLink(t *testing.T, a *api) {
	wantNoContent(t, a.do("DELETE", "/links/news", ""))
	assert.Equal(t, []string{"igad"}, linkIDs(a.links(t, "")))

	// Its figures stay with its utm_source, now labelled by the source.
	var tr report.Traffic
	wantJSON(t, a.do("GET", "/traffic/summer-fest", ""), 200, &tr)
	news := find(tr.Sources, "campaign|newsletter")
	assert.EqualValues(t, 3, news.Visits)
	assert.Equal(t, "newsletter", news.Label)

	// The short link is gone.
	rec := httptest.NewRecorder()
	a.rp.ShortLinkHandler().ServeHTTP(rec, httptest.NewRequest("GET", "/t/news", nil))
	assert.Equal(t, http.StatusNotFound, rec.Code)

	wantError(t, a.do("DELETE", "/links/news", ""), http.StatusNotFound)    // already deleted
	wantError(t, a.do("DELETE", "/links/no.such", ""), http.StatusNotFound) // not an id
	wantError(t, a.do("DELETE", "/links/"+strings.Repeat("x", tracklink.MaxLinkIDLen+1), ""), http.StatusNotFound)
	assert.Equal(t, []string{"igad"}, linkIDs(a.links(t, "")))
}

func testPromoters(t *testing.T, a *api) {
	var pg promotersPage
	wantJSON(t, a.do("GET", "/promoters", ""), 200, &pg)
	assert.Equal(t, []string{"bob", "ana", "cleo"}, pg.codes(), "by tickets")
	assert.Equal(t, 3, pg.Summary.Promoters)
	assert.Equal(t, 3, pg.Summary.Active)
	assert.EqualValues(t, 9, pg.Summary.Totals.Tickets)
	assert.Equal(t, map[string]int64{"EUR": 25500}, pg.Summary.Totals.Revenue)
	assert.EqualValues(t, 4, pg.Promoters[0].Counts.Tickets)
	assert.Equal(t, "Ana Pérez", pg.Promoters[1].Name)
	assert.Equal(t, 2, pg.Promoters[1].ActiveEvents)

	wantJSON(t, a.do("GET", "/promoters?group=vip", ""), 200, &pg)
	assert.Equal(t, []string{"bob", "cleo"}, pg.codes())
	assert.Equal(t, "vip", pg.Summary.Group)
	assert.EqualValues(t, 6, pg.Summary.Totals.Tickets)

	wantJSON(t, a.do("GET", "/promoters?q=AN", ""), 200, &pg)
	assert.Equal(t, []string{"ana"}, pg.codes())
	wantJSON(t, a.do("GET", "/promoters?q=b&group=street+team", ""), 200, &pg)
	assert.Equal(t, []string{"bob"}, pg.codes())

	wantJSON(t, a.do("GET", "/promoters?offset=1&limit=1", ""), 200, &pg)
	assert.Equal(t, []string{"ana"}, pg.codes())
	assert.Equal(t, 3, pg.Summary.Promoters, "the summary covers every match, not the page")

	body := wantJSON(t, a.do("GET", "/promoters?q=zzz", ""), 200, &pg)
	assert.Contains(t, body, `"promoters":[]`)
	body = wantJSON(t, a.do("GET", "/promoters?offset=10", ""), 200, &pg)
	assert.Contains(t, body, `"promoters":[]`)

	for _, q := range []string{"limit=x", "offset=-1", "limit=1001", "limit=1234567890", "offset=1.5", "q=" + strings.Repeat("a", 201)} {
		wantError(t, a.do("GET", "/promoters?"+q, ""), http.StatusBadRequest)
	}
}

func testSavePromoter(t *testing.T, a *api) {
	var p struct {
		tracklink.Promoter
		Links map[string]string `json:"links"`
	}
	wantJSON(t, a.do("POST", "/promoters", `{"code":"Dee","name":" Dee Jay ","groups":[" press "],
		"events":["winter-gala","summer-fest"],"promo_codes":[" DEE5 "]}`), 200, &p)
	assert.Equal(t, "dee", p.Code)
	assert.Equal(t, "Dee Jay", p.Name)
	assert.Equal(t, []string{"press"}, p.Groups)
	assert.Equal(t, []string{"dee5"}, p.PromoCodes)
	assert.True(t, p.Created.Equal(day0.AddDate(0, 0, 2)), "created at the reporter's now, got %v", p.Created)
	assert.Equal(t, map[string]string{
		"summer-fest": "https://tickets.example/events/summer-fest?promoter=dee",
		"winter-gala": "https://tickets.example/events/winter-gala?promoter=dee",
	}, p.Links)

	// It is saved, and its new group is registered.
	d := a.promoter(t, "dee")
	assert.Equal(t, "Dee Jay", d.Name)
	assert.Equal(t, 2, d.ActiveEvents)
	assert.Contains(t, a.groups(t), "press")
	code, ok, err := a.s.PromoterByPromoCode(context.Background(), "dee5")
	require.NoError(t, err)
	assert.True(t, ok)
	assert.Equal(t, "dee", code)

	// Saving again replaces it.
	var p2 map[string]any
	wantJSON(t, a.do("POST", "/promoters", `{"code":"dee","name":"Dee"}`), 200, &p2)
	assert.Equal(t, map[string]any{}, p2["links"])
	d = a.promoter(t, "dee")
	assert.Equal(t, "Dee", d.Name)
	assert.Empty(t, d.Groups)
	assert.Zero(t, d.ActiveEvents)

	// A promo code another promoter owns is a conflict.
	msg := wantError(t, a.do("POST", "/promoters", `{"code":"eve","name":"Eve","promo_codes":["ana10"]}`), http.StatusConflict)
	assert.Contains(t, msg, "ana")
	wantError(t, a.do("GET", "/promoters/eve", ""), http.StatusNotFound)

	for _, body := range []string{
		`{"code":"bad code!","name":"x"}`,
		`{"code":"x","name":"   "}`,
		`{"code":"x","name":"X","events":["Bad Slug"]}`,
		`{"code":"x","name":"X","groups":[""]}`,
		`{"code":"x","name":"X","promo_codes":["has space"]}`,
	} {
		wantError(t, a.do("POST", "/promoters", body), http.StatusBadRequest)
	}
	wantError(t, a.do("GET", "/promoters/x", ""), http.StatusNotFound)
}

func testPromoter(t *testing.T, a *api) {
	var d report.Detail
	wantJSON(t, a.do("GET", "/promoters/ANA?from=2026-10-31&to=2026-11-03", ""), 200, &d)
	assert.Equal(t, "ana", d.Code)
	assert.Equal(t, "Ana Pérez", d.Name)
	assert.Equal(t, []string{"street team"}, d.Groups)
	assert.EqualValues(t, 3, d.Counts.Tickets)
	assert.EqualValues(t, 2, d.Counts.Orders)
	assert.Equal(t, 2, d.ActiveEvents)
	assert.Equal(t, "https://tickets.example/events/winter-gala?promoter=ana", d.Links["winter-gala"])
	assert.EqualValues(t, 3, d.Events["summer-fest"].Tickets)
	var days []string
	var tickets []int64
	for _, s := range d.Series {
		days = append(days, s.Day)
		tickets = append(tickets, s.Tickets)
	}
	assert.Equal(t, []string{"2026-10-31", "2026-11-01", "2026-11-02", "2026-11-03"}, days)
	assert.Equal(t, []int64{0, 2, 1, 0}, tickets)

	// The default range is the last 30 days up to the reporter's today.
	d = a.promoter(t, "ana")
	require.Len(t, d.Series, 30)
	assert.Equal(t, "2026-10-05", d.Series[0].Day)
	assert.Equal(t, "2026-11-03", d.Series[29].Day)

	wantError(t, a.do("GET", "/promoters/nobody", ""), http.StatusNotFound)
	wantError(t, a.do("GET", "/promoters/bad.code", ""), http.StatusBadRequest)
	wantError(t, a.do("GET", "/promoters/ana?from=2026-99-01&to=2026-99-02", ""), http.StatusBadRequest)
}

func testDeletePromoter(t *testing.T, a *api) {
	type confirm struct{ Error, Confirm string }
	var c confirm
	wantJSON(t, a.do("DELETE", "/promoters/ana", ""), http.StatusConflict, &c)
	require.NotEmpty(t, c.Confirm)
	assert.Contains(t, c.Error, "?confirm="+c.Confirm)
	a.promoter(t, "ana") // the first call deletes nothing

	// A wrong token, or another promoter's, is answered with a fresh one.
	var wrong confirm
	wantJSON(t, a.do("DELETE", "/promoters/ana?confirm=forged.token", ""), http.StatusConflict, &wrong)
	assert.NotEmpty(t, wrong.Confirm)
	var bob confirm
	wantJSON(t, a.do("DELETE", "/promoters/bob", ""), http.StatusConflict, &bob)
	wantJSON(t, a.do("DELETE", "/promoters/ana?confirm="+url.QueryEscape(bob.Confirm), ""), http.StatusConflict, &wrong)
	a.promoter(t, "ana")

	wantNoContent(t, a.do("DELETE", "/promoters/ANA?confirm="+url.QueryEscape(c.Confirm), ""))
	wantError(t, a.do("GET", "/promoters/ana", ""), http.StatusNotFound)
	wantError(t, a.do("DELETE", "/promoters/ana", ""), http.StatusNotFound)
	var pg promotersPage
	wantJSON(t, a.do("GET", "/promoters", ""), 200, &pg)
	assert.Equal(t, []string{"bob", "cleo"}, pg.codes())
	a.promoter(t, "bob") // bob's unused token deleted nothing

	// Its figures fold into the deleted promoter; event totals stay.
	var tr report.Traffic
	wantJSON(t, a.do("GET", "/traffic/summer-fest", ""), 200, &tr)
	assert.EqualValues(t, 13, tr.Total.Visits)
	assert.EqualValues(t, 5, find(tr.Sources, "promoter|"+tracklink.DeletedPromoter).Visits)

	wantError(t, a.do("DELETE", "/promoters/bad.code", ""), http.StatusBadRequest)
}

func testGroups(t *testing.T, a *api) {
	assert.Equal(t, []string{"street team", "vip"}, a.groups(t))

	// No groups is an empty list, not null.
	s := &faultyStore{Store: memstore.New()}
	rp, err := report.New(report.Config{Store: s})
	require.NoError(t, err)
	body := wantJSON(t, newAPIOn(t, s, rp).do("GET", "/groups", ""), 200, nil)
	assert.Equal(t, "[]\n", body)
}

func testCreateGroup(t *testing.T, a *api) {
	var g map[string]string
	wantJSON(t, a.do("POST", "/groups", `{"name":"  press  "}`), 200, &g)
	assert.Equal(t, map[string]string{"name": "press"}, g)
	assert.Equal(t, []string{"press", "street team", "vip"}, a.groups(t))

	// Creating an existing group is not an error.
	wantJSON(t, a.do("POST", "/groups", `{"name":"vip"}`), 200, &g)
	assert.Equal(t, []string{"press", "street team", "vip"}, a.groups(t))
	var pg promotersPage
	wantJSON(t, a.do("GET", "/promoters?group=vip", ""), 200, &pg)
	assert.Equal(t, []string{"bob", "cleo"}, pg.codes(), "and leaves its members alone")

	for _, body := range []string{
		`{"name":"   "}`,
		`{}`,
		`{"name":"` + strings.Repeat("g", tracklink.MaxGroupLen+1) + `"}`,
		`{"name":"bell\u0007"}`,
	} {
		wantError(t, a.do("POST", "/groups", body), http.StatusBadRequest)
	}
	assert.Equal(t, []string{"press", "street team", "vip"}, a.groups(t))
}

func testRenameGroup(t *testing.T, a *api) {
	var g map[string]string
	wantJSON(t, a.do("PATCH", "/groups/vip", `{"name":" VIP crew "}`), 200, &g)
	assert.Equal(t, map[string]string{"name": "VIP crew"}, g)
	assert.Equal(t, []string{"VIP crew", "street team"}, a.groups(t))

	// Its promoters moved to the new name.
	var pg promotersPage
	wantJSON(t, a.do("GET", "/promoters?group=VIP+crew", ""), 200, &pg)
	assert.Equal(t, []string{"bob", "cleo"}, pg.codes())
	assert.EqualValues(t, 6, pg.Summary.Totals.Tickets)
	wantJSON(t, a.do("GET", "/promoters?group=vip", ""), 200, &pg)
	assert.Empty(t, pg.Promoters)
	assert.Equal(t, []string{"VIP crew", "street team"}, a.promoter(t, "bob").Groups)
	assert.Equal(t, []string{"VIP crew"}, a.promoter(t, "cleo").Groups)
	assert.Equal(t, []string{"street team"}, a.promoter(t, "ana").Groups)

	// Names travel escaped in the path, a slash included.
	wantJSON(t, a.do("PATCH", "/groups/street%20team", `{"name":"north/south"}`), 200, &g)
	assert.Equal(t, []string{"VIP crew", "north/south"}, a.groups(t))
	wantJSON(t, a.do("PATCH", "/groups/north%2Fsouth", `{"name":"street"}`), 200, &g)
	assert.Equal(t, []string{"VIP crew", "street"}, a.groups(t))
	assert.Equal(t, []string{"street"}, a.promoter(t, "ana").Groups)

	// Renaming onto an existing group merges the two.
	wantJSON(t, a.do("PATCH", "/groups/street", `{"name":"VIP crew"}`), 200, &g)
	assert.Equal(t, []string{"VIP crew"}, a.groups(t))
	assert.Equal(t, []string{"VIP crew"}, a.promoter(t, "bob").Groups)

	wantError(t, a.do("PATCH", "/groups/nobody", `{"name":"somebody"}`), http.StatusNotFound)
	assert.Equal(t, []string{"VIP crew"}, a.groups(t), "renaming an unknown group creates nothing")
	wantError(t, a.do("PATCH", "/groups/VIP%20crew", `{"name":""}`), http.StatusBadRequest)
	wantError(t, a.do("PATCH", "/groups/%20", `{"name":"x"}`), http.StatusBadRequest)
	assert.Equal(t, []string{"VIP crew"}, a.groups(t))
}

func testDeleteGroup(t *testing.T, a *api) {
	wantNoContent(t, a.do("DELETE", "/groups/street%20team", ""))
	assert.Equal(t, []string{"vip"}, a.groups(t))

	// Its promoters left it; they are not deleted.
	assert.Empty(t, a.promoter(t, "ana").Groups)
	assert.Equal(t, []string{"vip"}, a.promoter(t, "bob").Groups)
	var pg promotersPage
	wantJSON(t, a.do("GET", "/promoters?group=street+team", ""), 200, &pg)
	assert.Empty(t, pg.Promoters)
	wantJSON(t, a.do("GET", "/promoters", ""), 200, &pg)
	assert.Len(t, pg.Promoters, 3)

	wantError(t, a.do("DELETE", "/groups/street%20team", ""), http.StatusNotFound)
	wantError(t, a.do("DELETE", "/groups/%20", ""), http.StatusBadRequest)
	assert.Equal(t, []string{"vip"}, a.groups(t))
}

func testRecentOrders(t *testing.T, a *api) {
	// A store of its own, so that every order has its own time.
	s := &faultyStore{Store: memstore.New()}
	rp, err := report.New(report.Config{Store: s})
	require.NoError(t, err)
	b := newAPIOn(t, s, rp)
	ctx := context.Background()
	old := tracklink.Attribution{OrderID: "o-old", Event: "summer-fest", Session: "s-1", Currency: "EUR", Tickets: 2, Excluded: 1, Revenue: 5000,
		Touch: tracklink.Touch{Channel: tracklink.ChannelPromoter, Source: "ana", Promoter: "ana", Event: "summer-fest",
			Path: "/events/summer-fest", At: day0.Add(-2 * time.Hour), Evidence: "param promoter=ana"},
		Rule: tracklink.RuleEventTouch, TouchAge: 2 * time.Hour, At: day0}
	mid := tracklink.Attribution{OrderID: "o-mid", Event: "summer-fest", Currency: "EUR", Tickets: 1, Revenue: 2500,
		Touch: tracklink.Touch{Channel: tracklink.ChannelCampaign, Source: "newsletter", UTM: tracklink.UTM{Source: "newsletter", Medium: "email"},
			At: day0.Add(30 * time.Minute), Evidence: "param utm_source=newsletter"},
		Rule: tracklink.RuleEventTouch, TouchAge: 30 * time.Minute, At: day0.Add(time.Hour)}
	newest := tracklink.Attribution{OrderID: "o-new", Event: "winter-gala", Currency: "EUR", Tickets: 1, Revenue: 4000,
		Touch: tracklink.Touch{Channel: tracklink.ChannelDirect, Source: "direct", Evidence: "no touch"},
		Rule:  tracklink.RuleNoTouch, At: day0.Add(2 * time.Hour)}
	for _, o := range []tracklink.Attribution{newest, old, mid} { // recorded out of order
		_, err := s.Record(ctx, o)
		require.NoError(t, err)
	}
	_, ok, err := s.Refund(ctx, "o-mid", day0.Add(3*time.Hour))
	require.NoError(t, err)
	require.True(t, ok)
	mid, _ = mid.FullRefund(day0.Add(3 * time.Hour))

	recent := func(a *api, query string) []tracklink.Attribution {
		t.Helper()
		var got []tracklink.Attribution
		wantJSON(t, a.do("GET", "/orders"+query, ""), 200, &got)
		return got
	}
	assert.Equal(t, []tracklink.Attribution{newest, mid, old}, recent(b, ""), "newest first")
	var raw []json.RawMessage
	wantJSON(t, b.do("GET", "/orders", ""), 200, &raw)
	require.Len(t, raw, 3)
	assert.JSONEq(t, `{"order_id":"o-new","event":"winter-gala","currency":"EUR","tickets":1,"excluded":0,"revenue":4000,
		"touch":{"channel":"direct","source":"direct","at":"0001-01-01T00:00:00Z","evidence":"no touch"},
		"rule":"no touch","touch_age":0,"at":"2026-11-01T14:00:00Z"}`, string(raw[0]))
	assert.JSONEq(t, `{"order_id":"o-mid","event":"summer-fest","currency":"EUR","tickets":1,"excluded":0,"revenue":2500,
		"touch":{"channel":"campaign","source":"newsletter","utm":{"source":"newsletter","medium":"email"},"at":"2026-11-01T12:30:00Z","evidence":"param utm_source=newsletter"},
		"rule":"event touch","touch_age":1800000000000,"at":"2026-11-01T13:00:00Z","refunded":true,"refunded_at":"2026-11-01T15:00:00Z",
		"refunded_revenue":2500,"refunded_tickets":1}`, string(raw[1]))

	assert.Equal(t, []tracklink.Attribution{mid, old}, recent(b, "?event=summer-fest"))
	assert.Equal(t, []tracklink.Attribution{newest, mid}, recent(b, "?limit=2"))
	body := wantJSON(t, b.do("GET", "/orders?event=spring-fair", ""), 200, nil)
	assert.Equal(t, "[]\n", body, "no orders is an empty list")

	// The default limit is 50.
	for i := range 60 {
		_, err := s.Record(ctx, tracklink.Attribution{OrderID: fmt.Sprintf("bulk-%02d", i), Event: "spring-fair", Currency: "EUR",
			Tickets: 1, Revenue: 100, Rule: tracklink.RuleNoTouch, At: day0.Add(time.Duration(i) * time.Minute),
			Touch: tracklink.Touch{Channel: tracklink.ChannelDirect, Source: "direct"}})
		require.NoError(t, err)
	}
	got := recent(b, "?event=spring-fair")
	require.Len(t, got, 50)
	assert.Equal(t, "bulk-59", got[0].OrderID)
	assert.Equal(t, "bulk-10", got[49].OrderID)
	assert.Len(t, recent(b, "?limit=1000"), 63)

	for _, q := range []string{"limit=0", "limit=-1", "limit=1001", "limit=x", "limit=1234567890", "event=Bad%20Slug"} {
		wantError(t, b.do("GET", "/orders?"+q, ""), http.StatusBadRequest)
	}

	// The fixture's route answers too (a is the API the route test checks).
	got = recent(a, "?event=winter-gala")
	require.Len(t, got, 1)
	assert.Equal(t, "o6", got[0].OrderID)
}

func testOrdersCSV(t *testing.T, a *api) {
	res := a.do("GET", "/orders.csv", "")
	require.Equal(t, 200, res.StatusCode)
	assert.Equal(t, "text/csv; charset=utf-8", res.Header.Get("Content-Type"))
	assert.Equal(t, `attachment; filename="orders.csv"`, res.Header.Get("Content-Disposition"))
	assert.Equal(t, "no-store", res.Header.Get("Cache-Control"))
	recs, err := csv.NewReader(res.Body).ReadAll()
	require.NoError(t, err)
	require.Len(t, recs, 8, "header + 7 orders")
	assert.Equal(t, report.CSVHeader, recs[0])
	var ids []string
	for _, r := range recs[1:] {
		ids = append(ids, r[0])
	}
	assert.ElementsMatch(t, []string{"o1", "o2", "o3", "o4", "o5", "o6", "o7"}, ids)

	res = a.do("GET", "/orders.csv?event=winter-gala", "")
	require.Equal(t, 200, res.StatusCode)
	assert.Equal(t, `attachment; filename="orders-winter-gala.csv"`, res.Header.Get("Content-Disposition"))
	recs, err = csv.NewReader(res.Body).ReadAll()
	require.NoError(t, err)
	require.Len(t, recs, 2)
	assert.Equal(t, "o6", recs[1][0])
	assert.Equal(t, "'=Cleo Marks", recs[1][12], "formula injection defused")

	res = a.do("GET", "/orders.csv?event=Bad%20Slug", "")
	wantError(t, res, http.StatusBadRequest)
	assert.Empty(t, res.Header.Get("Content-Disposition"), "an error is not a download")
}

type sseMessage struct{ id, kind, data string }

// readSSE sends each event of an SSE stream on the returned channel,
// which is closed when the stream ends.
func readSSE(body io.Reader) <-chan sseMessage {
	ch := make(chan sseMessage, 16)
	go func() {
		defer close(ch)
		sc := bufio.NewScanner(body)
		var m sseMessage
		for sc.Scan() {
			line := sc.Text()
			switch {
			case strings.HasPrefix(line, "id: "):
				m.id = strings.TrimPrefix(line, "id: ")
			case strings.HasPrefix(line, "event: "):
				m.kind = strings.TrimPrefix(line, "event: ")
			case strings.HasPrefix(line, "data: "):
				m.data = strings.TrimPrefix(line, "data: ")
			case line == "" && m.kind != "":
				ch <- m
				m = sseMessage{}
			}
		}
	}()
	return ch
}

func testStream(t *testing.T, a *api) {
	srv := httptest.NewServer(a.h)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, "GET", srv.URL+"/stream", nil)
	require.NoError(t, err)
	res, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	require.Equal(t, 200, res.StatusCode)
	assert.Equal(t, "text/event-stream", res.Header.Get("Content-Type"))
	assert.Equal(t, "no-store", res.Header.Get("Cache-Control"))
	events := readSSE(res.Body)

	// The response headers come after the subscription, so this order is
	// on the stream.
	o := tracklink.Attribution{OrderID: "o/live-1", Event: "summer-fest", Currency: "EUR", Tickets: 2, Revenue: 5000,
		Touch: tracklink.Touch{Channel: tracklink.ChannelPromoter, Source: "ana", Promoter: "ana", Event: "summer-fest", Evidence: "param promoter=ana"},
		Rule:  tracklink.RuleEventTouch, At: day0}
	_, err = a.s.Record(ctx, o)
	require.NoError(t, err)
	next := func() sseMessage {
		t.Helper()
		select {
		case m, ok := <-events:
			require.True(t, ok, "stream ended")
			return m
		case <-ctx.Done():
			t.Fatal("no event before the deadline")
			return sseMessage{}
		}
	}
	m := next()
	assert.Equal(t, "attributed", m.kind)
	assert.Equal(t, "o%2Flive-1", m.id, "the id is escaped")
	var got tracklink.Attribution
	require.NoError(t, json.Unmarshal([]byte(m.data), &got))
	assert.Equal(t, o, got)

	_, _, err = a.s.Refund(ctx, o.OrderID, day0.Add(time.Hour))
	require.NoError(t, err)
	m = next()
	assert.Equal(t, "refunded", m.kind)
	require.NoError(t, json.Unmarshal([]byte(m.data), &got))
	assert.True(t, got.Refunded)

	// Close ends the stream; srv.Close waits for the handler to return,
	// so that its status is noted.
	a.rp.Close()
	for range events {
	}
	res.Body.Close()
	srv.Close()
}

// TestAPIRefusedWhenUnauthorized: authorize runs before any route, a
// refusal is a 403 and changes nothing, and it does not tell which paths
// exist.
func TestAPIRefusedWhenUnauthorized(t *testing.T) {
	s := &faultyStore{Store: memstore.New()}
	rp := fixture(t, s)
	var asked []string
	h := rp.Handler(func(r *http.Request) bool {
		asked = append(asked, r.Method+" "+r.URL.Path)
		return r.Header.Get("X-Admin") == "yes"
	})
	before := snapshot(t, s)
	for _, rt := range append(apiRoutes, apiRoute{sample: "GET /no/such/path"}) {
		req := rt.request()
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		assert.Equal(t, "forbidden", wantError(t, rec.Result(), http.StatusForbidden), rt.sample)
		assert.Empty(t, req.Pattern, "%s: no route ran", rt.sample)
	}
	assert.Len(t, asked, len(apiRoutes)+1, "authorize is asked once per request")
	assert.Equal(t, before, snapshot(t, s), "refused requests change nothing")

	req := httptest.NewRequest("GET", "/groups", nil)
	req.Header.Set("X-Admin", "yes")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	var gs []string
	wantJSON(t, rec.Result(), 200, &gs)
	assert.Equal(t, []string{"street team", "vip"}, gs, "authorize sees the request")
}

type storeState struct {
	Promoters []tracklink.Promoter
	Groups    []string
	Links     []tracklink.Link
}

func snapshot(t *testing.T, s fullStore) storeState {
	t.Helper()
	ctx := context.Background()
	var st storeState
	var err error
	st.Promoters, err = s.Promoters(ctx)
	require.NoError(t, err)
	st.Groups, err = s.Groups(ctx)
	require.NoError(t, err)
	st.Links, err = s.Links(ctx, "")
	require.NoError(t, err)
	return st
}

// TestAPIStoreErrors: on every route, a store error the client caused
// (ErrInvalid) is a 400 with the store's message, a conflict a 409, and
// any other error an outage: 503 with Retry-After, the cause logged and
// not shown.
func TestAPIStoreErrors(t *testing.T) {
	outage := errors.New("dial tcp 127.0.0.1:6379: connect: connection refused")
	invalid := fmt.Errorf("teststore: %w: range of 900 days", tracklink.ErrInvalid)
	conflict := fmt.Errorf("teststore: %w: promo code taken", tracklink.ErrConflict)
	for _, c := range []struct {
		name string
		err  error
		code int
		msg  string
	}{
		{"outage", outage, http.StatusServiceUnavailable, "store unavailable"},
		{"invalid", invalid, http.StatusBadRequest, invalid.Error()},
		{"conflict", conflict, http.StatusConflict, conflict.Error()},
	} {
		t.Run(c.name, func(t *testing.T) {
			for _, rt := range apiRoutes {
				t.Run(rt.pattern, func(t *testing.T) {
					s := &faultyStore{Store: memstore.New()}
					fixture(t, s)
					var log strings.Builder
					var logMu sync.Mutex
					rp, err := report.New(report.Config{Store: s, BaseURL: "https://tickets.example",
						Logger: slogTo(&logMu, &log)})
					require.NoError(t, err)
					h := rp.Handler(allow)
					before := snapshot(t, s)
					s.failWith(c.err)

					req := rt.request()
					rec := httptest.NewRecorder()
					h.ServeHTTP(rec, req)
					res := rec.Result()
					assert.Equal(t, rt.pattern, req.Pattern, "the sample request reaches its route")
					assert.Equal(t, c.msg, wantError(t, res, c.code))
					assert.Empty(t, res.Header.Get("Content-Disposition"))
					logMu.Lock()
					logged := log.String()
					logMu.Unlock()
					if c.code == http.StatusServiceUnavailable {
						assert.Equal(t, "5", res.Header.Get("Retry-After"))
						assert.Contains(t, logged, "connection refused", "the cause is logged")
					} else {
						assert.Empty(t, res.Header.Get("Retry-After"))
					}
					s.failWith(nil)
					assert.Equal(t, before, snapshot(t, s), "a failed request changes nothing")
				})
			}
		})
	}
}

// TestOrdersCSVCutMidway: an export whose store fails before anything was
// sent is a 503; one that fails after rows went out is cut, so the client
// sees a broken transfer rather than a short file that looks complete.
func TestOrdersCSVCutMidway(t *testing.T) {
	for _, c := range []struct {
		rows int
		cut  bool
	}{{0, false}, {3, false}, {2000, true}} {
		t.Run(fmt.Sprint(c.rows, " rows"), func(t *testing.T) {
			rp, err := report.New(report.Config{Store: &cutStore{Store: memstore.New(), rows: c.rows}})
			require.NoError(t, err)
			srv := httptest.NewServer(rp.Handler(allow))
			defer srv.Close()
			res, err := http.Get(srv.URL + "/orders.csv")
			require.NoError(t, err)
			defer res.Body.Close()
			if !c.cut {
				assert.Equal(t, "store unavailable", wantError(t, res, http.StatusServiceUnavailable))
				assert.Empty(t, res.Header.Get("Content-Disposition"))
				return
			}
			require.Equal(t, 200, res.StatusCode)
			body, err := io.ReadAll(res.Body)
			assert.ErrorIs(t, err, io.ErrUnexpectedEOF, "the transfer is cut")
			assert.True(t, strings.HasPrefix(string(body), strings.Join(report.CSVHeader, ",")+"\n"))
		})
	}
}

func TestShortLinkStoreOutage(t *testing.T) {
	s := &faultyStore{Store: memstore.New()}
	rp := fixture(t, s)
	s.failWith(errors.New("connection refused"))
	rec := httptest.NewRecorder()
	rp.ShortLinkHandler().ServeHTTP(rec, httptest.NewRequest("GET", "/t/news", nil))
	assert.Equal(t, "store unavailable", wantError(t, rec.Result(), http.StatusServiceUnavailable))
	assert.Equal(t, "5", rec.Result().Header.Get("Retry-After"))
}

// TestAPIRequestBodies: every route that reads a JSON body refuses a
// malformed one, and saves nothing.
func TestAPIRequestBodies(t *testing.T) {
	valid := func(rt apiRoute) string { return rt.body }
	for _, rt := range apiRoutes {
		if rt.body == "" {
			continue
		}
		t.Run(rt.pattern, func(t *testing.T) {
			a := newAPI(t)
			before := snapshot(t, a.s)
			for _, c := range []struct {
				name, ctype, body string
				code              int
			}{
				{"syntax error", "application/json", `{"name":`, http.StatusBadRequest},
				{"empty", "application/json", ``, http.StatusBadRequest},
				{"not an object", "application/json", `["name"]`, http.StatusBadRequest},
				{"unknown field", "application/json", `{"nmae":"x"}`, http.StatusBadRequest},
				{"wrong type", "application/json", `{"name":5}`, http.StatusBadRequest},
				{"two objects", "application/json", valid(rt) + `{"name":"y"}`, http.StatusBadRequest},
				{"trailing garbage", "application/json", valid(rt) + ` x`, http.StatusBadRequest},
				{"too large", "application/json", `{"name":"` + strings.Repeat("x", 64<<10) + `"}`, http.StatusRequestEntityTooLarge},
				{"form", "application/x-www-form-urlencoded", `name=x`, http.StatusUnsupportedMediaType},
				{"no content type", "", valid(rt), http.StatusUnsupportedMediaType},
				{"json lookalike", "application/jsonp", valid(rt), http.StatusUnsupportedMediaType},
			} {
				method, path, _ := strings.Cut(rt.sample, " ")
				req := httptest.NewRequest(method, path, strings.NewReader(c.body))
				if c.ctype != "" {
					req.Header.Set("Content-Type", c.ctype)
				}
				rec := httptest.NewRecorder()
				a.h.ServeHTTP(rec, req)
				wantError(t, rec.Result(), c.code)
			}
			assert.Equal(t, before, snapshot(t, a.s), "refused bodies change nothing")

			// Control: the valid body, with a charset, is accepted.
			method, path, _ := strings.Cut(rt.sample, " ")
			req := httptest.NewRequest(method, path, strings.NewReader(rt.body+"\n"))
			req.Header.Set("Content-Type", "application/json; charset=utf-8")
			rec := httptest.NewRecorder()
			a.h.ServeHTTP(rec, req)
			assert.Equal(t, 2, rec.Code/100, "%s: %s", rt.sample, rec.Body)
		})
	}
}

// TestAPIUnknownRoutesAndMethods: paths the API does not serve are 404;
// a served path with another method is 405 with the methods it allows.
func TestAPIUnknownRoutesAndMethods(t *testing.T) {
	a := newAPI(t)
	before := snapshot(t, a.s)
	for _, path := range []string{"/", "/nope", "/traffic", "/links/news/extra", "/promoters/ana/links", "/orders.json", "/stream/x"} {
		res := a.do("GET", path, "")
		assert.Equal(t, http.StatusNotFound, res.StatusCode, path)
	}
	for _, c := range []struct{ method, path, allow string }{
		{"POST", "/traffic/summer-fest", "GET, HEAD"},
		{"PUT", "/links", "GET, HEAD, POST"},
		{"GET", "/links/news", "DELETE"},
		{"PATCH", "/links/news", "DELETE"},
		{"PUT", "/promoters", "GET, HEAD, POST"},
		{"POST", "/promoters/ana", "DELETE, GET, HEAD"},
		{"DELETE", "/groups", "GET, HEAD, POST"},
		{"GET", "/groups/vip", "DELETE, PATCH"},
		{"DELETE", "/orders", "GET, HEAD"},
		{"POST", "/orders.csv", "GET, HEAD"},
		{"POST", "/stream", "GET, HEAD"},
	} {
		res := a.do(c.method, c.path, `{"name":"x"}`)
		assert.Equal(t, http.StatusMethodNotAllowed, res.StatusCode, "%s %s", c.method, c.path)
		assert.Equal(t, c.allow, res.Header.Get("Allow"), "%s %s", c.method, c.path)
	}
	assert.Equal(t, before, snapshot(t, a.s))
	assert.True(t, slices.Contains(linkIDs(a.links(t, "")), "news"))
}

type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (l lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// slogTo returns a logger writing text lines to w under mu.
func slogTo(mu *sync.Mutex, w io.Writer) *slog.Logger {
	return slog.New(slog.NewTextHandler(lockedWriter{mu, w}, nil))
}
